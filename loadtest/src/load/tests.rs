use super::*;

struct Sleepy {
    delay: Duration,
}

impl Workload for Sleepy {
    fn op(&self, _seq: u64) -> &'static str {
        "sleep"
    }
    async fn call(&self, seq: u64) -> Result<(), CallError> {
        tokio::time::sleep(self.delay).await;
        if seq % 10 == 9 {
            Err(CallError::Status { status: 500, body: String::new() })
        } else {
            Ok(())
        }
    }
}

#[tokio::test(start_paused = true)]
async fn open_loop_keeps_the_schedule() {
    let w = Arc::new(Sleepy { delay: Duration::from_millis(2) });
    let pace = Pace::Open { rate: 200.0, max_in_flight: 100 };
    let s = drive(w, pace, Duration::from_millis(500), &ProgressBar::hidden()).await;
    assert_eq!(s.ok + s.error_count(), 100);
    assert_eq!(s.errors.get("http_500"), Some(&10));
    assert!((s.percentiles().max - 2.0).abs() < 0.1, "{:?}", s.percentiles());
    assert_eq!(s.series.first().map(|p| p.ok), Some(90));
}

#[tokio::test(start_paused = true)]
async fn open_loop_counts_queueing_as_latency() {
    // One slot, 10 ms per call, a request every 2 ms: the schedule falls behind and the
    // waiting shows up in the latency (measured from the intended send time).
    let w = Arc::new(Sleepy { delay: Duration::from_millis(10) });
    let pace = Pace::Open { rate: 500.0, max_in_flight: 1 };
    let s = drive(w, pace, Duration::from_millis(200), &ProgressBar::hidden()).await;
    assert_eq!(s.ok + s.error_count(), 100);
    // The last request was due at 198 ms and sent at ~1000 ms: ~810 ms late.
    assert!(s.percentiles().max > 700.0, "{:?}", s.percentiles());
    assert!(s.elapsed >= Duration::from_millis(1000), "{:?}", s.elapsed);
}

#[tokio::test(start_paused = true)]
async fn closed_loop_runs_workers_back_to_back() {
    let w = Arc::new(Sleepy { delay: Duration::from_millis(5) });
    let pace = Pace::Closed { concurrency: 4, co_interval: None };
    let s = drive(w, pace, Duration::from_millis(300), &ProgressBar::hidden()).await;
    // 4 workers × 300 ms / 5 ms each.
    assert_eq!(s.ok + s.error_count(), 240);
    assert!((s.percentiles().max - 5.0).abs() < 0.1, "{:?}", s.percentiles());
}

#[test]
fn open_loop_latency_counts_lateness_but_not_earliness() {
    let t0 = Instant::now();
    let ms = |n: u64| t0 + Duration::from_millis(n);
    // Sent 30 ms late, answered 5 ms later: 35 ms.
    assert_eq!(latency_since(ms(10), ms(40), ms(45)), Duration::from_millis(35));
    // Sent 1 ms early (timer tick), answered 5 ms later: 5 ms, not 4.
    assert_eq!(latency_since(ms(10), ms(9), ms(14)), Duration::from_millis(5));
}
