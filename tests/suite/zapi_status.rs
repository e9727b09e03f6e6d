//! Status routes (seed 001, rows 159–164) against the real binary: posts and replies are
//! messages on the durable send path — answered `{zaapId, messageId, id}`, counted in the
//! queue, followed by their DeliveryCallback — a post reaching the sim's status broadcast
//! list (`/sim/received?phone=status@broadcast`) with its text or media byte for byte (by URL
//! from a loopback file server, or base64), a reply reaching the status's author as a reply
//! to the status message. Bad fields get a 400 naming them and queue nothing.

use crate::common;

use base64::Engine as _;
use common::files::{assert_media, wait_arrived, Blob, FileServer};
use common::*;
use serde_json::{json, Value};

/// FAST, fetching media from the loopback file server.
fn config() -> String {
    format!("{FAST}\n[media]\nfetch_allow_private = true\n")
}

const BROADCAST: &str = "status@broadcast";

async fn send(p: &Paired, route: &str, body: Value) -> String {
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, &body).await;
    assert_eq!(status, 200, "{route}: {v}");
    let (zaap, id) = (v["zaapId"].as_str().unwrap(), v["messageId"].as_str().unwrap());
    assert!(!zaap.is_empty() && !id.is_empty(), "{route}: {v}");
    zaap.to_owned()
}

/// The DeliveryCallback of `zaap`, once it came.
async fn delivery(sink: &Sink, zaap: &str) -> Value {
    let is_it = |r: &sink::Received| r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap;
    let events = sink.wait_for(PATIENCE, &format!("the DeliveryCallback of {zaap}"), |e| e.iter().any(is_it)).await;
    events.into_iter().find(|r| is_it(r)).unwrap().body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_posts_take_the_send_path_and_reach_the_status_broadcast() {
    let p = paired(&config()).await;
    let server = FileServer::start().await;
    let (image, video) = (Blob::png(320, 240, 11), Blob::mp4(200_000, 12));
    let small = Blob::png(16, 16, 13);
    let base64 = base64::engine::general_purpose::STANDARD.encode(small.to_vec());

    let text = send(&p, "send-text-status", json!({"message": "Sua mensagem para status"})).await;
    let by_url = json!({"image": server.serve("/status.png", &image), "caption": "caption text"});
    let pic = send(&p, "send-image-status", by_url).await;
    let clip = send(&p, "send-video-status", json!({"video": server.serve("/status.mp4", &video)})).await;
    let inline = send(&p, "send-image-status", json!({"image": format!("data:image/png;base64,{base64}")})).await;
    for zaap in [&text, &pic, &clip, &inline] {
        let d = delivery(&p.sink, zaap).await;
        assert!(d.get("error").is_none(), "{d}");
        assert_eq!(d["phone"], BROADCAST, "{d}");
    }
    let posts = wait_arrived(&p.http, &p.ce, &p.inst, BROADCAST, 4).await;
    assert_eq!(posts.len(), 4, "{posts:?}");
    let by_type = |t: &str| posts.iter().filter(|m| m["type"] == t).cloned().collect::<Vec<_>>();
    assert_eq!(by_type("text")[0]["text"], "Sua mensagem para status");
    let images = by_type("image");
    let captioned = images.iter().find(|m| m["text"] == "caption text").expect("the captioned image");
    assert_media(captioned, &image, "image/png", "image status by URL");
    let plain = images.iter().find(|m| m["text"] != "caption text").expect("the base64 image");
    assert_media(plain, &small, "image/png", "image status by base64");
    assert_media(&by_type("video")[0], &video, "video/mp4", "video status");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_replies_reach_the_author_as_replies_to_the_status() {
    let p = paired(&config()).await;
    let server = FileServer::start().await;
    let (gif, sticker) = (Blob::mp4(100_000, 21), Blob::png(64, 64, 22));
    let status_id = "1F606398F2ECAA4846269F659B6003A9";
    let author = "5544999999999";
    let replies = [
        ("reply-status-text", json!({"phone": author, "message": "texto da mensagem", "statusMessageId": status_id})),
        (
            "reply-status-gif",
            json!({"phone": author, "gif": server.serve("/reply.mp4", &gif), "statusMessageId": status_id}),
        ),
        (
            "reply-status-sticker",
            json!({"phone": author, "sticker": server.serve("/reply.png", &sticker), "statusMessageId": status_id}),
        ),
    ];
    for (route, body) in replies {
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, &body).await;
        assert_eq!(status, 200, "{route}: {v}");
        assert_eq!(v["id"], v["messageId"], "{route}: id is messageId (seed 001 line 13985)");
        let d = delivery(&p.sink, v["zaapId"].as_str().unwrap()).await;
        assert!(d.get("error").is_none(), "{route}: {d}");
    }
    let got = wait_arrived(&p.http, &p.ce, &p.inst, author, 3).await;
    assert!(got.iter().all(|m| m["replyTo"] == status_id), "every reply names the status: {got:?}");
    let kinds: Vec<&str> = got.iter().map(|m| m["type"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["text", "gif", "sticker"]);
    assert_eq!(got[0]["text"], "texto da mensagem");
    assert_media(&got[1], &gif, "video/mp4", "gif reply");
    // The PNG is made the WebP sticker WhatsApp takes.
    assert_eq!(got[2]["media"]["mime"], "image/webp", "sticker reply: {}", got[2]);
    assert_ne!(got[2]["media"]["sha256"].as_str(), Some(sticker.sha256().as_str()), "sticker reply: rewritten");
}

#[tokio::test]
async fn bad_status_requests_name_the_field_and_queue_nothing() {
    let p = paired(FAST).await;
    let cases: &[(&str, Value, &str)] = &[
        ("send-text-status", json!({}), "message is required"),
        ("send-text-status", json!({"message": "x".repeat(701)}), "message is longer than 700"),
        ("send-image-status", json!({"caption": "c"}), "image is required"),
        ("send-image-status", json!({"image": "ftp://x.test/a.png"}), "image"),
        ("send-video-status", json!({"video": 5}), "video"),
        ("reply-status-text", json!({"message": "x", "statusMessageId": "A"}), "phone is required"),
        ("reply-status-text", json!({"phone": "5544999999999", "message": "x"}), "statusMessageId is required"),
        ("reply-status-gif", json!({"phone": "5544999999999", "statusMessageId": "A"}), "gif is required"),
        (
            "reply-status-sticker",
            json!({"phone": "120363019502650977-group", "sticker": "https://x.test/s.png", "statusMessageId": "A"}),
            "phone must be",
        ),
    ];
    for (route, body, want) in cases {
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, body).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{route} {body}: {v}");
    }
    let (_, v) = p.http.get(&p.ce.instance_url(&p.inst, "queue/count"), None).await;
    assert_eq!(v["count"], 0, "nothing queued");
}
