//! push: the config stream to data planes. Each stream is one task that sends a full snapshot
//! first, then — whenever the version moves — one delta covering everything since what it last
//! sent (changes coalesce when a node is slow), and a heartbeat when nothing changed for a
//! while. Lines are newline-delimited JSON [`StreamMessage`]s. The task ends when the data
//! plane goes away or the control plane shuts down.

use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::{NodeId, StreamMessage, UpdateAck};
use chatedge_serve::{Resp, StreamSender};
use hyper::body::Frame;
use hyper::StatusCode;
use tokio::sync::watch;

use crate::ControlPlane;

/// Frames buffered per stream before the sender waits for the data plane to read.
const STREAM_BUFFER: usize = 4;

pub fn open(cp: Arc<ControlPlane>, node: NodeId, shutdown: watch::Receiver<bool>) -> Resp {
    let (tx, res) = chatedge_serve::streamed(StatusCode::OK, "application/x-ndjson", STREAM_BUFFER);
    // Owned by the runtime; ends when the data plane disconnects or at shutdown.
    tokio::spawn(follow(cp, node, tx, shutdown));
    res
}

fn line(message: &StreamMessage) -> Frame<Bytes> {
    let mut v = serde_json::to_vec(message).unwrap_or_default();
    v.push(b'\n');
    Frame::data(Bytes::from(v))
}

async fn follow(cp: Arc<ControlPlane>, node: NodeId, mut tx: StreamSender, mut shutdown: watch::Receiver<bool>) {
    let mut versions = cp.subscribe();
    cp.attach(node);
    cp.metrics.streams_open.inc();
    tracing::info!(%node, "data plane attached to the config stream");
    let full = cp.registry_read(|r| r.full());
    let mut sent = full.version;
    cp.metrics.updates_pushed.with_label_values(&["full"]).inc();
    if tx.send(line(&StreamMessage::Update(full))).await.is_ok() {
        loop {
            let message = tokio::select! {
                changed = versions.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let delta = cp.registry_read(|r| (r.version > sent).then(|| r.delta(sent)));
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
    cp.metrics.streams_open.dec();
    cp.detach(node);
    tracing::info!(%node, "data plane left the config stream");
}

/// Records what a data plane says it applied (or refused).
pub fn record_ack(cp: &ControlPlane, ack: &UpdateAck) {
    let node = ack.node.to_string();
    let current = cp.registry_read(|r| r.version);
    cp.metrics.node_acked_version.with_label_values(&[&node]).set(ack.version as i64);
    cp.metrics.node_push_lag.with_label_values(&[&node]).set(current.saturating_sub(ack.version) as i64);
    match &ack.error {
        None => cp.acknowledged(ack.node, ack.version),
        Some(e) => {
            cp.metrics.node_nacks.with_label_values(&[&node]).inc();
            tracing::warn!(%node, version = ack.version, error = %e, "data plane refused a config update");
        }
    }
}
