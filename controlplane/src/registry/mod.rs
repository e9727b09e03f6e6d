//! registry: the control plane's model — tenants, instances, the node and admin credentials —
//! held in memory, persisted in RocksDB, and versioned: every change bumps one global version
//! and stamps the records it touched with it, so a delta "since version V" is every record
//! stamped after V. Changes are computed first and applied only once durable.

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chatedge_config::{ConfigUpdate, InstanceConfig, InstanceId, Secret, Tenant, TenantId, TokenHash};
use serde::{Deserialize, Serialize};

use crate::store::{Cf, Store, StoreError, Writes};

const VERSION_KEY: &[u8] = b"version";
const ADMIN_KEY: &[u8] = b"admin_hash";
const NODE_KEY: &[u8] = b"node_hash";
/// Removals remembered for deltas; older ones are conveyed by sending a full snapshot.
pub const MAX_TOMBSTONES: usize = 100_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRecord {
    pub tenant: Tenant,
    pub integrator_token_hash: TokenHash,
    pub created_ms: u64,
    pub version: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    pub config: InstanceConfig,
    /// Kept so the integrator listing can show it, as Z-API's does.
    pub token: Secret,
    pub version: u64,
}

/// Records a change writes; applied to the registry only after they are durable.
#[derive(Debug, Default)]
pub struct Change {
    pub tenants: Vec<TenantRecord>,
    pub instances: Vec<InstanceRecord>,
    pub admin_hash: Option<TokenHash>,
    pub node_hash: Option<TokenHash>,
    pub removed_instances: Vec<InstanceId>,
}

#[derive(Debug, Default)]
pub struct Registry {
    pub version: u64,
    pub admin_hash: Option<TokenHash>,
    pub node_hash: Option<TokenHash>,
    pub tenants: HashMap<TenantId, TenantRecord>,
    pub instances: HashMap<InstanceId, InstanceRecord>,
    /// Removed instances and the version that removed each, oldest first.
    tombstones: std::collections::VecDeque<(u64, InstanceId)>,
    /// Every removal after this version has a tombstone.
    tombstones_since: u64,
}

impl Registry {
    pub fn load(store: &Store) -> Result<Registry, StoreError> {
        let mut r = Registry {
            version: store.get(Cf::Meta, VERSION_KEY)?.unwrap_or(0),
            admin_hash: store.get(Cf::Meta, ADMIN_KEY)?,
            node_hash: store.get(Cf::Meta, NODE_KEY)?,
            ..Registry::default()
        };
        r.tombstones_since = r.version;
        for t in store.all::<TenantRecord>(Cf::Tenants)? {
            r.tenants.insert(t.tenant.id, t);
        }
        for i in store.all::<InstanceRecord>(Cf::Instances)? {
            r.instances.insert(i.config.id, i);
        }
        Ok(r)
    }

    /// The tenant an integrator token belongs to.
    pub fn tenant_by_integrator_token(&self, token: &str) -> Option<&TenantRecord> {
        let presented = TokenHash::of(token.as_bytes());
        self.tenants.values().find(|t| t.integrator_token_hash == presented)
    }

    /// Stamps every record of `change` with `version`, then the writes that persist it (the
    /// version key included).
    pub fn writes(change: &mut Change, version: u64) -> Writes {
        change.tenants.iter_mut().for_each(|t| t.version = version);
        change.instances.iter_mut().for_each(|i| i.version = version);
        let mut w = Writes::default();
        w.put(Cf::Meta, VERSION_KEY, &version);
        if let Some(h) = &change.admin_hash {
            w.put(Cf::Meta, ADMIN_KEY, h);
        }
        if let Some(h) = &change.node_hash {
            w.put(Cf::Meta, NODE_KEY, h);
        }
        for t in &change.tenants {
            w.put(Cf::Tenants, t.tenant.id.as_bytes().to_vec(), t);
        }
        for i in &change.instances {
            w.put(Cf::Instances, i.config.id.as_bytes().to_vec(), i);
        }
        for id in &change.removed_instances {
            w.delete(Cf::Instances, id.as_bytes().to_vec());
        }
        w
    }

    /// Applies a durable change stamped with `version` (see [`writes`](Self::writes)).
    pub fn apply(&mut self, change: Change, version: u64) {
        self.version = version;
        if change.admin_hash.is_some() {
            self.admin_hash = change.admin_hash;
        }
        if change.node_hash.is_some() {
            self.node_hash = change.node_hash;
        }
        for t in change.tenants {
            self.tenants.insert(t.tenant.id, t);
        }
        for i in change.instances {
            self.instances.insert(i.config.id, i);
        }
        for id in change.removed_instances {
            if self.instances.remove(&id).is_some() {
                self.tombstones.push_back((version, id));
            }
        }
        while self.tombstones.len() > MAX_TOMBSTONES {
            if let Some((v, _)) = self.tombstones.pop_front() {
                self.tombstones_since = self.tombstones_since.max(v);
            }
        }
    }

    /// Everything, for the first message of a stream.
    pub fn full(&self) -> ConfigUpdate {
        self.since(0, true)
    }

    /// What changed after `from`: a delta, or everything when a removal after `from` is no
    /// longer remembered.
    pub fn delta(&self, from: u64) -> ConfigUpdate {
        self.since(from, from < self.tombstones_since)
    }

    fn since(&self, from: u64, reset: bool) -> ConfigUpdate {
        let from = if reset { 0 } else { from };
        ConfigUpdate {
            reset,
            from_version: from,
            version: self.version,
            admin_token_hash: self.admin_hash,
            tenants: self.tenants.values().filter(|t| reset || t.version > from).map(|t| t.tenant.clone()).collect(),
            instances: self
                .instances
                .values()
                .filter(|i| reset || i.version > from)
                .map(|i| i.config.clone())
                .collect(),
            removed_instances: if reset {
                Vec::new()
            } else {
                self.tombstones.iter().filter(|(v, _)| *v > from).map(|(_, id)| *id).collect()
            },
        }
    }

    /// A tenant's instances, oldest first.
    pub fn instances_of(&self, tenant: &TenantId) -> Vec<&InstanceRecord> {
        let mut v: Vec<_> = self.instances.values().filter(|i| i.config.tenant == *tenant).collect();
        v.sort_by_key(|i| (i.config.created_ms, i.config.id));
        v
    }
}
