use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::*;

fn event(id: &str, body: Value) -> Received {
    let bytes = body.to_string();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::hash::Hash::hash(&bytes, &mut h);
    Received {
        webhook_id: id.into(),
        at: Instant::now() + Duration::from_millis(5),
        body,
        body_hash: std::hash::Hasher::finish(&h),
        signature_ok: true,
    }
}

fn delivery(n: u32) -> Value {
    json!({"type": "DeliveryCallback", "zaapId": format!("z{n}"), "messageId": format!("m{n}")})
}

fn status(n: u32, status: &str, momment: u64) -> Value {
    json!({"type": "MessageStatusCallback", "status": status, "ids": [format!("m{n}")], "momment": momment})
}

/// Publishes z0..zn and delivers each with its SENT and READ statuses.
fn delivered(book: &ChaosBook, n: u32) {
    for i in 0..n {
        book.publish(format!("z{i}"), format!("m{i}"), Instant::now());
        book.receive(event(&format!("d{i}"), delivery(i)));
        book.receive(event(&format!("s{i}"), status(i, "SENT", 1)));
        book.receive(event(&format!("r{i}"), status(i, "READ", 2)));
    }
}

#[test]
fn a_complete_run_balances_with_nothing_lost() {
    let book = ChaosBook::default();
    delivered(&book, 3);
    book.receive(event("c1", json!({"type": "ConnectedCallback"})));
    assert_eq!(book.progress(), (3, 3));
    let a = book.settle(&HashSet::new());
    assert_eq!((a.acknowledged, a.delivered, a.acknowledged_lost, a.webhook_events_lost), (3, 3, 0, 0));
    assert_eq!((a.sent_twice, a.redeliveries, a.read_missing, a.events_received), (0, 0, 0, 10));
    assert_eq!(a.other_events.get("ConnectedCallback"), Some(&1));
}

#[test]
fn an_acknowledged_message_neither_delivered_nor_queued_is_lost() {
    let book = ChaosBook::default();
    delivered(&book, 1);
    book.publish("z7".into(), "m7".into(), Instant::now());
    book.publish("z8".into(), "m8".into(), Instant::now());
    let queued: HashSet<String> = ["z8".to_owned()].into();
    let a = book.settle(&queued);
    assert_eq!((a.acknowledged_lost, a.still_queued), (1, 1));
    assert_eq!(a.lost_samples, vec!["z7".to_owned()]);
    assert_eq!(book.progress(), (3, 1));
}

#[test]
fn the_same_bytes_again_are_a_redelivery_and_new_bytes_a_second_send() {
    let book = ChaosBook::default();
    delivered(&book, 2);
    book.receive(event("d0", delivery(0))); // redelivery after a 2xx: allowed
    book.receive(event("s0", status(0, "SENT", 1)));
    book.receive(event("s1", status(1, "SENT", 99))); // SENT decided again: sent twice
    book.receive(event("r1", status(1, "READ", 120)));
    let a = book.settle(&HashSet::new());
    assert_eq!(a.redeliveries, 2);
    assert_eq!(a.sent_twice, 1);
    assert_eq!(a.recreated_events.get("MessageStatusCallback/SENT"), Some(&1));
    assert_eq!(a.recreated_events.get("MessageStatusCallback/READ"), Some(&1));
}

#[test]
fn one_zaap_id_under_two_webhook_ids_is_a_second_send() {
    let book = ChaosBook::default();
    delivered(&book, 1);
    book.receive(event("d0-again", delivery(0)));
    assert_eq!(book.settle(&HashSet::new()).sent_twice, 1);
}

#[test]
fn missing_events_are_told_apart_from_missing_messages() {
    let book = ChaosBook::default();
    book.publish("z0".into(), "m0".into(), Instant::now());
    book.receive(event("d0", delivery(0))); // no SENT
    book.publish("z1".into(), "m1".into(), Instant::now());
    book.receive(event("s1", status(1, "SENT", 1))); // no DeliveryCallback
    book.receive(event("dx", delivery(9))); // answer lost to a kill
    let queued: HashSet<String> = ["z0".to_owned()].into();
    let a = book.settle(&queued);
    assert_eq!((a.sent_status_lost, a.delivery_event_lost, a.webhook_events_lost), (1, 1, 2));
    assert_eq!((a.acknowledged_lost, a.delivered_and_still_queued, a.delivered_unacknowledged), (0, 1, 1));
    assert_eq!(a.read_missing, 1);
}

#[test]
fn bad_signatures_and_malformed_bodies_are_counted() {
    let book = ChaosBook::default();
    book.receive(Received { signature_ok: false, ..event("x", delivery(1)) });
    book.receive(event("y", json!({"no": "type"})));
    book.receive(event("z", json!({"type": "DeliveryCallback"})));
    let a = book.settle(&HashSet::new());
    assert_eq!((a.bad_signatures, a.malformed, a.events_received), (1, 2, 3));
}
