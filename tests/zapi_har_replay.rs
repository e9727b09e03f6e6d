//! Z-API's own example requests for the message endpoints (ENDPOINTS.md rows 31–65, the HAR
//! files in `tests/fixtures/zapi/har/`, copied verbatim from shared/zapi-har) replayed against
//! chatedge with only what a migrating client changes: the base URL, the instance id and token —
//! plus, since tests never leave loopback, media URLs pointed at a local file server, and each
//! example sent to its own recipient so what arrived can be told apart. Every example gets a
//! 2xx, and the sim's phone receives what the example asked for: a message of the right kind,
//! its media byte for byte.

mod common;

use common::files::{self, Blob, FileServer};
use common::*;
use serde_json::Value;

/// (HAR file, the content kind the sim shows for it).
const EXAMPLES: &[(&str, &str)] = &[
    ("send-text.json", "text"),
    ("reply-message.json", "text"),
    ("forward-message.json", "forward"),
    ("send-reaction.json", "reaction"),
    ("remove-reaction.json", "removeReaction"),
    ("send-image.json", "image"),
    ("send-sticker.json", "sticker"),
    ("send-gif.json", "gif"),
    ("send-audio.json", "audio"),
    ("send-video.json", "video"),
    ("send-ptv.json", "ptv"),
    ("send-document.json", "document"),
    ("send-link.json", "link"),
    ("send-location.json", "location"),
    ("send-product.json", "product"),
    ("send-catalog.json", "catalog"),
    ("send-contact.json", "contact"),
    ("send-contacts.json", "contacts"),
    ("send-button-actions.json", "buttonActions"),
    ("send-button-list.json", "buttonList"),
    ("send-button-list-image.json", "buttonList"),
    ("send-button-list-video.json", "buttonList"),
    ("send-option-list.json", "optionList"),
    ("send-button-otp.json", "buttonOtp"),
    ("send-button-pix.json", "buttonPix"),
    ("send-carousel.json", "carousel"),
    ("delete-message.json", "delete"),
    ("read-message.json", "read"),
    ("send-poll.json", "poll"),
    ("send-poll-vote.json", "pollVote"),
    ("send-order.json", "order"),
    ("send-order-status-update.json", "orderStatusUpdate"),
    ("send-order-payment-update.json", "orderPaymentUpdate"),
    ("pin-message.json", "pin"),
    ("send-newsletter-admin-invite.json", "newsletterAdminInvite"),
    ("send-event.json", "event"),
    ("send-edit-event.json", "editEvent"),
    ("send-event-response.json", "eventResponse"),
];

/// The media each media field of the examples is served as (the examples' own URLs point at
/// the internet, some at files that no longer exist).
fn media_for(field: &str) -> Option<(Blob, &'static str)> {
    Some(match field {
        "image" | "sticker" => (Blob::png(64, 64, 7), "image/png"),
        "gif" | "video" | "ptv" => (Blob::mp4(200_000, 8), "video/mp4"),
        "audio" => (Blob::ogg(50_000, 9), "audio/ogg; codecs=opus"),
        "document" => (Blob::pdf(100_000, 10), "application/pdf"),
        _ => return None,
    })
}

/// Points every media field (at any depth) at the file server; answers the top-level one.
fn localise(v: &mut Value, server: &FileServer, top: bool) -> Option<(Blob, &'static str)> {
    let mut found = None;
    match v {
        Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                if let (Value::String(_), Some((blob, mime))) = (&*val, media_for(k)) {
                    *val = Value::String(server.serve(&format!("/{k}.bin"), &blob));
                    if top {
                        found = Some((blob, mime));
                    }
                } else {
                    localise(val, server, false);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| {
            localise(x, server, false);
        }),
        _ => {}
    }
    found
}

fn har(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/zapi/har/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn z_apis_own_examples_of_every_message_endpoint_are_accepted_and_arrive() {
    let p = paired(&format!("{FAST}\n[media]\nfetch_allow_private = true\n")).await;
    let server = FileServer::start().await;
    let mut expectations = Vec::new();
    for (i, (file, kind)) in EXAMPLES.iter().enumerate() {
        let example = har(file);
        let method = example["method"].as_str().unwrap().to_owned();
        let url = example["url"].as_str().unwrap();
        let rest = url.split("/token/SEU_TOKEN/").nth(1).unwrap();
        // (a number ending in 0000 is "not on the network" in the sim)
        let phone = format!("5511977{:04}1", i);
        let rest = rest.replace("phone=5511999998888", &format!("phone={phone}"));
        let mut body: Value = match example["postData"]["text"].as_str() {
            Some(text) => serde_json::from_str(text).unwrap_or_else(|e| panic!("{file}: body: {e}")),
            None => Value::Null,
        };
        let media = localise(&mut body, &server, true);
        if let Some(o) = body.as_object_mut() {
            o.insert("phone".into(), Value::String(phone.clone()));
        }
        let url = format!("{}/instances/{}/token/{}/{rest}", p.ce.dp, p.inst.id, p.inst.token);
        let (status, answer) = match method.as_str() {
            "DELETE" => p.http.delete(&url).await,
            _ => p.http.post(&url, None, &body).await,
        };
        assert!((200..300).contains(&status), "{file}: {method} {rest} answered {status} {answer}");
        expectations.push((file, kind, phone, media));
    }
    for (file, kind, phone, media) in expectations {
        let got = files::wait_arrived(&p.http, &p.ce, &p.inst, &phone, 1).await;
        let message = &got[0];
        assert_eq!(message["type"].as_str(), Some(*kind), "{file}: the sim received {message}");
        if let Some((blob, mime)) = media {
            files::assert_media(message, &blob, mime, file);
        }
    }
}
