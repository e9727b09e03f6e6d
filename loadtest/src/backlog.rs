//! The server's backlog between rounds: messages chatedge accepted that its network has not
//! taken yet. A chatedge round ends with such a backlog, and the sim network keeps sending it
//! afterwards on the same cores as whatever runs next — which slowed the following baseline
//! round by 10–20 % and flattered the ratio (issue 11 §7). So after every chatedge round
//! [`wait_drained`] polls a queue-depth [`Gauge`] (by default the data plane's
//! `chatedge_dp_queue_depth` on /metrics, summed over shards) until it reads zero, bounded by
//! a limit, and the round reports what it left and how long the drain took ([`Drain`]).
//! It only reads the server; it never holds or changes the network.

use std::future::Future;
use std::time::Duration;

use serde::{Serialize, Serializer};
use tokio::time::Instant;

use crate::client::Http;
use crate::commits::Reading;
use crate::scrape::{self, ScrapeError};

/// How stale a reading may be: the data plane's shards publish `chatedge_dp_queue_depth` once
/// a second (`report` in dataplane/src/shard/mod.rs), plus a margin. A zero read sooner after
/// the round may predate the round's last messages, so it does not count as drained.
pub const GAUGE_PERIOD: Duration = Duration::from_millis(1100);
/// Pause between two readings.
const POLL: Duration = Duration::from_millis(200);

/// Messages waiting in the server's queues.
pub trait Gauge: Send + Sync {
    fn read(&self) -> impl Future<Output = Result<u64, ScrapeError>> + Send;

    /// The store's commit counters, read around each chatedge round ([`crate::commits`]);
    /// `None` where the server does not export them.
    fn commits(&self) -> impl Future<Output = Option<Reading>> + Send {
        async { None }
    }
}

/// A family on the server's /metrics, summed over its labels.
pub struct MetricsGauge {
    pub http: Http,
    pub url: String,
    pub family: String,
}

impl Gauge for MetricsGauge {
    async fn read(&self) -> Result<u64, ScrapeError> {
        let sum = scrape::family(&self.http, &self.url, &self.family).await?;
        // A gauge of queued messages: whole and non-negative.
        Ok(sum.max(0.0).round() as u64)
    }

    async fn commits(&self) -> Option<Reading> {
        Reading::parse(&scrape::text(&self.http, &self.url).await.ok()?)
    }
}

/// How the wait after one chatedge round ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drain {
    /// Messages queued around the round's end: the highest reading up to the first one the
    /// server published after the end (once sends stop the queue only shrinks). `None`: the
    /// gauge could not be read.
    pub at_end: Option<u64>,
    /// The last reading: 0 once drained.
    pub left: Option<u64>,
    /// From the round's end until the gauge read zero (or the wait gave up).
    #[serde(rename = "drain_s", serialize_with = "seconds")]
    pub waited: Duration,
    pub drained: bool,
    /// Why the gauge could not be read, when it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

fn seconds<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

impl Drain {
    /// One line for the report's notes when the next round did not start on an empty queue.
    pub fn shortfall(&self, round: u32) -> Option<String> {
        match (&self.problem, self.drained, self.left) {
            (_, true, _) => None,
            (Some(problem), _, None) => Some(format!(
                "after chatedge round {round} the server's backlog could not be read ({problem}): rounds were \
                 separated by --pause only"
            )),
            (_, _, left) => Some(format!(
                "after chatedge round {round} the backlog did not drain within {:.1} s ({} messages still queued): \
                 whatever ran next shared the machine with it",
                self.waited.as_secs_f64(),
                left.map_or_else(|| "?".to_owned(), |n| n.to_string())
            )),
        }
    }
}

/// Polls `gauge` from `ended` (the end of a chatedge round) until a reading taken at least
/// [`GAUGE_PERIOD`] after it is zero, or until `limit` after it (never less than one period).
/// Gives up at once when the very first reading fails: a /metrics that is not there will not
/// appear by waiting.
pub async fn wait_drained<G: Gauge>(gauge: &G, ended: Instant, limit: Duration) -> Drain {
    let fresh_from = ended + GAUGE_PERIOD;
    let give_up = ended + limit.max(GAUGE_PERIOD);
    let mut d = Drain { at_end: None, left: None, waited: Duration::ZERO, drained: false, problem: None };
    let mut fresh_seen = false;
    loop {
        let fresh = Instant::now() >= fresh_from;
        match gauge.read().await {
            Ok(queued) => {
                d.problem = None;
                if !fresh_seen {
                    d.at_end = Some(d.at_end.map_or(queued, |a| a.max(queued)));
                }
                fresh_seen |= fresh;
                d.left = Some(queued);
                if queued == 0 && fresh {
                    d.drained = true;
                    break;
                }
            }
            Err(e) => {
                d.problem = Some(e.to_string());
                if d.left.is_none() {
                    break;
                }
            }
        }
        let now = Instant::now();
        if now >= give_up {
            break;
        }
        tokio::time::sleep_until((now + POLL).min(give_up)).await;
    }
    d.waited = ended.elapsed();
    d
}

#[cfg(test)]
mod tests;
