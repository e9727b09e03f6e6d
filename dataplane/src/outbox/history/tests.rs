use chatedge_config::snapshot::WebhookKind;

use super::*;
use crate::outbox::dead_letter::tests::{event, open};

#[tokio::test]
async fn a_scan_yields_one_instances_delivered_events_in_the_window_oldest_first() {
    let (_dir, store) = open();
    let (a, b) = (InstanceId::generate(), InstanceId::generate());
    let events: Vec<StoredEvent> =
        [300u64, 100, 200, 400].iter().map(|t| event(a, WebhookKind::Delivery, *t)).collect();
    let mut batch = Batch::new();
    for e in &events {
        record(&mut batch, e);
    }
    record(&mut batch, &event(b, WebhookKind::Delivery, 200));
    store.commit(batch).await.unwrap();
    let mut seen = Vec::new();
    scan(&store, &a, 150, 400, |_, e| {
        seen.push(e.created_ms);
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(seen, vec![200, 300], "since is inclusive, until exclusive; b's event is not a's");
    let mut first = Vec::new();
    scan(&store, &a, 0, u64::MAX, |_, e| {
        first.push(e.created_ms);
        ControlFlow::Break(())
    })
    .unwrap();
    assert_eq!(first, vec![100], "the scan stops when told");
    store.close();
}

#[tokio::test]
async fn delivering_the_same_event_again_keeps_one_history_entry() {
    let (_dir, store) = open();
    let e = event(InstanceId::generate(), WebhookKind::Received, 50);
    for _ in 0..2 {
        let mut batch = Batch::new();
        record(&mut batch, &e);
        store.commit(batch).await.unwrap();
    }
    let mut n = 0;
    scan(&store, &e.instance, 0, u64::MAX, |_, _| {
        n += 1;
        ControlFlow::Continue(())
    })
    .unwrap();
    assert_eq!(n, 1);
    store.close();
}
