//! The `webhooks` scenario: an embedded sink on loopback receives every webhook of N
//! instances created with all their URLs pointing at it; the send-text load publishes each
//! accepted message to the ledger; after each chatedge round the scenario waits (bounded by
//! `--drain`) for the DeliveryCallbacks and READ statuses still on their way; then it settles
//! the books: published = delivered + missing, send → DeliveryCallback and send → READ
//! latency, duplicates, signatures. chatedge must run with `[webhooks]
//! allow_insecure_loopback = true` to accept the sink's http://127.0.0.1 URLs.

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Result;

use crate::cli::WebhooksArgs;
use crate::ledger::Ledger;
use crate::progress;
use crate::report::{self, Report};
use crate::scenario::send::{self, SendText};
use crate::sink::Sink;

/// How one drain ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    pub waited: Duration,
    /// Messages still without a DeliveryCallback / without READ when the drain ended.
    pub undelivered: u64,
    pub unread: u64,
}

/// Waits until every published message has its DeliveryCallback and READ status, or `limit`.
pub async fn drain(ledger: &Ledger, limit: Duration, quiet: bool) -> Drained {
    let started = tokio::time::Instant::now();
    let (published, _, _) = ledger.progress();
    let bar = progress::counted(quiet, "draining webhooks".into(), published * 2);
    let outcome = loop {
        let (published, delivered, read) = ledger.progress();
        bar.set_length((published * 2).max(1));
        bar.set_position(delivered + read);
        bar.set_message(format!("{delivered} delivered, {read} read of {published}"));
        let (undelivered, unread) = (published - delivered, published - read);
        if (undelivered == 0 && unread == 0) || started.elapsed() >= limit {
            break Drained { waited: started.elapsed(), undelivered, unread };
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    bar.finish_and_clear();
    outcome
}

fn describe(n: usize, d: &Drained) -> String {
    if d.undelivered == 0 && d.unread == 0 {
        format!(
            "after chatedge round {n}, every DeliveryCallback and READ had arrived within {:.2} s",
            d.waited.as_secs_f64()
        )
    } else {
        format!(
            "after chatedge round {n}, the drain stopped after {:.2} s with {} messages without DeliveryCallback and {} \
             without READ",
            d.waited.as_secs_f64(),
            d.undelivered,
            d.unread
        )
    }
}

pub async fn run(args: WebhooksArgs) -> Result<()> {
    let quiet = args.output.quiet;
    let ledger = Arc::new(Ledger::default());
    let sink = Arc::new(Sink::start(args.sink.sink, ledger.clone()).await?);
    if !quiet {
        eprintln!(
            "webhook sink listening on http://{} (chatedge needs [webhooks] allow_insecure_loopback = true)",
            sink.addr()
        );
    }
    let (http, provisioner) = super::connect(&args.target, super::pace(&args.load).pool_size())?;
    let instances = super::provision(&provisioner, args.load.instances, Some(sink.clone()), quiet).await?;
    if args.backlog > 0 {
        return super::webhook_backlog::run(&args, &http, &provisioner, &instances, &sink, &ledger).await;
    }
    let started = std::time::Instant::now();
    let drains = RefCell::new(Vec::new());
    let after_round = || {
        let (ledger, drains) = (ledger.clone(), &drains);
        async move {
            let d = drain(&ledger, args.drain, quiet).await;
            drains.borrow_mut().push(d);
        }
    };
    let bodies = send::bodies(args.load.message_chars);
    let make = |base: &str, ledger| SendText::new(http.clone(), base, &instances, bodies.clone(), ledger);
    let against = super::Against { data_plane: &args.target.data_plane, http: &http };
    let gauge = super::queue_gauge(&http, &args.target, &args.load);
    let done = super::run_rounds(&args.load, quiet, against, Some(ledger.clone()), &gauge, make, after_round).await?;
    let (accounting, latencies) = ledger.account();
    let defects = accounting.defects(args.verdict.max_duplicates);
    let elapsed = started.elapsed().as_secs_f64();
    let events = accounting.events_received;
    let per_s = events as f64 / elapsed.max(1e-9);
    let mut report = Report::new(super::meta("webhooks", &args.load, &args.target), done)
        .with_webhooks(accounting, latencies)
        .with_defects(defects.clone());
    for (n, d) in drains.borrow().iter().enumerate() {
        report = report.note(describe(n + 1, d));
    }
    report = report.note(format!(
        "the sink received {events} webhooks in {elapsed:.1} s of rounds, pauses and drains: {per_s:.0} deliveries/s \
         (bounded by the send load; `--backlog N` measures the delivery ceiling)"
    ));
    report = report.note(format!(
        "webhook sink on http://{}; {} webhook secrets registered for signature checks",
        sink.addr(),
        instances.iter().filter(|i| i.webhook_secret.is_some()).count()
    ));
    http.close().await;
    report::emit(&report, &args.output)?;
    conclude("webhooks", &defects)
}

/// A webhook scenario's exit: an error naming every defect (the binary prints it and exits
/// 1), or `Ok` when there is none.
pub fn conclude(scenario: &str, defects: &[String]) -> Result<()> {
    if defects.is_empty() {
        return Ok(());
    }
    anyhow::bail!("{scenario} failed: {}", defects.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn drain_ends_when_everything_arrived_or_at_the_limit() {
        let ledger = Ledger::default();
        let d = drain(&ledger, Duration::from_secs(5), true).await;
        assert_eq!((d.undelivered, d.unread), (0, 0));
        ledger.publish("m".into(), std::time::Instant::now());
        let d = drain(&ledger, Duration::from_millis(120), true).await;
        assert_eq!((d.undelivered, d.unread), (1, 1));
        assert!(d.waited >= Duration::from_millis(120));
        assert!(describe(1, &d).contains("1 messages without DeliveryCallback"));
    }

    #[test]
    fn a_run_with_defects_fails_and_says_why() {
        assert!(conclude("webhooks", &[]).is_ok());
        let defects = ["2 of 10 accepted messages got no DeliveryCallback".to_owned(), "1 webhooks failed".to_owned()];
        let e = conclude("webhooks", &defects).expect_err("a failed run");
        assert_eq!(
            e.to_string(),
            "webhooks failed: 2 of 10 accepted messages got no DeliveryCallback; 1 webhooks failed"
        );
    }
}
