use super::*;

#[test]
fn percentiles_of_a_known_distribution() {
    let mut h = histogram();
    for ms in 1..=1000u64 {
        h.saturating_record(ms * 1000);
    }
    let p = Percentiles::of(&h);
    let close = |a: f64, b: f64| (a - b).abs() <= b * 0.002 + 0.001;
    assert!(close(p.p50, 500.0), "{p:?}");
    assert!(close(p.p90, 900.0), "{p:?}");
    assert!(close(p.p99, 990.0), "{p:?}");
    assert!(close(p.p999, 999.0), "{p:?}");
    assert!(close(p.max, 1000.0), "{p:?}");
    assert!(close(p.mean, 500.5), "{p:?}");
}

#[test]
fn empty_histogram_summarises_to_zero() {
    assert_eq!(Percentiles::of(&histogram()), Percentiles::default());
}

#[test]
fn medians() {
    assert_eq!(median(&[]), 0.0);
    assert_eq!(median(&[3.0]), 3.0);
    assert_eq!(median(&[5.0, 1.0, 3.0]), 3.0);
    assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
    let a = Percentiles { p50: 1.0, p90: 2.0, p99: 3.0, p999: 4.0, max: 5.0, mean: 1.0 };
    let b = Percentiles { p50: 3.0, p90: 6.0, p99: 9.0, p999: 12.0, max: 15.0, mean: 3.0 };
    let c = Percentiles { p50: 2.0, p90: 4.0, p99: 6.0, p999: 8.0, max: 10.0, mean: 2.0 };
    assert_eq!(Percentiles::median_of(&[a, b, c]), c);
}

#[test]
fn recorder_counts_throughput_errors_and_seconds() {
    let start = Instant::now();
    let mut r = Recorder::new(start);
    for i in 0..10u64 {
        let done = start + Duration::from_millis(200 * i);
        r.ok("send-text", done, Duration::from_millis(5), None);
    }
    r.error("send-text", start + Duration::from_millis(100), &CallError::Status { status: 429, body: "full".into() });
    r.error("status", start + Duration::from_millis(1500), &CallError::Timeout);
    let s = r.finish(Duration::from_secs(2));
    assert_eq!(s.ok, 10);
    assert_eq!(s.error_count(), 2);
    assert_eq!(s.errors.get("http_429"), Some(&1));
    assert_eq!(s.elapsed, Duration::from_secs(2));
    assert!((s.throughput() - 5.0).abs() < 1e-9);
    assert_eq!(s.series.len(), 2);
    assert_eq!(s.series[0].ok, 5);
    assert_eq!(s.series[1].errors, 1);
    assert_eq!(s.ops["status"].errors, 1);
}

#[test]
fn record_correct_fills_in_omitted_samples() {
    let start = Instant::now();
    let mut r = Recorder::new(start);
    r.ok("x", start, Duration::from_millis(100), Some(Duration::from_millis(10)));
    let s = r.finish(Duration::ZERO);
    // 100 ms, plus the 90, 80, ..., 10 ms a client sending every 10 ms would have seen.
    assert_eq!(s.latency.len(), 10);
    assert_eq!(s.ok, 1);
}

#[test]
fn side_by_side_streams_merge_into_one_run_with_both_operations() {
    let start = Instant::now();
    let mut text = Recorder::new(start);
    let mut image = Recorder::new(start);
    for i in 0..4u64 {
        text.ok("send-text", start + Duration::from_millis(400 * i), Duration::from_millis(2), None);
        image.ok("send-image", start + Duration::from_millis(700 * i), Duration::from_millis(20), None);
    }
    image.error("send-image", start, &CallError::Status { status: 413, body: "too large".into() });
    let merged = text.finish(Duration::from_secs(2)).merge(image.finish(Duration::from_secs(2)));
    assert_eq!(merged.ok, 8);
    assert_eq!(merged.errors.get("http_413"), Some(&1));
    assert_eq!(merged.ops["send-text"].ok, 4);
    assert_eq!((merged.ops["send-image"].ok, merged.ops["send-image"].errors), (4, 1));
    assert_eq!(merged.latency.len(), 8);
    assert_eq!(merged.elapsed, Duration::from_millis(2100), "the longer stream's time");
    let per_second: Vec<(u32, u64)> = merged.series.iter().map(|p| (p.t_s, p.ok)).collect();
    assert_eq!(per_second, vec![(0, 5), (1, 2), (2, 1)]);
    assert!(merged.series[0].p99_ms >= 20.0, "the slower stream's p99");
}
