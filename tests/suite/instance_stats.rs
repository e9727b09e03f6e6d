//! Per-instance message counts and the per-instance daily limit (issue 10 §5), end to end:
//! `GET /instances/{id}/token/{token}/stats` after N sends and M received messages, a daily
//! limit set by the integrator refused at N+1 in Z-API's error shape and lifted the next day
//! on the test clocks, the operator removing it, and counts that survive a `kill -9` of both
//! planes without counting anything twice.

use crate::accounts_support;
use crate::common;

use std::time::Duration;

use accounts_support::*;
use common::*;
use hyper::Method;
use serde_json::{json, Value};

const CUSTOMER: &str = "5511955550001";

/// Moves both planes' test clocks: the control plane's ("today" of the stats) and the data
/// plane's (the day a send counts on, and when a daily limit resets).
async fn set_clocks(http: &Http, ce: &Chatedge, rfc3339: &str, unix_ms: u64) {
    set_clock(http, ce, rfc3339).await;
    let (s, v) = http.post(&format!("{}/admin/clock", ce.dp), Some(&ce.admin_token), &json!({"nowMs": unix_ms})).await;
    assert_eq!(s, 200, "data plane clock: {v}");
}

async fn stats(http: &Http, ce: &Chatedge, inst: &Instance) -> Value {
    let (s, v) = http.get(&ce.instance_url(inst, "stats"), None).await;
    assert_eq!(s, 200, "stats: {v}");
    v
}

/// Waits until the stats answer `want` (reports reach the control plane every 2 s).
async fn wait_stats(http: &Http, ce: &Chatedge, inst: &Instance, want: Value) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let last = stats(http, ce, inst).await;
        if last == want {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "stats never became {want}; last {last}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn send(http: &Http, ce: &Chatedge, inst: &Instance, i: u32) -> (u16, Value) {
    http.post(&ce.instance_url(inst, "send-text"), None, &json!({"phone": CUSTOMER, "message": format!("m{i}")})).await
}

async fn inbound(http: &Http, ce: &Chatedge, inst: &Instance, text: &str) {
    let body = json!({"instanceId": inst.id, "phone": "5511955550002", "message": text});
    let (s, v) = http.post(&format!("{}/sim/inbound", ce.dp), Some(&ce.admin_token), &body).await;
    assert_eq!(s, 200, "sim/inbound: {v}");
}

async fn set_limit(http: &Http, url: &str, token: &str, limit: Value) -> (u16, Value) {
    let body = json!({ "dailyLimit": limit }).to_string().into_bytes();
    http.raw(Method::PUT, url, Some(token), &[("content-type", "application/json")], body).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn counts_sends_and_received_messages_and_enforces_a_daily_limit_until_the_next_day() {
    let dir = temp_dir();
    let ce = up(dir.path());
    let http = Http::new();
    // 2030-03-10T10:00:00Z
    set_clocks(&http, &ce, "2030-03-10T10:00:00Z", 1_899_367_200_000).await;
    let inst = create(&http, &ce, &ce.integrator_token, "counted").await;
    pair(&http, &ce, &inst, "5511955550009").await;
    let unlimited = json!({"messages_sent_today": 0, "messages_received_today": 0, "daily_limit": null,
        "remaining_quota": null, "messages_this_month": 0});
    assert_eq!(stats(&http, &ce, &inst).await, unlimited, "a new instance: nothing counted, no limit");

    // The integrator limits its own instance to 3 messages a day.
    let own = format!("{}/integrator/instances/{}/daily-limit", ce.cp, inst.id);
    let (s, v) = set_limit(&http, &own, &ce.integrator_token, json!(3)).await;
    assert_eq!((s, v["dailyLimit"].clone()), (200, json!(3)), "{v}");
    for i in 0..3 {
        let (s, v) = send(&http, &ce, &inst, i).await;
        assert_eq!(s, 200, "send {i} under the limit: {v}");
    }
    let (s, v) = send(&http, &ce, &inst, 3).await;
    assert_eq!(s, 429, "the 4th send of the day is over the limit: {v}");
    assert_eq!(v["error"], json!("Daily limit reached"));
    let message = v["message"].as_str().unwrap_or_default();
    assert!(message.contains("daily limit of 3 messages"), "the refusal names the limit: {message}");
    inbound(&http, &ce, &inst, "first").await;
    inbound(&http, &ce, &inst, "second").await;
    let day_one = json!({"messages_sent_today": 3, "messages_received_today": 2, "daily_limit": 3,
        "remaining_quota": 0, "messages_this_month": 3});
    wait_stats(&http, &ce, &inst, day_one.clone()).await;
    let delivered = eventually(Duration::from_secs(20), || async {
        let url = format!("{}/sim/received?instanceId={}&phone={CUSTOMER}", ce.dp, inst.id);
        let (_, v) = http.get(&url, Some(&ce.admin_token)).await;
        (v["messages"].as_array().map_or(0, Vec::len) == 3).then_some(())
    });
    assert!(delivered.await.is_some(), "the three accepted sends went out, the refused one did not");

    // Both planes killed and restarted: the counts are on disk on both sides, and the data
    // plane's reports restate them — nothing counts twice.
    ce.kill_9();
    let ce = up(dir.path());
    wait_connected(&http, &ce, &inst).await;
    tokio::time::sleep(Duration::from_secs(5)).await; // two report periods after the restart
    assert_eq!(stats(&http, &ce, &inst).await, day_one, "the same counts after a restart of both planes");
    let (s, _) = send(&http, &ce, &inst, 4).await;
    assert_eq!(s, 429, "the day's count survived the restart on the data plane");

    // The next day (UTC) on both clocks: the limit is lifted, today starts at zero.
    set_clocks(&http, &ce, "2030-03-11T00:00:01Z", 1_899_417_601_000).await;
    let (s, v) = send(&http, &ce, &inst, 5).await;
    assert_eq!(s, 200, "a new day: {v}");
    wait_stats(
        &http,
        &ce,
        &inst,
        json!({"messages_sent_today": 1, "messages_received_today": 0, "daily_limit": 3,
            "remaining_quota": 2, "messages_this_month": 4}),
    )
    .await;

    // The operator removes the limit; another account cannot touch it.
    let own = format!("{}/integrator/instances/{}/daily-limit", ce.cp, inst.id); // the new port
    let other = create_account(&http, &ce, "other corp").await;
    let (s, v) = set_limit(&http, &own, &other.token, json!(1)).await;
    assert_eq!((s, v["error"].clone()), (404, json!("Instance not found")), "{v}");
    let admin = format!("{}/admin/instances/{}/daily-limit", ce.cp, inst.id);
    let (s, v) = set_limit(&http, &admin, &ce.admin_token, Value::Null).await;
    assert_eq!((s, v["dailyLimit"].clone()), (200, Value::Null), "{v}");
    for i in 6..9 {
        let (s, v) = send(&http, &ce, &inst, i).await;
        assert_eq!(s, 200, "no limit any more: {v}");
    }
    wait_stats(
        &http,
        &ce,
        &inst,
        json!({"messages_sent_today": 4, "messages_received_today": 0, "daily_limit": null,
            "remaining_quota": null, "messages_this_month": 7}),
    )
    .await;
    drop(ce);
    drop(dir);
}
