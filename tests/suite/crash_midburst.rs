//! `kill -9` in the middle of a burst of concurrent sends, twenty times over on one data
//! directory. After each restart, every send answered 200 is still queued or was delivered,
//! nothing refused or delivered is queued again, no send takes effect twice, and every webhook
//! event the receiver had been offered before the kill is delivered after it — signed with
//! the instance's secret, with the same id and body.

use crate::common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::faults::ledger::{self, Ledger};
use common::faults::wire::{Conn, Outcome};
use common::faults::{queue_listing, restart, Rng};
use common::*;
use serde_json::json;

/// FAST, with webhook retries that outlast any number of kills in one test.
const CONFIG: &str = r#"
[pacing]
min_delay_ms = 0
max_delay_ms = 0
[webhooks]
allow_insecure_loopback = true
initial_backoff_ms = 20
max_backoff_ms = 200
max_attempts = 100000
[network.sim]
ack_delay_ms = 1
received_delay_ms = 5
read_delay_ms = 10
"#;

const ROUNDS: usize = 20;
/// Concurrent senders, each with one request in flight at a time.
const SENDERS: usize = 32;
/// Sends per sender per round: the burst is still going when the kill comes.
const BUDGET: usize = 25;

/// What one round's senders sent: (text, outcome).
type Sends = Vec<(String, Outcome)>;

/// `SENDERS` tasks sending texts tagged `r{round}` until their budget is spent or their
/// connection breaks; `acked` counts the 200s as they come.
fn burst(dp: &str, path: &str, round: usize, acked: &Arc<AtomicUsize>) -> tokio::task::JoinSet<Sends> {
    let mut set = tokio::task::JoinSet::new();
    for task in 0..SENDERS {
        let (dp, path, acked) = (dp.to_owned(), path.to_owned(), acked.clone());
        set.spawn(async move {
            let mut sends = Vec::new();
            let Ok(mut conn) = Conn::open(&dp).await else { return sends };
            for i in 0..BUDGET {
                let text = format!("r{round} t{task} m{i}");
                let phone = format!("5511977{:06}", task + 1);
                let body = json!({"phone": phone, "message": text}).to_string();
                let outcome = conn.post(&path, body.as_bytes()).await;
                if outcome.status() == Some(200) {
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                let broken = outcome.status().is_none();
                sends.push((text, outcome));
                if broken {
                    break;
                }
            }
            sends
        });
    }
    set
}

/// Waits until every zaapId in `gone` has a DeliveryCallback and every webhook id in
/// `offered` was delivered; panics naming what is missing after [`PATIENCE`].
async fn wait_delivered(sink: &Sink, ledger: &Ledger, gone: &HashSet<String>, offered: &HashSet<String>, round: usize) {
    let missing = |events: &[common::sink::Received]| {
        let got = ledger::delivered(events);
        let ids: HashSet<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let lost: Vec<_> = gone.iter().filter(|z| !got.contains(*z)).cloned().collect();
        let undelivered: Vec<_> = offered.iter().filter(|id| !ids.contains(id.as_str())).cloned().collect();
        (lost, undelivered)
    };
    let done = eventually(PATIENCE, || async {
        let (lost, undelivered) = missing(&sink.events());
        (lost.is_empty() && undelivered.is_empty()).then_some(())
    })
    .await;
    if done.is_none() {
        let (lost, undelivered) = missing(&sink.events());
        let lost: Vec<_> = lost.iter().map(|z| format!("{z} ({:?})", ledger.acked[z].text)).collect();
        panic!(
            "round {round}: {} acknowledged sends not queued after the restart and never delivered: {lost:?}; \
             {} webhook events offered before the kill never delivered: {undelivered:?}",
            lost.len(),
            undelivered.len()
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_mid_burst_loses_nothing_acknowledged_and_sends_nothing_twice() {
    let mut rng = Rng::from_env_or_clock("crash_midburst");
    let Paired { dir, mut ce, http, sink, inst } = paired(CONFIG).await;
    let (s, v) = http.put(&ce.instance_url(&inst, "update-notify-sent-by-me"), &json!({"notifySentByMe": true})).await;
    assert_eq!(s, 200, "{v}");
    eventually(Duration::from_secs(20), || async {
        let (_, me) = http.get(&ce.instance_url(&inst, "me"), None).await;
        (me["receiveCallbackSentByMe"] == true).then_some(())
    })
    .await
    .expect("notify-sent-by-me is on");

    let mut ledger = Ledger::default();
    for round in 0..ROUNDS {
        // Every other round the receiver is down: events pile up in the outbox across the kill.
        let receiver_down = round % 2 == 1;
        if receiver_down {
            sink.fail_next(usize::MAX / 2);
        }
        wait_connected(&http, &ce, &inst).await;
        let acked = Arc::new(AtomicUsize::new(0));
        let path = ce.instance_url(&inst, "send-text").replacen(&ce.dp, "", 1);
        let mut senders = burst(&ce.dp, &path, round, &acked);
        // A random moment: after 1 to SENDERS * BUDGET / 2 acknowledgements.
        let kill_after = rng.between(1..=(SENDERS * BUDGET / 2) as u64) as usize;
        let deadline = std::time::Instant::now() + PATIENCE;
        while acked.load(Ordering::SeqCst) < kill_after {
            assert!(std::time::Instant::now() < deadline, "round {round}: the burst stalled");
            tokio::time::sleep(Duration::from_micros(200)).await;
        }
        ce.kill_9();

        // Everything the receiver saw came from before the kill.
        let before_kill = sink.events();
        let failed_before: HashSet<String> = sink.failed_ids().into_iter().collect();
        sink.fail_next(0);
        while let Some(sends) = senders.join_next().await {
            for (text, outcome) in sends.unwrap() {
                ledger.record(text, outcome);
            }
        }

        ce = restart(dir.path(), CONFIG).await;
        let listing = queue_listing(&http, &ce, &inst).await;
        let place = format!("round {round}, queue after restart");
        ledger.check_listing(&listing, &place);
        let delivered_before = ledger::delivered(&before_kill);
        for m in &listing {
            assert!(
                !delivered_before.contains(&m.zaap_id),
                "{place}: {} was delivered before the kill and is queued to be sent again",
                m.zaap_id
            );
        }
        // What is not queued any more must have been delivered, and the receiver must get
        // every event it had been offered before the kill.
        let gone = ledger.acked_outside(&listing);
        wait_delivered(&sink, &ledger, &gone, &failed_before, round).await;
    }

    let want: HashSet<String> = ledger.acked.keys().cloned().collect();
    sink.wait_for_zaaps(&want, "a DeliveryCallback for every acknowledged send").await;
    eventually(PATIENCE, || async {
        let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
        (c["count"] == 0).then_some(())
    })
    .await
    .expect("the queue drains");
    let truncated = ledger.check_webhooks(&sink.events(), &inst.secret);
    let (acked, refused, unknown) = ledger.count();
    let offered = sink.failed_ids().len();
    let took_effect = ledger.unknown_seen();
    eprintln!(
        "crash_midburst: {ROUNDS} kills; {acked} sends acknowledged, {refused} refused, {unknown} unanswered \
         ({took_effect} of which took effect); \
         {offered} webhook attempts refused while the receiver was down; {truncated} webhook receipts cut short by a kill"
    );
    assert!(unknown >= ROUNDS, "each kill leaves requests unanswered ({unknown} in {ROUNDS} rounds)");
    drop(ce);
    drop(dir);
}
