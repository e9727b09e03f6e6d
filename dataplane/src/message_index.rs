//! message_index: where a message named only by its id belongs — its instance, its chat, and
//! whether the instance sent it — for the routes that take a message id and nothing else
//! (Zapini's edit, delete and reaction by id). One row per (message id, instance), written in
//! the batch that accepts a send or commits a received message's event, so a row exists
//! exactly when the message does; it lives for `[store] message_index_retention` and is then
//! dropped by a compaction filter (a lookup past the expiry answers as for an unknown id).
//!
//! Layout: `message id ‖ 0x00 ‖ instance (16)` → `version (u8) ‖ expires_ms (u64 BE) ‖
//! from_me (u8) ‖ chat ‖ [0x00 ‖ participant]` (version 2; version 1 rows, without the
//! participant, are still read). The participant is the group member who wrote a received group
//! message (WhatsApp names such a message by chat, id and author). The same id may appear under two instances (a group message both
//! instances took part in): a lookup returns every row, and the caller keeps the ones its
//! credential reaches. Ids longer than [`MAX_ID_BYTES`] or holding 0x00 are not indexed. Pure
//! data and store access: no HTTP, no dialect; reads are blocking (call them off the event loop).

use std::time::Duration;

use chatedge_config::{InstanceId, Phone};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use crate::network::IncomingMessage;
use crate::queue::{Content, OutboundMessage};
use crate::store::{keys, Batch, Cf, Store, StoreError};

const VERSION: u8 = 2;
/// Rows written before the participant was kept.
const VERSION_1: u8 = 1;
const HEAD: usize = 1 + 8 + 1;
/// Longest message id indexed (network ids are far shorter: 20–40 bytes, a wamid ~60).
pub const MAX_ID_BYTES: usize = 128;
/// Most rows one lookup reads: one id is only ever shared by the few instances in one chat.
const MAX_ROWS: usize = 16;

/// One message as the index keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The chat: the contact, or the group the message was written in.
    pub chat: Phone,
    /// The instance sent it (false: it was received).
    pub from_me: bool,
    pub expires_ms: u64,
    /// A received group message: the member who wrote it.
    pub participant: Option<Phone>,
}

impl Entry {
    fn encode(&self) -> Vec<u8> {
        let chat = self.chat.as_str().as_bytes();
        let participant = self.participant.as_ref().map_or(&b""[..], |p| p.as_str().as_bytes());
        let mut v = Vec::with_capacity(HEAD + chat.len() + 1 + participant.len());
        v.push(VERSION);
        v.extend_from_slice(&self.expires_ms.to_be_bytes());
        v.push(self.from_me as u8);
        v.extend_from_slice(chat);
        if !participant.is_empty() {
            v.push(0);
            v.extend_from_slice(participant);
        }
        v
    }

    fn decode(v: &[u8]) -> Option<Entry> {
        if v.len() <= HEAD || !matches!(v[0], VERSION | VERSION_1) {
            return None;
        }
        let expires_ms = expires_ms(v)?;
        let from_me = v[9] == 1;
        let rest = &v[HEAD..];
        let (chat, participant) = match rest.iter().position(|b| *b == 0) {
            Some(at) if v[0] == VERSION => (&rest[..at], Some(&rest[at + 1..])),
            _ => (rest, None),
        };
        let phone = |b: &[u8]| Phone::parse(std::str::from_utf8(b).ok()?).ok();
        let participant = match participant {
            Some(p) => Some(phone(p)?),
            None => None,
        };
        Some(Entry { chat: phone(chat)?, from_me, expires_ms, participant })
    }
}

fn expires_ms(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(1..9)?.try_into().ok()?))
}

fn indexable(message_id: &str) -> bool {
    !message_id.is_empty() && message_id.len() <= MAX_ID_BYTES && !message_id.as_bytes().contains(&0)
}

fn prefix(message_id: &str) -> Vec<u8> {
    let mut k = Vec::with_capacity(message_id.len() + 1 + 16);
    k.extend_from_slice(message_id.as_bytes());
    k.push(0);
    k
}

/// Writes the row of `message_id` of `instance` into `batch` (nothing for an id that cannot be
/// indexed).
pub fn record(batch: &mut Batch, message_id: &str, instance: &InstanceId, entry: &Entry) {
    if !indexable(message_id) {
        return;
    }
    let mut key = prefix(message_id);
    key.extend_from_slice(instance.as_bytes());
    batch.put(Cf::MessageIndex, key, entry.encode());
}

/// The row of a message the instance is sending, kept `retention` from its acceptance. Acts on
/// other messages (reactions, deletes, reads) are not messages one names later: not indexed.
pub fn record_sent(batch: &mut Batch, message: &OutboundMessage, retention: Duration) {
    if matches!(message.content, Content::Action(_)) {
        return;
    }
    let expires_ms = message.created_ms.saturating_add(retention.as_millis() as u64);
    let entry = Entry { chat: message.phone.clone(), from_me: true, expires_ms, participant: None };
    record(batch, &message.message_id.to_string(), &message.instance, &entry);
}

/// The row of a message `instance` received, kept `retention` from its arrival.
pub fn record_received(batch: &mut Batch, instance: &InstanceId, message: &IncomingMessage, retention: Duration) {
    let expires_ms = message.at_ms.saturating_add(retention.as_millis() as u64);
    let entry =
        Entry { chat: message.from.clone(), from_me: false, expires_ms, participant: message.participant.clone() };
    record(batch, &message.id, instance, &entry);
}

/// Every live row of `message_id` at `now_ms`, by instance. A blocking read.
pub fn find(store: &Store, message_id: &str, now_ms: u64) -> Result<Vec<(InstanceId, Entry)>, StoreError> {
    if !indexable(message_id) {
        return Ok(Vec::new());
    }
    let from = prefix(message_id);
    let mut read = ReadOptions::default();
    read.set_iterate_upper_bound(keys::prefix_end(&from));
    let rows =
        store.db().iterator_cf_opt(store.cf(Cf::MessageIndex), read, IteratorMode::From(&from, Direction::Forward));
    let mut found = Vec::new();
    for row in rows.take(MAX_ROWS) {
        let (key, value) = row?;
        let instance = key.get(from.len()..).and_then(InstanceId::from_slice);
        if let Some((instance, entry)) = instance.zip(Entry::decode(&value)) {
            if entry.expires_ms > now_ms {
                found.push((instance, entry));
            }
        }
    }
    Ok(found)
}

/// Whether a stored row may be dropped at `now_ms` (expired, or not a row this version reads):
/// the family's compaction filter.
pub fn droppable(v: &[u8], now_ms: u64) -> bool {
    match expires_ms(v) {
        Some(at) if matches!(v[0], VERSION | VERSION_1) => at <= now_ms,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Metrics;

    fn entry(chat: &str, from_me: bool, expires_ms: u64) -> Entry {
        Entry { chat: Phone::parse(chat).unwrap(), from_me, expires_ms, participant: None }
    }

    #[test]
    fn an_entry_reads_back_as_written() {
        let in_a_group = Entry {
            participant: Some(Phone::parse("5511977776666").unwrap()),
            ..entry("120363019502650977-group", false, 9)
        };
        for e in [entry("5511999999999", true, 7), entry("120363019502650977-group", false, u64::MAX), in_a_group] {
            assert_eq!(Entry::decode(&e.encode()), Some(e));
        }
        assert_eq!(Entry::decode(&[VERSION]), None);
        assert_eq!(Entry::decode(&[9; 20]), None);
        let written_by_version_1 = [&[VERSION_1][..], &7u64.to_be_bytes(), &[1], b"5511999999999"].concat();
        assert_eq!(
            Entry::decode(&written_by_version_1),
            Some(entry("5511999999999", true, 7)),
            "older rows still read"
        );
        assert!(!droppable(&written_by_version_1, 6));
    }

    #[test]
    fn rows_expire_and_foreign_versions_are_dropped() {
        let e = entry("5511999999999", true, 1_000).encode();
        assert!(!droppable(&e, 999));
        assert!(droppable(&e, 1_000));
        assert!(droppable(&[3, 0, 0, 0, 0, 0, 0, 0, 0, 1, b'5'], 0));
        assert!(droppable(&[], 0));
    }

    #[tokio::test]
    async fn a_lookup_finds_each_instance_of_an_id_and_nothing_of_its_neighbours() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, std::sync::Arc::new(Metrics::new())).unwrap();
        let (a, b) = (InstanceId::random(), InstanceId::random());
        let mut batch = Batch::new();
        record(&mut batch, "3EB0AA", &a, &entry("5511999999999", true, 10_000));
        record(&mut batch, "3EB0AA", &b, &entry("5511999999999", false, 10_000));
        record(&mut batch, "3EB0AAB", &a, &entry("5521988887777", true, 10_000));
        record(&mut batch, "3EB0A", &a, &entry("5521988887777", true, 10_000));
        record(&mut batch, "old", &a, &entry("5521988887777", true, 5));
        record(&mut batch, &"x".repeat(MAX_ID_BYTES + 1), &a, &entry("5521988887777", true, 10_000));
        store.commit(batch).await.unwrap();

        let mut found = find(&store, "3EB0AA", 100).unwrap();
        found.sort_by_key(|(_, e)| e.from_me);
        assert_eq!(found, vec![(b, entry("5511999999999", false, 10_000)), (a, entry("5511999999999", true, 10_000))]);
        assert!(find(&store, "old", 100).unwrap().is_empty(), "expired rows answer as absent");
        assert!(find(&store, "nothing", 100).unwrap().is_empty());
        assert!(find(&store, &"x".repeat(MAX_ID_BYTES + 1), 100).unwrap().is_empty());
        assert!(find(&store, "", 100).unwrap().is_empty());
    }
}
