//! HTTP/3 (issue 11 §1): found through `Alt-Svc`, spoken by a client built on quinn + h3, it
//! serves the same routes with the same answers as HTTP/1.1 — a text sent over it is queued
//! and answered like any other.

use crate::common;
use crate::edge_support;

use common::*;
use edge_support::*;
use serde_json::{json, Value};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_text_sent_over_http3_is_answered_like_over_http1() {
    let config = format!("{FAST}\n[tls]\nself_signed = true\nlisten = \"127.0.0.1:0\"\n");
    let p = paired(&config).await;
    let port = announced_h3_port(&p.ce.dp).await;
    let pem = std::fs::read(p.ce.dir.join("dataplane/tls-self-signed.pem")).expect("the generated certificate is kept");

    let path = format!("/instances/{}/token/{}/send-text", p.inst.id, p.inst.token);
    let body = json!({"phone": "5511988887777", "message": "over QUIC"}).to_string().into_bytes();
    let (status, answer) = h3_request(port, &pem, "POST", &path, body).await;
    let over_h3: Value = serde_json::from_slice(&answer).unwrap();
    let (h1_status, over_h1) = p
        .http
        .post(&p.ce.instance_url(&p.inst, "send-text"), None, &json!({"phone": "5511988887777", "message": "over TCP"}))
        .await;
    assert_eq!((status, h1_status), (200, 200), "{over_h3} / {over_h1}");
    let keys = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&over_h3), keys(&over_h1), "the same answer shape on both protocols");
    assert_ne!(over_h3["messageId"], over_h1["messageId"]);

    let (status, _) = h3_request(port, &pem, "GET", "/no/such/route", Vec::new()).await;
    assert_eq!(status, 404, "routing is the same handler's");
    let wrong = format!("/instances/{}/token/wrong/send-text", p.inst.id);
    let (status, _) = h3_request(port, &pem, "POST", &wrong, b"{}".to_vec()).await;
    assert_eq!(status, 401, "credentials are checked the same way");
}
