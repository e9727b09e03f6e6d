//! Blocking reads and range jobs on the outbox, run by the dispatcher on tokio's blocking pool
//! (`spawn_blocking`), never on the event loop: the start-up scan for non-empty queues (one
//! seek per queue, never iterating a backlog), read-ahead of a queue's next events, and the
//! jobs that empty a whole queue (dropped when its URL is cleared, dead-lettered when its
//! endpoint is disabled or its instance removed), a bounded chunk at a time.

use std::sync::mpsc as std_mpsc;

use chatedge_config::snapshot::WebhookKind;
use chatedge_config::{EventId, InstanceId};
use serde::Deserialize;

use super::{dead_letter, queue_of, StoredEvent};
use crate::store::{keys, Batch, Cf, Completion, Store, StoreError};

/// Events moved or deleted per batch by a range job.
const CHUNK: usize = 512;

pub type QueueId = (InstanceId, u8);

/// One read-ahead: events of a queue from a seq on, in order.
pub struct Loaded {
    pub events: Vec<(u64, StoredEvent)>,
    /// Undecodable records met (moved to dead letters as they were).
    pub corrupt: usize,
}

/// Every non-empty queue, by seeking from each queue's prefix to the next one's. Records in
/// the layout before issue 9 (`due_ms ‖ event_id`, JSON) met on the way are rewritten into
/// their queues first (`migrated` counts them). The highest seq stored seeds the seq counter
/// ([`super::seed_seq`]), so new events sort after stored ones even if the clock went back.
pub fn scan_queues(store: &Store) -> Result<(Vec<QueueId>, usize), StoreError> {
    let migrated = migrate_legacy(store)?;
    let mut found = Vec::new();
    let mut highest = 0;
    let mut it = store.db().raw_iterator_cf(store.cf(Cf::Outbox));
    let mut last = store.db().raw_iterator_cf(store.cf(Cf::Outbox));
    it.seek_to_first();
    while let Some(k) = it.key() {
        match keys::parse_outbox(k) {
            Some((instance, queue, _)) => {
                found.push((instance, queue));
                let end = keys::prefix_end(&keys::outbox_queue(&instance, queue));
                last.seek_for_prev(&end);
                if let Some((_, _, seq)) = last.key().and_then(keys::parse_outbox) {
                    highest = highest.max(seq);
                }
                it.seek(end);
            }
            None => it.next(),
        }
    }
    it.status()?;
    last.status()?;
    super::seed_seq(highest);
    Ok((found, migrated))
}

/// Up to `limit` events of `queue` with seq ≥ `from`.
pub fn load(store: &Store, queue: QueueId, from: u64, limit: usize) -> Result<Loaded, StoreError> {
    let prefix = keys::outbox_queue(&queue.0, queue.1);
    let mut opts = rocksdb::ReadOptions::default();
    opts.set_iterate_upper_bound(keys::prefix_end(&prefix));
    let mut it = store.db().raw_iterator_cf_opt(store.cf(Cf::Outbox), opts);
    it.seek(keys::outbox(&queue.0, queue.1, from));
    let mut out = Loaded { events: Vec::new(), corrupt: 0 };
    let mut bad = Batch::new();
    while out.events.len() < limit {
        let (Some(k), Some(v)) = (it.key(), it.value()) else { break };
        let Some((_, _, seq)) = keys::parse_outbox(k) else { break };
        match StoredEvent::decode(v) {
            Ok(e) => out.events.push((seq, e)),
            Err(e) => {
                tracing::error!(error = %e, "undecodable outbox event moved to dead letter");
                dead_letter::record_undecodable(&mut bad, &EventId::random(), v);
                bad.delete(Cf::Outbox, k.to_vec());
                out.corrupt += 1;
            }
        }
        it.next();
    }
    it.status()?;
    if !bad.is_empty() {
        commit_blocking(store, bad)?;
    }
    Ok(out)
}

/// What a range job does with each event of a queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Empty {
    /// Delete (the kind's URL was cleared).
    Drop,
    /// Move to dead letters with this reason.
    DeadLetter(&'static str),
}

/// Empties `queue` up to what is committed now; returns how many events it took. It deletes
/// exactly the keys it read, never a range: an event whose batch commits while a chunk is
/// being read (a requeue holding a lower seq) is taken by the next chunk or the next job, not
/// deleted unseen.
pub fn empty_queue(store: &Store, queue: QueueId, how: Empty) -> Result<u64, StoreError> {
    let prefix = keys::outbox_queue(&queue.0, queue.1);
    let end = keys::prefix_end(&prefix);
    let mut taken = 0u64;
    // Each chunk starts past the last one, not over its tombstones; an event committed behind
    // it is announced by its notification, which asks for another job.
    let mut from = prefix.to_vec();
    loop {
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_iterate_upper_bound(end.clone());
        let mut it = store.db().raw_iterator_cf_opt(store.cf(Cf::Outbox), opts);
        it.seek(&from);
        let mut batch = Batch::new();
        let mut n = 0;
        let mut span: Option<(Vec<u8>, Vec<u8>)> = None;
        while n < CHUNK {
            let (Some(k), Some(v)) = (it.key(), it.value()) else { break };
            if let Empty::DeadLetter(reason) = how {
                match StoredEvent::decode(v) {
                    Ok(e) => {
                        dead_letter::record(&mut batch, &e, reason);
                    }
                    Err(_) => dead_letter::record_undecodable(&mut batch, &EventId::random(), v),
                }
            }
            batch.delete(Cf::Outbox, k.to_vec());
            match &mut span {
                Some((_, last)) => *last = k.to_vec(),
                None => span = Some((k.to_vec(), k.to_vec())),
            }
            n += 1;
            it.next();
        }
        it.status()?;
        let Some((first, mut upto)) = span else { return Ok(taken) };
        upto.push(0); // just past the last key taken
        commit_blocking(store, batch)?;
        store.compact_later(Cf::Outbox, first, upto.clone());
        from = upto;
        taken += n as u64;
        if n < CHUNK {
            return Ok(taken);
        }
    }
}

/// Submits `batch` and waits for it on this (blocking) thread.
pub fn commit_blocking(store: &Store, batch: Batch) -> Result<(), StoreError> {
    let (tx, rx) = std_mpsc::channel();
    store.submit(batch, Completion::call(move |r| drop(tx.send(r))));
    rx.recv().unwrap_or(Err(StoreError::Closed))
}

/// An event as the dispatcher before issue 9 stored it (JSON, keyed `due_ms ‖ event_id`).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LegacyEvent {
    id: EventId,
    instance: InstanceId,
    kind: WebhookKind,
    body: String,
    created_ms: u64,
    attempts: u32,
}

/// Rewrites records of the old layout into their queues (oldest due first), a chunk per batch.
/// Old keys are 24 bytes and begin with a due time, new ones 25 and begin with an instance
/// id: they never collide.
fn migrate_legacy(store: &Store) -> Result<usize, StoreError> {
    const LEGACY_KEY_LEN: usize = 8 + EventId::LEN;
    let mut moved = 0;
    let mut it = store.db().raw_iterator_cf(store.cf(Cf::Outbox));
    it.seek_to_first();
    let mut batch = Batch::new();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        if k.len() == LEGACY_KEY_LEN {
            if let Ok(old) = serde_json::from_slice::<LegacyEvent>(v) {
                let mut e =
                    StoredEvent::new(old.id, old.instance, old.kind, old.kind.name().to_owned(), old.body.into());
                if let Some(name) = serde_json::from_slice::<serde_json::Value>(&e.body)
                    .ok()
                    .and_then(|b| b.get("type").and_then(|t| t.as_str()).map(str::to_owned))
                {
                    e.name = name;
                }
                e.created_ms = old.created_ms;
                e.attempts = old.attempts;
                let key = keys::outbox(&e.instance, queue_of(e.kind), super::next_seq());
                batch.put(Cf::Outbox, key, e.encode());
            } else {
                dead_letter::record_undecodable(&mut batch, &EventId::random(), v);
            }
            batch.delete(Cf::Outbox, k.to_vec());
            moved += 1;
            if batch.ops().len() >= CHUNK {
                commit_blocking(store, std::mem::take(&mut batch))?;
            }
            it.next();
        } else {
            // New-layout keys start with an instance id: skip the rest of that queue.
            match keys::parse_outbox(k) {
                Some((i, q, _)) => it.seek(keys::prefix_end(&keys::outbox_queue(&i, q))),
                None => it.next(),
            }
        }
    }
    it.status()?;
    if !batch.is_empty() {
        commit_blocking(store, batch)?;
    }
    Ok(moved)
}
