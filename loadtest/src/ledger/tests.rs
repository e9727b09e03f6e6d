use std::time::Duration;

use serde_json::json;

use super::*;

fn event(id: &str, at: Instant, body: Value) -> Received {
    Received { webhook_id: id.into(), at, body, body_hash: 0, signature_ok: true }
}

fn delivery(message: &str) -> Value {
    json!({"type": "DeliveryCallback", "messageId": message, "zaapId": "z", "phone": "5511999990001"})
}

fn status(status: &str, message: &str) -> Value {
    json!({"type": "MessageStatusCallback", "status": status, "ids": [message], "phone": "5511999990001"})
}

#[test]
fn published_equals_delivered_plus_missing_and_every_event_is_counted() {
    let t0 = Instant::now();
    let ms = |n: u64| t0 + Duration::from_millis(n);
    let ledger = Ledger::default();
    for i in 0..10 {
        ledger.publish(format!("m{i}"), ms(0));
    }
    // m0..m6 delivered; m7..m9 missing.
    for i in 0..7 {
        ledger.receive(event(&format!("d{i}"), ms(10), delivery(&format!("m{i}"))));
    }
    ledger.receive(event("d0", ms(11), delivery("m0"))); // redelivery: same webhook-id
    ledger.receive(event("d0b", ms(12), delivery("m0"))); // same message, new webhook-id
    ledger.receive(event("dx", ms(12), delivery("not-ours"))); // never published here
    let mut failed = delivery("m6");
    failed["error"] = json!("unreachable");
    ledger.receive(event("d6b", ms(13), failed));
    for i in 0..5 {
        ledger.receive(event(&format!("r{i}"), ms(30), status("READ", &format!("m{i}"))));
        ledger.receive(event(&format!("s{i}"), ms(20), status("RECEIVED", &format!("m{i}"))));
    }
    ledger.receive(event("r0", ms(31), status("READ", "m0"))); // duplicate
    ledger.receive(event("c1", ms(1), json!({"type": "ConnectedCallback"})));
    ledger.receive(event("junk", ms(1), json!({"hello": 1})));
    ledger.receive(Received { signature_ok: false, ..event("bad", ms(1), json!({"type": "DeliveryCallback"})) });

    let (a, lat) = ledger.account();
    assert_eq!(a.published, 10);
    assert_eq!(a.delivered, 7);
    assert_eq!(a.missing, 3);
    assert_eq!(a.published, a.delivered + a.missing);
    assert_eq!(a.read, 5);
    assert_eq!(a.unread, 2, "m5 and m6 were delivered without error and never read");
    assert_eq!(a.statuses.get("RECEIVED"), Some(&5));
    assert_eq!(a.duplicates, 2);
    assert_eq!(a.repeated_deliveries, 2);
    assert_eq!(a.unmatched_deliveries, 1);
    assert_eq!(a.delivery_errors, 0, "m6's first DeliveryCallback had no error");
    assert_eq!(a.other_events.get("ConnectedCallback"), Some(&1));
    assert_eq!(a.malformed, 2);
    assert_eq!(a.bad_signatures, 1);
    assert_eq!(a.events_received, 25);
    assert!(a.events_balance(), "{a:?}");
    assert_eq!(lat.delivery.len(), 7);
    assert!((a.delivery_latency_ms.p50 - 10.0).abs() < 0.05, "{:?}", a.delivery_latency_ms);
    assert!((a.read_latency_ms.max - 30.0).abs() < 0.05, "{:?}", a.read_latency_ms);
    assert_eq!(ledger.progress(), (10, 7, 5));
}

#[test]
fn latency_counts_from_the_send_even_for_events_that_beat_the_answer() {
    // Sent at t0; the DeliveryCallback came at +2 ms, before the answer (+3 ms), which is
    // when the messageId became known and the message was published with its send time.
    let t0 = Instant::now();
    let ledger = Ledger::default();
    ledger.receive(event("d", t0 + Duration::from_millis(2), delivery("m")));
    ledger.publish("m".into(), t0);
    let (a, _) = ledger.account();
    assert_eq!((a.published, a.delivered, a.missing, a.unmatched_deliveries), (1, 1, 0, 0));
    assert!((a.delivery_latency_ms.max - 2.0).abs() < 0.05, "{:?}", a.delivery_latency_ms);
}

#[test]
fn empty_books_balance() {
    let (a, _) = Ledger::default().account();
    assert_eq!(a.published, a.delivered + a.missing);
    assert!(a.events_balance());
}
