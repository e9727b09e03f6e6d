//! replay re-sends an instance's past webhook events with their original ids: the delivered
//! ones kept in [`history`](super::history) and the dead ones in
//! [`dead_letter`](super::dead_letter), created in a time window, optionally of some kinds only.
//! Each goes back to the tail of the outbox ([`super::requeue`]); a dead letter that is
//! replayed is removed in the same batch (it is pending again; if it dies again it is recorded
//! again).
//!
//! Bounded in memory and in work: a first pass walks the window keeping only keys and times
//! (at most [`MAX_EVENTS_PER_CALL`]; one more refuses the whole call, nothing queued, so the
//! caller narrows the window), then the events are read back and requeued in creation order,
//! [`CHUNK`] per batch, each batch committed and its keys handed to the dispatcher before the
//! next is read. Blocking: runs on `spawn_blocking`, never on an event loop.

use std::collections::HashSet;
use std::ops::ControlFlow;

use chatedge_config::snapshot::WebhookKind;
use chatedge_config::{EventId, InstanceId};

use super::{dead_letter, history, Notifier, StoredEvent};
use crate::store::{keys, Batch, Cf, Completion, Store, StoreError};

/// Most events one replay call queues.
pub const MAX_EVENTS_PER_CALL: usize = 100_000;
/// Events requeued per batch.
const CHUNK: usize = 1_000;

/// Which events to replay: created in `[since, until)`, of `kinds` (all when empty).
#[derive(Debug, Clone)]
pub struct Window {
    pub since: u64,
    pub until: u64,
    pub kinds: Vec<WebhookKind>,
}

impl Window {
    fn takes(&self, event: &StoredEvent) -> bool {
        (self.since..self.until).contains(&event.created_ms)
            && (self.kinds.is_empty() || self.kinds.contains(&event.kind))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("more than {max} events match; narrow the window (a later since, an until, or fewer types)")]
    TooMany { max: usize },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a picked event is read back from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Source {
    History(history::HistoryKey),
    Dead(dead_letter::DeadLetterKey),
}

/// Requeues every event of `instance` in `window`; returns how many were queued.
pub fn replay(
    store: &Store,
    notifier: &Notifier,
    instance: &InstanceId,
    window: &Window,
) -> Result<usize, ReplayError> {
    replay_at_most(store, notifier, instance, window, MAX_EVENTS_PER_CALL)
}

/// [`replay`], refusing more than `max` events.
fn replay_at_most(
    store: &Store,
    notifier: &Notifier,
    instance: &InstanceId,
    window: &Window,
    max: usize,
) -> Result<usize, ReplayError> {
    let picked = pick(store, instance, window, max)?;
    let mut queued = 0;
    for chunk in picked.chunks(CHUNK) {
        let mut batch = Batch::new();
        let mut keys = Vec::with_capacity(chunk.len());
        for (_, source) in chunk {
            let Some(event) = read(store, source, &mut batch)? else { continue };
            keys.push(crate::outbox::requeue(&mut batch, &event));
        }
        if keys.is_empty() {
            continue;
        }
        commit(store, batch)?;
        queued += keys.len();
        notifier.notify(keys);
    }
    Ok(queued)
}

/// The first pass: the keys of every event in the window, by creation time, each id once.
fn pick(store: &Store, instance: &InstanceId, window: &Window, max: usize) -> Result<Vec<(u64, Source)>, ReplayError> {
    let mut p = Picked { max, picked: Vec::new(), ids: HashSet::new(), too_many: false };
    history::scan(store, instance, window.since, window.until, |key, event| match window.takes(&event) {
        true => p.take(event.created_ms, event.id, Source::History(*key)),
        false => ControlFlow::Continue(()),
    })?;
    // An event dies after it is created, so letters that died before `since` are all older.
    let mut opts = rocksdb::ReadOptions::default();
    opts.set_iterate_upper_bound(keys::instance_time(instance, u64::MAX).to_vec());
    let mut it = store.db().raw_iterator_cf_opt(store.cf(Cf::DeadLetter), opts);
    it.seek(keys::instance_time(instance, window.since));
    while it.valid() && !p.too_many {
        if let (Some(k), Some(v)) = (it.key(), it.value()) {
            let letter = dead_letter::decode(k, v)?;
            if window.takes(&letter.event) {
                let _ = p.take(letter.event.created_ms, letter.event.id, Source::Dead(letter.key));
            }
        }
        it.next();
    }
    it.status().map_err(StoreError::from)?;
    if p.too_many {
        return Err(ReplayError::TooMany { max });
    }
    p.picked.sort_unstable();
    Ok(p.picked)
}

struct Picked {
    max: usize,
    picked: Vec<(u64, Source)>,
    /// An event both delivered and dead (or listed twice) is queued once.
    ids: HashSet<EventId>,
    too_many: bool,
}

impl Picked {
    fn take(&mut self, created: u64, id: EventId, source: Source) -> ControlFlow<()> {
        if !self.ids.insert(id) {
            return ControlFlow::Continue(());
        }
        if self.picked.len() == self.max {
            self.too_many = true;
            return ControlFlow::Break(());
        }
        self.picked.push((created, source));
        ControlFlow::Continue(())
    }
}

/// Reads a picked event back (gone if pruned meanwhile); a dead letter's delete joins `batch`.
fn read(store: &Store, source: &Source, batch: &mut Batch) -> Result<Option<StoredEvent>, StoreError> {
    match source {
        Source::History(key) => match store.db().get_pinned_cf(store.cf(Cf::WebhookHistory), key)? {
            Some(v) => StoredEvent::decode(&v).map(Some),
            None => Ok(None),
        },
        Source::Dead(key) => match store.db().get_pinned_cf(store.cf(Cf::DeadLetter), key)? {
            Some(v) => {
                let letter = dead_letter::decode(key, &v)?;
                dead_letter::remove(batch, key);
                Ok(Some(letter.event))
            }
            None => Ok(None),
        },
    }
}

/// Commits `batch` and waits for it, from a blocking thread.
pub(crate) fn commit(store: &Store, batch: Batch) -> Result<(), StoreError> {
    let (tx, rx) = std::sync::mpsc::channel();
    store.submit(batch, Completion::call(move |r| drop(tx.send(r))));
    rx.recv().unwrap_or(Err(StoreError::Closed))
}

#[cfg(test)]
mod tests;
