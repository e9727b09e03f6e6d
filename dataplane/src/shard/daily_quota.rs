//! Daily message counts and the daily limits they enforce (issue 11 §3, issue 10 §5). Every
//! instance's sends of the day and messages received that day are counted on its shard (it
//! owns the instance, so no lock) and stored in the `daily_sends` family in the same batch as
//! each message, so a restart or a `kill -9` does not reset them; each is read from the store
//! once per instance and day. The session report (`sync::report`) reads these rows and tells
//! the control plane each day's whole count, which is what `GET …/stats` shows.
//!
//! A send is refused past its account's `dailyQuota` (`TenantLimits::daily_quota`, counted over
//! all the account's instances on this node by `account_quota`) or past its instance's own
//! `daily_limit`, each with its own error (429 `Daily quota reached` /
//! `Daily limit reached`, `Retry-After` until the next UTC midnight). Days are UTC days of the
//! data plane's clock (`campaigns::Clock`: the system clock, or `--test-clock`'s).
//! A send whose batch fails gives its count back; one withdrawn after it was written (its
//! client left) stays counted. A received message whose batch fails is not acknowledged, so
//! the network delivers it again: its count is re-read from disk then. Bounded: one entry per
//! instance of the shard. Old days' rows are dropped by a compaction filter
//! (`store::options`), off the event loop.

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

/// `instance ‖ day (u32 BE)`: the sends of that day.
pub fn key(instance: &InstanceId, day: u32) -> [u8; InstanceId::LEN + 4] {
    let mut k = [0u8; InstanceId::LEN + 4];
    k[..InstanceId::LEN].copy_from_slice(instance.as_bytes());
    k[InstanceId::LEN..].copy_from_slice(&day.to_be_bytes());
    k
}

/// `instance ‖ day (u32 BE) ‖ RECEIVED`: the messages received that day (the same family and
/// day position, so the compaction filter drops both alike).
pub fn received_key(instance: &InstanceId, day: u32) -> [u8; InstanceId::LEN + 5] {
    let mut k = [0u8; InstanceId::LEN + 5];
    k[..InstanceId::LEN + 4].copy_from_slice(&key(instance, day));
    k[InstanceId::LEN + 4] = RECEIVED;
    k
}

/// The suffix that marks a row of received messages.
const RECEIVED: u8 = b'r';

/// What one row of the family is: (instance, day, is it the received count).
pub fn parse_key(k: &[u8]) -> Option<(InstanceId, u32, bool)> {
    let id = InstanceId::from_slice(k.get(..InstanceId::LEN)?)?;
    let day = u32::from_be_bytes(k.get(InstanceId::LEN..InstanceId::LEN + 4)?.try_into().ok()?);
    match k.get(InstanceId::LEN + 4..)? {
        [] => Some((id, day, false)),
        [RECEIVED] => Some((id, day, true)),
        _ => None,
    }
}

/// A stored count.
pub fn parse_count(v: &[u8]) -> u64 {
    v.try_into().map(u64::from_be_bytes).unwrap_or(0)
}

/// For the compaction filter: whether a row is from before yesterday at `now_ms`.
pub fn droppable(key: &[u8], now_ms: u64) -> bool {
    let Some(day) = key.get(InstanceId::LEN..InstanceId::LEN + 4) else { return true };
    let day = u32::from_be_bytes([day[0], day[1], day[2], day[3]]);
    day.saturating_add(1) < day_of(now_ms)
}

/// Today's counts per instance of one shard: (day, sends, received).
#[derive(Default)]
pub struct DailyCounts {
    counts: HashMap<InstanceId, Day>,
}

/// One instance's counts of one day; `None` until read from the store.
#[derive(Debug, Clone, Copy)]
struct Day {
    day: u32,
    sent: Option<u64>,
    received: Option<u64>,
}

/// Sends that may go (one, or a campaign feed's): their day, how many, and the account they
/// were counted for (`account_quota`), to give back if their batch fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub day: u32,
    pub sends: u64,
    pub account: Option<chatedge_config::TenantId>,
}

/// What today's limits still allow an instance (a campaign feed asks before it builds its
/// next batch): the tighter of its account's quota and its own daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Allowance {
    /// Sends left today.
    pub left: u64,
    /// The limit that leaves the fewest, and which one it is.
    pub limit: u64,
    pub by: Bound,
    /// The next UTC midnight (Unix ms), when both start again.
    pub resets_ms: u64,
}

/// Which daily limit an [`Allowance`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// The account's `dailyQuota`, over all its instances.
    AccountQuota,
    /// The instance's own `daily_limit`.
    InstanceLimit,
}

impl Bound {
    /// The name of the setting, as the dialects spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Bound::AccountQuota => "dailyQuota",
            Bound::InstanceLimit => "dailyLimit",
        }
    }
}

impl Allowance {
    /// What `limit` leaves after `used` sends on the day of `now_ms`.
    pub fn of(limit: u64, used: u64, by: Bound, now_ms: u64) -> Allowance {
        Allowance { left: limit.saturating_sub(used), limit, by, resets_ms: now_ms - now_ms % DAY_MS + DAY_MS }
    }

    /// The one of two (either may be unlimited) that leaves fewer sends.
    pub fn tighter(a: Option<Allowance>, b: Option<Allowance>) -> Option<Allowance> {
        match (a, b) {
            (Some(a), Some(b)) => Some(if b.left < a.left { b } else { a }),
            (a, b) => a.or(b),
        }
    }
}

/// Why a send may not go.
#[derive(Debug)]
pub enum Refusal {
    /// Its account's or its instance's limit is used up: the limit.
    Limit(u64),
    Store(StoreError),
}

impl DailyCounts {
    fn today(&mut self, instance: InstanceId, day: u32) -> &mut Day {
        let entry = self.counts.entry(instance).or_insert(Day { day, sent: None, received: None });
        if entry.day != day {
            *entry = Day { day, sent: None, received: None };
        }
        entry
    }

    /// The sends of `instance` on `day` so far (read from the store the first time).
    fn sent(&mut self, store: &Store, instance: InstanceId, day: u32) -> Result<u64, StoreError> {
        let entry = self.today(instance, day);
        let used = match entry.sent {
            Some(n) => n,
            None => read(store, &key(&instance, day))?,
        };
        entry.sent = Some(used);
        Ok(used)
    }

    /// Counts `sends` sends of `instance` at `now_ms` under `limit` (if any) and puts the new
    /// count in `batch`, or refuses them all when they do not all fit.
    pub fn take(
        &mut self,
        store: &Store,
        instance: InstanceId,
        limit: Option<u64>,
        now_ms: u64,
        sends: u64,
        batch: &mut Batch,
    ) -> Result<Counted, Refusal> {
        let day = day_of(now_ms);
        let used = self.sent(store, instance, day).map_err(Refusal::Store)?;
        let after = used.saturating_add(sends);
        if let Some(limit) = limit.filter(|l| after > *l) {
            return Err(Refusal::Limit(limit));
        }
        self.today(instance, day).sent = Some(after);
        batch.put(Cf::DailySends, key(&instance, day), after.to_be_bytes().to_vec());
        Ok(Counted { day, sends, account: None })
    }

    /// What `limit` (if any) still allows `instance` on the day of `now_ms`.
    pub fn left(
        &mut self,
        store: &Store,
        instance: InstanceId,
        limit: Option<u64>,
        now_ms: u64,
    ) -> Result<Option<Allowance>, StoreError> {
        let Some(limit) = limit else { return Ok(None) };
        let used = self.sent(store, instance, day_of(now_ms))?;
        Ok(Some(Allowance::of(limit, used, Bound::InstanceLimit, now_ms)))
    }

    /// Counts one message `instance` received at `now_ms`; its new count goes in `batch`.
    pub fn received(
        &mut self,
        store: &Store,
        instance: InstanceId,
        now_ms: u64,
        batch: &mut Batch,
    ) -> Result<(), StoreError> {
        let day = day_of(now_ms);
        let entry = self.today(instance, day);
        let n = match entry.received {
            Some(n) => n,
            None => read(store, &received_key(&instance, day))?,
        } + 1;
        entry.received = Some(n);
        batch.put(Cf::DailySends, received_key(&instance, day), n.to_be_bytes().to_vec());
        Ok(())
    }

    /// Counted sends whose batch failed: they do not count.
    pub fn give_back(&mut self, instance: InstanceId, counted: Counted) {
        if let Some(Day { day, sent: Some(n), .. }) = self.counts.get_mut(&instance) {
            if *day == counted.day {
                *n = n.saturating_sub(counted.sends);
            }
        }
    }

    /// A received message's batch failed: its count is read from disk again next time.
    pub fn reread_received(&mut self, instance: &InstanceId) {
        if let Some(d) = self.counts.get_mut(instance) {
            d.received = None;
        }
    }

    /// Forgets an instance (torn down).
    pub fn forget(&mut self, instance: &InstanceId) {
        self.counts.remove(instance);
    }
}

/// The sends of `instance` on `day` as stored.
pub fn stored_sends(store: &Store, instance: &InstanceId, day: u32) -> Result<u64, StoreError> {
    read(store, &key(instance, day))
}

fn read(store: &Store, key: &[u8]) -> Result<u64, StoreError> {
    Ok(store.db().get_cf(store.cf(Cf::DailySends), key)?.map(|v| parse_count(&v)).unwrap_or(0))
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
        assert!(droppable(&received_key(&id, 8), now) && !droppable(&received_key(&id, 9), now));
        assert_eq!(parse_key(&key(&id, 9)), Some((id, 9, false)));
        assert_eq!(parse_key(&received_key(&id, 9)), Some((id, 9, true)));
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
            counts.take(&store, id, Some(2), now, 1, &mut batch).unwrap();
            counts.received(&store, id, now, &mut batch).unwrap();
            store.commit(batch).await.unwrap();
        }
        let limit = |r: Result<Counted, Refusal>| match r {
            Err(Refusal::Limit(l)) => Some(l),
            _ => None,
        };
        let mut batch = Batch::new();
        assert_eq!(limit(counts.take(&store, id, Some(2), now, 1, &mut batch)), Some(2));
        let mut restarted = DailyCounts::default();
        assert_eq!(limit(restarted.take(&store, id, Some(2), now, 1, &mut batch)), Some(2), "read back from disk");
        let counted = restarted.take(&store, id, Some(3), now, 1, &mut batch).unwrap();
        restarted.give_back(id, counted);
        assert!(restarted.take(&store, id, Some(3), now, 1, &mut batch).is_ok(), "a failed send gave its count back");
        assert!(restarted.take(&store, id, Some(3), now + DAY_MS, 1, &mut batch).is_ok(), "a new day starts at zero");
        let stored = store.db().get_cf(store.cf(Cf::DailySends), received_key(&id, day_of(now))).unwrap();
        assert_eq!(stored.map(|v| parse_count(&v)), Some(2), "received messages are counted beside the sends");
        store.close();
    }

    #[tokio::test]
    async fn a_feed_is_counted_whole_or_refused_whole_and_what_is_left_is_told() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 8, std::sync::Arc::new(crate::metrics::Metrics::new())).unwrap();
        let id = InstanceId::generate();
        let now = 30 * DAY_MS + 1_000;
        let mut counts = DailyCounts::default();
        let mut batch = Batch::new();
        assert_eq!(counts.left(&store, id, None, now).unwrap(), None, "no limit, no allowance");
        let counted = counts.take(&store, id, Some(10), now, 7, &mut batch).unwrap();
        assert_eq!(counted.sends, 7);
        let left = counts.left(&store, id, Some(10), now).unwrap().unwrap();
        assert_eq!((left.left, left.limit, left.by, left.resets_ms), (3, 10, Bound::InstanceLimit, 31 * DAY_MS));
        assert!(matches!(counts.take(&store, id, Some(10), now, 4, &mut batch), Err(Refusal::Limit(10))), "4 > 3 left");
        assert_eq!(counts.left(&store, id, Some(10), now).unwrap().unwrap().left, 3, "a refused feed counts nothing");
        counts.give_back(id, counted);
        assert_eq!(counts.left(&store, id, Some(10), now).unwrap().unwrap().left, 10, "a failed feed gives all back");
        counts.take(&store, id, Some(10), now, 10, &mut batch).unwrap();
        assert_eq!(counts.left(&store, id, Some(4), now).unwrap().unwrap().left, 0, "a lowered limit leaves nothing");
        store.close();
    }

    #[test]
    fn the_tighter_allowance_is_the_one_that_leaves_fewer_sends() {
        let quota = Allowance::of(100, 90, Bound::AccountQuota, 0);
        let own = Allowance::of(50, 30, Bound::InstanceLimit, 0);
        assert_eq!(Allowance::tighter(Some(quota), Some(own)), Some(quota));
        assert_eq!(Allowance::tighter(Some(own), None), Some(own));
        assert_eq!(Allowance::tighter(None, None), None);
    }
}
