//! nodes: the data planes' credentials and placement. Each data plane the operator registers
//! (`POST /admin/dataplanes`) gets a [`NodeRecord`] — id, name, the SHA-256 of its node token
//! (shown once), and when it was revoked. The first-start node token is the **default node**
//! ([`DEFAULT_NODE`]), so `chatedge up` and older set-ups keep working; instances created before
//! placement existed belong to it. Records live in the registry (durable, changed only through
//! `ControlPlane::mutate`); what each node did lately ([`Activity`]: last contact, applied
//! version) is kept in memory only, and a restarted control plane learns it again within
//! seconds. [`place`] picks a new instance's owner: the live node with the fewest instances.
//! Node ids label metrics only once registered (at most [`MAX_NODES`], the operator's doing).
//! [`Quarantines`] keeps, per node, the instances it refused to take (issue 10 §5);
//! [`reassign`] moves a revoked or silent node's instances to live nodes.

pub mod reassign;

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chatedge_config::placement::Quarantined;
use chatedge_config::{NodeId, TokenHash};
use serde::{Deserialize, Serialize};

use crate::registry::Registry;

/// The node of the first-start node token (its id is all zeros; registered ids never are, as
/// they start with the creation time).
pub const DEFAULT_NODE: NodeId = NodeId::from_bytes([0; 8]);
/// Registered nodes, revoked ones included (each is a metric label and is checked on every
/// data-plane call).
pub const MAX_NODES: usize = 1024;
/// A node heard from this recently is live for placement even between two streams.
pub const LIVE_WINDOW: Duration = Duration::from_secs(10);
/// Longest node name.
pub const MAX_NAME_LEN: usize = 100;

/// A registered data plane's credential.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NodeRecord {
    pub id: NodeId,
    pub name: String,
    pub hash: TokenHash,
    pub created_ms: u64,
    #[serde(default)]
    pub revoked_ms: Option<u64>,
}

/// The metric label of a node: `default`, or a registered node's id.
pub fn label(node: NodeId) -> String {
    if node == DEFAULT_NODE {
        "default".into()
    } else {
        node.to_string()
    }
}

/// What one node did lately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Contact {
    /// Wall-clock ms of its last authenticated call.
    pub last_ms: u64,
    /// The highest config version it acknowledged (0: none yet).
    pub applied: u64,
}

/// Every node's [`Contact`]; the mutex is held for one map operation, never across `.await`.
#[derive(Default)]
pub struct Activity {
    nodes: Mutex<HashMap<NodeId, Contact>>,
}

impl Activity {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, Contact>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `node` made an authenticated call at `now_ms`.
    pub fn heard(&self, node: NodeId, now_ms: u64) {
        let mut nodes = self.lock();
        let c = nodes.entry(node).or_default();
        c.last_ms = c.last_ms.max(now_ms);
    }

    /// `node` applied `version`.
    pub fn applied(&self, node: NodeId, version: u64) {
        let mut nodes = self.lock();
        let c = nodes.entry(node).or_default();
        c.applied = c.applied.max(version);
    }

    pub fn get(&self, node: NodeId) -> Contact {
        self.lock().get(&node).copied().unwrap_or_default()
    }

    /// Nodes heard from within [`LIVE_WINDOW`] of `now_ms`.
    pub fn recent(&self, now_ms: u64) -> Vec<NodeId> {
        self.recent_within(now_ms, LIVE_WINDOW)
    }

    /// Nodes heard from within `window` of `now_ms`.
    pub fn recent_within(&self, now_ms: u64, window: Duration) -> Vec<NodeId> {
        let window = window.as_millis() as u64;
        self.lock().iter().filter(|(_, c)| c.last_ms + window >= now_ms).map(|(id, _)| *id).collect()
    }

    /// Forgets a node (revoked: it is no one's to place on).
    pub fn forget(&self, node: NodeId) {
        self.lock().remove(&node);
    }
}

/// Most quarantined instances remembered per node (the count beyond it is still shown).
pub const MAX_QUARANTINE_SHOWN: usize = 1000;

/// What each node last said it holds out of service (its acknowledgements carry the whole
/// list each time); memory only, like [`Activity`]. The mutex is held for one map operation.
#[derive(Default)]
pub struct Quarantines {
    nodes: Mutex<HashMap<NodeId, (usize, Vec<Quarantined>)>>,
}

impl Quarantines {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, (usize, Vec<Quarantined>)>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// `node` holds `list` out of service now.
    pub fn record(&self, node: NodeId, mut list: Vec<Quarantined>) {
        let count = list.len();
        list.truncate(MAX_QUARANTINE_SHOWN);
        let mut nodes = self.lock();
        if count == 0 {
            nodes.remove(&node);
        } else {
            nodes.insert(node, (count, list));
        }
    }

    /// How many instances `node` holds out of service, and (up to the bound) which.
    pub fn of(&self, node: NodeId) -> (usize, Vec<Quarantined>) {
        self.lock().get(&node).cloned().unwrap_or_default()
    }
}

/// The owner of a new instance: among the `live` nodes still allowed to connect, the one that
/// owns the fewest instances (ties: the lowest id, so placement is deterministic); the default
/// node when none is live.
pub fn place(registry: &Registry, live: &[NodeId]) -> NodeId {
    let candidates: Vec<NodeId> = live.iter().copied().filter(|n| registry.node_allowed(*n)).collect();
    if candidates.is_empty() {
        return DEFAULT_NODE;
    }
    let mut counts: HashMap<NodeId, usize> = candidates.iter().map(|n| (*n, 0)).collect();
    for i in registry.instances.values() {
        if let Some(c) = counts.get_mut(&i.owner()) {
            *c += 1;
        }
    }
    counts.into_iter().min_by_key(|(id, n)| (*n, *id)).map(|(id, _)| id).unwrap_or(DEFAULT_NODE)
}

#[cfg(test)]
mod tests;
