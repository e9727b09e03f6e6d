//! push: the config stream to data planes. Each stream is one task that sends a full snapshot
//! first, then — whenever the version moves — one delta covering everything since what it last
//! sent (changes coalesce when a node is slow), and a heartbeat when nothing changed for a
//! while. What a stream carries is what its node may see: every account, and only the
//! instances that node owns (`Registry::full_for`). Lines are newline-delimited JSON
//! [`StreamMessage`]s. The task ends when the data plane goes away, when the control plane
//! shuts down, or at once when its node's credential is revoked (a revocation is itself a new
//! version, so every stream looks).

use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::{NodeId, StreamMessage, UpdateAck};
use chatedge_serve::{Resp, StreamSender};
use hyper::body::Frame;
use hyper::StatusCode;
use tokio::sync::watch;

use crate::{nodes, ControlPlane};

/// Frames buffered per stream before the sender waits for the data plane to read.
const STREAM_BUFFER: usize = 4;

/// Who holds a stream: the node its credential names, and the process's own id.
#[derive(Debug, Clone, Copy)]
pub struct Holder {
    pub node: NodeId,
    pub process: NodeId,
}

pub fn open(cp: Arc<ControlPlane>, holder: Holder, shutdown: watch::Receiver<bool>) -> Resp {
    let (tx, res) = chatedge_serve::streamed(StatusCode::OK, "application/x-ndjson", STREAM_BUFFER);
    // Owned by the runtime; ends when the data plane disconnects, its credential is revoked,
    // or at shutdown.
    tokio::spawn(follow(cp, holder, tx, shutdown));
    res
}

fn line(message: &StreamMessage) -> Frame<Bytes> {
    let mut v = serde_json::to_vec(message).unwrap_or_default();
    v.push(b'\n');
    Frame::data(Bytes::from(v))
}

async fn follow(cp: Arc<ControlPlane>, holder: Holder, mut tx: StreamSender, mut shutdown: watch::Receiver<bool>) {
    let Holder { node, process } = holder;
    let mut versions = cp.subscribe();
    cp.attach(node, process);
    cp.metrics.streams_open.inc();
    tracing::info!(node = %nodes::label(node), %process, "data plane attached to the config stream");
    let full = cp.registry_read(|r| r.full_for(Some(node)));
    let mut sent = full.version;
    cp.metrics.updates_pushed.with_label_values(&["full"]).inc();
    if tx.send(line(&StreamMessage::Update(full))).await.is_ok() {
        loop {
            let message = tokio::select! {
                changed = versions.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let (allowed, delta) = cp.registry_read(|r| {
                        (r.node_allowed(node), (r.version > sent).then(|| r.delta_for(sent, Some(node))))
                    });
                    if !allowed {
                        tracing::warn!(node = %nodes::label(node), "node credential revoked: its config stream ends");
                        break;
                    }
                    let Some(delta) = delta else { continue };
                    sent = delta.version;
                    cp.metrics.updates_pushed.with_label_values(&["delta"]).inc();
                    StreamMessage::Update(delta)
                }
                _ = tokio::time::sleep(cp.heartbeat) => StreamMessage::Heartbeat { version: sent },
                _ = chatedge_serve::stopped(&mut shutdown) => break,
            };
            if tx.send(line(&message)).await.is_err() {
                break;
            }
        }
    }
    // Dropping the sender ends the response body: the data plane sees its stream close.
    drop(tx);
    cp.metrics.streams_open.dec();
    cp.detach(node, process);
    tracing::info!(node = %nodes::label(node), %process, "data plane left the config stream");
}

/// Records what process `ack.node` of node `node` says it applied (or refused).
pub fn record_ack(cp: &ControlPlane, node: NodeId, ack: &UpdateAck) {
    let label = nodes::label(node);
    let current = cp.registry_read(|r| r.version);
    cp.metrics.node_acked_version.with_label_values(&[&label]).set(ack.version as i64);
    cp.metrics.node_push_lag.with_label_values(&[&label]).set(current.saturating_sub(ack.version) as i64);
    cp.metrics.node_quarantined.with_label_values(&[&label]).set(ack.quarantined.len() as i64);
    for q in &ack.quarantined {
        tracing::debug!(node = %label, instance = %q.instance, reason = %q.reason, "instance quarantined by its data plane");
    }
    cp.quarantines.record(node, ack.quarantined.clone());
    match &ack.error {
        None => cp.acknowledged(node, ack.node, ack.version),
        Some(e) => {
            cp.metrics.node_nacks.with_label_values(&[&label]).inc();
            tracing::warn!(node = %label, process = %ack.node, version = ack.version, error = %e, "data plane refused a config update");
        }
    }
}
