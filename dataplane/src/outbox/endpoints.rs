//! The persisted delivery state of one instance's webhook endpoint (a URL): since when it has
//! been failing with no success, and whether it is disabled (410 Gone, or failing for
//! `[webhooks] disable_after`). Rows live in `Cf::WebhookEndpoints`, keyed `instance ‖
//! sha256(url)[..16]`; one exists only while an endpoint is failing or disabled, so the family
//! stays small (bounded by instances × webhook kinds). The dispatcher owns the rows and writes
//! them in the same batches as the attempts that change them; [`load_all`] runs once at start
//! on a blocking thread. The endpoints API reads and clears them.

use std::collections::HashMap;
use std::time::Duration;

use chatedge_config::InstanceId;
use serde::{Deserialize, Serialize};

use crate::store::{keys, Batch, Cf, Store, StoreError};

/// Why an endpoint was disabled.
pub const REASON_GONE: &str = "gone";
pub const REASON_FAILING: &str = "failing";

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EndpointRecord {
    pub instance: Option<InstanceId>,
    /// The URL as configured (the key holds only its digest).
    pub url: String,
    /// First failure after the last success (unix ms; 0 while healthy).
    pub failing_since_ms: u64,
    /// When it was disabled (unix ms; 0 while enabled).
    pub disabled_at_ms: u64,
    pub disabled_reason: String,
    /// The last failure, URL-free (e.g. "HTTP 503", "timeout").
    pub last_error: String,
    pub last_error_ms: u64,
}

impl EndpointRecord {
    pub fn new(instance: InstanceId, url: &str) -> Self {
        EndpointRecord { instance: Some(instance), url: url.to_owned(), ..Default::default() }
    }

    pub fn is_disabled(&self) -> bool {
        self.disabled_at_ms > 0
    }

    /// Whether the row carries anything (a healthy, enabled endpoint has no row).
    pub fn is_noteworthy(&self) -> bool {
        self.failing_since_ms > 0 || self.is_disabled()
    }

    /// When the endpoint's current run of failures began, counting a failure at `now` (unix
    /// ms): the run is continuous only while no two failures are more than `gap` apart, so an
    /// endpoint that failed once, sat idle for days and fails again starts a fresh run instead
    /// of being disabled at once (issue 9 §1: disabled after *continuous* failure).
    pub fn failing_run_start(&self, now: u64, gap: Duration) -> u64 {
        let broken = now.saturating_sub(self.last_error_ms) > gap.as_millis() as u64;
        if self.failing_since_ms == 0 || broken {
            now
        } else {
            self.failing_since_ms
        }
    }

    /// Adds this row's new value to `batch` (or its delete, when there is nothing to keep).
    pub fn write(&self, batch: &mut Batch, instance: &InstanceId) {
        let key = keys::webhook_endpoint(instance, &self.url);
        if self.is_noteworthy() {
            batch.put(Cf::WebhookEndpoints, key.to_vec(), serde_json::to_vec(self).unwrap_or_default());
        } else {
            batch.delete(Cf::WebhookEndpoints, key.to_vec());
        }
    }
}

/// Rows by (instance, url).
pub type Records = HashMap<(InstanceId, String), EndpointRecord>;

/// Every row. Blocking: run it on a blocking thread.
pub fn load_all(store: &Store) -> Result<Records, StoreError> {
    let mut out = HashMap::new();
    let mut it = store.db().raw_iterator_cf(store.cf(Cf::WebhookEndpoints));
    it.seek_to_first();
    while let (Some(k), Some(v)) = (it.key(), it.value()) {
        match (InstanceId::from_slice(k), serde_json::from_slice::<EndpointRecord>(v)) {
            (Some(id), Ok(rec)) => {
                out.insert((id, rec.url.clone()), EndpointRecord { instance: Some(id), ..rec });
            }
            _ => tracing::error!("unreadable webhook endpoint row ignored"),
        }
        it.next();
    }
    it.status()?;
    Ok(out)
}

/// The row of one endpoint, if any (blocking point read, for the API).
pub fn get(store: &Store, instance: &InstanceId, url: &str) -> Result<Option<EndpointRecord>, StoreError> {
    let key = keys::webhook_endpoint(instance, url);
    let Some(v) = store.db().get_pinned_cf(store.cf(Cf::WebhookEndpoints), key)? else { return Ok(None) };
    serde_json::from_slice(&v).map(Some).map_err(|e| StoreError::Corrupt(format!("webhook endpoint: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_healthy_endpoint_keeps_no_row() {
        let id = InstanceId::generate();
        let mut rec = EndpointRecord::new(id, "http://h.example/x");
        let mut b = Batch::new();
        rec.write(&mut b, &id);
        assert!(matches!(b.ops()[0], crate::store::Op::Delete(..)));
        rec.failing_since_ms = 5;
        let mut b = Batch::new();
        rec.write(&mut b, &id);
        let crate::store::Op::Put(_, _, v) = &b.ops()[0] else { panic!("a put") };
        assert_eq!(serde_json::from_slice::<EndpointRecord>(v).unwrap(), rec);
    }

    #[test]
    fn a_failure_after_a_long_quiet_gap_starts_a_new_failing_run() {
        let gap = Duration::from_secs(20 * 3600);
        let day = 24 * 3600 * 1000;
        let mut rec = EndpointRecord::new(InstanceId::generate(), "http://h.example/x");
        assert_eq!(rec.failing_run_start(1_000, gap), 1_000, "a first failure starts a run");
        rec.failing_since_ms = 1_000;
        rec.last_error_ms = 1_000;
        assert_eq!(rec.failing_run_start(1_000 + 3_600_000, gap), 1_000, "failures an hour apart: one run");
        assert_eq!(rec.failing_run_start(1_000 + 6 * day, gap), 1_000 + 6 * day, "six quiet days break the run");
    }
}
