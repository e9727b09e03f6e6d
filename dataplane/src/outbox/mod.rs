//! outbox owns webhook events from the moment they are decided to the moment the receiver
//! answers 2xx. Events are written to the `outbox` column family in the same batch as the state
//! change that caused them (the transactional outbox), keyed `due_at ‖ event_id`; after that
//! batch commits, the committer tells the [`dispatcher`] their keys. Delivery is at-least-once:
//! an event is deleted only after a 2xx, and every attempt carries the same `webhook-id`.

pub mod dead_letter;
pub mod dispatcher;
pub mod history;
pub mod payload;
pub mod replay;
pub mod sign;

use chatedge_config::snapshot::{InstanceConfig, WebhookKind};
use chatedge_config::{EventId, InstanceId};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::store::{keys, Batch, Cf, StoreError};

pub type OutboxKey = [u8; keys::OUTBOX_KEY_LEN];

/// One webhook event as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredEvent {
    pub id: EventId,
    pub instance: InstanceId,
    pub kind: WebhookKind,
    pub url: String,
    /// The JSON body, fixed at creation so every attempt sends the same bytes.
    pub body: String,
    pub created_ms: u64,
    /// Attempts made so far.
    pub attempts: u32,
}

impl StoredEvent {
    pub fn encode(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default() // plain data: cannot fail
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("outbox event: {e}")))
    }
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
    /// that kind; `body` is built only then. `about` names what the event is about (a zaapId, a
    /// message id and status, an incoming message id) so that recreating the same event gives
    /// it the same id; events with no such subject (connected, presence) get a fresh id.
    /// Returns whether an event was added.
    pub fn add(
        &mut self,
        batch: &mut Batch,
        instance: &InstanceConfig,
        kind: WebhookKind,
        about: Option<&[&[u8]]>,
        body: impl FnOnce() -> serde_json::Value,
    ) -> bool {
        let Some(url) = instance.webhooks.get(kind) else { return false };
        let now = chatedge_config::time::unix_ms();
        let event = StoredEvent {
            id: match about {
                Some(parts) => {
                    let mut all: Vec<&[u8]> = vec![instance.id.as_bytes(), kind.name().as_bytes()];
                    all.extend_from_slice(parts);
                    EventId::derive(&all)
                }
                None => EventId::generate(),
            },
            instance: instance.id,
            kind,
            url: url.as_str().to_owned(),
            // serde's writer is ~3x faster than Value's Display (benches/webhook).
            body: serde_json::to_string(&body()).unwrap_or_default(),
            created_ms: now,
            attempts: 0,
        };
        let key = keys::outbox(now, &event.id);
        batch.put(Cf::Outbox, key, event.encode());
        self.keys.push(key);
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
/// dispatcher rescans the outbox.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::Sender<Vec<OutboxKey>>,
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
}
