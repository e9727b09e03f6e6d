//! Every ReceivedCallback kind against seed 001's own examples (tests/fixtures/zapi/received,
//! copied verbatim from the seed): each example's message is delivered through
//! `POST /sim/inbound`, and the webhook the real binary sends has the example's shape — the
//! same keys at every nesting level and the same JSON type per key. Received media is served
//! by its signed link without the instance token, byte for byte, across a restart.

use crate::common;

use std::collections::BTreeSet;

use base64::Engine as _;
use common::*;
use http_body_util::BodyExt;
use serde_json::{json, Map, Value};
use sha2::Digest as _;

/// Media fields chatedge fills with its own signed link (the example's are placeholders).
const LINKS: &[&str] = &["imageUrl", "thumbnailUrl", "audioUrl", "videoUrl", "documentUrl", "stickerUrl"];

/// Each example (fixture file) with the `/sim/inbound` type that produces it.
const CASES: &[(&str, &str)] = &[
    ("text", "text"),
    ("text_from_ad", "text"),
    ("template_text", "template"),
    ("template_otp", "template"),
    ("template_image", "template"),
    ("template_video", "template"),
    ("template_document", "template"),
    ("template_location", "template"),
    ("reaction", "reaction"),
    ("button_response", "buttonResponse"),
    ("pix_key", "pixKey"),
    ("buttons_image", "buttons"),
    ("buttons_video", "buttons"),
    ("list_response", "listResponse"),
    ("carousel", "carousel"),
    ("image", "image"),
    ("audio", "audio"),
    ("video", "video"),
    ("ptv", "ptv"),
    ("gif", "gif"),
    ("contact", "contact"),
    ("document", "document"),
    ("location", "location"),
    ("sticker", "sticker"),
    ("request_payment", "requestPayment"),
    ("payment_request_declined", "notification"),
    ("send_payment", "sendPayment"),
    ("call_incoming", "notification"),
    ("call_missed", "notification"),
    ("membership_request_invite_link", "notification"),
    ("membership_request_revoked", "notification"),
    ("membership_request_non_admin_add", "notification"),
    ("newsletter_admin_promoted", "notification"),
    ("newsletter_admin_demoted", "notification"),
    ("product", "product"),
    ("order", "order"),
    ("poll", "poll"),
    ("poll_vote", "pollVote"),
    ("review_and_pay", "reviewAndPay"),
    ("review_order", "reviewOrder"),
    ("newsletter_admin_invite", "newsletterAdminInvite"),
    ("pin_message", "pinMessage"),
    ("event", "event"),
    ("event_response", "eventResponse"),
    ("waiting_message", "waitingMessage"),
    ("profile_name_updated", "notification"),
    ("profile_picture_updated", "notification"),
    ("chat_label_association", "notification"),
];

/// A seed example as JSON. The seed writes a few numbers MongoDB-style
/// (`NumberLong(1657209752000)`); those are read as the plain numbers they are.
fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/zapi/received/{name}.json", env!("CARGO_MANIFEST_DIR"));
    let mut text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    for wrapper in ["NumberLong(", "NumberInt("] {
        while let Some(start) = text.find(wrapper) {
            let close = start + text[start..].find(')').unwrap();
            text = format!("{}{}{}", &text[..start], &text[start + wrapper.len()..close], &text[close + 1..]);
        }
    }
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The first bytes of a real file of the media kind (enough for the type to be sniffed).
fn media_bytes(kind: &str) -> Vec<u8> {
    let iso = [&[0, 0, 0, 0x20][..], b"ftypisom", &[0, 0, 2, 0], b"isomiso2avc1mp41"].concat();
    let mut bytes = match kind {
        "image" => [&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D][..], b"IHDR"].concat(),
        "audio" => {
            [&b"OggS"[..], &[0, 2], &[0; 8], &[0x11, 0x22, 0x33, 0x44], &[0; 8], &[1, 19], b"OpusHead\x01\x02"].concat()
        }
        "video" | "ptv" | "gif" => iso,
        "document" => b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
        "sticker" => [&b"RIFF"[..], &[0x24, 0x01, 0, 0], b"WEBPVP8 "].concat(),
        _ => return Vec::new(),
    };
    bytes.extend((0..2_000u32).map(|i| (i * 31 % 251) as u8));
    bytes
}

/// The `/sim/inbound` body that should produce `example`: the example's own fields.
fn inbound_for(example: &Value, kind: &str, instance: &str) -> Value {
    let top = example.as_object().unwrap();
    let group = example["isGroup"] == json!(true);
    let mut body = Map::new();
    body.insert("instanceId".into(), json!(instance));
    body.insert("type".into(), json!(kind));
    body.insert("phone".into(), json!(if group { "120363019502650977-group" } else { "5544999999999" }));
    if group {
        body.insert("participantPhone".into(), json!("5544988887777"));
    }
    if let Some(ad) = top.get("externalAdReply").filter(|v| v.is_object()) {
        body.insert("externalAdReply".into(), ad.clone());
    }
    let own: Vec<(&String, &Value)> = top.iter().filter(|(k, _)| !ENVELOPE.contains(&k.as_str())).collect();
    let fields: Map<String, Value> = match kind {
        "notification" | "waitingMessage" => own.into_iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => {
            assert_eq!(own.len(), 1, "one part besides the envelope: {own:?}");
            own[0].1.as_object().unwrap().clone()
        }
    };
    for (k, v) in fields {
        let optional = v.as_str().is_some_and(|s| s.starts_with("(optional)"));
        if optional || LINKS.contains(&k.as_str()) && media_kind(kind) {
            continue;
        }
        let k = if kind == "reviewAndPay" && k == "type" { "orderType".to_owned() } else { k };
        body.insert(k, v);
    }
    if media_kind(kind) {
        let data = base64::engine::general_purpose::STANDARD.encode(media_bytes(kind));
        body.insert("data".into(), json!(format!("data:application/octet-stream;base64,{data}")));
    }
    Value::Object(body)
}

fn media_kind(kind: &str) -> bool {
    matches!(kind, "image" | "audio" | "video" | "ptv" | "gif" | "document" | "sticker")
}

fn json_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences between the shape of `got` and `want` under `path`. A `null` matches any type
/// (the seed shows the same field as `null` in one example and a value in another); a string
/// the seed marks "(optional)" may be absent.
/// Keys Z-API's documentation added after seed 001 (its repository, 2026) that the callbacks
/// carry beside the seed's, as (part, key).
const LATER: &[(&str, &str)] = &[("image", "downloadError")];

fn shape_differences(path: &str, want: &Value, got: &Value, top: bool, out: &mut Vec<String>) {
    match (want, got) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let optional = wv.as_str().is_some_and(|s| s.starts_with("(optional)"));
                match g.get(k) {
                    Some(gv) => shape_differences(&format!("{path}.{k}"), wv, gv, false, out),
                    None if optional => {}
                    None => out.push(format!("{path}.{k} is missing")),
                }
            }
            let later = |k: &str| LATER.iter().any(|(part, key)| path.ends_with(&format!(".{part}")) && k == *key);
            let extra: BTreeSet<&String> = g
                .keys()
                .filter(|k| !(w.contains_key(*k) || top && ENVELOPE.contains(&k.as_str()) || later(k)))
                .collect();
            if !extra.is_empty() {
                out.push(format!("{path} has keys the seed does not show: {extra:?}"));
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                out.push(format!("{path}: {} elements, the seed shows {}", g.len(), w.len()));
            }
            for (i, (wv, gv)) in w.iter().zip(g).enumerate() {
                shape_differences(&format!("{path}[{i}]"), wv, gv, false, out);
            }
        }
        (w, g) if json_type(w) != json_type(g) => {
            out.push(format!("{path} is a {}, the seed shows a {} ({w})", json_type(g), json_type(w)))
        }
        _ => {}
    }
}

async fn inbound(ce: &Chatedge, http: &Http, body: &Value) -> String {
    sim_inbound(http, ce, body).await
}

async fn received_callback(sink: &Sink, message_id: &str) -> Value {
    let found = |e: &[sink::Received]| {
        e.iter().find(|r| r.body["type"] == "ReceivedCallback" && r.body["messageId"] == message_id).cloned()
    };
    let events = sink.wait_for(PATIENCE, message_id, |e| found(e).is_some()).await;
    found(&events).unwrap().body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_received_callback_has_the_shape_of_the_seeds_example() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;
    let on_disk: BTreeSet<String> =
        std::fs::read_dir(format!("{}/tests/fixtures/zapi/received", env!("CARGO_MANIFEST_DIR")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".json").to_owned())
            .collect();
    let covered: BTreeSet<String> = CASES.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(on_disk, covered, "every example of the seed is checked");

    let mut failures = Vec::new();
    for (name, kind) in CASES {
        let example = fixture(name);
        let id = inbound(&ce, &http, &inbound_for(&example, kind, &inst.id)).await;
        let got = received_callback(&sink, &id).await;
        let mut diffs = Vec::new();
        shape_differences(name, &example, &got, true, &mut diffs);
        if !diffs.is_empty() {
            failures.push(format!("{name}:\n  {}\n  got {got}", diffs.join("\n  ")));
        }
        assert_eq!(got["instanceId"], json!(inst.id));
        assert_eq!(got["fromMe"], json!(false));
        assert_eq!(got["connectedPhone"], json!("5511999990001"));
        if media_kind(kind) {
            let part = got.as_object().unwrap().iter().find(|(k, _)| !ENVELOPE.contains(&k.as_str())).unwrap().1;
            let url = LINKS.iter().find_map(|l| part[*l].as_str()).expect("a media link");
            assert!(url.starts_with(&ce.dp) && url.contains("/media/"), "{name}: {url}");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} callbacks differ from the seed:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_message_names_its_participant_and_a_legacy_inbound_is_a_text() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;
    let body = json!({"instanceId": inst.id, "phone": "120363019502650977-group", "participantPhone": "5544988887777",
        "senderName": "Ana", "messageId": "3EB0C767D71D2B1C4B7A", "message": "bom dia"});
    let id = inbound(&ce, &http, &body).await;
    assert_eq!(id, "3EB0C767D71D2B1C4B7A", "the given messageId is kept");
    let got = received_callback(&sink, &id).await;
    assert_eq!(got["isGroup"], true);
    assert_eq!(got["participantPhone"], "5544988887777");
    assert_eq!(got["senderName"], "Ana");
    assert_eq!(got["text"], json!({"message": "bom dia"}));
    assert!(got["senderLid"].as_str().is_some_and(|l| l.ends_with("@lid")), "{got}");

    let (status, v) = http
        .post(&format!("{}/sim/inbound", ce.dp), Some(&ce.admin_token),
            &json!({"instanceId": inst.id, "phone": "5544999999999", "type": "image", "data": "data:image/png;base64,JVBERi0xLjcK"}))
        .await;
    assert_eq!(status, 400, "a PDF is not an image: {v}");
    let (status, v) = http
        .post(
            &format!("{}/sim/inbound", ce.dp),
            Some(&ce.admin_token),
            &json!({"instanceId": inst.id, "phone": "5544999999999", "type": "image"}),
        )
        .await;
    assert_eq!(status, 400, "an image needs its bytes: {v}");
    assert!(v["message"].as_str().unwrap().contains("data"), "{v}");
}

/// GET without any token; the status and the body's bytes.
async fn fetch(url: &str) -> (u16, Vec<u8>, String) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<http_body_util::Empty<bytes::Bytes>>();
    let res = client.get(url.parse().unwrap()).await.unwrap();
    let status = res.status().as_u16();
    let content_type = res.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, res.into_body().collect().await.unwrap().to_bytes().to_vec(), content_type)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_received_image_is_served_by_its_signed_link_without_the_token_even_after_a_restart() {
    let Paired { dir, ce, http, sink, inst } = paired(FAST).await;
    // Large enough to be streamed in many chunks (64 KiB each), small enough for /sim/inbound.
    let mut image = media_bytes("image");
    image.extend((0..600_000u32).map(|i| (i * 7 % 253) as u8));
    let data = base64::engine::general_purpose::STANDARD.encode(&image);
    let body = json!({"instanceId": inst.id, "phone": "5544999999999", "type": "image", "caption": "olha",
        "data": format!("data:image/png;base64,{data}")});
    let id = inbound(&ce, &http, &body).await;
    let got = received_callback(&sink, &id).await;
    assert_eq!(got["image"]["caption"], "olha");
    assert_eq!(got["image"]["mimeType"], "image/png");
    let url = got["image"]["imageUrl"].as_str().unwrap().to_owned();

    let (status, bytes, content_type) = fetch(&url).await;
    assert_eq!(status, 200);
    assert_eq!(content_type, "image/png");
    assert_eq!(bytes.len(), image.len(), "as long as the Content-Length promised, every chunk");
    assert_eq!(sha2::Sha256::digest(&bytes), sha2::Sha256::digest(&image), "the same bytes");

    let sig_at = url.find("signature=").unwrap() + "signature=".len();
    let flipped = if &url[sig_at..sig_at + 1] == "0" { "1" } else { "0" };
    let tampered = format!("{}{}{}", &url[..sig_at], flipped, &url[sig_at + 1..]);
    assert_eq!(fetch(&tampered).await.0, 403, "a changed signature is refused");
    let other_name = url.replacen(".png?", ".jpg?", 1);
    assert_eq!(fetch(&other_name).await.0, 403, "the signature covers the name");

    // After a crash and a restart the link still works (the listen port is new: the path
    // and query are what the signature covers; `[media] public_base_url` keeps hosts stable).
    let path = url[url.find("/media/").unwrap()..].to_owned();
    ce.kill_9();
    let ce = Chatedge::up(dir.path(), FAST);
    let (status, bytes, _) = fetch(&format!("{}{path}", ce.dp)).await;
    assert_eq!(status, 200);
    assert_eq!(sha2::Sha256::digest(&bytes), sha2::Sha256::digest(&image), "the same bytes after a restart");
}

/// The sweep runs often and deletes unreferenced files quickly, so a file nothing holds is
/// gone within a second.
fn sweeping_config() -> String {
    format!("{FAST}\n[media]\norphan_grace_ms = 300\nsweep_interval_ms = 50\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sent_by_me_callbacks_render_media_by_a_link_that_outlives_the_message() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(&sweeping_config()).await;
    let (s, v) = http.put(&ce.instance_url(&inst, "update-notify-sent-by-me"), &json!({"notifySentByMe": true})).await;
    assert_eq!(s, 200, "{v}");
    eventually(std::time::Duration::from_secs(20), || async {
        let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
        (me["receiveCallbackSentByMe"] == true).then_some(())
    })
    .await
    .expect("notify-sent-by-me is on");

    let image = media_bytes("image");
    let data = base64::engine::general_purpose::STANDARD.encode(&image);
    let body = json!({"phone": "5511999998888", "image": format!("data:image/png;base64,{data}"), "caption": "foto"});
    let (s, sent) = http.post(&ce.instance_url(&inst, "send-image"), None, &body).await;
    assert_eq!(s, 200, "{sent}");
    let got = received_callback(&sink, sent["messageId"].as_str().unwrap()).await;
    assert_eq!(got["fromMe"], true);
    assert_eq!(got["phone"], "5511999998888");
    assert_eq!(got["image"]["caption"], "foto");
    assert_eq!(got["image"]["mimeType"], "image/png");
    let mut diffs = Vec::new();
    shape_differences("sent image", &fixture("image"), &got, true, &mut diffs);
    assert!(diffs.is_empty(), "{diffs:?}");
    let url = got["image"]["imageUrl"].as_str().unwrap().to_owned();

    let (s, text) = http
        .post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": "5511999998888", "message": "oi"}))
        .await;
    assert_eq!(s, 200, "{text}");
    let got = received_callback(&sink, text["messageId"].as_str().unwrap()).await;
    assert_eq!(got["text"], json!({"message": "oi"}));
    assert_eq!(got["fromMe"], true);

    // An incoming image is held the same way.
    let body = json!({"instanceId": inst.id, "phone": "5544999999999", "type": "sticker",
        "data": base64::engine::general_purpose::STANDARD.encode(media_bytes("sticker"))});
    let id = inbound(&ce, &http, &body).await;
    let sticker = received_callback(&sink, &id).await["sticker"]["stickerUrl"].as_str().unwrap().to_owned();

    // The sent message left (its own reference to the file went with it): only the hold
    // keeps the file through the sweeps that run meanwhile.
    tokio::time::sleep(std::time::Duration::from_millis(1_500)).await;
    let (status, bytes, _) = fetch(&url).await;
    assert_eq!(status, 200, "the sent image is still served");
    assert_eq!(sha2::Sha256::digest(&bytes), sha2::Sha256::digest(&image));
    let (status, bytes, content_type) = fetch(&sticker).await;
    assert_eq!((status, content_type.as_str()), (200, "image/webp"));
    assert_eq!(bytes, media_bytes("sticker"));
}
