//! Every one of Z-API's own example requests (the HAR files of shared/zapi-har, copied verbatim
//! to `tests/fixtures/zapi/har/`; the `on-*.json` webhook payloads are not requests) replayed
//! against the real binary with only what a migrating client changes: the base URL, the
//! instance id and token, the integrator token — plus, since tests never leave loopback, media
//! URLs pointed at a local file server and webhook URLs at the local sink, and the ids the
//! examples make up (`5511999999999-1623281429`, `{{TAG_ID}}`) replaced by the ones the network
//! minted earlier in the replay. `Client-Token` headers are kept as the examples send them.
//!
//! The order makes each example meaningful: the instance is connected first; the integrator
//! renames it while it is its only instance; a group is created before participants are added
//! to it, a product before it is edited; business examples go to an instance created as a
//! business device; someone writes before the chat examples read the chat; channel examples
//! about another's channel use one the sim's phones created, and an admin is invited and
//! accepts before being removed; registration runs on an instance of its own with the code the
//! sim sent; messages wait in the queue before the queue examples delete them. Every valid
//! example must answer 2xx (the invalid ones, listed with why, a 4xx); none may answer 5xx or
//! 404 "Route not found"; every message example arrives at the sim's phone as what it asked for
//! (the message kind, its media byte for byte).

use crate::common;

use std::collections::{BTreeSet, HashMap};

use common::files::{self, Blob, FileServer};
use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// Examples that are themselves invalid per seed 001: a 4xx naming the problem is the right
/// answer (a 2xx is accepted too, where a route is lenient).
const INVALID_EXAMPLES: &[(&str, &str)] = &[
    ("get-iswhatsapp-batch.json", "the body is not JSON: it ends with an extra `}`"),
    ("archive-chat.json", "action is `archive / unarchive / delete*`, the choices written as one value"),
    ("mute-chat.json", "action is `mute / unmute`, the choices written as one value"),
    ("pin-chat.json", "action is `pin / unpin /`, the choices written as one value"),
    ("read-chat.json", "action is `read / unread*`, the choices written as one value"),
    ("block-contact.json", "action is `block / unblock`, the choices written as one value"),
    ("request-code.json", "method is `sms | voice | wa_old`, the choices written as one value"),
    ("update-newsletter-config.json", "reactionCodes is `basic | all`, the choices written as one value"),
    ("get-message-chat.json", "lastMessageId is `messageID`, a placeholder, not a message of the chat"),
    ("list-collections.json", "nextCursor is `CURSOR_VALUE`, a placeholder, not a cursor a page answered"),
    ("list-collection-products.json", "nextCursor is `CURSOR_VALUE`, a placeholder, not a cursor a page answered"),
];

/// The replay order: every request file exactly once (checked against the folder).
const ORDER: &[&str] = &[
    // The instance, connected by `paired`.
    "instance-status.json",
    "device.json",
    "instance-me.json",
    // While the integrator has this one instance, `PUT /instances` knows which to rename.
    "rename-instance.json",
    "update-webhook-delivery.json",
    // Privacy.
    "disallowed-contacts.json",
    "privacy-last-seen.json",
    "privacy-photo.json",
    "privacy-description.json",
    "privacy-group-add.json",
    "privacy-online.json",
    "privacy-set-read-receipts.json",
    "privacy-set-messages-duration.json",
    // Messages, each to its own recipient.
    "send-text.json",
    "reply-message.json",
    "forward-message.json",
    "send-reaction.json",
    "remove-reaction.json",
    "send-image.json",
    "send-sticker.json",
    "send-gif.json",
    "send-audio.json",
    "send-video.json",
    "send-ptv.json",
    "send-document.json",
    "send-link.json",
    "send-location.json",
    "send-product.json",
    "send-catalog.json",
    "send-contact.json",
    "send-contacts.json",
    "send-button-actions.json",
    "send-button-list.json",
    "send-button-list-image.json",
    "send-button-list-video.json",
    "send-option-list.json",
    "send-button-otp.json",
    "send-button-pix.json",
    "send-carousel.json",
    "delete-message.json",
    "read-message.json",
    "send-poll.json",
    "send-poll-vote.json",
    "send-order.json",
    "send-order-status-update.json",
    "send-order-payment-update.json",
    "pin-message.json",
    "send-newsletter-admin-invite.json",
    "send-event.json",
    "send-edit-event.json",
    "send-event-response.json",
    // Contacts.
    "add-contacts.json",
    "get-contacts.json",
    "get-metadata-contact.json",
    "get-profile-picture.json",
    "get-iswhatsapp.json",
    "get-iswhatsapp-batch.json",
    "report-contact.json",
    "block-contact.json",
    "remove-contacts.json",
    // Chats (the message examples above made some).
    "get-chats.json",
    "get-message-chat.json",
    "get-contact-phone.json",
    "get-metadata-chat.json",
    "archive-chat.json",
    "mute-chat.json",
    "pin-chat.json",
    "read-chat.json",
    "send-chat-expiration.json",
    "clear-chat.json",
    "delete-chat.json",
    "send-call.json",
    // Groups: created first, then changed, then left.
    "create-group.json",
    "get-groups.json",
    "update-group-name.json",
    "update-group-photo.json",
    "update-group-description.json",
    "update-group-settings.json",
    // (every participant example names a member of the new group: promoted, demoted,
    // removed, added back; then it asks to join, and is approved, and asks again, rejected)
    "add-admin.json",
    "remove-admin.json",
    "remove-participant.json",
    "add-participant.json",
    "approve-participant.json",
    "reject-participant.json",
    "get-group-metadata.json",
    "get-light-group-metadata.json",
    "group-invitation-link.json",
    "redefine-invitation-link.json",
    "get-group-invitation-metadata.json",
    "accept-group-invite.json",
    // Communities: created, groups linked and unlinked, then deactivated.
    "create-community.json",
    "list-communities.json",
    "community-metadata.json",
    "link-groups.json",
    "community-settings.json",
    "update-community-description.json",
    "update-community-photo.json",
    "add-community-participant.json",
    "add-community-admin.json",
    "remove-community-admin.json",
    "remove-community-participant.json",
    "redefine-community-invitation-link.json",
    "unlink-groups.json",
    "deactivate-community.json",
    "leave-group.json",
    // Business (on the business instance): profile, catalog, collections, labels.
    "company-description.json",
    "company-email.json",
    "company-address.json",
    "company-websites.json",
    "business-hours.json",
    "available-categories.json",
    "company-categories.json",
    "save-catalog-config.json",
    "edit-product.json",
    "get-products.json",
    "get-products-phone.json",
    "get-product-id.json",
    "create-collection.json",
    "list-collections.json",
    "edit-collection.json",
    "add-product-to-collection.json",
    "list-collection-products.json",
    "remove-product-from-collection.json",
    "delete-collection.json",
    "delete-product.json",
    "get-tags-colors.json",
    "create-tag.json",
    "edit-tag.json",
    "delete-tag.json",
    // Status posts, then replies to one.
    "send-text-status.json",
    "send-image-status.json",
    "send-video-status.json",
    "reply-status-text.json",
    "reply-status-gif.json",
    "reply-status-sticker.json",
    // Channels: created, changed, admins, deleted.
    "create-newsletter.json",
    "get-newsletter-list.json",
    "get-newsletter-metadata.json",
    "search-newsletter.json",
    "update-newsletter-name.json",
    "update-newsletter-description.json",
    "update-newsletter-picture.json",
    "update-newsletter-config.json",
    "follow-newsletter.json",
    "mute-newsletter.json",
    "unmute-newsletter.json",
    "unfollow-newsletter.json",
    "accept-newsletter-admin-invite.json",
    "newsletter-revoke-admin-invite.json",
    "newsletter-remove-admin.json",
    "transfer-newsletter-ownership.json",
    "delete-newsletter.json",
    // Registration and account security.
    // (on an instance of its own that is not connected yet; a captcha is answered for each of
    // two numbers, the second is registered with the code the sim sent)
    "registration-available.json",
    "request-code.json",
    "captcha-confirm.json",
    "request-unbanning.json",
    "confirm-code.json",
    "get-account-email.json",
    "set-account-email.json",
    "verify-account-email.json",
    "get-has-security-code.json",
    "set-security-code.json",
    // (registering the number again now asks for the PIN: recovering it, then typing it)
    "forgot-security-code.json",
    "confirm-security-code.json",
    "remove-account-email.json",
    "remove-security-code.json",
    // The queue: messages waiting (queued with a delay just before), listed, deleted.
    "get-queue.json",
    "delete-queue-id.json",
    "delete-queue.json",
    // The integrator: list, create, subscribe and cancel.
    "list-instances.json",
    "create-instance.json",
    "sign-instance.json",
    "unsubscribe-instance.json",
];

/// Message examples and the content kind the sim's phone shows for each.
const ARRIVES_AS: &[(&str, &str)] = &[
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

/// Made-up ids in the examples and which minted id stands for each (longest first where one
/// contains another).
const PLACEHOLDERS: &[(&str, Minted)] = &[
    ("5511999999999-1623281429", Minted::Group),
    ("120363019502650977-group", Minted::Group),
    ("123123123-group", Minted::Group),
    ("ID do Grupo", Minted::Group),
    ("1345353454354354-group", Minted::Group),
    ("1203634230225498-group", Minted::Group),
    ("{{GROUP_INVITE_URL}}", Minted::InviteUrl),
    ("(URL-DO-GRUPO)", Minted::InviteUrl),
    ("120363186053925765", Minted::Community),
    ("98372465382764532938", Minted::Community),
    ("120363019502650977", Minted::Community),
    ("{idDaComunidade}", Minted::Community),
    ("ID da Comunidade", Minted::Community),
    ("999999999999999999@newsletter", Minted::Channel),
    ("120363166555745933@newsletter", Minted::Channel),
    ("ID do Canal a seguir", Minted::Channel),
    ("ID do Canal", Minted::Channel),
    ("{{id-do-produto}}", Minted::Product),
    ("{{Id-do-produto}}", Minted::Product),
    ("121212121212", Minted::Product),
    ("232323232323", Minted::Product),
    ("658387616418640", Minted::Collection),
    ("228078660281007", Minted::Collection),
    ("123123123123", Minted::Collection),
    ("12312312313", Minted::Collection),
    ("{{ID_DA_ETIQUETA}}", Minted::Tag),
    ("{{TAG_ID}}", Minted::Tag),
    ("{{numero-de-telefone}}", Minted::BusinessPhone),
    ("554412121212", Minted::BusinessPhone),
    ("1F606398F2ECAA4846269F659B6003A9", Minted::StatusMessage),
];

/// Made-up ids that are also real-looking phone numbers elsewhere, replaced only in the one
/// field of the one example where they stand for a minted id.
const FIELD_PLACEHOLDERS: &[(&str, &str, Minted)] = &[("update-group-name.json", "groupId", Minted::Group)];

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Minted {
    Group,
    InviteUrl,
    Community,
    Channel,
    Product,
    Collection,
    Tag,
    BusinessPhone,
    StatusMessage,
    /// Someone else's channel the instance follows and is invited to administer.
    OtherChannel,
}

/// Where a minted id is read from: the example that mints it and the answer's field.
const MINTS: &[(&str, Minted, &str)] = &[
    ("create-group.json", Minted::Group, "phone"),
    ("create-group.json", Minted::InviteUrl, "invitationLink"),
    ("redefine-invitation-link.json", Minted::InviteUrl, "invitationLink"),
    ("create-community.json", Minted::Community, "id"),
    ("create-newsletter.json", Minted::Channel, "id"),
    ("edit-product.json", Minted::Product, "id"),
    ("create-collection.json", Minted::Collection, "collectionId"),
    // A collection's products changing gives it a new id, as on WhatsApp.
    ("add-product-to-collection.json", Minted::Collection, "collectionId"),
    ("remove-product-from-collection.json", Minted::Collection, "collectionId"),
    ("create-tag.json", Minted::Tag, "id"),
    ("send-text-status.json", Minted::StatusMessage, "messageId"),
];

const BUSINESS_PHONE: &str = "5511999990002";

/// Channel examples about someone else's channel (following one, accepting its invitation):
/// their channel placeholder stands for [`Minted::OtherChannel`].
const OTHERS_CHANNEL: &[&str] = &[
    "follow-newsletter.json",
    "mute-newsletter.json",
    "unmute-newsletter.json",
    "unfollow-newsletter.json",
    "accept-newsletter-admin-invite.json",
];

/// The member the participant examples name (a member of the group `create-group` made).
const GROUP_MEMBER: &str = "5511999999999";

/// The number the channel examples make an admin of the instance's channel.
const CHANNEL_ADMIN: &str = "5511999998888";

/// What an example's media must arrive as.
#[derive(Clone)]
enum Arrives {
    /// Byte for byte, as served, of this type.
    AsServed(Blob, &'static str),
    /// An SVG drawn into a file of this type (a picture's PNG, a sticker's WebP).
    Drawn(&'static str),
}

/// A logo as Z-API's examples send them (`…/logo.svg`).
const LOGO_SVG: &[u8] = br##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 120 40"><rect x="4" y="4" width="112" height="32" rx="8" fill="#1bb35e"/></svg>"##;

/// The media each media field of the examples is served as (the examples' own URLs point at
/// the internet, some at files that no longer exist): an SVG where the example names one.
fn media_for(field: &str, url: &str) -> Option<(Blob, Arrives)> {
    let svg = url.split('?').next().is_some_and(|path| path.ends_with(".svg"));
    let drawn = match field {
        "image" | "profileImage" | "groupPhoto" | "communityPhoto" | "pictureUrl" | "images" => "image/png",
        "sticker" => "image/webp",
        _ => "",
    };
    if svg && !drawn.is_empty() {
        return Some((Blob::with_head(LOGO_SVG, LOGO_SVG.len() as u64, 0), Arrives::Drawn(drawn)));
    }
    let (blob, mime) = served_for(field)?;
    Some((blob.clone(), Arrives::AsServed(blob, mime)))
}

/// The file served for a media field whose example names no SVG.
fn served_for(field: &str) -> Option<(Blob, &'static str)> {
    Some(match field {
        "image" | "profileImage" | "groupPhoto" | "communityPhoto" | "pictureUrl" | "images" => {
            (Blob::png(64, 64, 7), "image/png")
        }
        // A 512×512 WebP, which arrives as it was sent (a PNG sticker, or a WebP of another
        // size, is made a 512×512 WebP).
        "sticker" => (Blob::webp(512, 512, 6), "image/webp"),
        "gif" | "video" | "ptv" => (Blob::mp4(200_000, 8), "video/mp4"),
        "audio" => (Blob::ogg(50_000, 9), "audio/ogg; codecs=opus"),
        "document" => (Blob::pdf(100_000, 10), "application/pdf"),
        _ => return None,
    })
}

/// Points every media field (at any depth) at the file server and every webhook URL at the
/// sink; answers the top-level media field's blob.
fn localise(v: &mut Value, server: &FileServer, sink: &str, top: bool) -> Option<Arrives> {
    let mut found = None;
    match v {
        Value::Object(o) => {
            for (k, val) in o.iter_mut() {
                if let Some((blob, arrives)) = val.as_str().and_then(|url| media_for(k, url)) {
                    let name = match arrives {
                        Arrives::Drawn(_) => format!("/{k}.svg"),
                        Arrives::AsServed(..) => format!("/{k}.bin"),
                    };
                    *val = Value::String(server.serve(&name, &blob));
                    if top {
                        found = Some(arrives);
                    }
                } else {
                    localise(val, server, sink, false);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|x| {
            localise(x, server, sink, false);
        }),
        Value::String(s) => {
            if let Some(tail) = s.strip_prefix("https://endereco-do-seu-sistema.com.br/instancia/SUA_INSTANCIA/") {
                *s = format!("{sink}/{tail}");
            }
        }
        _ => {}
    }
    found
}

/// A HAR request as read from its file.
struct Example {
    method: Method,
    url: String,
    headers: Vec<(String, String)>,
    /// The HAR's `queryString`, sent after any query the URL has.
    query: Vec<(String, String)>,
    body: Option<String>,
}

fn fixtures() -> String {
    format!("{}/tests/fixtures/zapi/har", env!("CARGO_MANIFEST_DIR"))
}

fn example(name: &str) -> Example {
    let path = format!("{}/{name}", fixtures());
    let har: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))).unwrap();
    Example {
        method: Method::from_bytes(har["method"].as_str().unwrap().as_bytes()).unwrap(),
        url: har["url"].as_str().unwrap().to_owned(),
        // (a few examples have no headers at all)
        headers: har["headers"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|h| (h["name"].as_str().unwrap().to_owned(), h["value"].as_str().unwrap().to_owned()))
            .collect(),
        query: har["queryString"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|q| (q["name"].as_str().unwrap().to_owned(), q["value"].as_str().unwrap().to_owned()))
            .collect(),
        body: har["postData"]["text"].as_str().map(str::to_owned),
    }
}

/// The business instance, created and paired on first use.
async fn business(p: &Paired) -> Instance {
    let inst = create_business_instance(&p.http, &p.ce, None).await;
    pair(&p.http, &p.ce, &inst, BUSINESS_PHONE).await;
    inst
}

fn is_business(url: &str) -> bool {
    ["/business/", "/catalogs", "/products", "/product/", "/tags"].iter().any(|p| url.contains(p))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn z_apis_own_example_of_every_endpoint_is_served_in_a_meaningful_order() {
    let folder: BTreeSet<String> = std::fs::read_dir(fixtures())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".json") && !n.starts_with("on-"))
        .collect();
    let ordered: BTreeSet<String> = ORDER.iter().map(|s| s.to_string()).collect();
    assert_eq!(ORDER.len(), ordered.len(), "a file is replayed twice");
    assert_eq!(folder, ordered, "every HAR request is replayed, and only those");
    for (name, _) in INVALID_EXAMPLES {
        assert!(folder.contains(*name), "{name} is not a HAR file");
    }

    let p = paired(&format!("{FAST}\n[media]\nfetch_allow_private = true\n")).await;
    let server = FileServer::start().await;
    let mut minted: HashMap<Minted, String> = HashMap::from([(Minted::BusinessPhone, BUSINESS_PHONE.to_owned())]);
    let mut business_instance: Option<Instance> = None;
    let mut registering: Option<Instance> = None;
    let mut expectations = Vec::new();
    let mut replayed = 0;
    let mut failures: Vec<String> = Vec::new();
    for (i, name) in ORDER.iter().enumerate() {
        let ex = example(name);
        if *name == "get-queue.json" {
            // Every message example arrived before the queue examples delete what waits.
            arrived(&p, std::mem::take(&mut expectations)).await;
            // Messages that wait (a delay each), so the queue examples list and delete some.
            for n in 0..3 {
                let body = json!({"phone": "5511999999999", "message": format!("waiting {n}"), "delayMessage": 15});
                let (s, v) = p.http.post(&p.ce.instance_url(&p.inst, "send-text"), None, &body).await;
                assert_eq!(s, 200, "{v}");
            }
        }
        let inst = if is_business(&ex.url) {
            match &business_instance {
                Some(b) => b.clone(),
                None => business_instance.insert(business(&p).await).clone(),
            }
        } else if is_registration(&ex.url) {
            match &registering {
                Some(r) => r.clone(),
                None => registering.insert(create_instance(&p.http, &p.ce, None).await).clone(),
            }
        } else {
            p.inst.clone()
        };
        let patch = prepare(&p, name, &mut minted, &inst).await;
        // Base URL, instance and token.
        let mut url = ex
            .url
            .replace("https://api.z-api.io", &p.ce.dp)
            .replace("SUA_INSTANCIA", &inst.id)
            .replace("{SEU_TOKEN}", &inst.token)
            .replace("SEU_TOKEN", &inst.token);
        // A message example goes to its own recipient, so what arrived can be told apart
        // (a number ending in 0000 is "not on the network" in the sim).
        let arrives = ARRIVES_AS.iter().find(|(f, _)| f == name).map(|(_, kind)| *kind);
        let recipient = format!("5511977{i:04}1");
        if arrives.is_some() {
            url = url.replace("phone=5511999998888", &format!("phone={recipient}"));
        }
        let mut body_text = ex.body.clone();
        let mut query = ex.query.clone();
        for (placeholder, which) in PLACEHOLDERS {
            let which = match (which, OTHERS_CHANNEL.contains(name)) {
                (Minted::Channel, true) => &Minted::OtherChannel,
                _ => which,
            };
            let Some(value) = minted.get(which) else { continue };
            url = url.replace(placeholder, &percent_encode(value, *which));
            body_text = body_text.map(|b| b.replace(placeholder, value));
            query.iter_mut().for_each(|(_, v)| *v = v.replace(placeholder, value));
        }
        for (k, v) in &query {
            let sep = if url.contains('?') { '&' } else { '?' };
            url = format!("{url}{sep}{}={}", encode(k), encode(v));
        }
        // Placeholders nothing minted (yet) stay, as a URL can carry them.
        let url = url.replace('{', "%7B").replace('}', "%7D").replace(' ', "%20");
        let mut media = None;
        let body = match body_text.as_deref().map(serde_json::from_str::<Value>) {
            Some(Ok(mut v)) => {
                for (file, field, which) in FIELD_PLACEHOLDERS {
                    if let (true, Some(id), Some(o)) = (file == name, minted.get(which), v.as_object_mut()) {
                        o.insert(field.to_string(), Value::String(id.clone()));
                    }
                }
                if let Some(o) = v.as_object_mut() {
                    o.extend(patch.into_iter().map(|(k, v)| (k.to_owned(), v)));
                }
                media = localise(&mut v, &server, &p.sink.url, true);
                if let (Some(o), Some(_)) = (v.as_object_mut(), arrives) {
                    o.insert("phone".into(), Value::String(recipient.clone()));
                }
                v.to_string().into_bytes()
            }
            // Sent as the example has it (not JSON: see INVALID_EXAMPLES).
            Some(Err(_)) => body_text.unwrap_or_default().into_bytes(),
            None => Vec::new(),
        };
        let mut bearer = None;
        let mut headers: Vec<(&str, &str)> = Vec::new();
        for (k, v) in &ex.headers {
            match k.to_ascii_lowercase().as_str() {
                "authorization" => bearer = Some(p.ce.integrator_token.as_str()),
                _ => headers.push((k.as_str(), v.as_str())),
            }
        }
        let (status, answer) = p.http.raw(ex.method.clone(), &url, bearer, &headers, body).await;
        let what = format!("{name}: {} {url} answered {status} {answer}", ex.method);
        let route_not_found = status == 404 && answer["error"] == "Route not found";
        let served = !route_not_found && status < 500;
        // Z-API answers some refusals with 200 and `{"value": false}` / `{"success": false}`:
        // a valid example in its meaningful place must be neither.
        let refused = [&answer["value"], &answer["success"]].iter().any(|v| **v == json!(false));
        let answered = match INVALID_EXAMPLES.iter().find(|(f, _)| f == name) {
            Some(_) => served,
            None => (200..300).contains(&status) && !refused,
        };
        if !answered {
            failures.push(what);
            continue;
        }
        for (file, which, field) in MINTS {
            if file == name {
                let id = answer[*field].as_str().unwrap_or_else(|| panic!("{name}: no {field} in {answer}"));
                minted.insert(*which, id.to_owned());
            }
        }
        if let Some(kind) = arrives {
            expectations.push((name, kind, recipient, media));
        }
        check_effect(&p, name, &answer).await;
        replayed += 1;
    }
    assert!(
        failures.is_empty(),
        "{} examples were not answered as they should be:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(replayed, ORDER.len());
    arrived(&p, expectations).await;
}

/// A message example, its kind, its recipient and the media it carried (with its MIME type).
type Expectation = (&'static &'static str, &'static str, String, Option<Arrives>);

/// Each message example reached the sim's phone as what it asked for.
async fn arrived(p: &Paired, expectations: Vec<Expectation>) {
    for (name, kind, phone, media) in expectations {
        let got = files::wait_arrived(&p.http, &p.ce, &p.inst, &phone, 1).await;
        let message = &got[0];
        assert_eq!(message["type"].as_str(), Some(kind), "{name}: the sim received {message}");
        match media {
            Some(Arrives::AsServed(blob, mime)) => files::assert_media(message, &blob, mime, name),
            Some(Arrives::Drawn(mime)) => {
                assert_eq!(message["media"]["mime"].as_str(), Some(mime), "{name}: the SVG arrives drawn: {message}")
            }
            None => {}
        }
    }
}

/// What some examples must visibly have done, beyond their status.
/// Mobile registration and account security run on an instance of their own, which is not
/// connected until it registers a number.
fn is_registration(url: &str) -> bool {
    url.contains("/mobile/") || url.contains("/security/")
}

/// What an example needs the network to have done first — through the API, or on the sim's
/// phones — so that it is meaningful; answers fields to set in the example's body.
async fn prepare(
    p: &Paired,
    name: &str,
    minted: &mut HashMap<Minted, String>,
    inst: &Instance,
) -> Vec<(&'static str, Value)> {
    let sim = |action: &str| format!("{}/sim/{action}", p.ce.dp);
    let admin = Some(p.ce.admin_token.as_str());
    match name {
        "get-chats.json" => {
            // Someone writes from the number the chat examples read.
            let body = json!({"instanceId": p.inst.id, "phone": "5511999999999", "message": "hello"});
            let (s, v) = p.http.post(&sim("inbound"), admin, &body).await;
            assert_eq!(s, 200, "{v}");
            let listed = eventually(PATIENCE, || async {
                let (_, v) = p.http.get(&p.ce.instance_url(&p.inst, "chats"), None).await;
                v.as_array()?.iter().any(|c| c["phone"] == "5511999999999").then_some(())
            });
            listed.await.expect("the chat with 5511999999999 is listed");
        }
        "follow-newsletter.json" => {
            let body = json!({"instanceId": p.inst.id, "name": "Someone's channel", "owner": "5511988880001", "inviteMe": true});
            let (s, v) = p.http.post(&sim("newsletter"), admin, &body).await;
            assert_eq!(s, 200, "{v}");
            minted.insert(Minted::OtherChannel, v["newsletterId"].as_str().unwrap_or_default().to_owned());
        }
        "newsletter-revoke-admin-invite.json" => invite_channel_admin(p, &minted[&Minted::Channel]).await,
        "newsletter-remove-admin.json" | "transfer-newsletter-ownership.json" => {
            let channel = minted[&Minted::Channel].clone();
            invite_channel_admin(p, &channel).await;
            let body = json!({"instanceId": p.inst.id, "newsletterId": channel, "phone": CHANNEL_ADMIN});
            let (s, v) = p.http.post(&sim("newsletter-admin-accept"), admin, &body).await;
            assert_eq!(s, 200, "{v}");
        }
        "delete-newsletter.json" => {
            // The instance handed its channel over; it deletes one it still owns.
            let url = p.ce.instance_url(&p.inst, "create-newsletter");
            let (s, v) = p.http.post(&url, None, &json!({"name": "To delete"})).await;
            assert_eq!(s, 200, "{v}");
            minted.insert(Minted::Channel, v["id"].as_str().unwrap_or_default().to_owned());
        }
        "approve-participant.json" | "reject-participant.json" => {
            // The member leaves, then asks to join again (the group now wants admin approval).
            let group = minted[&Minted::Group].clone();
            let settings = json!({"phone": group, "requireAdminApproval": true});
            let (s, v) = p.http.post(&p.ce.instance_url(&p.inst, "update-group-settings"), None, &settings).await;
            assert_eq!((s, &v["value"]), (200, &json!(true)), "{v}");
            let url = p.ce.instance_url(&p.inst, "remove-participant");
            let (s, v) = p.http.post(&url, None, &json!({"groupId": group, "phones": [GROUP_MEMBER]})).await;
            assert_eq!((s, &v["value"]), (200, &json!(true)), "{v}");
            let body = json!({"instanceId": p.inst.id, "groupId": group, "phone": GROUP_MEMBER});
            let (s, v) = p.http.post(&sim("group-join-request"), admin, &body).await;
            assert_eq!(s, 200, "{v}");
        }
        "unlink-groups.json" => {
            // A community keeps one linked group: link a second one to unlink the first.
            let url = p.ce.instance_url(&p.inst, "create-group");
            let (s, v) = p.http.post(&url, None, &json!({"groupName": "Second", "phones": [GROUP_MEMBER]})).await;
            assert_eq!(s, 200, "{v}");
            let body = json!({"communityId": minted[&Minted::Community], "groupsPhones": [v["phone"]]});
            let (s, v) = p.http.post(&p.ce.instance_url(&p.inst, "communities/link"), None, &body).await;
            assert_eq!((s, &v["success"]), (200, &json!(true)), "{v}");
        }
        "captcha-confirm.json" | "request-unbanning.json" => {
            // The network asks this number for a captcha before it sends a code; the example's
            // answer is made up, so type the one the sim showed.
            let phone = if name == "captcha-confirm.json" { "4499999999" } else { "4499999998" };
            let url = p.ce.instance_url(inst, "mobile/registration-available");
            let (s, v) = p.http.post(&url, None, &json!({"ddi": "55", "phone": phone})).await;
            assert_eq!(s, 200, "{v}");
            let body = json!({"instanceId": inst.id, "phone": format!("55{phone}")});
            let (s, v) = p.http.post(&sim("require-captcha"), admin, &body).await;
            assert_eq!(s, 200, "{v}");
            let url = p.ce.instance_url(inst, "mobile/request-registration-code");
            let (s, v) = p.http.post(&url, None, &json!({"ddi": "55", "phone": phone, "method": "sms"})).await;
            assert_eq!(s, 200, "{v}");
            return vec![("captcha", sent(p, inst).await["captcha"].clone())];
        }
        "confirm-code.json" => return vec![("code", sent(p, inst).await["code"].clone())],
        "verify-account-email.json" => return vec![("verificationCode", sent(p, inst).await["emailCode"].clone())],
        "get-account-email.json" => wait_connected(&p.http, &p.ce, inst).await,
        "forgot-security-code.json" => {
            // The number registers again (after a logout): with a PIN set, the code is not enough.
            let (s, v) = p.http.get(&p.ce.instance_url(inst, "disconnect"), None).await;
            assert_eq!(s, 200, "{v}");
            let url = p.ce.instance_url(inst, "mobile/registration-available");
            let (s, v) = p.http.post(&url, None, &json!({"ddi": "55", "phone": "4499999998"})).await;
            assert_eq!(s, 200, "{v}");
            let url = p.ce.instance_url(inst, "mobile/request-registration-code");
            let (s, v) = p.http.post(&url, None, &json!({"ddi": "55", "phone": "4499999998", "method": "sms"})).await;
            assert_eq!(s, 200, "{v}");
            let code = sent(p, inst).await["code"].clone();
            let url = p.ce.instance_url(inst, "mobile/confirm-registration-code");
            let (s, v) = p.http.post(&url, None, &json!({"code": code})).await;
            assert_eq!(s, 200, "{v}");
        }
        "remove-account-email.json" => wait_connected(&p.http, &p.ce, inst).await,
        _ => {}
    }
    Vec::new()
}

/// What the sim "sent" the registering instance (codes, captcha), as the admin reads it.
async fn sent(p: &Paired, inst: &Instance) -> Value {
    let url = format!("{}/sim/registration-code", p.ce.dp);
    let (s, v) = p.http.post(&url, Some(&p.ce.admin_token), &json!({"instanceId": inst.id})).await;
    assert_eq!(s, 200, "{v}");
    v
}

/// Invites the channel admin of the examples to `channel` and waits until the invitation shows.
async fn invite_channel_admin(p: &Paired, channel: &str) {
    let url = p.ce.instance_url(&p.inst, "send-newsletter-admin-invite");
    let body = json!({"phone": CHANNEL_ADMIN, "adminInviteMessage": {"newsletterId": channel, "caption": "join"}});
    let (s, v) = p.http.post(&url, None, &body).await;
    assert_eq!(s, 200, "{v}");
    let shown = eventually(PATIENCE, || async {
        let (_, v) = p.http.get(&p.ce.instance_url(&p.inst, &format!("newsletter/metadata/{channel}")), None).await;
        v["pendingAdminInvites"].as_array()?.iter().any(|x| x == CHANNEL_ADMIN).then_some(())
    });
    shown.await.expect("the admin invitation is pending");
}

async fn check_effect(p: &Paired, name: &str, answer: &Value) {
    let me = || async { p.http.get(&p.ce.instance_url(&p.inst, "me"), None).await.1 };
    match name {
        "rename-instance.json" => assert_eq!(me().await["name"], "Name", "renamed by PUT /instances"),
        "update-webhook-delivery.json" => {
            assert_eq!(me().await["deliveryCallbackUrl"], json!(format!("{}/delivery", p.sink.url)))
        }
        "get-queue.json" => {
            let waiting = answer.as_array().map(Vec::len).unwrap_or(0);
            assert!(waiting >= 2, "the delayed messages wait in the queue: {answer}");
        }
        "delete-queue-id.json" => assert!(answer["deleted"].as_u64() >= Some(1), "{answer}"),
        "delete-queue.json" => {
            let (_, count) = p.http.get(&p.ce.instance_url(&p.inst, "queue/count"), None).await;
            assert!(count["count"].as_u64() <= Some(1), "only a message on the wire may stay: {count}");
        }
        "create-instance.json" => assert!(answer["id"].is_string() && answer["token"].is_string(), "{answer}"),
        "sign-instance.json" => assert_eq!(me().await["paymentStatus"], "PAID"),
        "unsubscribe-instance.json" => assert_eq!(me().await["paymentStatus"], "CANCELED"),
        "transfer-newsletter-ownership.json" => assert_eq!(answer["value"], true, "{answer}"),
        _ => {}
    }
}

/// A query name or value, percent-encoded.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A minted value as it goes into a URL: an invite link is a query value.
fn percent_encode(value: &str, which: Minted) -> String {
    match which {
        Minted::InviteUrl => value.replace(':', "%3A").replace('/', "%2F").replace('?', "%3F").replace('&', "%26"),
        _ => value.to_owned(),
    }
}
