//! Measurements: the [`Recorder`] one run fills (an HDR histogram of latencies in
//! microseconds, one per operation, a per-second time series, errors by kind), the
//! [`RunStats`] it turns into, and the pure summaries reports print: [`Percentiles`] (p50, p90,
//! p99, p99.9, max, mean in milliseconds) and medians across rounds.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::client::CallError;

/// Largest latency the histograms hold (longer ones saturate at this value): one hour.
pub const MAX_LATENCY_US: u64 = 3_600_000_000;

/// A latency histogram in microseconds, 3 significant figures.
pub fn histogram() -> Histogram<u64> {
    histogram_with(3)
}

fn histogram_with(sigfig: u8) -> Histogram<u64> {
    match Histogram::new_with_bounds(1, MAX_LATENCY_US, sigfig) {
        Ok(h) => h,
        Err(e) => unreachable!("constant histogram bounds are valid: {e:?}"),
    }
}

pub fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).clamp(1, MAX_LATENCY_US)
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Percentiles {
    /// The summary of a histogram in microseconds (all zero when it is empty).
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }

    /// Each field's median across runs.
    pub fn median_of(list: &[Percentiles]) -> Percentiles {
        let field = |f: fn(&Percentiles) -> f64| median(&list.iter().map(f).collect::<Vec<_>>());
        Percentiles {
            p50: field(|p| p.p50),
            p90: field(|p| p.p90),
            p99: field(|p| p.p99),
            p999: field(|p| p.p999),
            max: field(|p| p.max),
            mean: field(|p| p.mean),
        }
    }
}

/// The median (mean of the middle two for an even count; 0 for none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v[mid]
    } else {
        (v[mid - 1] + v[mid]) / 2.0
    }
}

/// One second of a run, by completion time.
#[derive(Debug, Clone, Serialize)]
pub struct SecondPoint {
    pub t_s: u32,
    pub ok: u64,
    pub errors: u64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

struct Second {
    hist: Histogram<u64>,
    ok: u64,
    errors: u64,
}

/// One operation's share of a run (`send-text`, `status`, ...).
#[derive(Debug, Clone)]
pub struct OpStats {
    pub ok: u64,
    pub errors: u64,
    pub hist: Histogram<u64>,
}

impl OpStats {
    fn new() -> OpStats {
        OpStats { ok: 0, errors: 0, hist: histogram() }
    }
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct RunStats {
    pub ok: u64,
    pub errors: BTreeMap<String, u64>,
    /// One message per error kind, to explain it.
    pub error_samples: BTreeMap<String, String>,
    /// From the start of the schedule to the last completion.
    pub elapsed: Duration,
    pub latency: Histogram<u64>,
    pub ops: BTreeMap<String, OpStats>,
    pub series: Vec<SecondPoint>,
}

impl RunStats {
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Successful requests per second.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.ok as f64 / secs
        } else {
            0.0
        }
    }

    pub fn percentiles(&self) -> Percentiles {
        Percentiles::of(&self.latency)
    }

    /// Two runs over the same period (streams run side by side) as one: counts and errors
    /// summed, histograms merged, operations side by side, the longer elapsed time. A second's
    /// p50/p99/max is the higher of the two streams' (per-second histograms are not kept).
    pub fn merge(mut self, other: RunStats) -> RunStats {
        self.ok += other.ok;
        for (kind, n) in other.errors {
            *self.errors.entry(kind).or_insert(0) += n;
        }
        for (kind, sample) in other.error_samples {
            self.error_samples.entry(kind).or_insert(sample);
        }
        self.elapsed = self.elapsed.max(other.elapsed);
        // Same bounds and precision on both sides, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        for (op, theirs) in other.ops {
            match self.ops.get_mut(&op) {
                Some(ours) => {
                    ours.ok += theirs.ok;
                    ours.errors += theirs.errors;
                    let _ = ours.hist.add(&theirs.hist);
                }
                None => {
                    self.ops.insert(op, theirs);
                }
            }
        }
        for point in other.series {
            match self.series.iter_mut().find(|p| p.t_s == point.t_s) {
                Some(p) => {
                    p.ok += point.ok;
                    p.errors += point.errors;
                    p.p50_ms = p.p50_ms.max(point.p50_ms);
                    p.p99_ms = p.p99_ms.max(point.p99_ms);
                    p.max_ms = p.max_ms.max(point.max_ms);
                }
                None => self.series.push(point),
            }
        }
        self.series.sort_by_key(|p| p.t_s);
        self
    }
}

/// Collects one run's results; shared by the run's tasks behind a mutex.
pub struct Recorder {
    start: Instant,
    all: Histogram<u64>,
    ops: BTreeMap<&'static str, OpStats>,
    seconds: Vec<Second>,
    errors: BTreeMap<String, u64>,
    error_samples: BTreeMap<String, String>,
    ok: u64,
    last_done: Option<Instant>,
}

impl Recorder {
    pub fn new(start: Instant) -> Recorder {
        Recorder {
            start,
            all: histogram(),
            ops: BTreeMap::new(),
            seconds: Vec::new(),
            errors: BTreeMap::new(),
            error_samples: BTreeMap::new(),
            ok: 0,
            last_done: None,
        }
    }

    fn second(&mut self, done: Instant) -> &mut Second {
        let index = done.saturating_duration_since(self.start).as_secs() as usize;
        while self.seconds.len() <= index {
            self.seconds.push(Second { hist: histogram_with(2), ok: 0, errors: 0 });
        }
        &mut self.seconds[index]
    }

    fn done_at(&mut self, done: Instant) {
        self.last_done = Some(self.last_done.map_or(done, |l| l.max(done)));
    }

    /// A success that took `latency`. With `correct_interval`, latencies longer than it also
    /// record the requests a steady client would have sent meanwhile (HdrHistogram's
    /// `record_correct`), for closed-loop coordinated-omission correction.
    pub fn ok(&mut self, op: &'static str, done: Instant, latency: Duration, correct_interval: Option<Duration>) {
        let us = micros(latency);
        let record = |h: &mut Histogram<u64>| match correct_interval {
            Some(i) => {
                let _ = h.record_correct(us, micros(i));
            }
            None => h.saturating_record(us),
        };
        record(&mut self.all);
        let op_stats = self.ops.entry(op).or_insert_with(OpStats::new);
        op_stats.ok += 1;
        record(&mut op_stats.hist);
        let second = self.second(done);
        second.ok += 1;
        second.hist.saturating_record(us);
        self.ok += 1;
        self.done_at(done);
    }

    /// A step's latency, recorded only in its operation's histogram (not in the run's
    /// overall latency, throughput or time series): e.g. `create` within a whole pairing.
    pub fn step(&mut self, op: &'static str, latency: Duration) {
        let op_stats = self.ops.entry(op).or_insert_with(OpStats::new);
        op_stats.ok += 1;
        op_stats.hist.saturating_record(micros(latency));
    }

    pub fn error(&mut self, op: &'static str, done: Instant, error: &CallError) {
        let kind = error.kind();
        *self.errors.entry(kind.clone()).or_insert(0) += 1;
        self.error_samples.entry(kind).or_insert_with(|| error.to_string());
        self.ops.entry(op).or_insert_with(OpStats::new).errors += 1;
        self.second(done).errors += 1;
        self.done_at(done);
    }

    /// `minimum` is the scheduled length of the run: a run that ends early still counts it.
    pub fn finish(self, minimum: Duration) -> RunStats {
        let elapsed = self.last_done.map_or(Duration::ZERO, |d| d.saturating_duration_since(self.start)).max(minimum);
        let series = self
            .seconds
            .iter()
            .enumerate()
            .map(|(t, s)| {
                let p = Percentiles::of(&s.hist);
                SecondPoint { t_s: t as u32, ok: s.ok, errors: s.errors, p50_ms: p.p50, p99_ms: p.p99, max_ms: p.max }
            })
            .collect();
        RunStats {
            ok: self.ok,
            errors: self.errors,
            error_samples: self.error_samples,
            elapsed,
            latency: self.all,
            ops: self.ops.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
            series,
        }
    }
}

#[cfg(test)]
mod tests;
