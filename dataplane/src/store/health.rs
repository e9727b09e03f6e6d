//! Whether the store currently accepts writes. The committer is the only writer of this state
//! (it marks a failure when RocksDB refuses a group write — a background error, read-only
//! mode, a full disk — and the recovery when a write succeeds again); shards read it before
//! accepting a send, so a failing disk refuses sends at once with its reason instead of letting
//! them wait for a timeout; `/healthz` reports it.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use prometheus::IntGauge;

use super::StoreError;

pub struct Health {
    failing: AtomicBool,
    /// RocksDB's words for the current failure. Written only on a change of state and read
    /// only by `/healthz` and refusals, never on the hot path of a healthy store.
    reason: Mutex<Option<String>>,
    gauge: IntGauge,
}

impl Health {
    pub fn new(gauge: IntGauge) -> Self {
        gauge.set(1);
        Health { failing: AtomicBool::new(false), reason: Mutex::new(None), gauge }
    }

    /// Whether the last write failed (and none has succeeded since).
    pub fn is_failing(&self) -> bool {
        self.failing.load(Ordering::Acquire)
    }

    /// Why writes fail, while they do.
    pub fn reason(&self) -> Option<String> {
        if !self.is_failing() {
            return None;
        }
        self.reason.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub(super) fn failing(&self, error: &StoreError) {
        let mut reason = self.reason.lock().unwrap_or_else(|p| p.into_inner());
        if !self.is_failing() {
            tracing::error!(error = %error, "the store refuses writes; sends are refused until it recovers");
        }
        *reason = Some(error.to_string());
        self.failing.store(true, Ordering::Release);
        self.gauge.set(0);
    }

    pub(super) fn recovered(&self) {
        if self.is_failing() {
            tracing::info!("the store accepts writes again");
            self.failing.store(false, Ordering::Release);
            self.gauge.set(1);
        }
    }
}
