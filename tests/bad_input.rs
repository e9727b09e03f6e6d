//! Bad input gets a clear 4xx JSON error in Z-API's shape, nothing is stored, and the process
//! carries on.

mod common;

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
    let (s, v) = json_post(b"{\"phone\": \"+55 (11) 99999-9999\", \"message\": \"hi\"}").await;
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

    let huge = format!("{{\"phone\": \"5511999999999\", \"message\": \"{}\"}}", "x".repeat(2 * 1024 * 1024));
    let (s, v) = http.raw(Method::POST, &send, None, &[], huge.into_bytes()).await;
    assert_error(s, &v, 413, "limited");
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
