//! Sending on the Cloud API network, end to end: the real binary, a Cloud API instance created
//! on demand against a fake Graph API on 127.0.0.1 (`common/fake_graph.rs`, written from Meta's
//! reference), webhooks on a real sink. What the fake receives is checked body by body.

use crate::common;
use crate::fake_graph;

use std::collections::HashSet;
use std::time::Duration;

use base64::Engine as _;
use common::{eventually, temp_dir, Chatedge, Http, Instance, Sink, FAST, PATIENCE};
use fake_graph::{FakeGraph, GraphFailure, Scope};
use serde_json::{json, Value};

/// A 1×1 PNG, as a data URI (the media store sniffs it as image/png).
const PNG: &str = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";
const TO: &str = "5511988887777";

struct Cloud {
    ce: Chatedge,
    http: Http,
    sink: Sink,
    graph: FakeGraph,
    inst: Instance,
    dir: tempfile::TempDir,
}

/// FAST on the fake Graph API; media by URL may come from the loopback file server (only a
/// sticker, or a picture whose URL names a GIF, WebP or SVG, is fetched by chatedge; other links
/// the Cloud API fetches itself).
fn config(graph: &FakeGraph) -> String {
    format!("{FAST}{}\n[media]\nfetch_allow_private = true\n", graph.config())
}

async fn create(http: &Http, ce: &Chatedge, sink: &Sink, graph: &FakeGraph) -> Instance {
    let body = json!({"name": "cloud instance", "network": "cloud-api", "cloudApi": graph.credentials()});
    common::create_instance_with(http, ce, Some(sink), body).await
}

/// A running chatedge with one Cloud API instance, connected (its credentials verified).
async fn cloud() -> Cloud {
    let dir = temp_dir();
    let graph = FakeGraph::start().await;
    let ce = Chatedge::up(dir.path(), &config(&graph));
    let http = Http::new();
    let sink = Sink::start().await;
    let inst = create(&http, &ce, &sink, &graph).await;
    wait_connected(&http, &ce, &inst).await;
    Cloud { ce, http, sink, graph, inst, dir }
}

async fn wait_connected(http: &Http, ce: &Chatedge, inst: &Instance) {
    eventually(Duration::from_secs(30), || async {
        let (_, v) = http.get(&ce.instance_url(inst, "status"), None).await;
        (v["connected"] == json!(true)).then_some(())
    })
    .await
    .expect("the Cloud API instance connects once its credentials verify");
}

impl Cloud {
    async fn send(&self, route: &str, body: Value) -> Value {
        let (status, v) = self.http.post(&self.ce.instance_url(&self.inst, route), None, &body).await;
        assert_eq!(status, 200, "{route}: {v}");
        v
    }

    async fn refused(&self, route: &str, body: Value) -> Value {
        let (status, v) = self.http.post(&self.ce.instance_url(&self.inst, route), None, &body).await;
        assert_eq!(status, 400, "{route} must be refused on the Cloud API network: {v}");
        v
    }

    /// The body the fake received for our message `message_id`.
    async fn body_of(&self, message_id: &str) -> Value {
        eventually(PATIENCE, || async {
            self.graph.sends().into_iter().find(|b| b["biz_opaque_callback_data"] == message_id)
        })
        .await
        .unwrap_or_else(|| panic!("the Graph API never received message {message_id}"))
    }
}

fn id(answer: &Value) -> String {
    answer["messageId"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_supported_type_reaches_the_graph_api_as_its_cloud_api_body() {
    let c = cloud().await;
    c.graph.set_templates(vec![template("order_update", "APPROVED")]);
    let status = c.http.get(&c.ce.instance_url(&c.inst, "status"), None).await.1;
    assert_eq!(status["connected"], json!(true));
    let number =
        c.graph.requests().into_iter().find(|r| r.method == "GET" && r.path == format!("/{}", c.graph.phone_number_id));
    assert!(number.is_some_and(|r| r.query.contains("display_phone_number")), "resume verifies the number");

    let text = c.send("send-text", json!({"phone": TO, "message": "Olá"})).await;
    let b = c.body_of(&id(&text)).await;
    assert_eq!(b["messaging_product"], "whatsapp");
    assert_eq!(b["recipient_type"], "individual");
    assert_eq!(b["to"], TO);
    assert_eq!(b["type"], "text");
    assert_eq!(b["text"], json!({"preview_url": false, "body": "Olá"}));

    let link = c.send("send-text", json!({"phone": TO, "message": "see https://example.com/x"})).await;
    assert_eq!(c.body_of(&id(&link)).await["text"]["preview_url"], true);

    // A reply names the wamid the network gave the message replied to.
    let text_wamid = wamid_of(&c, &id(&text)).await;
    let reply = c.send("send-text", json!({"phone": TO, "message": "re", "messageId": id(&text)})).await;
    assert_eq!(c.body_of(&id(&reply)).await["context"]["message_id"], text_wamid);

    let image = c.send("send-image", json!({"phone": TO, "image": PNG, "caption": "a pixel"})).await;
    let b = c.body_of(&id(&image)).await;
    assert_eq!(b["type"], "image");
    assert_eq!(b["image"]["caption"], "a pixel");
    let media_id = b["image"]["id"].as_str().expect("a stored image is sent by its uploaded media id").to_owned();
    let (mime, bytes) = c.graph.uploaded(&media_id).expect("the fake holds the upload");
    assert_eq!(mime, "image/png");
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let again = c.send("send-image", json!({"phone": TO, "image": PNG})).await;
    assert_eq!(c.body_of(&id(&again)).await["image"]["id"], media_id, "the same file is uploaded once");
    assert_eq!(c.graph.uploads().len(), 1, "one upload for two sends of the same bytes");

    let by_url = c.send("send-image", json!({"phone": TO, "image": "https://files.example/cat.jpg"})).await;
    assert_eq!(c.body_of(&id(&by_url)).await["image"], json!({"link": "https://files.example/cat.jpg"}));
    let audio = c.send("send-audio", json!({"phone": TO, "audio": "https://files.example/a.ogg"})).await;
    assert_eq!(c.body_of(&id(&audio)).await["audio"], json!({"link": "https://files.example/a.ogg"}));
    let video =
        c.send("send-video", json!({"phone": TO, "video": "https://files.example/v.mp4", "caption": "v"})).await;
    assert_eq!(c.body_of(&id(&video)).await["video"], json!({"link": "https://files.example/v.mp4", "caption": "v"}));
    let doc = c
        .send(
            "send-document/pdf",
            json!({"phone": TO, "document": "https://files.example/d.pdf", "fileName": "report"}),
        )
        .await;
    let b = c.body_of(&id(&doc)).await;
    assert_eq!(b["type"], "document");
    assert_eq!(b["document"]["link"], "https://files.example/d.pdf");
    assert!(b["document"]["filename"].as_str().unwrap().starts_with("report"));
    // A sticker goes as an upload of the WebP WhatsApp takes — a PNG made one, an author written
    // in — by base64 and by URL alike (Meta would refuse a PNG link, or fetch it without the
    // author); a 512×512 WebP without an author goes as it was, and one of another size (which
    // Meta refuses) is made the 512×512 square.
    let server = common::files::FileServer::start().await;
    let square = common::files::Blob::webp(512, 512, 4);
    let webp =
        base64::engine::general_purpose::STANDARD.decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==").unwrap();
    let tiny = common::files::Blob::with_head(&webp, webp.len() as u64, 0);
    let mut stickers = Vec::new();
    for (path, blob, kept) in [("/s.webp", &square, true), ("/tiny.webp", &tiny, false)] {
        let sticker = c.send("send-sticker", json!({"phone": TO, "sticker": server.serve(path, blob)})).await;
        let b = c.body_of(&id(&sticker)).await;
        let (mime, bytes) = c.graph.uploaded(b["sticker"]["id"].as_str().expect("uploaded")).expect("held");
        assert_eq!(mime, "image/webp", "{path}");
        assert_eq!(bytes[..] == blob.to_vec()[..], kept, "{path}: kept as it was only at 512×512");
        let size = image_webp::WebPDecoder::new(std::io::Cursor::new(&bytes[..])).expect("a WebP").dimensions();
        assert_eq!(size, (512, 512), "{path}");
        stickers.push(sticker);
    }
    // A picture of few colours: made 512×512 and lossless, within Meta's 100 KB for a still
    // sticker (a photo would not be: see the next test).
    let banded = uncompressed_png(32, 32);
    let png = common::files::Blob::with_head(&banded, banded.len() as u64, 0);
    let authored = [PNG.to_owned(), server.serve("/s.png", &png)];
    let mut authored_sends = Vec::new();
    for sticker in authored {
        let sent = c.send("send-sticker", json!({"phone": TO, "sticker": sticker, "stickerAuthor": "Z-API"})).await;
        let b = c.body_of(&id(&sent)).await;
        let media_id = b["sticker"]["id"].as_str().unwrap_or_else(|| panic!("uploaded, not linked: {b}"));
        let (mime, bytes) = c.graph.uploaded(media_id).expect("the fake holds the upload");
        assert_eq!((mime.as_str(), &bytes[..4], &bytes[8..12]), ("image/webp", &b"RIFF"[..], &b"WEBP"[..]));
        let pack = br#""sticker-pack-publisher":"Z-API""#;
        assert!(bytes.windows(pack.len()).any(|w| w == pack), "the upload names the author");
        authored_sends.push(sent);
    }
    // An SVG picture by URL (Z-API's own example sends `logo.svg`) is fetched, drawn as PNG
    // and uploaded: Meta's servers would fetch the SVG and refuse it.
    let logo =
        br#"<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><rect width="20" height="10"/></svg>"#;
    let svg_url = server.serve("/logo.svg", &common::files::Blob::with_head(logo, logo.len() as u64, 0));
    let drawn = c.send("send-image", json!({"phone": TO, "image": svg_url, "caption": "logo"})).await;
    let b = c.body_of(&id(&drawn)).await;
    assert_eq!(b["image"]["caption"], "logo");
    let media_id = b["image"]["id"].as_str().unwrap_or_else(|| panic!("uploaded, not linked: {b}"));
    let (mime, bytes) = c.graph.uploaded(media_id).expect("the fake holds the upload");
    assert_eq!((mime.as_str(), &bytes[..8]), ("image/png", &b"\x89PNG\r\n\x1a\n"[..]), "drawn as PNG");
    // A GIF or WebP picture, which the Cloud API refuses as an image, is uploaded as a JPEG —
    // stored (base64) or by a URL naming it; the same file made twice is uploaded once.
    let gif = base64::engine::general_purpose::STANDARD
        .decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
        .unwrap();
    let pictures = [
        format!("data:image/webp;base64,{}", base64::engine::general_purpose::STANDARD.encode(&webp)),
        server.serve("/cat.gif", &common::files::Blob::with_head(&gif, gif.len() as u64, 0)),
        server.serve("/cat.webp", &common::files::Blob::with_head(&webp, webp.len() as u64, 0)) + "?w=1",
    ];
    let mut jpegs = Vec::new();
    for picture in &pictures {
        let sent = c.send("send-image", json!({"phone": TO, "image": picture})).await;
        let b = c.body_of(&id(&sent)).await;
        let media_id = b["image"]["id"].as_str().unwrap_or_else(|| panic!("uploaded, not linked: {b}")).to_owned();
        let (mime, bytes) = c.graph.uploaded(&media_id).expect("the fake holds the upload");
        assert_eq!((mime.as_str(), &bytes[..3]), ("image/jpeg", &b"\xFF\xD8\xFF"[..]), "{picture}: a JPEG");
        jpegs.push(media_id);
    }
    assert_eq!(jpegs[0], jpegs[2], "the same WebP, stored or fetched, is one JPEG uploaded once");

    let location = c
        .send(
            "send-location",
            json!({"phone": TO, "title": "Google Brasil", "address": "Av. Faria Lima, 3477",
            "latitude": "-23.0696347", "longitude": "-50.4357913"}),
        )
        .await;
    let b = c.body_of(&id(&location)).await;
    assert_eq!(b["type"], "location");
    assert_eq!(b["location"]["name"], "Google Brasil");
    assert_eq!(b["location"]["latitude"], json!(-23.0696347));

    let contact =
        c.send("send-contact", json!({"phone": TO, "contactName": "Ana Souza", "contactPhone": "5511999999999"})).await;
    let b = c.body_of(&id(&contact)).await;
    assert_eq!(b["contacts"][0]["name"], json!({"formatted_name": "Ana Souza", "first_name": "Ana"}));
    assert_eq!(b["contacts"][0]["phones"][0]["wa_id"], "5511999999999");

    let reaction = c.send("send-reaction", json!({"phone": TO, "reaction": "❤️", "messageId": id(&text)})).await;
    assert_eq!(c.body_of(&id(&reaction)).await["reaction"], json!({"message_id": text_wamid, "emoji": "❤️"}));

    let buttons = c
        .send(
            "send-button-list",
            json!({"phone": TO, "message": "Bom?", "buttonList": {"buttons": [
            {"id": "1", "label": "Ótimo"}, {"id": "2", "label": "Excelente"}]}}),
        )
        .await;
    let b = c.body_of(&id(&buttons)).await;
    assert_eq!(b["interactive"]["type"], "button");
    assert_eq!(b["interactive"]["body"]["text"], "Bom?");
    assert_eq!(
        b["interactive"]["action"]["buttons"][1],
        json!({"type": "reply", "reply": {"id": "2", "title": "Excelente"}})
    );

    let list = c
        .send(
            "send-option-list",
            json!({"phone": TO, "message": "Escolha:", "optionList": {"title": "Opções",
            "buttonLabel": "Abrir", "options": [{"id": "1", "title": "Z-API", "description": "Asas"}]}}),
        )
        .await;
    let b = c.body_of(&id(&list)).await;
    assert_eq!(b["interactive"]["type"], "list");
    assert_eq!(b["interactive"]["action"]["button"], "Abrir");
    assert_eq!(
        b["interactive"]["action"]["sections"][0]["rows"][0],
        json!({"id": "1", "title": "Z-API", "description": "Asas"})
    );

    let template = c
        .send(
            "send-template",
            json!({"phone": TO, "template": "order_update", "language": "pt_BR",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "#1234"}]}]}),
        )
        .await;
    let b = c.body_of(&id(&template)).await;
    assert_eq!(b["type"], "template");
    assert_eq!(b["template"]["name"], "order_update");
    assert_eq!(b["template"]["language"], json!({"code": "pt_BR"}));
    assert_eq!(b["template"]["components"][0]["parameters"][0]["text"], "#1234");

    // Every one of them is delivered to the integrator without an error.
    let all = [
        &text,
        &link,
        &reply,
        &image,
        &again,
        &by_url,
        &audio,
        &video,
        &doc,
        &stickers[0],
        &stickers[1],
        &location,
        &contact,
        &reaction,
        &buttons,
        &list,
        &template,
        &authored_sends[0],
        &authored_sends[1],
    ];
    let zaaps: HashSet<String> = all.iter().map(|a| a["zaapId"].as_str().unwrap().to_owned()).collect();
    let delivered = c.sink.wait_for_zaaps(&zaaps, "a DeliveryCallback per send").await;
    for d in delivered.iter().filter(|d| d.body["type"] == "DeliveryCallback") {
        assert!(d.body.get("error").is_none(), "{}", d.body);
        assert!(d.signed_by(&c.inst.secret));
    }
}

/// The width and height in a JPEG's frame header (SOF0–SOF3, baseline or progressive).
fn jpeg_size(jpeg: &[u8]) -> Option<(u32, u32)> {
    let at = jpeg.windows(2).position(|w| w[0] == 0xFF && (0xC0..=0xC3).contains(&w[1]))?;
    let b = jpeg.get(at + 5..at + 9)?;
    Some((u32::from(u16::from_be_bytes([b[2], b[3]])), u32::from(u16::from_be_bytes([b[0], b[1]]))))
}

/// A PNG of a smooth `width`×`height` gradient, stored without compression (so it is as large
/// as a camera's PNG of that size, and its JPEG small).
fn uncompressed_png(width: u32, height: u32) -> Vec<u8> {
    let pixels: Vec<u8> =
        (0..height).flat_map(|y| (0..width).flat_map(move |x| [(x / 19) as u8, (y / 2) as u8, 128])).collect();
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::NoCompression);
    encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
    png
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_picture_over_metas_five_megabytes_is_uploaded_as_a_jpeg_that_fits() {
    let c = cloud().await;
    // 5.76 MB of PNG, 4800 pixels wide: Meta refuses an image over 5 MB (the fake does too).
    let png = uncompressed_png(4800, 400);
    assert!(png.len() > 5_000_000, "{} bytes", png.len());
    let small = uncompressed_png(300, 200);
    let as_data =
        |png: &[u8]| format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png));
    let large = c.send("send-image", json!({"phone": TO, "image": as_data(&png), "caption": "wide"})).await;
    let kept = c.send("send-image", json!({"phone": TO, "image": as_data(&small)})).await;
    let again = c.send("send-image", json!({"phone": "5511988886666", "image": as_data(&png)})).await;

    let b = c.body_of(&id(&large)).await;
    assert_eq!(b["image"]["caption"], "wide");
    let media_id = b["image"]["id"].as_str().unwrap_or_else(|| panic!("uploaded: {b}"));
    let (mime, bytes) = c.graph.uploaded(media_id).expect("the fake holds the upload");
    assert_eq!(mime, "image/jpeg", "made a JPEG");
    assert!(bytes.len() <= 5_000_000, "within Meta's 5 MB: {} bytes", bytes.len());
    let (width, height) = jpeg_size(&bytes).expect("a JPEG frame header");
    assert!(width == 4096 && (340..=342).contains(&height), "shrunk to 4096 pixels wide: {width}×{height}");
    // The same picture again (a campaign's, say) is neither converted nor uploaded again.
    let b = c.body_of(&id(&again)).await;
    assert_eq!(b["image"]["id"].as_str(), Some(media_id), "the first upload's media id");
    // A PNG within the limit goes as it was.
    let b = c.body_of(&id(&kept)).await;
    let (mime, bytes) = c.graph.uploaded(b["image"]["id"].as_str().expect("uploaded")).expect("held");
    assert_eq!((mime.as_str(), &bytes[..]), ("image/png", &small[..]), "a PNG under 5 MB, as it was");

    assert_eq!(c.graph.uploads().len(), 2, "the JPEG and the small PNG, once each");
    let zaaps = common::zaap_ids(&[large, kept, again]);
    let delivered = c.sink.wait_for_zaaps(&zaaps, "the pictures' DeliveryCallbacks").await;
    for d in delivered.iter().filter(|d| d.body["type"] == "DeliveryCallback") {
        assert!(d.body.get("error").is_none(), "{}", d.body);
    }
    let made = r#"outcome="made",why="size""#; // the exposition sorts labels by name
    assert_eq!(common::metrics::sum(&c.http, &c.ce.dp, "chatedge_dp_picture_conversions_total", made).await, 1.0);
}

/// A 512×512 lossless WebP (a sticker as chatedge keeps it) whose first `noisy_rows` rows are
/// random, about 2 KB of file each, and the rest one colour: a sticker of a chosen size.
fn sticker_of_rows(noisy_rows: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let pixels: Vec<u8> = (0..512 * 512 * 4)
        .map(|i| match i / (512 * 4) < noisy_rows {
            true => {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            }
            false => 200,
        })
        .collect();
    let mut out = Vec::new();
    image_webp::WebPEncoder::new(&mut out).encode(&pixels, 512, 512, image_webp::ColorType::Rgba8).unwrap();
    out
}

/// `still`, a simple lossless 512×512 WebP (`RIFF`, `WEBP`, one `VP8L` chunk), as an animation
/// of two frames of it: the extended header with its animation and alpha flags, `ANIM`, and an
/// `ANMF` per frame holding the `VP8L` chunk.
fn animated(still: &[u8]) -> Vec<u8> {
    assert_eq!(&still[12..16], b"VP8L", "a simple lossless WebP");
    let le24 = |v: u32| v.to_le_bytes()[..3].to_vec();
    let chunk = |out: &mut Vec<u8>, id: &[u8], payload: &[u8]| {
        out.extend_from_slice(id);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        if payload.len() % 2 == 1 {
            out.push(0);
        }
    };
    let mut body = b"WEBP".to_vec();
    chunk(&mut body, b"VP8X", &[&[0x12, 0, 0, 0][..], &le24(511), &le24(511)].concat());
    chunk(&mut body, b"ANIM", &[0, 0, 0, 0, 0, 0]);
    let frame = [&le24(0)[..], &le24(0), &le24(511), &le24(511), &le24(100), &[0], &still[12..]].concat();
    for _ in 0..2 {
        chunk(&mut body, b"ANMF", &frame);
    }
    [&b"RIFF"[..], &(body.len() as u32).to_le_bytes(), &body].concat()
}

/// A 512×512 photo cut out as a sticker: an opaque disc of smooth colour with grain on a
/// transparent ground, as a PNG (chatedge makes it a lossless WebP of ~200–300 KB).
fn photo_cut_out_png() -> Vec<u8> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut grain = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 59) as u8
    };
    let mut pixels = Vec::with_capacity(512 * 512 * 4);
    for y in 0..512i64 {
        for x in 0..512i64 {
            let inside = (x - 256).pow(2) + (y - 256).pow(2) < 240 * 240;
            let (r, g, b) = ((x / 3) as u8, (y / 3) as u8, ((x + y) / 5) as u8);
            pixels.extend_from_slice(&[r + grain(), g + grain(), b + grain(), if inside { 255 } else { 0 }]);
        }
    }
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, 512, 512);
    encoder.set_color(png::ColorType::Rgba);
    encoder.write_header().unwrap().write_image_data(&pixels).unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_still_sticker_over_metas_size_is_sent_lossy_within_it_or_fails_naming_it_and_an_animated_one_may_be_five_times_larger(
) {
    let c = cloud().await;
    let as_data = |mime: &str, file: &[u8]| {
        format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(file))
    };
    let still = sticker_of_rows(60, 1);
    let moving = animated(&still);
    assert!(
        (100_000..500_000).contains(&moving.len())
            && image_webp::WebPDecoder::new(std::io::Cursor::new(&moving)).unwrap().is_animated(),
        "an animation over the still limit, under the animated one: {} bytes",
        moving.len()
    );
    let huge = animated(&sticker_of_rows(150, 2));
    // Random pixels over two thirds of it: 155 KB at the lowest quality.
    let noise = sticker_of_rows(350, 3);
    assert!((500_000..1_000_000).contains(&noise.len()), "a still sticker within the route's 1 MB: {}", noise.len());
    assert!(
        (500_000..1_000_000).contains(&huge.len()),
        "an animation over 500 KB, within the route's 1 MB: {}",
        huge.len()
    );

    // A photo made a sticker with its author: stored lossless (over 100 KB), uploaded lossy.
    let photo = as_data("image/png", &photo_cut_out_png());
    let authored = json!({"phone": TO, "sticker": photo, "stickerAuthor": "Acme Stickers"});
    let first = c.send("send-sticker", authored.clone()).await;
    let again = c
        .send("send-sticker", json!({"phone": "5511988886666", "sticker": photo, "stickerAuthor": "Acme Stickers"}))
        .await;
    let sent = c.send("send-sticker", json!({"phone": TO, "sticker": as_data("image/webp", &moving)})).await;
    let failed = c.send("send-sticker", json!({"phone": TO, "sticker": as_data("image/webp", &huge)})).await;
    let unfit = c.send("send-sticker", json!({"phone": TO, "sticker": as_data("image/webp", &noise)})).await;
    let unfit_again = c.send("send-sticker", json!({"phone": TO, "sticker": as_data("image/webp", &noise)})).await;
    let all = [&first, &again, &sent, &failed, &unfit, &unfit_again].map(|a| (*a).clone());
    let events = c.sink.wait_for_zaaps(&common::zaap_ids(&all), "the stickers' DeliveryCallbacks").await;
    let callback = |answer: &Value| {
        let zaap = answer["zaapId"].as_str().unwrap_or_default();
        events.iter().find(|e| e.body["type"] == "DeliveryCallback" && e.body["zaapId"] == zaap).map(|e| e.body.clone())
    };
    for answer in [&first, &again, &sent] {
        assert!(callback(answer).expect("a DeliveryCallback").get("error").is_none(), "{answer}");
    }

    let b = c.body_of(&id(&first)).await;
    let media_id = b["sticker"]["id"].as_str().unwrap_or_else(|| panic!("uploaded: {b}"));
    let (mime, bytes) = c.graph.uploaded(media_id).expect("the fake holds the upload");
    assert_eq!(mime, "image/webp");
    assert!(bytes.len() <= 100_000, "within Meta's 100 KB for a still sticker: {} bytes", bytes.len());
    let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(&bytes)).expect("a WebP");
    assert_eq!((decoder.dimensions(), decoder.is_animated()), ((512, 512), false));
    let exif = decoder.exif_metadata().expect("readable").expect("its EXIF kept");
    assert!(exif.windows(13).any(|w| w == b"Acme Stickers"), "the pack's author travels with it");
    assert_eq!((&bytes[12..16], bytes[20]), (&b"VP8X"[..], 0x18), "the header announces transparency and EXIF");
    assert!(bytes.windows(4).any(|w| w == b"VP8 "), "a lossy bitstream, not the stored lossless one");
    let b = c.body_of(&id(&again)).await;
    assert_eq!(b["sticker"]["id"].as_str(), Some(media_id), "the same sticker again: converted and uploaded once");

    let b = c.body_of(&id(&sent)).await;
    let (mime, bytes) = c.graph.uploaded(b["sticker"]["id"].as_str().expect("uploaded")).expect("held");
    assert_eq!((mime.as_str(), &bytes[..]), ("image/webp", &moving[..]), "an animation under 500 KB, as it was");

    let error = callback(&failed).expect("the large animation's DeliveryCallback");
    let error = error["error"].as_str().unwrap_or_default();
    let reason = format!("the animated sticker is {} bytes", huge.len());
    assert!(error.contains(&reason) && error.contains("500000"), "{error}");
    assert!(
        c.graph.sends().iter().all(|s| s["biz_opaque_callback_data"] != id(&failed)),
        "the large animation never posted"
    );
    // A still sticker too detailed to fit at any quality fails naming it; sent again, it is not
    // converted again (the refusal is remembered like an upload).
    for answer in [&unfit, &unfit_again] {
        let error = callback(answer).expect("a DeliveryCallback");
        let error = error["error"].as_str().unwrap_or_default();
        assert!(error.contains("over 100000 bytes even as a lossy WebP at quality 30"), "{error}");
        assert!(c.graph.sends().iter().all(|s| s["biz_opaque_callback_data"] != id(answer)), "never posted");
    }
    assert_eq!(c.graph.uploads().len(), 2, "the lossy sticker once, and the small animation");
    let compressions = |outcome: &'static str| {
        common::metrics::sum(&c.http, &c.ce.dp, "chatedge_dp_sticker_compressions_total", outcome)
    };
    assert_eq!(compressions(r#"outcome="made""#).await, 1.0, "the photo, once for both recipients");
    assert_eq!(compressions(r#"outcome="refused""#).await, 1.0, "the detailed one, once for both sends");
}

/// The wamid the fake gave our message in its answer to the send.
async fn wamid_of(c: &Cloud, message_id: &str) -> String {
    eventually(PATIENCE, || async { c.graph.wamid_of(message_id) }).await.expect("the send was answered")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_the_cloud_api_cannot_express_is_refused_naming_the_network() {
    let c = cloud().await;
    let poll = json!({"phone": TO, "message": "Qual?", "poll": [{"name": "A"}, {"name": "B"}]});
    let v = c.refused("send-poll", poll).await;
    assert!(v["message"].as_str().unwrap().contains("not supported on the Cloud API network"), "{v}");
    let v = c.refused("send-text", json!({"phone": "120363019502650977-group", "message": "hi"})).await;
    assert!(v["message"].as_str().unwrap().contains("groups"), "{v}");
    let call = json!({"phone": TO, "message": "m", "buttonActions": [
        {"id": "1", "type": "CALL", "phone": "+554498398733", "label": "Ligue"}]});
    let v = c.refused("send-button-actions", call).await;
    assert!(v["message"].as_str().unwrap().contains("CALL buttons"), "{v}");
    // A stored video or audio of a type Meta does not take (Z-API's media table accepts MOV and
    // WAV): refused at once, naming the type, rather than failing at Meta after it was queued.
    let mov = common::files::Blob::with_head(&[&[0, 0, 0, 0x14][..], b"ftypqt  \0\0\0\0qt  "].concat(), 4_000, 1);
    let wav = common::files::Blob::with_head(&[&b"RIFF"[..], &[0x24, 0x10, 0, 0], b"WAVEfmt "].concat(), 4_000, 2);
    for (route, field, blob, mime) in
        [("send-video", "video", mov, "video/quicktime"), ("send-audio", "audio", wav, "audio/wav")]
    {
        let data = format!("data:{mime};base64,{}", base64::engine::general_purpose::STANDARD.encode(blob.to_vec()));
        let v = c.refused(route, json!({"phone": TO, field: data})).await;
        let message = v["message"].as_str().unwrap_or_default();
        assert!(message.contains("not supported on the Cloud API network") && message.contains(mime), "{route}: {v}");
    }
    // An account call the Cloud API has no request for.
    let (status, v) = c.http.get(&c.ce.instance_url(&c.inst, "groups?page=1&pageSize=10"), None).await;
    assert!(status == 400 && v.to_string().contains("Cloud API network"), "{status} {v}");
    assert!(c.graph.sends().is_empty(), "nothing refused reached the network");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_by_the_network_is_the_delivery_callback_error_with_its_code_and_title() {
    let c = cloud().await;
    c.graph.fail_next(Scope::Sends, 1, GraphFailure::outside_window());
    let a = c.send("send-text", json!({"phone": TO, "message": "late"})).await;
    let zaap = a["zaapId"].as_str().unwrap().to_owned();
    let events = c.sink.wait_for_zaaps(&HashSet::from([zaap.clone()]), "the refused message's DeliveryCallback").await;
    let d = events.iter().find(|e| e.body["zaapId"] == zaap.as_str()).unwrap();
    let error = d.body["error"].as_str().expect("a DeliveryCallback error");
    assert!(error.contains("131047"), "{error}");
    assert!(error.contains("more than 24 hours have passed"), "{error}");
    assert_eq!(c.graph.sends().len(), 1, "a refusal is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limit_answer_delays_the_message_instead_of_failing_it() {
    let c = cloud().await;
    c.graph.fail_next(Scope::Sends, 2, GraphFailure::rate_limited());
    let a = c.send("send-text", json!({"phone": TO, "message": "busy"})).await;
    let zaap = a["zaapId"].as_str().unwrap().to_owned();
    let events =
        c.sink.wait_for_zaaps(&HashSet::from([zaap.clone()]), "the throttled message's DeliveryCallback").await;
    let d = events.iter().find(|e| e.body["zaapId"] == zaap.as_str()).unwrap();
    assert!(d.body.get("error").is_none(), "a rate limit does not fail the message: {}", d.body);
    let tries: Vec<Value> = c.graph.sends().into_iter().filter(|b| b["biz_opaque_callback_data"] == id(&a)).collect();
    assert_eq!(tries.len(), 3, "posted again after each rate-limit answer");
    let limited = common::metrics::sum(&c.http, &c.ce.dp, "chatedge_dp_cloud_api_rate_limited_total", "").await;
    assert_eq!(limited, 2.0, "each rate-limit answer is counted");
}

/// A template of the account as Meta lists it.
fn template(name: &str, status: &str) -> Value {
    json!({"id": format!("id_{name}"), "name": name, "language": "pt_BR", "status": status,
    "category": "UTILITY", "components": [{"type": "BODY", "text": "Olá {{1}}"}]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_approved_templates_are_listed_page_by_page_and_the_sim_has_none() {
    let c = cloud().await;
    let t = |name: &str| template(name, "APPROVED");
    c.graph.set_templates(vec![
        t("a_one"),
        template("a_pending", "PENDING"),
        t("b_two"),
        template("b_rejected", "REJECTED"),
        t("c_three"),
        template("c_paused", "PAUSED"),
    ]);
    let url = c.ce.instance_url(&c.inst, "templates?pageSize=2");
    let (status, first) = c.http.get(&url, None).await;
    assert_eq!(status, 200, "{first}");
    let names: Vec<&str> = first["templates"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["a_one", "b_two"]);
    let after = first["after"].as_str().expect("a cursor to the next page");
    let (_, second) =
        c.http.get(&c.ce.instance_url(&c.inst, &format!("templates?pageSize=2&after={after}")), None).await;
    assert_eq!(second["templates"][0]["name"], "c_three");
    assert_eq!(second["templates"][0]["components"][0]["text"], "Olá {{1}}");
    assert!(second.get("after").is_none(), "the last page has no cursor: {second}");
    let listing = c.graph.requests().into_iter().find(|r| r.path.ends_with("/message_templates")).unwrap();
    assert!(
        listing.query.contains("fields=name,language,status,category,components")
            && listing.query.contains("status=APPROVED")
            && listing.query.contains("limit=2"),
        "{}",
        listing.query
    );

    // On the sim: no templates, and send-template is refused naming the network.
    let sim = create_sim(&c).await;
    let (status, v) = c.http.get(&c.ce.instance_url(&sim, "templates"), None).await;
    assert!(status == 200 || status == 409, "{status} {v}");
    let body = json!({"phone": TO, "template": "order_update", "language": "pt_BR"});
    let (status, v) = c.http.post(&c.ce.instance_url(&sim, "send-template"), None, &body).await;
    assert_eq!(status, 400, "{v}");
    assert!(v["message"].as_str().unwrap().contains("sim network"), "{v}");
}

async fn create_sim(c: &Cloud) -> Instance {
    let body = json!({"name": "sim instance"});
    let (status, v) =
        c.http.post(&format!("{}/instances/integrator/on-demand", c.ce.cp), Some(&c.ce.integrator_token), &body).await;
    assert_eq!(status, 200, "{v}");
    let inst = Instance {
        id: v["id"].as_str().unwrap().to_owned(),
        token: v["token"].as_str().unwrap().to_owned(),
        secret: v["webhookSecret"].as_str().unwrap().to_owned(),
    };
    common::wait_known(&c.http, &c.ce, &inst).await;
    inst
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_before_the_network_answered_resends_once_and_the_integrator_hears_once() {
    let Cloud { ce, http, sink, graph, inst, dir } = cloud().await;
    graph.hold_sends(true);
    let (status, a) =
        http.post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": TO, "message": "once"})).await;
    assert_eq!(status, 200, "{a}");
    let message_id = a["messageId"].as_str().unwrap().to_owned();
    eventually(PATIENCE, || async { (!graph.sends().is_empty()).then_some(()) })
        .await
        .expect("the send reached the network");
    ce.kill_9();
    graph.hold_sends(false);
    let ce = Chatedge::up(dir.path(), &config(&graph));
    let zaap = a["zaapId"].as_str().unwrap().to_owned();
    sink.wait_for_zaaps(&HashSet::from([zaap.clone()]), "the resent message's DeliveryCallback").await;
    // Give a duplicate the time to show up, then count.
    let delivered_after = |n: usize| {
        let sink = sink.clone();
        let zaap = zaap.clone();
        async move {
            let d = sink.of_type("DeliveryCallback").into_iter().filter(|e| e.body["zaapId"] == zaap.as_str()).count();
            (d >= n).then_some(d)
        }
    };
    assert_eq!(eventually(Duration::from_secs(2), || delivered_after(2)).await, None, "one DeliveryCallback");
    let posts = graph.sends().into_iter().filter(|b| b["biz_opaque_callback_data"] == message_id.as_str()).count();
    assert_eq!(posts, 2, "posted before the crash (never answered) and once after");
    drop(ce);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_template_that_is_not_approved_is_refused_naming_its_status_and_never_posted() {
    let c = cloud().await;
    c.graph.set_templates(vec![template("order_update", "APPROVED"), template("promo_pending", "PENDING")]);
    let send = |name: &str| {
        json!({"phone": TO, "template": name, "language": "pt_BR",
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "x"}]}]})
    };
    let pending = c.send("send-template", send("promo_pending")).await;
    let missing = c.send("send-template", send("no_such_template")).await;
    let approved = c.send("send-template", send("order_update")).await;
    let zaaps = common::zaap_ids(&[pending.clone(), missing.clone(), approved.clone()]);
    let events = c.sink.wait_for_zaaps(&zaaps, "the three templates' DeliveryCallbacks").await;
    let error_of = |a: &Value| {
        let zaap = a["zaapId"].as_str().unwrap();
        let d = events.iter().find(|e| e.body["type"] == "DeliveryCallback" && e.body["zaapId"] == zaap).unwrap();
        d.body.get("error").and_then(Value::as_str).map(str::to_owned)
    };
    let e = error_of(&pending).expect("a pending template is refused");
    assert!(e.contains("promo_pending") && e.contains("not approved") && e.contains("PENDING"), "{e}");
    let e = error_of(&missing).expect("an unknown template is refused");
    assert!(e.contains("no_such_template") && e.contains("does not exist"), "{e}");
    assert_eq!(error_of(&approved), None, "the approved one is sent");
    let posted: Vec<String> =
        c.graph.sends().iter().map(|b| b["template"]["name"].as_str().unwrap_or("").to_owned()).collect();
    assert_eq!(posted, ["order_update"], "only the approved template reached the network");
}

/// A running chatedge whose `[network.cloud_api]` has `backoffs` instead of the fake's.
async fn cloud_with(backoffs: &str) -> Cloud {
    let dir = temp_dir();
    let graph = FakeGraph::start().await;
    let fakes = "rate_limit_initial_backoff_ms = 50\nrate_limit_max_backoff_ms = 400\n";
    assert!(config(&graph).contains(fakes));
    let ce = Chatedge::up(dir.path(), &config(&graph).replace(fakes, backoffs));
    let http = Http::new();
    let sink = Sink::start().await;
    let inst = create(&http, &ce, &sink, &graph).await;
    wait_connected(&http, &ce, &inst).await;
    Cloud { ce, http, sink, graph, inst, dir }
}

/// The DeliveryCallbacks of the send answered `a`, in arrival order.
fn deliveries(c: &Cloud, a: &Value) -> Vec<Value> {
    let zaap = a["zaapId"].as_str().unwrap();
    c.sink.of_type("DeliveryCallback").into_iter().filter(|e| e.body["zaapId"] == zaap).map(|e| e.body).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_number_rate_limited_past_fifty_answers_keeps_retrying_and_is_delivered() {
    // Backoffs of a few ms, so sixty limit answers pass quickly; the window is the default hour.
    let c = cloud_with("rate_limit_initial_backoff_ms = 1\nrate_limit_max_backoff_ms = 5\n").await;
    c.graph.fail_next(Scope::Sends, 60, GraphFailure::rate_limited());
    let a = c.send("send-text", json!({"phone": TO, "message": "patience"})).await;
    c.sink
        .wait_for_zaaps(&common::zaap_ids(std::slice::from_ref(&a)), "the throttled message's DeliveryCallback")
        .await;
    let d = deliveries(&c, &a);
    assert!(d.iter().all(|d| d.get("error").is_none()), "not failed by a retry count: {d:?}");
    assert!(c.graph.wamid_of(&id(&a)).is_some(), "the 61st post was answered");
    let limited = common::metrics::sum(&c.http, &c.ce.dp, "chatedge_dp_cloud_api_rate_limited_total", "").await;
    assert_eq!(limited, 60.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_still_rate_limited_when_its_window_ends_fails_saying_so() {
    let c =
        cloud_with("rate_limit_initial_backoff_ms = 5\nrate_limit_max_backoff_ms = 20\nrate_limit_give_up_ms = 300\n")
            .await;
    // The number stays limited (130429) for the first message…
    c.graph.fail_next(Scope::Sends, 100_000, GraphFailure::rate_limited());
    let a = c.send("send-text", json!({"phone": TO, "message": "never"})).await;
    c.sink.wait_for_zaaps(&common::zaap_ids(std::slice::from_ref(&a)), "the given-up message's DeliveryCallback").await;
    let e = deliveries(&c, &a)[0]["error"].as_str().expect("a DeliveryCallback error").to_owned();
    assert!(e.contains("130429") && e.contains("still rate limited after retrying"), "{e}");
    // …and once the number is free, a pair limit that never lifts fails its parked message.
    c.graph.clear_failures();
    c.graph.limit_pair("5511977776666", 100_000);
    let b = c.send("send-text", json!({"phone": "5511977776666", "message": "parked"})).await;
    let zaap = b["zaapId"].as_str().unwrap().to_owned();
    let events = c
        .sink
        .wait_for(PATIENCE, "the parked message's failure", |e| {
            e.iter().any(|r| r.body["zaapId"] == zaap.as_str() && r.body.get("error").is_some())
        })
        .await;
    let d: Vec<&Value> = events.iter().filter(|r| r.body["zaapId"] == zaap.as_str()).map(|r| &r.body).collect();
    assert_eq!(d.len(), 1, "parked without a word to the integrator, then one DeliveryCallback: {d:?}");
    let e = d[0]["error"].as_str().unwrap();
    assert!(e.contains("131056") && e.contains("still rate limited after retrying"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_rate_limit_holds_only_that_recipient_and_keeps_its_order() {
    let c = cloud().await;
    let (slow, other) = ("5511977770001", "5511977770002");
    c.graph.limit_pair(slow, 1_000_000);
    let text = |to: &str, m: &str| json!({"phone": to, "message": m});
    let a1 = c.send("send-text", text(slow, "a1")).await;
    let b1 = c.send("send-text", text(other, "b1")).await;
    let a2 = c.send("send-text", text(slow, "a2")).await;
    let b2 = c.send("send-text", text(other, "b2")).await;

    // The other recipient's messages go out while the slow one is still limited.
    eventually(PATIENCE, || async {
        (c.graph.wamid_of(&id(&b1)).is_some() && c.graph.wamid_of(&id(&b2)).is_some()).then_some(())
    })
    .await
    .expect("b1 and b2 reach the network past the parked a1");
    assert!(
        c.graph.wamid_of(&id(&a1)).is_none() && c.graph.wamid_of(&id(&a2)).is_none(),
        "the slow pair is still limited"
    );
    let posts = |m: &Value| c.graph.sends().iter().filter(|b| b["biz_opaque_callback_data"] == id(m)).count();
    assert!(posts(&a1) >= 1);
    assert_eq!(posts(&a2), 0, "a2 waits behind a1 without being posted");
    // The integrator hears of b1 and b2, and nothing yet of the parked a1 and a2: no
    // DeliveryCallback, no SENT, while they have not reached the network.
    c.sink.wait_for_zaaps(&common::zaap_ids(&[b1.clone(), b2.clone()]), "b1's and b2's DeliveryCallbacks").await;
    let sent_of = |m: &Value| {
        c.sink
            .of_type("MessageStatusCallback")
            .into_iter()
            .filter(|e| e.body["status"] == "SENT" && e.body["ids"][0] == id(m))
            .count()
    };
    for m in [&a1, &a2] {
        assert_eq!((deliveries(&c, m).len(), sent_of(m)), (0, 0), "a parked message is not reported sent");
    }
    let deferred = common::metrics::sum(&c.http, &c.ce.dp, "chatedge_dp_messages_total", "outcome=\"deferred\"").await;
    assert_eq!(deferred, 2.0, "both left the queue to wait in the connector");

    // The limit lifts: a1 then a2, each once more.
    c.graph.limit_pair(slow, 0);
    let wamids = eventually(PATIENCE, || async { c.graph.wamid_of(&id(&a1)).zip(c.graph.wamid_of(&id(&a2))) })
        .await
        .expect("the parked messages are posted once the pair limit lifts");
    let order = |w: &str| u64::from_str_radix(&w[w.len() - 16..], 16).unwrap();
    assert!(order(&wamids.0) < order(&wamids.1), "a1 reached the network before a2: {wamids:?}");
    assert_eq!(posts(&a2), 1);
    let all = common::zaap_ids(&[a1.clone(), b1.clone(), a2.clone(), b2.clone()]);
    c.sink.wait_for_zaaps(&all, "a DeliveryCallback per message").await;
    for m in [&a1, &b1, &a2, &b2] {
        let d = deliveries(&c, m);
        assert_eq!(d.len(), 1, "one DeliveryCallback each: {d:?}");
        assert!(d[0].get("error").is_none(), "{d:?}");
    }
    for m in [&a1, &a2] {
        eventually(PATIENCE, || async { (sent_of(m) == 1).then_some(()) })
            .await
            .expect("a parked message's SENT comes once it reached the network");
    }
    let parked =
        common::metrics::sum(&c.http, &c.ce.dp, "chatedge_dp_cloud_api_sends_total", "outcome=\"parked\"").await;
    assert_eq!(parked, 2.0, "a1 parked on the limit, a2 behind it");

    // A status of a parked-then-sent message is matched to it by the wamid.
    let (s, v) = status(&c.ce, &c.inst, &c.graph, &wamids.1, "read", slow, None).await;
    assert_eq!(s, 200, "{v}");
    c.sink
        .wait_for(PATIENCE, "a2's READ", |e| {
            e.iter().any(|r| r.body["status"] == "READ" && r.body["ids"][0] == id(&a2))
        })
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_message_survives_kill_minus_nine_and_reaches_the_integrator_once() {
    let Cloud { ce, http, sink, graph, inst, dir } = cloud().await;
    let slow = "5511977770003";
    graph.limit_pair(slow, 1_000_000);
    let (s, a) =
        http.post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": slow, "message": "kept"})).await;
    assert_eq!(s, 200, "{a}");
    let ours = id(&a);
    eventually(PATIENCE, || async {
        let deferred = common::metrics::sum(&http, &ce.dp, "chatedge_dp_messages_total", "outcome=\"deferred\"").await;
        (deferred == 1.0).then_some(())
    })
    .await
    .expect("the pair-limited message is parked and leaves the queue");
    ce.kill_9();

    // Restarted with the limit lifted: the parked message goes out once, and only now does
    // the integrator hear of it, once.
    graph.limit_pair(slow, 0);
    let ce = Chatedge::up(dir.path(), &config(&graph));
    wait_connected(&http, &ce, &inst).await;
    let zaap = a["zaapId"].as_str().unwrap().to_owned();
    sink.wait_for_zaaps(&HashSet::from([zaap.clone()]), "the parked message's DeliveryCallback").await;
    assert!(graph.wamid_of(&ours).is_some(), "Meta took it after the restart");
    let answered = graph.sends().iter().filter(|b| b["biz_opaque_callback_data"] == ours.as_str()).count();
    assert!(answered >= 2, "posted once before the crash (limited) and once after");
    eventually(PATIENCE, || async {
        sink.events().iter().any(|e| e.body["status"] == "SENT" && e.body["ids"][0] == ours.as_str()).then_some(())
    })
    .await
    .expect("its SENT comes after the restart");
    let d: Vec<_> =
        sink.of_type("DeliveryCallback").into_iter().filter(|e| e.body["zaapId"] == zaap.as_str()).collect();
    assert_eq!(d.len(), 1, "one DeliveryCallback: {d:?}");
    assert!(d[0].body.get("error").is_none(), "{}", d[0].body);
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 0}), "nothing is left queued");
}

/// Meta posts a signed status notification about `wamid` (with our id as its
/// `biz_opaque_callback_data` when `ours` is given) to the instance's webhook.
async fn status(
    ce: &Chatedge,
    inst: &Instance,
    graph: &FakeGraph,
    wamid: &str,
    status: &str,
    recipient: &str,
    ours: Option<&str>,
) -> (u16, String) {
    let number = graph.cloud_number();
    let webhook = format!("{}/network/cloud-api/{}/webhook", ce.dp, inst.id);
    common::cloud_notify::notify(&webhook, &number.app_secret, &number.status(wamid, status, recipient, ours)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_between_the_post_and_its_record_the_resend_is_recognised_by_its_sent_status() {
    let Cloud { ce, http, sink, graph, inst, dir } = cloud().await;
    // Meta takes the message but chatedge dies before its answer is recorded.
    graph.hold_sends(true);
    let (s, a) = http.post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": TO, "message": "once"})).await;
    assert_eq!(s, 200, "{a}");
    let ours = id(&a);
    let wamid = eventually(PATIENCE, || async { graph.assigned(&ours) }).await.expect("the send reached the network");
    ce.kill_9();

    // After the restart the resend meets server errors (the network is unsure), and meanwhile
    // Meta's webhook reports the first post as sent: the resend is recognised, not posted again.
    graph.fail_next(Scope::Sends, 3, GraphFailure::server_error());
    let ce = Chatedge::up(dir.path(), &config(&graph));
    wait_connected(&http, &ce, &inst).await;
    eventually(PATIENCE, || async {
        (graph.sends().iter().filter(|b| b["biz_opaque_callback_data"] == ours.as_str()).count() >= 2).then_some(())
    })
    .await
    .expect("the message is resent after the restart");
    let (s, v) = status(&ce, &inst, &graph, &wamid, "sent", TO, Some(&ours)).await;
    assert_eq!(s, 200, "{v}");

    let zaap = a["zaapId"].as_str().unwrap().to_owned();
    sink.wait_for_zaaps(&HashSet::from([zaap.clone()]), "the recognised message's DeliveryCallback").await;
    let recognised =
        common::metrics::sum(&http, &ce.dp, "chatedge_dp_cloud_api_sends_total", "outcome=\"recognised\"").await;
    assert_eq!(recognised, 1.0, "the resend was answered from the record");
    assert_eq!(graph.wamid_of(&ours), None, "no post of it was ever answered: Meta has it once");
    let d: Vec<_> =
        sink.of_type("DeliveryCallback").into_iter().filter(|e| e.body["zaapId"] == zaap.as_str()).collect();
    assert_eq!(d.len(), 1, "one DeliveryCallback");
    assert!(d[0].body.get("error").is_none(), "{}", d[0].body);
    assert_eq!(d[0].body["messageId"], ours.as_str());

    // Meta's later statuses name only the wamid: they are matched to our message.
    let (s, v) = status(&ce, &inst, &graph, &wamid, "delivered", TO, None).await;
    assert_eq!(s, 200, "{v}");
    sink.wait_for(PATIENCE, "RECEIVED of the recognised message", |e| {
        e.iter().any(|r| r.body["status"] == "RECEIVED" && r.body["ids"][0] == ours.as_str())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_that_overtake_the_send_answer_are_matched_or_redelivered_never_lost() {
    let c = cloud().await;
    c.graph.hold_sends(true);
    let a = c.send("send-text", json!({"phone": TO, "message": "racing"})).await;
    let ours = id(&a);
    let zaap = a["zaapId"].as_str().unwrap().to_owned();
    let wamid = eventually(PATIENCE, || async { c.graph.assigned(&ours) }).await.expect("the send reached the network");

    // Before the answer: `delivered` names our id (its tag), so it is matched at once; `failed`
    // needs the zaapId row the answer records, so it is refused and Meta redelivers it.
    let (s, v) = status(&c.ce, &c.inst, &c.graph, &wamid, "delivered", TO, Some(&ours)).await;
    assert_eq!(s, 200, "{v}");
    c.sink
        .wait_for(PATIENCE, "RECEIVED before the send's answer", |e| {
            e.iter().any(|r| r.body["status"] == "RECEIVED" && r.body["ids"][0] == ours.as_str())
        })
        .await;
    let (s, v) = status(&c.ce, &c.inst, &c.graph, &wamid, "failed", TO, Some(&ours)).await;
    assert!(s >= 500, "a failed status before the send is recorded is left for redelivery: {s} {v}");
    assert!(deliveries(&c, &a).is_empty(), "nothing told yet");

    // The answer arrives and is recorded; Meta redelivers the failed status.
    c.graph.hold_sends(false);
    c.sink.wait_for_zaaps(&HashSet::from([zaap.clone()]), "the send's DeliveryCallback").await;
    let (s, v) = status(&c.ce, &c.inst, &c.graph, &wamid, "failed", TO, Some(&ours)).await;
    assert_eq!(s, 200, "{v}");
    let events = c
        .sink
        .wait_for(PATIENCE, "the failure's DeliveryCallback", |e| {
            e.iter().any(|r| r.body["zaapId"] == zaap.as_str() && r.body.get("error").is_some())
        })
        .await;
    let d: Vec<_> = events.iter().filter(|r| r.body["zaapId"] == zaap.as_str()).collect();
    assert_eq!(d.len(), 2, "accepted, then failed: {d:?}");
    assert!(d[1].body["error"].as_str().unwrap().contains("131047"), "{}", d[1].body);
    assert_eq!(c.graph.sends().len(), 1, "posted once");
    let received =
        c.sink.events().iter().filter(|r| r.body["status"] == "RECEIVED" && r.body["ids"][0] == ours.as_str()).count();
    assert_eq!(received, 1, "the early status was told once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_networks_own_signed_status_notifications_reach_the_integrator_as_status_callbacks() {
    let c = cloud().await;
    c.graph.notify_statuses_to(&format!("{}/network/cloud-api/{}/webhook", c.ce.dp, c.inst.id));
    let a = c.send("send-text", json!({"phone": TO, "message": "tracked"})).await;
    let ours = id(&a);
    let events = c
        .sink
        .wait_for(PATIENCE, "SENT and RECEIVED", |e| {
            ["SENT", "RECEIVED"]
                .iter()
                .all(|st| e.iter().any(|r| r.body["status"] == *st && r.body["ids"][0] == ours.as_str()))
        })
        .await;
    let sent = events.iter().filter(|r| r.body["status"] == "SENT" && r.body["ids"][0] == ours.as_str()).count();
    assert_eq!(sent, 1, "Meta's `sent` does not repeat the SENT told at acceptance");
    assert!(events.iter().all(|r| r.signed_by(&c.inst.secret)));
}
