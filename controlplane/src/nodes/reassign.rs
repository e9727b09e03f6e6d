//! reassign: moves the instances of a node that can no longer serve them — revoked, or silent
//! (no config stream and no authenticated call) for `[controlplane] reassign_after_ms` — to
//! the live nodes, fewest instances first, as [`super::place`] does for new ones. The new owner
//! receives each moved instance, secrets included, in its next push; every other node receives
//! the new placement, so requests for it are forwarded to the new owner. What the old node held
//! of the instance stays there: its queued messages are not carried over and a paired session
//! must be paired again on the new node. A node that comes back drops the moved instances with
//! its first (full) snapshot. With no live node to take them, nothing moves and the next check
//! tries again. [`run`] is one task owned by `controlplane::run` on its runtime; it ends at
//! shutdown.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chatedge_config::NodeId;
use tokio::sync::watch;

use crate::registry::{Change, InstanceRecord, Registry};
use crate::{ControlPlane, CpError};

/// Why instances move (a metric label).
#[derive(Debug, Clone, Copy)]
pub enum Reason {
    Revoked,
    Silent,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::Revoked => "revoked",
            Reason::Silent => "silent",
        }
    }
}

/// The instances owned by `from`, each given a new owner among `live` (allowed to connect, not
/// in `from`): the one with the fewest instances at that point (ties: the lowest id). Empty
/// when no node can take them.
pub fn moves(registry: &Registry, from: &[NodeId], live: &[NodeId]) -> Vec<InstanceRecord> {
    let mut counts: HashMap<NodeId, usize> =
        live.iter().filter(|n| registry.node_allowed(**n) && !from.contains(n)).map(|n| (*n, 0)).collect();
    if counts.is_empty() {
        return Vec::new();
    }
    for i in registry.instances.values() {
        if let Some(c) = counts.get_mut(&i.owner()) {
            *c += 1;
        }
    }
    let mut leaving: Vec<&InstanceRecord> = registry.instances.values().filter(|i| from.contains(&i.owner())).collect();
    leaving.sort_by_key(|i| i.config.id);
    let mut moved = Vec::with_capacity(leaving.len());
    for record in leaving {
        let Some((to, n)) = counts.iter_mut().min_by_key(|(id, n)| (**n, **id)) else { break };
        *n += 1;
        moved.push(InstanceRecord { owner: Some(*to), ..record.clone() });
    }
    moved
}

/// Nodes owning instances that hold no config stream and were not heard from for `after`
/// (counted from this process's start at the earliest: what nodes did before it is unknown).
pub fn silent(cp: &ControlPlane, now_ms: u64, after: Duration) -> Vec<NodeId> {
    let owners: Vec<NodeId> = cp.registry_read(|r| r.instances_per_node().into_keys().collect());
    let after = after.as_millis() as u64;
    owners
        .into_iter()
        .filter(|n| cp.streams_of(*n) == 0 && cp.activity.get(*n).last_ms.max(cp.started_ms) + after <= now_ms)
        .collect()
}

/// Moves every instance of `from` (see [`moves`]) in one change; answers how many moved.
pub async fn move_from(cp: &Arc<ControlPlane>, from: Vec<NodeId>, reason: Reason) -> Result<usize, CpError> {
    let live = cp.live_nodes(chatedge_config::time::unix_ms());
    if cp.registry_read(|r| moves(r, &from, &live).is_empty()) {
        return Ok(0);
    }
    let moved = cp
        .mutate_async(move |r, _| {
            let moved = moves(r, &from, &live);
            Ok((moved.len(), Change { instances: moved, ..Change::default() }))
        })
        .await?;
    cp.metrics.instances_moved.with_label_values(&[reason.label()]).inc_by(moved as u64);
    tracing::warn!(moved, reason = reason.label(), "instances moved to live data planes");
    Ok(moved)
}

/// Revoked nodes that still own instances: none was live when they were revoked.
pub fn revoked_owners(cp: &ControlPlane) -> Vec<NodeId> {
    cp.registry_read(|r| {
        let revoked = |n: &NodeId| r.nodes.get(n).is_some_and(|rec| rec.revoked_ms.is_some());
        r.instances_per_node().into_keys().filter(revoked).collect()
    })
}

/// Until shutdown: moves the instances a revoked node still owns (revoked while no node was
/// live) as soon as a node is, and — with `after` (`[controlplane] reassign_after_ms`) —
/// those of nodes silent that long. Checks every quarter of `after` (250 ms–5 s; 5 s without).
pub async fn run(cp: Arc<ControlPlane>, after: Option<Duration>, mut shutdown: watch::Receiver<bool>) {
    let every =
        after.map_or(Duration::from_secs(5), |a| (a / 4).clamp(Duration::from_millis(250), Duration::from_secs(5)));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = chatedge_serve::stopped(&mut shutdown) => return,
        }
        let stranded = revoked_owners(&cp);
        if !stranded.is_empty() {
            if let Err(e) = move_from(&cp, stranded, Reason::Revoked).await {
                tracing::error!(error = %e, "moving a revoked node's instances failed; retrying at the next check");
            }
        }
        let Some(after) = after else { continue };
        let lost = silent(&cp, chatedge_config::time::unix_ms(), after);
        if lost.is_empty() {
            continue;
        }
        let labels: Vec<String> = lost.iter().map(|n| super::label(*n)).collect();
        tracing::warn!(nodes = ?labels, "data planes silent too long: moving their instances");
        if let Err(e) = move_from(&cp, lost, Reason::Silent).await {
            tracing::error!(error = %e, "moving a silent node's instances failed; retrying at the next check");
        }
    }
}
