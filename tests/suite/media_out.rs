//! Media out, against the real binary: images, audio, a 60 MB video and a 90 MB document sent
//! by URL (fetched from a real loopback file server) and by base64 data URI arrive at the sim
//! network byte for byte; wrong types, unreachable or missing URLs and oversized media are
//! refused — at once with a 4xx naming the field when the bytes came with the request, through
//! the message's DeliveryCallback when they are fetched — and leave nothing queued; the same
//! bytes are stored once; many concurrent large uploads all get an answer; a PNG sticker
//! arrives as a 512×512 WebP, with its `stickerAuthor` written into the file.

use crate::common;

use std::collections::HashSet;
use std::io::Cursor;

use base64::Engine as _;

use common::files::{
    self, arrived, assert_media, stored_files, upload, wait_arrived, Blob, FileServer, PngParts, RawPost,
};
use common::*;
use serde_json::{json, Value};

const MB: u64 = 1024 * 1024;

/// FAST, fetching media from the loopback file server.
fn config(media: &str) -> String {
    format!("{FAST}\n[media]\nfetch_allow_private = true\n{media}\n")
}

fn phone(n: u64) -> String {
    format!("55119{:08}", 30_001 + n)
}

/// Sends `{"phone", <field>: url}` to `route` and answers the zaapId.
async fn send_url(p: &Paired, route: &str, field: &str, phone: &str, url: &str) -> String {
    let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, &json!({"phone": phone, field: url})).await;
    assert_eq!(status, 200, "{route} by URL: {v}");
    v["zaapId"].as_str().unwrap().to_owned()
}

/// Sends `blob` as a base64 data URI to `route`, expecting 200, and answers the zaapId.
async fn send_base64_ok(p: &Paired, route: &str, field: &str, mime: &str, phone: &str, blob: &Blob) -> String {
    let a = files::send_base64(&p.ce.instance_url(&p.inst, route), field, mime, phone, blob).await;
    assert_eq!(a.status, 200, "{route} by base64: {}", a.body);
    a.body["zaapId"].as_str().unwrap().to_owned()
}

/// The DeliveryCallback of `zaap`, once it came.
async fn delivery(sink: &Sink, zaap: &str) -> Value {
    let events = sink
        .wait_for(PATIENCE, &format!("the DeliveryCallback of {zaap}"), |e| {
            e.iter().any(|r| r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap)
        })
        .await;
    events.into_iter().find(|r| r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap).unwrap().body
}

async fn queue_count(p: &Paired) -> u64 {
    let (_, v) = p.http.get(&p.ce.instance_url(&p.inst, "queue/count"), None).await;
    v["count"].as_u64().unwrap()
}

/// Waits until the instance's queue is empty.
async fn wait_queue_empty(p: &Paired) {
    eventually(PATIENCE, || async { (queue_count(p).await == 0).then_some(()) }).await.expect("the queue empties");
}

/// Sends each `(route, field, mime, blob)` by URL and by base64 to its own phones and checks
/// that every one arrives with the same SHA-256, size and type, delivered without error.
async fn round_trip(p: &Paired, server: &FileServer, cases: &[(&str, &str, &str, Blob)], first_phone: u64) {
    let mut sent = Vec::new();
    for (i, (route, field, mime, blob)) in cases.iter().enumerate() {
        let (by_url, by_base64) = (phone(first_phone + 2 * i as u64), phone(first_phone + 2 * i as u64 + 1));
        let url = server.serve(&format!("/{i}/{field}"), blob);
        sent.push((send_url(p, route, field, &by_url, &url).await, by_url, i, "by URL"));
        sent.push((send_base64_ok(p, route, field, mime, &by_base64, blob).await, by_base64, i, "by base64"));
    }
    for (zaap, phone, i, how) in &sent {
        let (route, field, mime, blob) = &cases[*i];
        let what = format!("{route} {how}");
        let d = delivery(&p.sink, zaap).await;
        assert!(d.get("error").is_none(), "{what}: {d}");
        let messages = wait_arrived(&p.http, &p.ce, &p.inst, phone, 1).await;
        assert_eq!(messages.len(), 1, "{what}: one message arrives");
        assert_media(&messages[0], blob, mime, &what);
        assert_eq!(messages[0]["type"], *field, "{what}");
    }
    wait_queue_empty(p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_and_an_audio_arrive_byte_for_byte_by_url_and_by_base64() {
    let p = paired(&config("")).await;
    let server = FileServer::start().await;
    let cases = [
        ("send-image", "image", "image/png", Blob::png(640, 480, 1)),
        ("send-audio", "audio", "audio/ogg; codecs=opus", Blob::ogg(3 * MB, 2)),
    ];
    round_trip(&p, &server, &cases, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_mb_video_and_a_90_mb_document_arrive_byte_for_byte_by_url_and_by_base64() {
    let p = paired(&config("")).await;
    let server = FileServer::start().await;
    let document = Blob::pdf(90 * MB, 4);
    // The document's base64 body is larger than 120 MB: media routes take it.
    assert!(upload("document", "application/pdf", &phone(0), &document).len() > 120_000_000);
    let cases = [
        ("send-video", "video", "video/mp4", Blob::mp4(60 * MB, 3)),
        ("send-document/pdf", "document", "application/pdf", document),
    ];
    round_trip(&p, &server, &cases, 10).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_other_than_media_keep_the_1_mib_body_limit() {
    let p = paired(&config("")).await;
    // Refused from its declared length, before the body is read (so the client's write does
    // not race the answer).
    let body = json!({"phone": phone(20), "message": "x".repeat(2 * MB as usize)}).to_string();
    let path = p.ce.instance_url(&p.inst, "send-text").replacen(&p.ce.dp, "", 1);
    let mut conn = common::faults::wire::Conn::open(&p.ce.dp).await.unwrap();
    conn.write_partial(&path, body.as_bytes(), 0).await.unwrap();
    let outcome = conn.answer().await;
    assert_eq!(outcome.status(), Some(413), "a 2 MB send-text body: {outcome:?}");
    assert_eq!(queue_count(&p).await, 0, "nothing is queued for a refused request");
    // A media route takes a body of that size.
    let image = Blob::png(800, 800, 20);
    assert!(upload("image", "image/png", &phone(21), &image).len() > 2 * MB);
    send_base64_ok(&p, "send-image", "image", "image/png", &phone(21), &image).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_body_larger_than_any_media_allows_is_refused_413_not_asked_to_retry() {
    let p = paired(&config("")).await;
    // 2 GB declared: more than the largest document's base64 and more than the whole upload
    // budget. Retrying cannot help, so the answer is 413, never 503 "Too many uploads".
    let path = p.ce.instance_url(&p.inst, "send-document/pdf").replacen(&p.ce.dp, "", 1);
    let mut conn = common::faults::wire::Conn::open(&p.ce.dp).await.unwrap();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        2 * 1024 * MB
    );
    conn.write_raw(head.as_bytes()).await.unwrap();
    let outcome = conn.answer().await;
    assert_eq!(outcome.status(), Some(413), "{outcome:?}");
    assert_eq!(queue_count(&p).await, 0, "nothing is queued for a refused request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pdf_sent_as_an_image_is_refused_naming_the_field() {
    let p = paired(&config("")).await;
    let server = FileServer::start().await;
    let pdf = Blob::pdf(200_000, 5);
    // Sent with the request: refused at once, naming the field and what the bytes are.
    let a = files::send_base64(&p.ce.instance_url(&p.inst, "send-image"), "image", "image/png", &phone(30), &pdf).await;
    assert_eq!(a.status, 400, "{}", a.body);
    let message = a.body["message"].as_str().unwrap_or_default();
    assert!(message.starts_with("image") && message.contains("application/pdf"), "{}", a.body);
    assert_eq!(queue_count(&p).await, 0, "nothing is queued for a refused request");
    assert!(stored_files(p.dir.path()).is_empty(), "nothing is stored for a refused request");

    // Fetched by URL when the message leaves: the DeliveryCallback carries the error.
    let zaap = send_url(&p, "send-image", "image", &phone(31), &server.serve("/report.png", &pdf)).await;
    let d = delivery(&p.sink, &zaap).await;
    assert!(d["error"].as_str().is_some_and(|e| e.contains("application/pdf")), "{d}");
    assert!(arrived(&p.http, &p.ce, &p.inst, &phone(31)).await.is_empty(), "nothing arrives");
    wait_queue_empty(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_that_answers_404_fails_through_the_delivery_callback() {
    let p = paired(&config("")).await;
    let server = FileServer::start().await;
    let zaap = send_url(&p, "send-image", "image", &phone(40), &server.missing("/gone.png")).await;
    let d = delivery(&p.sink, &zaap).await;
    assert!(d["error"].as_str().is_some_and(|e| e.contains("404")), "{d}");
    assert!(arrived(&p.http, &p.ce, &p.inst, &phone(40)).await.is_empty(), "nothing arrives");
    wait_queue_empty(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_url_to_a_private_address_fails_through_the_delivery_callback_unless_allowed() {
    let p = paired(FAST).await; // [media] fetch_allow_private is false by default
    let server = FileServer::start().await;
    let image = Blob::png(64, 64, 6);
    let zaap = send_url(&p, "send-image", "image", &phone(50), &server.serve("/a.png", &image)).await;
    let d = delivery(&p.sink, &zaap).await;
    let error = d["error"].as_str().unwrap_or_default();
    assert!(error.contains("media fetch failed") && error.contains("127.0.0.1"), "{d}");
    assert!(arrived(&p.http, &p.ce, &p.inst, &phone(50)).await.is_empty(), "nothing arrives");
    wait_queue_empty(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_over_its_limit_is_refused_413_by_base64_and_through_the_delivery_callback_by_url() {
    let p = paired(&config("")).await;
    let server = FileServer::start().await;
    // Seed 002: images up to 16 MB.
    let image = Blob::with_head(&Blob::png(16, 16, 7).to_vec(), 16 * MB + 1, 7);
    let a =
        files::send_base64(&p.ce.instance_url(&p.inst, "send-image"), "image", "image/png", &phone(60), &image).await;
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.body["message"].as_str().is_some_and(|m| m.starts_with("image")), "{}", a.body);
    assert_eq!(queue_count(&p).await, 0, "nothing is queued for a refused request");
    assert!(stored_files(p.dir.path()).is_empty(), "nothing is stored for a refused request");

    let zaap = send_url(&p, "send-image", "image", &phone(61), &server.serve("/big.png", &image)).await;
    let d = delivery(&p.sink, &zaap).await;
    assert!(d["error"].as_str().is_some_and(|e| e.contains("larger than")), "{d}");
    assert!(arrived(&p.http, &p.ce, &p.inst, &phone(61)).await.is_empty(), "nothing arrives");
    wait_queue_empty(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_bytes_sent_twice_are_stored_once() {
    let p = paired(&config("")).await;
    let (image, other) = (Blob::png(300, 200, 8), Blob::png(300, 200, 9));
    send_base64_ok(&p, "send-image", "image", "image/png", &phone(70), &image).await;
    send_base64_ok(&p, "send-image", "image", "image/png", &phone(71), &image).await;
    assert_eq!(stored_files(p.dir.path()), vec![image.sha256()], "one file for the same bytes twice");
    send_base64_ok(&p, "send-image", "image", "image/png", &phone(72), &other).await;
    let mut want = vec![image.sha256(), other.sha256()];
    want.sort();
    assert_eq!(stored_files(p.dir.path()), want, "different bytes, another file");
    for (n, blob) in [(70, &image), (71, &image), (72, &other)] {
        let m = wait_arrived(&p.http, &p.ce, &p.inst, &phone(n), 1).await;
        assert_media(&m[0], blob, "image/png", &format!("image to {}", phone(n)));
    }
}

/// Sends `images` concurrently to send-image (phone `first_phone + i` for image `i`), each
/// retried after its Retry-After while the server answers 503 "Too many uploads"; answers
/// the zaapIds and how many 503s came.
async fn concurrent_uploads(p: &Paired, images: &[Blob], first_phone: u64) -> (Vec<String>, usize) {
    let mut set = tokio::task::JoinSet::new();
    for (i, image) in images.iter().enumerate() {
        let (url, image, phone) =
            (p.ce.instance_url(&p.inst, "send-image"), image.clone(), phone(first_phone + i as u64));
        set.spawn(async move {
            let mut busy = 0;
            loop {
                let a = files::send_base64(&url, "image", "image/png", &phone, &image).await;
                if a.status == 200 {
                    return (a.body["zaapId"].as_str().unwrap().to_owned(), busy);
                }
                assert_eq!(a.status, 503, "upload {i}: {}", a.body);
                assert_eq!(a.body["error"], "Too many uploads", "upload {i}");
                let wait: u64 = a.retry_after.as_deref().expect("503 carries Retry-After").parse().unwrap();
                busy += 1;
                tokio::time::sleep(std::time::Duration::from_secs(wait)).await;
            }
        });
    }
    let (mut zaaps, mut busy) = (Vec::new(), 0);
    while let Some(r) = set.join_next().await {
        let (zaap, b) = r.unwrap();
        zaaps.push(zaap);
        busy += b;
    }
    (zaaps, busy)
}

/// 50 distinct images of just under 16 MB (one shared buffer of pixels, a different comment each).
fn sixteen_mb_images(n: usize) -> Vec<Blob> {
    let parts = PngParts::new(2_300, 2_300, 10);
    (0..n).map(|i| parts.blob(format!("image {i}").as_bytes())).collect()
}

async fn check_arrivals(p: &Paired, images: &[Blob], first_phone: u64, zaaps: &[String]) {
    let want: HashSet<String> = zaaps.iter().cloned().collect();
    p.sink.wait_for_zaaps(&want, "a DeliveryCallback for every upload").await;
    for (i, image) in images.iter().enumerate() {
        let m = wait_arrived(&p.http, &p.ce, &p.inst, &phone(first_phone + i as u64), 1).await;
        assert_media(&m[0], image, "image/png", &format!("upload {i}"));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_16_mb_base64_images_all_answer_and_arrive() {
    let p = paired(&config("")).await;
    let images = sixteen_mb_images(50);
    assert!(images[0].len() > 15 * MB && images[0].len() < 16 * MB);
    let (zaaps, busy) = concurrent_uploads(&p, &images, 100).await;
    check_arrivals(&p, &images, 100, &zaaps).await;
    eprintln!(
        "media_out: 50 concurrent 16 MB base64 images: {busy} answered 503 first; chatedge peak RSS {} MiB",
        p.ce.peak_rss_kib() / 1024
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_over_the_in_flight_budget_get_503_with_retry_after_and_succeed_when_retried() {
    // Room for one 16 MB image's body at a time (the smallest budget the config allows when no
    // media may be larger than 16 MB).
    let budget = 16 * MB / 3 * 4 + 8 + 64 * 1024;
    let p = paired(&config(&format!(
        "max_video_bytes = {}\nmax_document_bytes = {}\nmax_upload_bytes_in_flight = {budget}",
        16 * MB,
        16 * MB
    )))
    .await;
    let images = sixteen_mb_images(8);
    let url = p.ce.instance_url(&p.inst, "send-image");

    // An upload whose body is still arriving holds its room in the budget…
    let first = upload("image", "image/png", &phone(200), &images[0]);
    let half = first.len() / 2;
    let mut held = RawPost::start(&url, first).await;
    held.write(half).await;
    // …so another is refused with 503 and Retry-After, and nothing of it is queued.
    let a = files::send_base64(&url, "image", "image/png", &phone(201), &images[1]).await;
    assert_eq!(a.status, 503, "{}", a.body);
    assert_eq!(a.body["error"], "Too many uploads");
    assert!(a.retry_after.as_deref().is_some_and(|s| s.parse::<u64>().is_ok()), "{a:?}");
    assert_eq!(queue_count(&p).await, 0, "nothing is queued for a refused upload");

    // Once the first finishes, the retry succeeds.
    let first = held.answer().await;
    assert_eq!(first.status, 200, "{}", first.body);
    let zaap = send_base64_ok(&p, "send-image", "image", "image/png", &phone(201), &images[1]).await;
    let mut zaaps = vec![first.body["zaapId"].as_str().unwrap().to_owned(), zaap];

    // Many at once: every one answers 200 or 503, and with retries all arrive.
    let (more, busy) = concurrent_uploads(&p, &images[2..], 202).await;
    eprintln!("media_out: 6 concurrent 16 MB uploads with room for one: {busy} answers were 503");
    zaaps.extend(more);
    check_arrivals(&p, &images, 200, &zaaps).await;
}

/// A file the sim's phone got, read from the data plane's media store by its SHA-256.
fn arrived_file(p: &Paired, message: &Value) -> Vec<u8> {
    let sha = message["media"]["sha256"].as_str().expect("the message has a file");
    std::fs::read(p.dir.path().join("dataplane").join("media").join("files").join(&sha[..2]).join(sha))
        .expect("the file that arrived is in the media store")
}

/// The sticker-pack JSON in a WebP's EXIF, where WhatsApp reads a sticker's author, and the
/// picture's size.
fn sticker_pack(webp: &[u8]) -> (Value, (u32, u32)) {
    let mut decoder = image_webp::WebPDecoder::new(Cursor::new(webp)).expect("a WebP");
    let exif = decoder.exif_metadata().expect("readable metadata").expect("an EXIF chunk");
    let at = exif.iter().position(|&b| b == b'{').expect("the pack JSON in the EXIF");
    (serde_json::from_slice(&exif[at..]).expect("JSON"), decoder.dimensions())
}

/// `chatedge_dp_sticker_rewrites_total` with this outcome.
async fn sticker_rewrites(p: &Paired, outcome: &str) -> f64 {
    let label = format!("outcome=\"{outcome}\"");
    common::metrics::sum(&p.http, &p.ce.dp, "chatedge_dp_sticker_rewrites_total", &label).await
}

/// A 1×1 lossless WebP (the one browsers' WebP feature checks use).
const TINY_WEBP: &str = "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==";

fn sticker_size(webp: &[u8]) -> (u32, u32) {
    image_webp::WebPDecoder::new(Cursor::new(webp)).expect("a WebP").dimensions()
}

async fn send_sticker(p: &Paired, body: Value) -> (u16, Value) {
    p.http.post(&p.ce.instance_url(&p.inst, "send-sticker"), None, &body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sticker_arrives_as_the_webp_whatsapp_takes_with_its_author_written_in_by_url_and_by_base64() {
    let p = paired(&config("")).await;
    let server = FileServer::start().await;
    let png = Blob::png(64, 48, 11);
    let data_uri = |mime: &str, bytes: &[u8]| {
        format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(bytes))
    };
    let by_base64 = data_uri("image/png", &png.to_vec());

    // Seed 001's example: a PNG and an author. The phone gets a WebP that names the author, as
    // large as WhatsApp's stickers are.
    let sends =
        [(phone(80), server.serve("/sticker.png", &png), "by URL"), (phone(81), by_base64.clone(), "by base64")];
    for (to, sticker, how) in &sends {
        let (status, v) = send_sticker(&p, json!({"phone": to, "sticker": sticker, "stickerAuthor": "Z-API"})).await;
        assert_eq!(status, 200, "{how}: {v}");
    }
    for (to, _, how) in &sends {
        let m = wait_arrived(&p.http, &p.ce, &p.inst, to, 1).await;
        assert_eq!(m[0]["media"]["mime"], "image/webp", "{how}: {}", m[0]);
        assert_eq!(m[0]["media"]["stickerAuthor"], "Z-API", "{how}: the phone reads the author from the file");
        let (pack, size) = sticker_pack(&arrived_file(&p, &m[0]));
        assert_eq!((pack["sticker-pack-publisher"].as_str(), size), (Some("Z-API"), (512, 512)), "{how}: {pack}");
    }
    // Without an author (a blank one is none) a PNG still becomes a WebP sticker, and so does
    // a still WebP of another size than WhatsApp's (the Cloud API refuses those), by base64
    // and by URL; a 512×512 WebP arrives as it was sent.
    let tiny = base64::engine::general_purpose::STANDARD.decode(TINY_WEBP).unwrap();
    let tiny_by_url = server.serve("/tiny.webp", &Blob::with_head(&tiny, tiny.len() as u64, 0));
    let square = Blob::webp(512, 512, 5);
    let sends = [
        (phone(82), by_base64.clone(), "a PNG"),
        (phone(86), data_uri("image/webp", &tiny), "a 1×1 WebP by base64"),
        (phone(87), tiny_by_url, "a 1×1 WebP by URL"),
        (phone(85), data_uri("image/webp", &square.to_vec()), "a 512×512 WebP"),
    ];
    for (to, sticker, how) in &sends {
        let (status, v) = send_sticker(&p, json!({"phone": to, "sticker": sticker, "stickerAuthor": "  "})).await;
        assert_eq!(status, 200, "{how}: {v}");
    }
    for (to, _, how) in &sends[..3] {
        let made = wait_arrived(&p.http, &p.ce, &p.inst, to, 1).await;
        assert_eq!(made[0]["media"]["mime"], "image/webp", "{how}: {}", made[0]);
        assert!(made[0]["media"].get("stickerAuthor").is_none(), "{how}: {}", made[0]);
        assert_eq!(sticker_size(&arrived_file(&p, &made[0])), (512, 512), "{how}");
    }
    let kept = wait_arrived(&p.http, &p.ce, &p.inst, &phone(85), 1).await;
    assert_media(&kept[0], &square, "image/webp", "a 512×512 WebP without an author");
    wait_queue_empty(&p).await;

    // What cannot carry an author is refused at once, naming the field; nothing is stored.
    let mut cut = png.to_vec();
    cut.truncate(cut.len() - 200);
    let refused = [
        ("a PDF", data_uri("application/pdf", &Blob::pdf(2_000, 12).to_vec()), json!("Ana"), "application/pdf"),
        ("a PNG cut short", data_uri("image/png", &cut), json!("Ana"), "sticker is not a readable PNG"),
        ("an author too long", by_base64.clone(), json!("x".repeat(129)), "stickerAuthor is longer than 128"),
        ("an author that is not text", by_base64.clone(), json!(7), "stickerAuthor must be a string"),
    ];
    let stored = stored_files(p.dir.path());
    for (what, sticker, author, reason) in refused {
        let (status, v) =
            send_sticker(&p, json!({"phone": phone(83), "sticker": sticker, "stickerAuthor": author})).await;
        assert_eq!(status, 400, "{what}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| m.contains(reason)), "{what}: {v}");
    }
    assert_eq!(stored_files(p.dir.path()), stored, "a refused sticker stores nothing");
    assert_eq!(queue_count(&p).await, 0, "nor queues anything");

    // By URL the file is read when the message leaves: the DeliveryCallback says why.
    let cut_png = Blob::with_head(&cut, cut.len() as u64, 0);
    let (status, v) = send_sticker(
        &p,
        json!({"phone": phone(84), "sticker": server.serve("/cut.png", &cut_png), "stickerAuthor": "Ana"}),
    )
    .await;
    assert_eq!(status, 200, "{v}");
    let d = delivery(&p.sink, v["zaapId"].as_str().unwrap()).await;
    assert!(d["error"].as_str().is_some_and(|e| e.contains("not a readable PNG")), "{d}");
    assert!(arrived(&p.http, &p.ce, &p.inst, &phone(84)).await.is_empty(), "nothing arrives");

    assert_eq!(sticker_rewrites(&p, "written").await, 5.0, "accepted: two PNGs and a WebP; sent: a PNG and a WebP");
    assert_eq!(sticker_rewrites(&p, "refused").await, 2.0, "the cut PNG at once and by URL");
}

/// `chatedge_dp_svg_drawings_total` with this outcome.
async fn svg_drawings(p: &Paired, outcome: &str) -> f64 {
    let label = format!("outcome=\"{outcome}\"");
    common::metrics::sum(&p.http, &p.ce.dp, "chatedge_dp_svg_drawings_total", &label).await
}

/// A PNG's size and the RGBA pixel at (`x`, `y`).
fn png_pixel(png: &[u8], x: u32, y: u32) -> ((u32, u32), [u8; 4]) {
    let mut decoder = png::Decoder::new(Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    let at = ((y * info.width + x) * 4) as usize;
    ((info.width, info.height), pixels[at..at + 4].try_into().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_svg_picture_arrives_drawn_as_png_by_url_and_by_base64_and_an_svg_document_as_it_was() {
    let p = paired(&config("")).await;
    let server = FileServer::start().await;
    // A 200×100 logo: a blue left half. Z-API's own examples send `https://www.z-api.io/logo.svg`.
    let logo = br##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect width="100" height="100" fill="#0000ff"/></svg>"##;
    let svg = Blob::with_head(logo, logo.len() as u64, 0);

    // An image by URL and by base64 arrives as the same PNG, drawn 1024 pixels wide on white.
    let by_url = send_url(&p, "send-image", "image", &phone(90), &server.serve("/logo.svg", &svg)).await;
    let by_base64 = send_base64_ok(&p, "send-image", "image", "image/svg+xml", &phone(91), &svg).await;
    let sticker = send_url(&p, "send-sticker", "sticker", &phone(92), &server.serve("/sticker.svg", &svg)).await;
    let document = send_base64_ok(&p, "send-document/svg", "document", "image/svg+xml", &phone(93), &svg).await;
    for zaap in [&by_url, &by_base64, &sticker, &document] {
        let d = delivery(&p.sink, zaap).await;
        assert!(d["error"].as_str().is_none_or(str::is_empty), "{d}");
    }
    let url_image = wait_arrived(&p.http, &p.ce, &p.inst, &phone(90), 1).await;
    let base64_image = wait_arrived(&p.http, &p.ce, &p.inst, &phone(91), 1).await;
    assert_eq!(url_image[0]["media"]["mime"], "image/png", "{}", url_image[0]);
    assert_eq!(base64_image[0]["media"]["mime"], "image/png", "{}", base64_image[0]);
    assert_eq!(url_image[0]["media"]["sha256"], base64_image[0]["media"]["sha256"], "the same drawing either way");
    let png = arrived_file(&p, &base64_image[0]);
    assert_eq!(png_pixel(&png, 200, 256), ((1024, 512), [0, 0, 255, 255]), "the logo, scaled");
    assert_eq!(png_pixel(&png, 800, 256).1, [255, 255, 255, 255], "on white");

    // A sticker becomes WhatsApp's 512×512 WebP; a document is the file it was.
    let made = wait_arrived(&p.http, &p.ce, &p.inst, &phone(92), 1).await;
    assert_eq!(made[0]["media"]["mime"], "image/webp", "{}", made[0]);
    assert_eq!(sticker_size(&arrived_file(&p, &made[0])), (512, 512));
    let kept = wait_arrived(&p.http, &p.ce, &p.inst, &phone(93), 1).await;
    assert_media(&kept[0], &svg, "image/svg+xml", "an SVG document");
    wait_queue_empty(&p).await;

    // An SVG that cannot be drawn is refused at once by base64, naming the field, storing
    // nothing; by URL its DeliveryCallback says why.
    let cut = Blob::with_head(&logo[..60], 60, 0);
    let stored = stored_files(p.dir.path());
    let a =
        files::send_base64(&p.ce.instance_url(&p.inst, "send-image"), "image", "image/svg+xml", &phone(94), &cut).await;
    assert_eq!(a.status, 400, "{}", a.body);
    assert!(a.body["message"].as_str().is_some_and(|m| m.contains("image is not a readable SVG")), "{}", a.body);
    assert_eq!(stored_files(p.dir.path()), stored, "a refused picture stores nothing");
    assert_eq!(queue_count(&p).await, 0, "nor queues anything");
    let zaap = send_url(&p, "send-image", "image", &phone(95), &server.serve("/cut.svg", &cut)).await;
    let d = delivery(&p.sink, &zaap).await;
    assert!(d["error"].as_str().is_some_and(|e| e.contains("not a readable SVG")), "{d}");
    assert!(arrived(&p.http, &p.ce, &p.inst, &phone(95)).await.is_empty(), "nothing arrives");

    assert_eq!(svg_drawings(&p, "drawn").await, 2.0, "the image by URL and by base64");
    assert_eq!(svg_drawings(&p, "refused").await, 2.0, "the cut SVG at once and by URL");
}
