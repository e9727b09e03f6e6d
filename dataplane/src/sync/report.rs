//! report: tells the control plane which of this node's instances are connected (the
//! `phoneConnected` / `whatsappConnected` of its instance listing). Every [`REPORT_EVERY`] the
//! shards are asked for their online sessions; the whole set is sent when it changed, and
//! at least every [`HEARTBEAT`] (so a control plane that restarted learns it again). A failed
//! report is not retried as such: the next one carries the whole state. Never blocks a shard
//! for longer than one map walk; never holds anything across the edge's request path.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chatedge_config::{InstanceId, NodeId, SessionReport};
use tokio::sync::watch;

use super::control::ControlClient;
use crate::metrics::Metrics;
use crate::shard::Shards;

/// How often the shards are asked for their online sessions.
pub const REPORT_EVERY: Duration = Duration::from_secs(2);
/// Longest time between two reports, changed or not.
pub const HEARTBEAT: Duration = Duration::from_secs(30);

/// What the report loop needs.
pub struct Reporter {
    pub control: Arc<ControlClient>,
    pub shards: Shards,
    pub node: NodeId,
    pub metrics: Arc<Metrics>,
}

pub async fn run(r: Reporter, mut shutdown: watch::Receiver<bool>) {
    let boot_ms = chatedge_config::time::unix_ms();
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seq, mut last): (u64, Option<(Vec<InstanceId>, Instant)>) = (0, None);
    loop {
        tokio::select! {
            _ = chatedge_serve::shutdown::stopped(&mut shutdown) => return,
            _ = tick.tick() => {}
        }
        let Ok(mut online) = r.shards.online().await else { return };
        online.sort_unstable();
        let due = match &last {
            Some((sent, at)) => *sent != online || at.elapsed() >= HEARTBEAT,
            None => true,
        };
        if !due {
            continue;
        }
        seq += 1;
        let report = SessionReport { node: r.node, boot_ms, seq, online };
        match r.control.report(&report).await {
            Ok(()) => {
                r.metrics.session_reports.with_label_values(&["sent"]).inc();
                last = Some((report.online, Instant::now()));
            }
            Err(e) => {
                r.metrics.session_reports.with_label_values(&["failed"]).inc();
                tracing::debug!(error = %e, "session report not delivered; the next one carries the whole state");
            }
        }
    }
}
