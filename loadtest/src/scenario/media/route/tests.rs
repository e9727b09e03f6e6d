use super::*;

#[test]
fn a_send_answer_needs_all_three_ids() {
    let ok: Sent = serde_json::from_str(r#"{"zaapId":"z","messageId":"m","id":"m"}"#).unwrap();
    assert!(ok.check().is_ok());
    let empty: Sent = serde_json::from_str(r#"{"zaapId":"","messageId":"m","id":"m"}"#).unwrap();
    assert!(matches!(empty.check(), Err(CallError::BadResponse(_))));
    assert!(serde_json::from_str::<Sent>(r#"{"messageId":"m","id":"m"}"#).is_err(), "zaapId is required");
}

#[test]
fn image_heads_open_a_data_uri_for_distinct_recipients() {
    let heads = image_heads();
    assert_eq!(heads.len(), RECIPIENTS as usize);
    assert!(heads[0].ends_with(b"\"image\":\"data:image/png;base64,"));
    assert_ne!(heads[0], heads[1]);
    assert!(
        heads.iter().all(|h| !std::str::from_utf8(h).unwrap().contains("0000\",\"caption")),
        "no phone ends in 0000"
    );
}

/// A loopback stand-in for chatedge's send routes: send-image sniffs the data URI's bytes
/// (PNG only, checked by decoding), every route answers `{zaapId, messageId, id}`, and the
/// instance `broken` answers a wrong shape.
async fn fake_edge() -> (String, tokio::task::JoinHandle<()>) {
    use base64::Engine;
    use hyper::StatusCode;

    use crate::server;

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handler: server::Handler = Arc::new(|parts, body: Bytes| {
        let declared = parts.headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse().ok());
        if declared != Some(body.len()) {
            return server::json(StatusCode::LENGTH_REQUIRED, "{}");
        }
        let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return server::json(StatusCode::BAD_REQUEST, r#"{"error":"json"}"#);
        };
        if parts.uri.path().ends_with("/send-image") {
            let image = v["image"].as_str().and_then(|u| u.strip_prefix("data:image/png;base64,"));
            let bytes =
                image.and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok()).unwrap_or_default();
            let decodes = png::Decoder::new(std::io::Cursor::new(&bytes)).read_info().is_ok();
            if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || !decodes {
                return server::json(StatusCode::UNSUPPORTED_MEDIA_TYPE, r#"{"error":"not a png"}"#);
            }
        }
        if parts.uri.path().contains("/broken/") {
            return server::json(StatusCode::OK, r#"{"messageId":"m"}"#);
        }
        server::json(StatusCode::OK, r#"{"zaapId":"z1","messageId":"m1","id":"m1"}"#)
    });
    // Aborted at the end of each test.
    (base, tokio::spawn(server::serve(listener, handler)))
}

fn instance(id: &str) -> Instance {
    Instance { index: 0, id: id.into(), token: "t".into(), webhook_secret: None, phone: "5511000010001".into() }
}

#[tokio::test]
async fn both_routes_are_accepted_by_a_png_sniffing_server_and_count_their_bytes() {
    let (base, server) = fake_edge().await;
    let http = Http::new(4, std::time::Duration::from_secs(10)).expect("client");
    let png = crate::media::noise_png(100 * 1024, 1).unwrap();
    let upload = Arc::new(ImageUpload::new(&png, true).unwrap());
    let image = Route::image(http.clone(), &base, &[instance("a")], image_heads(), upload).unwrap();
    let text = Route::text(http, &base, &[instance("a")], crate::scenario::send::bodies(32)).unwrap();
    for seq in 0..3 {
        let sent = image.send(seq).await.expect("send-image accepted");
        assert_eq!((sent.zaap_id.as_str(), sent.message_id.as_str(), sent.id.as_str()), ("z1", "m1", "m1"));
        text.send(seq).await.expect("send-text accepted");
    }
    assert_eq!(image.ok_bytes(), 3 * image.body(0).len());
    assert!(image.ok_bytes() > 3 * 100 * 1024 * 4 / 3, "base64 bodies of 100 KiB images");
    assert_eq!(text.ok_bytes(), (0..3).map(|s| text.body(s).len()).sum::<u64>());
    server.abort();
}

#[tokio::test]
async fn a_wrong_answer_shape_and_a_refusal_are_failures_not_acceptances() {
    let (base, server) = fake_edge().await;
    let http = Http::new(2, std::time::Duration::from_secs(10)).expect("client");
    let bodies = Arc::new(vec![Bytes::from_static(br#"{"phone":"5511000010001","message":"hi"}"#)]);
    let broken = Route::text(http.clone(), &base, &[instance("broken")], bodies).unwrap();
    assert!(matches!(broken.send(0).await, Err(CallError::BadResponse(_))));
    assert_eq!(broken.ok_bytes(), 0);
    // Not a PNG (a GIF under a PNG data URI): the stand-in refuses it as chatedge's sniffer would.
    let gif = b"GIF89a not a png at all";
    let heads = Arc::new(vec![Bytes::from(format!(
        "{{\"phone\":\"5511000010001\",\"image\":\"{}\",\"x\":\"",
        crate::media::data_uri("image/png", gif)
    ))]);
    let png = crate::media::noise_png(2048, 1).unwrap();
    let upload = Arc::new(ImageUpload::new(&png, true).unwrap());
    let refused = Route::image(http, &base, &[instance("a")], heads, upload).unwrap();
    assert!(matches!(refused.send(0).await, Err(CallError::Status { status: 415, .. })));
    server.abort();
}
