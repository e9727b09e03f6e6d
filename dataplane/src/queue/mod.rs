//! queue owns the per-instance FIFO of accepted messages in the `queue` column family
//! (`instance ‖ seq` keys). An [`InstanceQueue`] lives inside its session on the owning shard
//! and is touched only there; its writes go through the committer and its reads are bounded
//! range reads from a cursor kept in memory — never a seek from the start of the prefix, which
//! would crawl over the tombstones of consumed heads (shared/CRATES.md: 3k → 0.5k pops/s).
//!
//! Only a window of messages is held in memory; the rest stays on disk until the window drains,
//! so a million queued messages cost disk, not RAM.

mod message;
pub mod recovery;

use std::collections::{BTreeSet, VecDeque};

use chatedge_config::{InstanceId, ZaapId};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use crate::store::{keys, Batch, Cf, Store, StoreError};

pub use message::{Content, OutboundMessage};

/// Messages held in memory per instance.
const WINDOW: usize = 64;
/// Consumed heads between two range deletes + compactions of the consumed span.
const COMPACT_EVERY: u64 = 8192;

/// A message with its position in the queue.
#[derive(Debug, Clone)]
pub struct Queued {
    pub seq: u64,
    pub message: OutboundMessage,
}

#[derive(Debug)]
pub struct InstanceQueue {
    id: InstanceId,
    /// No message below this seq exists.
    head: u64,
    /// The seq the next accepted message gets.
    next_seq: u64,
    /// Every seq below this is durable.
    committed: u64,
    /// Messages accepted and not yet removed.
    len: u64,
    /// Loaded messages in seq order.
    window: VecDeque<Queued>,
    /// Every seq below this is in `window` or gone.
    loaded_upto: u64,
    /// Seqs removed out of order whose delete may not be durable yet; refills skip them.
    removed: BTreeSet<u64>,
    /// The consumed span `[compacted_upto, head)` has not been range-deleted yet.
    compacted_upto: u64,
}

impl InstanceQueue {
    pub fn new(id: InstanceId) -> Self {
        InstanceQueue::recovered(id, recovery::Recovered { head: 0, next_seq: 0, len: 0 })
    }

    pub fn recovered(id: InstanceId, r: recovery::Recovered) -> Self {
        InstanceQueue {
            id,
            head: r.head,
            next_seq: r.next_seq,
            committed: r.next_seq,
            len: r.len,
            window: VecDeque::new(),
            loaded_upto: r.head,
            removed: BTreeSet::new(),
            compacted_upto: r.head,
        }
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Appends `message`: its put goes into `batch`; the returned seq becomes sendable once
    /// [`mark_committed`](Self::mark_committed) is called for it.
    pub fn push(&mut self, message: OutboundMessage, batch: &mut Batch) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.len += 1;
        batch.put(Cf::Queue, keys::queue(&self.id, seq), message.encode());
        if self.loaded_upto == seq && self.window.len() < WINDOW {
            self.window.push_back(Queued { seq, message });
            self.loaded_upto = seq + 1;
        }
        seq
    }

    /// The batch holding `seq` is durable. Commits complete in submission order.
    pub fn mark_committed(&mut self, seq: u64) {
        self.committed = self.committed.max(seq + 1);
    }

    /// The batch holding `seq` failed: the message was never accepted and must never leave.
    pub fn abandon(&mut self, seq: u64) {
        if let Some(pos) = self.window.iter().position(|q| q.seq == seq) {
            self.window.remove(pos);
        }
        self.removed.insert(seq);
        self.len = self.len.saturating_sub(1);
    }

    /// The oldest durable message, loading the next window from disk when needed.
    pub fn front(&mut self, store: &Store) -> Result<Option<&Queued>, StoreError> {
        if self.window.is_empty() && self.loaded_upto < self.committed {
            self.refill(store)?;
        }
        Ok(self.window.front().filter(|q| q.seq < self.committed))
    }

    /// Takes the oldest durable message out of the queue's memory to put it on the wire. It
    /// stays on disk until [`complete`](Self::complete); [`put_back`](Self::put_back) returns it.
    pub fn take_front(&mut self, store: &Store) -> Result<Option<Queued>, StoreError> {
        if self.front(store)?.is_none() {
            return Ok(None);
        }
        Ok(self.window.pop_front())
    }

    /// Returns a taken message to the head (the connection dropped before the network took it).
    pub fn put_back(&mut self, q: Queued) {
        if q.seq >= self.head {
            self.window.push_front(q);
        }
    }

    /// The taken message `seq` has left (accepted or refused by the network): delete it.
    pub fn complete(&mut self, seq: u64, batch: &mut Batch, store: &Store) {
        batch.delete(Cf::Queue, keys::queue(&self.id, seq));
        if seq >= self.head {
            self.len = self.len.saturating_sub(1);
            self.head = seq + 1;
        }
        if self.head - self.compacted_upto >= COMPACT_EVERY {
            let from = keys::queue(&self.id, self.compacted_upto);
            let to = keys::queue(&self.id, self.head);
            batch.delete_range(Cf::Queue, from, to);
            store.compact_later(Cf::Queue, from.to_vec(), to.to_vec());
            self.compacted_upto = self.head;
        }
    }

    /// Removes the message `zaap` wherever it waits. Returns whether it was queued.
    pub fn remove(&mut self, zaap: &ZaapId, batch: &mut Batch, store: &Store) -> Result<bool, StoreError> {
        let seq = match self.window.iter().position(|q| q.message.zaap_id == *zaap) {
            Some(pos) => self.window.remove(pos).map(|q| q.seq),
            None => self.find_on_disk(zaap, store)?,
        };
        let Some(seq) = seq else { return Ok(false) };
        batch.delete(Cf::Queue, keys::queue(&self.id, seq));
        self.removed.insert(seq);
        self.len = self.len.saturating_sub(1);
        Ok(true)
    }

    /// Removes every message. Returns how many there were.
    pub fn clear(&mut self, batch: &mut Batch) -> u64 {
        batch.delete_range(Cf::Queue, keys::queue(&self.id, 0), keys::queue(&self.id, self.next_seq));
        let n = self.len;
        self.window.clear();
        self.removed.clear();
        self.head = self.next_seq;
        self.loaded_upto = self.next_seq;
        self.len = 0;
        n
    }

    /// Page `page` (from 1) of `size` messages, oldest first. Skipped messages are counted,
    /// not decoded, and a page past the end costs nothing.
    pub fn page(&self, store: &Store, page: usize, size: usize) -> Result<Vec<OutboundMessage>, StoreError> {
        let skip = page.saturating_sub(1).saturating_mul(size);
        if skip as u64 >= self.len {
            return Ok(Vec::new());
        }
        let (mut seen, mut out) = (0usize, Vec::with_capacity(size.min(1024)));
        let mut failure = None;
        self.scan(store, self.head, self.committed, |_, bytes| {
            seen += 1;
            if seen <= skip {
                return true;
            }
            match OutboundMessage::decode(bytes) {
                Ok(m) => out.push(m),
                Err(e) => failure = Some(e),
            }
            failure.is_none() && out.len() < size
        })?;
        failure.map_or(Ok(out), Err)
    }

    /// Creation time of the oldest message in memory, for the queue-age gauge.
    pub fn oldest_created_ms(&self) -> Option<u64> {
        self.window.front().map(|q| q.message.created_ms)
    }

    fn refill(&mut self, store: &Store) -> Result<(), StoreError> {
        let (from, to) = (self.loaded_upto, self.committed);
        let mut loaded = Vec::with_capacity(WINDOW);
        let mut failure = None;
        self.scan(store, from, to, |seq, bytes| {
            match OutboundMessage::decode(bytes) {
                Ok(message) => loaded.push(Queued { seq, message }),
                Err(e) => failure = Some(e),
            }
            failure.is_none() && loaded.len() < WINDOW
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        self.loaded_upto = match loaded.last() {
            Some(q) if loaded.len() == WINDOW => q.seq + 1,
            _ => to,
        };
        let upto = self.loaded_upto;
        self.removed.retain(|s| *s >= upto);
        self.window.extend(loaded);
        Ok(())
    }

    /// Finds the message `zaap` among those not loaded yet. Values are searched as bytes for
    /// the id's text and decoded only on a hit, so a miss costs a read of the queue, no parsing.
    fn find_on_disk(&self, zaap: &ZaapId, store: &Store) -> Result<Option<u64>, StoreError> {
        let needle = zaap.to_string();
        let mut found = None;
        self.scan(store, self.loaded_upto, self.committed, |seq, bytes| {
            let hit = bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
                && OutboundMessage::decode(bytes).is_ok_and(|m| m.zaap_id == *zaap);
            if hit {
                found = Some(seq);
            }
            !hit
        })?;
        Ok(found)
    }

    /// Visits the stored bytes of durable messages with seq in `[from, to)` in order, skipping
    /// removed ones, until `visit` returns false.
    fn scan(
        &self,
        store: &Store,
        from: u64,
        to: u64,
        mut visit: impl FnMut(u64, &[u8]) -> bool,
    ) -> Result<(), StoreError> {
        if from >= to {
            return Ok(());
        }
        let lower = keys::queue(&self.id, from);
        let mut opts = ReadOptions::default();
        opts.set_iterate_lower_bound(lower.to_vec());
        opts.set_iterate_upper_bound(keys::queue(&self.id, to).to_vec());
        let iter =
            store.db().iterator_cf_opt(store.cf(Cf::Queue), opts, IteratorMode::From(&lower, Direction::Forward));
        for item in iter {
            let (k, v) = item?;
            let Some((_, seq)) = keys::parse_queue(&k) else { continue };
            if self.removed.contains(&seq) {
                continue;
            }
            if !visit(seq, &v) {
                break;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
