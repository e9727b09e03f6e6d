//! store owns the data plane's one RocksDB handle and its column families, the committer
//! thread through which every write goes, and the compactor thread that reclaims space. Writers
//! hand a [`Batch`] to [`Store::submit`]; the committer gathers whatever is waiting into one
//! `WriteBatch`, writes it with `sync = true` (group commit: one fsync for many requests) and
//! then runs each batch's completion, in submission order. Reads go to RocksDB directly from
//! any thread. Nothing here runs on an event loop's thread except reads, which hit the
//! memtable or block cache. How each family is tuned (cache, bloom filter, compression,
//! deletion-triggered compaction) and why is in [`options`].

mod committer;
mod compactor;
mod faults;
pub mod health;
pub mod keys;
mod options;

use std::path::Path;
use std::sync::{Arc, Weak};
use std::time::Duration;

use chatedge_config::file::StoreConfig;
use rocksdb::{ColumnFamily, ColumnFamilyDescriptor, DB};

use crate::metrics::Metrics;

pub use committer::{Batch, Completion, Done, Op};
pub use health::Health;

/// The column families, in the order they are opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cf {
    /// instance_id ‖ seq (u64 BE) → queued outbound message.
    Queue,
    /// The queue's indexes, written and deleted in the same batches as the messages:
    /// instance_id ‖ 'z' ‖ zaap_id → seq (u64 BE) ‖ phone (`DELETE queue/{zaapId}`), and
    /// instance_id ‖ 'p' ‖ phone ‖ 0x00 ‖ seq (u64 BE) → zaap_id (`DELETE queue/{phone}`).
    QueueIndex,
    /// instance_id ‖ queue (u8: the webhook kind's index in `WebhookKind::ALL`) ‖ seq (u64 BE)
    /// → webhook event awaiting delivery (`outbox::StoredEvent`, binary).
    Outbox,
    /// instance_id ‖ seq (u64 BE), the queue key of a message that needs stored media →
    /// the SHA-256 digests of its files (32 bytes each). Written and deleted with the message.
    MediaRef,
    /// expires_at_ms (u64 BE) ‖ digest → (): received media kept until then.
    MediaHold,
    /// instance_id ‖ dead_at_ms (u64 BE) ‖ event_id → webhook event whose retries are exhausted
    /// (or whose endpoint was disabled) and why (`outbox::dead_letter`), kept for inspection and
    /// retry for `[store] dead_letter_retention_ms`, then pruned per instance by the compactor.
    DeadLetter,
    /// instance_id → session state that survives restarts (paired phone, credentials).
    Sessions,
    /// the last applied config snapshot, one key per instance and tenant.
    Config,
    /// node-level facts (node id).
    Meta,
    /// instance_id ‖ table ‖ 0x00 ‖ row key → one row of the sim network's account state for
    /// that instance (contacts, chats, groups, …; see `network::sim::world`). A real network
    /// keeps this on its own servers; the sim keeps it here so a restart keeps it.
    SimWorld,
    /// instance_id ‖ sha256(url)[..16] → the delivery state of one instance's webhook endpoint
    /// (failing since, disabled and why; `outbox::endpoints`).
    WebhookEndpoints,
    /// instance_id ‖ created_ms (u64 BE) ‖ event_id → a delivered webhook event, kept for
    /// `webhook-replay` for `[webhooks] delivered_retention` (`outbox::history`), then pruned
    /// per instance by the compactor.
    WebhookHistory,
    /// The Cloud API's message ids (`wamid`) of an instance's messages, both ways:
    /// instance_id ‖ 'o' ‖ our message id → wamid, and instance_id ‖ 'w' ‖ wamid → our message
    /// id (see `network::cloud_api::ids`).
    CloudMessages,
    /// instance_id ‖ Idempotency-Key → the first answer to a send with that key
    /// (`idempotency::Record`), written in the same batch as the message; dropped by a
    /// compaction filter once older than `idempotency::TTL`.
    Idempotency,
    /// instance_id ‖ UTC day (u32 BE) → messages queued that day (u64 BE), written in the same
    /// batch as each message of an instance under a daily quota (`shard::daily_quota`);
    /// rows older than yesterday are dropped by a compaction filter.
    DailySends,
    /// Bulk campaigns (issue 14): instance_id ‖ table tag ‖ … → audiences, members, variable
    /// groups and values, campaigns, run cursors and counters, recipient rows, the
    /// message-id index and the suppression list (layouts in `campaigns::keys`).
    Campaigns,
    /// instance_id ‖ '/' ‖ key → the WhatsApp Web connector's state of that instance (its
    /// lease, cool-down, and under `wa/` the engine's keys, sessions and device record; see
    /// `network::kv`). Deleted by prefix when the phone unlinks the device.
    WhatsappWeb,
    /// media id → media kept under that id (`media::uploads`): its owner, file and expiry;
    /// dropped by a compaction filter once expired.
    Uploads,
    /// message id ‖ 0x00 ‖ instance_id → the message's chat and direction, for the routes that
    /// name a message by its id alone (`message_index`); dropped by a compaction filter once
    /// expired.
    MessageIndex,
}

impl Cf {
    pub const ALL: [Cf; 19] = [
        Cf::Queue,
        Cf::QueueIndex,
        Cf::Outbox,
        Cf::DeadLetter,
        Cf::Sessions,
        Cf::Config,
        Cf::Meta,
        Cf::MediaRef,
        Cf::MediaHold,
        Cf::SimWorld,
        Cf::WebhookEndpoints,
        Cf::WebhookHistory,
        Cf::CloudMessages,
        Cf::Idempotency,
        Cf::DailySends,
        Cf::Campaigns,
        Cf::WhatsappWeb,
        Cf::Uploads,
        Cf::MessageIndex,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Cf::Queue => "queue",
            Cf::QueueIndex => "queue_index",
            Cf::Outbox => "outbox",
            Cf::DeadLetter => "dead_letter",
            Cf::Sessions => "sessions",
            Cf::Config => "config",
            Cf::Meta => "meta",
            Cf::MediaRef => "media_ref",
            Cf::MediaHold => "media_hold",
            Cf::SimWorld => "sim_world",
            Cf::WebhookEndpoints => "webhook_endpoints",
            Cf::WebhookHistory => "webhook_history",
            Cf::CloudMessages => "cloud_messages",
            Cf::Idempotency => "idempotency",
            Cf::DailySends => "daily_sends",
            Cf::Campaigns => "campaigns",
            Cf::WhatsappWeb => "whatsapp_web",
            Cf::Uploads => "uploads",
            Cf::MessageIndex => "message_index",
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

/// How often the compactor prunes the dead-letter and webhook-history families (more often
/// when a retention is short: see `compactor::prune_every`).
const PRUNE_EVERY: Duration = Duration::from_secs(600);
/// How often the compactor refreshes their size gauges.
const ESTIMATE_EVERY: Duration = Duration::from_secs(10);

/// The shared store: RocksDB for reads, the committer for writes, the compactor for space.
pub struct Store {
    db: Arc<DB>,
    committer: committer::Handle,
    health: Arc<Health>,
    compactor: compactor::Handle,
}

impl Store {
    /// Opens (creating if needed) the database under `path` with every other `[store]` setting
    /// at its default, and starts the committer and compactor threads.
    pub fn open(path: &Path, max_batch: usize, metrics: Arc<Metrics>) -> Result<Arc<Store>, StoreError> {
        let config = StoreConfig { max_batch, ..chatedge_config::Config::default().store };
        Store::open_with(path, &config, metrics)
    }

    /// Opens (creating if needed) the database under `path` as `config` says, and starts the
    /// committer and compactor threads.
    pub fn open_with(path: &Path, config: &StoreConfig, metrics: Arc<Metrics>) -> Result<Arc<Store>, StoreError> {
        let history = chatedge_config::Config::default().webhooks.delivered_retention;
        Store::open_keeping_history(path, config, history, metrics)
    }

    /// [`open_with`](Self::open_with), delivered webhook events kept for `history_retention`
    /// (`[webhooks] delivered_retention`; zero keeps none).
    pub fn open_keeping_history(
        path: &Path,
        config: &StoreConfig,
        history_retention: Duration,
        metrics: Arc<Metrics>,
    ) -> Result<Arc<Store>, StoreError> {
        #[allow(clippy::default_constructed_unit_structs)] // a unit struct only outside test builds
        let faults = faults::Faults::default();
        Store::open_inner(path, config, history_retention, metrics, faults)
    }

    /// [`open`](Self::open) with faults injected into the committer (test builds only).
    #[cfg(test)]
    pub fn open_with_faults(
        path: &Path,
        max_batch: usize,
        metrics: Arc<Metrics>,
    ) -> Result<(Arc<Store>, faults::Faults), StoreError> {
        let config = StoreConfig { max_batch, ..chatedge_config::Config::default().store };
        let f = faults::Faults::default();
        let history = chatedge_config::Config::default().webhooks.delivered_retention;
        Ok((Store::open_inner(path, &config, history, metrics, f.clone())?, f))
    }

    fn open_inner(
        path: &Path,
        config: &StoreConfig,
        history_retention: Duration,
        metrics: Arc<Metrics>,
        faults: faults::Faults,
    ) -> Result<Arc<Store>, StoreError> {
        // Before RocksDB creates it with its own 0755: message bodies and credentials live here.
        std::os::unix::fs::DirBuilderExt::mode(std::fs::DirBuilder::new().recursive(true), 0o700)
            .create(path)
            .map_err(|e| StoreError::Rocks(format!("cannot create {}: {e}", path.display())))?;
        let cache = rocksdb::Cache::new_lru_cache(config.block_cache_bytes);
        let cfs = Cf::ALL.iter().map(|cf| ColumnFamilyDescriptor::new(cf.name(), options::family(*cf, &cache)));
        let db = Arc::new(DB::open_cf_descriptors(&options::db(), path, cfs)?);
        let health = Arc::new(Health::new(metrics.store_healthy.clone()));
        let committer = committer::start(db.clone(), config.max_batch, metrics.clone(), health.clone(), faults)?;
        let maintenance = compactor::Maintenance {
            dead_letter_retention: config.dead_letter_retention,
            history_retention,
            prune_every: compactor::prune_every(PRUNE_EVERY, &[config.dead_letter_retention, history_retention]),
            estimate_every: ESTIMATE_EVERY,
        };
        let mut started = Ok(());
        // The compactor submits its prunes through this store's committer: it gets a Weak
        // handle, made before the store exists.
        let store = Arc::new_cyclic(|me: &Weak<Store>| {
            let compactor = match compactor::start(db.clone(), me.clone(), maintenance, metrics) {
                Ok(c) => c,
                Err(e) => {
                    started = Err(e);
                    compactor::Handle::stopped()
                }
            };
            Store { db, committer, compactor, health }
        });
        if let Err(e) = started {
            store.close();
            return Err(e);
        }
        Ok(store)
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

    /// Compacts `[from, to)` of `cf` on the compactor thread (non-exclusive: writes and
    /// RocksDB's own compactions go on meanwhile), so tombstones left by consumed queue heads
    /// and delivered outbox events stop costing reads. Never blocks; dropped (and counted) if
    /// the compactor is behind.
    pub fn compact_later(&self, cf: Cf, from: Vec<u8>, to: Vec<u8>) {
        self.compactor.compact_later(cf, from, to);
    }

    /// Deletes dead letters and delivered webhook events older than their retentions now
    /// (tests; the compactor does it every [`PRUNE_EVERY`]). Returns when the deletes are
    /// durable.
    pub fn prune_webhook_events_now(&self) -> Result<(), StoreError> {
        self.compactor.prune_now()
    }

    /// Writes waiting for the committer (for metrics and tests).
    pub fn pending(&self) -> usize {
        self.committer.pending()
    }

    /// Stops the compactor, then the committer after it has written everything submitted
    /// so far.
    pub fn close(&self) {
        self.compactor.close();
        self.committer.close();
    }
}
