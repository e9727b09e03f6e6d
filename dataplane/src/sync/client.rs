//! The config stream client: holds one long-lived HTTP/2 stream to the control plane, applies
//! each update as it arrives and acknowledges it (or NACKs it and reconnects for a full
//! snapshot). Reconnects with backoff; treats a silent stream as dead. Runs on the edge runtime
//! until shutdown.

use std::sync::Arc;
use std::time::Duration;

use chatedge_config::{StreamMessage, UpdateAck};
use tokio::sync::watch;

use super::control::{next_chunk, ControlClient};
use super::ConfigState;

/// Longest accepted stream line (one update); a longer line ends the connection.
const MAX_LINE_BYTES: usize = 256 * 1024 * 1024;

pub async fn run(
    state: Arc<ConfigState>,
    control: Arc<ControlClient>,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let session = follow(&state, &control, idle);
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
async fn follow(state: &ConfigState, control: &ControlClient, idle: Duration) -> bool {
    let mut body = match control.stream(state.version()).await {
        Ok(res) => res.into_body(),
        Err(e) => {
            tracing::debug!(error = %e, "config stream unavailable; serving the last snapshot");
            return false;
        }
    };
    state.metrics.control_plane_connected.set(1);
    tracing::info!(version = state.version(), "config stream connected");
    let mut buf: Vec<u8> = Vec::new();
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
        buf.extend_from_slice(&chunk);
        while let Some(pos) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=pos).collect();
            heard = true;
            if !handle_line(state, control, &line[..line.len() - 1]).await {
                return heard;
            }
        }
        if buf.len() > MAX_LINE_BYTES {
            tracing::error!("config stream line too long; reconnecting");
            return heard;
        }
    }
}

/// Applies one line. Returns false when the stream must be reopened.
async fn handle_line(state: &ConfigState, control: &ControlClient, line: &[u8]) -> bool {
    if line.iter().all(u8::is_ascii_whitespace) {
        return true;
    }
    let update = match serde_json::from_slice::<StreamMessage>(line) {
        Ok(StreamMessage::Heartbeat { .. }) => return true,
        Ok(StreamMessage::Update(u)) => u,
        Err(e) => {
            tracing::error!(error = %e, "unreadable config update refused");
            state.metrics.config_updates.with_label_values(&["refused"]).inc();
            nack(state, control, format!("unreadable update: {e}")).await;
            return false;
        }
    };
    match state.apply(&update).await {
        Ok(()) => {
            let ack = UpdateAck { node: control.node, version: update.version, error: None };
            if let Err(e) = control.ack(&ack).await {
                tracing::debug!(error = %e, "ack not delivered");
            }
            true
        }
        Err(e) => {
            tracing::error!(error = %e, version = update.version, "config update refused; serving the last good snapshot");
            nack(state, control, e.to_string()).await;
            false
        }
    }
}

async fn nack(state: &ConfigState, control: &ControlClient, error: String) {
    let ack = UpdateAck { node: control.node, version: state.version(), error: Some(error) };
    let _ = control.ack(&ack).await;
}
