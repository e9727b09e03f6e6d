//! dead_letter owns the `dead_letter` column family: webhook events whose retries ran out (or
//! whose endpoint was disabled), each with why it died, keyed `instance ‖ dead_at_ms ‖ event_id`
//! so one instance's letters are one span in time order. The dispatcher writes them with
//! [`record`] in the batch that takes the event out of the outbox; the `webhook-failures` routes
//! list ([`page`]), find ([`find`]) and retry them ([`requeue`] plus [`remove`], one batch); the
//! compactor prunes them per instance after `[store] dead_letter_retention_ms`.
//!
//! It never writes by itself and never runs on an event loop: the read functions iterate
//! RocksDB and are called from `spawn_blocking` (routes) or the committer's callers; writes are
//! puts and deletes added to the caller's [`Batch`].

use chatedge_config::{EventId, InstanceId};

use super::StoredEvent;
use crate::store::{keys, Batch, Cf, Store, StoreError};

/// Longest reason kept (an error text from a receiver or a connector), in bytes.
pub const MAX_REASON_LEN: usize = 512;
/// Layout version of a dead-letter value.
const VERSION: u8 = 1;

pub type DeadLetterKey = [u8; keys::INSTANCE_TIMED_KEY_LEN];

/// One dead letter as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub key: DeadLetterKey,
    pub dead_ms: u64,
    /// Why the last attempt failed (`HTTP 503`, `timeout`, `endpoint_disabled`, …).
    pub reason: String,
    pub event: StoredEvent,
}

/// Adds `event` to `batch` as dead now, because of `reason` (cut to [`MAX_REASON_LEN`]).
pub fn record(batch: &mut Batch, event: &StoredEvent, reason: &str) -> DeadLetterKey {
    record_at(batch, event, reason, chatedge_config::time::unix_ms())
}

/// [`record`] with the time of death given (tests, and keeping a letter's time on rewrite).
pub fn record_at(batch: &mut Batch, event: &StoredEvent, reason: &str, dead_ms: u64) -> DeadLetterKey {
    let key = keys::instance_timed(&event.instance, dead_ms, &event.id);
    batch.put(Cf::DeadLetter, key.to_vec(), encode(reason, &event.encode()));
    key
}

/// Keeps an outbox record that cannot be decoded (so has no instance) under the all-zero
/// instance, where retention prunes it; it is never listed.
pub fn record_undecodable(batch: &mut Batch, id: &EventId, raw: &[u8]) {
    let key = keys::instance_timed(&InstanceId::from_bytes([0; InstanceId::LEN]), chatedge_config::time::unix_ms(), id);
    batch.put(Cf::DeadLetter, key.to_vec(), encode("undecodable", raw));
}

pub fn remove(batch: &mut Batch, key: &DeadLetterKey) {
    batch.delete(Cf::DeadLetter, key.to_vec());
}

/// Deletes every dead letter of `instance` (instance teardown).
pub fn forget_instance(batch: &mut Batch, instance: &InstanceId) {
    batch.delete_range(Cf::DeadLetter, keys::instance_time(instance, 0), keys::instance_time(instance, u64::MAX));
}

/// Page `page` (from 1) of `size` of `instance`'s dead letters, newest first. Skipping is a
/// key-only walk, so the caller bounds `page × size`.
pub fn page(store: &Store, instance: &InstanceId, page: usize, size: usize) -> Result<Vec<DeadLetter>, StoreError> {
    let mut opts = rocksdb::ReadOptions::default();
    opts.set_iterate_lower_bound(keys::instance_time(instance, 0).to_vec());
    let mut it = store.db().raw_iterator_cf_opt(store.cf(Cf::DeadLetter), opts);
    it.seek_for_prev(keys::instance_time(instance, u64::MAX));
    let mut skip = page.saturating_sub(1).saturating_mul(size);
    let mut out = Vec::with_capacity(size.min(128));
    while it.valid() && out.len() < size {
        if skip > 0 {
            skip -= 1;
        } else if let (Some(k), Some(v)) = (it.key(), it.value()) {
            out.push(decode(k, v)?);
        }
        it.prev();
    }
    it.status()?;
    Ok(out)
}

/// The dead letter of `instance` whose event is `id`, if any (a key-only walk of the
/// instance's letters, which retention bounds).
pub fn find(store: &Store, instance: &InstanceId, id: &EventId) -> Result<Option<DeadLetter>, StoreError> {
    let mut opts = rocksdb::ReadOptions::default();
    opts.set_iterate_upper_bound(keys::instance_time(instance, u64::MAX).to_vec());
    let mut it = store.db().raw_iterator_cf_opt(store.cf(Cf::DeadLetter), opts);
    it.seek(keys::instance_time(instance, 0));
    while it.valid() {
        if let Some(k) = it.key().filter(|k| k.ends_with(id.as_bytes())) {
            let v = it.value().unwrap_or_default();
            return decode(k, v).map(Some);
        }
        it.next();
    }
    it.status()?;
    Ok(None)
}

/// `version ‖ reason length (u16 BE) ‖ reason ‖ the event as the outbox encodes it`.
fn encode(reason: &str, event: &[u8]) -> Vec<u8> {
    let reason = truncate(reason, MAX_REASON_LEN);
    let mut v = Vec::with_capacity(3 + reason.len() + event.len());
    v.push(VERSION);
    v.extend_from_slice(&(reason.len() as u16).to_be_bytes());
    v.extend_from_slice(reason.as_bytes());
    v.extend_from_slice(event);
    v
}

pub(crate) fn decode(key: &[u8], value: &[u8]) -> Result<DeadLetter, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("dead letter: {what}"));
    let (_, dead_ms, _) = keys::parse_instance_timed(key).ok_or_else(|| corrupt("bad key"))?;
    let key = DeadLetterKey::try_from(key).map_err(|_| corrupt("bad key"))?;
    if value.first() != Some(&VERSION) || value.len() < 3 {
        return Err(corrupt("unknown layout"));
    }
    let len = u16::from_be_bytes([value[1], value[2]]) as usize;
    let reason = value.get(3..3 + len).ok_or_else(|| corrupt("short reason"))?;
    let reason = String::from_utf8_lossy(reason).into_owned();
    let event = StoredEvent::decode(&value[3 + len..])?;
    Ok(DeadLetter { key, dead_ms, reason, event })
}

/// `s` cut to at most `max` bytes on a character boundary.
fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
pub(crate) mod tests;
