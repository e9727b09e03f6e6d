//! Sessions that survive the network (issue 8 §1): a lost connection reconnects by itself and
//! keeps the queue; a logout needs a new scan; in both cases messages keep their order, none is
//! lost and none leaves twice.

use crate::common;

use std::collections::HashMap;
use std::time::Duration;

use common::{eventually, pair, paired, send_texts, wait_connected, zaap_ids, Paired, FAST};
use serde_json::{json, Value};

/// FAST plus quick reconnects, so a cut of a few hundred milliseconds is over quickly.
fn config() -> String {
    format!("{FAST}\n[session]\nreconnect_initial_ms = 50\nreconnect_max_ms = 400\nconnect_timeout_ms = 2000\n")
}

async fn sim(p: &Paired, action: &str, body: Value) -> (u16, Value) {
    p.http.post(&format!("{}/sim/{action}", p.ce.dp), Some(&p.ce.admin_token), &body).await
}

/// Asserts that the sim network never got the same message id twice.
async fn assert_nothing_sent_twice(p: &Paired) {
    let (s, stats) = p.http.get(&format!("{}/sim/stats", p.ce.dp), Some(&p.ce.admin_token)).await;
    assert_eq!(s, 200, "{stats}");
    assert!(stats["sends"].as_u64().unwrap_or(0) > 0, "{stats}");
    assert_eq!(stats["duplicateSends"], json!(0), "a message reached the network twice: {stats}");
}

async fn status(p: &Paired) -> Value {
    p.http.get(&p.ce.instance_url(&p.inst, "status"), None).await.1
}

/// zaapId → how many DeliveryCallbacks carried it (distinct webhook ids).
fn deliveries(p: &Paired) -> HashMap<String, usize> {
    let mut seen = HashMap::<String, std::collections::HashSet<String>>::new();
    for e in p.sink.of_type("DeliveryCallback") {
        assert!(e.signed_by(&p.inst.secret), "every webhook is signed");
        if let Some(z) = e.body["zaapId"].as_str() {
            seen.entry(z.to_owned()).or_default().insert(e.id.clone());
        }
    }
    seen.into_iter().map(|(z, ids)| (z, ids.len())).collect()
}

/// Checks that the messages (send answers, in the order they were accepted) reached the network
/// in that order: the network's SENT time (`momment`, ms) never goes back along the list.
/// Webhooks themselves may arrive in any order, so their arrival order proves nothing.
async fn assert_left_in_order(p: &Paired, answers: &[Value]) {
    let ids: Vec<String> = answers.iter().map(|v| v["messageId"].as_str().unwrap().to_owned()).collect();
    let sent_at = |events: &[common::sink::Received]| -> HashMap<String, u64> {
        events
            .iter()
            .filter(|e| e.body["type"] == "MessageStatusCallback" && e.body["status"] == "SENT")
            .map(|e| {
                (e.body["ids"][0].as_str().unwrap_or_default().to_owned(), e.body["momment"].as_u64().unwrap_or(0))
            })
            .collect()
    };
    let events = p.sink.wait_for(Duration::from_secs(60), "a SENT status for every message", |e| {
        let at = sent_at(e);
        ids.iter().all(|id| at.contains_key(id))
    });
    let at = sent_at(&events.await);
    for pair in ids.windows(2) {
        let (a, b) = (at[&pair[0]], at[&pair[1]]);
        assert!(a <= b, "message {} left at {a} ms, after the next one accepted ({} at {b} ms)", pair[0], pair[1]);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_connection_reconnects_by_itself_and_every_message_leaves_once_in_order() {
    let p = paired(&config()).await;
    let first = send_texts(&p.http, &p.ce, &p.inst, 40, 10_000_001, "before").await;
    let (s, v) = sim(&p, "drop", json!({"instanceId": p.inst.id, "ms": 600})).await;
    assert_eq!(s, 200, "{v}");
    // The drop reaches the shard as a network event, a moment after /sim/drop answers.
    let during = eventually(Duration::from_secs(5), || async {
        let st = status(&p).await;
        (st["connected"] == json!(false)).then_some(st)
    });
    let during = during.await.expect("status reports the loss");
    assert_eq!(during["error"], json!("You need to restore the session."), "a loss keeps the session: {during}");
    let second = send_texts(&p.http, &p.ce, &p.inst, 40, 10_000_101, "during").await;
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let third = send_texts(&p.http, &p.ce, &p.inst, 20, 10_000_201, "after").await;

    let all = [first, second, third].concat();
    p.sink.wait_for_zaaps(&zaap_ids(&all), "every message delivered").await;
    let twice: Vec<_> = deliveries(&p).into_iter().filter(|(_, n)| *n != 1).collect();
    assert!(twice.is_empty(), "no message is delivered twice: {twice:?}");
    assert_left_in_order(&p, &all).await;
    assert_nothing_sent_twice(&p).await;

    let lost = p.sink.of_type("DisconnectedCallback");
    assert_eq!(lost.len(), 1, "one DisconnectedCallback for the drop, none per failed attempt");
    let error = lost[0].body["error"].as_str().unwrap_or_default();
    assert!(error.contains("Connection lost"), "{error}");
    assert_eq!(p.sink.of_type("ConnectedCallback").len(), 2, "connected at pairing and again after the drop");
    let (_, metrics) = p.http.get(&format!("{}/metrics", p.ce.dp), None).await;
    let metrics = metrics.as_str().unwrap_or_default().to_owned();
    assert!(metrics.contains("chatedge_dp_session_link_events_total{event=\"lost\"} 1"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_needs_a_new_scan_and_the_queue_waits_for_it() {
    let p = paired(&config()).await;
    let (s, v) = sim(&p, "logout", json!({"instanceId": p.inst.id})).await;
    assert_eq!(s, 200, "{v}");
    let logged_out = p.sink.wait_for(Duration::from_secs(20), "DisconnectedCallback", |e| {
        e.iter().any(|e| e.body["type"] == "DisconnectedCallback")
    });
    let error = logged_out.await.into_iter().find(|e| e.body["type"] == "DisconnectedCallback").unwrap();
    assert!(error.body["error"].as_str().unwrap().contains("Logged out"), "{}", error.body);
    let st = eventually(Duration::from_secs(5), || async {
        let st = status(&p).await;
        (st["connected"] == json!(false)).then_some(st)
    });
    let st = st.await.expect("status reports the logout");
    assert_eq!(st["error"], json!("You are not connected."), "a logout needs a new scan: {st}");

    let queued = send_texts(&p.http, &p.ce, &p.inst, 25, 10_000_301, "waiting").await;
    let (_, count) = p.http.get(&p.ce.instance_url(&p.inst, "queue/count"), None).await;
    assert_eq!(count["count"], json!(25), "{count}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(p.sink.of_type("DeliveryCallback").is_empty(), "nothing leaves while logged out");

    pair(&p.http, &p.ce, &p.inst, "5511999990001").await;
    p.sink.wait_for_zaaps(&zaap_ids(&queued), "queued messages delivered after the new scan").await;
    assert!(deliveries(&p).values().all(|n| *n == 1));
    assert_left_in_order(&p, &queued).await;
    assert_nothing_sent_twice(&p).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_drops_during_a_burst_lose_nothing_and_send_nothing_twice() {
    let p = paired(&config()).await;
    let http = p.http.clone();
    let url = p.ce.instance_url(&p.inst, "send-text");
    let burst = tokio::spawn(async move {
        let mut answers = Vec::new();
        for i in 0..300u64 {
            let body = json!({"phone": format!("55119{:08}", 20_000_001 + i), "message": format!("burst {i}")});
            let (s, v) = http.post(&url, None, &body).await;
            assert_eq!(s, 200, "{v}");
            answers.push(v);
        }
        answers
    });
    for _ in 0..5 {
        tokio::time::sleep(Duration::from_millis(60)).await;
        // The instance may be between drops (reconnecting): a 409 "not connected" is fine then.
        let _ = sim(&p, "drop", json!({"instanceId": p.inst.id, "ms": 80})).await;
        wait_connected(&p.http, &p.ce, &p.inst).await;
    }
    let answers = burst.await.unwrap();
    p.sink.wait_for_zaaps(&zaap_ids(&answers), "every message of the burst delivered").await;
    let twice: Vec<_> = deliveries(&p).into_iter().filter(|(_, n)| *n != 1).collect();
    assert!(twice.is_empty(), "a resend after a drop is recognised: {twice:?}");
    assert_left_in_order(&p, &answers).await;
    assert_nothing_sent_twice(&p).await;
    let settled = eventually(Duration::from_secs(10), || async {
        let (_, c) = p.http.get(&p.ce.instance_url(&p.inst, "queue/count"), None).await;
        (c["count"] == json!(0)).then_some(())
    });
    assert!(settled.await.is_some(), "the queue drains");
}
