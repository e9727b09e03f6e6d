//! Issue 9, isolation and disabling end to end: a receiver that hangs and one that swallows
//! requests do not delay another instance's events; a 410 disables the endpoint for its
//! instance, the instance's other endpoint hears about it, and re-enabling brings it back.

use crate::common;
use crate::webhook_support;

use std::collections::HashMap;
use std::time::Instant;

use common::*;
use serde_json::json;
use webhook_support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_and_a_black_holed_receiver_do_not_delay_another_instances_events() {
    // Few slots on purpose: without per-endpoint caps the two bad endpoints would take them all.
    let cfg = config(
        "timeout = \"90s\"\nmax_in_flight_per_endpoint = 3\nfirst_attempt_slots = 8\nretry_slots = 2\n\
         retry_schedule = [\"5s\", \"5s\", \"5s\"]",
    );
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &cfg);
    let http = Http::new();
    let hanging = Receiver::start(Mode::Hang).await;
    let void = black_hole().await;
    let good = Receiver::start(Mode::Ok).await;
    // Four instances per bad endpoint: each endpoint wants four slots and gets its cap of three.
    let mut bad = Vec::new();
    for (i, url) in std::iter::repeat_n([hanging.url.clone(), void.clone()], 4).flatten().enumerate() {
        let inst = create_instance(&http, &ce, None).await;
        wait_known(&http, &ce, &inst).await;
        point_every_webhook(&http, &ce, &inst, &url).await;
        pair(&http, &ce, &inst, &format!("55119999900{:02}", i + 1)).await;
        send_texts(&http, &ce, &inst, 3, 73_001 + 100 * i as u64, "to a receiver that never answers").await;
        bad.push(inst);
    }
    let fine = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &fine).await;
    point_every_webhook(&http, &ce, &fine, &good.url).await;
    pair(&http, &ce, &fine, "5511999990099").await;
    common::eventually(PATIENCE, || async { (hanging.requests() >= 3).then_some(()) }).await.expect("hung");
    let fine = &fine;

    let mut sent_at = HashMap::new();
    let mut zaaps = Vec::new();
    for i in 0..20u64 {
        let answers = send_texts(&http, &ce, fine, 1, 75_001 + i, "to a healthy receiver").await;
        let z = zaap_list(&answers).remove(0);
        sent_at.insert(z.clone(), Instant::now());
        zaaps.push(z);
    }
    let arrivals = wait_complete(&good, &fine.id, &zaaps, "the healthy instance's events").await;
    // The bad endpoints are still stuck while every healthy event arrived: the hanging
    // receiver holds its attempts open, unanswered.
    assert!(hanging.requests() >= 3, "the hanging receiver holds attempts ({})", hanging.requests());
    assert_eq!(hanging.answered(), 0, "the hanging receiver has answered nothing");
    let delivered = wait_metric(&http, &ce, "chatedge_dp_webhook_deliveries_total", "delivered", 1.0).await;
    assert_in_order(&arrivals, &fine.id, &zaaps);
    let mut latencies: Vec<_> = first_arrivals(&arrivals)
        .iter()
        .filter(|a| a.body["type"] == "DeliveryCallback")
        .filter_map(|a| a.body["zaapId"].as_str().and_then(|z| sent_at.get(z)).map(|t| a.at.duration_since(*t)))
        .collect();
    println!(
        "healthy instance's DeliveryCallback latency (send answered → arrival) while two endpoints hang: {}",
        latency_summary(&mut latencies)
    );
    // Read after the metric: every delivery the server counted is one the healthy receiver
    // answered 200, none went to the bad endpoints.
    let healthy_answers = good.delivered().len() as f64;
    assert!(
        delivered > 0.0 && delivered <= healthy_answers,
        "{delivered} delivered, {healthy_answers} at the healthy receiver"
    );
    assert_eq!(hanging.requests(), 3, "the hanging endpoint holds no more than its cap of three attempts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_410_disables_the_endpoint_tells_the_other_endpoints_and_enable_brings_it_back() {
    let cfg = config("retry_schedule = [\"500ms\", \"1s\", \"1s\"]");
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &cfg);
    let http = Http::new();
    let gone = Receiver::start(Mode::Gone).await;
    let other = Receiver::start(Mode::Ok).await;
    let gone_url = format!("{}?token=s3cret", gone.url);
    let inst = create_instance(&http, &ce, None).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    set_webhook(&http, &ce, &inst, "update-webhook-delivery", &gone_url).await;
    set_webhook(&http, &ce, &inst, "update-webhook-message-status", &other.url).await;
    send_texts(&http, &ce, &inst, 1, 76_001, "to a gone receiver").await;

    let notice = other
        .wait_for("the WebhookEndpointDisabled notice", |d| {
            d.iter().any(|a| a.body["type"] == "WebhookEndpointDisabled")
        })
        .await
        .into_iter()
        .find(|a| a.body["type"] == "WebhookEndpointDisabled")
        .unwrap();
    assert_eq!(notice.body["instanceId"], inst.id.as_str());
    assert_eq!(notice.body["url"], gone.url.as_str(), "the URL is shown without its query string");
    assert_eq!(notice.body["reason"], "gone");
    assert!(notice.body["disabledAt"].as_u64().is_some() && notice.body["momment"].as_u64().is_some());
    assert_eq!(gone.requests(), 1, "a 410 is not retried");

    let (s, list) = http.get(&ce.instance_url(&inst, "webhook-endpoints"), None).await;
    assert_eq!(s, 200, "{list}");
    let row = list.as_array().unwrap().iter().find(|r| r["url"] == gone.url.as_str()).cloned().unwrap();
    assert_eq!(row["state"], "disabled", "{list}");
    assert_eq!(row["kinds"], json!(["delivery"]));
    assert!(!list.to_string().contains("s3cret"), "no query string is shown: {list}");

    // New events of the disabled endpoint go to dead letters, not to it.
    send_texts(&http, &ce, &inst, 2, 76_101, "while disabled").await;
    wait_metric(&http, &ce, "chatedge_dp_webhook_deliveries_total", "disabled", 2.0).await;
    assert_eq!(gone.requests(), 1);

    let (s, v) = http
        .post(&ce.instance_url(&inst, "webhook-endpoints/enable"), None, &json!({"url": "http://nowhere.example/x"}))
        .await;
    assert_eq!(s, 400, "{v}");
    assert!(v["error"].is_string() && v["message"].as_str().unwrap().contains("nowhere.example"), "{v}");

    gone.set(Mode::Ok);
    let (s, v) = http.post(&ce.instance_url(&inst, "webhook-endpoints/enable"), None, &json!({"url": gone.url})).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["wasDisabled"], true);
    let zaaps = zaap_list(&send_texts(&http, &ce, &inst, 1, 76_201, "after re-enabling").await);
    gone.wait_for("a delivery after re-enabling", |d| d.iter().any(|a| a.body["zaapId"] == zaaps[0].as_str())).await;
    let (_, list) = http.get(&ce.instance_url(&inst, "webhook-endpoints"), None).await;
    let row = list.as_array().unwrap().iter().find(|r| r["url"] == gone.url.as_str()).cloned().unwrap();
    assert_eq!(row["state"], "healthy", "{list}");

    // Gone again; this time setting the URL again is what re-enables it.
    gone.set(Mode::Gone);
    send_texts(&http, &ce, &inst, 1, 76_301, "gone again").await;
    let state = |want: &'static str| {
        let (http, url, gone_url) = (&http, ce.instance_url(&inst, "webhook-endpoints"), gone.url.clone());
        async move {
            common::eventually(PATIENCE, || async {
                let (_, list) = http.get(&url, None).await;
                list.as_array()?.iter().any(|r| r["url"] == gone_url.as_str() && r["state"] == want).then_some(())
            })
            .await
            .unwrap_or_else(|| panic!("the endpoint never became {want}"))
        }
    };
    state("disabled").await;
    gone.set(Mode::Ok);
    set_webhook(&http, &ce, &inst, "update-webhook-delivery", &gone_url).await;
    state("healthy").await;
    let zaaps = zaap_list(&send_texts(&http, &ce, &inst, 1, 76_401, "after setting the URL again").await);
    gone.wait_for("a delivery after setting the URL again", |d| {
        d.iter().any(|a| a.body["zaapId"] == zaaps[0].as_str())
    })
    .await;
}
