//! jobs: runs the billing [`plan`](super::plan) on a timer (`[billing] job_interval_ms`)
//! against the control plane's clock, and once more whenever a test clock is moved. A run
//! first plans under a read of the model and writes only when there is something to do; the
//! write re-plans inside `mutate` (one change at a time), so two runs can never both apply a
//! step. Owned by `controlplane::run`; ends at shutdown.

use std::sync::Arc;

use tokio::sync::watch;

use super::{plan, Prices, Summary};
use crate::{ControlPlane, CpError};

/// How long a run waits for data planes to apply what it changed (deleted instances torn
/// down) before answering a clock move anyway.
const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn run_every(cp: Arc<ControlPlane>, mut shutdown: watch::Receiver<bool>) {
    let mut pruned_day = None;
    loop {
        if let Err(e) = run_now(&cp).await {
            tracing::error!(error = %e, "billing jobs failed; retrying at the next interval");
        }
        let today = cp.clock.now_ms() / crate::clock::DAY_MS;
        if pruned_day != Some(today) && prune_usage(&cp).await {
            pruned_day = Some(today);
        }
        tokio::select! {
            _ = tokio::time::sleep(cp.billing.job_interval) => {}
            _ = chatedge_serve::stopped(&mut shutdown) => break,
        }
    }
}

/// Deletes the message-count rows the stats no longer read (see [`crate::usage`]); whether it
/// ran to the end.
async fn prune_usage(cp: &Arc<ControlPlane>) -> bool {
    let (now, runner) = (cp.clock.now_ms(), cp.clone());
    match tokio::task::spawn_blocking(move || runner.usage.prune(&runner.store, now)).await {
        Ok(Ok(deleted)) => {
            cp.metrics.usage_rows_pruned.inc_by(deleted as u64);
            true
        }
        Ok(Err(e)) => {
            tracing::error!(error = %e, "pruning old message counts failed; retrying at the next interval");
            false
        }
        Err(e) => {
            tracing::error!(error = %e, "pruning old message counts panicked");
            false
        }
    }
}

/// Runs every job due now; answers what was done once the data planes applied it.
pub async fn run_now(cp: &Arc<ControlPlane>) -> Result<Summary, CpError> {
    run_after(cp, || async { Ok(()) }).await
}

/// Moves the clock with `move_clock`, then runs every job due at the new instant, with no run
/// of the timer's in between: what the answer counts is everything the move made due (the
/// timer could otherwise do that work first, and the move's own run would report none of it).
pub async fn run_after<F, Fut>(cp: &Arc<ControlPlane>, move_clock: F) -> Result<Summary, CpError>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<(), CpError>>,
{
    let _one_run_at_a_time = cp.billing_runs.lock().await;
    move_clock().await?;
    run_due(cp).await
}

async fn run_due(cp: &Arc<ControlPlane>) -> Result<Summary, CpError> {
    let now = cp.clock.now_ms();
    let prices =
        Prices { per_instance_cents: cp.billing.price_per_instance_cents, currency: cp.billing.currency.clone() };
    let (_, planned) = cp.registry_read(|r| plan(r, now, &prices));
    let first_run = cp.registry_read(|r| r.invoiced_month.is_none());
    if planned.is_empty() && !first_run {
        return Ok(planned);
    }
    let (version, summary) = cp
        .mutate_async(move |r, next| {
            let (change, summary) = plan(r, now, &prices);
            Ok(((next, summary), change))
        })
        .await?;
    let m = &cp.metrics;
    m.billing_events.with_label_values(&["invoice_issued"]).inc_by(summary.invoices_issued as u64);
    m.billing_events.with_label_values(&["instance_expired"]).inc_by(summary.instances_expired as u64);
    m.billing_events.with_label_values(&["account_stopped"]).inc_by(summary.accounts_stopped as u64);
    m.billing_events.with_label_values(&["instance_deleted_unpaid"]).inc_by(summary.instances_deleted_unpaid as u64);
    m.billing_events.with_label_values(&["due_renewed"]).inc_by(summary.dues_renewed as u64);
    if !summary.is_empty() {
        tracing::info!(?summary, at = %crate::clock::rfc3339(now), "billing jobs applied");
    }
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "billing changes not yet applied by every data plane");
    }
    Ok(summary)
}
