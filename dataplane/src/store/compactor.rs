//! The compactor thread (`store-compactor`): the store's maintenance. It runs the manual
//! compactions that [`Store::compact_later`](super::Store::compact_later) asks for (consumed
//! queue spans, cleared queues, delivered outbox events) and, every `prune_every`, prunes the
//! dead-letter family of events older than `[store] dead_letter_retention_ms` and the webhook
//! history of events older than `[webhooks] delivered_retention`, one range delete per instance
//! (both are keyed `instance ‖ time ‖ event_id`: a prefix-skipping walk finds the instances).
//! Every `estimate_every` it refreshes the two families' size gauges from RocksDB's estimates.
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

use chatedge_config::InstanceId;

use super::{keys, Batch, Cf, Completion, Store, StoreError};
use crate::metrics::Metrics;

/// Compaction requests that may wait for the compactor.
pub const CAPACITY: usize = 256;

/// What the compactor does besides compacting on request.
#[derive(Debug, Clone, Copy)]
pub struct Maintenance {
    /// Dead letters older than this are deleted.
    pub dead_letter_retention: Duration,
    /// Delivered events created longer ago than this are deleted from the history; zero keeps
    /// none (the history is off, so whatever an earlier run kept goes).
    pub history_retention: Duration,
    /// How often the dead-letter and history families are pruned.
    pub prune_every: Duration,
    /// How often their size gauges are refreshed.
    pub estimate_every: Duration,
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

    /// Prunes the dead-letter and history families now and waits until the deletes are durable.
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
        let mut next_estimate = Instant::now();
        while !stopping.load(Ordering::Acquire) {
            if Instant::now() >= next_estimate {
                self.estimate();
                next_estimate = Instant::now() + self.maintenance.estimate_every;
            }
            match rx.recv_timeout(next_prune.min(next_estimate).saturating_duration_since(Instant::now())) {
                _ if stopping.load(Ordering::Acquire) => break,
                Ok(Job::Compact(cf, from, to)) => self.compact(cf, &from, &to, &opts),
                Ok(Job::PruneNow(reply)) => {
                    let _ = reply.send(self.prune(&opts)); // the asker may have gone
                }
                Ok(Job::Stop) | Err(RecvTimeoutError::Disconnected) => break,
                Err(RecvTimeoutError::Timeout) if Instant::now() < next_prune => {}
                Err(RecvTimeoutError::Timeout) => {
                    if let Err(e) = self.prune(&opts) {
                        tracing::warn!(error = %e, "webhook dead-letter/history pruning failed; trying again later");
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

    /// Deletes the dead letters and delivered events older than their retentions.
    fn prune(&self, opts: &CompactOptions) -> Result<(), StoreError> {
        let m = &self.maintenance;
        let dead = self.prune_family(Cf::DeadLetter, cutoff(m.dead_letter_retention), opts)?;
        self.metrics.dead_letters_pruned.inc_by(dead);
        let delivered = self.prune_family(Cf::WebhookHistory, cutoff(m.history_retention), opts)?;
        self.metrics.webhook_history_pruned.inc_by(delivered);
        self.estimate();
        Ok(())
    }

    /// One range delete per instance of `cf` (an `instance ‖ ms ‖ event_id` family) covering
    /// its keys older than `cutoff_ms`, in one batch, then a compaction of the pruned span.
    /// Walks only the keys it deletes (to count them) and seeks past each instance's rest.
    fn prune_family(&self, cf: Cf, cutoff_ms: u64, opts: &CompactOptions) -> Result<u64, StoreError> {
        let h = self.db.cf_handle(cf.name()).ok_or_else(|| StoreError::Rocks(format!("missing {}", cf.name())))?;
        let mut it = self.db.raw_iterator_cf(h);
        it.seek_to_first();
        let (mut batch, mut pruned, mut span) = (Batch::new(), 0u64, None::<(Vec<u8>, Vec<u8>)>);
        while it.valid() {
            let Some(instance) = it.key().and_then(InstanceId::from_slice) else {
                it.next(); // a key too short to name an instance: not this layout, left alone
                continue;
            };
            let end = keys::instance_time(&instance, cutoff_ms);
            let mut n = 0;
            while it.valid() && it.key().is_some_and(|k| k < end.as_slice()) {
                n += 1;
                it.next();
            }
            if n > 0 {
                let from = keys::instance_time(&instance, 0).to_vec();
                span = Some(match span {
                    None => (from.clone(), end.to_vec()),
                    Some((first, _)) => (first, end.to_vec()),
                });
                batch.delete_range(cf, from, end.to_vec());
                pruned += n;
            }
            it.seek(keys::prefix_end(instance.as_bytes()));
        }
        it.status()?;
        drop(it);
        let Some((from, to)) = span else { return Ok(0) };
        let store = self.store.upgrade().ok_or(StoreError::Closed)?;
        let (tx, rx) = std_mpsc::channel();
        store.submit(batch, Completion::call(move |r| drop(tx.send(r))));
        drop(store);
        rx.recv().unwrap_or(Err(StoreError::Closed))?;
        self.compact(cf, &from, &to, opts);
        Ok(pruned)
    }

    /// Refreshes the dead-letter and history gauges from RocksDB's key estimates (cheap: table
    /// properties and memtable counts, no reads).
    fn estimate(&self) {
        for (cf, gauge) in [
            (Cf::DeadLetter, &self.metrics.webhook_dead_letters),
            (Cf::WebhookHistory, &self.metrics.webhook_history_events),
        ] {
            let Some(h) = self.db.cf_handle(cf.name()) else { continue };
            if let Ok(Some(n)) = self.db.property_int_value_cf(h, "rocksdb.estimate-num-keys") {
                gauge.set(i64::try_from(n).unwrap_or(i64::MAX));
            }
        }
    }
}

/// How often to prune: `at_most`, or a quarter of the shortest (non-zero) retention when that
/// is sooner, so nothing outlives its retention by more than a quarter of it — but not more
/// often than every second.
pub fn prune_every(at_most: Duration, retentions: &[Duration]) -> Duration {
    let shortest = retentions.iter().filter(|r| !r.is_zero()).min().copied().unwrap_or(at_most);
    at_most.min(shortest / 4).max(Duration::from_secs(1))
}

/// The first time kept under `retention`; zero retention keeps nothing.
fn cutoff(retention: Duration) -> u64 {
    match retention.is_zero() {
        true => u64::MAX,
        false => chatedge_config::time::unix_ms().saturating_sub(retention.as_millis() as u64),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatedge_config::file::StoreConfig;
    use chatedge_config::{EventId, InstanceId};

    fn store_keeping(dead: Duration, delivered: Duration) -> (tempfile::TempDir, Arc<Store>, Arc<Metrics>) {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Arc::new(Metrics::new());
        let config = StoreConfig { dead_letter_retention: dead, ..chatedge_config::Config::default().store };
        let store = Store::open_keeping_history(dir.path(), &config, delivered, metrics.clone()).unwrap();
        (dir, store, metrics)
    }

    fn store_keeping_dead_letters_for(retention: Duration) -> (tempfile::TempDir, Arc<Store>, Arc<Metrics>) {
        store_keeping(retention, Duration::from_secs(86_400))
    }

    fn count(store: &Store, cf: Cf, instance: &InstanceId) -> usize {
        store
            .db()
            .prefix_iterator_cf(store.cf(cf), instance.as_bytes())
            .take_while(|kv| kv.as_ref().unwrap().0.starts_with(instance.as_bytes()))
            .count()
    }

    async fn prune_now(store: &Arc<Store>) {
        let s = store.clone();
        tokio::task::spawn_blocking(move || s.prune_webhook_events_now()).await.unwrap().unwrap();
    }

    /// Puts one key per age (in days) for each instance into `cf`.
    async fn aged(store: &Store, cf: Cf, instances: &[InstanceId], ages_days: &[u64]) {
        let now = chatedge_config::time::unix_ms();
        let mut b = Batch::new();
        for i in instances {
            for age in ages_days {
                let at = now - age * 86_400_000;
                b.put(cf, keys::instance_timed(i, at, &EventId::generate()).to_vec(), b"{}".to_vec());
            }
        }
        store.commit(b).await.unwrap();
    }

    #[tokio::test]
    async fn dead_letters_older_than_the_retention_are_pruned_per_instance_and_counted() {
        let day = Duration::from_secs(86_400);
        let (_dir, store, metrics) = store_keeping_dead_letters_for(7 * day);
        let instances = [InstanceId::generate(), InstanceId::generate(), InstanceId::generate()];
        aged(&store, Cf::DeadLetter, &instances, &[30, 8, 6, 0]).await;
        prune_now(&store).await;
        for i in &instances {
            assert_eq!(
                count(&store, Cf::DeadLetter, i),
                2,
                "the 30- and 8-day-old letters go, the 6- and 0-day-old stay"
            );
        }
        assert_eq!(metrics.dead_letters_pruned.get(), 6);
        prune_now(&store).await;
        assert_eq!(metrics.dead_letters_pruned.get(), 6, "nothing more to prune");
        store.close();
    }

    #[tokio::test]
    async fn delivered_events_older_than_the_history_retention_are_pruned_and_zero_keeps_none() {
        let day = Duration::from_secs(86_400);
        let (dir, store, metrics) = store_keeping(7 * day, day);
        let instances = [InstanceId::generate(), InstanceId::generate()];
        aged(&store, Cf::WebhookHistory, &instances, &[3, 2, 0]).await;
        aged(&store, Cf::DeadLetter, &instances, &[3]).await;
        prune_now(&store).await;
        for i in &instances {
            assert_eq!(count(&store, Cf::WebhookHistory, i), 1, "only the event of today stays");
            assert_eq!(count(&store, Cf::DeadLetter, i), 1, "a 3-day-old dead letter is kept (7 days)");
        }
        assert_eq!(metrics.webhook_history_pruned.get(), 4);
        assert_eq!(metrics.dead_letters_pruned.get(), 0);
        store.close();
        drop(store);
        let metrics = Arc::new(Metrics::new());
        let config = StoreConfig { dead_letter_retention: 7 * day, ..chatedge_config::Config::default().store };
        let store = Store::open_keeping_history(dir.path(), &config, Duration::ZERO, metrics.clone()).unwrap();
        prune_now(&store).await;
        for i in &instances {
            assert_eq!(count(&store, Cf::WebhookHistory, i), 0, "history turned off: what was kept goes");
        }
        assert_eq!(metrics.webhook_history_pruned.get(), 2);
        store.close();
    }

    #[test]
    fn short_retentions_are_pruned_more_often_but_at_most_every_second() {
        let ten_min = Duration::from_secs(600);
        let cases = [
            (vec![Duration::from_secs(7 * 86_400), Duration::from_secs(86_400)], ten_min),
            (vec![Duration::from_secs(86_400), Duration::ZERO], ten_min),
            (vec![Duration::from_secs(86_400), Duration::from_secs(20)], Duration::from_secs(5)),
            (vec![Duration::from_millis(1500)], Duration::from_secs(1)),
        ];
        for (retentions, want) in cases {
            assert_eq!(prune_every(ten_min, &retentions), want, "{retentions:?}");
        }
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
        // prune_now is queued behind the compaction, so once it answers the compaction ran.
        prune_now(&store).await;
        assert_eq!(metrics.store_compactions.get(), 1);
        assert_eq!(store.db().iterator_cf(store.cf(Cf::Queue), rocksdb::IteratorMode::Start).count(), 0);
        store.close();
    }
}
