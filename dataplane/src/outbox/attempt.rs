//! One delivery attempt and its bookkeeping, run as a task on the edge runtime (spawned and
//! joined by the dispatcher, which bounds how many run). It POSTs the event's stored bytes
//! with freshly signed headers to the URL the live config names now, applies the retry policy
//! ([`super::retry`]) and commits the result in one batch: the event's delete (+ history) when
//! delivered, its new attempts/not-before when it will be retried (so `kill -9` resumes the
//! schedule), its dead letter when the schedule is exhausted, and the endpoint's row when its
//! state changed. It never logs a URL with its query string.
//!
//! A delivered event's delete is not waited for (up to [`MAX_UNSETTLED`] of them): the lane's
//! next event goes as soon as the receiver said 2xx, instead of after an fsync. Delivery is at
//! least once, so a delete lost to a crash only means that event is delivered again after the
//! restart, in order (the committer writes batches in submission order, so a later delete is
//! never durable before an earlier one). Everything else — a retry's new schedule, a dead
//! letter, an endpoint's row — is waited for, so `kill -9` resumes the schedule.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use arc_swap::ArcSwap;
use chatedge_config::file::WebhooksConfig;
use chatedge_config::snapshot::InstanceConfig;
use chatedge_config::{EventId, Snapshot};
use http_body_util::{BodyExt, Full, Limited};
use rand::Rng;

pub use super::client::WebhookClient;
use super::endpoints::{self, EndpointRecord};
use super::reader::QueueId;
use super::retry::{self, Answer, Next};
use super::{dead_letter, history, sign, OutboxKey, StoredEvent};
use crate::metrics::Metrics;
use crate::store::{keys, Batch, Cf, Completion, Store};

/// Largest webhook response body read (the rest is discarded with the connection).
const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Deletes of delivered events submitted and not yet durable, at most; past it a delivery
/// waits for its delete like any other write (the committer sets the pace).
pub const MAX_UNSETTLED: usize = 8_192;

/// What every attempt task shares.
pub struct Shared {
    pub store: Arc<Store>,
    pub config: Arc<ArcSwap<Snapshot>>,
    pub cfg: WebhooksConfig,
    pub metrics: Arc<Metrics>,
    pub client: WebhookClient,
    /// Deletes of delivered events submitted and not yet durable (see [`MAX_UNSETTLED`]).
    pub unsettled: Arc<std::sync::atomic::AtomicUsize>,
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
    /// The instance's endpoints that are disabled already (they get no disabled notice).
    pub disabled: Vec<String>,
    /// The queue's count of deletes not yet durable ([`super::lanes::Queue::settling`]).
    pub settling: Arc<std::sync::atomic::AtomicU32>,
    pub probe: bool,
    /// A recovery probe: the head of an endpoint whose lanes all wait on a distant retry,
    /// tried early to notice the receiver's return. Its failure leaves the event untouched.
    pub recovery: bool,
    pub retry: bool,
}

/// How it went, for the dispatcher.
pub struct Finished {
    pub queue: QueueId,
    pub seq: u64,
    pub url: Arc<str>,
    pub probe: bool,
    pub recovery: bool,
    pub retry: bool,
    pub answer: Answer,
    pub next: Next,
    /// The head as it now is in the store (attempts, not-before) when it will be retried.
    pub event: StoredEvent,
    /// The endpoint's new row, when it changed.
    pub record: Option<EndpointRecord>,
    /// False when the store refused the batch: nothing changed, the head stays as it was.
    pub committed: bool,
    /// Keys of the `WebhookEndpointDisabled` notices committed with the disabled row.
    pub notices: Vec<OutboxKey>,
    /// The delivery is counted in the metrics when its delete is durable, not by the
    /// dispatcher: "delivered" keeps meaning "delivered and recorded" (history included).
    pub counted_on_settle: bool,
}

/// [`run`], with a panic inside turned into an attempt that changed nothing (its head stays
/// and is tried again after a pause): the dispatcher gets back the queue, seq and slot class
/// of every attempt it launched, so its counts stay exact and no head runs twice.
pub async fn run_guarded(shared: Arc<Shared>, a: Attempt) -> Finished {
    let fallback = Finished {
        queue: a.queue,
        seq: a.seq,
        url: a.url.clone(),
        probe: a.probe,
        recovery: a.recovery,
        retry: a.retry,
        answer: Answer::Connect,
        next: Next::RetryIn(Duration::ZERO),
        event: a.event.clone(),
        record: None,
        committed: false,
        notices: Vec::new(),
        counted_on_settle: false,
    };
    let attempt = Box::pin(async move { run(&shared, a).await });
    match (CatchUnwind { inner: attempt }).await {
        Ok(f) => f,
        Err(()) => {
            tracing::error!(event = %fallback.event.id, "webhook attempt panicked; its event stays queued");
            fallback
        }
    }
}

/// Polls a future, catching a panic of any poll (the futures crate's `catch_unwind`, which
/// this crate does not depend on).
struct CatchUnwind<F> {
    inner: std::pin::Pin<Box<F>>,
}

impl<F: std::future::Future> std::future::Future for CatchUnwind<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let inner = self.inner.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(std::task::Poll::Ready(v)) => std::task::Poll::Ready(Ok(v)),
            Ok(std::task::Poll::Pending) => std::task::Poll::Pending,
            Err(_) => std::task::Poll::Ready(Err(())),
        }
    }
}

pub async fn run(shared: &Shared, a: Attempt) -> Finished {
    let started = Instant::now();
    let (answer, retry_after) = post(shared, &a).await;
    shared.metrics.webhook_request_seconds.observe(started.elapsed().as_secs_f64());
    let now = chatedge_config::time::unix_ms();
    let attempts = a.event.attempts + 1;
    let jitter = rand::rng().random_range(-1.0..=1.0);
    let mut next = retry::next(&shared.cfg.retry_schedule, attempts, &answer, retry_after, jitter);
    // Two failures further apart than twice the longest retry step were not one run.
    let gap = shared.cfg.retry_schedule.iter().max().copied().unwrap_or(retry::SLOW_DOWN).max(retry::SLOW_DOWN) * 2;
    let run_start = a.record.failing_run_start(now, gap);
    if !answer.is_success() && now.saturating_sub(run_start) >= shared.cfg.disable_after.as_millis() as u64 {
        next = Next::Disable;
    }
    if a.recovery && matches!(next, Next::RetryIn(_) | Next::DeadLetter) {
        next = Next::Held(retry::probe_again_in(shared.cfg.breaker_probe_after, &answer, retry_after));
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
        r.failing_since_ms = run_start;
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
        // A failed recovery probe: the event keeps its attempts and its place in the schedule.
        Next::Held(_) => {}
    }
    let mut notices = Vec::new();
    if let Some(r) = &record {
        r.write(&mut batch, &a.queue.0);
        if next == Next::Disable {
            // In the row's batch: the endpoint is never disabled without the notices.
            notices = announce_disabled(&mut batch, &a.instance, r, &a.disabled);
        }
    }
    let mut counted_on_settle = false;
    let committed = if batch.is_empty() {
        true
    } else if next == Next::Delivered && record.is_none() && settle_later(shared) {
        counted_on_settle = true;
        let unsettled = shared.unsettled.clone();
        let settling = a.settling.clone();
        let metrics = shared.metrics.clone();
        settling.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        // Runs on the committer thread once the delete is durable (or refused: the event
        // stays stored and is delivered again after a restart — at least once).
        shared.store.submit(
            batch,
            Completion::call(move |r| {
                match r {
                    Ok(()) => {
                        metrics.webhook_attempts.with_label_values(&["delivered"]).inc();
                        metrics.webhook_deliveries.with_label_values(&["delivered"]).inc();
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "deleting a delivered webhook event failed; it will be delivered again");
                    }
                }
                settling.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
                unsettled.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            }),
        );
        true
    } else {
        shared.store.commit(batch).await.is_ok()
    };
    Finished {
        queue: a.queue,
        seq: a.seq,
        url: a.url,
        probe: a.probe,
        recovery: a.recovery,
        retry: a.retry,
        answer,
        next,
        event,
        record,
        committed,
        notices: if committed { notices } else { Vec::new() },
        counted_on_settle,
    }
}

/// Takes one of the [`MAX_UNSETTLED`] places of a delete not waited for, if one is free.
fn settle_later(shared: &Shared) -> bool {
    use std::sync::atomic::Ordering;
    shared.unsettled.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < MAX_UNSETTLED).then_some(n + 1)).is_ok()
}

/// Adds a `WebhookEndpointDisabled` event for each other distinct, enabled endpoint of the
/// instance to `batch` (into the queue of the first kind that uses it, so it keeps that
/// lane's order); returns their keys.
fn announce_disabled(
    batch: &mut Batch,
    instance: &InstanceConfig,
    rec: &EndpointRecord,
    disabled: &[String],
) -> Vec<OutboxKey> {
    let mut seen: Vec<&str> = vec![rec.url.as_str()];
    let mut keys = Vec::new();
    for kind in chatedge_config::snapshot::WebhookKind::ALL {
        let Some(url) = instance.webhooks.get(kind) else { continue };
        if seen.contains(&url.as_str()) || disabled.iter().any(|d| d == url.as_str()) {
            continue;
        }
        seen.push(url.as_str());
        let body = serde_json::json!({
            "type": "WebhookEndpointDisabled",
            "instanceId": instance.id.to_string(),
            "url": chatedge_config::redact(&rec.url),
            "reason": rec.disabled_reason,
            "disabledAt": rec.disabled_at_ms,
            "momment": rec.disabled_at_ms,
        });
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        let event =
            StoredEvent::new(EventId::generate(), instance.id, kind, "WebhookEndpointDisabled".into(), bytes.into());
        keys.push(super::requeue(batch, &event));
    }
    keys
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

#[cfg(test)]
mod tests {
    use chatedge_config::snapshot::WebhookKind;
    use chatedge_config::webhook_url::{UrlPolicy, WebhookUrl};

    use super::*;

    #[tokio::test]
    async fn a_panicking_attempt_comes_back_as_a_result_not_a_lost_task() {
        let caught = CatchUnwind { inner: Box::pin(async { panic!("boom") }) }.await;
        assert!(caught.is_err());
        let fine = CatchUnwind { inner: Box::pin(async { 7 }) }.await;
        assert_eq!(fine, Ok(7));
    }

    #[test]
    fn a_disabled_endpoint_is_announced_once_to_each_other_enabled_endpoint() {
        let tenant = chatedge_config::TenantId::generate();
        let mut inst = InstanceConfig::new_trial(tenant, chatedge_config::TokenHash::of(b"t"), "x".into(), 0, 1);
        let url = |s: &str| Some(WebhookUrl::parse(s, UrlPolicy { allow_insecure_loopback: true }).unwrap());
        inst.webhooks.set(WebhookKind::Delivery, url("https://gone.example/a"));
        inst.webhooks.set(WebhookKind::MessageStatus, url("https://other.example/b"));
        inst.webhooks.set(WebhookKind::Connected, url("https://other.example/b"));
        inst.webhooks.set(WebhookKind::Received, url("https://off.example/c"));
        let mut rec = EndpointRecord::new(inst.id, "https://gone.example/a");
        rec.disabled_at_ms = 5;
        rec.disabled_reason = endpoints::REASON_GONE.into();
        let mut batch = Batch::new();
        rec.write(&mut batch, &inst.id);
        let keys = announce_disabled(&mut batch, &inst, &rec, &["https://off.example/c".to_owned()]);
        assert_eq!(keys.len(), 1, "one notice: other.example once, not the disabled ones");
        let (_, queue, _) = keys::parse_outbox(&keys[0]).unwrap();
        assert_eq!(queue, super::super::queue_of(WebhookKind::MessageStatus), "in the first kind using it");
        assert_eq!(batch.ops().len(), 2, "the row and its notice in one batch");
    }
}
