//! report: tells the control plane which of this node's instances are connected (the
//! `phoneConnected` / `whatsappConnected` of its instance listing) and how many messages each
//! sent and received per day (its `stats`). Every [`REPORT_EVERY`] the shards are asked for
//! their online sessions and the day counts are read from the store; a report goes when the
//! sessions changed, when counts changed since the last report the control plane took, and
//! at least every [`HEARTBEAT`] (so a control plane that restarted learns the sessions again),
//! and every tick while an account of this node is under a daily quota: the answer says what
//! this node's accounts sent today on the other data planes, which the shards add to their
//! own counts (`shard::account_quota`) so the quota holds across data planes.
//!
//! Counts are the whole day's count of each (instance, day), as stored by the shards in the
//! batch of each message (`shard::daily_quota`) — never increments — so a report that is
//! retried, repeated, reordered or sent again after this process restarts restates numbers
//! the control plane already has and cannot count a message twice. Only durable counts are
//! read, so a reported count never goes back. A failed report is not retried as such: its
//! counts stay "not taken" and go with the next one. Never blocks a shard for longer than one
//! map walk; the store is read on the blocking pool; nothing here is on the request path.
//! Each read walks the `daily_sends` family: two days' rows per instance that sent or
//! received, plus older rows until the compaction filter drops them (bounded by the instances
//! of this node times the days since the family's last compaction).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chatedge_config::{DailyUsage, InstanceId, NodeId, SessionReport, Snapshot};
use tokio::sync::watch;

use super::control::ControlClient;
use crate::campaigns::Clock;
use crate::metrics::Metrics;
use crate::shard::account_quota::AccountCounts;
use crate::shard::daily_quota;
use crate::shard::Shards;
use crate::store::{Cf, Store};

/// How often the shards are asked for their online sessions.
pub const REPORT_EVERY: Duration = Duration::from_secs(2);
/// Longest time between two reports, changed or not.
pub const HEARTBEAT: Duration = Duration::from_secs(30);
/// Most day counts one report carries (~85 bytes of JSON each: ~340 KB, well under the control
/// plane's 1 MiB body limit); more wait for the next ticks, 2 s apart.
pub const MAX_USAGE_PER_REPORT: usize = 4_000;

/// What the report loop needs.
pub struct Reporter {
    pub control: Arc<ControlClient>,
    pub shards: Shards,
    pub node: NodeId,
    pub metrics: Arc<Metrics>,
    /// Where the shards keep the day counts.
    pub store: Arc<Store>,
    /// Which day is today.
    pub clock: Arc<Clock>,
    /// Where the answers' sends on other data planes go (the shards' account quotas).
    pub accounts: Arc<AccountCounts>,
    /// Whether an account of this node is under a daily quota (then a report goes every tick).
    pub config: Arc<ArcSwap<Snapshot>>,
}

/// (sends, received) of one instance on one day.
type Counts = HashMap<(InstanceId, u32), (u64, u64)>;

pub async fn run(r: Reporter, mut shutdown: watch::Receiver<bool>) {
    let boot_ms = chatedge_config::time::unix_ms();
    let mut tick = tokio::time::interval(REPORT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (mut seq, mut last): (u64, Option<(Vec<InstanceId>, Instant)>) = (0, None);
    // What the control plane took: a count equal to it is not sent again.
    let mut taken = Counts::new();
    loop {
        tokio::select! {
            _ = chatedge_serve::shutdown::stopped(&mut shutdown) => return,
            _ = tick.tick() => {}
        }
        let Ok(mut online) = r.shards.online().await else { return };
        online.sort_unstable();
        let (store, today) = (r.store.clone(), daily_quota::day_of(r.clock.now_ms()));
        let counts = match tokio::task::spawn_blocking(move || day_counts(&store, today)).await {
            Ok(Ok(c)) => c,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cannot read the day counts; reporting sessions only");
                taken.clone()
            }
            Err(_) => return,
        };
        let mut usage = changed(&counts, &taken);
        // A bounded report: the rest goes with the next ticks (a first report after a start
        // carries every instance's counts, and the control plane takes at most 1 MiB).
        usage.truncate(MAX_USAGE_PER_REPORT);
        let due = !usage.is_empty()
            || under_quota(&r.config.load())
            || match &last {
                Some((sent, at)) => *sent != online || at.elapsed() >= HEARTBEAT,
                None => true,
            };
        if !due {
            continue;
        }
        seq += 1;
        let report = SessionReport { node: r.node, boot_ms, seq, online, usage, today: Some(today) };
        match r.control.report(&report).await {
            Ok(answer) => {
                r.metrics.session_reports.with_label_values(&["sent"]).inc();
                let elsewhere = r.accounts.heard(today, &answer.elsewhere);
                r.metrics.account_sends_elsewhere.set(i64::try_from(elsewhere).unwrap_or(i64::MAX));
                last = Some((report.online, Instant::now()));
                taken.retain(|k, _| counts.contains_key(k));
                taken.extend(report.usage.iter().map(|u| ((u.instance, u.day), (u.sent, u.received))));
            }
            Err(e) => {
                r.metrics.session_reports.with_label_values(&["failed"]).inc();
                tracing::debug!(error = %e, "session report not delivered; the next one carries the whole state");
            }
        }
    }
}

/// Whether an account with an instance on this node has a daily quota: its sends on the other
/// data planes must then be heard every tick, not only every heartbeat.
fn under_quota(snapshot: &Snapshot) -> bool {
    snapshot
        .instances
        .values()
        .any(|i| snapshot.tenants.get(&i.tenant).and_then(|t| t.limits).and_then(|l| l.daily_quota).is_some())
}

/// Every instance's counts of `today` and the day before, from the `daily_sends` family
/// (older rows wait there for the compaction filter and are skipped).
fn day_counts(store: &Store, today: u32) -> Result<Counts, crate::store::StoreError> {
    let mut out = Counts::new();
    for item in store.db().iterator_cf(store.cf(Cf::DailySends), rocksdb::IteratorMode::Start) {
        let (k, v) = item?;
        let Some((instance, day, received)) = daily_quota::parse_key(&k) else { continue };
        if day + 1 < today || day > today {
            continue;
        }
        let entry = out.entry((instance, day)).or_default();
        match received {
            true => entry.1 = daily_quota::parse_count(&v),
            false => entry.0 = daily_quota::parse_count(&v),
        }
    }
    Ok(out)
}

/// The counts that differ from what the control plane took, in a stable order.
fn changed(now: &Counts, taken: &Counts) -> Vec<DailyUsage> {
    let mut out: Vec<DailyUsage> = now
        .iter()
        .filter(|(k, v)| taken.get(k) != Some(v))
        .map(|(&(instance, day), &(sent, received))| DailyUsage { instance, day, sent, received })
        .collect();
    out.sort_unstable_by_key(|u| (u.instance, u.day));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_counts_the_control_plane_has_not_taken_are_sent() {
        let (a, b) = (InstanceId::generate(), InstanceId::generate());
        let taken: Counts = [((a, 10), (3, 1)), ((b, 10), (1, 0))].into();
        let now: Counts = [((a, 10), (3, 1)), ((b, 10), (2, 0)), ((b, 11), (1, 0))].into();
        let mut got: Vec<_> = changed(&now, &taken).into_iter().map(|u| (u.instance, u.day, u.sent)).collect();
        got.sort_unstable_by_key(|g| g.1);
        assert_eq!(got, vec![(b, 10, 2), (b, 11, 1)]);
        assert!(changed(&now, &now).is_empty(), "nothing new: nothing to send");
    }
}
