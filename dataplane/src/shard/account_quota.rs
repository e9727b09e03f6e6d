//! The account-wide daily quota (issue 11 §3): an account's `dailyQuota` bounds the sends of
//! all its instances together, not of each one. Each instance's sends of the day are counted
//! and stored by its own shard (`daily_quota`); this keeps, for the whole node, each account's
//! sum of them, so that a send on any shard can be checked against the account's quota.
//!
//! The sum of an account is read from the store — the `daily_sends` rows of the account's
//! instances on this node — the first time the account sends on a day, and counted in memory
//! from then on. Every send of every account is counted here (with a quota or not), so the
//! first read happens before any send of that account on that day is in flight and the sum is
//! exact: a send is counted here before its batch is submitted and given back if the batch
//! fails. The lock is taken once per send, for a map lookup and an addition; the store is read
//! outside it.
//!
//! **Across data planes.** An account's instances may live on several data planes. Each
//! reports its day counts to the control plane (`sync::report`), which answers every report
//! with what the node's accounts under a quota sent that day on the *other* data planes; that
//! is kept here ([`AccountCounts::heard`]) and added to this node's own sum. So the quota holds
//! over all data planes, give or take what the others sent since their last report and this
//! node's last answer (reports go every 2 s while the node serves an account under a quota);
//! without a control plane, a node goes on with the last counts it heard.
//!
//! Bounded: one entry per account that sent today on this node, and one per account of this
//! node the control plane named (older days are dropped when a new day starts).

use std::collections::HashMap;
use std::sync::Mutex;

use chatedge_config::snapshot::AccountSends;
use chatedge_config::{InstanceId, TenantId};

use super::daily_quota::{self, Allowance, Bound};
use crate::store::{Store, StoreError};

/// Each account's sends today on this node, and on the other data planes as last heard.
#[derive(Default)]
pub struct AccountCounts {
    counts: Mutex<Counts>,
}

#[derive(Default)]
struct Counts {
    /// (day, sends) on this node: exact.
    here: HashMap<TenantId, (u32, u64)>,
    /// (day, sends) on other data planes, as the control plane last answered.
    elsewhere: HashMap<TenantId, (u32, u64)>,
}

impl Counts {
    fn elsewhere(&self, account: &TenantId, day: u32) -> u64 {
        self.elsewhere.get(account).filter(|e| e.0 == day).map_or(0, |e| e.1)
    }
}

/// Why an account's send may not go.
#[derive(Debug)]
pub enum Refusal {
    /// The account's quota is used up: the quota.
    Quota(u64),
    Store(StoreError),
}

impl AccountCounts {
    /// Counts `sends` sends of `account` on `day` under `quota` (if any), or refuses them all
    /// when they do not all fit. `instances`: the account's instances on this node, whose
    /// stored counts make up the sum the first time the account sends that day.
    pub fn take(
        &self,
        store: &Store,
        account: TenantId,
        instances: impl FnOnce() -> Vec<InstanceId>,
        quota: Option<u64>,
        day: u32,
        sends: u64,
    ) -> Result<(), Refusal> {
        self.with_today(store, account, instances, day, |here, elsewhere| count(here, elsewhere, quota, sends))
            .map_err(Refusal::Store)?
    }

    /// What `quota` (if any) still allows `account` at `now_ms`, on every data plane together.
    pub fn left(
        &self,
        store: &Store,
        account: TenantId,
        instances: impl FnOnce() -> Vec<InstanceId>,
        quota: Option<u64>,
        now_ms: u64,
    ) -> Result<Option<Allowance>, StoreError> {
        let Some(quota) = quota else { return Ok(None) };
        let day = daily_quota::day_of(now_ms);
        let used = self.with_today(store, account, instances, day, |here, elsewhere| here.saturating_add(elsewhere))?;
        Ok(Some(Allowance::of(quota, used, Bound::AccountQuota, now_ms)))
    }

    /// Runs `f` on the account's sends of `day` here (summed from the store the first time)
    /// and elsewhere.
    fn with_today<R>(
        &self,
        store: &Store,
        account: TenantId,
        instances: impl FnOnce() -> Vec<InstanceId>,
        day: u32,
        f: impl FnOnce(&mut u64, u64) -> R,
    ) -> Result<R, StoreError> {
        {
            let mut counts = self.lock();
            let elsewhere = counts.elsewhere(&account, day);
            if let Some(entry) = counts.here.get_mut(&account).filter(|e| e.0 == day) {
                return Ok(f(&mut entry.1, elsewhere));
            }
        }
        let mut sum = 0u64;
        for id in instances() {
            sum = sum.saturating_add(daily_quota::stored_sends(store, &id, day)?);
        }
        let mut counts = self.lock();
        if counts.here.values().any(|(d, _)| *d < day) {
            counts.here.retain(|_, (d, _)| *d >= day);
        }
        let elsewhere = counts.elsewhere(&account, day);
        // Another shard may have read it meanwhile: the first count stands.
        let entry = counts.here.entry(account).or_insert((day, sum));
        if entry.0 != day {
            *entry = (day, sum);
        }
        Ok(f(&mut entry.1, elsewhere))
    }

    /// Counted sends whose batch failed (or whose instance refused them): they do not count.
    pub fn give_back(&self, account: TenantId, day: u32, sends: u64) {
        if let Some((d, n)) = self.lock().here.get_mut(&account) {
            if *d == day {
                *n = n.saturating_sub(sends);
            }
        }
    }

    /// What the control plane said this node's accounts sent on `day` on the other data
    /// planes (an account it does not name sent nothing there). Counts only grow within a day:
    /// an older answer arriving late lowers nothing. Answers the sum, for the gauge.
    pub fn heard(&self, day: u32, sends: &[AccountSends]) -> u64 {
        let mut counts = self.lock();
        counts.elsewhere.retain(|_, (d, _)| *d >= day);
        for s in sends.iter().filter(|s| s.day == day) {
            let entry = counts.elsewhere.entry(s.account).or_insert((day, 0));
            if entry.0 != day {
                *entry = (day, 0);
            }
            entry.1 = entry.1.max(s.sent);
        }
        counts.elsewhere.values().filter(|(d, _)| *d == day).map(|(_, n)| *n).sum()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counts> {
        // The maps hold plain counts: a panic elsewhere cannot leave them half-changed.
        self.counts.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts `sends` more on an account's entry, or refuses them past `quota` (counting what the
/// other data planes sent too).
fn count(here: &mut u64, elsewhere: u64, quota: Option<u64>, sends: u64) -> Result<(), Refusal> {
    let after = here.saturating_add(sends);
    if let Some(quota) = quota.filter(|q| after.saturating_add(elsewhere) > *q) {
        return Err(Refusal::Quota(quota));
    }
    *here = after;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{Batch, Cf};

    async fn store_with(rows: &[(InstanceId, u32, u64)]) -> (tempfile::TempDir, std::sync::Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, std::sync::Arc::default()).unwrap();
        let mut batch = Batch::new();
        for (id, day, n) in rows {
            batch.put(Cf::DailySends, daily_quota::key(id, *day), n.to_be_bytes().to_vec());
        }
        store.commit(batch).await.unwrap();
        (dir, store)
    }

    #[tokio::test]
    async fn an_account_sums_its_instances_stored_counts_and_stops_at_its_quota() {
        let (a, b, other) = (InstanceId::random(), InstanceId::random(), InstanceId::random());
        let (_dir, store) = store_with(&[(a, 7, 2), (b, 7, 1), (other, 7, 50), (a, 6, 40)]).await;
        let counts = AccountCounts::default();
        let account = TenantId::random();
        let mine = || vec![a, b];
        counts.take(&store, account, mine, Some(5), 7, 1).unwrap();
        counts.take(&store, account, mine, Some(5), 7, 1).unwrap();
        assert!(matches!(counts.take(&store, account, mine, Some(5), 7, 1), Err(Refusal::Quota(5))), "2 + 1 + 2 = 5");
        counts.give_back(account, 7, 1);
        counts.take(&store, account, mine, Some(5), 7, 1).unwrap();
        assert!(matches!(counts.take(&store, account, mine, Some(5), 7, 1), Err(Refusal::Quota(5))));
        counts.take(&store, account, mine, None, 7, 1).unwrap();
        // A new day starts from that day's rows.
        counts.take(&store, account, mine, Some(1), 8, 1).unwrap();
        assert!(matches!(counts.take(&store, account, mine, Some(1), 8, 1), Err(Refusal::Quota(1))));
        counts.give_back(account, 7, 1);
        assert!(
            matches!(counts.take(&store, account, mine, Some(1), 8, 1), Err(Refusal::Quota(1))),
            "yesterday's give-back"
        );
    }

    #[tokio::test]
    async fn a_feed_takes_the_account_quota_whole_or_not_at_all() {
        let a = InstanceId::random();
        let day = 9u32;
        let (_dir, store) = store_with(&[(a, day, 4)]).await;
        let counts = AccountCounts::default();
        let account = TenantId::random();
        let now = u64::from(day) * 86_400_000 + 5;
        let left = counts.left(&store, account, || vec![a], Some(10), now).unwrap().unwrap();
        assert_eq!((left.left, left.by), (6, Bound::AccountQuota), "read from the store: 10 - 4");
        assert!(matches!(counts.take(&store, account, || vec![a], Some(10), day, 7), Err(Refusal::Quota(10))));
        counts.take(&store, account, || vec![a], Some(10), day, 6).unwrap();
        assert_eq!(counts.left(&store, account, || vec![a], Some(10), now).unwrap().unwrap().left, 0);
        counts.give_back(account, day, 6);
        assert_eq!(counts.left(&store, account, || vec![a], Some(10), now).unwrap().unwrap().left, 6);
        assert_eq!(counts.left(&store, account, || vec![a], None, now).unwrap(), None);
    }

    #[tokio::test]
    async fn what_other_data_planes_sent_counts_against_the_quota_and_never_goes_back_within_a_day() {
        let a = InstanceId::random();
        let day = 9u32;
        let (_dir, store) = store_with(&[(a, day, 2)]).await;
        let counts = AccountCounts::default();
        let (account, other) = (TenantId::random(), TenantId::random());
        let now = u64::from(day) * 86_400_000 + 5;
        let heard = |account, day, sent| AccountSends { account, day, sent };
        assert_eq!(counts.heard(day, &[heard(account, day, 5), heard(other, day, 1), heard(account, day - 1, 90)]), 6);
        let left = counts.left(&store, account, || vec![a], Some(10), now).unwrap().unwrap();
        assert_eq!(left.left, 3, "10 - 2 here - 5 elsewhere");
        assert!(matches!(counts.take(&store, account, || vec![a], Some(10), day, 4), Err(Refusal::Quota(10))));
        counts.take(&store, account, || vec![a], Some(10), day, 3).unwrap();
        counts.heard(day, &[heard(account, day, 4)]);
        assert!(
            matches!(counts.take(&store, account, || vec![a], Some(10), day, 1), Err(Refusal::Quota(10))),
            "a late, smaller answer does not give sends back"
        );
        assert_eq!(counts.heard(day + 1, &[]), 0, "a new day starts with nothing elsewhere");
        let left = counts.left(&store, account, || vec![a], Some(10), now + 86_400_000).unwrap().unwrap();
        assert_eq!(left.left, 10);
    }
}
