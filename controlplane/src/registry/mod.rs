//! registry: the control plane's model — accounts (tenants) and their integrator tokens,
//! instances, the billing ledger and invoices, the node and admin credentials — held in
//! memory, persisted in RocksDB, and versioned: every change bumps one global version and
//! stamps the records it touched with it, so a delta "since version V" is every record
//! stamped after V. Changes are computed first and applied only once durable. Billing records
//! stay here: only tenants and instances are pushed to data planes.

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use chatedge_config::{ConfigUpdate, InstanceConfig, InstanceId, Secret, Tenant, TenantId, TokenHash};
use serde::{Deserialize, Serialize};

use crate::billing::model::{Invoice, Subscription};
use crate::clock::Month;
use crate::sealing::Sealed;
use crate::store::{Cf, Store, StoreError, Writes};

const VERSION_KEY: &[u8] = b"version";
const ADMIN_KEY: &[u8] = b"admin_hash";
const NODE_KEY: &[u8] = b"node_hash";
const INVOICED_KEY: &[u8] = b"invoiced_month";
const TEST_CLOCK_KEY: &[u8] = b"test_clock_ms";
/// Instances the first (non-definitive) integrator token of an account may create (seed 001,
/// line 13472).
pub const FIRST_TOKEN_INSTANCES: u32 = 25;
/// Integrator tokens an account may hold, revoked ones included (each is checked on every
/// integrator call).
pub const MAX_TOKENS_PER_ACCOUNT: usize = 50;
/// Removals remembered for deltas; older ones are conveyed by sending a full snapshot.
pub const MAX_TOMBSTONES: usize = 100_000;

/// An account: what data planes know of it (`tenant`) and its integrator tokens.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TenantRecord {
    pub tenant: Tenant,
    /// The single token of stores written before accounts had several; moved into `tokens`
    /// (as a definitive token) when loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrator_token_hash: Option<TokenHash>,
    #[serde(default)]
    pub tokens: Vec<IntegratorToken>,
    pub created_ms: u64,
    pub version: u64,
}

/// One integrator token of an account, stored as a hash only.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegratorToken {
    /// Public handle (hex) for listing and revoking; not the secret.
    pub id: String,
    pub hash: TokenHash,
    /// Without the first token's cap of [`FIRST_TOKEN_INSTANCES`].
    pub definitive: bool,
    pub created_ms: u64,
    #[serde(default)]
    pub revoked_ms: Option<u64>,
    /// Instances created with this token (deleted ones included).
    #[serde(default)]
    pub instances_created: u32,
}

impl TenantRecord {
    /// A new account with one token.
    pub fn new(tenant: Tenant, token: IntegratorToken, created_ms: u64) -> TenantRecord {
        TenantRecord { tenant, integrator_token_hash: None, tokens: vec![token], created_ms, version: 0 }
    }
}

impl IntegratorToken {
    pub fn new(secret: &Secret, definitive: bool, now: u64) -> IntegratorToken {
        IntegratorToken {
            id: Secret::generate(6).expose().to_owned(),
            hash: secret.hash(),
            definitive,
            created_ms: now,
            revoked_ms: None,
            instances_created: 0,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceRecord {
    pub config: InstanceConfig,
    /// The token in the clear, as stores before sealing kept it; sealed when loaded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<Secret>,
    /// The token encrypted under the key outside the store (see [`crate::sealing`]), so the
    /// integrator listing can show it, as Z-API's does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_token: Option<Sealed>,
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
    pub subscriptions: Vec<Subscription>,
    pub removed_subscriptions: Vec<InstanceId>,
    pub invoices: Vec<Invoice>,
    pub invoiced_month: Option<Month>,
    pub test_clock_ms: Option<u64>,
}

#[derive(Debug, Default)]
pub struct Registry {
    pub version: u64,
    pub admin_hash: Option<TokenHash>,
    pub node_hash: Option<TokenHash>,
    pub tenants: HashMap<TenantId, TenantRecord>,
    pub instances: HashMap<InstanceId, InstanceRecord>,
    pub subscriptions: HashMap<InstanceId, Subscription>,
    /// By id (account, then month): an account's invoices are one range.
    pub invoices: BTreeMap<String, Invoice>,
    /// The last month whose invoices were issued (`None` before the first billing run).
    pub invoiced_month: Option<Month>,
    /// Where a `--test-clock` was last set.
    pub test_clock_ms: Option<u64>,
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
            invoiced_month: store.get(Cf::Meta, INVOICED_KEY)?,
            test_clock_ms: store.get(Cf::Meta, TEST_CLOCK_KEY)?,
            ..Registry::default()
        };
        r.tombstones_since = r.version;
        for mut t in store.all::<TenantRecord>(Cf::Tenants)? {
            if let Some(hash) = t.integrator_token_hash.take() {
                let legacy = IntegratorToken {
                    id: "bootstrap".into(),
                    hash,
                    definitive: true,
                    created_ms: t.created_ms,
                    revoked_ms: None,
                    instances_created: 0,
                };
                t.tokens.insert(0, legacy);
            }
            r.tenants.insert(t.tenant.id, t);
        }
        for i in store.all::<InstanceRecord>(Cf::Instances)? {
            r.instances.insert(i.config.id, i);
        }
        for s in store.all::<Subscription>(Cf::Subscriptions)? {
            r.subscriptions.insert(s.instance, s);
        }
        for inv in store.all::<Invoice>(Cf::Invoices)? {
            r.invoices.insert(inv.id.clone(), inv);
        }
        Ok(r)
    }

    /// The account a live integrator token belongs to, and which of its tokens it is.
    pub fn tenant_by_integrator_token(&self, token: &str) -> Option<(&TenantRecord, &IntegratorToken)> {
        let presented = TokenHash::of(token.as_bytes());
        // Every token is compared (no early exit on the hash), so timing says nothing useful.
        let mut found = None;
        for t in self.tenants.values() {
            for k in &t.tokens {
                if k.hash == presented && k.revoked_ms.is_none() {
                    found = Some((t, k));
                }
            }
        }
        found
    }

    /// An account's invoices, oldest first.
    pub fn invoices_of(&self, account: &TenantId) -> Vec<&Invoice> {
        let prefix = account.to_string();
        self.invoices.range(prefix.clone()..).take_while(|(k, _)| k.starts_with(&prefix)).map(|(_, v)| v).collect()
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
        for s in &change.subscriptions {
            w.put(Cf::Subscriptions, s.instance.as_bytes().to_vec(), s);
        }
        for id in &change.removed_subscriptions {
            w.delete(Cf::Subscriptions, id.as_bytes().to_vec());
        }
        for inv in &change.invoices {
            w.put(Cf::Invoices, inv.id.as_bytes().to_vec(), inv);
        }
        if let Some(m) = &change.invoiced_month {
            w.put(Cf::Meta, INVOICED_KEY, m);
        }
        if let Some(t) = &change.test_clock_ms {
            w.put(Cf::Meta, TEST_CLOCK_KEY, t);
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
        for s in change.subscriptions {
            self.subscriptions.insert(s.instance, s);
        }
        for id in change.removed_subscriptions {
            self.subscriptions.remove(&id);
        }
        for inv in change.invoices {
            self.invoices.insert(inv.id.clone(), inv);
        }
        if change.invoiced_month.is_some() {
            self.invoiced_month = change.invoiced_month;
        }
        if change.test_clock_ms.is_some() {
            self.test_clock_ms = change.test_clock_ms;
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
