//! Bad input gets a clear 4xx JSON error in Z-API's shape, nothing is stored, and the process
//! carries on.

use crate::common;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

fn assert_error(status: u16, v: &Value, want_status: u16, mentions: &str) {
    assert_eq!(status, want_status, "{v}");
    assert!(v["error"].is_string(), "Z-API error shape: {v}");
    let text = format!("{} {}", v["error"], v["message"]).to_lowercase();
    assert!(text.contains(&mentions.to_lowercase()), "'{mentions}' not in {v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_refused_clearly_and_store_nothing() {
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), FAST);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let send = ce.instance_url(&inst, "send-text");
    let json_post = |body: &'static [u8]| {
        let (http, send) = (http.clone(), send.clone());
        async move { http.raw(Method::POST, &send, None, &[("content-type", "application/json")], body.to_vec()).await }
    };

    let (s, v) = json_post(b"{\"phone\": \"5511999999999\", \"message\": ").await;
    assert_error(s, &v, 400, "json");
    let (s, v) = json_post(b"\xff\xfe\x00garbage").await;
    assert_error(s, &v, 400, "json");
    let (s, v) = json_post(b"").await;
    assert_error(s, &v, 400, "empty");
    let (s, v) = json_post(b"[1, 2]").await;
    assert_error(s, &v, 400, "object");
    let (s, v) = json_post(b"{\"message\": \"hi\"}").await;
    assert_error(s, &v, 400, "phone");
    let (s, v) = json_post(b"{\"phone\": \"+55 (11) 99999-999x\", \"message\": \"hi\"}").await;
    assert_error(s, &v, 400, "digits");
    let (s, v) = json_post(b"{\"phone\": \"1234\", \"message\": \"hi\"}").await;
    assert_error(s, &v, 400, "phone");
    let (s, v) = json_post(b"{\"phone\": \"5511999999999\", \"message\": \"   \"}").await;
    assert_error(s, &v, 400, "message");
    let (s, v) = json_post(b"{\"phone\": \"5511999999999\"}").await;
    assert_error(s, &v, 400, "message");
    let (s, v) = json_post(b"{\"phone\": \"5511999999999\", \"message\": \"hi\", \"delayMessage\": 16}").await;
    assert_error(s, &v, 400, "delayMessage");
    let (s, v) = json_post(b"{\"phone\": \"5511999999999\", \"message\": \"hi\", \"delayTyping\": \"soon\"}").await;
    assert_error(s, &v, 400, "delayTyping");
    let (s, v) = json_post(b"{\"phone\": 5511999999999, \"message\": 42}").await;
    assert_error(s, &v, 400, "message");

    // An oversized body is refused from its declared length, before it is read.
    let answer = exchange_head(&send, "content-length: 2097152\r\n\r\n").await;
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("limited to"), "{answer}");
    let long = format!("{{\"phone\": \"5511999999999\", \"message\": \"{}\"}}", "x".repeat(70_000));
    let (s, v) = http.raw(Method::POST, &send, None, &[], long.into_bytes()).await;
    assert_error(s, &v, 400, "longer");

    // Unknown instance and wrong token look exactly alike.
    let wrong_token = format!("{}/instances/{}/token/{}/send-text", ce.dp, inst.id, "0".repeat(32));
    let unknown = format!("{}/instances/{}/token/{}/send-text", ce.dp, "A".repeat(32), inst.token);
    let body = json!({"phone": "5511999999999", "message": "hi"});
    let (s1, v1) = http.post(&wrong_token, None, &body).await;
    let (s2, v2) = http.post(&unknown, None, &body).await;
    assert_error(s1, &v1, 401, "token");
    assert_eq!((s1, v1), (s2, v2), "no difference between an unknown instance and a wrong token");
    let (s, v) = http.post(&format!("{}/instances/not-hex/token/x/send-text", ce.dp), None, &body).await;
    assert_error(s, &v, 401, "token");

    let (s, v) = http.get(&ce.instance_url(&inst, "no-such-route"), None).await;
    assert_error(s, &v, 404, "route");
    let (s, v) = http.get(&send, None).await;
    assert_error(s, &v, 405, "POST");
    let (s, v) = http
        .put(&ce.instance_url(&inst, "update-webhook-delivery"), &json!({"value": "http://example.com/hook"}))
        .await;
    assert_error(s, &v, 400, "https");
    let (s, v) = http.put(&ce.instance_url(&inst, "update-webhook-delivery"), &json!({"value": "not a url"})).await;
    assert_error(s, &v, 400, "url");
    let (s, v) = http.get(&format!("{}/instances/{}/token/{}/queue?page=0", ce.dp, inst.id, inst.token), None).await;
    assert_error(s, &v, 400, "page");
    let (s, v) = http.delete(&ce.instance_url(&inst, "queue/NOTAZAAPID")).await;
    assert_error(s, &v, 404, "queue");
    let (s, v) =
        http.post(&format!("{}/sim/scan", ce.dp), Some("wrong"), &json!({"qr": "x", "phone": "5511999999999"})).await;
    assert_error(s, &v, 401, "admin");
    let (s, v) =
        http.post(&format!("{}/instances/integrator/on-demand", ce.cp), Some("wrong"), &json!({"name": "x"})).await;
    assert_error(s, &v, 401, "integrator");
    let (s, v) =
        http.post(&format!("{}/instances/integrator/on-demand", ce.cp), Some(&ce.integrator_token), &json!({})).await;
    assert_error(s, &v, 400, "name");

    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 0}), "no refused request stored anything");
    let (s, _) = http.get(&format!("{}/healthz", ce.dp), None).await;
    assert_eq!(s, 200, "still serving");
    assert!(!ce.log().contains("panicked"), "no panic in the log");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_stops_sending_its_body_is_answered_and_cut_off() {
    let dir = temp_dir();
    let config = format!("{FAST}\n[dataplane]\nrequest_timeout_ms = 300\n");
    let ce = Chatedge::up(dir.path(), &config);
    let http = Http::new();
    let inst = create_instance(&http, &ce, None).await;
    let url = ce.instance_url(&inst, "send-text");
    let answer = exchange_head(&url, "content-length: 100\r\n\r\n{\"phone\":").await;
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.contains("\"error\":\"timeout\""), "{answer}");
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 0}));
}

/// Sends a POST head (plus `tail`: more headers, maybe part of a body) on a raw connection and
/// reads whatever comes back until the server closes it.
async fn exchange_head(url: &str, tail: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let url: hyper::Uri = url.parse().unwrap();
    let mut tcp = tokio::net::TcpStream::connect(url.authority().unwrap().as_str()).await.unwrap();
    let head = format!(
        "POST {} HTTP/1.1\r\nhost: x\r\nconnection: close\r\ncontent-type: application/json\r\n{tail}",
        url.path()
    );
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    assert!(read.is_ok(), "the server neither answered nor closed the connection");
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_closed_and_does_not_hold_up_shutdown() {
    use tokio::io::AsyncReadExt;
    let dir = temp_dir();
    let config = format!("{FAST}\n[dataplane]\nheader_timeout_ms = 300\n");
    let ce = Chatedge::up(dir.path(), &config);
    let addr = ce.dp.trim_start_matches("http://").to_owned();
    let mut silent = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let mut buf = [0u8; 16];
    let closed = tokio::time::timeout(std::time::Duration::from_secs(10), silent.read(&mut buf)).await;
    assert!(matches!(closed, Ok(Ok(0)) | Ok(Err(_))), "a client that never speaks is disconnected");
    let _lingering = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let status = tokio::task::spawn_blocking(move || ce.terminate()).await.unwrap();
    assert!(status.success(), "SIGTERM with a silent client connected still exits cleanly: {status:?}");
}
