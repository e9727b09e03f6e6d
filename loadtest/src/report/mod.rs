//! The report: one [`Report`] built from a scenario's rounds (medians across rounds, ratios
//! to the baseline, per-operation figures, webhook accounting), then rendered as a summary
//! table ([`table`]), one JSON line ([`json`]) and a self-contained HTML page ([`html`]).
//! [`emit`] decides where each goes.

pub mod html;
pub mod json;
pub mod media;
mod svg;
pub mod table;

use std::collections::BTreeMap;
use std::io::Write;

use anyhow::{Context, Result};
use hdrhistogram::Histogram;
use serde::Serialize;

use crate::backlog::Drain;
use crate::cli::OutputArgs;
use crate::client::Protocol;
use crate::commits::Commits;
use crate::ledger::{Accounting, Latencies};
use crate::rounds::{Round, Target};
use crate::stats::{self, median, Percentiles, RunStats, SecondPoint};

/// What was run, for the report's heading.
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    pub scenario: &'static str,
    /// e.g. "open loop, 1000 req/s for 10 s per round, 4 instances".
    pub description: String,
    pub data_plane: String,
    /// The HTTP version every measured request used (`http1`, `h2`, `h3`), the baseline's too.
    pub protocol: Protocol,
    /// How it was carried, e.g. "HTTP/3 over QUIC, 4 connections".
    pub transport: String,
    pub coordinated_omission: String,
    pub instances: u32,
    pub duration_s: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rate: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u32>,
    pub rounds: u32,
}

/// One operation across all chatedge rounds.
#[derive(Debug, Clone, Serialize)]
pub struct OpSummary {
    pub ok: u64,
    pub errors: u64,
    pub throughput_rps: f64,
    pub latency_ms: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct RoundSummary {
    pub target: Target,
    pub round: u32,
    pub throughput_rps: f64,
    pub latency_ms: Percentiles,
    pub ok: u64,
    pub errors: u64,
    pub elapsed_s: f64,
    /// After a chatedge round: the backlog it left and the wait before the next round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub backlog: Option<Drain>,
    /// During a chatedge round: the server's group commits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commits: Option<Commits>,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct LatencyRatio {
    pub p50: f64,
    pub p99: f64,
}

/// What the charts draw (not part of the JSON).
#[derive(Default)]
pub struct Charts {
    /// The chatedge round with the median throughput.
    pub chatedge: Option<RunStats>,
    /// The baseline round with the median throughput.
    pub baseline: Option<RunStats>,
    /// Every round's per-second series, in run order.
    pub rounds: Vec<(Target, u32, Vec<SecondPoint>)>,
    pub webhooks: Option<Latencies>,
}

#[derive(Serialize)]
pub struct Report {
    #[serde(flatten)]
    pub meta: Meta,
    /// Median across chatedge rounds.
    pub throughput_rps: f64,
    /// Median of each percentile across chatedge rounds.
    pub latency_ms: Percentiles,
    /// Requests that got an answer or failed, all chatedge rounds.
    pub requests: u64,
    pub ok: u64,
    /// Failed requests, all chatedge rounds.
    pub errors: u64,
    pub errors_by_kind: BTreeMap<String, u64>,
    /// One message per error kind.
    pub error_samples: BTreeMap<String, String>,
    pub operations: BTreeMap<String, OpSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_rps: Option<f64>,
    /// chatedge throughput / baseline throughput (medians).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ratio: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub baseline_latency_ms: Option<Percentiles>,
    /// chatedge latency / baseline latency (medians).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub latency_ratio: Option<LatencyRatio>,
    pub round_results: Vec<RoundSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<Accounting>,
    /// The webhook scenarios' verdict: why the run failed, empty when it passed (see
    /// `Accounting::defects`); absent for the other scenarios.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub defects: Option<Vec<String>>,
    /// Accepted messages still waiting in the instances' queues when the run ended.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queued_after_run: Option<u64>,
    /// The media scenario's per-route figures and the server's memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<media::MediaSummary>,
    pub notes: Vec<String>,
    #[serde(skip)]
    pub charts: Charts,
}

/// The round whose throughput is the median (the lower middle for an even count).
fn median_round(rounds: &[&Round]) -> Option<RunStats> {
    let mut sorted: Vec<&&Round> = rounds.iter().collect();
    sorted.sort_by(|a, b| a.stats.throughput().total_cmp(&b.stats.throughput()));
    sorted.get(sorted.len().saturating_sub(1) / 2).map(|r| r.stats.clone())
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        0.0
    }
}

/// Errors by kind (summed) and one sample message per kind, over `rounds`.
fn errors_of(rounds: &[&Round]) -> (BTreeMap<String, u64>, BTreeMap<String, String>) {
    let mut by_kind = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for r in rounds {
        for (k, v) in &r.stats.errors {
            *by_kind.entry(k.clone()).or_insert(0) += v;
        }
        for (k, v) in &r.stats.error_samples {
            samples.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    (by_kind, samples)
}

/// Each operation over `rounds`: counts summed, histograms merged, throughput over the
/// rounds' total time.
fn operations_of(rounds: &[&Round]) -> BTreeMap<String, OpSummary> {
    let mut merged: BTreeMap<String, (u64, u64, f64, Histogram<u64>)> = BTreeMap::new();
    for r in rounds {
        for (op, s) in &r.stats.ops {
            let e = merged.entry(op.clone()).or_insert_with(|| (0, 0, 0.0, stats::histogram()));
            e.0 += s.ok;
            e.1 += s.errors;
            e.2 += r.stats.elapsed.as_secs_f64();
            // Same bounds and precision on both sides, so adding cannot fail.
            let _ = e.3.add(&s.hist);
        }
    }
    merged
        .into_iter()
        .map(|(op, (ok, errors, secs, hist))| {
            let throughput_rps = ratio(ok as f64, secs);
            (op, OpSummary { ok, errors, throughput_rps, latency_ms: Percentiles::of(&hist) })
        })
        .collect()
}

/// A note for every chatedge round whose backlog did not drain before the next round (one
/// only when the gauge could not be read at all: the cause is the same every round).
fn backlog_notes(rounds: &[Round]) -> Vec<String> {
    let drains: Vec<(u32, &Drain)> = rounds.iter().filter_map(|r| Some((r.number, r.backlog.as_ref()?))).collect();
    if !drains.is_empty() && drains.iter().all(|(_, d)| d.left.is_none()) {
        return drains[0].1.shortfall(drains[0].0).into_iter().collect();
    }
    drains.iter().filter_map(|(n, d)| d.shortfall(*n)).collect()
}

/// The round table's two backlog columns: messages queued at the round's end, and the
/// drain's seconds (with what was left when it gave up). Empty for baseline rounds.
pub const BACKLOG_HEADER: [&str; 2] = ["queued at end", "drain s"];

/// Which optional columns the round table has ([`Report::round_extras`]).
#[derive(Debug, Clone, Copy)]
pub struct RoundExtras {
    pub backlogs: bool,
    pub commits: bool,
}

impl RoundExtras {
    /// Their headers.
    pub fn header(self) -> Vec<String> {
        let mut h = Vec::new();
        if self.backlogs {
            h.extend(BACKLOG_HEADER.map(String::from));
        }
        if self.commits {
            h.extend(crate::commits::HEADER.map(String::from));
        }
        h
    }

    /// Their cells for one round (empty where the round has none).
    pub fn cells(self, x: &RoundSummary) -> Vec<String> {
        let mut c = Vec::new();
        if self.backlogs {
            c.extend(backlog_cells(x.backlog.as_ref()));
        }
        if self.commits {
            c.extend(crate::commits::cells(x.commits.as_ref()));
        }
        c
    }
}

pub fn backlog_cells(drain: Option<&Drain>) -> [String; 2] {
    let Some(d) = drain else { return [String::new(), String::new()] };
    let queued = d.at_end.map_or_else(|| "?".to_owned(), |n| n.to_string());
    let waited = d.waited.as_secs_f64();
    let drain = match (d.drained, d.left) {
        (true, _) => format!("{waited:.2}"),
        (false, Some(left)) => format!("{waited:.2}, {left} left"),
        (false, None) => "unread".to_owned(),
    };
    [queued, drain]
}

impl Report {
    /// Whether the rounds were separated by backlog drains (the table shows their columns).
    pub fn has_backlogs(&self) -> bool {
        self.round_results.iter().any(|r| r.backlog.is_some())
    }

    /// Whether any round read the server's group commits (the table shows their columns).
    pub fn has_commits(&self) -> bool {
        self.round_results.iter().any(|r| r.commits.is_some())
    }

    /// The round table's columns after the fixed ones, the same in text and HTML: the
    /// backlog's when the rounds were separated by drains, the group commits' when read.
    pub fn round_extras(&self) -> RoundExtras {
        RoundExtras { backlogs: self.has_backlogs(), commits: self.has_commits() }
    }

    pub fn new(meta: Meta, rounds: Vec<Round>) -> Report {
        let of = |t: Target| rounds.iter().filter(|r| r.target == t).collect::<Vec<_>>();
        let (chatedge, baseline) = (of(Target::Chatedge), of(Target::Baseline));
        let throughput = |rs: &[&Round]| median(&rs.iter().map(|r| r.stats.throughput()).collect::<Vec<_>>());
        let latency =
            |rs: &[&Round]| Percentiles::median_of(&rs.iter().map(|r| r.stats.percentiles()).collect::<Vec<_>>());

        let (errors_by_kind, error_samples) = errors_of(&chatedge);
        let operations = operations_of(&chatedge);
        let ok: u64 = chatedge.iter().map(|r| r.stats.ok).sum();
        let errors: u64 = errors_by_kind.values().sum();
        let throughput_rps = throughput(&chatedge);
        let latency_ms = latency(&chatedge);
        let (baseline_rps, baseline_latency_ms) =
            if baseline.is_empty() { (None, None) } else { (Some(throughput(&baseline)), Some(latency(&baseline))) };
        let round_results = rounds
            .iter()
            .map(|r| RoundSummary {
                target: r.target,
                round: r.number,
                throughput_rps: r.stats.throughput(),
                latency_ms: r.stats.percentiles(),
                ok: r.stats.ok,
                errors: r.stats.error_count(),
                elapsed_s: r.stats.elapsed.as_secs_f64(),
                backlog: r.backlog.clone(),
                commits: r.commits,
            })
            .collect();
        let notes = backlog_notes(&rounds);
        Report {
            throughput_rps,
            latency_ms,
            requests: ok + errors,
            ok,
            errors,
            errors_by_kind,
            error_samples,
            operations,
            ratio: baseline_rps.map(|b| ratio(throughput_rps, b)),
            latency_ratio: baseline_latency_ms
                .map(|b| LatencyRatio { p50: ratio(latency_ms.p50, b.p50), p99: ratio(latency_ms.p99, b.p99) }),
            baseline_rps,
            baseline_latency_ms,
            round_results,
            webhooks: None,
            defects: None,
            queued_after_run: None,
            media: None,
            notes,
            charts: Charts {
                chatedge: median_round(&chatedge),
                baseline: median_round(&baseline),
                rounds: rounds.iter().map(|r| (r.target, r.number, r.stats.series.clone())).collect(),
                webhooks: None,
            },
            meta,
        }
    }

    pub fn with_webhooks(mut self, accounting: Accounting, latencies: Latencies) -> Report {
        self.webhooks = Some(accounting);
        self.charts.webhooks = Some(latencies);
        self
    }

    pub fn with_defects(mut self, defects: Vec<String>) -> Report {
        self.defects = Some(defects);
        self
    }

    pub fn with_media(mut self, media: media::MediaSummary) -> Report {
        self.media = Some(media);
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Report {
        self.notes.push(note.into());
        self
    }
}

/// Prints the table (stdout, or stderr with `--json`), writes `--html`, and prints the JSON
/// line last on stdout with `--json`.
pub fn emit(report: &Report, output: &OutputArgs) -> Result<()> {
    let text = table::render(report);
    if output.json {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    if let Some(path) = &output.html {
        std::fs::write(path, html::render(report)).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("HTML report written to {}", path.display());
    }
    if output.json {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", json::render(report)?)?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
