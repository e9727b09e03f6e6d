//! idempotency owns the `Idempotency-Key` of the send routes (issue 11 §4): the same key from
//! the same instance within [`TTL`] answers the first request's response again and queues
//! nothing; the same key with another request (route or body) is refused with 422.
//!
//! The key's record lives in the `idempotency` column family, written in the SAME batch as the
//! message it answered (`shard::commands::enqueue`): a 2xx means both are durable, a refused or
//! abandoned send leaves no key, and a message withdrawn because its client left is deleted
//! together with its key. Records older than [`TTL`] are treated as absent and are dropped by
//! RocksDB's compactions (a compaction filter, on RocksDB's own threads: never an event loop).
//!
//! Concurrent duplicates wait for the first: the shard that owns the instance keeps the keys
//! whose batch is not durable yet in an [`InFlight`] table (bounded: past
//! [`MAX_IN_FLIGHT`] keys or [`MAX_WAITERS`] waiters per key a keyed send is refused with 503
//! and `Retry-After`). It runs on that shard's thread only, so it needs no lock. The one read
//! of the store (is there a record?) happens there too, only for sends that carry a key; the
//! family has a bloom filter, so a new key is answered without reading a data block.

mod record;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use chatedge_config::InstanceId;
use hyper::HeaderMap;
use sha2::{Digest, Sha256};

pub use record::{droppable, expired, Record};

/// How long a key is remembered.
pub const TTL: Duration = Duration::from_secs(24 * 3600);
/// Longest key accepted (Stripe's limit; the IETF draft sets none).
pub const MAX_KEY_LEN: usize = 255;
/// Keys in flight per shard before keyed sends are refused with 503.
pub const MAX_IN_FLIGHT: usize = 65_536;
/// Duplicates waiting for one key before more are refused with 503.
pub const MAX_WAITERS: usize = 64;

pub const HEADER: &str = "idempotency-key";

/// Why a key cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("Idempotency-Key must be 1 to {MAX_KEY_LEN} visible ASCII characters")]
    Malformed,
}

/// A send's key and what it must match: the store key, the request's fingerprint, and the
/// answer to give (set once the message's ids are known).
#[derive(Debug, Clone)]
pub struct Claim {
    /// `instance ‖ key`: the record's key in the `idempotency` family.
    pub store_key: Vec<u8>,
    /// SHA-256 of the route label, the query and the body.
    pub fingerprint: [u8; 32],
    /// The answer to store with the key (status 200, Z-API's `{zaapId, messageId, id}`).
    pub answer: Bytes,
}

impl Claim {
    /// The request's `Idempotency-Key`, if any, bound to `instance` and to this exact request.
    pub fn read(
        headers: &HeaderMap,
        instance: &InstanceId,
        route: &str,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Option<Claim>, KeyError> {
        let Some(value) = headers.get(HEADER) else { return Ok(None) };
        let key = value.as_bytes();
        if key.is_empty() || key.len() > MAX_KEY_LEN || !key.iter().all(|b| (0x21..=0x7e).contains(b)) {
            return Err(KeyError::Malformed);
        }
        let mut store_key = Vec::with_capacity(InstanceId::LEN + key.len());
        store_key.extend_from_slice(instance.as_bytes());
        store_key.extend_from_slice(key);
        let mut h = Sha256::new();
        for part in [route.as_bytes(), b"\0", query.unwrap_or("").as_bytes(), b"\0", body] {
            h.update(part);
        }
        Ok(Some(Claim { store_key, fingerprint: h.finalize().into(), answer: Bytes::new() }))
    }
}

/// What became of a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accepted {
    /// Queued now; the answer is the caller's own.
    Queued,
    /// The key was used before for this same request: its answer, and nothing was queued.
    Replayed(Bytes),
    /// The key was used before for another request: nothing was queued.
    Conflict,
}

impl Accepted {
    /// The HTTP answer of a send: `own` when it was queued now, the first answer (marked
    /// `Idempotent-Replayed: true`) when replayed; `None` when the key was used for another
    /// request (each dialect words that refusal itself).
    pub fn answer(self, own: Bytes) -> Option<chatedge_serve::Resp> {
        let json = |body| chatedge_serve::bytes(hyper::StatusCode::OK, "application/json", body);
        match self {
            Accepted::Queued => Some(json(own)),
            Accepted::Replayed(first) => {
                let mut res = json(first);
                res.headers_mut().insert("idempotent-replayed", hyper::header::HeaderValue::from_static("true"));
                Some(res)
            }
            Accepted::Conflict => None,
        }
    }
}

/// Where a keyed send stands when it reaches the shard.
#[derive(Debug)]
pub enum Admission {
    /// No live record and no duplicate in flight: write the message and the record.
    Fresh,
    /// Answer again what the first request was answered.
    Replay(Bytes),
    Conflict,
    /// The same request is being written: wait for it.
    Wait,
    /// Too many keys or waiters in flight.
    Busy,
}

/// A duplicate waiting for the first request with its key: what it would send if the first
/// fails, and where its answer goes.
pub struct Waiter<M, R> {
    pub message: M,
    pub reply: R,
    pub claim: Claim,
}

struct Pending<M, R> {
    fingerprint: [u8; 32],
    answer: Bytes,
    waiters: Vec<Waiter<M, R>>,
}

/// The keys of one shard whose batch is not durable yet, with the duplicates waiting on them.
pub struct InFlight<M, R> {
    pending: HashMap<Vec<u8>, Pending<M, R>>,
}

impl<M, R> Default for InFlight<M, R> {
    fn default() -> Self {
        InFlight { pending: HashMap::new() }
    }
}

impl<M, R> InFlight<M, R> {
    /// Where `claim` stands, given the record `stored` under its key (if any) at `now_ms`.
    /// Reading the store is the caller's (it is skipped when the key is in flight here).
    pub fn admit<E>(
        &self,
        claim: &Claim,
        stored: impl FnOnce() -> Result<Option<Record>, E>,
        now_ms: u64,
    ) -> Result<Admission, E> {
        if let Some(p) = self.pending.get(&claim.store_key) {
            return Ok(match p.fingerprint == claim.fingerprint {
                false => Admission::Conflict,
                true if p.waiters.len() >= MAX_WAITERS => Admission::Busy,
                true => Admission::Wait,
            });
        }
        Ok(match stored()?.filter(|r| !expired(r.created_ms, now_ms)) {
            Some(r) if r.fingerprint == claim.fingerprint => Admission::Replay(r.answer),
            Some(_) => Admission::Conflict,
            None if self.pending.len() >= MAX_IN_FLIGHT => Admission::Busy,
            None => Admission::Fresh,
        })
    }

    /// `claim`'s batch was handed to the committer.
    pub fn begin(&mut self, claim: &Claim) {
        let pending = Pending { fingerprint: claim.fingerprint, answer: claim.answer.clone(), waiters: Vec::new() };
        self.pending.insert(claim.store_key.clone(), pending);
    }

    /// A duplicate of an in-flight key waits for it (after [`admit`](Self::admit) said `Wait`).
    pub fn wait(&mut self, waiter: Waiter<M, R>) -> Result<(), Waiter<M, R>> {
        match self.pending.get_mut(&waiter.claim.store_key) {
            Some(p) => {
                p.waiters.push(waiter);
                Ok(())
            }
            None => Err(waiter),
        }
    }

    /// The first request with `store_key` is settled. When it `succeeded`, its waiters are
    /// answered with its answer (returned with each reply); otherwise they are returned to be
    /// tried again as new sends.
    pub fn finish(&mut self, store_key: &[u8], succeeded: bool) -> Finished<M, R> {
        let Some(p) = self.pending.remove(store_key) else { return Finished::Replay(Vec::new(), Bytes::new()) };
        match succeeded {
            true => Finished::Replay(p.waiters.into_iter().map(|w| w.reply).collect(), p.answer),
            false => Finished::Retry(p.waiters),
        }
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

/// What to do with a settled key's waiters.
pub enum Finished<M, R> {
    /// Answer each reply with this answer.
    Replay(Vec<R>, Bytes),
    /// Send each again as a new request (the first left no record).
    Retry(Vec<Waiter<M, R>>),
}
