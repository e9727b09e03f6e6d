//! sessions: what the data planes last reported about their sessions — which instances are
//! connected — for the instance listing's `phoneConnected` and `whatsappConnected`, and each
//! node's connected count in `GET /admin/dataplanes`. Kept in
//! memory only: every data plane sends its whole state at least every 30 s, so a restarted
//! control plane knows it again within that time. Reports are ordered per node by
//! (boot, seq); an older or repeated report changes nothing. Bounded: at most
//! [`MAX_NODES`] nodes are remembered (the least recently heard from is forgotten first).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use chatedge_config::{InstanceId, NodeId, SessionReport};

/// Nodes whose reports are kept.
pub const MAX_NODES: usize = 1024;

/// One node's latest report.
struct NodeSessions {
    /// The node whose credential sent it (reports are keyed by the sending process).
    credential: NodeId,
    order: (u64, u64),
    online: HashSet<InstanceId>,
    heard_ms: u64,
}

/// The latest report of every node; its mutex is held for one map operation, never across
/// `.await`.
#[derive(Default)]
pub struct Sessions {
    nodes: Mutex<HashMap<NodeId, NodeSessions>>,
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<NodeId, NodeSessions>> {
        self.nodes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes `report`, sent with node `credential`'s token, if it is newer than what its
    /// process last said; returns whether it was.
    pub fn record(&self, report: SessionReport, credential: NodeId, now_ms: u64) -> bool {
        let order = (report.boot_ms, report.seq);
        let mut nodes = self.lock();
        if nodes.get(&report.node).is_some_and(|n| n.order >= order) {
            return false;
        }
        if !nodes.contains_key(&report.node) && nodes.len() >= MAX_NODES {
            if let Some(oldest) = nodes.iter().min_by_key(|(_, n)| n.heard_ms).map(|(id, _)| *id) {
                nodes.remove(&oldest);
            }
        }
        let online = report.online.into_iter().collect();
        nodes.insert(report.node, NodeSessions { credential, order, online, heard_ms: now_ms });
        true
    }

    /// Sessions connected on the processes of node `credential`, as they last reported.
    pub fn connected_on(&self, credential: NodeId) -> usize {
        self.lock().values().filter(|n| n.credential == credential).map(|n| n.online.len()).sum()
    }

    /// Whether any node reports `instance` connected.
    pub fn connected(&self, instance: &InstanceId) -> bool {
        self.lock().values().any(|n| n.online.contains(instance))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(node: NodeId, boot_ms: u64, seq: u64, online: &[InstanceId]) -> SessionReport {
        SessionReport { node, boot_ms, seq, online: online.to_vec(), usage: Vec::new(), today: None }
    }

    #[test]
    fn a_later_report_replaces_the_state_and_an_older_or_repeated_one_changes_nothing() {
        let s = Sessions::default();
        let (node, a, b) = (NodeId::random(), InstanceId::generate(), InstanceId::generate());
        assert!(s.record(report(node, 10, 2, &[a]), node, 1));
        assert!(s.connected(&a) && !s.connected(&b));
        assert!(!s.record(report(node, 10, 1, &[b]), node, 2), "an older report of the same boot");
        assert!(!s.record(report(node, 10, 2, &[b]), node, 2), "the same report again");
        assert!(s.connected(&a) && !s.connected(&b));
        assert!(s.record(report(node, 11, 1, &[b]), node, 3), "a later boot starts its own numbering");
        assert!(!s.connected(&a) && s.connected(&b));
    }

    #[test]
    fn each_node_speaks_for_its_own_instances_and_the_nodes_kept_are_bounded() {
        let s = Sessions::default();
        let a = InstanceId::generate();
        let first = NodeId::random();
        s.record(report(first, 1, 1, &[a]), first, 0);
        for i in 0..MAX_NODES as u64 {
            let n = NodeId::random();
            s.record(report(n, 1, 1, &[]), n, i + 1);
        }
        assert_eq!(s.lock().len(), MAX_NODES);
        assert!(!s.connected(&a), "the node heard from longest ago was forgotten");
    }
}
