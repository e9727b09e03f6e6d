use chatedge_config::snapshot::WebhookKind;

use super::*;
use crate::outbox::dead_letter::tests::{event, open};
use crate::outbox::dispatcher;

/// The ids in the outbox, in key order, with their attempts.
fn outbox(store: &Store) -> Vec<(EventId, u32)> {
    store
        .db()
        .iterator_cf(store.cf(Cf::Outbox), rocksdb::IteratorMode::Start)
        .map(|kv| StoredEvent::decode(&kv.unwrap().1).unwrap())
        .map(|e| (e.id, e.attempts))
        .collect()
}

fn window(since: u64, until: u64, kinds: &[WebhookKind]) -> Window {
    Window { since, until, kinds: kinds.to_vec() }
}

#[tokio::test]
async fn replay_requeues_delivered_and_dead_events_of_the_window_with_their_ids_and_removes_the_letters() {
    let (_dir, store) = open();
    let (a, other) = (InstanceId::generate(), InstanceId::generate());
    let delivered = [event(a, WebhookKind::Delivery, 100), event(a, WebhookKind::MessageStatus, 200)];
    let too_old = event(a, WebhookKind::Delivery, 50);
    let dead = event(a, WebhookKind::Delivery, 150);
    let dead_too_old = event(a, WebhookKind::Delivery, 60);
    let not_a = event(other, WebhookKind::Delivery, 120);
    let mut b = Batch::new();
    for e in delivered.iter().chain([&too_old, &not_a]) {
        history::record(&mut b, e);
    }
    dead_letter::record_at(&mut b, &dead, "HTTP 500", 900);
    dead_letter::record_at(&mut b, &dead_too_old, "HTTP 500", 901);
    store.commit(b).await.unwrap();
    let (notifier, _inbox) = dispatcher::channel();

    let n = replay(&store, &notifier, &a, &window(100, u64::MAX, &[])).unwrap();
    assert_eq!(n, 3);
    let mut queued: Vec<EventId> = outbox(&store)
        .into_iter()
        .map(|(id, attempts)| {
            assert_eq!(attempts, 0, "a replayed event starts its attempts again");
            id
        })
        .collect();
    queued.sort();
    let mut want = vec![delivered[0].id, delivered[1].id, dead.id];
    want.sort();
    assert_eq!(queued, want, "the window's delivered and dead events of this instance, original ids");
    assert!(dead_letter::find(&store, &a, &dead.id).unwrap().is_none(), "the replayed dead letter is pending again");
    assert!(dead_letter::find(&store, &a, &dead_too_old.id).unwrap().is_some(), "outside the window: kept");
    store.close();
}

#[tokio::test]
async fn replay_takes_only_the_asked_types_and_until_is_exclusive() {
    let (_dir, store) = open();
    let a = InstanceId::generate();
    let events = [
        event(a, WebhookKind::Delivery, 100),
        event(a, WebhookKind::MessageStatus, 110),
        event(a, WebhookKind::Delivery, 120),
    ];
    let mut b = Batch::new();
    events.iter().for_each(|e| history::record(&mut b, e));
    store.commit(b).await.unwrap();
    let (notifier, _inbox) = dispatcher::channel();
    let n = replay(&store, &notifier, &a, &window(0, 120, &[WebhookKind::Delivery])).unwrap();
    assert_eq!(n, 1);
    assert_eq!(outbox(&store).into_iter().map(|(id, _)| id).collect::<Vec<_>>(), vec![events[0].id]);
    store.close();
}

#[tokio::test]
async fn a_window_with_more_events_than_allowed_is_refused_whole() {
    let (_dir, store) = open();
    let a = InstanceId::generate();
    let mut b = Batch::new();
    for t in 0..11 {
        history::record(&mut b, &event(a, WebhookKind::Delivery, t));
    }
    store.commit(b).await.unwrap();
    let (notifier, _inbox) = dispatcher::channel();
    let refused = replay_at_most(&store, &notifier, &a, &window(0, u64::MAX, &[]), 10);
    assert!(matches!(refused, Err(ReplayError::TooMany { max: 10 })), "{refused:?}");
    assert!(outbox(&store).is_empty(), "nothing is queued when the call is refused");
    assert_eq!(replay_at_most(&store, &notifier, &a, &window(1, u64::MAX, &[]), 10).unwrap(), 10);
    store.close();
}

#[tokio::test]
async fn replay_queues_more_than_one_batch() {
    let (_dir, store) = open();
    let a = InstanceId::generate();
    let mut b = Batch::new();
    for t in 0..(CHUNK as u64 * 2 + 5) {
        history::record(&mut b, &event(a, WebhookKind::Received, t));
    }
    store.commit(b).await.unwrap();
    let (notifier, _inbox) = dispatcher::channel();
    let n = replay(&store, &notifier, &a, &window(0, u64::MAX, &[])).unwrap();
    assert_eq!(n, CHUNK * 2 + 5);
    assert_eq!(outbox(&store).len(), n);
    store.close();
}
