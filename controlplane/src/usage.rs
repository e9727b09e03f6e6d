//! usage: how many messages each instance sent and received per UTC day, from the data
//! planes' session reports, for `GET /instances/{id}/token/{token}/stats` (issue 10 §5).
//!
//! A report carries each (instance, day)'s **whole** count on the reporting process, never an
//! increment, so taking it is idempotent: the stored row of (instance, day, process) becomes
//! the larger of what it held and what the report says. A report retried after a lost answer,
//! repeated, delivered out of order, or sent again by a process that restarted (its counts are
//! on its disk, `shard::daily_quota` in the data plane) restates numbers already held and moves
//! nothing; counts only grow within a day, so the larger is the newer. Rows are per reporting
//! process (its own node id, kept in its store), and an instance's day is the sum over them,
//! so an instance that moves to another data plane keeps what the first one counted.
//!
//! Rows live in the `usage` family, written with fsync before the report is answered, so
//! they survive a control-plane restart; they are never pushed. Rows of days before the
//! previous month are deleted once a day ([`Usage::prune`], run by the billing jobs' loop), so
//! the family holds at most about two months per instance and process — deleted instances'
//! rows included. "Today" and "this month" of
//! the stats answer are the control plane's [`crate::clock`]; a data plane counts on its own
//! clock's UTC day (the system clock in production, `--test-clock`'s in tests).

use std::sync::Mutex;

use chatedge_config::{DailyUsage, InstanceId, NodeId};
use serde::{Deserialize, Serialize};

use crate::clock::{self, DAY_MS};
use crate::store::{Cf, Store, StoreError, Writes};

/// What one process counted for one instance on one day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counted {
    pub sent: u64,
    pub received: u64,
}

/// An instance's figures for the stats answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Figures {
    pub sent_today: u64,
    pub received_today: u64,
    pub sent_this_month: u64,
}

/// The usage rows; the lock makes each report's read-merge-write one step (two reports of
/// one process could otherwise race and keep the smaller count). Held on a blocking thread,
/// across one synced write, never across `.await`.
#[derive(Default)]
pub struct Usage {
    merging: Mutex<()>,
}

/// `instance ‖ day (u32 BE) ‖ process`.
fn key(instance: &InstanceId, day: u32, process: &NodeId) -> Vec<u8> {
    let mut k = Vec::with_capacity(InstanceId::LEN + 4 + NodeId::LEN);
    k.extend_from_slice(instance.as_bytes());
    k.extend_from_slice(&day.to_be_bytes());
    k.extend_from_slice(process.as_bytes());
    k
}

/// The first key of `instance`'s day `day` (any process).
fn day_start(instance: &InstanceId, day: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(InstanceId::LEN + 4);
    k.extend_from_slice(instance.as_bytes());
    k.extend_from_slice(&day.to_be_bytes());
    k
}

fn day_of(key: &[u8]) -> Option<u32> {
    Some(u32::from_be_bytes(key.get(InstanceId::LEN..InstanceId::LEN + 4)?.try_into().ok()?))
}

impl Usage {
    /// Takes the counts of a report from process `process`; answers how many rows moved.
    /// Blocking (one synced write when anything moved): run off the event loop.
    pub fn record(&self, store: &Store, process: NodeId, usage: &[DailyUsage]) -> Result<usize, StoreError> {
        let _one_merge_at_a_time = self.merging.lock().unwrap_or_else(|p| p.into_inner());
        let mut writes = Writes::default();
        let mut moved = 0;
        for u in usage {
            let k = key(&u.instance, u.day, &process);
            let held: Counted = store.get(Cf::Usage, &k)?.unwrap_or_default();
            let merged = Counted { sent: held.sent.max(u.sent), received: held.received.max(u.received) };
            if merged != held {
                writes.put(Cf::Usage, k, &merged);
                moved += 1;
            }
        }
        if moved > 0 {
            store.write(writes)?;
        }
        Ok(moved)
    }

    /// Deletes the rows of days before the previous month of `now_ms` (the stats answer reads
    /// this month only; the previous one is kept for a late report of its last days). Answers
    /// how many. Blocking: run off the event loop.
    pub fn prune(&self, store: &Store, now_ms: u64) -> Result<usize, StoreError> {
        let this_month = clock::month_of(now_ms);
        let previous = clock::day_of_month_ms(this_month, 1).saturating_sub(DAY_MS);
        let keep_from = (clock::day_of_month_ms(clock::month_of(previous), 1) / DAY_MS) as u32;
        let _no_report_in_between = self.merging.lock().unwrap_or_else(|p| p.into_inner());
        store.delete_where(Cf::Usage, |k| day_of(k).is_some_and(|day| day < keep_from))
    }

    /// The sends of `instances` together on `day` that processes other than `except` counted
    /// (what `except` adds to its own count to hold an account to its quota on every data
    /// plane). Blocking: run off the event loop.
    pub fn sent_elsewhere(
        &self,
        store: &Store,
        instances: &[InstanceId],
        day: u32,
        except: &NodeId,
    ) -> Result<u64, StoreError> {
        let mut sum = 0u64;
        for id in instances {
            let rows: Vec<(Vec<u8>, Counted)> =
                store.range(Cf::Usage, &day_start(id, day), &day_start(id, day.saturating_add(1)))?;
            for (k, c) in rows {
                if k.get(InstanceId::LEN + 4..) != Some(except.as_bytes().as_slice()) {
                    sum = sum.saturating_add(c.sent);
                }
            }
        }
        Ok(sum)
    }

    /// `instance`'s figures at `now_ms`: today's counts and the sends of this month so far.
    pub fn figures(&self, store: &Store, instance: &InstanceId, now_ms: u64) -> Result<Figures, StoreError> {
        let today = (now_ms / DAY_MS) as u32;
        let month_start = (clock::day_of_month_ms(clock::month_of(now_ms), 1) / DAY_MS) as u32;
        let rows: Vec<(Vec<u8>, Counted)> =
            store.range(Cf::Usage, &day_start(instance, month_start), &day_start(instance, today + 1))?;
        let mut f = Figures::default();
        for (k, c) in rows {
            f.sent_this_month += c.sent;
            if day_of(&k) == Some(today) {
                f.sent_today += c.sent;
                f.received_today += c.received;
            }
        }
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MARCH_10: u64 = 1_899_331_200_000; // 2030-03-10T00:00:00Z

    fn day(ms: u64) -> u32 {
        (ms / DAY_MS) as u32
    }

    fn counts(instance: InstanceId, at_ms: u64, sent: u64, received: u64) -> DailyUsage {
        DailyUsage { instance, day: day(at_ms), sent, received }
    }

    #[test]
    fn a_report_retried_repeated_reordered_or_resent_after_a_restart_never_counts_twice() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let usage = Usage::default();
        let (a, node) = (InstanceId::generate(), NodeId::random());
        let noon = MARCH_10 + DAY_MS / 2;
        assert_eq!(usage.record(&store, node, &[counts(a, noon, 3, 2)]).unwrap(), 1);
        assert_eq!(usage.record(&store, node, &[counts(a, noon, 3, 2)]).unwrap(), 0, "the same report again");
        assert_eq!(usage.record(&store, node, &[counts(a, noon, 5, 2)]).unwrap(), 1, "two more sends");
        assert_eq!(usage.record(&store, node, &[counts(a, noon, 3, 2)]).unwrap(), 0, "an older report, late");
        // The data plane restarted: its counts came back from its disk, so it says the same.
        assert_eq!(usage.record(&store, node, &[counts(a, noon, 5, 2)]).unwrap(), 0, "resent after a restart");
        let f = usage.figures(&store, &a, noon).unwrap();
        assert_eq!(f, Figures { sent_today: 5, received_today: 2, sent_this_month: 5 });
        drop(store);
        let store = Store::open(dir.path()).unwrap();
        let f = Usage::default().figures(&store, &a, noon).unwrap();
        assert_eq!(f.sent_today, 5, "kept across a control-plane restart");
    }

    #[test]
    fn rows_before_the_previous_month_are_pruned_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let usage = Usage::default();
        let (a, b, node) = (InstanceId::generate(), InstanceId::generate(), NodeId::generate());
        // 2030-01-31, 2030-02-01 and 2030-03-09 (the day before MARCH_10).
        let jan_31 = MARCH_10 - 38 * DAY_MS;
        let (feb_1, mar_9) = (jan_31 + DAY_MS, MARCH_10 - DAY_MS);
        let rows = [counts(a, jan_31, 5, 1), counts(b, jan_31, 2, 0), counts(a, feb_1, 7, 0), counts(b, mar_9, 3, 3)];
        assert_eq!(usage.record(&store, node, &rows).unwrap(), 4);
        assert_eq!(usage.prune(&store, MARCH_10).unwrap(), 2, "January's two rows");
        assert_eq!(usage.prune(&store, MARCH_10).unwrap(), 0, "nothing left to prune");
        let left: Vec<(Vec<u8>, Counted)> = store.range(Cf::Usage, &[0], &[0xff; 64]).unwrap();
        let days: Vec<u32> = left.iter().filter_map(|(k, _)| day_of(k)).collect();
        assert_eq!(days.len(), 2);
        assert!(days.contains(&day(feb_1)) && days.contains(&day(mar_9)), "February and March kept");
        assert_eq!(usage.figures(&store, &b, MARCH_10 - 1).unwrap().sent_today, 3);
    }

    #[test]
    fn today_and_this_month_follow_the_asked_instant_and_processes_add_up() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let usage = Usage::default();
        let (a, b) = (InstanceId::generate(), InstanceId::generate());
        let (first, second) = (NodeId::random(), NodeId::random());
        let feb_28 = MARCH_10 - 10 * DAY_MS;
        usage.record(&store, first, &[counts(a, feb_28, 7, 0), counts(a, MARCH_10 - DAY_MS, 4, 1)]).unwrap();
        usage.record(&store, first, &[counts(a, MARCH_10, 2, 1), counts(b, MARCH_10, 9, 9)]).unwrap();
        usage.record(&store, second, &[counts(a, MARCH_10, 1, 3)]).unwrap();
        let f = usage.figures(&store, &a, MARCH_10 + 1000).unwrap();
        assert_eq!(f, Figures { sent_today: 3, received_today: 4, sent_this_month: 7 }, "February is not this month");
        let next_day = usage.figures(&store, &a, MARCH_10 + DAY_MS).unwrap();
        assert_eq!((next_day.sent_today, next_day.sent_this_month), (0, 7));
        assert_eq!(usage.figures(&store, &b, MARCH_10).unwrap().sent_today, 9);
    }

    #[test]
    fn what_an_account_sent_elsewhere_leaves_out_the_asking_process_and_other_days() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let usage = Usage::default();
        let (a, b, stranger) = (InstanceId::generate(), InstanceId::generate(), InstanceId::generate());
        let (here, there, third) = (NodeId::random(), NodeId::random(), NodeId::random());
        usage.record(&store, here, &[counts(a, MARCH_10, 4, 0)]).unwrap();
        usage
            .record(
                &store,
                there,
                &[counts(a, MARCH_10, 2, 0), counts(b, MARCH_10, 3, 9), counts(stranger, MARCH_10, 50, 0)],
            )
            .unwrap();
        usage.record(&store, third, &[counts(b, MARCH_10, 1, 0), counts(b, MARCH_10 - DAY_MS, 70, 0)]).unwrap();
        let today = day(MARCH_10);
        assert_eq!(usage.sent_elsewhere(&store, &[a, b], today, &here).unwrap(), 2 + 3 + 1);
        assert_eq!(usage.sent_elsewhere(&store, &[a, b], today, &there).unwrap(), 4 + 1);
        assert_eq!(usage.sent_elsewhere(&store, &[a, b], today - 1, &here).unwrap(), 70);
        assert_eq!(usage.sent_elsewhere(&store, &[], today, &here).unwrap(), 0);
    }
}
