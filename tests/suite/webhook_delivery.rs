//! Issue 9, the delivery engine end to end (real binary, real receivers on 127.0.0.1): a
//! receiver that was down gets every event once back, in order per instance, through a
//! breaker that opened and recovered; `kill -9` during retries resumes the schedule instead of
//! restarting it; a fixed URL fixes the backlog; a cleared URL drops its kind's events; a
//! receiver's return is noticed by a recovery probe long before a distant retry, and failed
//! probes use up no attempt.

use crate::common;
use crate::webhook_support;

use std::time::Duration;

use common::*;
use webhook_support::*;

/// chatedge up, one paired instance with every webhook pointed at a receiver that answers 503.
async fn paired_with_a_dead_receiver(dir: &std::path::Path, cfg: &str) -> (Chatedge, Http, Receiver, Instance) {
    let ce = Chatedge::up(dir, cfg);
    let http = Http::new();
    let receiver = Receiver::start(Mode::Unavailable).await;
    let inst = create_instance(&http, &ce, None).await;
    wait_known(&http, &ce, &inst).await;
    point_every_webhook(&http, &ce, &inst, &receiver.url).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    (ce, http, receiver, inst)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_while_gets_every_event_in_order_once_back() {
    // Twelve 1 s steps: more than the outage, so no event runs out of attempts.
    let cfg = config(
        "retry_schedule = [\"300ms\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]\n\
         breaker_probe_after = \"1s\"\nbreaker_window = \"30s\"",
    );
    let dir = temp_dir();
    let (ce, http, receiver, inst) = paired_with_a_dead_receiver(dir.path(), &cfg).await;

    let zaaps = zaap_list(&send_texts(&http, &ce, &inst, 30, 70_001, "while the receiver is down").await);
    wait_metric(&http, &ce, "chatedge_dp_webhook_breakers_open", "", 1.0).await;
    assert!(receiver.delivered().is_empty());
    assert_eq!(metric(&http, &ce, "chatedge_dp_webhook_deliveries_total", "dead_letter").await, 0.0);

    receiver.set(Mode::Ok);
    let arrivals = wait_complete(&receiver, &inst.id, &zaaps, "every event after the receiver came back").await;
    assert_in_order(&arrivals, &inst.id, &zaaps);
    let breakers = common::eventually(PATIENCE, || async {
        (metric(&http, &ce, "chatedge_dp_webhook_breakers_open", "").await == 0.0).then_some(())
    })
    .await;
    assert!(breakers.is_some(), "the breaker closed once the probe succeeded");
    assert_eq!(metric(&http, &ce, "chatedge_dp_webhook_deliveries_total", "dead_letter").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_back_before_the_next_distant_retry_is_noticed_by_a_probe_that_uses_no_attempt() {
    // Two attempts, then an hour's wait, then dead letters; a breaker that never opens (the
    // lanes fail far fewer than 1,000 times). Only a recovery probe can notice the return,
    // and a failed probe must not count: a third counted failure would dead-letter the event.
    let cfg = config("retry_schedule = [\"300ms\", \"1h\"]\nbreaker_probe_after = \"1s\"\nbreaker_min_attempts = 1000");
    let dir = temp_dir();
    let (ce, http, receiver, inst) = paired_with_a_dead_receiver(dir.path(), &cfg).await;

    let zaaps = zaap_list(&send_texts(&http, &ce, &inst, 20, 73_001, "while the receiver is down").await);
    let failed = wait_metric(&http, &ce, "chatedge_dp_webhook_recovery_probes_total", "failed", 3.0).await;
    assert!(receiver.delivered().is_empty());
    assert_eq!(metric(&http, &ce, "chatedge_dp_webhook_breakers_open", "").await, 0.0, "the breaker never opened");
    assert_eq!(
        metric(&http, &ce, "chatedge_dp_webhook_deliveries_total", "dead_letter").await,
        0.0,
        "{failed} failed probes used up no event's attempts"
    );
    let heads = receiver.attempted_ids();
    assert!(heads.iter().all(|id| receiver.attempts_of(id) <= 2 + failed as usize));

    receiver.set(Mode::Ok);
    let arrivals = wait_complete(&receiver, &inst.id, &zaaps, "every event, long before the hour's retry").await;
    assert_in_order(&arrivals, &inst.id, &zaaps);
    assert!(metric(&http, &ce, "chatedge_dp_webhook_recovery_probes_total", "recovered").await >= 1.0);
    assert_eq!(metric(&http, &ce, "chatedge_dp_webhook_deliveries_total", "dead_letter").await, 0.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_during_retries_resumes_the_schedule() {
    // An event gets 1 + 3 attempts; a restart must not give it 4 more.
    let cfg = config("retry_schedule = [\"1s\", \"1s\", \"2s\"]");
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &cfg);
    let http = Http::new();
    let receiver = Receiver::start(Mode::Unavailable).await;
    let inst = create_instance(&http, &ce, None).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    set_webhook(&http, &ce, &inst, "update-webhook-delivery", &receiver.url).await;
    send_texts(&http, &ce, &inst, 1, 71_001, "retried across a crash").await;

    let id = common::eventually(PATIENCE, || async {
        receiver.attempted_ids().into_iter().find(|id| receiver.attempts_of(id) >= 2)
    })
    .await
    .expect("the event is attempted twice");
    // The second failure's new schedule is committed a moment after the answer; the third
    // attempt is not due for another ~0.8 s.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = receiver.attempts_of(&id);
    ce.kill_9();

    let ce = Chatedge::up(dir.path(), &cfg);
    wait_metric(&http, &ce, "chatedge_dp_webhook_deliveries_total", "dead_letter", 1.0).await;
    assert_eq!(before, 2, "killed between the second and third attempt");
    assert_eq!(receiver.attempts_of(&id), 4, "the schedule resumed at its third attempt; 4 in all");
    assert!(receiver.delivered().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fixed_url_fixes_the_backlog_and_a_cleared_url_drops_its_events() {
    let cfg =
        config("retry_schedule = [\"500ms\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\", \"1s\"]");
    let dir = temp_dir();
    let ce = Chatedge::up(dir.path(), &cfg);
    let http = Http::new();
    let wrong = Receiver::start(Mode::Unavailable).await;
    let right = Receiver::start(Mode::Ok).await;
    let inst = create_instance(&http, &ce, None).await;
    pair(&http, &ce, &inst, "5511999990001").await;
    set_webhook(&http, &ce, &inst, "update-webhook-delivery", &wrong.url).await;
    set_webhook(&http, &ce, &inst, "update-webhook-message-status", &wrong.url).await;
    let zaaps = zaap_list(&send_texts(&http, &ce, &inst, 5, 72_001, "to a wrong URL").await);
    common::eventually(PATIENCE, || async { (wrong.requests() >= 2).then_some(()) }).await.expect("tried");

    set_webhook(&http, &ce, &inst, "update-webhook-delivery", &right.url).await;
    let got = right
        .wait_for("the backlog at the fixed URL", |d| {
            let n = d.iter().filter(|a| a.body["type"] == "DeliveryCallback").count();
            n >= zaaps.len()
        })
        .await;
    assert_in_order(&got, &inst.id, &zaaps);

    set_webhook(&http, &ce, &inst, "update-webhook-message-status", "").await;
    let dropped = wait_metric(&http, &ce, "chatedge_dp_webhook_events_dropped_total", "url_cleared", 1.0).await;
    println!("status events dropped when their URL was cleared: {dropped}");
    let settled = wrong.requests();
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(wrong.requests(), settled, "nothing more goes to the cleared kind's old URL");
    assert!(
        right.delivered().iter().all(|a| a.body["type"] != "MessageStatusCallback"),
        "status events were not moved to the delivery URL"
    );
}
