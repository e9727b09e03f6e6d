//! The dispatcher delivers committed webhook events. It runs on the edge runtime as one task
//! that owns the set of known pending keys (`tracked`, bounded by [`MAX_TRACKED`]) and a
//! [`JoinSet`] of delivery tasks (bounded by `[webhooks] concurrency`). It learns of new events
//! from the committer ([`super::Notifier`]); at start-up, and whenever notifications were
//! dropped or `tracked` was full, it rescans the outbox column family instead.
//!
//! A failed attempt is rescheduled in the store (new key `now + backoff ‖ same event id`, old
//! key deleted, one batch) with exponential backoff and full jitter; after `max_attempts` the
//! event moves to the dead-letter family. Nothing is dropped while attempts remain.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use chatedge_config::file::WebhooksConfig;
use chatedge_config::{EventId, Snapshot};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::Rng;
use tokio::sync::{mpsc, watch, Notify};
use tokio::task::JoinSet;

use super::{dead_letter, history, sign, Notifier, OutboxKey, StoredEvent};
use crate::metrics::Metrics;
use crate::store::{keys, Batch, Cf, Store, StoreError};

/// Most pending event keys held in memory; the rest wait on disk for the next scan.
pub const MAX_TRACKED: usize = 100_000;
/// Capacity of the committer → dispatcher notification channel (batches of keys).
const NOTIFY_CAPACITY: usize = 4096;
/// Largest webhook response body read (the rest is discarded with the connection).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Deleted outbox keys between two compactions of the delivered span.
const COMPACT_EVERY: u64 = 50_000;
/// Shortest time between two rescans.
const MIN_SCAN_INTERVAL: Duration = Duration::from_millis(500);

pub type WebhookClient = Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>;

/// Builds the HTTP(S) client used for webhooks: rustls with the ring provider and Mozilla's
/// roots, HTTP/1.1 and HTTP/2, pooled connections.
pub fn webhook_client() -> Result<WebhookClient, rustls::Error> {
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .build();
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(64)
        .build(https))
}

/// The receiving half of the notification channel.
pub struct Inbox {
    rx: mpsc::Receiver<Vec<OutboxKey>>,
    overflow: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

pub fn channel() -> (Notifier, Inbox) {
    let (tx, rx) = mpsc::channel(NOTIFY_CAPACITY);
    let overflow = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    (Notifier { tx, overflow: overflow.clone(), wake: wake.clone() }, Inbox { rx, overflow, wake })
}

/// What a delivery task reports back.
enum Outcome {
    Delivered,
    Retry(OutboxKey),
    Dead,
    /// The event was already gone (delivered before a rescan found it again).
    Gone,
    /// The store failed; the event stays where it is and is retried after a rescan.
    StoreFailed,
}

struct Shared {
    store: Arc<Store>,
    config: Arc<ArcSwap<Snapshot>>,
    cfg: WebhooksConfig,
    metrics: Arc<Metrics>,
    client: WebhookClient,
}

pub struct Dispatcher {
    shared: Arc<Shared>,
    inbox: Inbox,
    tracked: BTreeSet<OutboxKey>,
    /// Keys being delivered, and the task delivering each (to clear it if the task panics).
    in_flight: HashSet<OutboxKey>,
    tasks: HashMap<tokio::task::Id, OutboxKey>,
    dirty: bool,
    last_scan: Option<Instant>,
    deleted_since_compaction: u64,
}

impl Dispatcher {
    pub fn new(
        store: Arc<Store>,
        config: Arc<ArcSwap<Snapshot>>,
        cfg: WebhooksConfig,
        metrics: Arc<Metrics>,
        client: WebhookClient,
        inbox: Inbox,
    ) -> Self {
        Dispatcher {
            shared: Arc::new(Shared { store, config, cfg, metrics, client }),
            inbox,
            tracked: BTreeSet::new(),
            in_flight: HashSet::new(),
            tasks: HashMap::new(),
            dirty: true, // pending events from before a restart are found by the first scan
            last_scan: None,
            deleted_since_compaction: 0,
        }
    }

    /// Delivers until `shutdown` turns true; then gives in-flight requests a short grace.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut workers: JoinSet<Outcome> = JoinSet::new();
        let concurrency = self.shared.cfg.concurrency;
        loop {
            self.maybe_scan();
            self.launch_due(&mut workers, concurrency);
            self.shared.metrics.outbox_tracked.set(self.tracked.len() as i64);
            self.shared.metrics.outbox_in_flight.set(self.in_flight.len() as i64);
            let next_due = self.next_due().filter(|_| workers.len() < concurrency);
            tokio::select! {
                Some(keys) = self.inbox.rx.recv() => self.track(keys),
                Some(done) = workers.join_next_with_id(), if !workers.is_empty() => match done {
                    Ok((task, outcome)) => self.finish(task, outcome),
                    // A delivery task that panicked: its event stays on disk; forget it here
                    // so the next scan picks it up again.
                    Err(e) => {
                        tracing::error!(error = %e, "webhook delivery task failed");
                        self.finish(e.id(), Outcome::StoreFailed);
                    }
                },
                _ = sleep_until_ms(next_due), if next_due.is_some() => {}
                _ = self.inbox.wake.notified() => {}
                _ = tokio::time::sleep(MIN_SCAN_INTERVAL), if self.dirty => {}
                _ = shutdown.changed() => break,
            }
        }
        let grace = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(grace);
        while !workers.is_empty() {
            tokio::select! {
                _ = workers.join_next() => {}
                _ = &mut grace => break,
            }
        }
        workers.abort_all(); // undelivered events stay in the outbox for the next start
    }

    fn track(&mut self, keys: Vec<OutboxKey>) {
        for k in keys {
            if self.tracked.len() >= MAX_TRACKED {
                self.dirty = true;
                return;
            }
            self.tracked.insert(k);
        }
    }

    fn maybe_scan(&mut self) {
        if self.inbox.overflow.swap(false, Ordering::AcqRel) {
            self.dirty = true;
        }
        let recent = self.last_scan.is_some_and(|t| t.elapsed() < MIN_SCAN_INTERVAL);
        if !self.dirty || recent || self.tracked.len() >= MAX_TRACKED / 2 {
            return;
        }
        self.last_scan = Some(Instant::now());
        self.shared.metrics.outbox_scans.inc();
        match self.scan() {
            Ok(complete) => self.dirty = !complete,
            Err(e) => tracing::error!(error = %e, "outbox scan failed"),
        }
    }

    /// Adds keys found on disk; returns whether the whole outbox was seen.
    fn scan(&mut self) -> Result<bool, StoreError> {
        let store = &self.shared.store;
        let mut it = store.db().raw_iterator_cf(store.cf(Cf::Outbox));
        it.seek_to_first();
        while it.valid() {
            if self.tracked.len() >= MAX_TRACKED {
                return Ok(false);
            }
            if let Some(key) = it.key().and_then(|k| OutboxKey::try_from(k).ok()) {
                if !self.in_flight.contains(&key) {
                    self.tracked.insert(key);
                }
            }
            it.next();
        }
        it.status()?;
        Ok(true)
    }

    fn next_due(&self) -> Option<u64> {
        self.tracked.first().and_then(|k| keys::parse_outbox(k)).map(|(due, _)| due)
    }

    fn launch_due(&mut self, workers: &mut JoinSet<Outcome>, concurrency: usize) {
        let now = chatedge_config::time::unix_ms();
        while workers.len() < concurrency {
            let Some((due, _)) = self.tracked.first().and_then(|k| keys::parse_outbox(k)) else { break };
            if due > now {
                break;
            }
            let Some(key) = self.tracked.pop_first() else { break };
            if !self.in_flight.insert(key) {
                continue; // found again by a scan while being delivered
            }
            let shared = self.shared.clone();
            let task = workers.spawn(async move { deliver(&shared, key).await });
            self.tasks.insert(task.id(), key);
        }
    }

    fn finish(&mut self, task: tokio::task::Id, outcome: Outcome) {
        if let Some(key) = self.tasks.remove(&task) {
            self.in_flight.remove(&key);
        }
        let shared = self.shared.clone();
        // Delivered, retried and dead-lettered events each leave one deleted key behind.
        let label = match outcome {
            Outcome::Delivered => "delivered",
            Outcome::Retry(key) => {
                self.track(vec![key]);
                "failed_will_retry"
            }
            Outcome::Dead => "failed_dead_letter",
            Outcome::Gone => return,
            Outcome::StoreFailed => {
                self.dirty = true;
                return;
            }
        };
        shared.metrics.webhook_attempts.with_label_values(&[label]).inc();
        self.deleted_since_compaction += 1;
        if self.deleted_since_compaction >= COMPACT_EVERY {
            self.deleted_since_compaction = 0;
            let upto = self
                .tracked
                .first()
                .copied()
                .unwrap_or_else(|| keys::outbox(chatedge_config::time::unix_ms(), &EventId::from_bytes([0; 16])));
            self.shared.store.compact_later(Cf::Outbox, vec![0u8; keys::OUTBOX_KEY_LEN], upto.to_vec());
        }
    }
}

async fn sleep_until_ms(due_ms: Option<u64>) {
    let now = chatedge_config::time::unix_ms();
    let wait = due_ms.map(|d| d.saturating_sub(now)).unwrap_or(0);
    tokio::time::sleep(Duration::from_millis(wait)).await;
}

/// One delivery attempt of the event under `key`, and its bookkeeping in the store.
async fn deliver(shared: &Shared, key: OutboxKey) -> Outcome {
    let store = &shared.store;
    let event = match store.db().get_pinned_cf(store.cf(Cf::Outbox), key) {
        Ok(Some(bytes)) => match StoredEvent::decode(&bytes) {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "undecodable outbox event moved to dead letter");
                let mut batch = Batch::new();
                batch.delete(Cf::Outbox, key);
                let id = EventId::from_slice(&key[8..]).unwrap_or_else(EventId::random);
                dead_letter::record_undecodable(&mut batch, &id, &bytes);
                return commit_dead(store, batch).await;
            }
        },
        Ok(None) => return Outcome::Gone,
        Err(e) => {
            tracing::error!(error = %e, "outbox read failed");
            return Outcome::StoreFailed;
        }
    };
    let secret = shared.config.load().instances.get(&event.instance).map(|i| i.webhook_secret.clone());
    let Some(secret) = secret else {
        // The instance was removed: its events have nowhere to be signed for.
        let mut batch = Batch::new();
        batch.delete(Cf::Outbox, key);
        dead_letter::record(&mut batch, &event, "instance_removed");
        return commit_dead(store, batch).await;
    };
    let result = attempt(shared, &event, &secret).await;
    let mut batch = Batch::new();
    batch.delete(Cf::Outbox, key);
    let outcome = if result.is_ok() {
        let age_ms = chatedge_config::time::unix_ms().saturating_sub(event.created_ms);
        shared.metrics.webhook_delivery_seconds.observe(age_ms as f64 / 1000.0);
        if !shared.cfg.delivered_retention.is_zero() {
            history::record(&mut batch, &event);
        }
        Outcome::Delivered
    } else if event.attempts + 1 >= shared.cfg.max_attempts {
        tracing::warn!(event = %event.id, "webhook retries exhausted; event moved to dead letter");
        let mut dead = event.clone();
        dead.attempts += 1;
        dead_letter::record(&mut batch, &dead, result.as_ref().err().map(String::as_str).unwrap_or_default());
        Outcome::Dead
    } else {
        let mut next = event.clone();
        next.attempts += 1;
        let due = chatedge_config::time::unix_ms() + backoff(&shared.cfg, next.attempts).as_millis() as u64;
        let new_key = keys::outbox(due, &next.id);
        batch.put(Cf::Outbox, new_key, next.encode());
        Outcome::Retry(new_key)
    };
    match store.commit(batch).await {
        Ok(()) => outcome,
        Err(_) => Outcome::StoreFailed,
    }
}

/// POSTs the event once; Ok on a 2xx answer within the timeout, else why not.
async fn attempt(shared: &Shared, event: &StoredEvent, secret: &chatedge_config::WebhookSecret) -> Result<(), String> {
    let webhook_id = format!("evt_{}", event.id);
    let ts = chatedge_config::time::unix_ms() / 1000;
    let signature = sign::signature(secret, &webhook_id, ts, event.body.as_bytes());
    let request = hyper::Request::post(event.url.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::USER_AGENT, concat!("chatedge/", env!("CARGO_PKG_VERSION")))
        .header("webhook-id", &webhook_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signature)
        .body(Full::new(Bytes::from(event.body.clone())));
    let request = request.map_err(|_| "invalid request".to_owned())?;
    let started = Instant::now();
    let exchange = async {
        let response = shared.client.request(request).await.map_err(|e| format!("connection failed: {e}"))?;
        let status = response.status();
        // Read (a bounded amount of) the body so the connection can be reused.
        let _ = Limited::new(response.into_body(), MAX_RESPONSE_BYTES).collect().await;
        if status.is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", status.as_u16()))
        }
    };
    let result = tokio::time::timeout(shared.cfg.timeout, exchange).await.unwrap_or_else(|_| Err("timeout".into()));
    shared.metrics.webhook_request_seconds.observe(started.elapsed().as_secs_f64());
    result
}

/// Exponential backoff with full jitter: uniform in [d/2, d], d = initial · 2^(attempt-1) ≤ max.
pub fn backoff(cfg: &WebhooksConfig, attempt: u32) -> Duration {
    let exp = cfg.initial_backoff.saturating_mul(1u32 << attempt.saturating_sub(1).min(30));
    let d = exp.min(cfg.max_backoff).as_millis() as u64;
    Duration::from_millis(rand::rng().random_range(d / 2..=d.max(1)))
}

async fn commit_dead(store: &Store, batch: Batch) -> Outcome {
    match store.commit(batch).await {
        Ok(()) => Outcome::Dead,
        Err(_) => Outcome::StoreFailed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_exponentially_with_jitter_and_is_capped() {
        let cfg = chatedge_config::Config::default().webhooks;
        for attempt in 1..=30 {
            let d = backoff(&cfg, attempt);
            let cap = cfg.initial_backoff.saturating_mul(1 << (attempt - 1).min(30)).min(cfg.max_backoff);
            assert!(d <= cap && d >= cap / 2, "attempt {attempt}: {d:?} vs {cap:?}");
        }
    }
}
