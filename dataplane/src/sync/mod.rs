//! sync owns the configuration this data plane serves from: it receives versioned updates from
//! the control plane ([`client`]), validates them, persists them in the `config` column family,
//! swaps them in atomically (an `ArcSwap`, read lock-free on the hot path) and acknowledges
//! them. A refused update (NACK) leaves the last good snapshot serving; an instance whose own
//! configuration is refused is quarantined instead (held out of service, its last good
//! configuration kept, reported in every ack) and the rest of the update applies. With the control plane
//! unreachable, the persisted snapshot keeps the data plane serving. Instances an update
//! removes are handed to their shards for teardown ([`client`], `shard::teardown`). The
//! other way, it tells the control plane which instances are connected ([`report`]). The link
//! itself is [`control`]'s, with the control plane's certificate pinned by [`pin`].

pub mod client;
pub mod control;
pub mod lines;
pub mod persist;
pub mod pin;
pub mod report;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chatedge_config::snapshot::UpdateError;
use chatedge_config::{ConfigUpdate, InstanceId, Snapshot, UrlPolicy};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Refused(#[from] UpdateError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("config worker failed: {0}")]
    Worker(String),
}

/// What applying an update changed beyond the snapshot itself.
#[derive(Debug, Default)]
pub struct Applied {
    pub version: u64,
    /// Instances the update removed: their shards must tear them down.
    pub removed: Vec<InstanceId>,
}

pub struct ConfigState {
    current: Arc<ArcSwap<Snapshot>>,
    version: watch::Sender<u64>,
    store: Arc<Store>,
    policy: UrlPolicy,
    metrics: Arc<Metrics>,
    /// Serializes `apply` (one stream at a time; a lock is simplest and off the hot path) and
    /// holds the slot the persisted snapshot lives in.
    applying: tokio::sync::Mutex<persist::Slot>,
}

impl ConfigState {
    /// Loads the last persisted snapshot (or an empty one).
    pub fn load(store: Arc<Store>, policy: UrlPolicy, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        let (snapshot, slot) = persist::read(&store)?;
        metrics.config_version.set(snapshot.version as i64);
        let (version, _) = watch::channel(snapshot.version);
        Ok(ConfigState {
            current: Arc::new(ArcSwap::from_pointee(snapshot)),
            version,
            store,
            policy,
            metrics,
            applying: tokio::sync::Mutex::new(slot),
        })
    }

    /// The live snapshot, for readers on any thread.
    pub fn shared(&self) -> Arc<ArcSwap<Snapshot>> {
        self.current.clone()
    }

    pub fn version(&self) -> u64 {
        self.current.load().version
    }

    /// The instances held out of service now (reported with every acknowledgement).
    pub fn quarantine_report(&self) -> Vec<chatedge_config::placement::Quarantined> {
        self.current.load().quarantine_report()
    }

    /// Validates, persists and swaps in `update`. Validating, diffing and encoding a snapshot
    /// of 100k instances takes a while, so it runs on a blocking thread, not the event loop;
    /// the batches are then committed one after the other (see [`persist`]).
    pub async fn apply(&self, update: ConfigUpdate) -> Result<Applied, SyncError> {
        let mut slot = self.applying.lock().await;
        let held = self.current.load_full();
        let (policy, live) = (self.policy, *slot);
        let planned = tokio::task::spawn_blocking(move || {
            let next = held.apply(&update, policy)?;
            let plan = persist::plan(&held, &next, live);
            Ok::<_, UpdateError>((next, plan, held))
        })
        .await
        .map_err(|e| SyncError::Worker(e.to_string()))?;
        let (next, plan, held) = match planned {
            Ok(p) => p,
            Err(e) => {
                self.metrics.config_updates.with_label_values(&["refused"]).inc();
                return Err(e.into());
            }
        };
        let mode = if plan.staged { "staged" } else { "in_place" };
        let batches = self.metrics.config_batches.with_label_values(&[mode]);
        let count = plan.batches.len();
        for batch in plan.batches {
            self.store.commit(batch).await?;
            batches.inc();
        }
        *slot = plan.slot;
        let version = next.version;
        self.metrics.quarantined_instances.set(next.quarantined.len() as i64);
        for (id, q) in next.quarantined.iter().filter(|(id, _)| !held.quarantined.contains_key(*id)) {
            tracing::warn!(instance = %id, reason = %q.reason, "instance configuration refused: instance quarantined");
        }
        self.current.store(Arc::new(next));
        if plan.staged {
            tracing::info!(version, batches = count, "large config change persisted in bounded batches");
        }
        // The last reference to the old snapshot may be this one: free it off the event loop.
        drop(tokio::task::spawn_blocking(move || drop(held)));
        self.metrics.config_version.set(version as i64);
        self.metrics.config_updates.with_label_values(&["applied"]).inc();
        self.version.send_replace(version);
        Ok(Applied { version, removed: plan.removed })
    }

    /// Waits until a snapshot with at least `version` serves, up to `timeout`.
    pub async fn wait_for(&self, version: u64, timeout: Duration) -> bool {
        let mut rx = self.version.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|v| *v >= version)).await.is_ok_and(|r| r.is_ok())
    }
}

#[cfg(test)]
mod tests;
