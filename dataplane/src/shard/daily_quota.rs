//! The daily send quota (issue 11 §3): when the control plane sets `dailyQuota` on an account
//! (`TenantLimits::daily_quota`), each of its instances may queue that many messages per UTC
//! day; past it a send is refused with its own error (429 `Daily quota reached`, `Retry-After`
//! until the next UTC midnight). The count is the shard's (it owns the instance, so no lock)
//! and is stored in the `daily_sends` family in the same batch as each message, so a restart
//! or a `kill -9` does not reset it; it is read from the store once per instance and day.
//! A send whose batch fails gives its count back; one withdrawn after it was written (its
//! client left) stays counted. Bounded: one entry per instance of the shard. Old days' rows are
//! dropped by a compaction filter (`store::options`), off the event loop.

use std::collections::HashMap;

use chatedge_config::InstanceId;

use crate::store::{Batch, Cf, Store, StoreError};

const DAY_MS: u64 = 86_400_000;

/// The UTC day (days since 1970-01-01) of a Unix time in ms.
pub fn day_of(unix_ms: u64) -> u32 {
    (unix_ms / DAY_MS) as u32
}

/// Seconds from `unix_ms` to the next UTC midnight (at least 1).
pub fn seconds_to_midnight(unix_ms: u64) -> u32 {
    let left = DAY_MS - unix_ms % DAY_MS;
    left.div_ceil(1000).max(1) as u32
}

/// `instance ‖ day (u32 BE)`.
pub fn key(instance: &InstanceId, day: u32) -> [u8; InstanceId::LEN + 4] {
    let mut k = [0u8; InstanceId::LEN + 4];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN..].copy_from_slice(&day.to_be_bytes());
    k
}

/// For the compaction filter: whether a row is from before yesterday at `now_ms`.
pub fn droppable(key: &[u8], now_ms: u64) -> bool {
    let Some(day) = key.get(InstanceId::LEN..InstanceId::LEN + 4) else { return true };
    let day = u32::from_be_bytes([day[0], day[1], day[2], day[3]]);
    day.saturating_add(1) < day_of(now_ms)
}

/// Sends counted today per instance of one shard.
#[derive(Default)]
pub struct DailyCounts {
    counts: HashMap<InstanceId, (u32, u64)>,
}

/// A send that may go: its day, to give back if its batch fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub day: u32,
}

impl DailyCounts {
    /// Counts one send of `instance` at `now_ms` under `quota` and puts the new count in
    /// `batch`, or answers `Err(Ok(limit))` when the quota is used up.
    pub fn take(
        &mut self,
        store: &Store,
        instance: InstanceId,
        quota: u64,
        now_ms: u64,
        batch: &mut Batch,
    ) -> Result<Counted, Result<u64, StoreError>> {
        let day = day_of(now_ms);
        let used = match self.counts.get(&instance) {
            Some(&(d, n)) if d == day => n,
            _ => {
                let stored =
                    store.db().get_cf(store.cf(Cf::DailySends), key(&instance, day)).map_err(|e| Err(e.into()))?;
                stored.and_then(|v| v.try_into().ok()).map(u64::from_be_bytes).unwrap_or(0)
            }
        };
        if used >= quota {
            self.counts.insert(instance, (day, used));
            return Err(Ok(quota));
        }
        self.counts.insert(instance, (day, used + 1));
        batch.put(Cf::DailySends, key(&instance, day), (used + 1).to_be_bytes().to_vec());
        Ok(Counted { day })
    }

    /// A counted send's batch failed: it does not count.
    pub fn give_back(&mut self, instance: InstanceId, counted: Counted) {
        if let Some((day, n)) = self.counts.get_mut(&instance) {
            if *day == counted.day {
                *n = n.saturating_sub(1);
            }
        }
    }

    /// Forgets an instance (torn down).
    pub fn forget(&mut self, instance: &InstanceId) {
        self.counts.remove(instance);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_are_utc_and_old_rows_are_droppable_after_a_day() {
        assert_eq!(day_of(DAY_MS - 1), 0);
        assert_eq!(day_of(DAY_MS), 1);
        assert_eq!(seconds_to_midnight(DAY_MS - 1), 1);
        assert_eq!(seconds_to_midnight(DAY_MS), 86_400);
        let id = InstanceId::generate();
        let now = 10 * DAY_MS + 5;
        assert!(!droppable(&key(&id, 10), now));
        assert!(!droppable(&key(&id, 9), now), "yesterday is kept (a clock at midnight)");
        assert!(droppable(&key(&id, 8), now));
    }

    #[tokio::test]
    async fn the_count_is_stored_with_the_batch_and_read_back_after_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8, std::sync::Arc::new(crate::metrics::Metrics::new())).unwrap();
        let id = InstanceId::generate();
        let now = 20 * DAY_MS;
        let mut counts = DailyCounts::default();
        for _ in 0..2 {
            let mut batch = Batch::new();
            counts.take(&store, id, 2, now, &mut batch).unwrap();
            store.commit(batch).await.unwrap();
        }
        let mut batch = Batch::new();
        assert_eq!(counts.take(&store, id, 2, now, &mut batch).unwrap_err().unwrap(), 2);
        let mut restarted = DailyCounts::default();
        assert_eq!(restarted.take(&store, id, 2, now, &mut batch).unwrap_err().unwrap(), 2, "read back from disk");
        let counted = restarted.take(&store, id, 3, now, &mut batch).unwrap();
        restarted.give_back(id, counted);
        assert!(restarted.take(&store, id, 3, now, &mut batch).is_ok(), "a failed send gave its count back");
        assert!(restarted.take(&store, id, 3, now + DAY_MS, &mut batch).is_ok(), "a new day starts at zero");
        store.close();
    }
}
