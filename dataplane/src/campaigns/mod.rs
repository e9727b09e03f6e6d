//! campaigns: bulk campaigns (issue 14, seed 003's Chat Inc API) — audiences, variable groups,
//! campaign definitions, their runs and results, the suppression list, CSV import and export,
//! and the scheduler. A run never sends anything itself: it feeds the instance's own durable
//! queue in bounded batches (`feeder`), each batch holding the messages, the recipients'
//! result rows and the run's cursor, so pacing, webhooks and the network connectors work as for
//! any send, and a crash resumes a run exactly where its last durable batch left it. Results
//! are kept by the owning shard (`ledger`) from the network's own statuses. Writes go through
//! the store's committer; catalog writes of one instance are serialised by a per-instance lock.
//! Knows nothing about HTTP (the dialect lives in `api/chatinc`).

pub mod catalog;
pub mod clock;
pub mod definitions;
pub mod deletion;
pub mod error;
pub mod export;
pub mod feeder;
pub mod import;
pub mod keys;
pub mod ledger;
pub mod model;
pub mod recipients;
pub mod scheduler;
pub mod template;

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chatedge_config::campaigns::CampaignsConfig;
use chatedge_config::{InstanceId, Snapshot};
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::shard::daily_quota::Allowance;
use crate::shard::Shards;
use crate::store::{Batch, Completion, Store, StoreError};

pub use clock::Clock;
pub use deletion::Deletion;
pub use error::CampaignError;
pub use feeder::Feed;
pub use ledger::{Ledger, Skip};
pub use model::MessageRef;

/// The campaigns room, shared by the dialect's handlers, the scheduler and the feeders.
pub struct Campaigns {
    pub store: Arc<Store>,
    pub shards: Shards,
    pub config: Arc<ArcSwap<Snapshot>>,
    pub settings: CampaignsConfig,
    pub metrics: Arc<Metrics>,
    /// The data plane's clock (shared with the shards, which count days on it).
    pub clock: Arc<Clock>,
    /// Where uploads are spooled (`<data dir>/campaign-uploads`).
    pub upload_dir: std::path::PathBuf,
    /// One lock per instance for catalog writes (read-modify-write of audiences, groups and
    /// campaign records); bounded by the configured instances.
    locks: Mutex<HashMap<InstanceId, Arc<tokio::sync::Mutex<()>>>>,
    /// Runs with a feeder task alive, so one run never gets two, each with the daily limit
    /// that holds it until the next day (if one does).
    feeding: Mutex<HashMap<(InstanceId, String), Option<Allowance>>>,
    /// Wakes the scheduler when a run is scheduled or the test clock moves.
    pub wake: Notify,
    /// Whole-run CSV answers streaming now (at most `export::MAX_STREAMS`).
    pub export_streams: Arc<tokio::sync::Semaphore>,
}

impl Campaigns {
    pub fn new(
        store: Arc<Store>,
        shards: Shards,
        config: Arc<ArcSwap<Snapshot>>,
        settings: CampaignsConfig,
        metrics: Arc<Metrics>,
        clock: Arc<Clock>,
        upload_dir: std::path::PathBuf,
    ) -> Result<Arc<Campaigns>, StoreError> {
        Ok(Arc::new(Campaigns {
            store,
            shards,
            config,
            settings,
            metrics,
            clock,
            upload_dir,
            locks: Mutex::new(HashMap::new()),
            feeding: Mutex::new(HashMap::new()),
            wake: Notify::new(),
            export_streams: Arc::new(tokio::sync::Semaphore::new(export::MAX_STREAMS)),
        }))
    }

    /// The data plane's clock: the system clock, or with `test_clock` a settable one resuming
    /// at the instant last set (`POST /admin/clock`).
    pub fn open_clock(store: &Store, test_clock: bool) -> Result<Arc<Clock>, StoreError> {
        Ok(Arc::new(match test_clock {
            true => {
                let saved = store.db().get_cf(store.cf(crate::store::Cf::Campaigns), keys::CLOCK)?;
                let resume = saved.and_then(|v| <[u8; 8]>::try_from(v.as_slice()).ok()).map(u64::from_be_bytes);
                Clock::test(resume)
            }
            false => Clock::system(),
        }))
    }

    /// The catalog lock of `instance` (held across the read-modify-write of its records).
    pub async fn lock(&self, instance: &InstanceId) -> tokio::sync::OwnedMutexGuard<()> {
        let lock = {
            let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            if locks.len() > 4 * self.config.load().instances.len() + 64 {
                // Forget the locks of instances no longer configured (and not held).
                let snapshot = self.config.load();
                locks.retain(|id, l| snapshot.instances.contains_key(id) || Arc::strong_count(l) > 1);
            }
            locks.entry(*instance).or_default().clone()
        };
        lock.lock_owned().await
    }

    /// Moves the test clock and keeps the instant; wakes the scheduler.
    pub async fn set_clock(&self, to_ms: u64) -> Result<(), CampaignError> {
        self.clock.set(to_ms).map_err(|e| CampaignError::Conflict(clock::ClockError::from(e).to_string()))?;
        let mut batch = Batch::new();
        batch.put(crate::store::Cf::Campaigns, keys::CLOCK.to_vec(), to_ms.to_be_bytes().to_vec());
        self.store.commit(batch).await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Marks a run as fed by a task; false when one already is.
    fn start_feeding(&self, instance: InstanceId, campaign: &str) -> bool {
        match self.feeding_lock().entry((instance, campaign.to_owned())) {
            Entry::Occupied(_) => false,
            Entry::Vacant(e) => {
                e.insert(None);
                true
            }
        }
    }

    fn stop_feeding(&self, instance: InstanceId, campaign: &str) {
        if let Some(Some(_)) = self.feeding_lock().remove(&(instance, campaign.to_owned())) {
            self.metrics.campaign_feeders_held.dec();
        }
    }

    /// Records whether a daily limit holds the run being fed (`None`: it does not).
    fn hold(&self, instance: InstanceId, campaign: &str, by: Option<Allowance>) {
        let mut feeding = self.feeding_lock();
        let Some(held) = feeding.get_mut(&(instance, campaign.to_owned())) else { return };
        match (held.is_some(), by.is_some()) {
            (false, true) => self.metrics.campaign_feeders_held.inc(),
            (true, false) => self.metrics.campaign_feeders_held.dec(),
            _ => {}
        }
        *held = by;
    }

    /// Whether a feeder task is alive for `campaign` (it may have a batch on its way).
    fn is_feeding(&self, instance: InstanceId, campaign: &str) -> bool {
        self.feeding_lock().contains_key(&(instance, campaign.to_owned()))
    }

    /// The daily limit that holds `campaign`'s run until the next day, if one does.
    pub fn held(&self, instance: InstanceId, campaign: &str) -> Option<Allowance> {
        self.feeding_lock().get(&(instance, campaign.to_owned())).copied().flatten()
    }

    fn feeding_lock(&self) -> std::sync::MutexGuard<'_, HashMap<(InstanceId, String), Option<Allowance>>> {
        // Plain entries: a panic elsewhere cannot leave the map half-changed.
        self.feeding.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Submits `batch` and waits for it from a blocking thread (CSV imports).
pub fn commit_blocking(store: &Store, batch: Batch) -> Result<(), StoreError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    store.submit(
        batch,
        Completion::call(move |r| {
            let _ = tx.send(r);
        }),
    );
    rx.recv().unwrap_or(Err(StoreError::Closed))
}
