//! Records kept for a bounded number of days in the engine's part of an instance's store, under
//! the day they were written (`prefix` ‖ day ‖ `/` ‖ id), so that a whole day is dropped at
//! once when it ages out: the first write of each day deletes the days past the retention (and
//! [`CATCH_UP_DAYS`] before them, for a node that was down when they aged out). A lookup by id
//! tries each kept day, newest first. It owns the layout and the pruning, not what the records
//! mean.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use chatedge_connector::{KvBatch, KvStore};

use crate::engine::EngineError;

/// Days before the oldest kept one that a day's pruning clears too.
const CATCH_UP_DAYS: u32 = 14;
const DAY_MS: u64 = 86_400_000;

fn day_of(ms: u64) -> u32 {
    (ms / DAY_MS) as u32
}

/// One kind of record of one instance, kept `days` days after the day it was written.
pub struct ByDay {
    store: Arc<dyn KvStore>,
    prefix: &'static [u8],
    days: u32,
    /// The last day whose aged-out days were cleared (0: none yet since start).
    pruned: AtomicU32,
}

impl ByDay {
    pub fn new(store: Arc<dyn KvStore>, prefix: &'static [u8], days: u32) -> ByDay {
        ByDay { store, prefix, days, pruned: AtomicU32::new(0) }
    }

    fn day_prefix(&self, day: u32) -> Vec<u8> {
        [self.prefix, &day.to_be_bytes()[..], b"/"].concat()
    }

    fn key(&self, day: u32, id: &str) -> Vec<u8> {
        [self.day_prefix(day), id.as_bytes().to_vec()].concat()
    }

    /// Writes `records` (id, value) under the day of `now_ms`, durably, in one batch with the
    /// day's pruning when it is the first write of the day.
    pub async fn write(&self, records: &[(&str, Vec<u8>)], now_ms: u64) -> Result<(), EngineError> {
        if records.is_empty() {
            return Ok(());
        }
        let today = day_of(now_ms);
        let mut batch = KvBatch::new();
        for (id, value) in records {
            batch.put(self.key(today, id), value.clone());
        }
        let pruning = self.pruned.swap(today, Ordering::Relaxed) != today;
        if pruning {
            let oldest_kept = today.saturating_sub(self.days);
            for day in oldest_kept.saturating_sub(CATCH_UP_DAYS)..oldest_kept {
                batch.delete_prefix(self.day_prefix(day));
            }
        }
        let written = self.store.write(batch).await.map_err(|e| EngineError::Store(e.to_string()));
        if written.is_err() && pruning {
            self.pruned.store(0, Ordering::Relaxed); // try the pruning again with the next write
        }
        written
    }

    /// The value kept for `id`, looked for from the day of `now_ms` back the retention.
    pub fn find(&self, id: &str, now_ms: u64) -> Result<Option<Vec<u8>>, EngineError> {
        let today = day_of(now_ms);
        for day in (today.saturating_sub(self.days)..=today).rev() {
            if let Some(value) = self.store.get(&self.key(day, id)).map_err(|e| EngineError::Store(e.to_string()))? {
                return Ok(Some(value));
            }
        }
        Ok(None)
    }
}
