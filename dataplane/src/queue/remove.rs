//! Removing waiting messages from an [`InstanceQueue`]: one by zaapId (a point read of the
//! zaapId index), those to one recipient (a bounded range read of the phone index), or all
//! (`DELETE queue`: range deletes, no read). Every removal deletes the message and both of its
//! index entries in one batch and marks its seq as a hole, so the length and page positions
//! stay arithmetic. The message on the wire is never removed (see the module doc of
//! [`queue`](super)). Runs on the owning shard's thread.

use chatedge_config::{Phone, ZaapId};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use super::InstanceQueue;
use crate::store::{keys, Batch, Cf, Store, StoreError};

/// Messages `DELETE queue/{phone}` removes per call: a bound on one request's work on the
/// shard thread (~10k index entries read and 30k deletes written). More are removed by calling
/// again; [`Removed::more`] says so.
pub const MAX_REMOVE_PER_CALL: usize = 10_000;

/// What `DELETE queue/{zaapId}` found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Removed; its deletes are in the batch.
    Removed,
    /// The message is on the wire and cannot be recalled.
    InFlight,
    /// No durable message with this zaapId is in the queue.
    NotQueued,
}

/// What `DELETE queue/{phone}` (or, with at most one message, `DELETE queue/{zaapId}`) did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub removed: u64,
    /// The message on the wire is to this phone and was left.
    pub in_flight: bool,
    /// The bound was reached and more waiting messages to this phone remain.
    pub more: bool,
}

/// What `DELETE queue` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cleared {
    /// Waiting messages removed.
    pub removed: u64,
    /// A message was on the wire and stays in the queue until the network answers.
    pub in_flight: bool,
}

impl InstanceQueue {
    /// Removes the waiting message `zaap`, found through the zaapId index.
    pub fn remove(&mut self, zaap: &ZaapId, batch: &mut Batch, store: &Store) -> Result<Removal, StoreError> {
        if self.taken.as_ref().is_some_and(|t| t.zaap == *zaap) {
            return Ok(Removal::InFlight);
        }
        let key = keys::zaap_index(&self.id, zaap);
        let Some(value) = store.db().get_pinned_cf(store.cf(Cf::QueueIndex), key)? else {
            return Ok(Removal::NotQueued);
        };
        let Some((seq, phone)) = keys::parse_zaap_index_value(&value) else {
            return Err(StoreError::Corrupt(format!("zaapId index entry of {zaap}")));
        };
        if !self.is_waiting(seq) {
            return Ok(Removal::NotQueued); // consumed or removed; its delete is not durable yet
        }
        self.drop_message(seq, zaap, &phone, batch);
        Ok(Removal::Removed)
    }

    /// Removes up to `limit` waiting messages to `phone`, oldest first, found through the phone
    /// index (a range read of that recipient's entries only).
    pub fn remove_phone(
        &mut self,
        phone: &Phone,
        limit: usize,
        batch: &mut Batch,
        store: &Store,
    ) -> Result<Removed, StoreError> {
        let prefix = keys::phone_index_prefix(&self.id, phone);
        let mut lower = prefix.clone();
        lower.extend_from_slice(&self.head.to_be_bytes());
        let mut opts = ReadOptions::default();
        opts.set_iterate_lower_bound(lower.clone());
        opts.set_iterate_upper_bound(keys::prefix_end(&prefix));
        let iter =
            store.db().iterator_cf_opt(store.cf(Cf::QueueIndex), opts, IteratorMode::From(&lower, Direction::Forward));
        let mut found = Vec::new();
        let (mut in_flight, mut more) = (false, false);
        for item in iter {
            let (k, v) = item?;
            let (Some(seq), Some(zaap)) = (keys::parse_phone_index_seq(&k), ZaapId::from_slice(&v)) else {
                return Err(StoreError::Corrupt("phone index entry".into()));
            };
            if self.in_flight() == Some(seq) {
                in_flight = true;
            } else if self.is_waiting(seq) {
                if found.len() == limit {
                    more = true;
                    break;
                }
                found.push((seq, zaap));
            }
        }
        for (seq, zaap) in &found {
            self.drop_message(*seq, zaap, phone, batch);
        }
        Ok(Removed { removed: found.len() as u64, in_flight, more })
    }

    /// Removes every waiting message: range deletes of the queue and of the indexes, the
    /// message on the wire (if any) excepted, and its index entries written back.
    pub fn clear(&mut self, batch: &mut Batch, store: &Store) -> Cleared {
        let taken = self.taken.clone();
        let removed = self.len() - taken.is_some() as u64;
        let keep = taken.as_ref().map(|t| t.seq);
        let from = keep.map_or(self.head, |s| s + 1);
        let (queue_from, queue_to) = (keys::queue(&self.id, from), keys::queue(&self.id, self.next_seq));
        batch.delete_range(Cf::Queue, queue_from, queue_to);
        batch.delete_range(Cf::MediaRef, queue_from, queue_to);
        let (index_from, index_to) = keys::index_span(&self.id);
        batch.delete_range(Cf::QueueIndex, index_from.clone(), index_to.clone());
        if let Some(t) = &taken {
            batch.put(Cf::QueueIndex, keys::zaap_index(&self.id, &t.zaap), keys::zaap_index_value(t.seq, &t.phone));
            batch.put(Cf::QueueIndex, keys::phone_index(&self.id, &t.phone, t.seq), t.zaap.as_bytes().to_vec());
        }
        store.compact_later(Cf::Queue, queue_from.to_vec(), queue_to.to_vec());
        store.compact_later(Cf::QueueIndex, index_from, index_to);
        // A taken message put back after a dropped connection waits in the window to be sent
        // again: it stays there.
        self.window.retain(|q| Some(q.seq) == keep);
        self.loaded_upto = self.next_seq;
        self.holes.clear();
        match keep {
            Some(seq) => {
                self.head = seq;
                self.holes.insert(seq + 1, self.next_seq);
            }
            None => self.head = self.next_seq,
        }
        self.settle();
        Cleared { removed, in_flight: taken.is_some() }
    }

    /// The message `seq` was written, but its client stopped waiting before hearing so: it has
    /// not become sendable (its seq was never marked committed), so it is taken back — deleted
    /// with its index entries in `batch` — and never sent.
    pub fn withdraw(&mut self, seq: u64, batch: &mut Batch, store: &Store) {
        let loaded = self.window.iter().find(|q| q.seq == seq).map(|q| (q.message.zaap_id, q.message.phone.clone()));
        match loaded.or_else(|| self.read_index_fields(seq, store)) {
            Some((zaap, phone)) => self.drop_message(seq, &zaap, &phone, batch),
            None => {
                batch.delete(Cf::Queue, keys::queue(&self.id, seq));
                batch.delete(Cf::MediaRef, keys::queue(&self.id, seq));
                self.abandon(seq);
            }
        }
    }

    /// `seq` holds a durable message that is in the queue and not on the wire.
    fn is_waiting(&self, seq: u64) -> bool {
        seq >= self.head && seq < self.committed && !self.holes.contains(seq) && self.in_flight() != Some(seq)
    }

    fn drop_message(&mut self, seq: u64, zaap: &ZaapId, phone: &Phone, batch: &mut Batch) {
        batch.delete(Cf::Queue, keys::queue(&self.id, seq));
        batch.delete(Cf::MediaRef, keys::queue(&self.id, seq));
        batch.delete(Cf::QueueIndex, keys::zaap_index(&self.id, zaap));
        batch.delete(Cf::QueueIndex, keys::phone_index(&self.id, phone, seq));
        if let Some(pos) = self.window.iter().position(|q| q.seq == seq) {
            self.window.remove(pos);
        }
        self.holes.insert(seq, seq + 1);
        self.settle();
    }
}
