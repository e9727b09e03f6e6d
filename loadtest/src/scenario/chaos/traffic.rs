//! The chaos scenario's traffic: send-text workers (open loop, `--rate` spread over
//! `--concurrency` workers, each with at most one request in flight; the workers tick in step,
//! so requests come in bursts of `--concurrency` and a kill often lands mid-burst) publishing
//! every 200 to
//! the books, and the pairing task that creates and pairs new instances during the run and
//! pairs again those whose device was removed. Every loop ends at the [`Stop`] signal, or at
//! `--max-messages`; each request is bounded by the client's timeout. Tasks on the scenario's
//! runtime, owned by the `JoinSet` in [`super::run`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use super::book::ChaosBook;
use super::state::{Failures, Fleet, Server, Stop, Tally};
use crate::client::{CallError, Http};
use crate::provision::{Instance, Provisioner};
use crate::sink::Sink;
use crate::stats::{self, Percentiles};

/// Attempts to get one instance connected at the end of the run, before the drain.
const FINAL_PAIR_ATTEMPTS: u32 = 5;
/// Pause between those attempts.
const FINAL_PAIR_PAUSE: Duration = Duration::from_millis(500);

/// What every task of the scenario shares.
pub struct Shared {
    pub http: Http,
    pub provisioner: Provisioner,
    pub sink: Arc<Sink>,
    pub book: Arc<ChaosBook>,
    pub server: Server,
    pub fleet: Fleet,
    pub stop: Stop,
    pub sends: Tally,
    pub pairings: Tally,
    /// send-text requests started (the next request's sequence number).
    pub attempted: AtomicU64,
    pub acknowledged: AtomicU64,
    pub kills: AtomicU64,
}

impl Shared {
    /// Everything at its start: no server process seen yet as down, nothing counted.
    pub fn new(http: Http, provisioner: Provisioner, sink: Arc<Sink>, book: Arc<ChaosBook>, fleet: Fleet) -> Self {
        Shared {
            http,
            provisioner,
            sink,
            book,
            server: Server::default(),
            fleet,
            stop: Stop::default(),
            sends: Tally::default(),
            pairings: Tally::default(),
            attempted: AtomicU64::new(0),
            acknowledged: AtomicU64::new(0),
            kills: AtomicU64::new(0),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    zaap_id: String,
    message_id: String,
}

/// One send-text worker: a request every `every` until the stop or `max` requests in all.
/// Returns the latencies of its acknowledged sends.
pub async fn sender(shared: Arc<Shared>, bodies: Arc<Vec<Bytes>>, every: Duration, max: u64) -> Histogram<u64> {
    let mut hist = stats::histogram();
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shared.stop.wait() => break,
        }
        let seq = shared.attempted.fetch_add(1, Ordering::Relaxed);
        if seq >= max {
            break;
        }
        let Some(member) = shared.fleet.nth(seq) else { continue };
        let body = bodies[(seq % bodies.len() as u64) as usize].clone();
        let seen = shared.server.seen();
        let t0 = Instant::now();
        let answer = shared.http.post(member.send_text.clone(), None, body).await.and_then(|r| r.json::<Accepted>());
        match answer {
            Ok(a) => {
                // From the send, not the answer: webhook latency as the customer sees it.
                shared.book.publish(a.zaap_id, a.message_id, t0);
                shared.acknowledged.fetch_add(1, Ordering::Relaxed);
                hist.saturating_record(stats::micros(t0.elapsed()));
            }
            Err(e) => shared.sends.fail(shared.server.disturbed(seen), &e),
        }
    }
    hist
}

/// Pairings during and after the run.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PairingReport {
    /// Instances provisioned before the chaos started.
    pub initial: u64,
    /// Instances created during the run.
    pub created: u64,
    /// Of those, paired during the run (and then sent to).
    pub paired: u64,
    /// Instances paired again after their device was removed.
    pub paired_again: u64,
    /// Created during the run but never paired (no messages went to them).
    pub never_paired: u64,
    /// Instances that were not connected after the run and could not be paired again
    /// (their messages stay queued).
    pub disconnected_at_end: u64,
    /// Failed create / pair steps, by server state and kind.
    pub failures: Failures,
    /// qr-code → connected, for every successful pairing (new or again).
    pub pair_ms: Percentiles,
}

/// Creates and pairs an instance every `every` (up to `max_instances` in all) and pairs
/// again those logged out, until the stop. `next_index` names the next instance's sink URLs.
pub async fn pairings(shared: Arc<Shared>, every: Duration, max_instances: usize, next_index: u32) -> PairingReport {
    let mut report = PairingReport::default();
    let mut hist = stats::histogram();
    let mut pending: Vec<(Instance, Instant)> = Vec::new();
    let mut index = next_index;
    while !shared.stop.nap(every).await {
        if shared.fleet.len() + pending.len() < max_instances {
            if let Some(instance) = create(&shared, index).await {
                report.created += 1;
                pending.push((instance, Instant::now()));
            }
            index += 1;
        }
        let mut still = Vec::new();
        for (instance, since) in pending {
            if shared.stop.stopped() || !pair_once(&shared, &instance).await {
                still.push((instance, since));
            } else if shared.fleet.add(&shared.provisioner.data_plane, instance).is_ok() {
                report.paired += 1;
                hist.saturating_record(stats::micros(since.elapsed()));
            }
        }
        pending = still;
        for member in shared.fleet.logged_out() {
            let started = Instant::now();
            if !shared.stop.stopped() && pair_once(&shared, &member.instance).await {
                member.logged_out.store(false, Ordering::Release);
                report.paired_again += 1;
                hist.saturating_record(stats::micros(started.elapsed()));
            }
        }
    }
    report.never_paired = pending.len() as u64;
    report.failures = shared.pairings.snapshot();
    report.pair_ms = Percentiles::of(&hist);
    report
}

/// Creates instance `index` with its webhooks on the sink and registers its secret.
async fn create(shared: &Shared, index: u32) -> Option<Instance> {
    let seen = shared.server.seen();
    let hooks = shared.sink.urls(index);
    match shared.provisioner.create(index, Some(&hooks)).await {
        Ok(instance) => {
            let secret = instance.webhook_secret.as_deref().unwrap_or_default();
            if let Err(e) = shared.sink.register(index, secret) {
                shared.pairings.fail(false, &CallError::BadResponse(format!("webhookSecret: {e}")));
                return None;
            }
            Some(instance)
        }
        Err(e) => {
            shared.pairings.fail(shared.server.disturbed(seen), &e);
            None
        }
    }
}

/// One try at pairing `instance` (a no-op for a connected one); failures are tallied.
async fn pair_once(shared: &Shared, instance: &Instance) -> bool {
    let seen = shared.server.seen();
    match shared.provisioner.pair_again(instance).await {
        Ok(_) => true,
        Err(e) => {
            shared.pairings.fail(shared.server.disturbed(seen), &e);
            false
        }
    }
}

/// After the run: every instance traffic went to is connected, pairing again those that are
/// not (a logout whose answer a kill swallowed, a pairing cut short). Returns how many could
/// not be connected.
pub async fn connect_all(shared: &Shared) -> u64 {
    let mut failed = 0;
    for member in shared.fleet.all() {
        let mut ok = false;
        for _ in 0..FINAL_PAIR_ATTEMPTS {
            if matches!(shared.provisioner.connected(&member.instance).await, Ok(true))
                || shared.provisioner.pair_again(&member.instance).await.is_ok()
            {
                ok = true;
                break;
            }
            tokio::time::sleep(FINAL_PAIR_PAUSE).await;
        }
        failed += u64::from(!ok);
    }
    failed
}
