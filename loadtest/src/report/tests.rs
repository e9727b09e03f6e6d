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
        coordinated_omission: "open loop".into(),
        instances: 2,
        duration_s: 2.0,
        rate: Some(100.0),
        concurrency: None,
        rounds: 3,
    }
}

pub fn sample() -> Report {
    let round = |target, number, rps, ms| Round { target, number, stats: stats(rps, ms) };
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
