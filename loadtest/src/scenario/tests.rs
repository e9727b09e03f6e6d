use std::sync::Mutex;

use tokio::time::Instant;

use super::*;
use crate::client::CallError;
use crate::scrape::ScrapeError;

/// Every request of every round, as (target URL, instant).
#[derive(Default)]
struct Calls(Mutex<Vec<(String, Instant)>>);

impl Calls {
    fn of(&self, url: &str) -> Vec<Instant> {
        let calls = self.0.lock().unwrap_or_else(|p| p.into_inner());
        calls.iter().filter(|(u, _)| u == url).map(|(_, at)| *at).collect()
    }

    fn last(&self) -> Option<Instant> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).last().map(|(_, at)| *at)
    }
}

struct Recording {
    url: String,
    calls: Arc<Calls>,
}

impl Workload for Recording {
    fn op(&self, _seq: u64) -> &'static str {
        "send-text"
    }

    async fn call(&self, _seq: u64) -> Result<(), CallError> {
        self.calls.0.lock().unwrap_or_else(|p| p.into_inner()).push((self.url.clone(), Instant::now()));
        tokio::time::sleep(Duration::from_millis(1)).await;
        Ok(())
    }
}

/// The server's queue: the last chatedge request left a backlog the network needs 3 s for.
struct Network {
    calls: Arc<Calls>,
}

impl Gauge for Network {
    async fn read(&self) -> Result<u64, ScrapeError> {
        let chatedge_calls = self.calls.of(CHATEDGE);
        let busy = chatedge_calls.last().is_some_and(|at| at.elapsed() < Duration::from_secs(3));
        Ok(if busy { 500 } else { 0 })
    }

    /// One commit of one send for each chatedge call, 1 ms each.
    async fn commits(&self) -> Option<crate::commits::Reading> {
        let n = self.calls.of(CHATEDGE).len() as f64;
        Some(crate::commits::Reading { commits: n, seconds: n / 1000.0, batches: n })
    }
}

const CHATEDGE: &str = "http://127.0.0.1:18080";
const BASELINE: &str = "http://127.0.0.1:18090";

fn load(rounds: u32) -> LoadArgs {
    LoadArgs {
        instances: 1,
        duration: Duration::from_millis(200),
        rate: None,
        concurrency: Some(2),
        co_interval: None,
        max_in_flight: 10,
        rounds,
        queue_drain_limit: Duration::from_secs(60),
        queue_metric: "chatedge_dp_queue_depth".into(),
        pause: Duration::ZERO,
        compare_baseline: true,
        message_chars: 32,
    }
}

#[tokio::test(start_paused = true)]
async fn a_round_starts_only_once_the_previous_chatedge_rounds_backlog_has_drained() {
    let calls = Arc::new(Calls::default());
    let gauge = Network { calls: calls.clone() };
    let make = |url: &str, _| Ok(Recording { url: url.to_owned(), calls: calls.clone() });
    let drained_at = Arc::new(Mutex::new(Vec::new()));
    let mut after = || {
        let drained_at = drained_at.clone();
        async move { drained_at.lock().unwrap_or_else(|p| p.into_inner()).push(Instant::now()) }
    };
    let rounds = rounds_against(&load(2), true, (CHATEDGE, Some(BASELINE)), None, &gauge, make, &mut after)
        .await
        .expect("rounds");

    let order: Vec<(Target, u32)> = rounds.iter().map(|r| (r.target, r.number)).collect();
    assert_eq!(order, rounds::plan(2, true));
    // Chatedge round 1 ran between the two baseline rounds.
    let (chatedge, baseline) = (calls.of(CHATEDGE), calls.of(BASELINE));
    let second_baseline_started = baseline.iter().copied().find(|at| *at > chatedge[0]).expect("baseline round 2");
    let first_chatedge_ended =
        chatedge.iter().copied().filter(|at| *at < second_baseline_started).max().expect("chatedge round 1");
    assert!(
        second_baseline_started.duration_since(first_chatedge_ended) >= Duration::from_secs(3),
        "baseline round 2 began while chatedge round 1's backlog was still being sent"
    );

    let commits: Vec<u64> = rounds.iter().filter_map(|r| r.commits.map(|c| c.commits)).collect();
    assert_eq!(commits.len(), 2, "each chatedge round, and only those, reads the server's commits");
    assert_eq!(commits.iter().sum::<u64>(), chatedge.len() as u64, "a round counts the commits made during it");
    for r in &rounds {
        match r.target {
            Target::Baseline => assert_eq!(r.backlog, None, "a baseline round leaves no backlog"),
            Target::Chatedge => {
                let d = r.backlog.as_ref().expect("a chatedge round reports its backlog");
                assert!(d.drained && d.at_end == Some(500) && d.left == Some(0), "{d:?}");
                assert!(d.waited >= Duration::from_secs(3) - Duration::from_millis(5), "{d:?}");
            }
        }
    }
    let drained_at = drained_at.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert_eq!(drained_at.len(), 2, "after_chatedge ran once per chatedge round");
    assert!(calls.last().is_some_and(|last| drained_at[1] >= last + Duration::from_secs(3)), "it ran after the drain");
}
