//! The dispatcher delivers committed webhook events: one task on the edge runtime that owns
//! every piece of delivery state — the known non-empty queues with their read-ahead
//! ([`lanes::Queue`], bounded by instances × kinds and [`MAX_BUFFERED`] events), a breaker and
//! an in-flight count per endpoint (one per distinct URL with events pending), the endpoint rows
//! (failing since, disabled), and the attempt tasks ([`attempt`], bounded by
//! `first_attempt_slots + retry_slots`). Reads of the store run on the blocking pool
//! ([`reader`]), never here; writes go through the committer from the attempt tasks.
//!
//! It learns of new events from the committer ([`super::Notifier`]); at start, and when
//! notifications were dropped, a prefix-skipping scan finds the non-empty queues instead. Each
//! turn it groups the queues into lanes by their URL in the live config (so a fixed URL fixes
//! the backlog), drops the events of kinds whose URL was cleared, dead-letters those of
//! disabled endpoints and removed instances, and launches ready lane heads with
//! [`lanes::pick`]. A 410 or `disable_after` of failures disables an endpoint for its instance
//! and tells the instance's other endpoints with a `WebhookEndpointDisabled` event.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;
use chatedge_config::file::WebhooksConfig;
use chatedge_config::{InstanceId, Snapshot};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinSet;

use super::attempt::{self, Attempt, Finished, Shared};
use super::breaker::{Breaker, BreakerConfig, Permit};
use super::endpoints::{self, EndpointRecord};
use super::lanes::{self, Busy, Queue, ReadyEndpoint, ReadyLane, Slots};
use super::reader::{self, Empty, QueueId};
use super::retry::Next;
use super::{kind_of, queue_key, Notifier, OutboxKey};
use crate::metrics::Metrics;
use crate::store::{Batch, Store, StoreError};

/// Events held in read-ahead buffers at most, over all queues; past it no queue loads more
/// until some are delivered (the rest wait on disk).
pub const MAX_BUFFERED: usize = 100_000;
/// Events read per load of one queue.
const READ_AHEAD: usize = 64;
/// Loads and range jobs on the blocking pool at once.
const MAX_JOBS: usize = 8;
/// Capacity of the committer → dispatcher notification channel (batches of keys).
const NOTIFY_CAPACITY: usize = 4096;
/// Capacity of the API → dispatcher request channel.
const CONTROL_CAPACITY: usize = 64;
/// Deliveries from one queue between two compactions of its delivered span.
const COMPACT_EVERY: u32 = 8_192;
/// Wait after a failed store read before the queue is read again.
const READ_RETRY_MS: u64 = 1_000;
/// How soon a load that waits for a queue's deletes to settle is tried again (a group
/// commit takes about a millisecond).
const SETTLE_POLL_MS: u64 = 2;

pub use super::client::{webhook_client, WebhookClient};

/// A question or order from the API.
pub enum Control {
    /// Re-enables an instance's endpoint (clears its row); answers whether it was disabled.
    Enable { instance: InstanceId, url: String, reply: oneshot::Sender<Result<bool, StoreError>> },
    /// The state of each of an instance's endpoints that has events or a row.
    List { instance: InstanceId, reply: oneshot::Sender<Vec<EndpointView>> },
}

/// One endpoint of an instance as the dispatcher sees it now.
#[derive(Debug, Clone)]
pub struct EndpointView {
    pub url: String,
    /// `healthy`, `failing`, `open` or `disabled`.
    pub state: &'static str,
    /// Events pending for the lane that are known (loaded, or a read-ahead's worth per queue
    /// with more on disk): an estimate.
    pub pending: u64,
    pub last_error: Option<String>,
    /// Failing or disabled since (unix ms).
    pub since_ms: Option<u64>,
}

/// The receiving half of the notification channel.
pub struct Inbox {
    rx: mpsc::Receiver<Vec<OutboxKey>>,
    control: mpsc::Receiver<Control>,
    overflow: Arc<AtomicBool>,
    wake: Arc<Notify>,
}

pub fn channel() -> (Notifier, Inbox) {
    let (tx, rx) = mpsc::channel(NOTIFY_CAPACITY);
    let (ctl_tx, control) = mpsc::channel(CONTROL_CAPACITY);
    let overflow = Arc::new(AtomicBool::new(false));
    let wake = Arc::new(Notify::new());
    let notifier = Notifier { tx, control: ctl_tx, overflow: overflow.clone(), wake: wake.clone() };
    (notifier, Inbox { rx, control, overflow, wake })
}

/// A blocking job's result.
enum Job {
    /// Non-empty queues, events migrated from the old layout, endpoint rows.
    Scanned(Result<(Vec<QueueId>, usize, endpoints::Records), StoreError>),
    Loaded {
        queue: QueueId,
        /// The most events it was to read.
        limit: usize,
        result: Result<reader::Loaded, StoreError>,
    },
    Emptied {
        queue: QueueId,
        how: Empty,
        result: Result<u64, StoreError>,
    },
}

/// Lanes of one turn: (instance, url) → (blocked, its lowest-seq ready head: (seq, queue)).
type LaneHeads<'a> = HashMap<(InstanceId, &'a str), (bool, Option<(u64, QueueId)>)>;

/// One endpoint (URL) with events pending.
struct Endpoint {
    /// The key it is filed under, shared with the attempts.
    url: Arc<str>,
    breaker: Breaker,
    in_flight: usize,
    /// Last turn a lane of this endpoint had events (unix ms): idle endpoints are forgotten.
    seen_ms: u64,
    /// No recovery probe before this time (unix ms): `breaker_probe_after` after the
    /// endpoint's last attempt, or longer when a failed probe was told to slow down.
    probe_after_ms: u64,
}

impl Endpoint {
    fn new(url: Arc<str>, breaker: Breaker, now_ms: u64, probe_every: Duration) -> Self {
        Endpoint {
            url,
            breaker,
            in_flight: 0,
            seen_ms: now_ms,
            probe_after_ms: now_ms + probe_every.as_millis() as u64,
        }
    }
}

pub struct Dispatcher {
    shared: Arc<Shared>,
    inbox: Inbox,
    queues: HashMap<QueueId, Queue>,
    endpoints: HashMap<Arc<str>, Endpoint>,
    /// Rows of failing or disabled endpoints, by instance (a handful each).
    records: HashMap<InstanceId, Vec<EndpointRecord>>,
    buffered: usize,
    in_flight: Slots,
    jobs_running: usize,
    /// The start-up scan has completed (nothing is launched before).
    started: bool,
    scanning: bool,
    rescan: bool,
    /// No scan before this time (unix ms), after a failed one.
    scan_after_ms: u64,
    /// Where the next turn's round-robin starts.
    rr: usize,
    /// Lanes seen by the last turn.
    lanes: usize,
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
            shared: Arc::new(Shared { store, config, cfg, metrics, client, unsettled: Arc::default() }),
            inbox,
            queues: HashMap::new(),
            endpoints: HashMap::new(),
            records: HashMap::new(),
            buffered: 0,
            in_flight: Slots { first: 0, retry: 0 },
            jobs_running: 0,
            started: false,
            scanning: false,
            rescan: true, // pending events from before a restart are found by the first scan
            scan_after_ms: 0,
            rr: 0,
            lanes: 0,
        }
    }

    fn breaker_config(&self) -> BreakerConfig {
        let c = &self.shared.cfg;
        BreakerConfig {
            window: c.breaker_window,
            failure_ratio: c.breaker_failure_ratio,
            min_attempts: c.breaker_min_attempts,
            probe_after: c.breaker_probe_after,
        }
    }

    /// Delivers until `shutdown` turns true; then gives in-flight requests a short grace.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut attempts: JoinSet<Finished> = JoinSet::new();
        let mut jobs: JoinSet<Job> = JoinSet::new();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            if self.inbox.overflow.swap(false, Ordering::AcqRel) {
                self.rescan = true;
            }
            if self.rescan && !self.scanning && self.scan_after_ms <= chatedge_config::time::unix_ms() {
                self.start_scan(&mut jobs);
            }
            let wake = self.turn(&mut attempts, &mut jobs);
            let sleep_ms = wake.map(|w| w.saturating_sub(chatedge_config::time::unix_ms()).max(1)).unwrap_or(3_600_000);
            tokio::select! {
                Some(keys) = self.inbox.rx.recv() => {
                    self.track(keys);
                    while let Ok(more) = self.inbox.rx.try_recv() {
                        self.track(more);
                    }
                }
                Some(done) = attempts.join_next(), if !attempts.is_empty() => {
                    self.attempt_done(done);
                    while let Some(done) = attempts.try_join_next() {
                        self.attempt_done(done);
                    }
                }
                Some(job) = jobs.join_next(), if !jobs.is_empty() => {
                    self.job_done(job);
                    while let Some(job) = jobs.try_join_next() {
                        self.job_done(job);
                    }
                }
                Some(ctl) = self.inbox.control.recv() => self.control(ctl),
                _ = tokio::time::sleep(Duration::from_millis(sleep_ms)) => {}
                _ = self.inbox.wake.notified() => {}
                _ = tick.tick() => self.tick(),
                _ = shutdown.changed() => break,
            }
        }
        let grace = tokio::time::sleep(Duration::from_secs(2));
        tokio::pin!(grace);
        while !attempts.is_empty() {
            tokio::select! {
                _ = attempts.join_next() => {}
                _ = &mut grace => break,
            }
        }
        attempts.abort_all(); // undelivered events stay in the outbox for the next start
    }

    fn track(&mut self, keys: Vec<OutboxKey>) {
        for k in keys {
            if let Some((instance, queue, seq)) = queue_key(&k) {
                self.queues.entry((instance, queue)).or_insert_with(Queue::notified).committed(seq);
            }
        }
    }

    fn start_scan(&mut self, jobs: &mut JoinSet<Job>) {
        self.rescan = false;
        self.scanning = true;
        self.shared.metrics.outbox_scans.inc();
        let store = self.shared.store.clone();
        jobs.spawn_blocking(move || {
            Job::Scanned(
                guarded(|| reader::scan_queues(&store))
                    .and_then(|(q, m)| Ok((q, m, guarded(|| endpoints::load_all(&store))?))),
            )
        });
    }

    fn job_done(&mut self, job: Result<Job, tokio::task::JoinError>) {
        let job = match job {
            Ok(j) => j,
            Err(e) => {
                // Jobs catch their own panics ([`guarded`]), so this is a cancellation, which
                // happens only when the dispatcher itself is going away.
                tracing::error!(error = %e, "outbox job cancelled");
                return;
            }
        };
        match job {
            Job::Scanned(result) => {
                self.scanning = false;
                match result {
                    Ok((found, migrated, records)) => {
                        if migrated > 0 {
                            tracing::info!(migrated, "outbox events of the old layout moved into their queues");
                        }
                        for q in found {
                            let q = self.queues.entry(q).or_insert_with(Queue::notified);
                            q.more = true;
                            q.known_max = u64::MAX;
                        }
                        if !self.started {
                            for ((instance, _), rec) in records {
                                self.records.entry(instance).or_default().push(rec);
                            }
                        }
                        self.started = true;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "outbox scan failed; retrying in a second");
                        self.rescan = true;
                        self.scan_after_ms = chatedge_config::time::unix_ms() + READ_RETRY_MS;
                    }
                }
            }
            Job::Loaded { queue, limit, result } => {
                self.jobs_running -= 1;
                self.loaded(queue, limit, result);
            }
            Job::Emptied { queue, how, result } => {
                self.jobs_running -= 1;
                self.emptied(queue, how, result);
            }
        }
    }

    fn loaded(&mut self, queue: QueueId, limit: usize, result: Result<reader::Loaded, StoreError>) {
        let Some(q) = self.queues.get_mut(&queue) else { return };
        let Busy::Loading(gen) = q.busy else { return };
        q.busy = Busy::Idle;
        match result {
            Ok(loaded) => {
                let full = loaded.events.len() >= limit;
                let mut beyond = false;
                for (seq, event) in loaded.events {
                    if seq > q.known_max {
                        beyond = true; // its notification is on its way and will ask again
                        break;
                    }
                    if q.file(seq, event) {
                        self.buffered += 1;
                    }
                }
                q.settle_rewind();
                q.more = (full && !beyond) || q.gen != gen || q.rewind.is_some();
                if loaded.corrupt > 0 {
                    let m = &self.shared.metrics;
                    m.webhook_deliveries.with_label_values(&["dead_letter"]).inc_by(loaded.corrupt as u64);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "outbox read failed");
                q.load_after_ms = chatedge_config::time::unix_ms() + READ_RETRY_MS;
            }
        }
    }

    fn emptied(&mut self, queue: QueueId, how: Empty, result: Result<u64, StoreError>) {
        let Some(q) = self.queues.get_mut(&queue) else { return };
        let Busy::Emptying(gen) = q.busy else { return };
        q.busy = Busy::Idle;
        self.buffered -= q.buf.len();
        q.buf.clear();
        q.next_seq = 0;
        q.rewind = None;
        match result {
            Ok(n) => {
                q.more = q.gen != gen;
                let m = &self.shared.metrics;
                match how {
                    Empty::Drop => {
                        m.webhook_events_dropped.with_label_values(&["url_cleared"]).inc_by(n);
                        m.webhook_deliveries.with_label_values(&["dropped"]).inc_by(n);
                    }
                    Empty::DeadLetter(reason) => {
                        let outcome = if reason == "endpoint_disabled" { "disabled" } else { "dead_letter" };
                        m.webhook_deliveries.with_label_values(&[outcome]).inc_by(n);
                        // The family before issue 9 counted these too (tests and dashboards use it).
                        m.webhook_attempts.with_label_values(&["failed_dead_letter"]).inc_by(n);
                    }
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "emptying an outbox queue failed");
                q.more = true;
                q.load_after_ms = chatedge_config::time::unix_ms() + READ_RETRY_MS;
            }
        }
    }

    fn record(&self, instance: &InstanceId, url: &str) -> Option<&EndpointRecord> {
        self.records.get(instance)?.iter().find(|r| r.url == url)
    }

    fn set_record(&mut self, instance: InstanceId, rec: EndpointRecord) {
        let rows = self.records.entry(instance).or_default();
        rows.retain(|r| r.url != rec.url);
        if rec.is_noteworthy() {
            rows.push(rec);
        }
        if rows.is_empty() {
            self.records.remove(&instance);
        }
    }

    /// One scheduling turn; returns when the next head or probe becomes due (unix ms).
    fn turn(&mut self, attempts: &mut JoinSet<Finished>, jobs: &mut JoinSet<Job>) -> Option<u64> {
        if !self.started || self.scanning {
            return None; // a queue the scan has not found yet could hold a lane's next event
        }
        let snapshot = self.shared.config.load_full();
        if snapshot.version == 0 {
            return None; // no configuration yet: nothing can be looked up
        }
        let now = chatedge_config::time::unix_ms();
        let mut wake: Option<u64> = None;
        let soon = |t: u64, wake: &mut Option<u64>| *wake = Some(wake.map_or(t, |w| w.min(t)));
        // (instance, url) → (blocked, best head: (seq, queue)).
        let mut lanes: LaneHeads<'_> = HashMap::new();
        // Idle queues with a read-ahead, by lane: trimmed to their head when the lane waits.
        let mut members: Vec<((InstanceId, &str), QueueId)> = Vec::new();
        let mut empty = Vec::new();
        let mut to_load = Vec::new();
        let mut to_empty = Vec::new();
        for (&qid, q) in &self.queues {
            let instance = snapshot.instances.get(&qid.0);
            let url = instance.and_then(|i| kind_of(qid.1).and_then(|k| i.webhooks.get(k)));
            let Some(url) = url else {
                if q.busy == Busy::Idle && (q.more || !q.buf.is_empty()) {
                    let how = if instance.is_some() { Empty::Drop } else { Empty::DeadLetter("instance_removed") };
                    to_empty.push((qid, how));
                } else if q.busy == Busy::Idle {
                    empty.push(qid);
                }
                continue;
            };
            let lane = lanes.entry((qid.0, url.as_str())).or_insert((false, None));
            if self.record(&qid.0, url.as_str()).is_some_and(EndpointRecord::is_disabled) {
                lane.0 = true;
                if q.busy == Busy::Idle && (q.more || !q.buf.is_empty()) {
                    to_empty.push((qid, Empty::DeadLetter("endpoint_disabled")));
                } else if q.busy == Busy::Idle {
                    empty.push(qid);
                }
                continue;
            }
            if q.busy != Busy::Idle {
                lane.0 = true;
                continue;
            }
            if q.buf.len() > 1 {
                members.push(((qid.0, url.as_str()), qid));
            }
            match q.buf.front() {
                Some((seq, _)) if lane.1.is_none_or(|(best, _)| *seq < best) => lane.1 = Some((*seq, qid)),
                Some(_) => {}
                None if q.more => {
                    // The head is on disk: the lane waits for it, or it could overtake it.
                    lane.0 = true;
                    if q.load_after_ms <= now {
                        to_load.push(qid);
                    } else {
                        soon(q.load_after_ms, &mut wake);
                    }
                }
                // Forgotten only once its deletes are durable: a queue noted again later reads
                // from its start, and must not find delivered events there.
                None if !q.is_settling() => empty.push(qid),
                None => {}
            }
        }
        for qid in empty {
            self.queues.remove(&qid);
        }
        self.lanes = lanes.len();
        for (_, url) in lanes.keys() {
            if let Some(ep) = self.endpoints.get_mut(*url) {
                ep.seen_ms = now;
            }
        }
        // Lanes that cannot move before some time passes: a retry not yet due, an open breaker.
        let mut stalled: HashSet<(InstanceId, &str)> = HashSet::new();
        // Ready heads, by endpoint, oldest first.
        let mut ready: HashMap<&str, Vec<(u64, QueueId, bool)>> = HashMap::new();
        // The head due soonest of each endpoint's lanes that wait on a retry: (due, queue).
        let mut retrying: HashMap<&str, (u64, QueueId)> = HashMap::new();
        for (&(instance, url), (blocked, best)) in &lanes {
            let (false, Some((seq, qid))) = (*blocked, *best) else { continue };
            let Some((_, head)) = self.queues.get(&qid).and_then(|q| q.buf.front()) else { continue };
            if head.not_before_ms > now {
                soon(head.not_before_ms, &mut wake);
                stalled.insert((instance, url));
                let soonest = retrying.entry(url).or_insert((head.not_before_ms, qid));
                if head.not_before_ms < soonest.0 {
                    *soonest = (head.not_before_ms, qid);
                }
                continue;
            }
            ready.entry(url).or_default().push((seq, qid, head.attempts > 0));
        }
        let mut order: Vec<&str> = ready.keys().copied().collect();
        order.sort_unstable();
        let cap = self.shared.cfg.max_in_flight_per_endpoint;
        let mut chosen: Vec<ReadyEndpoint<(QueueId, bool)>> = Vec::with_capacity(order.len());
        let mut urls: Vec<Arc<str>> = Vec::with_capacity(order.len());
        for url in &order {
            self.endpoint_entry(url, now);
            let Some(ep) = self.endpoints.get_mut(*url) else { continue };
            urls.push(ep.url.clone());
            let permit = ep.breaker.permit(now);
            let waiting = matches!(permit, Permit::Wait(_));
            let (allowed, probe) = match permit {
                Permit::Send => (cap.saturating_sub(ep.in_flight), false),
                Permit::Probe => (usize::from(ep.in_flight == 0), true),
                Permit::Wait(t) => {
                    if let Some(t) = t {
                        soon(t, &mut wake);
                    }
                    (0, false)
                }
            };
            let mut heads = ready.remove(url).unwrap_or_default();
            if waiting {
                stalled.extend(heads.iter().map(|(_, qid, _)| (qid.0, *url)));
            }
            heads.sort_unstable_by_key(|h| h.0);
            let lanes = heads.into_iter().map(|(_, qid, retry)| ReadyLane { lane: (qid, probe), retry }).collect();
            chosen.push(ReadyEndpoint { allowed, lanes });
        }
        // A waiting lane keeps only its queues' heads in memory, so however many lanes one dead
        // endpoint has, their read-ahead never fills MAX_BUFFERED and refuses healthy queues.
        for (lane, qid) in members {
            if stalled.contains(&lane) {
                if let Some(q) = self.queues.get_mut(&qid) {
                    self.buffered -= q.trim_to_head();
                }
            }
        }
        let mut free = Slots {
            first: self.shared.cfg.first_attempt_slots.saturating_sub(self.in_flight.first),
            retry: self.shared.cfg.retry_slots.saturating_sub(self.in_flight.retry),
        };
        let start = if order.is_empty() { 0 } else { self.rr % order.len() };
        self.rr = self.rr.wrapping_add(1);
        let picked = lanes::pick(&mut chosen, start, &mut free);
        let probes = self.recovery_probes(retrying, &order, now, &mut free, &mut wake);
        drop(lanes);
        drop(stalled);
        for (i, (qid, probe)) in picked {
            self.launch(attempts, &snapshot, qid, urls[i].clone(), probe, false);
        }
        for (qid, url) in probes {
            self.launch(attempts, &snapshot, qid, url, false, true);
        }
        for (qid, how) in to_empty {
            self.start_empty(jobs, qid, how);
        }
        for qid in to_load {
            if !self.start_load(jobs, qid) {
                soon(now + SETTLE_POLL_MS, &mut wake);
            }
        }
        wake
    }

    /// The endpoint filed under `url`, created (closed breaker) if it has none yet.
    fn endpoint_entry(&mut self, url: &str, now: u64) -> &mut Endpoint {
        if !self.endpoints.contains_key(url) {
            let key: Arc<str> = Arc::from(url);
            let ep = Endpoint::new(
                key.clone(),
                Breaker::new(self.breaker_config()),
                now,
                self.shared.cfg.breaker_probe_after,
            );
            self.endpoints.insert(key, ep);
        }
        self.endpoints.get_mut(url).expect("inserted above")
    }

    /// Recovery probes (issue 9 §1): an endpoint none of whose lanes can move before a retry
    /// more than `breaker_probe_after` away — and with nothing in flight — has its soonest head
    /// tried once every `breaker_probe_after`, from the retry slots. A failed probe leaves the
    /// event as it was ([`Next::Held`]): waiting for the receiver's return never uses up an
    /// event's attempts. A successful one delivers that head and makes every waiting head of
    /// the endpoint due ([`Self::endpoint_recovered`]), so a backlog drains as soon as the
    /// receiver is back rather than at each head's next step (up to hours). This is what
    /// notices a return when the endpoint failed too few times to open its breaker.
    fn recovery_probes(
        &mut self,
        retrying: HashMap<&str, (u64, QueueId)>,
        ready: &[&str],
        now: u64,
        free: &mut Slots,
        wake: &mut Option<u64>,
    ) -> Vec<(QueueId, Arc<str>)> {
        let every = self.shared.cfg.breaker_probe_after.as_millis() as u64;
        let mut probes = Vec::new();
        for (url, (due, qid)) in retrying {
            if due <= now.saturating_add(every) || ready.binary_search(&url).is_ok() {
                continue; // its schedule tries it soon enough, or it is sending already
            }
            let ep = self.endpoint_entry(url, now);
            if ep.in_flight > 0 {
                continue; // the attempt's end sets the next probe time
            }
            if ep.probe_after_ms > now {
                *wake = Some(wake.map_or(ep.probe_after_ms, |w| w.min(ep.probe_after_ms)));
                continue;
            }
            if free.retry == 0 {
                continue; // a slot's release wakes the loop
            }
            free.retry -= 1;
            probes.push((qid, ep.url.clone()));
        }
        probes
    }

    fn launch(
        &mut self,
        attempts: &mut JoinSet<Finished>,
        snapshot: &Snapshot,
        qid: QueueId,
        url: Arc<str>,
        probe: bool,
        recovery: bool,
    ) {
        let Some(instance) = snapshot.instances.get(&qid.0).cloned() else { return };
        let Some(q) = self.queues.get_mut(&qid) else { return };
        let Some((seq, event)) = q.buf.front().cloned() else { return };
        q.busy = Busy::InFlight;
        let retry = event.attempts > 0;
        if retry {
            self.in_flight.retry += 1;
        } else {
            self.in_flight.first += 1;
        }
        if let Some(ep) = self.endpoints.get_mut(&url) {
            ep.in_flight += 1;
            if probe {
                ep.breaker.probe_sent();
            }
        }
        let record = self.record(&qid.0, &url).cloned().unwrap_or_else(|| EndpointRecord::new(qid.0, &url));
        // The instance's disabled endpoints hear nothing of another one being disabled.
        let disabled = self
            .records
            .get(&qid.0)
            .map(|rows| rows.iter().filter(|r| r.is_disabled()).map(|r| r.url.clone()).collect())
            .unwrap_or_default();
        let shared = self.shared.clone();
        let settling = q_settling(&self.queues, &qid);
        let a = Attempt { queue: qid, seq, event, url, instance, record, disabled, settling, probe, recovery, retry };
        attempts.spawn(attempt::run_guarded(shared, a));
    }

    /// Reads a queue's next events; a queue with nothing in memory may always read its head,
    /// whatever the other queues hold, so a full buffer never stops a lane that could move.
    /// Returns false when the load must wait for the queue's deletes to settle.
    fn start_load(&mut self, jobs: &mut JoinSet<Job>, qid: QueueId) -> bool {
        if self.jobs_running >= MAX_JOBS {
            return true; // a job's end wakes the loop
        }
        let Some(q) = self.queues.get_mut(&qid) else { return true };
        if q.rewinds() && q.is_settling() {
            return false; // reading behind the cursor now could find delivered events again
        }
        let room = MAX_BUFFERED.saturating_sub(self.buffered).min(READ_AHEAD);
        let limit = if q.buf.is_empty() { room.max(1) } else { room };
        if limit == 0 {
            return true;
        }
        q.busy = Busy::Loading(q.gen);
        self.jobs_running += 1;
        let (store, from) = (self.shared.store.clone(), q.load_from());
        jobs.spawn_blocking(move || Job::Loaded {
            queue: qid,
            limit,
            result: guarded(|| reader::load(&store, qid, from, limit)),
        });
        true
    }

    fn start_empty(&mut self, jobs: &mut JoinSet<Job>, qid: QueueId, how: Empty) {
        if self.jobs_running >= MAX_JOBS {
            return;
        }
        let Some(q) = self.queues.get_mut(&qid) else { return };
        q.busy = Busy::Emptying(q.gen);
        self.jobs_running += 1;
        let store = self.shared.store.clone();
        jobs.spawn_blocking(move || Job::Emptied {
            queue: qid,
            how,
            result: guarded(|| reader::empty_queue(&store, qid, how)),
        });
    }

    fn attempt_done(&mut self, done: Result<Finished, tokio::task::JoinError>) {
        let f = match done {
            Ok(f) => f,
            Err(e) => {
                // Attempts catch their own panics ([`attempt::run_guarded`]), so this is a
                // cancellation, which happens only when the dispatcher itself is going away.
                tracing::error!(error = %e, "webhook attempt task cancelled");
                return;
            }
        };
        let now = chatedge_config::time::unix_ms();
        if f.retry {
            self.in_flight.retry -= 1;
        } else {
            self.in_flight.first -= 1;
        }
        let ok = f.answer.is_success();
        let mut recovered = false;
        let probe_every = self.shared.cfg.breaker_probe_after;
        if let Some(ep) = self.endpoints.get_mut(&f.url) {
            ep.in_flight -= 1;
            let wait = if let Next::Held(wait) = f.next { wait } else { probe_every };
            ep.probe_after_ms = now + wait.as_millis() as u64;
            if f.recovery {
                // A failed recovery probe is not an attempt of the schedule: the breaker does
                // not count it. A successful one closes an open breaker like its own probe.
                recovered = ok && ep.breaker.record(now, true, true);
            } else {
                recovered = ep.breaker.record(now, ok, f.probe);
            }
        }
        if f.recovery {
            let outcome = if ok { "recovered" } else { "failed" };
            self.shared.metrics.webhook_recovery_probes.with_label_values(&[outcome]).inc();
        }
        let m = self.shared.metrics.clone();
        if let Some(q) = self.queues.get_mut(&f.queue) {
            q.busy = Busy::Idle;
            if !f.committed {
                if let Some((_, head)) = q.buf.iter_mut().find(|(s, _)| *s == f.seq) {
                    head.not_before_ms = now + READ_RETRY_MS;
                }
                return;
            }
            match f.next {
                Next::Delivered | Next::DeadLetter => {
                    if q.take(f.seq) {
                        self.buffered -= 1;
                    }
                    q.deleted += 1;
                    if q.deleted >= COMPACT_EVERY {
                        // The tombstones of the delivered span would otherwise cost every read.
                        q.deleted = 0;
                        let (i, qn) = f.queue;
                        let from = crate::store::keys::outbox_queue(&i, qn).to_vec();
                        let to = crate::store::keys::outbox(&i, qn, f.seq + 1).to_vec();
                        self.shared.store.compact_later(crate::store::Cf::Outbox, from, to);
                    }
                }
                Next::RetryIn(_) => {
                    if let Some(head) = q.buf.iter_mut().find(|(s, _)| *s == f.seq) {
                        head.1 = f.event.clone();
                    }
                }
                Next::Disable | Next::Held(_) => {}
            }
        }
        let (attempt_label, outcome) = match f.next {
            Next::Delivered => ("delivered", Some("delivered")),
            Next::RetryIn(_) => ("failed_will_retry", Some("failed_will_retry")),
            Next::DeadLetter => ("failed_dead_letter", Some("dead_letter")),
            Next::Disable => ("failed_will_retry", None),
            Next::Held(_) => ("failed_probe", None),
        };
        if !f.counted_on_settle {
            m.webhook_attempts.with_label_values(&[attempt_label]).inc();
            if let Some(outcome) = outcome {
                m.webhook_deliveries.with_label_values(&[outcome]).inc();
            }
        }
        if let Some(rec) = f.record {
            let disabled_now = f.next == Next::Disable;
            self.set_record(f.queue.0, rec.clone());
            if disabled_now {
                tracing::warn!(url = %chatedge_config::redact(&rec.url), reason = %rec.disabled_reason, "webhook endpoint disabled for an instance");
            }
        }
        // The disabled notices were committed with the endpoint's row, in the attempt's batch.
        self.track(f.notices);
        if recovered {
            self.endpoint_recovered(&f.url);
        }
    }

    /// A probe succeeded: every waiting head of the endpoint is due now, so a recovered
    /// endpoint drains at once instead of at each head's next scheduled retry.
    fn endpoint_recovered(&mut self, url: &str) {
        let snapshot = self.shared.config.load();
        for (qid, q) in self.queues.iter_mut() {
            let same = snapshot
                .instances
                .get(&qid.0)
                .and_then(|i| kind_of(qid.1).and_then(|k| i.webhooks.get(k)))
                .is_some_and(|u| u.as_str() == url);
            if let (true, Some((_, head))) = (same, q.buf.front_mut()) {
                head.not_before_ms = 0;
            }
        }
    }

    fn control(&mut self, ctl: Control) {
        match ctl {
            Control::Enable { instance, url, reply } => {
                let was = self.record(&instance, &url).is_some_and(EndpointRecord::is_disabled);
                if !was {
                    let _ = reply.send(Ok(false)); // enabled already: its failing state stays
                    return;
                }
                let rec = EndpointRecord::new(instance, &url);
                self.set_record(instance, rec.clone());
                let store = self.shared.store.clone();
                // Ends when the row's delete is durable; the API waits for it.
                tokio::spawn(async move {
                    let mut batch = Batch::new();
                    rec.write(&mut batch, &instance);
                    let _ = reply.send(store.commit(batch).await.map(|()| was));
                });
            }
            Control::List { instance, reply } => {
                let _ = reply.send(self.views(instance));
            }
        }
    }

    fn views(&self, instance: InstanceId) -> Vec<EndpointView> {
        let snapshot = self.shared.config.load();
        let Some(inst) = snapshot.instances.get(&instance) else { return Vec::new() };
        let mut out: Vec<EndpointView> = Vec::new();
        for kind in chatedge_config::snapshot::WebhookKind::ALL {
            let Some(url) = inst.webhooks.get(kind) else { continue };
            if out.iter().any(|v| v.url == url.as_str()) {
                continue;
            }
            let rec = self.record(&instance, url.as_str());
            let open = self.endpoints.get(url.as_str()).is_some_and(|e| e.breaker.is_open());
            let state = match rec {
                Some(r) if r.is_disabled() => "disabled",
                _ if open => "open",
                Some(r) if r.failing_since_ms > 0 => "failing",
                _ => "healthy",
            };
            let pending = chatedge_config::snapshot::WebhookKind::ALL
                .iter()
                .filter(|k| inst.webhooks.get(**k).is_some_and(|u| u == url))
                .filter_map(|k| self.queues.get(&(instance, super::queue_of(*k))))
                .map(|q| q.buf.len() as u64 + if q.more { READ_AHEAD as u64 } else { 0 })
                .sum();
            out.push(EndpointView {
                url: url.as_str().to_owned(),
                state,
                pending,
                last_error: rec.filter(|r| !r.last_error.is_empty()).map(|r| r.last_error.clone()),
                since_ms: rec
                    .map(|r| if r.is_disabled() { r.disabled_at_ms } else { r.failing_since_ms })
                    .filter(|t| *t > 0),
            });
        }
        out
    }

    /// Once a second: forgets idle endpoints and refreshes the gauges.
    fn tick(&mut self) {
        let now = chatedge_config::time::unix_ms();
        let keep_ms = self.shared.cfg.breaker_window.as_millis() as u64;
        self.endpoints.retain(|_, e| e.in_flight > 0 || e.breaker.is_open() || now.saturating_sub(e.seen_ms) < keep_ms);
        self.forget_unconfigured_rows();
        self.gauges(now);
    }

    /// Deletes the rows of endpoints their instance no longer uses (its URL changed or was
    /// cleared, or the instance is gone), so the rows, and the disabled gauge, stay bounded by
    /// what is configured.
    fn forget_unconfigured_rows(&mut self) {
        let snapshot = self.shared.config.load();
        if snapshot.version == 0 || !self.started {
            return;
        }
        let mut batch = Batch::new();
        self.records.retain(|instance, rows| {
            let inst = snapshot.instances.get(instance);
            rows.retain(|r| {
                let used = inst.is_some_and(|i| {
                    chatedge_config::snapshot::WebhookKind::ALL
                        .iter()
                        .any(|k| i.webhooks.get(*k).is_some_and(|u| u.as_str() == r.url))
                });
                if !used {
                    EndpointRecord::new(*instance, &r.url).write(&mut batch, instance);
                    // a delete
                }
                used
            });
            !rows.is_empty()
        });
        if batch.is_empty() {
            return;
        }
        let store = self.shared.store.clone();
        // Ends when the deletes are durable; a failed one is retried on a later start (the
        // rows are loaded again, and found unused again).
        tokio::spawn(async move {
            if let Err(e) = store.commit(batch).await {
                tracing::warn!(error = %e, "deleting unused webhook endpoint rows failed");
            }
        });
    }

    fn gauges(&self, now: u64) {
        let m = &self.shared.metrics;
        let oldest = self.queues.values().filter_map(|q| q.buf.front().map(|(_, e)| e.created_ms)).min();
        m.webhook_oldest_pending_seconds.set(oldest.map_or(0, |t| now.saturating_sub(t) / 1000) as i64);
        let store = &self.shared.store;
        let estimate = store
            .db()
            .property_int_value_cf(store.cf(crate::store::Cf::Outbox), "rocksdb.estimate-num-keys")
            .ok()
            .flatten()
            .unwrap_or(0);
        m.webhook_backlog_events.set(estimate.max(self.buffered as u64) as i64);
        m.webhook_breakers_open.set(self.endpoints.values().filter(|e| e.breaker.is_open()).count() as i64);
        let disabled = self.records.values().flatten().filter(|r| r.is_disabled()).count();
        m.webhook_endpoints_disabled.set(disabled as i64);
        m.webhook_lanes_active.set(self.lanes as i64);
        m.webhook_slots_in_use.with_label_values(&["first_attempt"]).set(self.in_flight.first as i64);
        m.webhook_slots_in_use.with_label_values(&["retry"]).set(self.in_flight.retry as i64);
        m.outbox_tracked.set(self.buffered as i64);
        m.outbox_in_flight.set((self.in_flight.first + self.in_flight.retry) as i64);
    }
}

/// Runs a blocking job, turning a panic into a store error: the queue it held is released
/// and read again after a pause, like after a failed read.
fn guarded<T>(job: impl FnOnce() -> Result<T, StoreError>) -> Result<T, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(job))
        .unwrap_or_else(|_| Err(StoreError::Rocks("an outbox job panicked".into())))
}

/// The queue's count of deletes not yet durable (a fresh counter when it is not known).
fn q_settling(queues: &HashMap<QueueId, Queue>, qid: &QueueId) -> Arc<std::sync::atomic::AtomicU32> {
    queues.get(qid).map(|q| q.settling.clone()).unwrap_or_default()
}
