//! Issue 9 §4 against the real binary: webhook events whose retries run out are listed by
//! `GET webhook-failures` and sent again by `POST webhook-failures/{eventId}/retry` under the
//! same `webhook-id`; `POST webhook-replay` re-sends delivered events with their original ids;
//! the delivered-event history is pruned after `[webhooks] delivered_retention`; bad input is
//! refused in Z-API's error shape, naming the problem.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use hyper::Method;
use serde_json::{json, Value};

/// Two attempts 50–100 ms apart, then the dead letters.
const SHORT_RETRIES: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
max_attempts = 2
initial_backoff_ms = 50
max_backoff_ms = 100
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
"#;

/// Delivered events are kept for 2 s (so pruned within about 2.5 s).
const SHORT_HISTORY: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
delivered_retention = "2s"
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
"#;

async fn failures(p: &Paired, query: &str) -> Vec<Value> {
    let (status, v) = p.http.get(&p.ce.instance_url(&p.inst, &format!("webhook-failures{query}")), None).await;
    assert_eq!(status, 200, "webhook-failures: {v}");
    v.as_array().expect("a list").clone()
}

async fn replay(p: &Paired, body: &Value) -> (u16, Value) {
    p.http.post(&p.ce.instance_url(&p.inst, "webhook-replay"), None, body).await
}

/// How many times each `webhook-id` reached the sink.
fn deliveries_by_id(sink: &Sink) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for e in sink.events() {
        *n.entry(e.id).or_default() += 1;
    }
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_out_of_retries_are_listed_and_a_retry_delivers_them_under_the_same_webhook_id() {
    let p = paired(SHORT_RETRIES).await;
    p.sink.wait_for(PATIENCE, "ConnectedCallback", |e| e.iter().any(|r| r.body["type"] == "ConnectedCallback")).await;
    p.sink.fail_next(usize::MAX / 2);
    let answers = send_texts(&p.http, &p.ce, &p.inst, 1, 1, "dead").await;
    let zaap = answers[0]["zaapId"].as_str().unwrap().to_owned();

    let dead = eventually(PATIENCE, || async {
        failures(&p, "").await.into_iter().find(|f| f["type"] == "delivery" && f["body"]["zaapId"] == zaap.as_str())
    })
    .await
    .expect("the DeliveryCallback that ran out of retries is listed");
    println!("dead letter: {dead}");
    assert_eq!(dead["attempts"], 2);
    assert_eq!(dead["lastError"], "HTTP 503");
    assert_eq!(dead["url"], format!("{}/delivery", p.sink.url));
    assert_eq!(dead["body"]["type"], "DeliveryCallback");
    assert!(dead["failedAt"].as_u64().unwrap() >= dead["createdAt"].as_u64().unwrap());
    let event_id = dead["eventId"].as_str().unwrap().to_owned();
    let webhook_id = format!("evt_{event_id}");
    assert!(p.sink.failed_ids().iter().filter(|id| **id == webhook_id).count() == 2, "both attempts were refused");

    let all = failures(&p, "?pageSize=100").await;
    let newest_first: Vec<u64> = all.iter().map(|f| f["failedAt"].as_u64().unwrap()).collect();
    assert!(newest_first.windows(2).all(|w| w[0] >= w[1]), "newest first: {newest_first:?}");
    let one = failures(&p, "?page=1&pageSize=1").await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0], all[0], "a page of one is the newest");

    p.sink.fail_next(0);
    let retry = p.ce.instance_url(&p.inst, &format!("webhook-failures/{event_id}/retry"));
    let (status, v) = p.http.post(&retry, None, &json!({})).await;
    assert_eq!((status, v), (200, json!({"value": true})));
    let arrived = p.sink.wait_for(PATIENCE, "the retried event", |e| e.iter().any(|r| r.id == webhook_id)).await;
    let event = arrived.iter().find(|r| r.id == webhook_id).unwrap();
    assert_eq!(event.body["zaapId"], zaap.as_str(), "the same event, under the same webhook-id");
    assert!(event.signed_by(&p.inst.secret));
    assert!(failures(&p, "?pageSize=100").await.iter().all(|f| f["eventId"] != event_id.as_str()), "no longer dead");

    let (status, v) = p.http.post(&retry, None, &json!({})).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"], "Event not found");
    assert!(v["message"].as_str().unwrap().contains(&event_id), "{v}");
    assert!(sum_requeued(&p, "retry").await >= 1.0);
}

/// Waits until every event the sink accepted is recorded as delivered: the sink sees an event
/// just before chatedge commits its delivery (and its history entry).
async fn recorded(p: &Paired) {
    let done = eventually(PATIENCE, || async {
        let delivered =
            metrics::sum(&p.http, &p.ce.dp, "chatedge_dp_webhook_attempts_total", "outcome=\"delivered\"").await;
        (delivered >= p.sink.events().len() as f64).then_some(())
    })
    .await;
    assert!(done.is_some(), "every accepted event is recorded as delivered");
}

async fn sum_requeued(p: &Paired, source: &str) -> f64 {
    metrics::sum(&p.http, &p.ce.dp, "chatedge_dp_webhook_requeued_total", &format!("source=\"{source}\"")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_since_a_time_sends_the_delivered_events_again_with_their_original_ids() {
    let p = paired(SHORT_RETRIES).await;
    p.sink.wait_for(PATIENCE, "ConnectedCallback", |e| e.iter().any(|r| r.body["type"] == "ConnectedCallback")).await;
    let since = chatedge_now_ms();
    let answers = send_texts(&p.http, &p.ce, &p.inst, 3, 100, "replayed").await;
    let zaaps = zaap_ids(&answers);
    let first = p.sink.wait_for_zaaps(&zaaps, "three DeliveryCallbacks").await;
    let ids: Vec<String> = first
        .iter()
        .filter(|r| r.body["type"] == "DeliveryCallback" && zaaps.contains(r.body["zaapId"].as_str().unwrap_or("")))
        .map(|r| r.id.clone())
        .collect();
    assert_eq!(ids.len(), 3, "one DeliveryCallback per send");
    recorded(&p).await;

    let (status, v) = replay(&p, &json!({"since": since, "types": ["delivery"]})).await;
    assert_eq!((status, v), (200, json!({"queued": 3})), "the three delivery events, nothing else");
    p.sink
        .wait_for(PATIENCE, "each DeliveryCallback twice", |_| {
            let n = deliveries_by_id(&p.sink);
            ids.iter().all(|id| n.get(id).copied().unwrap_or(0) >= 2)
        })
        .await;
    for e in p.sink.events().iter().filter(|r| ids.contains(&r.id)) {
        assert!(e.signed_by(&p.inst.secret), "a replayed event is signed like the first time");
    }

    let (status, v) = replay(&p, &json!({"since": since, "until": chatedge_now_ms() + 60_000})).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["queued"].as_u64().unwrap() >= 3, "every type: the delivery and status events: {v}");
    assert!(sum_requeued(&p, "replay").await >= 6.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_webhook_failure_and_replay_requests_are_refused_naming_the_problem() {
    let p = paired(SHORT_RETRIES).await;
    let cases: &[(&str, Value, &str)] = &[
        ("webhook-replay", json!({}), "since is required"),
        ("webhook-replay", json!({"since": "yesterday"}), "since must be a time in Unix milliseconds"),
        ("webhook-replay", json!({"since": 10, "until": 5}), "until must be later than since"),
        ("webhook-replay", json!({"since": 10, "types": ["delivery", "nope"]}), "\"nope\" is not a webhook type"),
        ("webhook-replay", json!({"since": 10, "types": "delivery"}), "types must be an array"),
        ("webhook-failures/not-an-id/retry", json!({}), "eventId must be 32 hex digits"),
    ];
    for (route, body, says) in cases {
        let (status, v) = p.http.post(&p.ce.instance_url(&p.inst, route), None, body).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["error"].is_string() && v["message"].as_str().unwrap_or("").contains(says), "{route} {body}: {v}");
    }
    let (status, v) =
        p.http.raw(Method::POST, &p.ce.instance_url(&p.inst, "webhook-replay"), None, &[], b"{".to_vec()).await;
    assert_eq!((status, v["error"].as_str()), (400, Some("Invalid JSON")), "{v}");
    for query in ["?pageSize=101", "?pageSize=0", "?page=x", "?page=100000"] {
        let (status, v) = p.http.get(&p.ce.instance_url(&p.inst, &format!("webhook-failures{query}")), None).await;
        assert_eq!(status, 400, "{query}: {v}");
        assert!(v["message"].as_str().unwrap().contains("must be a whole number from 1 to"), "{query}: {v}");
    }
    let unknown = "0123456789abcdef0123456789abcdef";
    let (status, v) = p
        .http
        .post(&p.ce.instance_url(&p.inst, &format!("webhook-failures/evt_{unknown}/retry")), None, &json!({}))
        .await;
    assert_eq!((status, v["error"].as_str()), (404, Some("Event not found")), "{v}");
    let (status, _) = p.http.get(&p.ce.instance_url(&p.inst, "webhook-replay"), None).await;
    assert_eq!(status, 405);
    let wrong_token = format!("{}/instances/{}/token/wrong/webhook-failures", p.ce.dp, p.inst.id);
    assert_eq!(p.http.get(&wrong_token, None).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_events_are_pruned_from_the_history_after_the_retention() {
    let p = paired(SHORT_HISTORY).await;
    let answers = send_texts(&p.http, &p.ce, &p.inst, 2, 200, "kept briefly").await;
    p.sink.wait_for_zaaps(&zaap_ids(&answers), "two DeliveryCallbacks").await;
    recorded(&p).await;
    let (status, v) = replay(&p, &json!({"since": 0, "types": ["delivery"]})).await;
    assert_eq!(status, 200, "{v}");
    assert!(v["queued"].as_u64().unwrap() >= 2, "just delivered, so kept: {v}");
    // Every distinct event delivered was in the history once; once as many were pruned, the
    // history is empty.
    let pruned = eventually(Duration::from_secs(30), || async {
        let distinct = deliveries_by_id(&p.sink).len() as f64;
        let pruned = metrics::sum(&p.http, &p.ce.dp, "chatedge_dp_webhook_history_pruned_total", "").await;
        (pruned >= distinct).then_some(pruned)
    })
    .await;
    assert!(pruned.is_some(), "delivered events are pruned and counted once the retention has passed");
    let (status, v) = replay(&p, &json!({"since": 0})).await;
    assert_eq!((status, v), (200, json!({"queued": 0})), "nothing is left to replay");
}

fn chatedge_now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as u64
}
