//! outbox owns webhook events from the moment they are decided to the moment the receiver
//! answers 2xx. Events are written to the `outbox` column family in the same batch as the state
//! change that caused them (the transactional outbox), keyed `instance ‖ queue ‖ seq`: a
//! *queue* is one webhook kind of one instance, `seq` a process-wide monotonic number given
//! when the event joins its batch, so within an instance seq order is the order events
//! happened. After that batch commits, the committer tells the [`dispatcher`] their keys.
//! Delivery is at-least-once and ordered per (instance, endpoint): an event is deleted only
//! after a 2xx (or when it goes to dead letters), every attempt carries the same `webhook-id`,
//! and the URL is looked up when the event is delivered, not when it was created. Nothing
//! here blocks: building events runs on the shard thread that owns the instance.

mod attempt;
pub mod breaker;
pub mod client;
pub mod dead_letter;
pub mod dispatcher;
pub mod endpoints;
pub mod event;
pub mod history;
mod lanes;
pub mod payload;
mod reader;
pub mod replay;
pub mod retry;
pub mod sign;

use std::sync::atomic::{AtomicU64, Ordering};

use chatedge_config::snapshot::{InstanceConfig, WebhookDialect, WebhookKind};
use chatedge_config::{EventId, InstanceId};
use tokio::sync::mpsc;

pub use event::StoredEvent;

use crate::store::{keys, Batch, Cf};

pub type OutboxKey = [u8; keys::OUTBOX_KEY_LEN];

/// The queue id of `kind`: its index in `WebhookKind::ALL` (stable: the order never changes).
pub fn queue_of(kind: WebhookKind) -> u8 {
    WebhookKind::ALL.iter().position(|k| *k == kind).unwrap_or(0) as u8
}

/// The kind a queue id stands for, if any.
pub fn kind_of(queue: u8) -> Option<WebhookKind> {
    WebhookKind::ALL.get(queue as usize).copied()
}

/// The last seq handed out; seqs are `max(last + 1, unix_micros)`, so they stay ordered across
/// restarts (the clock has moved on) and within one process (strictly increasing). The
/// dispatcher's start-up scan raises it to the highest stored seq ([`seed_seq`]), so a clock
/// set back across a restart cannot put new events before stored ones.
static LAST_SEQ: AtomicU64 = AtomicU64::new(0);

/// Raises the seq counter to at least `highest` (the highest seq found in the store).
pub fn seed_seq(highest: u64) {
    LAST_SEQ.fetch_max(highest, Ordering::AcqRel);
}

/// The next outbox seq (process-wide, strictly increasing).
pub fn next_seq() -> u64 {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0);
    let mut next = 0;
    // fetch_update only fails when the closure returns None, which it never does.
    let _ = LAST_SEQ.fetch_update(Ordering::AcqRel, Ordering::Acquire, |last| {
        next = now.max(last + 1);
        Some(next)
    });
    next
}

/// Puts `event` into `batch` at the tail of its queue under a fresh seq; returns its key.
fn put(batch: &mut Batch, event: &StoredEvent) -> OutboxKey {
    let key = keys::outbox(&event.instance, queue_of(event.kind), next_seq());
    batch.put(Cf::Outbox, key, event.encode());
    key
}

/// Puts an existing event (same id, same body, `created_ms` kept, attempts and not-before
/// reset) at the tail of its queue. The caller commits the batch, then calls
/// [`Notifier::notify`] with the key. Used by dead-letter retry and replay.
pub fn requeue(batch: &mut Batch, event: &StoredEvent) -> OutboxKey {
    let mut fresh = event.clone();
    fresh.attempts = 0;
    fresh.not_before_ms = 0;
    fresh.last_error = None;
    put(batch, &fresh)
}

/// Collects the events one state change produces, into that change's batch.
#[derive(Debug, Default)]
pub struct Events {
    keys: Vec<OutboxKey>,
}

impl Events {
    pub fn new() -> Self {
        Events::default()
    }

    /// Adds an event of `kind` for `instance` to `batch`, if the instance has a webhook URL for
    /// that kind and its webhooks speak `dialect`, the dialect `body` is written in; `body` is
    /// built only then. `about` names what the event is about (a zaapId, a message id and
    /// status, an incoming message id) so that recreating the same event gives it the same id;
    /// events with no such subject (connected, presence) get a fresh id. Returns whether an
    /// event was added.
    pub fn add(
        &mut self,
        batch: &mut Batch,
        instance: &InstanceConfig,
        dialect: WebhookDialect,
        kind: WebhookKind,
        about: Option<&[&[u8]]>,
        body: impl FnOnce() -> serde_json::Value,
    ) -> bool {
        if instance.webhooks.dialect != dialect || instance.webhooks.get(kind).is_none() {
            return false;
        }
        let id = match about {
            Some(parts) => {
                let mut all: Vec<&[u8]> = vec![instance.id.as_bytes(), kind.name().as_bytes()];
                all.extend_from_slice(parts);
                EventId::derive(&all)
            }
            None => EventId::generate(),
        };
        let body = body();
        // Z-API names its callbacks in `type`, Zami in `name`, Zapini in `event`.
        let name =
            ["type", "name", "event"].iter().find_map(|f| body.get(f)?.as_str()).unwrap_or(kind.name()).to_owned();
        // serde's writer is ~3x faster than Value's Display (benches/webhook).
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let event = StoredEvent::new(id, instance.id, kind, name, bytes.into());
        self.keys.push(put(batch, &event));
        true
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    pub fn into_keys(self) -> Vec<OutboxKey> {
        self.keys
    }
}

/// Tells the dispatcher about committed events. Called from the committer thread, so it never
/// blocks: when the dispatcher's channel is full it raises the overflow flag instead and the
/// dispatcher rescans the outbox (a prefix-skipping scan: one seek per non-empty queue).
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Vec<OutboxKey>>,
    control: mpsc::Sender<dispatcher::Control>,
    overflow: std::sync::Arc<std::sync::atomic::AtomicBool>,
    wake: std::sync::Arc<tokio::sync::Notify>,
}

impl Notifier {
    pub fn notify(&self, keys: Vec<OutboxKey>) {
        if keys.is_empty() {
            return;
        }
        if self.tx.try_send(keys).is_err() {
            self.overflow.store(true, std::sync::atomic::Ordering::Release);
            self.wake.notify_one();
        }
    }

    /// Hands a request from the API to the dispatcher; false when it is gone (shutting down).
    pub async fn control(&self, request: dispatcher::Control) -> bool {
        self.control.send(request).await.is_ok()
    }
}

/// The instance an outbox key belongs to and its queue.
pub fn queue_key(key: &OutboxKey) -> Option<(InstanceId, u8, u64)> {
    keys::parse_outbox(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seqs_strictly_increase_across_threads() {
        let handles: Vec<_> =
            (0..4).map(|_| std::thread::spawn(|| (0..1000).map(|_| next_seq()).collect::<Vec<_>>())).collect();
        let mut all: Vec<u64> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
        let n = all.len();
        for w in all.chunks(1000) {
            assert!(w.windows(2).all(|p| p[0] < p[1]), "one thread's seqs increase");
        }
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "no seq is handed out twice");
    }

    #[test]
    fn a_seeded_counter_hands_out_seqs_above_the_highest_stored_one() {
        let far_future = next_seq() + 3_600_000_000_000; // an hour of micros ahead of the clock
        seed_seq(far_future);
        assert!(next_seq() > far_future);
        seed_seq(1); // never lowers it
        assert!(next_seq() > far_future);
    }

    #[test]
    fn queue_ids_round_trip_every_kind() {
        for kind in WebhookKind::ALL {
            assert_eq!(kind_of(queue_of(kind)), Some(kind));
        }
        assert_eq!(kind_of(200), None);
    }

    #[test]
    fn requeue_puts_the_same_event_at_the_tail_with_its_attempts_reset() {
        let mut e = StoredEvent::new(
            EventId::generate(),
            InstanceId::generate(),
            WebhookKind::Received,
            "ReceivedCallback".into(),
            bytes::Bytes::from_static(b"{}"),
        );
        e.attempts = 7;
        e.not_before_ms = 99;
        let mut b1 = Batch::new();
        let first = put(&mut b1, &e);
        let mut b2 = Batch::new();
        let again = requeue(&mut b2, &e);
        assert!(again > first, "the requeued event sorts after what was queued before");
        let crate::store::Op::Put(_, _, value) = &b2.ops()[0] else { panic!("a put") };
        let back = StoredEvent::decode(value).unwrap();
        assert_eq!((back.id, back.attempts, back.not_before_ms, back.created_ms), (e.id, 0, 0, e.created_ms));
    }
}
