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
//! Bounded: one entry per account that sent today on this node (older days are dropped when a
//! new day starts). A data plane knows only its own instances: an account whose instances live
//! on several data planes is held to the quota on each of them.

use std::collections::HashMap;
use std::sync::Mutex;

use chatedge_config::{InstanceId, TenantId};

use super::daily_quota;
use crate::store::{Store, StoreError};

/// Each account's sends today on this node.
#[derive(Default)]
pub struct AccountCounts {
    days: Mutex<HashMap<TenantId, (u32, u64)>>,
}

/// Why an account's send may not go.
#[derive(Debug)]
pub enum Refusal {
    /// The account's quota is used up: the quota.
    Quota(u64),
    Store(StoreError),
}

impl AccountCounts {
    /// Counts one send of `account` on `day` under `quota` (if any), or refuses it.
    /// `instances`: the account's instances on this node, whose stored counts make up the sum
    /// the first time the account sends that day.
    pub fn take(
        &self,
        store: &Store,
        account: TenantId,
        instances: impl FnOnce() -> Vec<InstanceId>,
        quota: Option<u64>,
        day: u32,
    ) -> Result<(), Refusal> {
        if let Some(entry) = self.lock().get_mut(&account).filter(|e| e.0 == day) {
            return count(&mut entry.1, quota);
        }
        let mut sum = 0u64;
        for id in instances() {
            sum = sum.saturating_add(daily_quota::stored_sends(store, &id, day).map_err(Refusal::Store)?);
        }
        let mut days = self.lock();
        if days.values().any(|(d, _)| *d < day) {
            days.retain(|_, (d, _)| *d >= day);
        }
        // Another shard may have read it meanwhile: the first count stands.
        let entry = days.entry(account).or_insert((day, sum));
        if entry.0 != day {
            *entry = (day, sum);
        }
        count(&mut entry.1, quota)
    }

    /// A counted send's batch failed (or its instance refused it): it does not count.
    pub fn give_back(&self, account: TenantId, day: u32) {
        if let Some((d, n)) = self.lock().get_mut(&account) {
            if *d == day {
                *n = n.saturating_sub(1);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TenantId, (u32, u64)>> {
        // The map holds plain counts: a panic elsewhere cannot leave it half-changed.
        self.days.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Counts one more send on an account's entry, or refuses it past `quota`.
fn count(used: &mut u64, quota: Option<u64>) -> Result<(), Refusal> {
    if let Some(quota) = quota.filter(|q| *used >= *q) {
        return Err(Refusal::Quota(quota));
    }
    *used += 1;
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
        counts.take(&store, account, mine, Some(5), 7).unwrap();
        counts.take(&store, account, mine, Some(5), 7).unwrap();
        assert!(matches!(counts.take(&store, account, mine, Some(5), 7), Err(Refusal::Quota(5))), "2 + 1 + 2 = 5");
        counts.give_back(account, 7);
        counts.take(&store, account, mine, Some(5), 7).unwrap();
        assert!(matches!(counts.take(&store, account, mine, Some(5), 7), Err(Refusal::Quota(5))));
        counts.take(&store, account, mine, None, 7).unwrap();
        // A new day starts from that day's rows.
        counts.take(&store, account, mine, Some(1), 8).unwrap();
        assert!(matches!(counts.take(&store, account, mine, Some(1), 8), Err(Refusal::Quota(1))));
        counts.give_back(account, 7);
        assert!(
            matches!(counts.take(&store, account, mine, Some(1), 8), Err(Refusal::Quota(1))),
            "yesterday's give-back"
        );
    }
}
