//! queue owns the per-instance FIFO of accepted messages in the `queue` column family
//! (`instance ‖ seq` keys) and its indexes in `queue_index` (zaapId → seq, phone ‖ seq →
//! zaapId), written and deleted in the same batches as the messages. An [`InstanceQueue`]
//! lives inside its session on the owning shard and is touched only there; its writes go
//! through the committer and its reads are bounded: point reads of the indexes, and range
//! reads from a seq computed in memory — never a seek from the start of the prefix, which
//! would crawl over the tombstones of consumed heads (shared/CRATES.md: 3k → 0.5k pops/s),
//! and never a walk over the whole queue. With 1,000,000 messages queued:
//! - `GET queue?page=N` computes the seq of its first message from the queue's holes
//!   ([`holes::Holes::nth_present`]) and reads one page from there;
//! - `queue/count` and the depth gauge read [`InstanceQueue::len`], kept in memory;
//! - `DELETE queue/{zaapId}` is one point read of the zaapId index.
//!
//! Only a window of messages is held in memory; the rest stays on disk until the window drains,
//! so a million queued messages cost disk, not RAM.
//!
//! **The message on the wire** (taken by [`take_front`](InstanceQueue::take_front), awaiting
//! the network's Accepted/Rejected) is still in the queue until the network answers: it is on
//! disk and would be sent again (same ids) after a crash. So it is counted once by `len`,
//! `queue/count` and the depth gauge, and listed first on page 1. It cannot be recalled from
//! the network: `DELETE queue/{zaapId}` answers [`Removal::InFlight`] for it, and
//! `DELETE queue` removes every *waiting* message and leaves it (reported in
//! [`Cleared::in_flight`]); if the connection drops before the network answers, it goes back
//! to the head and is sent again, as it was never removed — and until then it still cannot be
//! removed, since the network may have it already (a late answer from the old connection
//! completes it instead of a second send).
//!
//! **`DELETE queue/{phone}`**: Z-API's own example deletes `queue/5511999999999`. A path that
//! is not a zaapId (32 hex digits) but is a phone number removes the waiting messages to that
//! recipient ([`InstanceQueue::remove_phone`]), found through the phone index, at most
//! [`MAX_REMOVE_PER_CALL`] per call so that one request never holds the shard for long; the
//! answer says whether more remain, and calling again removes the next ones.

pub mod content;
mod holes;
mod message;
pub mod recovery;
mod remove;

use std::collections::VecDeque;

use chatedge_config::{InstanceId, MessageId, Phone, ZaapId};
use rocksdb::{Direction, IteratorMode, ReadOptions};

use crate::store::{keys, Batch, Cf, Store, StoreError};

pub use content::Content;
pub use holes::Holes;
pub use message::{GroupMention, OutboundMessage};
pub use remove::{Cleared, Removal, Removed, MAX_REMOVE_PER_CALL};

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

/// The message handed to the network: what completing it must delete from the indexes.
#[derive(Debug, Clone)]
struct Taken {
    seq: u64,
    zaap: ZaapId,
    phone: Phone,
    created_ms: u64,
    /// It refers to stored media (its `media_ref` key must go with it).
    has_media: bool,
    /// False once its connection dropped and it went back to the head of the window: it waits
    /// to be sent again, but the network may have it already, so it still cannot be removed.
    on_wire: bool,
}

#[derive(Debug)]
pub struct InstanceQueue {
    id: InstanceId,
    /// No message below this seq exists; every hole is at or above it.
    head: u64,
    /// The seq the next accepted message gets.
    next_seq: u64,
    /// Every seq below this is durable.
    committed: u64,
    /// Seqs in `[head, next_seq)` without a message. Every other seq there holds one, so the
    /// queue's length and the position of any message are arithmetic on these.
    holes: Holes,
    /// Loaded messages in seq order (the message on the wire is not among them).
    window: VecDeque<Queued>,
    /// Every seq below this is in `window`, taken, or gone.
    loaded_upto: u64,
    /// The message handed to the network whose answer has not come, if any.
    taken: Option<Taken>,
    /// The consumed span `[compacted_upto, head)` has not been range-deleted yet.
    compacted_upto: u64,
}

/// A cursor page of a queue: its messages, and where the next page starts if there is one.
#[derive(Debug, Clone)]
pub struct Slice {
    pub messages: Vec<OutboundMessage>,
    /// The seq of the first message after `messages`; `None` when they were the last.
    pub next: Option<u64>,
}

impl InstanceQueue {
    pub fn new(id: InstanceId) -> Self {
        InstanceQueue::recovered(id, recovery::Recovered::default())
    }

    pub fn recovered(id: InstanceId, r: recovery::Recovered) -> Self {
        let mut holes = Holes::default();
        for (start, end) in r.holes {
            holes.insert(start, end);
        }
        InstanceQueue {
            id,
            head: r.head,
            next_seq: r.next_seq,
            committed: r.next_seq,
            holes,
            window: VecDeque::new(),
            loaded_upto: r.head,
            taken: None,
            compacted_upto: r.head,
        }
    }

    /// Messages in the queue: accepted, not removed, not yet answered by the network —
    /// the one on the wire included, once.
    pub fn len(&self) -> u64 {
        self.next_seq - self.head - self.holes.total()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The seq of the message on the wire.
    pub fn in_flight(&self) -> Option<u64> {
        self.taken.as_ref().map(|t| t.seq)
    }

    /// Appends `message`: its put and its index entries go into `batch`; the returned seq
    /// becomes sendable once [`mark_committed`](Self::mark_committed) is called for it.
    pub fn push(&mut self, message: OutboundMessage, batch: &mut Batch) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        batch.put(Cf::Queue, keys::queue(&self.id, seq), message.encode());
        batch.put(
            Cf::QueueIndex,
            keys::zaap_index(&self.id, &message.zaap_id),
            keys::zaap_index_value(seq, &message.phone),
        );
        batch.put(
            Cf::QueueIndex,
            keys::phone_index(&self.id, &message.phone, seq),
            message.zaap_id.as_bytes().to_vec(),
        );
        let media = message.content.stored_media();
        if !media.is_empty() {
            batch.put(Cf::MediaRef, keys::queue(&self.id, seq), keys::media_ref_value(&media));
        }
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
        if seq >= self.head && seq < self.next_seq && !self.holes.contains(seq) {
            self.holes.insert(seq, seq + 1);
        }
        self.settle();
    }

    /// The oldest durable waiting message, loading the next window from disk when needed.
    pub fn front(&mut self, store: &Store) -> Result<Option<&Queued>, StoreError> {
        if self.window.is_empty() && self.loaded_upto < self.committed {
            self.refill(store)?;
        }
        Ok(self.window.front().filter(|q| q.seq < self.committed))
    }

    /// Takes the oldest durable message out of the queue's memory to put it on the wire. It
    /// stays on disk and in the queue until [`complete`](Self::complete);
    /// [`put_back`](Self::put_back) returns it.
    pub fn take_front(&mut self, store: &Store) -> Result<Option<Queued>, StoreError> {
        if self.front(store)?.is_none() {
            return Ok(None);
        }
        let taken = self.window.pop_front();
        self.taken = taken.as_ref().map(|q| Taken {
            seq: q.seq,
            zaap: q.message.zaap_id,
            phone: q.message.phone.clone(),
            created_ms: q.message.created_ms,
            has_media: !q.message.content.stored_media().is_empty(),
            on_wire: true,
        });
        Ok(taken)
    }

    /// Returns a taken message to the head (its connection dropped before the network
    /// answered). It stays marked as taken — the network may have it already, so `DELETE`
    /// cannot recall it — until it is completed, or taken again and answered.
    pub fn put_back(&mut self, q: Queued) {
        if let Some(t) = self.taken.as_mut().filter(|t| t.seq == q.seq) {
            t.on_wire = false;
        }
        if q.seq >= self.head && !self.holes.contains(q.seq) {
            self.window.push_front(q);
        }
    }

    /// Takes the message put back after its connection dropped ([`put_back`](Self::put_back))
    /// if it is `message_id`: a late answer from the old connection says it left after all,
    /// so it is completed instead of sent again. `None` for any other message.
    pub fn take_put_back(&mut self, message_id: &MessageId, store: &Store) -> Result<Option<Queued>, StoreError> {
        let put_back = self.taken.as_ref().is_some_and(|t| !t.on_wire);
        if !put_back || self.front(store)?.is_none_or(|q| q.message.message_id != *message_id) {
            return Ok(None);
        }
        self.take_front(store)
    }

    /// The taken message `seq` has left (accepted or refused by the network): delete it and
    /// its index entries.
    pub fn complete(&mut self, seq: u64, batch: &mut Batch, store: &Store) {
        let taken = self.taken.take_if(|t| t.seq == seq);
        let has_media = taken.as_ref().is_none_or(|t| t.has_media);
        let index = match taken {
            Some(t) => Some((t.zaap, t.phone)),
            None => self.read_index_fields(seq, store),
        };
        batch.delete(Cf::Queue, keys::queue(&self.id, seq));
        if has_media {
            batch.delete(Cf::MediaRef, keys::queue(&self.id, seq));
        }
        if let Some((zaap, phone)) = index {
            batch.delete(Cf::QueueIndex, keys::zaap_index(&self.id, &zaap));
            batch.delete(Cf::QueueIndex, keys::phone_index(&self.id, &phone, seq));
        }
        if seq >= self.head {
            self.head = seq + 1;
            self.holes.prune_below(self.head);
            self.loaded_upto = self.loaded_upto.max(self.head);
        }
        self.settle();
        if self.head - self.compacted_upto >= COMPACT_EVERY {
            let from = keys::queue(&self.id, self.compacted_upto);
            let to = keys::queue(&self.id, self.head);
            batch.delete_range(Cf::Queue, from, to);
            batch.delete_range(Cf::MediaRef, from, to);
            store.compact_later(Cf::Queue, from.to_vec(), to.to_vec());
            self.compacted_upto = self.head;
        }
    }

    /// The zaapId and phone of a stored message that was completed without being taken
    /// (only callers outside the shard do that); `None` if it cannot be read.
    pub(super) fn read_index_fields(&self, seq: u64, store: &Store) -> Option<(ZaapId, Phone)> {
        let bytes = store.db().get_pinned_cf(store.cf(Cf::Queue), keys::queue(&self.id, seq)).ok()??;
        OutboundMessage::decode(&bytes).ok().map(|m| (m.zaap_id, m.phone))
    }

    /// An empty queue forgets its holes: the head jumps to the tail.
    fn settle(&mut self) {
        if self.is_empty() && self.taken.is_none() {
            self.head = self.next_seq;
            self.holes.clear();
            self.window.clear();
            self.loaded_upto = self.next_seq;
        }
    }

    /// Page `page` (from 1) of `size` messages, oldest first. The first message of the page
    /// is found by arithmetic over the holes, so no skipped message is read; a page past the
    /// end costs nothing.
    pub fn page(&self, store: &Store, page: usize, size: usize) -> Result<Vec<OutboundMessage>, StoreError> {
        let skip = (page.saturating_sub(1) as u64).saturating_mul(size as u64);
        if skip >= self.len() {
            return Ok(Vec::new());
        }
        let first = self.holes.nth_present(self.head, skip);
        let (mut out, mut failure) = (Vec::with_capacity(size.min(1024)), None);
        self.scan(store, first, self.committed, |_, bytes| {
            match OutboundMessage::decode(bytes) {
                Ok(m) => out.push(m),
                Err(e) => failure = Some(e),
            }
            failure.is_none() && out.len() < size
        })?;
        failure.map_or(Ok(out), Err)
    }

    /// Up to `size` messages from seq `from` on, oldest first (from the head when `from` is
    /// behind it: those before it have left), and the seq of the next one when more remain.
    /// The cursor-paged listing: it reads only the page and one key past it, however deep.
    pub fn page_from(&self, store: &Store, from: u64, size: usize) -> Result<Slice, StoreError> {
        let (mut messages, mut next, mut failure) = (Vec::with_capacity(size.min(1024)), None, None);
        self.scan(store, from.max(self.head), self.committed, |seq, bytes| {
            if messages.len() == size {
                next = Some(seq);
                return false;
            }
            match OutboundMessage::decode(bytes) {
                Ok(m) => messages.push(m),
                Err(e) => failure = Some(e),
            }
            failure.is_none()
        })?;
        failure.map_or(Ok(Slice { messages, next }), Err)
    }

    /// Creation time of the oldest message in memory (the one on the wire first), for the
    /// queue-age gauge.
    pub fn oldest_created_ms(&self) -> Option<u64> {
        self.taken.as_ref().map(|t| t.created_ms).or_else(|| self.window.front().map(|q| q.message.created_ms))
    }

    fn refill(&mut self, store: &Store) -> Result<(), StoreError> {
        let (from, to) = (self.loaded_upto, self.committed);
        let taken = self.in_flight();
        let mut loaded = Vec::with_capacity(WINDOW);
        let mut failure = None;
        self.scan(store, from, to, |seq, bytes| {
            if Some(seq) == taken {
                return true;
            }
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
        self.window.extend(loaded);
        Ok(())
    }

    /// Visits the stored bytes of durable messages with seq in `[from, to)` in order, skipping
    /// holes (removed messages whose delete may not be durable yet), until `visit` returns
    /// false.
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
            if self.holes.contains(seq) {
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
