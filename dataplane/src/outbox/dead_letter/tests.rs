use std::sync::Arc;

use chatedge_config::snapshot::WebhookKind;

use super::*;
use crate::metrics::Metrics;
use crate::outbox::requeue;

pub(crate) fn open() -> (tempfile::TempDir, Arc<Store>) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
    (dir, store)
}

/// A stored event of `instance` created at `created_ms`; its body names its id.
pub(crate) fn event(instance: InstanceId, kind: WebhookKind, created_ms: u64) -> StoredEvent {
    let id = EventId::generate();
    let body = format!(r#"{{"type":"DeliveryCallback","n":"{id}"}}"#);
    let mut e = StoredEvent::new(id, instance, kind, "DeliveryCallback".into(), body.into());
    e.created_ms = created_ms;
    e.attempts = 3;
    e
}

async fn dead(store: &Store, events: &[(&StoredEvent, u64)]) {
    let mut b = Batch::new();
    for (e, at) in events {
        record_at(&mut b, e, "HTTP 503", *at);
    }
    store.commit(b).await.unwrap();
}

#[tokio::test]
async fn an_instances_dead_letters_are_listed_newest_first_in_pages_and_no_one_elses() {
    let (_dir, store) = open();
    let (a, b) = (InstanceId::generate(), InstanceId::generate());
    let of_a: Vec<StoredEvent> = (0..5).map(|i| event(a, WebhookKind::Delivery, 1_000 + i)).collect();
    let of_b = event(b, WebhookKind::Received, 1_000);
    let mut all: Vec<(&StoredEvent, u64)> = of_a.iter().enumerate().map(|(i, e)| (e, 2_000 + i as u64)).collect();
    all.push((&of_b, 2_002));
    dead(&store, &all).await;
    let ids = |page: Vec<DeadLetter>| page.into_iter().map(|l| l.event.id).collect::<Vec<_>>();
    assert_eq!(ids(super::page(&store, &a, 1, 2).unwrap()), vec![of_a[4].id, of_a[3].id]);
    assert_eq!(ids(super::page(&store, &a, 3, 2).unwrap()), vec![of_a[0].id]);
    assert!(super::page(&store, &a, 4, 2).unwrap().is_empty());
    let only_b = super::page(&store, &b, 1, 50).unwrap();
    assert_eq!(ids(only_b.clone()), vec![of_b.id]);
    assert_eq!((only_b[0].dead_ms, only_b[0].reason.as_str()), (2_002, "HTTP 503"));
    assert_eq!(only_b[0].event, of_b, "the event comes back as it was stored");
    store.close();
}

#[tokio::test]
async fn a_dead_letter_is_found_by_event_id_and_gone_once_removed() {
    let (_dir, store) = open();
    let a = InstanceId::generate();
    let (e1, e2) = (event(a, WebhookKind::Delivery, 1), event(a, WebhookKind::Delivery, 2));
    dead(&store, &[(&e1, 10), (&e2, 11)]).await;
    let found = find(&store, &a, &e2.id).unwrap().expect("e2 is a dead letter");
    assert_eq!(found.event.id, e2.id);
    assert!(find(&store, &InstanceId::generate(), &e2.id).unwrap().is_none(), "another instance cannot see it");
    let mut b = Batch::new();
    remove(&mut b, &found.key);
    store.commit(b).await.unwrap();
    assert!(find(&store, &a, &e2.id).unwrap().is_none());
    assert!(find(&store, &a, &e1.id).unwrap().is_some());
    store.close();
}

#[tokio::test]
async fn a_long_reason_is_cut_on_a_character_boundary() {
    let (_dir, store) = open();
    let e = event(InstanceId::generate(), WebhookKind::Connected, 1);
    let reason = "é".repeat(MAX_REASON_LEN);
    let mut b = Batch::new();
    record(&mut b, &e, &reason);
    store.commit(b).await.unwrap();
    let l = find(&store, &e.instance, &e.id).unwrap().unwrap();
    assert!(l.reason.len() <= MAX_REASON_LEN && l.reason.chars().all(|c| c == 'é'), "{}", l.reason.len());
    assert_eq!(l.reason.len(), MAX_REASON_LEN);
    store.close();
}

#[tokio::test]
async fn a_requeued_event_keeps_its_id_body_and_creation_time_and_starts_its_attempts_again() {
    let (_dir, store) = open();
    let e = event(InstanceId::generate(), WebhookKind::Delivery, 1234);
    let mut b = Batch::new();
    let key = requeue(&mut b, &e);
    store.commit(b).await.unwrap();
    let stored = store.db().get_cf(store.cf(Cf::Outbox), key).unwrap().expect("in the outbox");
    let back = StoredEvent::decode(&stored).unwrap();
    assert_eq!((back.id, back.body.clone(), back.created_ms, back.attempts), (e.id, e.body.clone(), 1234, 0));
    store.close();
}

#[tokio::test]
async fn forgetting_an_instance_deletes_only_its_dead_letters() {
    let (_dir, store) = open();
    let (a, b) = (InstanceId::generate(), InstanceId::generate());
    let (ea, eb) = (event(a, WebhookKind::Delivery, 1), event(b, WebhookKind::Delivery, 1));
    dead(&store, &[(&ea, 5), (&eb, 5)]).await;
    let mut batch = Batch::new();
    forget_instance(&mut batch, &a);
    store.commit(batch).await.unwrap();
    assert!(super::page(&store, &a, 1, 10).unwrap().is_empty());
    assert_eq!(super::page(&store, &b, 1, 10).unwrap().len(), 1);
    store.close();
}
