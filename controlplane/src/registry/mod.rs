//! registry: the control plane's model — accounts (tenants) and their integrator tokens,
//! instances, the billing ledger and invoices, the data planes' credentials ([`NodeRecord`])
//! and the admin credential — held in
//! memory, persisted in RocksDB, and versioned: every change bumps one global version and
//! stamps the records it touched with it, so a delta "since version V" is every record
//! stamped after V. Changes are computed first and applied only once durable. Billing records
//! and node credentials stay here: only tenants and instances are pushed to data planes, and
//! each node gets only the instances it owns ([`Registry::full_for`], [`Registry::delta_for`]).

#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, HashMap};

use chatedge_config::placement::{Peer, Placement};
use chatedge_config::{ConfigUpdate, InstanceConfig, InstanceId, NodeId, Secret, Tenant, TenantId, TokenHash};
use serde::{Deserialize, Serialize};

use crate::billing::model::{Invoice, Subscription};
use crate::clock::Month;
use crate::nodes::{NodeRecord, DEFAULT_NODE};
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
/// Where a node's advert lives in the `meta` family.
fn advert_key(node: NodeId) -> Vec<u8> {
    let mut k = b"advert:".to_vec();
    k.extend_from_slice(node.as_bytes());
    k
}

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

    /// The account as data planes receive it: with the hashes of its live integrator tokens
    /// (the Zami dialect's account secret), never a revoked one's.
    pub fn pushed(&self) -> Tenant {
        let live = self.tokens.iter().filter(|k| k.revoked_ms.is_none()).map(|k| k.hash);
        Tenant { integrator_tokens: live.collect(), ..self.tenant.clone() }
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
    /// The data plane that serves it and alone receives its secrets; `None` (instances made
    /// before placement) is the default node.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<NodeId>,
    pub version: u64,
}

impl InstanceRecord {
    /// The node that owns this instance.
    pub fn owner(&self) -> NodeId {
        self.owner.unwrap_or(DEFAULT_NODE)
    }
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
    pub nodes: Vec<NodeRecord>,
    /// Addresses and peer-key hashes data planes advertised (issue 10 §5).
    pub adverts: Vec<Peer>,
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
    /// Registered data planes (the default node has no record: it is `node_hash`).
    pub nodes: BTreeMap<NodeId, NodeRecord>,
    /// What each node advertised for the others (the default node's included), pushed to every
    /// node while the node may connect.
    pub adverts: BTreeMap<NodeId, Peer>,
    /// Removed instances, the version that removed each and the node that owned it, oldest
    /// first.
    tombstones: std::collections::VecDeque<(u64, InstanceId, NodeId)>,
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
        for n in store.all::<NodeRecord>(Cf::Nodes)? {
            r.nodes.insert(n.id, n);
        }
        let known: Vec<NodeId> = std::iter::once(DEFAULT_NODE).chain(r.nodes.keys().copied()).collect();
        for id in known {
            if let Some(p) = store.get::<Peer>(Cf::Meta, &advert_key(id))? {
                r.adverts.insert(id, p);
            }
        }
        Ok(r)
    }

    /// The node a presented node token belongs to: the default node's, or a registered node's
    /// that is not revoked. Every credential is compared (no early exit).
    pub fn node_by_token(&self, token: &str) -> Option<NodeId> {
        let presented = TokenHash::of(token.as_bytes());
        let mut found = self.node_hash.filter(|h| *h == presented).map(|_| DEFAULT_NODE);
        for n in self.nodes.values() {
            if n.hash == presented && n.revoked_ms.is_none() {
                found = Some(n.id);
            }
        }
        found
    }

    /// Whether `node` may hold a config stream (the default node, or registered and not revoked).
    pub fn node_allowed(&self, node: NodeId) -> bool {
        node == DEFAULT_NODE || self.nodes.get(&node).is_some_and(|n| n.revoked_ms.is_none())
    }

    /// Instances per owning node.
    pub fn instances_per_node(&self) -> std::collections::HashMap<NodeId, usize> {
        let mut counts = std::collections::HashMap::new();
        for i in self.instances.values() {
            *counts.entry(i.owner()).or_insert(0) += 1;
        }
        counts
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
        for n in &change.nodes {
            w.put(Cf::Nodes, n.id.as_bytes().to_vec(), n);
        }
        for p in &change.adverts {
            w.put(Cf::Meta, advert_key(p.node), p);
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
            if let Some(gone) = self.instances.remove(&id) {
                self.tombstones.push_back((version, id, gone.owner()));
            }
        }
        for n in change.nodes {
            self.nodes.insert(n.id, n);
        }
        for p in change.adverts {
            self.adverts.insert(p.node, p);
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
            if let Some((v, _, _)) = self.tombstones.pop_front() {
                self.tombstones_since = self.tombstones_since.max(v);
            }
        }
    }

    /// Everything, for the first message of a stream.
    pub fn full(&self) -> ConfigUpdate {
        self.full_for(None)
    }

    /// What changed after `from`: a delta, or everything when a removal after `from` is no
    /// longer remembered.
    pub fn delta(&self, from: u64) -> ConfigUpdate {
        self.delta_for(from, None)
    }

    /// [`full`](Self::full) as node `node` may see it: every account, and only the instances it
    /// owns (`None`: every instance). Another node's instance is absent, not present without
    /// its secrets: a data plane runs a session for every instance it holds, so holding one it
    /// does not own would run it twice; a call for it answers as for an unknown instance.
    pub fn full_for(&self, node: Option<NodeId>) -> ConfigUpdate {
        self.since(0, true, node)
    }

    /// [`delta`](Self::delta) as node `node` may see it (see [`full_for`](Self::full_for)).
    pub fn delta_for(&self, from: u64, node: Option<NodeId>) -> ConfigUpdate {
        self.since(from, from < self.tombstones_since, node)
    }

    fn since(&self, from: u64, reset: bool, node: Option<NodeId>) -> ConfigUpdate {
        let from = if reset { 0 } else { from };
        let mine = |owner: NodeId| node.is_none_or(|n| n == owner);
        let changed = self.instances.values().filter(|i| reset || i.version > from);
        let (own, others): (Vec<&InstanceRecord>, Vec<&InstanceRecord>) = changed.partition(|i| mine(i.owner()));
        ConfigUpdate {
            reset,
            from_version: from,
            version: self.version,
            admin_token_hash: self.admin_hash,
            tenants: self.tenants.values().filter(|t| reset || t.version > from).map(TenantRecord::pushed).collect(),
            instances: own.into_iter().map(|i| i.config.clone()).collect(),
            // Every removal, so every node's placement map forgets it (a node that does not
            // hold the instance has nothing else to do).
            removed_instances: if reset {
                Vec::new()
            } else {
                self.tombstones.iter().filter(|(v, _, _)| *v > from).map(|(_, id, _)| *id).collect()
            },
            placements: others.into_iter().map(|i| Placement { instance: i.config.id, node: i.owner() }).collect(),
            peers: node.map(|_| self.peers()),
        }
    }

    /// The nodes others may forward to: advertised, and allowed to connect.
    pub fn peers(&self) -> Vec<Peer> {
        self.adverts.values().filter(|p| self.node_allowed(p.node)).cloned().collect()
    }

    /// A tenant's instances, oldest first.
    pub fn instances_of(&self, tenant: &TenantId) -> Vec<&InstanceRecord> {
        let mut v: Vec<_> = self.instances.values().filter(|i| i.config.tenant == *tenant).collect();
        v.sort_by_key(|i| (i.config.created_ms, i.config.id));
        v
    }
}
