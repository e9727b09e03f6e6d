use super::*;

/// A gauge whose reading is a function of the time since the round ended.
struct Scripted<F> {
    ended: Instant,
    reading: F,
}

impl<F: Fn(Duration) -> Result<u64, ScrapeError> + Send + Sync> Gauge for Scripted<F> {
    async fn read(&self) -> Result<u64, ScrapeError> {
        (self.reading)(self.ended.elapsed())
    }
}

fn scripted<F: Fn(Duration) -> Result<u64, ScrapeError> + Send + Sync>(reading: F) -> Scripted<F> {
    Scripted { ended: Instant::now(), reading }
}

fn absent() -> ScrapeError {
    ScrapeError::NotExported { url: "http://127.0.0.1:1/metrics".into(), family: "chatedge_dp_queue_depth".into() }
}

#[tokio::test(start_paused = true)]
async fn the_wait_ends_when_the_backlog_reads_zero_and_reports_what_the_round_left() {
    // 2,500 messages left, the network taking 1,000 a second: empty after 2.5 s.
    let gauge = scripted(|t| Ok(2500u64.saturating_sub(t.as_millis() as u64)));
    let d = wait_drained(&gauge, gauge.ended, Duration::from_secs(60)).await;
    assert!(d.drained, "{d:?}");
    assert_eq!((d.at_end, d.left, d.problem.as_deref()), (Some(2500), Some(0), None));
    assert!(d.waited >= Duration::from_millis(2500) && d.waited <= Duration::from_millis(2500) + POLL, "{d:?}");
    assert_eq!(d.shortfall(1), None);
}

#[tokio::test(start_paused = true)]
async fn a_zero_read_before_the_server_republished_the_gauge_does_not_count() {
    // The gauge still shows zero from before the round's last messages for 0.9 s, then the
    // real backlog, which the network empties at 1.5 s.
    let gauge =
        scripted(|t| Ok(if t < Duration::from_millis(900) || t >= Duration::from_millis(1500) { 0 } else { 40 }));
    let d = wait_drained(&gauge, gauge.ended, Duration::from_secs(60)).await;
    assert!(d.drained);
    assert_eq!(d.at_end, Some(40), "the backlog published after the end is the one the round left");
    assert!(d.waited >= Duration::from_millis(1500), "{d:?}");

    let empty = scripted(|_| Ok(0));
    let d = wait_drained(&empty, empty.ended, Duration::from_secs(60)).await;
    assert!(d.drained && d.at_end == Some(0));
    assert!(d.waited >= GAUGE_PERIOD && d.waited <= GAUGE_PERIOD + POLL, "{d:?}");
}

#[tokio::test(start_paused = true)]
async fn a_backlog_that_does_not_drain_is_waited_for_at_most_the_limit_and_reported() {
    let gauge = scripted(|_| Ok(7));
    let d = wait_drained(&gauge, gauge.ended, Duration::from_secs(3)).await;
    assert!(!d.drained);
    assert_eq!((d.at_end, d.left), (Some(7), Some(7)));
    assert!(d.waited >= Duration::from_secs(3) && d.waited < Duration::from_secs(3) + POLL, "{d:?}");
    let note = d.shortfall(2).expect("a note");
    assert!(note.contains("round 2") && note.contains("7 messages still queued"), "{note}");

    // A limit below one gauge period is raised to it: a drain can always be confirmed.
    let slow = scripted(|t| Ok(if t < Duration::from_millis(300) { 3 } else { 0 }));
    assert!(wait_drained(&slow, slow.ended, Duration::ZERO).await.drained);
}

#[tokio::test(start_paused = true)]
async fn a_gauge_that_is_not_there_ends_the_wait_at_once_and_says_why() {
    let gauge = scripted(|_| Err(absent()));
    let d = wait_drained(&gauge, gauge.ended, Duration::from_secs(60)).await;
    assert!(!d.drained);
    assert_eq!((d.at_end, d.left, d.waited), (None, None, Duration::ZERO));
    let note = d.shortfall(1).expect("a note");
    assert!(note.contains("could not be read") && note.contains("chatedge_dp_queue_depth"), "{note}");
}

#[tokio::test(start_paused = true)]
async fn a_failed_reading_after_a_good_one_is_retried() {
    let gauge = scripted(|t| match t.as_millis() {
        0..=999 => Ok(9),
        1000..=1999 => Err(absent()),
        _ => Ok(0),
    });
    let d = wait_drained(&gauge, gauge.ended, Duration::from_secs(60)).await;
    assert!(d.drained && d.problem.is_none(), "{d:?}");
    assert_eq!(d.at_end, Some(9));
}

#[test]
fn the_json_gives_the_drain_in_seconds() {
    let d =
        Drain { at_end: Some(12), left: Some(0), waited: Duration::from_millis(1500), drained: true, problem: None };
    let v = serde_json::to_value(&d).expect("json");
    assert_eq!(v, serde_json::json!({"at_end": 12, "left": 0, "drain_s": 1.5, "drained": true}));
}
