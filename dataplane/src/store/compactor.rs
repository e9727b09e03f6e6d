//! The compactor thread (`store-compactor`): the store's maintenance. It runs the manual
//! compactions that [`Store::compact_later`](super::Store::compact_later) asks for (consumed
//! queue spans, cleared queues, delivered outbox events) and, every `prune_every`, prunes the
//! dead-letter family of events older than `[store] dead_letter_retention_ms`.
//!
//! It must never stall writers: manual compactions are non-exclusive
//! (`exclusive_manual_compaction = false`), so RocksDB's automatic compactions — including the
//! deletion-triggered ones set up in [`options`](super::options) — and every write go on while
//! one runs; and the prune's range delete goes through the committer like every other write,
//! as one small batch. Requests wait in a bounded channel ([`CAPACITY`]); when it is full a
//! request is dropped and counted (`chatedge_dp_store_compactions_dropped_total`) — compaction
//! only saves reads and space, and the next consumed span asks again. Nothing here runs on an
//! event loop.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use rocksdb::{BottommostLevelCompaction, CompactOptions, DB};

use super::{keys, Batch, Cf, Completion, Store, StoreError};
use crate::metrics::Metrics;

/// Compaction requests that may wait for the compactor.
pub const CAPACITY: usize = 256;

/// What the compactor does besides compacting on request.
#[derive(Debug, Clone, Copy)]
pub struct Maintenance {
    /// Dead letters older than this are deleted.
    pub dead_letter_retention: Duration,
    /// How often the dead-letter family is pruned.
    pub prune_every: Duration,
}

enum Job {
    Compact(Cf, Vec<u8>, Vec<u8>),
    PruneNow(std_mpsc::Sender<Result<(), StoreError>>),
    Stop,
}

pub struct Handle {
    /// `None` once stopped (or if the thread never started).
    tx: Option<Sender<Job>>,
    /// Set at close: waiting compactions are skipped.
    stopping: Arc<AtomicBool>,
    dropped: Option<prometheus::IntCounter>,
    thread: Mutex<Option<JoinHandle<()>>>, // taken once, at close
}

impl Handle {
    /// A compactor that does nothing (its thread could not start).
    pub fn stopped() -> Handle {
        Handle { tx: None, stopping: Arc::new(AtomicBool::new(true)), dropped: None, thread: Mutex::new(None) }
    }

    pub fn compact_later(&self, cf: Cf, from: Vec<u8>, to: Vec<u8>) {
        let Some(tx) = &self.tx else { return };
        if let Err(TrySendError::Full(_)) = tx.try_send(Job::Compact(cf, from, to)) {
            if let Some(d) = &self.dropped {
                d.inc();
            }
        }
    }

    /// Prunes the dead-letter family now and waits until the delete is durable.
    pub fn prune_now(&self) -> Result<(), StoreError> {
        let tx = self.tx.as_ref().ok_or(StoreError::Closed)?;
        let (reply, done) = std_mpsc::channel();
        tx.send(Job::PruneNow(reply)).map_err(|_| StoreError::Closed)?;
        done.recv().unwrap_or(Err(StoreError::Closed))
    }

    /// Stops the thread after the job under way; waiting requests are dropped.
    pub fn close(&self) {
        self.stopping.store(true, Ordering::Release);
        if let Some(tx) = &self.tx {
            // The thread leaves at its next job, so a full channel frees a slot at once (or the
            // thread is gone and the send fails).
            let _ = tx.send(Job::Stop);
        }
        let thread = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = thread {
            let _ = t.join();
        }
    }
}

pub fn start(
    db: Arc<DB>,
    store: Weak<Store>,
    maintenance: Maintenance,
    metrics: Arc<Metrics>,
) -> Result<Handle, StoreError> {
    let (tx, rx) = crossbeam_channel::bounded(CAPACITY);
    let dropped = metrics.store_compactions_dropped.clone();
    let stopping = Arc::new(AtomicBool::new(false));
    let stop = stopping.clone();
    let thread = std::thread::Builder::new()
        .name("store-compactor".into())
        .spawn(move || Compactor { db, store, maintenance, metrics }.run(&rx, &stop))
        .map_err(|e| StoreError::Rocks(format!("cannot start compactor thread: {e}")))?;
    Ok(Handle { tx: Some(tx), stopping, dropped: Some(dropped), thread: Mutex::new(Some(thread)) })
}

struct Compactor {
    db: Arc<DB>,
    /// Weak: the store owns this thread, and the prune submits through the store's committer.
    store: Weak<Store>,
    maintenance: Maintenance,
    metrics: Arc<Metrics>,
}

impl Compactor {
    fn run(self, rx: &Receiver<Job>, stopping: &AtomicBool) {
        let mut opts = CompactOptions::default();
        opts.set_exclusive_manual_compaction(false);
        // The consumed span's files are often already at the bottom level; tombstones there
        // are only dropped by compacting it (ForceOptimized skips files this compaction made).
        opts.set_bottommost_level_compaction(BottommostLevelCompaction::ForceOptimized);
        let mut next_prune = Instant::now() + self.maintenance.prune_every;
        while !stopping.load(Ordering::Acquire) {
            match rx.recv_timeout(next_prune.saturating_duration_since(Instant::now())) {
                _ if stopping.load(Ordering::Acquire) => break,
                Ok(Job::Compact(cf, from, to)) => self.compact(cf, &from, &to, &opts),
                Ok(Job::PruneNow(reply)) => {
                    let _ = reply.send(self.prune(&opts)); // the asker may have gone
                }
                Ok(Job::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = self.prune(&opts) {
                        tracing::warn!(error = %e, "dead-letter pruning failed; trying again later");
                    }
                    next_prune = Instant::now() + self.maintenance.prune_every;
                }
            }
        }
    }

    fn compact(&self, cf: Cf, from: &[u8], to: &[u8], opts: &CompactOptions) {
        if let Some(h) = self.db.cf_handle(cf.name()) {
            self.db.compact_range_cf_opt(h, Some(from), Some(to), opts);
            self.metrics.store_compactions.inc();
        }
    }

    /// Deletes every dead letter older than the retention: one range delete from the start of
    /// the family (keys begin with the time the event died), then a compaction of that span.
    fn prune(&self, opts: &CompactOptions) -> Result<(), StoreError> {
        let retention = self.maintenance.dead_letter_retention.as_millis() as u64;
        let cutoff = chatedge_config::time::unix_ms().saturating_sub(retention);
        let (from, to) = (Vec::<u8>::new(), keys::dead_letter_cutoff(cutoff).to_vec());
        let n = self.count(Cf::DeadLetter, &to)?;
        if n == 0 {
            return Ok(());
        }
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let mut batch = Batch::new();
        batch.delete_range(Cf::DeadLetter, from.clone(), to.clone());
        let (tx, rx) = std_mpsc::channel();
        store.submit(batch, Completion::call(move |r| drop(tx.send(r))));
        drop(store);
        rx.recv().unwrap_or(Err(StoreError::Closed))?;
        self.metrics.dead_letters_pruned.inc_by(n);
        self.compact(Cf::DeadLetter, &from, &to, opts);
        Ok(())
    }

    /// Keys of `cf` below `to` (keys only, on this thread: what the prune is about to delete,
    /// for the metric).
    fn count(&self, cf: Cf, to: &[u8]) -> Result<u64, StoreError> {
        let h = self.db.cf_handle(cf.name()).ok_or_else(|| StoreError::Rocks(format!("missing {}", cf.name())))?;
        let mut opts = rocksdb::ReadOptions::default();
        opts.set_iterate_upper_bound(to.to_vec());
        let mut it = self.db.raw_iterator_cf_opt(h, opts);
        it.seek_to_first();
        let mut n = 0;
        while it.valid() {
            n += 1;
            it.next();
        }
        it.status()?;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatedge_config::file::StoreConfig;
    use chatedge_config::EventId;

    fn store_keeping_dead_letters_for(retention: Duration) -> (tempfile::TempDir, Arc<Store>, Arc<Metrics>) {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::new());
        let config = StoreConfig { dead_letter_retention: retention, ..chatedge_config::Config::default().store };
        let store = Store::open_with(dir.path(), &config, metrics.clone()).unwrap();
        (dir, store, metrics)
    }

    fn dead_letters(store: &Store) -> usize {
        store.db().iterator_cf(store.cf(Cf::DeadLetter), rocksdb::IteratorMode::Start).count()
    }

    #[tokio::test]
    async fn dead_letters_older_than_the_retention_are_pruned_and_counted() {
        let day = Duration::from_secs(86_400);
        let (_dir, store, metrics) = store_keeping_dead_letters_for(7 * day);
        let now = chatedge_config::time::unix_ms();
        let mut b = Batch::new();
        for age_days in [30u64, 8, 6, 0] {
            let died = now - age_days * day.as_millis() as u64;
            b.put(Cf::DeadLetter, keys::dead_letter(died, &EventId::generate()).to_vec(), b"{}".to_vec());
        }
        store.commit(b).await.unwrap();
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.prune_dead_letters_now()).await.unwrap().unwrap();
        assert_eq!(dead_letters(&store), 2, "the 30- and 8-day-old letters go, the 6- and 0-day-old stay");
        assert_eq!(metrics.dead_letters_pruned.get(), 2);
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.prune_dead_letters_now()).await.unwrap().unwrap();
        assert_eq!(metrics.dead_letters_pruned.get(), 2, "nothing more to prune");
        store.close();
    }

    #[tokio::test]
    async fn a_requested_compaction_runs_while_writes_go_on() {
        let (_dir, store, metrics) = store_keeping_dead_letters_for(Duration::from_secs(1));
        let id = chatedge_config::InstanceId::generate();
        let mut b = Batch::new();
        for seq in 0..1000u64 {
            b.put(Cf::Queue, keys::queue(&id, seq).to_vec(), vec![7; 100]);
        }
        store.commit(b).await.unwrap();
        let mut b = Batch::new();
        b.delete_range(Cf::Queue, keys::queue(&id, 0), keys::queue(&id, 1000));
        store.commit(b).await.unwrap();
        store.compact_later(Cf::Queue, keys::queue(&id, 0).to_vec(), keys::queue(&id, 1000).to_vec());
        let mut b = Batch::new();
        b.put(Cf::Meta, b"still writable".to_vec(), vec![1]);
        store.commit(b).await.unwrap();
        let s = store.clone();
        // prune_now is queued behind the compaction, so once it answers the compaction ran.
        tokio::task::spawn_blocking(move || s.prune_dead_letters_now()).await.unwrap().unwrap();
        assert_eq!(metrics.store_compactions.get(), 1);
        assert_eq!(store.db().iterator_cf(store.cf(Cf::Queue), rocksdb::IteratorMode::Start).count(), 0);
        store.close();
    }
}
