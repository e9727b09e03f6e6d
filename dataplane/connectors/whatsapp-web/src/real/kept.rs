//! Messages kept for forwarding: WhatsApp forwards a message by sending its body again (its
//! media from the same CDN blob, marked forwarded), so the body of every message this instance
//! sends or receives is kept for [`KEPT_DAYS`] in the engine's part of the instance's store,
//! under the day it was kept, and a whole day is dropped at once when it ages out. Texts,
//! links, locations, contact cards, media and polls are kept; reactions, deletes, votes and pins
//! are not (they are not forwarded).

use std::sync::Arc;

use chatedge_connector::KvStore;
use whatsapp_rust::waproto::buffa::Message as _;
use whatsapp_rust::waproto::whatsapp as wa;

use super::by_day::ByDay;
use crate::engine::EngineError;

/// Where kept messages live (`cm/` ‖ day ‖ `/` ‖ wire id; the engine's own tables are a
/// two-letter tag and a 0 byte).
const PREFIX: &[u8] = b"cm/";
/// How long a message can be forwarded after it was sent or received.
pub const KEPT_DAYS: u32 = 30;

/// One instance's kept messages.
pub struct Kept {
    days: ByDay,
}

impl Kept {
    pub fn new(store: Arc<dyn KvStore>) -> Kept {
        Kept { days: ByDay::new(store, PREFIX, KEPT_DAYS) }
    }

    /// Keeps the bodies of `messages` (wire id, body) sent or received at `now_ms`, durably
    /// (the caller chooses which: content, not acts on other messages).
    pub async fn keep(&self, messages: &[(&str, &wa::Message)], now_ms: u64) -> Result<(), EngineError> {
        let records: Vec<_> = messages.iter().map(|(id, message)| (*id, message.encode_to_vec())).collect();
        self.days.write(&records, now_ms).await
    }

    /// The kept body of the message `wire_id`, looked for from today back [`KEPT_DAYS`].
    pub fn find(&self, wire_id: &str, now_ms: u64) -> Result<Option<wa::Message>, EngineError> {
        let Some(bytes) = self.days.find(wire_id, now_ms)? else { return Ok(None) };
        let message = wa::Message::decode_from_slice(&bytes)
            .map_err(|e| EngineError::Store(format!("kept message {wire_id}: {e}")))?;
        Ok(Some(message))
    }
}
