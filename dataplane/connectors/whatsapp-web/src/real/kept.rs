//! Messages kept for forwarding: WhatsApp forwards a message by sending its body again (its
//! media from the same CDN blob, marked forwarded), so the body of every message this instance
//! sends or receives is kept for [`KEPT_DAYS`] in the engine's part of the instance's store,
//! under the day it was kept, and a whole day is dropped at once when it ages out. Texts,
//! links, locations, contact cards, media and polls are kept; reactions, deletes, votes and pins
//! are not (they are not forwarded).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chatedge_connector::{KvBatch, KvStore};
use whatsapp_rust::waproto::buffa::Message as _;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::engine::EngineError;

/// Where kept messages live (`cm/` ‖ day ‖ `/` ‖ wire id; the engine's own tables are a
/// two-letter tag and a 0 byte).
const PREFIX: &[u8] = b"cm/";
/// How long a message can be forwarded after it was sent or received.
pub const KEPT_DAYS: u32 = 30;
/// Days before the oldest kept one that a day's pruning clears too (a node that was down when
/// they aged out).
const CATCH_UP_DAYS: u32 = 14;
const DAY_MS: u64 = 86_400_000;

fn day_of(ms: u64) -> u32 {
    (ms / DAY_MS) as u32
}

fn day_prefix(day: u32) -> Vec<u8> {
    [PREFIX, &day.to_be_bytes()[..], b"/"].concat()
}

fn key(day: u32, wire_id: &str) -> Vec<u8> {
    [day_prefix(day), wire_id.as_bytes().to_vec()].concat()
}

/// One instance's kept messages.
pub struct Kept {
    store: Arc<dyn KvStore>,
    /// The last day whose aged-out days were cleared (0: none yet since start).
    pruned: AtomicU32,
}

impl Kept {
    pub fn new(store: Arc<dyn KvStore>) -> Kept {
        Kept { store, pruned: AtomicU32::new(0) }
    }

    /// Keeps the bodies of `messages` (wire id, body) sent or received at `now_ms`, durably
    /// (the caller chooses which: content, not acts on other messages).
    pub async fn keep(&self, messages: &[(&str, &wa::Message)], now_ms: u64) -> Result<(), EngineError> {
        let today = day_of(now_ms);
        let mut batch = KvBatch::new();
        for (id, message) in messages {
            batch.put(key(today, id), message.encode_to_vec());
        }
        if batch.is_empty() {
            return Ok(());
        }
        let pruning = self.pruned.swap(today, Ordering::Relaxed) != today;
        if pruning {
            let oldest_kept = today.saturating_sub(KEPT_DAYS);
            for day in oldest_kept.saturating_sub(CATCH_UP_DAYS)..oldest_kept {
                batch.delete_prefix(day_prefix(day));
            }
        }
        let written = self.store.write(batch).await.map_err(|e| EngineError::Store(e.to_string()));
        if written.is_err() && pruning {
            self.pruned.store(0, Ordering::Relaxed); // try the pruning again with the next write
        }
        written
    }

    /// The kept body of the message `wire_id`, looked for from today back [`KEPT_DAYS`].
    pub fn find(&self, wire_id: &str, now_ms: u64) -> Result<Option<wa::Message>, EngineError> {
        let today = day_of(now_ms);
        for day in (today.saturating_sub(KEPT_DAYS)..=today).rev() {
            let Some(bytes) = self.store.get(&key(day, wire_id)).map_err(|e| EngineError::Store(e.to_string()))? else {
                continue;
            };
            let message = wa::Message::decode_from_slice(&bytes)
                .map_err(|e| EngineError::Store(format!("kept message {wire_id}: {e}")))?;
            return Ok(Some(message));
        }
        Ok(None)
    }
}
