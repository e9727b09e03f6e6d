//! The load driver: runs a [`Workload`] for a duration, either open loop (a constant arrival
//! rate on a fixed schedule; each latency is measured from the request's *intended* send time,
//! so a stalled server cannot hide its stall by slowing the client down — coordinated-omission
//! correction) or closed loop (a fixed number of workers, each sending when its previous
//! request answered; optionally corrected with HdrHistogram's `record_correct`). It owns the
//! schedule, the in-flight bound, the live progress bar and the [`Recorder`].

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::sync::Semaphore;
// tokio's clock, so tests can pause and advance it; the recorder gets `std` instants.
use tokio::time::Instant;

use crate::client::CallError;
use crate::progress;
use crate::stats::{Recorder, RunStats};

/// One kind of request stream. `seq` numbers the requests of a run from 0.
pub trait Workload: Send + Sync + 'static {
    /// The operation label of request `seq` (per-operation stats).
    fn op(&self, seq: u64) -> &'static str;
    /// Sends request `seq`; `Ok` when the answer is what the route promises.
    fn call(&self, seq: u64) -> impl Future<Output = Result<(), CallError>> + Send;
}

/// How requests are paced.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Pace {
    /// `rate` requests per second on a fixed schedule, at most `max_in_flight` at once.
    Open { rate: f64, max_in_flight: u32 },
    /// `concurrency` workers back to back; `co_interval` turns on `record_correct`.
    Closed { concurrency: u32, co_interval: Option<Duration> },
}

impl Pace {
    /// Connections the client pool should keep.
    pub fn pool_size(&self) -> usize {
        match *self {
            Pace::Open { rate, max_in_flight } => (rate / 10.0).clamp(16.0, f64::from(max_in_flight)) as usize,
            Pace::Closed { concurrency, .. } => concurrency as usize,
        }
    }

    /// How the report should describe coordinated-omission handling.
    pub fn coordinated_omission(&self) -> String {
        match self {
            Pace::Open { .. } => {
                "open loop: latency measured from each request's scheduled send time (from its actual \
                 send when the 1 ms timer sent it up to 1 ms early)"
                    .into()
            }
            Pace::Closed { co_interval: Some(i), .. } => {
                format!("closed loop: record_correct with expected interval {} ms", i.as_secs_f64() * 1000.0)
            }
            Pace::Closed { co_interval: None, .. } => {
                "closed loop: plain service time, not corrected (pass --co-interval to correct)".into()
            }
        }
    }
}

struct Shared {
    /// Locked once per finished request for a few additions, never across an `.await`.
    recorder: Mutex<Recorder>,
    ok: AtomicU64,
    errors: AtomicU64,
}

impl Shared {
    fn recorder(&self) -> MutexGuard<'_, Recorder> {
        // A panicking task cannot leave the recorder inconsistent: each update is a few adds.
        self.recorder.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn record(
        &self,
        op: &'static str,
        result: Result<(), CallError>,
        done: Instant,
        latency: Duration,
        co: Option<Duration>,
    ) {
        let done = done.into_std();
        match result {
            Ok(()) => {
                self.recorder().ok(op, done, latency, co);
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                self.recorder().error(op, done, &e);
                self.errors.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// Runs `workload` for `duration` at `pace`, then waits for the requests still in flight.
pub async fn drive<W: Workload>(workload: Arc<W>, pace: Pace, duration: Duration, bar: &ProgressBar) -> RunStats {
    let start = Instant::now();
    let recorder = Mutex::new(Recorder::new(start.into_std()));
    let shared = Arc::new(Shared { recorder, ok: AtomicU64::new(0), errors: AtomicU64::new(0) });
    // Stopped by the abort below, once the run is over.
    let ticker = tokio::spawn(tick(shared.clone(), bar.clone(), start, duration));
    match pace {
        Pace::Open { rate, max_in_flight } => open_loop(&workload, &shared, start, duration, rate, max_in_flight).await,
        Pace::Closed { concurrency, co_interval } => {
            closed_loop(&workload, &shared, start, duration, concurrency, co_interval).await
        }
    }
    ticker.abort();
    bar.set_position(progress::millis(duration));
    let recorder = std::mem::replace(&mut *shared.recorder(), Recorder::new(start.into_std()));
    recorder.finish(duration)
}

async fn tick(shared: Arc<Shared>, bar: ProgressBar, start: Instant, duration: Duration) {
    let mut last = (Instant::now(), 0u64);
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = Instant::now();
        let ok = shared.ok.load(Ordering::Relaxed);
        let errors = shared.errors.load(Ordering::Relaxed);
        let rps = (ok - last.1) as f64 / now.duration_since(last.0).as_secs_f64().max(1e-3);
        last = (now, ok);
        bar.set_position(progress::millis(now.duration_since(start).min(duration)));
        bar.set_message(format!("{ok} ok, {errors} errors, {rps:.0}/s"));
    }
}

/// The resolution of tokio's timer.
const TIMER_TICK: Duration = Duration::from_millis(1);

/// Open-loop latency: from the intended send time when the request went out late (the
/// coordinated-omission correction: a stalled server cannot hide the wait it caused), from
/// the actual send when it went out early (up to one timer tick, see [`TIMER_TICK`]).
pub fn latency_since(intended: Instant, sent: Instant, done: Instant) -> Duration {
    done.saturating_duration_since(intended.min(sent))
}

async fn open_loop<W: Workload>(
    workload: &Arc<W>,
    shared: &Arc<Shared>,
    start: Instant,
    duration: Duration,
    rate: f64,
    max_in_flight: u32,
) {
    let permits = Arc::new(Semaphore::new(max_in_flight as usize));
    let interval_ns = 1e9 / rate.max(1e-6);
    let mut seq: u64 = 0;
    loop {
        let offset = Duration::from_nanos((seq as f64 * interval_ns) as u64);
        if offset >= duration {
            break;
        }
        let intended = start + offset;
        // tokio's timer has 1 ms ticks and rounds deadlines up, so sleeping until `intended`
        // would send every request up to 1 ms late and bill that to the server. Waking one
        // tick early sends it within the millisecond before `intended` instead; its latency
        // then counts from the actual send (see `latency_since`).
        let wake = intended.checked_sub(TIMER_TICK).unwrap_or(start);
        if wake > Instant::now() {
            tokio::time::sleep_until(wake).await;
        }
        // When the in-flight bound is reached the schedule waits here; the wait is part of the
        // measured latency because it is measured from `intended`.
        let Ok(permit) = permits.clone().acquire_owned().await else {
            break;
        };
        let (w, s) = (workload.clone(), shared.clone());
        // Ends when its request does (bounded by the client timeout); awaited through the
        // permits below.
        tokio::spawn(async move {
            let op = w.op(seq);
            let sent = Instant::now();
            let result = w.call(seq).await;
            let done = Instant::now();
            s.record(op, result, done, latency_since(intended, sent, done), None);
            drop(permit);
        });
        seq += 1;
    }
    // Every request is bounded by the client timeout, so this wait is too.
    let _ = permits.acquire_many(max_in_flight).await;
}

async fn closed_loop<W: Workload>(
    workload: &Arc<W>,
    shared: &Arc<Shared>,
    start: Instant,
    duration: Duration,
    concurrency: u32,
    co_interval: Option<Duration>,
) {
    let next = Arc::new(AtomicU64::new(0));
    let end = start + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (w, s, next) = (workload.clone(), shared.clone(), next.clone());
            // Stops at `end`; joined below.
            tokio::spawn(async move {
                while Instant::now() < end {
                    let seq = next.fetch_add(1, Ordering::Relaxed);
                    let op = w.op(seq);
                    let sent = Instant::now();
                    let result = w.call(seq).await;
                    let done = Instant::now();
                    s.record(op, result, done, done.saturating_duration_since(sent), co_interval);
                }
            })
        })
        .collect();
    for w in workers {
        let _ = w.await;
    }
}

#[cfg(test)]
mod tests;
