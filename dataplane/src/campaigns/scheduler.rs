//! The scheduler: one task on the edge runtime that starts scheduled runs when the campaigns'
//! clock reaches their time (the node's schedule table, ordered by due time, survives
//! restarts), and that keeps every running run fed — at start-up, and again every few seconds
//! for a run whose feeder stopped on an error. Wakes every second, when a run is scheduled and
//! when the test clock moves. Reads are bounded range reads on the blocking pool.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;

use super::catalog::scan;
use super::{keys, Campaigns};

/// Scheduled runs started per wake-up at most (the rest on the next one, at once).
const DUE_PER_TURN: usize = 256;
/// How often running runs without a feeder are looked for.
const RESUME_EVERY: Duration = Duration::from_secs(5);

impl Campaigns {
    pub async fn run_scheduler(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut last_resume: Option<std::time::Instant> = None;
        loop {
            if *shutdown.borrow() {
                return;
            }
            if last_resume.is_none_or(|t| t.elapsed() >= RESUME_EVERY) {
                last_resume = Some(std::time::Instant::now());
                self.resume_running().await;
            }
            let due = self.due().await;
            let full = due.len() == DUE_PER_TURN;
            for (at, instance, id) in due {
                if let Err(e) = self.start_due(instance, &id, at).await {
                    tracing::warn!(instance = %instance, campaign = id, error = %e, "scheduled campaign run not started");
                }
            }
            if full {
                continue;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                _ = self.wake.notified() => {}
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Scheduled runs due now, earliest first.
    async fn due(self: &Arc<Self>) -> Vec<(u64, chatedge_config::InstanceId, String)> {
        let me = self.clone();
        let read = move || {
            let (from, to) = keys::schedule_due(me.clock.now_ms());
            let mut out = Vec::new();
            scan(&me.store, &from, &to, DUE_PER_TURN, |k, _| {
                out.extend(keys::parse_schedule(k));
                true
            })
            .map(|()| out)
        };
        match tokio::task::spawn_blocking(read).await {
            Ok(Ok(due)) => due,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "campaign schedule unreadable");
                Vec::new()
            }
            Err(_) => Vec::new(),
        }
    }

    /// Starts a feeder for every running run that has none (of configured instances).
    async fn resume_running(self: &Arc<Self>) {
        let me = self.clone();
        let read = move || {
            let (from, to) = keys::active_all();
            let mut out = Vec::new();
            scan(&me.store, &from, &to, usize::MAX, |k, _| {
                out.extend(keys::parse_active(k));
                true
            })
            .map(|()| out)
        };
        let running = match tokio::task::spawn_blocking(read).await {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => return tracing::warn!(error = %e, "running campaigns unreadable"),
            Err(_) => return,
        };
        let config = self.config.load();
        for (instance, id) in running {
            if config.instances.contains_key(&instance) {
                self.spawn_feeder(instance, id);
            }
        }
    }
}
