//! A shard's bound on work waiting for the committer (`[store] max_pending_bytes_per_shard`,
//! `max_pending_batches_per_shard`). The shard adds a batch when it submits it and the
//! committer thread takes it off when the batch's completion runs; past either bound the shard
//! refuses new sends at once (503 with `Retry-After`) and stops taking network events until the
//! committer catches up, instead of piling work up in memory behind a slow or failing disk.
//! Two atomics shared by exactly two threads (the shard and the committer).

use std::sync::atomic::{AtomicU64, Ordering};

use chatedge_config::file::StoreConfig;
use tokio::sync::Notify;

pub struct CommitBudget {
    bytes: AtomicU64,
    batches: AtomicU64,
    max_bytes: u64,
    max_batches: u64,
    /// Signalled when giving back ends an exhaustion, to wake the shard's loop.
    freed: Notify,
    /// The highest batch number whose completion ran in submission order: every batch the
    /// shard submitted up to it has completed (abandoned ones excepted, which wrote nothing).
    completed: AtomicU64,
}

impl CommitBudget {
    pub fn new(cfg: &StoreConfig) -> Self {
        CommitBudget {
            bytes: AtomicU64::new(0),
            batches: AtomicU64::new(0),
            max_bytes: cfg.max_pending_bytes_per_shard,
            max_batches: cfg.max_pending_batches_per_shard,
            freed: Notify::new(),
            completed: AtomicU64::new(0),
        }
    }

    pub fn take(&self, bytes: usize) {
        self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        self.batches.fetch_add(1, Ordering::Relaxed);
    }

    /// The batch `number` (if it completed in order) is done and its bytes free.
    pub fn give_back(&self, bytes: usize, number: Option<u64>) {
        if let Some(n) = number {
            self.completed.fetch_max(n, Ordering::Release);
        }
        let was_exhausted = self.exhausted();
        self.bytes.fetch_sub(bytes as u64, Ordering::Relaxed);
        self.batches.fetch_sub(1, Ordering::Relaxed);
        if was_exhausted && !self.exhausted() {
            self.freed.notify_one();
        }
    }

    /// Resolves once budget was given back after an exhaustion.
    pub async fn freed(&self) {
        self.freed.notified().await
    }

    /// See [`CommitBudget::completed`]'s field.
    pub fn completed(&self) -> u64 {
        self.completed.load(Ordering::Acquire)
    }

    /// Whether either bound is reached.
    pub fn exhausted(&self) -> bool {
        self.bytes.load(Ordering::Relaxed) >= self.max_bytes || self.batches.load(Ordering::Relaxed) >= self.max_batches
    }

    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn either_bound_exhausts_the_budget_and_giving_back_restores_it() {
        let defaults = chatedge_config::Config::default().store;
        let cfg = StoreConfig { max_pending_bytes_per_shard: 1000, max_pending_batches_per_shard: 3, ..defaults };
        let b = CommitBudget::new(&cfg);
        b.take(10);
        b.take(10);
        assert!(!b.exhausted());
        b.take(10);
        assert!(b.exhausted(), "three batches reach the batch bound");
        b.give_back(10, None);
        assert!(!b.exhausted());
        b.take(990);
        assert!(b.exhausted(), "1,000 bytes reach the byte bound");
        b.give_back(990, None);
        b.give_back(10, None);
        b.give_back(10, None);
        assert_eq!(b.bytes(), 0);
    }
}
