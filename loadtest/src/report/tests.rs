use std::time::{Duration, Instant};

use super::*;
use crate::client::CallError;
use crate::stats::Recorder;

pub fn stats(rps: u64, latency_ms: u64) -> RunStats {
    let start = Instant::now();
    let mut r = Recorder::new(start);
    for i in 0..rps * 2 {
        let done = start + Duration::from_millis(i * 1000 / rps);
        r.ok("send-text", done, Duration::from_millis(latency_ms + i % 3), None);
    }
    r.error("send-text", start, &CallError::Status { status: 429, body: "queue full".into() });
    r.finish(Duration::from_secs(2))
}

pub fn meta() -> Meta {
    Meta {
        scenario: "send",
        description: "open loop, 100 req/s for 2 s per round, 2 instances".into(),
        data_plane: "http://127.0.0.1:18080".into(),
        protocol: crate::client::Protocol::H2,
        transport: "HTTP/2 (h2c, prior knowledge), 4 connections".into(),
        coordinated_omission: "open loop".into(),
        instances: 2,
        duration_s: 2.0,
        rate: Some(100.0),
        concurrency: None,
        rounds: 3,
    }
}

/// A backlog of `at_end` messages that drained in `waited`.
pub fn drained(at_end: u64, waited: Duration) -> Drain {
    Drain { at_end: Some(at_end), left: Some(0), waited, drained: true, problem: None }
}

/// The group commits of a round at `rps` sends a second for 2 s, 25 sends per commit.
pub fn commits(rps: u64) -> crate::commits::Commits {
    crate::commits::Commits { commits: rps * 2 / 25, batches_per_commit: 25.0, ms_per_commit: 0.6, committer_busy: 0.9 }
}

/// [`sample`] with its chatedge rounds' group commits read from the server.
pub fn sample_with_commits() -> Report {
    let mut r = sample();
    for x in r.round_results.iter_mut().filter(|x| x.target == Target::Chatedge) {
        x.commits = Some(commits(x.throughput_rps.round() as u64));
    }
    r
}

pub fn sample() -> Report {
    let round = |target, number, rps, ms| {
        let backlog = (target == Target::Chatedge).then(|| drained(rps, Duration::from_millis(1200 + rps)));
        Round { target, number, stats: stats(rps, ms), backlog, commits: None }
    };
    let rounds = vec![
        round(Target::Baseline, 1, 400, 1),
        round(Target::Chatedge, 1, 100, 4),
        round(Target::Baseline, 2, 500, 1),
        round(Target::Chatedge, 2, 300, 6),
        round(Target::Baseline, 3, 450, 2),
        round(Target::Chatedge, 3, 200, 5),
    ];
    Report::new(meta(), rounds)
}

#[test]
fn medians_and_ratio_come_from_alternating_rounds() {
    let r = sample();
    assert!((r.throughput_rps - 200.0).abs() < 1.0, "{}", r.throughput_rps);
    let baseline = r.baseline_rps.expect("baseline");
    assert!((baseline - 450.0).abs() < 1.0, "{baseline}");
    assert!((r.ratio.expect("ratio") - 200.0 / 450.0).abs() < 0.01);
    assert_eq!(r.errors, 3);
    assert_eq!(r.errors_by_kind.get("http_429"), Some(&3));
    assert_eq!(r.round_results.len(), 6);
    assert_eq!(r.ok, 1200);
    assert!(r.latency_ms.p50 >= 5.0 && r.latency_ms.p50 <= 6.1, "{:?}", r.latency_ms);
    let chart = r.charts.chatedge.as_ref().expect("median round");
    assert_eq!(chart.ok, 400, "the 200 req/s round");
}

#[test]
fn every_chatedge_round_shows_its_backlog_and_the_rounds_that_did_not_drain_are_noted() {
    let r = sample();
    let chatedge: Vec<&RoundSummary> = r.round_results.iter().filter(|x| x.target == Target::Chatedge).collect();
    assert!(chatedge.iter().all(|x| x.backlog.as_ref().is_some_and(|d| d.drained)));
    assert!(r.round_results.iter().filter(|x| x.target == Target::Baseline).all(|x| x.backlog.is_none()));
    assert!(r.notes.is_empty(), "{:?}", r.notes);
    let v: serde_json::Value = serde_json::from_str(&json::render(&r).expect("json")).expect("parses");
    assert_eq!(v["round_results"][1]["backlog"]["at_end"], 100);
    assert_eq!(v["round_results"][1]["backlog"]["drain_s"], 1.3);
    assert!(v["round_results"][0].get("backlog").is_none(), "baseline rounds have none");

    let stuck =
        Drain { at_end: Some(900), left: Some(40), waited: Duration::from_secs(60), drained: false, problem: None };
    let unread =
        Drain { at_end: None, left: None, waited: Duration::ZERO, drained: false, problem: Some("404".into()) };
    let rounds = vec![
        Round { target: Target::Chatedge, number: 1, stats: stats(100, 1), backlog: Some(stuck), commits: None },
        Round {
            target: Target::Chatedge,
            number: 2,
            stats: stats(100, 1),
            backlog: Some(drained(5, Duration::from_secs(2))),
            commits: None,
        },
    ];
    let r = Report::new(meta(), rounds);
    assert_eq!(r.notes.len(), 1, "{:?}", r.notes);
    assert!(r.notes[0].contains("round 1") && r.notes[0].contains("40 messages still queued"));
    assert_eq!(backlog_cells(r.round_results[0].backlog.as_ref()), ["900".to_owned(), "60.00, 40 left".to_owned()]);

    let rounds = (1..=3)
        .map(|n| Round {
            target: Target::Chatedge,
            number: n,
            stats: stats(100, 1),
            backlog: Some(unread.clone()),
            commits: None,
        })
        .collect();
    let r = Report::new(meta(), rounds);
    assert_eq!(r.notes.len(), 1, "one note for a gauge that is not there: {:?}", r.notes);
    assert!(r.notes[0].contains("could not be read (404)"));
    assert_eq!(backlog_cells(r.round_results[2].backlog.as_ref()), ["?".to_owned(), "unread".to_owned()]);
}

#[test]
fn chatedge_rounds_carry_the_servers_group_commits_in_the_json() {
    assert!(!sample().has_commits());
    let r = sample_with_commits();
    assert!(r.has_commits());
    let v: serde_json::Value = serde_json::from_str(&json::render(&r).expect("json")).expect("parses");
    let first = &v["round_results"][1]["commits"];
    assert_eq!((first["commits"].as_u64(), first["batches_per_commit"].as_f64()), (Some(8), Some(25.0)), "{v}");
    assert_eq!(first["committer_busy"], 0.9);
    assert!(v["round_results"][0].get("commits").is_none(), "baseline rounds have none");
}
