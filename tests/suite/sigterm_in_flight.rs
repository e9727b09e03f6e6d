//! SIGTERM while requests are provably in flight — their bytes written, their answers not yet
//! started — and while others race the signal. The process finishes what it accepted and
//! exits 0; after a restart every send answered 200 is in the queue with the ids it was
//! answered with, every send refused with an answer is absent, an unanswered send is there at
//! most once, and a request whose client gave up mid-body left no trace.

use crate::common;

use std::time::Duration;

use common::faults::ledger::Ledger;
use common::faults::wire::{Conn, Outcome};
use common::faults::{queue_listing, restart};
use common::*;
use serde_json::json;
use tokio::task::JoinSet;

/// Messages an instance that is not connected may hold: room for the sends before the signal,
/// every racing one and 16 more, so that of the held requests at least 16 are accepted and at
/// least 24 refused with 429 (a full queue) — both kinds of answer happen during the shutdown.
const LIMIT: usize = 48;
/// Sends answered before the signal.
const BEFORE: usize = 16;
/// Requests whose last body bytes are held back until the shutdown has begun.
const HELD: usize = 64;
/// Of those, requests whose client gives up (closes) instead of finishing the body.
const ABANDONED: usize = 8;
/// Requests fired on fresh connections at the moment of the signal.
const RACING: usize = 16;
/// Body bytes held back.
const TAIL: usize = 5;

fn config() -> String {
    format!("{FAST}\n[queue]\nmax_waiting_disconnected = {LIMIT}\n")
}

fn body(text: &str) -> Vec<u8> {
    json!({"phone": "5511988887777", "message": text}).to_string().into_bytes()
}

/// A connection served by the data plane (one request answered on it), with a send of `text`
/// written on it except for its last `TAIL` bytes.
async fn held(dp: &str, path: &str, count_path: &str, text: &str) -> Conn {
    let mut conn = Conn::open(dp).await.unwrap();
    let get = format!("GET {count_path} HTTP/1.1\r\nhost: {}\r\n\r\n", common::faults::wire::host_of(dp));
    conn.write_raw(get.as_bytes()).await.unwrap();
    assert_eq!(conn.answer().await.status(), Some(200), "queue/count on a held connection");
    let b = body(text);
    conn.write_partial(path, &b, b.len() - TAIL).await.unwrap();
    conn
}

/// One send and what came back.
type Sent = (String, Outcome);

/// `RACING` sends on fresh connections, staggered over ~2 ms from now: with the signal sent
/// in the middle, some land before it, some during the shutdown, some after the listener closed.
fn race(dp: &str, path: &str) -> JoinSet<Sent> {
    let mut racing = JoinSet::new();
    for i in 0..RACING {
        let (dp, path, text) = (dp.to_owned(), path.to_owned(), format!("racing {i}"));
        racing.spawn(async move {
            tokio::time::sleep(Duration::from_micros(125 * i as u64)).await;
            let outcome = match Conn::open(&dp).await {
                Ok(mut conn) => conn.post(&path, &body(&text)).await,
                Err(e) => Outcome::NoAnswer(format!("connect: {e}")),
            };
            (text, outcome)
        });
    }
    racing
}

/// Writes the held-back tail of each request and reads its answer.
fn finish(holding: Vec<(Conn, String)>) -> JoinSet<Sent> {
    let mut finishing = JoinSet::new();
    for (mut conn, text) in holding {
        finishing.spawn(async move {
            let b = body(&text);
            let outcome = match conn.write_rest(&b, b.len() - TAIL).await {
                Ok(()) => conn.answer().await,
                Err(e) => Outcome::NoAnswer(format!("write: {e}")),
            };
            (text, outcome)
        });
    }
    finishing
}

/// Files every outcome in `ledger`; returns how many were answered 200 and otherwise.
async fn file(mut sends: JoinSet<Sent>, ledger: &mut Ledger) -> (usize, usize) {
    let (mut acked, mut refused) = (0, 0);
    while let Some(r) = sends.join_next().await {
        let (text, outcome) = r.unwrap();
        match outcome.status() {
            Some(200) => acked += 1,
            Some(_) => refused += 1,
            None => {}
        }
        ledger.record(text, outcome);
    }
    (acked, refused)
}

fn log_says_shutting_down(ce: &Chatedge) -> bool {
    ce.log().contains("shutting down: finishing in-flight requests")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_keeps_every_acknowledged_send_and_no_refused_one() {
    let dir = temp_dir();
    let config = config();
    let http = Http::new();
    let ce = Chatedge::up(dir.path(), &config);
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    let url = ce.instance_url(&inst, "send-text");
    let path = url.replacen(&ce.dp, "", 1);
    let count_path = ce.instance_url(&inst, "queue/count").replacen(&ce.dp, "", 1);
    let mut ledger = Ledger::default();

    let mut conn = Conn::open(&ce.dp).await.unwrap();
    for i in 0..BEFORE {
        let text = format!("before {i}");
        let outcome = conn.post(&path, &body(&text)).await;
        assert_eq!(outcome.status(), Some(200), "{outcome:?}");
        ledger.record(text, outcome);
    }
    drop(conn);

    let mut holding = Vec::new();
    for i in 0..HELD {
        let text = format!("held {i}");
        holding.push((held(&ce.dp, &path, &count_path, &text).await, text));
    }
    for (conn, text) in &mut holding {
        assert!(!conn.answer_started().await, "{text} was answered before its body was complete");
    }
    let racing = race(&ce.dp, &path);
    tokio::time::sleep(Duration::from_micros(500)).await;
    ce.sigterm();
    eventually(Duration::from_secs(10), || async { log_says_shutting_down(&ce).then_some(()) })
        .await
        .expect("chatedge logs that it is shutting down");
    // The shutdown has begun and none of the held requests has an answer: they are in flight.
    for (conn, text) in &mut holding {
        assert!(!conn.answer_started().await, "{text} was answered or cut off before its body was complete");
    }

    let abandoned: Vec<_> = holding.drain(..ABANDONED).map(|(_, text)| text).collect();
    let (held_acked, held_refused) = file(finish(holding), &mut ledger).await;
    file(racing, &mut ledger).await;
    let status = tokio::task::spawn_blocking(move || ce.wait_exit(Duration::from_secs(30))).await.unwrap();
    assert!(status.success(), "exit status {status:?}");

    let ce = restart(dir.path(), &config).await;
    let listing = queue_listing(&http, &ce, &inst).await;
    ledger.check_listing(&listing, "queue after SIGTERM and restart");
    let lost = ledger.acked_outside(&listing);
    assert!(lost.is_empty(), "acknowledged sends missing after SIGTERM: {lost:?}");
    for text in &abandoned {
        assert!(listing.iter().all(|m| &m.text != text), "{text} was abandoned mid-body yet is queued");
    }
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": listing.len()}));
    let (acked, refused, unknown) = ledger.count();
    eprintln!(
        "sigterm_in_flight: {HELD} held in flight at the signal ({ABANDONED} abandoned, {held_acked} acknowledged, \
         {held_refused} refused); in all {acked} acknowledged, {refused} refused, {unknown} unanswered; \
         {} queued after restart",
        listing.len()
    );
    assert!(held_acked > 0 && held_refused > 0, "the held requests must meet both an open and a full queue");
}
