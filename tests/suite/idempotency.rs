//! Idempotency-Key on the send routes (issue 11 §4): a retried send with the same key gets the
//! first answer and never sends a second message — also across a restart and a `kill -9` —
//! a key reused for another request is a 422, and concurrent duplicates wait for the first.

use crate::common;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// POSTs `body` to `route` with `Idempotency-Key: key`.
async fn send_keyed(http: &Http, ce: &Chatedge, inst: &Instance, route: &str, key: &str, body: &Value) -> (u16, Value) {
    let headers = [("content-type", "application/json"), ("idempotency-key", key)];
    http.raw(Method::POST, &ce.instance_url(inst, route), None, &headers, body.to_string().into_bytes()).await
}

/// Sends an unkeyed marker after the keyed sends and waits until `phone` received it: the
/// queue is FIFO per instance, so anything sent before the marker has arrived by then.
async fn texts_after_marker(http: &Http, ce: &Chatedge, inst: &Instance, phone: &str) -> Vec<String> {
    let (s, v) =
        http.post(&ce.instance_url(inst, "send-text"), None, &json!({"phone": phone, "message": "marker"})).await;
    assert_eq!(s, 200, "{v}");
    let messages = eventually(PATIENCE, || async {
        let m = sim_received(http, ce, inst, phone).await;
        m.iter().any(|m| m["text"] == "marker").then_some(m)
    })
    .await
    .expect("the marker arrives");
    messages.iter().filter_map(|m| m["text"].as_str().map(str::to_owned)).filter(|t| t != "marker").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_send_with_the_same_key_gets_the_first_answer_and_sends_once() {
    let Paired { ce, http, inst, dir: _dir, .. } = paired(FAST).await;
    let phone = "5511988880001";
    let body = json!({"phone": phone, "message": "pay invoice 42"});
    let (s1, first) = send_keyed(&http, &ce, &inst, "send-text", "retry-1", &body).await;
    assert_eq!(s1, 200, "{first}");
    let (s2, again) = send_keyed(&http, &ce, &inst, "send-text", "retry-1", &body).await;
    assert_eq!(s2, 200, "{again}");
    assert_eq!(again, first, "the same zaapId, messageId and id");
    let (s3, other) = send_keyed(&http, &ce, &inst, "send-text", "retry-2", &body).await;
    assert_eq!(s3, 200);
    assert_ne!(other["zaapId"], first["zaapId"], "a new key is a new message");
    let texts = texts_after_marker(&http, &ce, &inst, phone).await;
    assert_eq!(texts, vec!["pay invoice 42", "pay invoice 42"], "one message per key, not per request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_reused_for_another_request_is_refused_with_422_and_sends_nothing() {
    let Paired { ce, http, inst, dir: _dir, .. } = paired(FAST).await;
    let phone = "5511988880002";
    let (s, _) = send_keyed(&http, &ce, &inst, "send-text", "k", &json!({"phone": phone, "message": "a"})).await;
    assert_eq!(s, 200);
    let (s, v) = send_keyed(&http, &ce, &inst, "send-text", "k", &json!({"phone": phone, "message": "b"})).await;
    assert_eq!(s, 422, "{v}");
    assert_eq!(v["error"], "Idempotency-Key reused");
    assert!(v["message"].as_str().unwrap().contains("different request"), "{v}");
    let link = json!({
        "phone": phone, "message": "a https://example.com", "linkUrl": "https://example.com",
        "title": "t", "linkDescription": "d", "image": "https://example.com/a.png"
    });
    let (s, v) = send_keyed(&http, &ce, &inst, "send-link", "k", &link).await;
    assert_eq!(s, 422, "another route with the same key: {v}");
    let (s, v) = send_keyed(&http, &ce, &inst, "send-text", "bad key", &json!({"phone": phone, "message": "c"})).await;
    assert_eq!(s, 400, "a key with a space is malformed: {v}");
    assert_eq!(texts_after_marker(&http, &ce, &inst, phone).await, vec!["a"]);
    let (_, metrics) = http.get(&format!("{}/metrics", ce.dp), None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("chatedge_dp_idempotency_keys_total{outcome=\"conflict\"} 2"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_duplicates_wait_for_the_first_and_all_get_its_answer() {
    let Paired { ce, http, inst, dir: _dir, .. } = paired(FAST).await;
    let phone = "5511988880003";
    let body = json!({"phone": phone, "message": "only once"});
    let url = ce.instance_url(&inst, "send-text");
    let mut sends = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (http, url, body) = (http.clone(), url.clone(), body.to_string().into_bytes());
        let headers = [("content-type", "application/json"), ("idempotency-key", "burst")];
        sends.spawn(async move { http.raw(Method::POST, &url, None, &headers, body).await });
    }
    let answers = sends.join_all().await;
    for (s, v) in &answers {
        assert_eq!(*s, 200, "{v}");
        assert_eq!(*v, answers[0].1, "every duplicate hears the first answer");
    }
    assert_eq!(texts_after_marker(&http, &ce, &inst, phone).await, vec!["only once"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_survives_a_restart_and_a_kill_minus_nine_and_the_message_is_sent_once() {
    let Paired { dir, ce, http, inst, .. } = paired(FAST).await;
    let (s, _) = http.get(&ce.instance_url(&inst, "disconnect"), None).await;
    assert_eq!(s, 200, "disconnected: the message stays queued across the restarts");
    let phone = "5511988880004";
    let body = json!({"phone": phone, "message": "survives"});
    let (s, first) = send_keyed(&http, &ce, &inst, "send-text", "durable", &body).await;
    assert_eq!(s, 200, "{first}");

    assert!(ce.terminate().success());
    let ce = Chatedge::up(dir.path(), FAST);
    wait_known(&http, &ce, &inst).await;
    let (s, again) = send_keyed(&http, &ce, &inst, "send-text", "durable", &body).await;
    assert_eq!((s, &again), (200, &first), "after a restart");

    ce.kill_9();
    let ce = Chatedge::up(dir.path(), FAST);
    wait_known(&http, &ce, &inst).await;
    let (s, again) = send_keyed(&http, &ce, &inst, "send-text", "durable", &body).await;
    assert_eq!((s, &again), (200, &first), "after kill -9");
    let (s, v) = send_keyed(&http, &ce, &inst, "send-text", "durable", &json!({"phone": phone, "message": "x"})).await;
    assert_eq!(s, 422, "the stored fingerprint survived too: {v}");
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 1}), "one message queued for three answers");

    pair(&http, &ce, &inst, "5511999990001").await;
    assert_eq!(texts_after_marker(&http, &ce, &inst, phone).await, vec!["survives"]);
}
