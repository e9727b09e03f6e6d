//! The whole send path against the real binary: create → pair → send → webhooks.

use crate::common;

use std::collections::{HashMap, HashSet};

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_sent_message_gets_a_signed_delivery_and_sent_received_read_statuses() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;

    let answers = send_texts(&http, &ce, &inst, 500, 20_001, "message").await;
    let mut order = Vec::new(); // messageIds in acceptance order
    let mut zaap_to_message = HashMap::new();
    for v in &answers {
        let (zaap, mid) = (v["zaapId"].as_str().unwrap().to_owned(), v["messageId"].as_str().unwrap().to_owned());
        assert_eq!(v["id"], v["messageId"], "Z-API: id repeats messageId for Zapier");
        assert_eq!(zaap.len(), 32);
        order.push(mid.clone());
        zaap_to_message.insert(zaap, mid);
    }

    let events = sink
        .wait_for(PATIENCE, "500 deliveries and 1500 statuses", |events| {
            let delivered: HashSet<_> = events
                .iter()
                .filter(|e| e.body["type"] == "DeliveryCallback")
                .map(|e| e.body["zaapId"].clone())
                .collect();
            let statuses = events.iter().filter(|e| e.body["type"] == "MessageStatusCallback").count();
            delivered.len() == 500 && statuses >= 1500
        })
        .await;

    for e in &events {
        assert!(e.signed_by(&inst.secret), "bad signature on {}", e.body);
        assert!(e.id.starts_with("evt_"), "webhook-id {}", e.id);
        assert!(e.timestamp.parse::<u64>().is_ok());
        assert_eq!(e.body["instanceId"], json!(inst.id));
    }
    for d in events.iter().filter(|e| e.body["type"] == "DeliveryCallback") {
        let zaap = d.body["zaapId"].as_str().unwrap();
        assert_eq!(
            d.body["messageId"].as_str(),
            zaap_to_message.get(zaap).map(String::as_str),
            "delivery pairs zaapId and messageId"
        );
        assert!(d.body.get("error").is_none(), "{}", d.body);
    }
    let mut statuses: HashMap<String, HashSet<String>> = HashMap::new();
    let mut sent_at = HashMap::new();
    for s in events.iter().filter(|e| e.body["type"] == "MessageStatusCallback") {
        let id = s.body["ids"][0].as_str().unwrap().to_owned();
        let status = s.body["status"].as_str().unwrap().to_owned();
        if status == "SENT" {
            sent_at.insert(id.clone(), s.body["momment"].as_u64().unwrap());
        }
        statuses.entry(id).or_default().insert(status);
    }
    for mid in &order {
        let got = statuses.get(mid).cloned().unwrap_or_default();
        for want in ["SENT", "RECEIVED", "READ"] {
            assert!(got.contains(want), "message {mid} lacks {want}: {got:?}");
        }
    }
    // Messages of one instance leave in the order they were accepted.
    let times: Vec<u64> = order.iter().map(|m| sent_at[m]).collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "SENT times follow acceptance order");
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 0}));

    // Both planes account for what happened in /metrics.
    let (_, dp) = http.get(&format!("{}/metrics", ce.dp), None).await;
    let dp = dp.as_str().unwrap();
    for line in [
        "chatedge_dp_messages_total{outcome=\"accepted\"} 500",
        "chatedge_dp_messages_total{outcome=\"sent\"} 500",
        "chatedge_dp_http_requests_total{dialect=\"zapi\",route=\"zapi.send-text\",status=\"200\"} 500",
    ] {
        assert!(dp.contains(line), "dp metrics lack {line}");
    }
    for family in [
        "chatedge_dp_webhook_attempts_total{outcome=\"delivered\"}",
        "chatedge_dp_store_commit_seconds_bucket",
        "chatedge_dp_sessions{shard=",
        "chatedge_dp_config_version",
    ] {
        assert!(dp.contains(family), "dp metrics lack {family}");
    }
    let (_, cp) = http.get(&format!("{}/metrics", ce.cp), None).await;
    let cp = cp.as_str().unwrap();
    assert!(cp.contains("chatedge_cp_instances 1") && cp.contains("chatedge_cp_config_streams_open 1"), "{cp}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_recipient_not_on_the_network_is_reported_through_the_delivery_webhook() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;
    let (status, v) = http
        .post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": "5511912340000", "message": "hi"}))
        .await;
    assert_eq!(status, 200, "{v}");
    let zaap = v["zaapId"].clone();
    let events = sink
        .wait_for(PATIENCE, "the failed delivery", |e| {
            e.iter().any(|r| r.body["type"] == "DeliveryCallback" && r.body["zaapId"] == zaap)
        })
        .await;
    let d = events.iter().find(|r| r.body["zaapId"] == zaap).unwrap();
    assert!(d.body["error"].as_str().is_some_and(|e| e.contains("not on the network")), "{}", d.body);
    assert_eq!(d.body["phone"], "5511912340000");
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count["count"], 0, "a refused message leaves the queue");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incoming_message_produces_a_received_callback() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;
    let body = json!({"instanceId": inst.id, "phone": "5544999999999", "message": "olá!"});
    let (status, v) = http.post(&format!("{}/sim/inbound", ce.dp), Some(&ce.admin_token), &body).await;
    assert_eq!(status, 200, "{v}");
    let events =
        sink.wait_for(PATIENCE, "ReceivedCallback", |e| e.iter().any(|r| r.body["type"] == "ReceivedCallback")).await;
    let r = events.iter().find(|r| r.body["type"] == "ReceivedCallback").unwrap();
    assert_eq!(r.path, "/received");
    assert_eq!(r.body["text"]["message"], "olá!");
    assert_eq!(r.body["phone"], "5544999999999");
    assert_eq!(r.body["fromMe"], false);
    assert_eq!(r.body["connectedPhone"], "5511999990001");
    assert_eq!(r.body["messageId"], v["messageId"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_webhook_receiver_gets_the_same_event_again_until_it_accepts() {
    let Paired { dir: _dir, ce, http, sink, inst } = paired(FAST).await;
    sink.wait_for(PATIENCE, "ConnectedCallback", |e| e.iter().any(|r| r.body["type"] == "ConnectedCallback")).await;
    sink.fail_next(6);
    let (_, v) =
        http.post(&ce.instance_url(&inst, "send-text"), None, &json!({"phone": "5511999998888", "message": "x"})).await;
    let zaap = v["zaapId"].clone();
    sink.wait_for(PATIENCE, "the delivery after retries", |e| e.iter().any(|r| r.body["zaapId"] == zaap)).await;
    let failed = sink.failed_ids();
    assert_eq!(failed.len(), 6);
    // Every event refused with 503 comes again under the same webhook-id until accepted.
    let events = sink
        .wait_for(PATIENCE, "every refused event to be retried", |e| {
            let accepted: HashSet<_> = e.iter().map(|r| r.id.clone()).collect();
            failed.iter().all(|id| accepted.contains(id))
        })
        .await;
    assert!(sink.attempts() >= events.len() + 6, "failed attempts were retried");
}
