//! `webhooks --backlog N`: how fast chatedge drains a webhook backlog once a receiver that was
//! down comes back (issue 9 §9: 1,000,000 events in under 2 minutes), which is also its
//! delivery ceiling into a local sink (≥ 20,000 deliveries/s). Phases:
//!
//! 1. **warm-up**: a few sends with the sink up, to learn how many webhook events one send
//!    produces here (DeliveryCallback plus the sim's statuses);
//! 2. **backlog**: the sink answers 503; sends at `--rate`/`--concurrency`, spread over the
//!    instances (many instances, many lanes), until about N events are produced; then waits
//!    until the server's queues are empty and the last statuses are decided;
//! 3. **drain**: the sink answers 200 again; every second a progress line (events delivered,
//!    deliveries/s over that second, the ledger's complete messages, the server's backlog
//!    gauge); done when every message has its DeliveryCallback and READ and the gauge (when
//!    exported) is zero, or at `--drain`.
//!
//! Events are produced through the normal paths only (send-text on the sim network); the
//! figures include the sink's own work on the same cores (signature checks, JSON parsing).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Result;
use serde_json::json;

use crate::cli::{TargetArgs, WebhooksArgs};
use crate::client::Http;
use crate::ledger::Ledger;
use crate::load::Pace;
use crate::provision::{Instance, Provisioner};
use crate::scenario::send::{self, SendText};
use crate::scrape;
use crate::sink::Sink;

/// Sends of the warm-up.
const WARM_UP_SENDS: u64 = 50;
/// After the queues are empty, time for the network's last statuses (READ comes after a
/// `read_delay`) to be decided.
const SETTLE: Duration = Duration::from_secs(3);

pub async fn run(
    args: &WebhooksArgs,
    http: &Http,
    provisioner: &Provisioner,
    instances: &[Instance],
    sink: &Sink,
    ledger: &Arc<Ledger>,
) -> Result<()> {
    let quiet = args.output.quiet;
    let bodies = send::bodies(args.load.message_chars);
    let sender =
        Arc::new(SendText::new(http.clone(), &args.target.data_plane, instances, bodies, Some(ledger.clone()))?);
    let seq = Arc::new(AtomicU64::new(0));

    let before = ledger.received();
    produce(&sender, &seq, WARM_UP_SENDS, 8).await;
    let warm = super::webhooks::drain(ledger, Duration::from_secs(60), quiet).await;
    anyhow::ensure!(warm.undelivered == 0 && warm.unread == 0, "warm-up webhooks did not all arrive within 60 s");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let per_send = (ledger.received() - before) as f64 / WARM_UP_SENDS as f64;
    let sends = (args.backlog as f64 / per_send.max(1.0)).ceil() as u64;
    say(quiet, format!("warm-up: {per_send:.2} webhook events per send; sending {sends} texts with the sink down"));

    sink.set_down(true);
    let started = Instant::now();
    let concurrency = match super::pace(&args.load) {
        Pace::Closed { concurrency, .. } => concurrency,
        Pace::Open { rate, .. } => (rate / 100.0).clamp(8.0, 256.0) as u32,
    };
    let producing = tokio::spawn(produce_reporting(sender.clone(), seq.clone(), sends, concurrency, quiet));
    producing.await??;
    let produced_in = started.elapsed();
    wait_for_empty_queues(provisioner, instances, quiet).await;
    tokio::time::sleep(SETTLE).await;
    let (published, _, _) = ledger.progress();
    let received_before = ledger.received();
    let backlog_gauge = metric(http, &args.target, &args.backlog_metric).await;
    say(
        quiet,
        format!(
            "backlog built: {published} messages accepted in {:.1} s; expecting ~{:.0} events; server {} = {}",
            produced_in.as_secs_f64(),
            published as f64 * per_send,
            args.backlog_metric,
            fmt_gauge(backlog_gauge)
        ),
    );

    sink.set_down(false);
    let drain = drain(args, http, ledger, received_before).await;
    let (accounting, _) = ledger.account();
    let defects = accounting.defects(args.verdict.max_duplicates);
    let summary = json!({
        "scenario": "webhooks --backlog",
        "instances": instances.len(),
        "messages": published,
        "events_per_send": per_send,
        "events_delivered": drain.delivered,
        "drain_seconds": drain.seconds,
        "drained": drain.complete,
        "deliveries_per_second_mean": drain.delivered as f64 / drain.seconds.max(1e-9),
        "deliveries_per_second_peak": drain.peak,
        "duplicates": accounting.duplicates,
        "bad_signatures": accounting.bad_signatures,
        "defects": defects,
    });
    println!(
        "\nbacklog drain: {} events from {} instances delivered in {:.1} s ({}): mean {:.0} deliveries/s, peak {:.0}/s \
         over one second; {} duplicates, {} bad signatures",
        drain.delivered,
        instances.len(),
        drain.seconds,
        if drain.complete { "drained to zero" } else { "NOT drained: --drain reached" },
        summary["deliveries_per_second_mean"].as_f64().unwrap_or(0.0),
        drain.peak,
        summary["duplicates"],
        summary["bad_signatures"],
    );
    if args.output.json {
        println!("{summary}");
    }
    for d in &defects {
        eprintln!("FAIL: {d}");
    }
    anyhow::ensure!(drain.complete, "the backlog did not drain within --drain {:?}", args.drain);
    super::webhooks::conclude("webhooks --backlog", &defects)
}

struct Drain {
    delivered: u64,
    seconds: f64,
    peak: f64,
    complete: bool,
}

/// Polls every second until every accepted message has its DeliveryCallback and READ.
async fn drain(args: &WebhooksArgs, http: &Http, ledger: &Ledger, received_before: u64) -> Drain {
    let started = Instant::now();
    let (mut last, mut last_at, mut peak) = (received_before, started, 0f64);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let received = ledger.received();
        let (published, delivered, read) = ledger.progress();
        let now = Instant::now();
        let rate = (received - last) as f64 / now.duration_since(last_at).as_secs_f64();
        peak = peak.max(rate);
        (last, last_at) = (received, now);
        let gauge = metric(http, &args.target, &args.backlog_metric).await;
        // Statuses of one message may arrive after its READ: the server's gauge, when it has
        // one, must be empty too.
        let complete = delivered == published && read == published && gauge.is_none_or(|g| g == 0.0);
        say(
            args.output.quiet,
            format!(
                "drain {:>6.1} s: {} events delivered ({rate:.0}/s), {} of {published} messages complete, server {} = {}",
                started.elapsed().as_secs_f64(),
                received - received_before,
                delivered.min(read),
                args.backlog_metric,
                fmt_gauge(gauge)
            ),
        );
        if complete || started.elapsed() >= args.drain {
            return Drain {
                delivered: received - received_before,
                seconds: started.elapsed().as_secs_f64(),
                peak,
                complete,
            };
        }
    }
}

/// Sends `n` more texts, `concurrency` at a time; failures are counted and retried no further.
async fn produce(sender: &Arc<SendText>, seq: &Arc<AtomicU64>, n: u64, concurrency: u32) -> u64 {
    let end = seq.load(Ordering::Relaxed) + n;
    let failed = Arc::new(AtomicU64::new(0));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency {
        let (sender, seq, failed) = (sender.clone(), seq.clone(), failed.clone());
        workers.spawn(async move {
            loop {
                let s = seq.fetch_add(1, Ordering::Relaxed);
                if s >= end {
                    return;
                }
                if sender.send(s).await.is_err() {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
    failed.load(Ordering::Relaxed)
}

/// [`produce`] with a line every 5 s.
async fn produce_reporting(
    sender: Arc<SendText>,
    seq: Arc<AtomicU64>,
    n: u64,
    concurrency: u32,
    quiet: bool,
) -> Result<()> {
    let start = seq.load(Ordering::Relaxed);
    let started = Instant::now();
    let watch = {
        let seq = seq.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(5)).await;
                let done = seq.load(Ordering::Relaxed).saturating_sub(start).min(n);
                let rate = done as f64 / started.elapsed().as_secs_f64();
                say(quiet, format!("backlog: {done} of {n} texts sent ({rate:.0}/s)"));
            }
        })
    };
    let failed = produce(&sender, &seq, n, concurrency).await;
    watch.abort();
    if failed > 0 {
        eprintln!("note: {failed} sends failed while building the backlog (not counted)");
    }
    Ok(())
}

async fn wait_for_empty_queues(p: &Provisioner, instances: &[Instance], quiet: bool) {
    loop {
        match p.queued(instances).await {
            Ok(0) => return,
            Ok(n) => say(quiet, format!("backlog: {n} messages still queued for the network")),
            Err(e) => eprintln!("note: queue/count failed: {e}"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The sum of `family`'s samples on the server's /metrics, if it has any.
async fn metric(http: &Http, target: &TargetArgs, family: &str) -> Option<f64> {
    let url = scrape::metrics_url(&target.data_plane, target.metrics_url.as_deref());
    scrape::family(http, &url, family).await.ok()
}

fn fmt_gauge(v: Option<f64>) -> String {
    v.map(|v| format!("{v:.0}")).unwrap_or_else(|| "(not exported)".into())
}

fn say(quiet: bool, line: String) {
    if !quiet {
        eprintln!("{line}");
    }
}
