//! Scenarios: each module turns its command-line arguments into provisioning, rounds and a
//! [`Report`](crate::report::Report). This module holds what they share: pacing from flags,
//! the run description, provisioning with a progress bar, the optional baseline process, and
//! the rounds themselves — each chatedge round followed by the wait for its backlog to drain,
//! so no round measures on a machine still busy with the previous one's messages.

pub mod chaos;
pub mod media;
pub mod media_burst;
pub mod mixed;
pub mod pairing;
pub mod send;
pub mod webhook_backlog;
pub mod webhooks;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::backlog::{self, Gauge, MetricsGauge};
use crate::baseline::BaselineProcess;
use crate::cli::{LoadArgs, TargetArgs};
use crate::client::Http;
use crate::commits::Commits;
use crate::credentials;
use crate::ledger::Ledger;
use crate::load::{Pace, Workload};
use crate::progress;
use crate::provision::{Instance, Provisioner};
use crate::report::Meta;
use crate::rounds::{self, Round, Target};
use crate::scrape;
use crate::sink::Sink;

/// Longest wait for an instance to connect after its scan, when provisioning for a load test.
pub const PAIR_TIMEOUT: Duration = Duration::from_secs(15);
/// Instances provisioned at once before a load test.
const PROVISION_CONCURRENCY: u32 = 8;

pub fn pace(load: &LoadArgs) -> Pace {
    match (load.rate, load.concurrency) {
        (Some(rate), _) => Pace::Open { rate, max_in_flight: load.max_in_flight },
        (None, concurrency) => Pace::Closed { concurrency: concurrency.unwrap_or(1), co_interval: load.co_interval },
    }
}

fn describe(load: &LoadArgs) -> String {
    let shape = match pace(load) {
        Pace::Open { rate, .. } => format!("open loop, {rate} req/s"),
        Pace::Closed { concurrency, .. } => format!("closed loop, {concurrency} in flight"),
    };
    let plural = if load.rounds == 1 { "" } else { "s" };
    let rounds = if load.compare_baseline {
        format!("{} round{plural} each, alternating with the baseline", load.rounds)
    } else {
        format!("{} round{plural}", load.rounds)
    };
    format!("{shape} for {:?} per round, {} instances, {rounds}", load.duration, load.instances)
}

pub fn meta(scenario: &'static str, load: &LoadArgs, target: &TargetArgs) -> Meta {
    Meta {
        scenario,
        description: describe(load),
        data_plane: target.data_plane.clone(),
        protocol: target.client.protocol,
        transport: transport_label(target),
        coordinated_omission: pace(load).coordinated_omission(),
        instances: load.instances,
        duration_s: load.duration.as_secs_f64(),
        rate: load.rate,
        concurrency: load.concurrency,
        rounds: load.rounds,
    }
}

/// How the report names the client's transport (protocol, TLS, connections).
pub fn transport_label(target: &TargetArgs) -> String {
    target.client.protocol.describe(target.client.connections, &target.data_plane)
}

/// The client `target` asks for (`--protocol`, `--connections`, `--insecure`, `--ca`), with
/// `pool` HTTP/1.1 connections; refuses a data plane URL the protocol cannot reach.
pub fn client(target: &TargetArgs, pool: usize, timeout: Duration) -> Result<Http> {
    let transport = target.client.transport()?;
    transport.check(&target.data_plane).map_err(anyhow::Error::msg)?;
    Ok(Http::with(&transport, pool, timeout)?)
}

/// A client sized for `load` and a provisioner with the resolved tokens.
pub fn connect(target: &TargetArgs, pool: usize) -> Result<(Http, Provisioner)> {
    let tokens = credentials::resolve(target)?;
    let http = client(target, pool, target.timeout)?;
    let provisioner = Provisioner::new(http.clone(), &target.data_plane, &target.control_plane, tokens, PAIR_TIMEOUT);
    Ok((http, provisioner))
}

/// Creates and pairs `n` instances (webhooks pointing at `sink` when given).
pub async fn provision(p: &Provisioner, n: u32, sink: Option<Arc<Sink>>, quiet: bool) -> Result<Vec<Instance>> {
    let bar = progress::counted(quiet, "provisioning".into(), u64::from(n));
    let instances = p.provision_all(n, PROVISION_CONCURRENCY, sink, &bar).await;
    bar.finish_and_clear();
    let provisioned = instances?;
    let late: Vec<Duration> =
        provisioned.iter().filter(|(_, t)| t.unknown_answers > 0).map(|(_, t)| t.visible).collect();
    if !quiet {
        eprintln!("provisioned and paired {} instances", provisioned.len());
    }
    if let Some(longest) = late.iter().max() {
        eprintln!(
            "note: {} instances answered 401 on the data plane right after their create succeeded \
             (longest wait {:.1} ms)",
            late.len(),
            longest.as_secs_f64() * 1000.0
        );
    }
    Ok(provisioned.into_iter().map(|(i, _)| i).collect())
}

/// With `--compare-baseline`, the baseline server, serving TLS and HTTP/3 when the data
/// plane is https:// (so each protocol is compared with itself); `http` learns to trust its
/// certificate.
pub async fn baseline(load: &LoadArgs, against: &Against<'_>) -> Result<Option<BaselineProcess>> {
    if !load.compare_baseline {
        return Ok(None);
    }
    let process = BaselineProcess::start(against.data_plane.starts_with("https://")).await?;
    if let Some(cert) = process.certificate() {
        against.http.pin(cert.clone());
    }
    eprintln!("baseline server (chatedge-loadtest baseline-server) at {}", process.url());
    Ok(Some(process))
}

/// What the rounds run against: chatedge's data plane, through the run's client.
pub struct Against<'a> {
    pub data_plane: &'a str,
    pub http: &'a Http,
}

/// The server's queue-depth gauge that separates rounds (`--queue-metric` at `--metrics-url`).
pub fn queue_gauge(http: &Http, target: &TargetArgs, load: &LoadArgs) -> MetricsGauge {
    MetricsGauge {
        http: http.clone(),
        url: scrape::metrics_url(&target.data_plane, target.metrics_url.as_deref()),
        family: load.queue_metric.clone(),
    }
}

/// After chatedge round `number`: waits for its backlog (bounded by `--queue-drain-limit`)
/// and says so on stderr when it did not drain.
pub async fn drain_backlog<G: Gauge>(gauge: &G, load: &LoadArgs, number: u32, quiet: bool) -> backlog::Drain {
    let ended = tokio::time::Instant::now();
    let drain = backlog::wait_drained(gauge, ended, load.queue_drain_limit).await;
    if let (Some(note), false) = (drain.shortfall(number), quiet) {
        eprintln!("note: {note}");
    }
    drain
}

/// Runs every round of a load: `make(base_url, ledger)` builds the workload for a target
/// (the ledger only for chatedge rounds), with the baseline process when asked for. After
/// each chatedge round the next one waits until `gauge` reads zero ([`drain_backlog`]), then
/// `after_chatedge` runs (the webhook scenarios drain their events there); `--pause` follows
/// every round.
pub async fn run_rounds<W, G, M, F, Fut>(
    load: &LoadArgs,
    quiet: bool,
    against: Against<'_>,
    ledger: Option<Arc<Ledger>>,
    gauge: &G,
    make: M,
    mut after_chatedge: F,
) -> Result<Vec<Round>>
where
    W: Workload,
    G: Gauge,
    M: Fn(&str, Option<Arc<Ledger>>) -> Result<W>,
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let baseline = baseline(load, &against).await?;
    let urls = (against.data_plane, baseline.as_ref().map(BaselineProcess::url));
    rounds_against(load, quiet, urls, ledger, gauge, make, &mut after_chatedge).await
}

/// [`run_rounds`] once the targets' URLs are known: `urls` is (chatedge, baseline).
async fn rounds_against<W, G, M, F, Fut>(
    load: &LoadArgs,
    quiet: bool,
    (data_plane, baseline): (&str, Option<&str>),
    ledger: Option<Arc<Ledger>>,
    gauge: &G,
    make: M,
    after_chatedge: &mut F,
) -> Result<Vec<Round>>
where
    W: Workload,
    G: Gauge,
    M: Fn(&str, Option<Arc<Ledger>>) -> Result<W>,
    F: FnMut() -> Fut,
    Fut: Future<Output = ()>,
{
    let pace = pace(load);
    let mut done = Vec::new();
    for (target, number) in rounds::plan(load.rounds, baseline.is_some()) {
        let workload = match (baseline, target) {
            (Some(url), Target::Baseline) => make(url, None)?,
            _ => make(data_plane, ledger.clone())?,
        };
        let before = match target {
            Target::Chatedge => gauge.commits().await,
            Target::Baseline => None,
        };
        let mut round =
            rounds::measure(target, number, load.rounds, Arc::new(workload), pace, load.duration, quiet).await;
        if target == Target::Chatedge {
            round.commits = Commits::between(before, gauge.commits().await, round.stats.elapsed);
            round.backlog = Some(drain_backlog(gauge, load, number, quiet).await);
            after_chatedge().await;
        }
        done.push(round);
        tokio::time::sleep(load.pause).await;
    }
    Ok(done)
}

/// Messages still queued on the server after the run: a send test measures how fast
/// chatedge *accepts* (durably); the network takes them at its own pace afterwards.
pub async fn backlog(p: &Provisioner, instances: &[Instance]) -> Option<u64> {
    match p.queued(instances).await {
        Ok(n) => Some(n),
        Err(e) => {
            eprintln!("note: could not read queue/count after the run: {e}");
            None
        }
    }
}

#[cfg(test)]
mod tests;
