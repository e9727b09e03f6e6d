//! store owns the data plane's one RocksDB handle and its column families, and the committer
//! thread through which every write goes. Writers hand a [`Batch`] to [`Store::submit`]; the
//! committer gathers whatever is waiting into one `WriteBatch`, writes it with `sync = true`
//! (group commit: one fsync for many requests) and then runs each batch's completion, in
//! submission order. Reads go to RocksDB directly from any thread. Nothing here runs on an
//! event loop's thread except reads, which hit the memtable or block cache.

mod committer;
mod faults;
pub mod health;
pub mod keys;

use std::path::Path;
use std::sync::Arc;

use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, Options, DB};

use crate::metrics::Metrics;

pub use committer::{Batch, Completion, Done, Op};
pub use health::Health;

/// The column families, in the order they are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cf {
    /// instance_id ‖ seq (u64 BE) → queued outbound message.
    Queue,
    /// due_at_ms (u64 BE) ‖ event_id → webhook event awaiting delivery.
    Outbox,
    /// event_id → webhook event whose retries are exhausted (kept for inspection).
    DeadLetter,
    /// instance_id → session state that survives restarts (paired phone, credentials).
    Sessions,
    /// the last applied config snapshot, one key per instance and tenant.
    Config,
    /// node-level facts (node id).
    Meta,
}

impl Cf {
    pub const ALL: [Cf; 6] = [Cf::Queue, Cf::Outbox, Cf::DeadLetter, Cf::Sessions, Cf::Config, Cf::Meta];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Queue => "queue",
            Cf::Outbox => "outbox",
            Cf::DeadLetter => "dead_letter",
            Cf::Sessions => "sessions",
            Cf::Config => "config",
            Cf::Meta => "meta",
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    #[error("storage failure: {0}")]
    Rocks(String),
    #[error("the store is shutting down")]
    Closed,
    #[error("stored record is corrupt: {0}")]
    Corrupt(String),
    #[error("the requester stopped waiting before the write, so nothing was written")]
    Abandoned,
}

impl From<rocksdb::Error> for StoreError {
    fn from(e: rocksdb::Error) -> Self {
        StoreError::Rocks(e.into_string())
    }
}

/// The shared store: RocksDB for reads, the committer for writes.
pub struct Store {
    db: Arc<DB>,
    committer: committer::Handle,
    health: Arc<Health>,
}

impl Store {
    /// Opens (creating if needed) the database under `path` and starts the committer thread.
    pub fn open(path: &Path, max_batch: usize, metrics: Arc<Metrics>) -> Result<Arc<Store>, StoreError> {
        #[allow(clippy::default_constructed_unit_structs)] // a unit struct only outside test builds
        let faults = faults::Faults::default();
        Store::open_with(path, max_batch, metrics, faults)
    }

    /// [`open`](Self::open) with faults injected into the committer (test builds only).
    #[cfg(test)]
    pub fn open_with_faults(
        path: &Path,
        max_batch: usize,
        metrics: Arc<Metrics>,
    ) -> Result<(Arc<Store>, faults::Faults), StoreError> {
        let f = faults::Faults::default();
        Ok((Store::open_with(path, max_batch, metrics, f.clone())?, f))
    }

    fn open_with(
        path: &Path,
        max_batch: usize,
        metrics: Arc<Metrics>,
        faults: faults::Faults,
    ) -> Result<Arc<Store>, StoreError> {
        // Before RocksDB creates it with its own 0755: message bodies and credentials live here.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(path)
            .map_err(|e| StoreError::Rocks(format!("cannot create {}: {e}", path.display())))?;
        let mut opts = Options::default();
        opts.create_if_missing(true);
        opts.create_missing_column_families(true);
        opts.set_compression_type(rocksdb::DBCompressionType::None);
        // Keep the WAL bounded so restart replay stays short.
        opts.set_max_total_wal_size(256 * 1024 * 1024);
        let cfs = Cf::ALL.iter().map(|cf| {
            let mut o = Options::default();
            o.set_compression_type(rocksdb::DBCompressionType::None);
            ColumnFamilyDescriptor::new(cf.name(), o)
        });
        let db = Arc::new(DB::open_cf_descriptors(&opts, path, cfs)?);
        let health = Arc::new(Health::new(metrics.store_healthy.clone()));
        let committer = committer::start(db.clone(), max_batch, metrics, health.clone(), faults)?;
        Ok(Arc::new(Store { db, committer, health }))
    }

    pub fn db(&self) -> &DB {
        &self.db
    }

    /// Whether writes currently succeed, and why not.
    pub fn health(&self) -> &Health {
        &self.health
    }

    pub fn cf(&self, cf: Cf) -> &ColumnFamily {
        // Every family in Cf::ALL is created at open, so the handle exists.
        self.db.cf_handle(cf.name()).unwrap_or_else(|| unreachable!("column family {} opened", cf.name()))
    }

    /// Hands `batch` to the committer; `done` runs on the committer thread once the batch is
    /// durable (or failed). Never blocks.
    pub fn submit(&self, batch: Batch, done: Completion) {
        self.committer.submit(batch, done);
    }

    /// Submits and waits for durability from async code.
    pub async fn commit(&self, batch: Batch) -> Result<(), StoreError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(batch, Completion::oneshot(tx));
        rx.await.unwrap_or(Err(StoreError::Closed))
    }

    /// Compacts `[from, to)` of `cf` on the committer's maintenance thread, so tombstones
    /// left by consumed queue heads stop costing reads.
    pub fn compact_later(&self, cf: Cf, from: Vec<u8>, to: Vec<u8>) {
        self.committer.compact_later(cf, from, to);
    }

    /// Writes waiting for the committer (for metrics and tests).
    pub fn pending(&self) -> usize {
        self.committer.pending()
    }

    /// Stops the committer after it has written everything submitted so far.
    pub fn close(&self) {
        self.committer.close();
    }
}
