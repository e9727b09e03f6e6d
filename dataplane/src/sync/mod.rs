//! sync owns the configuration this data plane serves from: it receives versioned updates from
//! the control plane ([`client`]), validates them, persists them in the `config` column family,
//! swaps them in atomically (an `ArcSwap`, read lock-free on the hot path) and acknowledges
//! them. A refused update (NACK) leaves the last good snapshot serving. With the control plane
//! unreachable, the persisted snapshot keeps the data plane serving.

pub mod client;
pub mod control;

use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chatedge_config::snapshot::UpdateError;
use chatedge_config::{ConfigUpdate, InstanceConfig, Snapshot, Tenant, UrlPolicy};
use tokio::sync::watch;

use crate::metrics::Metrics;
use crate::store::{Batch, Cf, Store, StoreError};

const VERSION_KEY: &[u8] = b"v";
const ADMIN_KEY: &[u8] = b"a";
const TENANT_PREFIX: u8 = b't';
const INSTANCE_PREFIX: u8 = b'i';

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Refused(#[from] UpdateError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub struct ConfigState {
    current: Arc<ArcSwap<Snapshot>>,
    version: watch::Sender<u64>,
    store: Arc<Store>,
    policy: UrlPolicy,
    metrics: Arc<Metrics>,
    /// Serializes `apply` (one stream at a time; a lock is simplest and off the hot path).
    applying: tokio::sync::Mutex<()>,
}

impl ConfigState {
    /// Loads the last persisted snapshot (or an empty one).
    pub fn load(store: Arc<Store>, policy: UrlPolicy, metrics: Arc<Metrics>) -> Result<Self, StoreError> {
        let snapshot = read_persisted(&store)?;
        metrics.config_version.set(snapshot.version as i64);
        let (version, _) = watch::channel(snapshot.version);
        Ok(ConfigState {
            current: Arc::new(ArcSwap::from_pointee(snapshot)),
            version,
            store,
            policy,
            metrics,
            applying: tokio::sync::Mutex::new(()),
        })
    }

    /// The live snapshot, for readers on any thread.
    pub fn shared(&self) -> Arc<ArcSwap<Snapshot>> {
        self.current.clone()
    }

    pub fn version(&self) -> u64 {
        self.current.load().version
    }

    /// Validates, persists and swaps in `update`.
    pub async fn apply(&self, update: &ConfigUpdate) -> Result<(), SyncError> {
        let _one_at_a_time = self.applying.lock().await;
        let next = match self.current.load().apply(update, self.policy) {
            Ok(next) => next,
            Err(e) => {
                self.metrics.config_updates.with_label_values(&["refused"]).inc();
                return Err(e.into());
            }
        };
        self.store.commit(persist(update)).await?;
        let version = next.version;
        self.current.store(Arc::new(next));
        self.metrics.config_version.set(version as i64);
        self.metrics.config_updates.with_label_values(&["applied"]).inc();
        self.version.send_replace(version);
        Ok(())
    }

    /// Waits until a snapshot with at least `version` serves, up to `timeout`.
    pub async fn wait_for(&self, version: u64, timeout: Duration) -> bool {
        let mut rx = self.version.subscribe();
        tokio::time::timeout(timeout, rx.wait_for(|v| *v >= version)).await.is_ok_and(|r| r.is_ok())
    }
}

fn key(prefix: u8, id: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(1 + id.len());
    k.push(prefix);
    k.extend_from_slice(id);
    k
}

/// The writes that make `update` the persisted snapshot.
fn persist(update: &ConfigUpdate) -> Batch {
    let mut b = Batch::new();
    if update.reset {
        b.delete_range(Cf::Config, vec![TENANT_PREFIX], vec![TENANT_PREFIX + 1]);
        b.delete_range(Cf::Config, vec![INSTANCE_PREFIX], vec![INSTANCE_PREFIX + 1]);
    }
    b.put(Cf::Config, VERSION_KEY.to_vec(), update.version.to_be_bytes().to_vec());
    if let Some(h) = &update.admin_token_hash {
        b.put(Cf::Config, ADMIN_KEY.to_vec(), serde_json::to_vec(h).unwrap_or_default());
    }
    for t in &update.tenants {
        b.put(Cf::Config, key(TENANT_PREFIX, t.id.as_bytes()), serde_json::to_vec(t).unwrap_or_default());
    }
    for i in &update.instances {
        b.put(Cf::Config, key(INSTANCE_PREFIX, i.id.as_bytes()), serde_json::to_vec(i).unwrap_or_default());
    }
    for id in &update.removed_instances {
        b.delete(Cf::Config, key(INSTANCE_PREFIX, id.as_bytes()));
    }
    b
}

fn read_persisted(store: &Store) -> Result<Snapshot, StoreError> {
    let db = store.db();
    let cf = store.cf(Cf::Config);
    let corrupt = |what: &str, e: serde_json::Error| StoreError::Corrupt(format!("persisted {what}: {e}"));
    let mut update = ConfigUpdate { reset: true, ..Default::default() };
    if let Some(v) = db.get_cf(cf, VERSION_KEY)? {
        update.version = u64::from_be_bytes(v.as_slice().try_into().unwrap_or_default());
    }
    if let Some(a) = db.get_cf(cf, ADMIN_KEY)? {
        update.admin_token_hash = Some(serde_json::from_slice(&a).map_err(|e| corrupt("admin token hash", e))?);
    }
    for item in db.prefix_iterator_cf(cf, [TENANT_PREFIX]) {
        let (k, v) = item?;
        if k.first() != Some(&TENANT_PREFIX) {
            break;
        }
        update.tenants.push(serde_json::from_slice::<Tenant>(&v).map_err(|e| corrupt("tenant", e))?);
    }
    for item in db.prefix_iterator_cf(cf, [INSTANCE_PREFIX]) {
        let (k, v) = item?;
        if k.first() != Some(&INSTANCE_PREFIX) {
            break;
        }
        update.instances.push(serde_json::from_slice::<InstanceConfig>(&v).map_err(|e| corrupt("instance", e))?);
    }
    // What was persisted passed validation when it arrived; load it as is.
    Snapshot::default()
        .apply(&update, UrlPolicy { allow_insecure_loopback: true })
        .map_err(|e| StoreError::Corrupt(format!("persisted config: {e}")))
}
