//! The chaos scenario's final ledger: one [`ChaosReport`], the [`defects`] it shows (what
//! breaks chatedge's promise, as opposed to what a kill is allowed to cost), a plain-text
//! rendering for people and one JSON line for machines. Pure; no I/O but [`emit`].

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use serde::Serialize;

use super::book::ChaosAccounting;
use super::faults::{FaultCount, Kills, NetworkFaults};
use super::state::Failures;
use super::traffic::PairingReport;
use crate::stats::{median, Percentiles};

/// min / median / max of a few durations, in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Spread {
    pub min: f64,
    pub median: f64,
    pub max: f64,
}

impl Spread {
    pub fn of(values: &[f64]) -> Spread {
        let min = values.iter().copied().reduce(f64::min).unwrap_or(0.0);
        let max = values.iter().copied().reduce(f64::max).unwrap_or(0.0);
        Spread { min, median: median(values), max }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Sends {
    /// send-text requests made.
    pub attempted: u64,
    /// Answered 200.
    pub acknowledged: u64,
    /// Acknowledged per second of chaos.
    pub acknowledged_per_s: f64,
    /// Request → 200, acknowledged sends only.
    pub latency_ms: Percentiles,
    /// Failed sends, by whether the server was down meanwhile (expected) or up.
    pub failures: Failures,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ProcessReport {
    pub kills: u64,
    pub restarts: u64,
    pub unexpected_exits: u64,
    /// Restart (spawn) → both planes listening.
    pub time_to_serve_ms: Spread,
    /// kill → both planes listening again.
    pub downtime_ms: Spread,
    pub restart_errors: Vec<String>,
    /// How the final SIGTERM went ("exit status 0 after 120 ms", ...).
    pub final_stop: String,
    pub final_stop_clean: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Drain {
    pub waited_s: f64,
    /// Every acknowledged message had its DeliveryCallback (and SENT) when it ended.
    pub complete: bool,
    /// Messages in the instances' queues when the books were settled.
    pub queued_at_end: u64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ChaosReport {
    pub scenario: &'static str,
    pub description: String,
    pub seed: u64,
    pub data_dir: String,
    pub duration_s: f64,
    pub elapsed_s: f64,
    pub sends: Sends,
    pub process: ProcessReport,
    pub pairings: PairingReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_faults: Option<NetworkFaults>,
    pub drain: Drain,
    pub ledger: ChaosAccounting,
    /// Messages that may be sent twice without a defect: one per paired instance per kill,
    /// drop and logout (the one on the wire when it happened).
    pub sent_twice_allowance: u64,
    pub defects: Vec<String>,
    pub notes: Vec<String>,
}

impl ProcessReport {
    pub fn from_kills(k: &Kills) -> ProcessReport {
        ProcessReport {
            kills: k.kills,
            restarts: k.restarts,
            unexpected_exits: k.unexpected_exits,
            time_to_serve_ms: Spread::of(&k.time_to_listen_ms),
            downtime_ms: Spread::of(&k.downtime_ms),
            restart_errors: k.restart_errors.clone(),
            ..ProcessReport::default()
        }
    }
}

/// What in `r` breaks a promise (empty for a clean run).
pub fn defects(r: &ChaosReport) -> Vec<String> {
    let l = &r.ledger;
    let mut d = Vec::new();
    let mut check = |bad: bool, what: String| {
        if bad {
            d.push(what);
        }
    };
    check(l.acknowledged_lost > 0, format!("{} acknowledged messages lost", l.acknowledged_lost));
    check(l.webhook_events_lost > 0, format!("{} webhook events lost", l.webhook_events_lost));
    check(
        l.sent_twice > r.sent_twice_allowance,
        format!("{} messages sent twice (allowance {})", l.sent_twice, r.sent_twice_allowance),
    );
    check(
        l.delivered_and_still_queued > 0,
        format!("{} delivered messages still queued", l.delivered_and_still_queued),
    );
    check(l.bad_signatures > 0, format!("{} webhooks with a bad signature", l.bad_signatures));
    check(l.malformed > 0, format!("{} malformed webhooks", l.malformed));
    check(r.process.unexpected_exits > 0, format!("chatedge exited on its own {} times", r.process.unexpected_exits));
    check(!r.process.restart_errors.is_empty(), format!("{} failed restarts", r.process.restart_errors.len()));
    check(!r.process.final_stop_clean, format!("final SIGTERM: {}", r.process.final_stop));
    d
}

fn kinds(f: &std::collections::BTreeMap<String, u64>) -> String {
    if f.is_empty() {
        return "none".into();
    }
    f.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
}

fn spread(s: &Spread) -> String {
    format!("min {:.0} / median {:.0} / max {:.0} ms", s.min, s.median, s.max)
}

fn fault(out: &mut String, name: &str, f: &FaultCount) {
    let _ = match &f.unsupported {
        Some(why) => writeln!(out, "  {name:<28} unsupported ({why})"),
        None => writeln!(
            out,
            "  {name:<28} {} injected; failed while down: {}; failed while up: {}",
            f.injected,
            kinds(&f.failures.server_down),
            kinds(&f.failures.server_up)
        ),
    };
}

/// The ledger for people.
pub fn render(r: &ChaosReport) -> String {
    let (l, s, p, q) = (&r.ledger, &r.sends, &r.process, &r.pairings);
    let mut o = String::new();
    let _ = writeln!(o, "chaos: {} (seed {})", r.description, r.seed);
    let _ = writeln!(o, "  {:<28} {:.1} s of chaos, data dir {}", "ran", r.elapsed_s, r.data_dir);
    let _ = writeln!(o, "sends");
    let line = |o: &mut String, k: &str, v: String| {
        let _ = writeln!(o, "  {k:<28} {v}");
    };
    line(
        &mut o,
        "acknowledged (200)",
        format!("{} of {} requests ({:.1}/s)", s.acknowledged, s.attempted, s.acknowledged_per_s),
    );
    line(
        &mut o,
        "latency of 200s",
        format!("p50 {:.2} ms, p99 {:.2} ms, max {:.1} ms", s.latency_ms.p50, s.latency_ms.p99, s.latency_ms.max),
    );
    line(&mut o, "failed, server down", format!("{} ({})", s.failures.down_total(), kinds(&s.failures.server_down)));
    line(&mut o, "failed, server up", format!("{} ({})", s.failures.up_total(), kinds(&s.failures.server_up)));
    for (kind, sample) in &s.failures.samples {
        line(&mut o, &format!("  e.g. {kind}"), sample.clone());
    }
    let _ = writeln!(o, "process");
    line(&mut o, "kills (kill -9)", p.kills.to_string());
    line(&mut o, "restarts", format!("{} ({} unexpected exits)", p.restarts, p.unexpected_exits));
    line(&mut o, "time to serve after restart", spread(&p.time_to_serve_ms));
    line(&mut o, "downtime per kill", spread(&p.downtime_ms));
    line(&mut o, "final SIGTERM", p.final_stop.clone());
    for e in &p.restart_errors {
        line(&mut o, "restart error", e.clone());
    }
    let _ = writeln!(o, "pairings");
    line(
        &mut o,
        "instances",
        format!("{} at start, {} created during the run, {} of them paired", q.initial, q.created, q.paired),
    );
    line(&mut o, "paired again after logout", q.paired_again.to_string());
    line(&mut o, "never paired / disconnected", format!("{} / {} at the end", q.never_paired, q.disconnected_at_end));
    line(
        &mut o,
        "failed steps",
        format!("server down: {}; server up: {}", kinds(&q.failures.server_down), kinds(&q.failures.server_up)),
    );
    if let Some(n) = &r.network_faults {
        let _ = writeln!(o, "network faults");
        fault(&mut o, "connection drops", &n.drops);
        fault(&mut o, "logouts", &n.logouts);
    }
    let _ = writeln!(o, "ledger (after a {:.1} s drain, {} still queued)", r.drain.waited_s, r.drain.queued_at_end);
    line(&mut o, "acknowledged", l.acknowledged.to_string());
    line(&mut o, "delivered (DeliveryCallback)", format!("{} ({} with an error)", l.delivered, l.delivery_errors));
    line(&mut o, "still queued", l.still_queued.to_string());
    line(&mut o, "ACKNOWLEDGED LOST", format!("{} {:?}", l.acknowledged_lost, l.lost_samples));
    line(
        &mut o,
        "WEBHOOK EVENTS LOST",
        format!(
            "{} ({} SENT missing, {} DeliveryCallback missing)",
            l.webhook_events_lost, l.sent_status_lost, l.delivery_event_lost
        ),
    );
    line(
        &mut o,
        "SENT TWICE",
        format!(
            "{} (allowance {}: one in flight per instance per kill/drop/logout)",
            l.sent_twice, r.sent_twice_allowance
        ),
    );
    line(&mut o, "redeliveries (allowed)", format!("{} (same webhook-id, same bytes, after a 2xx)", l.redeliveries));
    line(&mut o, "recreated events", kinds(&l.recreated_events));
    line(
        &mut o,
        "delivered, never answered",
        format!("{} (stored, answer lost to a kill or a timeout)", l.delivered_unacknowledged),
    );
    line(&mut o, "READ missing", format!("{} (sim status timers die with the process)", l.read_missing));
    line(&mut o, "webhooks received", format!("{}; other events: {}", l.events_received, kinds(&l.other_events)));
    line(&mut o, "BAD SIGNATURES / malformed", format!("{} / {}", l.bad_signatures, l.malformed));
    line(
        &mut o,
        "send → DeliveryCallback",
        format!(
            "p50 {:.1} ms, p99 {:.1} ms, max {:.0} ms",
            l.delivery_latency_ms.p50, l.delivery_latency_ms.p99, l.delivery_latency_ms.max
        ),
    );
    for n in &r.notes {
        let _ = writeln!(o, "note: {n}");
    }
    let _ = if r.defects.is_empty() {
        writeln!(o, "verdict: no defect")
    } else {
        writeln!(o, "verdict: DEFECTS: {}", r.defects.join("; "))
    };
    o
}

/// Prints the text (stderr with `--json`), the JSON line last on stdout with `--json`, and
/// writes `json_file`.
pub fn emit(r: &ChaosReport, json: bool, json_file: Option<&Path>) -> Result<()> {
    let text = render(r);
    let line = serde_json::to_string(r)?;
    if json {
        eprint!("{text}");
    } else {
        print!("{text}");
    }
    if let Some(path) = json_file {
        std::fs::write(path, format!("{line}\n")).with_context(|| format!("writing {}", path.display()))?;
    }
    if json {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clean_run_has_no_defect_and_its_json_has_the_ledger() {
        let mut r = ChaosReport { scenario: "chaos", ..ChaosReport::default() };
        r.process.final_stop_clean = true;
        r.ledger.acknowledged = 10;
        r.ledger.delivered = 10;
        r.ledger.redeliveries = 3;
        assert!(defects(&r).is_empty());
        let v: serde_json::Value = serde_json::from_str(&serde_json::to_string(&r).expect("json")).expect("parses");
        for key in ["acknowledged", "acknowledged_lost", "webhook_events_lost", "sent_twice", "redeliveries"] {
            assert!(v["ledger"][key].is_u64(), "ledger.{key}");
        }
        assert!(v["process"]["time_to_serve_ms"]["median"].is_number());
        assert!(render(&r).contains("verdict: no defect"));
    }

    #[test]
    fn losses_and_second_sends_beyond_the_allowance_are_defects() {
        let mut r = ChaosReport { sent_twice_allowance: 2, ..ChaosReport::default() };
        r.process.final_stop_clean = true;
        r.ledger.sent_twice = 2;
        assert!(defects(&r).is_empty(), "within the allowance");
        r.ledger.sent_twice = 3;
        r.ledger.acknowledged_lost = 1;
        r.defects = defects(&r);
        assert_eq!(r.defects.len(), 2, "{:?}", r.defects);
        assert!(render(&r).contains("verdict: DEFECTS: 1 acknowledged messages lost"));
    }

    #[test]
    fn spreads_are_min_median_max() {
        assert_eq!(Spread::of(&[30.0, 10.0, 20.0]), Spread { min: 10.0, median: 20.0, max: 30.0 });
        assert_eq!(Spread::of(&[]), Spread::default());
    }
}
