//! One delivery attempt and its bookkeeping, run as a task on the edge runtime (spawned and
//! joined by the dispatcher, which bounds how many run). It POSTs the event's stored bytes
//! with freshly signed headers to the URL the live config names now, applies the retry policy
//! ([`super::retry`]) and commits the result in one batch: the event's delete (+ history) when
//! delivered, its new attempts/not-before when it will be retried (so `kill -9` resumes the
//! schedule), its dead letter when the schedule is exhausted, and the endpoint's row when its
//! state changed. It never logs a URL with its query string.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use chatedge_config::file::WebhooksConfig;
use chatedge_config::snapshot::InstanceConfig;
use chatedge_config::Snapshot;
use http_body_util::{BodyExt, Full, Limited};
use rand::Rng;

pub use super::client::WebhookClient;
use super::endpoints::{self, EndpointRecord};
use super::reader::QueueId;
use super::retry::{self, Answer, Next};
use super::{dead_letter, history, sign, StoredEvent};
use crate::metrics::Metrics;
use crate::store::{keys, Batch, Cf, Store};

/// Largest webhook response body read (the rest is discarded with the connection).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// What every attempt task shares.
pub struct Shared {
    pub store: Arc<Store>,
    pub config: Arc<ArcSwap<Snapshot>>,
    pub cfg: WebhooksConfig,
    pub metrics: Arc<Metrics>,
    pub client: WebhookClient,
}

/// One attempt to make: the head of a lane.
pub struct Attempt {
    pub queue: QueueId,
    pub seq: u64,
    pub event: StoredEvent,
    pub url: Arc<str>,
    pub instance: Arc<InstanceConfig>,
    /// The endpoint's row as the dispatcher holds it.
    pub record: EndpointRecord,
    pub probe: bool,
    pub retry: bool,
}

/// How it went, for the dispatcher.
pub struct Finished {
    pub queue: QueueId,
    pub seq: u64,
    pub url: Arc<str>,
    pub probe: bool,
    pub retry: bool,
    pub answer: Answer,
    pub next: Next,
    /// The head as it now is in the store (attempts, not-before) when it will be retried.
    pub event: StoredEvent,
    /// The endpoint's new row, when it changed.
    pub record: Option<EndpointRecord>,
    /// False when the store refused the batch: nothing changed, the head stays as it was.
    pub committed: bool,
}

pub async fn run(shared: &Shared, a: Attempt) -> Finished {
    let started = Instant::now();
    let (answer, retry_after) = post(shared, &a).await;
    shared.metrics.webhook_request_seconds.observe(started.elapsed().as_secs_f64());
    let now = chatedge_config::time::unix_ms();
    let attempts = a.event.attempts + 1;
    let jitter = rand::rng().random_range(-1.0..=1.0);
    let mut next = retry::next(&shared.cfg.retry_schedule, attempts, &answer, retry_after, jitter);
    let failing_for = now.saturating_sub(a.record.failing_since_ms);
    if !answer.is_success()
        && a.record.failing_since_ms > 0
        && failing_for >= shared.cfg.disable_after.as_millis() as u64
    {
        next = Next::Disable;
    }
    let mut record = None;
    let mut batch = Batch::new();
    let key = keys::outbox(&a.queue.0, a.queue.1, a.seq);
    let mut event = a.event;
    if answer.is_success() {
        if a.record.is_noteworthy() {
            record = Some(EndpointRecord { failing_since_ms: 0, ..a.record.clone() });
        }
    } else {
        let mut r = a.record.clone();
        if r.failing_since_ms == 0 {
            r.failing_since_ms = now;
        }
        r.last_error = answer.describe();
        r.last_error_ms = now;
        if next == Next::Disable {
            r.disabled_at_ms = now;
            r.disabled_reason =
                if answer == Answer::Status(410) { endpoints::REASON_GONE } else { endpoints::REASON_FAILING }.into();
        }
        record = Some(r);
    }
    match &next {
        Next::Delivered => {
            batch.delete(Cf::Outbox, key);
            history::record(&mut batch, &event);
            let age_ms = now.saturating_sub(event.created_ms);
            shared.metrics.webhook_delivery_seconds.observe(age_ms as f64 / 1000.0);
        }
        Next::RetryIn(wait) => {
            event.attempts = attempts;
            event.not_before_ms = now + wait.as_millis() as u64;
            event.last_error = Some(answer.describe());
            batch.put(Cf::Outbox, key, event.encode());
        }
        Next::DeadLetter => {
            event.attempts = attempts;
            batch.delete(Cf::Outbox, key);
            dead_letter::record(&mut batch, &event, &answer.describe());
            tracing::warn!(event = %event.id, url = %chatedge_config::redact(&a.url), "webhook retries exhausted; event moved to dead letter");
        }
        // The event stays; the dispatcher dead-letters the lane once the row says disabled.
        Next::Disable => {}
    }
    if let Some(r) = &record {
        r.write(&mut batch, &a.queue.0);
    }
    let committed = batch.is_empty() || shared.store.commit(batch).await.is_ok();
    Finished {
        queue: a.queue,
        seq: a.seq,
        url: a.url,
        probe: a.probe,
        retry: a.retry,
        answer,
        next,
        event,
        record,
        committed,
    }
}

/// POSTs the event once. The whole exchange is bounded by `[webhooks] timeout`.
async fn post(shared: &Shared, a: &Attempt) -> (Answer, Option<Duration>) {
    let webhook_id = format!("evt_{}", a.event.id);
    let ts = chatedge_config::time::unix_ms() / 1000;
    let headers = sign::headers(&a.instance, &webhook_id, &a.event.name, ts, &a.event.body);
    let mut request = match hyper::Request::post(&*a.url).body(Full::new(a.event.body.clone())) {
        Ok(r) => r,
        Err(_) => return (Answer::Connect, None), // a URL the snapshot accepted but http cannot use
    };
    *request.headers_mut() = headers;
    let exchange = async {
        match shared.client.request(request).await {
            Ok(response) => {
                let status = response.status().as_u16();
                let retry_after = response
                    .headers()
                    .get(hyper::header::RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
                // Read (a bounded amount of) the body so the connection can be reused.
                let _ = Limited::new(response.into_body(), MAX_RESPONSE_BYTES).collect().await;
                (Answer::Status(status), retry_after)
            }
            Err(e) if is_timeout(&e) => (Answer::Timeout, None),
            Err(e) => {
                if let Some(class) = super::client::refused_class(&e) {
                    shared.metrics.webhook_refused.with_label_values(&[class, "connect"]).inc();
                }
                let url = chatedge_config::redact(&a.url);
                let error = super::client::describe_failure(&e);
                tracing::debug!(event = %a.event.id, %url, %error, "webhook attempt failed");
                (Answer::Connect, None)
            }
        }
    };
    tokio::time::timeout(shared.cfg.timeout, exchange).await.unwrap_or((Answer::Timeout, None))
}

/// Whether a client error is the connect timeout (a black-holed address), which waits like
/// a response timeout.
fn is_timeout(e: &hyper_util::client::legacy::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(s) = source {
        if s.to_string().contains("timed out") {
            return true;
        }
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::TimedOut {
                return true;
            }
        }
        source = s.source();
    }
    false
}
