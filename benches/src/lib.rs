//! Shared fixtures for chatedge's criterion micro-benchmarks (the files under `benches/`): a
//! config snapshot holding N instances with their tokens ([`fleet`]), a typical queued text
//! message ([`sample_message`]), a store on a temporary directory with its committer running
//! ([`TempStore`]), and the two ways of making batches durable that the storage benches
//! compare — through the committer with `sync = true` ([`TempStore::commit_all`], the only
//! mode the data plane has) and straight to RocksDB with a chosen `sync` flag
//! ([`TempStore::write_direct`], the "sync off" baseline that shows what fsync costs).
//!
//! Temporary stores are created under `$CHATEDGE_BENCH_DIR` if set, else under the system
//! temporary directory (`$TMPDIR`, default `/tmp`). Put it on the disk the data plane would
//! use: on a tmpfs, fsync is free and every storage figure is meaningless.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::sync::mpsc;
use std::sync::Arc;

use chatedge_config::snapshot::Webhooks;
use chatedge_config::{
    ConfigUpdate, InstanceConfig, InstanceId, Phone, Secret, Snapshot, TenantId, UrlPolicy, WebhookUrl,
};
use chatedge_dataplane::metrics::Metrics;
use chatedge_dataplane::queue::{Content, OutboundMessage};
use chatedge_dataplane::store::{Batch, Completion, Op, Store, StoreError};
use rocksdb::{WriteBatch, WriteOptions};

/// The data plane's default `[store] max_batch` (batches per group commit).
pub fn default_max_batch() -> usize {
    chatedge_config::Config::default().store.max_batch
}

/// One instance's configuration as the control plane would push it: active, with HTTPS
/// webhooks for deliveries, received messages and statuses.
pub fn instance_config(id: InstanceId, token: &Secret) -> InstanceConfig {
    let url =
        |kind: &str| WebhookUrl::parse(&format!("https://hooks.example.com/{id}/{kind}"), UrlPolicy::default()).ok();
    let mut i = InstanceConfig::new_trial(TenantId::generate(), token.hash(), format!("instance {id}"), 1, 1);
    i.id = id;
    i.webhooks = Webhooks {
        delivery: url("delivery"),
        received: url("received"),
        message_status: url("status"),
        ..Webhooks::default()
    };
    i.payment_status = "PAID".into();
    i
}

/// A snapshot with `n` instances, and each instance's token in the clear (what callers send).
pub struct Fleet {
    pub snapshot: Snapshot,
    pub credentials: Vec<(InstanceId, Secret)>,
}

/// Builds a [`Fleet`] of `n` instances through [`Snapshot::apply`], as a data plane receives
/// its first (reset) update.
pub fn fleet(n: usize) -> Fleet {
    let credentials: Vec<(InstanceId, Secret)> =
        (0..n).map(|_| (InstanceId::generate(), Secret::generate(16))).collect();
    let instances = credentials.iter().map(|(id, token)| instance_config(*id, token)).collect();
    let update = ConfigUpdate { reset: true, version: 1, instances, ..Default::default() };
    let snapshot = match Snapshot::default().apply(&update, UrlPolicy::default()) {
        Ok(s) => s,
        Err(e) => panic!("fixture snapshot must apply: {e}"),
    };
    Fleet { snapshot, credentials }
}

/// The text of a typical message (~120 characters, with accents and an emoji).
pub const SAMPLE_TEXT: &str = "Olá! Seu pedido #48213 foi confirmado e sai para entrega amanhã entre 9h e 12h. \
                               Qualquer dúvida, responda aqui 🙂";

/// A queued text message of `instance` as `parse_send_text` would produce it.
pub fn sample_message(instance: InstanceId) -> OutboundMessage {
    OutboundMessage::new(instance, sample_phone(), Content::text(SAMPLE_TEXT))
}

/// A Brazilian mobile number, the common Z-API recipient.
pub fn sample_phone() -> Phone {
    match Phone::parse("5511999999999") {
        Ok(p) => p,
        Err(e) => panic!("fixture phone must parse: {e}"),
    }
}

/// A [`Store`] on a fresh temporary directory; closed (committer joined) and deleted on drop.
pub struct TempStore {
    pub store: Arc<Store>,
    /// The store's metrics: `store_commits` counts group commits (one fsync each).
    pub metrics: Arc<Metrics>,
    dir: tempfile::TempDir,
}

impl TempStore {
    /// Opens a store whose committer groups up to `max_batch` batches per write.
    pub fn open(max_batch: usize) -> TempStore {
        let dir = match std::env::var_os("CHATEDGE_BENCH_DIR") {
            Some(base) => tempfile::tempdir_in(PathBuf::from(base)),
            None => tempfile::tempdir(),
        };
        let dir = dir.unwrap_or_else(|e| panic!("cannot create a temporary directory: {e}"));
        let metrics = Arc::new(Metrics::new());
        let store =
            Store::open(dir.path(), max_batch, metrics.clone()).unwrap_or_else(|e| panic!("cannot open store: {e}"));
        TempStore { store, metrics, dir }
    }

    pub fn path(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Submits every batch to the committer at once (as concurrent requests would) and
    /// returns when all are durable. Panics if any failed.
    pub fn commit_all(&self, batches: impl IntoIterator<Item = Batch>) {
        let mut s = self.submitter();
        batches.into_iter().for_each(|b| s.submit(b));
        s.wait();
    }

    /// A way to hand batches to the committer one by one as they are built, then wait for
    /// all of them.
    pub fn submitter(&self) -> Submitter<'_> {
        let (tx, rx) = mpsc::channel();
        Submitter { store: &self.store, tx, rx, submitted: 0 }
    }

    /// Writes `batches` as one RocksDB `WriteBatch` with the given `sync` flag, bypassing the
    /// committer: the same operations the committer would write, minus its thread hand-off.
    pub fn write_direct(&self, batches: &[Batch], sync: bool) {
        let db = self.store.db();
        let mut wb = WriteBatch::default();
        for batch in batches {
            for op in batch.ops() {
                match op {
                    Op::Put(cf, k, v) => wb.put_cf(self.store.cf(*cf), k, v),
                    Op::Delete(cf, k) => wb.delete_cf(self.store.cf(*cf), k),
                    Op::DeleteRange(cf, from, to) => wb.delete_range_cf(self.store.cf(*cf), from, to),
                }
            }
        }
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        db.write_opt(wb, &opts).unwrap_or_else(|e| panic!("direct write failed: {e}"));
    }

    /// Group commits made so far (each is one `WriteBatch` written with `sync = true`).
    pub fn group_commits(&self) -> u64 {
        self.metrics.store_commits.get()
    }
}

impl Drop for TempStore {
    fn drop(&mut self) {
        self.store.close();
    }
}

/// Batches handed to the committer and not yet known durable.
pub struct Submitter<'a> {
    store: &'a Store,
    tx: mpsc::Sender<Result<(), StoreError>>,
    rx: mpsc::Receiver<Result<(), StoreError>>,
    submitted: usize,
}

impl Submitter<'_> {
    /// Hands `batch` to the committer; never blocks.
    pub fn submit(&mut self, batch: Batch) {
        let tx = self.tx.clone();
        self.store.submit(
            batch,
            Completion::call(move |r| {
                let _ = tx.send(r); // the waiter is this Submitter, alive until wait() returns
            }),
        );
        self.submitted += 1;
    }

    /// Returns once every submitted batch is durable. Panics if any failed.
    pub fn wait(self) {
        for _ in 0..self.submitted {
            match self.rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(e)) => panic!("commit failed: {e}"),
                Err(_) => panic!("committer dropped a completion"),
            }
        }
    }
}

/// Criterion settings for the CPU-only benches (send path, webhook): stable enough, and short
/// enough that the whole suite runs in about two minutes on the 2-core machine.
pub fn quick_criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(30)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
}

/// Criterion settings for the storage benches, whose iterations include fsyncs.
pub fn storage_criterion() -> criterion::Criterion {
    criterion::Criterion::default()
        .sample_size(20)
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(4))
}
