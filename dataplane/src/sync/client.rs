//! The config stream client: holds one long-lived HTTP/2 stream to the control plane, applies
//! each update as it arrives and acknowledges it (or NACKs it and reconnects for a full
//! snapshot). Reconnects with backoff; treats a silent stream as dead. Runs on the edge runtime
//! until shutdown; a long line (a full snapshot of many instances) is parsed on a blocking
//! thread, and instances an update removes are torn down by their shards before the ack.

use std::sync::Arc;
use std::time::Duration;

use chatedge_config::{ConfigUpdate, InstanceId, StreamMessage, UpdateAck};
use tokio::sync::watch;
use tokio::task::JoinSet;

use super::control::{next_chunk, ControlClient, ControlError};
use super::lines::LineBuffer;
use super::ConfigState;
use crate::shard::{Command, Shards};

/// Longest accepted stream line (one update); a longer line ends the connection.
const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;
/// Lines up to this size are parsed in place; longer ones on a blocking thread (parsing a
/// 50 MB snapshot takes far longer than an event loop may be held).
const INLINE_PARSE_BYTES: usize = 64 * 1024;
/// Teardowns asked of the shards at once when an update removes many instances.
const TEARDOWNS_IN_FLIGHT: usize = 256;

/// Where the stream's effects go.
pub struct Follower {
    pub state: Arc<ConfigState>,
    pub control: Arc<ControlClient>,
    pub shards: Shards,
}

pub async fn run(f: Follower, idle: Duration, mut shutdown: watch::Receiver<bool>) {
    let Follower { state, control, shards } = &f;
    let mut backoff = Duration::from_millis(200);
    loop {
        let session = follow(state, control, shards, idle);
        let connected_for_a_while = tokio::select! {
            r = session => r,
            _ = shutdown.changed() => return,
        };
        state.metrics.control_plane_connected.set(0);
        backoff =
            if connected_for_a_while { Duration::from_millis(200) } else { (backoff * 2).min(Duration::from_secs(5)) };
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = shutdown.changed() => return,
        }
    }
}

/// Follows one stream until it fails. Returns whether any update or heartbeat arrived.
async fn follow(state: &ConfigState, control: &ControlClient, shards: &Shards, idle: Duration) -> bool {
    let mut body = match control.stream(state.version()).await {
        Ok(res) => res.into_body(),
        Err(ControlError::Refused { status, .. }) if status == hyper::StatusCode::UNAUTHORIZED => {
            // An operator's doing (a revoked or replaced node token): say so at every attempt.
            tracing::warn!("the control plane refused this node's token (revoked?); serving the last snapshot");
            return false;
        }
        Err(e) => {
            tracing::debug!(error = %e, "config stream unavailable; serving the last snapshot");
            return false;
        }
    };
    state.metrics.control_plane_connected.set(1);
    tracing::info!(version = state.version(), "config stream connected");
    let mut buf = LineBuffer::new();
    let mut heard = false;
    loop {
        let chunk = match tokio::time::timeout(idle, next_chunk(&mut body)).await {
            Ok(Some(Ok(c))) => c,
            Ok(Some(Err(e))) => {
                tracing::warn!(error = %e, "config stream broke");
                return heard;
            }
            Ok(None) => return heard,
            Err(_) => {
                tracing::warn!("config stream silent for too long; reconnecting");
                return heard;
            }
        };
        buf.push(&chunk);
        while let Some(line) = buf.take_line() {
            heard = true;
            if !handle_line(state, control, shards, line).await {
                return heard;
            }
        }
        if buf.pending() > MAX_LINE_BYTES {
            tracing::error!("config stream line too long; reconnecting");
            return heard;
        }
    }
}

/// Parses one line, off the event loop when it is long.
async fn parse(line: Vec<u8>) -> Result<StreamMessage, String> {
    if line.len() <= INLINE_PARSE_BYTES {
        return serde_json::from_slice(&line).map_err(|e| e.to_string());
    }
    tokio::task::spawn_blocking(move || serde_json::from_slice(&line).map_err(|e| e.to_string()))
        .await
        .unwrap_or_else(|e| Err(format!("parser failed: {e}")))
}

/// Applies one line. Returns false when the stream must be reopened.
async fn handle_line(state: &ConfigState, control: &ControlClient, shards: &Shards, line: Vec<u8>) -> bool {
    if line.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    let update: ConfigUpdate = match parse(line).await {
        Ok(StreamMessage::Heartbeat { .. }) => return true,
        Ok(StreamMessage::Update(u)) => u,
        Err(e) => {
            tracing::error!(error = %e, "unreadable config update refused");
            state.metrics.config_updates.with_label_values(&["refused"]).inc();
            nack(state, control, format!("unreadable update: {e}")).await;
            return false;
        }
    };
    let version = update.version;
    match state.apply(update).await {
        Ok(applied) => {
            tear_down(shards, applied.removed).await;
            let ack = UpdateAck { node: control.node, version, error: None, quarantined: state.quarantine_report() };
            if let Err(e) = control.ack(&ack).await {
                tracing::debug!(error = %e, "ack not delivered");
            }
            true
        }
        Err(e) => {
            tracing::error!(error = %e, version, "config update refused; serving the last good snapshot");
            nack(state, control, e.to_string()).await;
            false
        }
    }
}

/// Asks the owning shards to tear `removed` down and waits for each to be durable. A teardown
/// that does not finish (shutdown) is finished at the next start from its durable marker.
async fn tear_down(shards: &Shards, removed: Vec<InstanceId>) {
    let mut pending: JoinSet<()> = JoinSet::new();
    for id in removed {
        if pending.len() >= TEARDOWNS_IN_FLIGHT {
            pending.join_next().await;
        }
        let shards = shards.clone();
        // Owned by this JoinSet, awaited below.
        pending.spawn(async move {
            if let Err(e) = shards.call(&id, |reply| Command::Teardown { instance: id, reply }).await {
                tracing::warn!(instance = %id, error = %e, "teardown not finished; it completes at the next start");
            }
        });
    }
    while pending.join_next().await.is_some() {}
}

async fn nack(state: &ConfigState, control: &ControlClient, error: String) {
    let ack = UpdateAck {
        node: control.node,
        version: state.version(),
        error: Some(error),
        quarantined: state.quarantine_report(),
    };
    let _ = control.ack(&ack).await;
}
