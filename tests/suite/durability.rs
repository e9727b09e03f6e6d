//! Durability: a 2xx on a send means the message is on disk. `kill -9` at any moment loses no
//! acknowledged message; pending webhook events survive too. (SIGTERM: sigterm_in_flight.rs.)

use crate::common;

use std::collections::HashSet;
use std::time::Duration;

use common::*;
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_minus_nine_loses_no_acknowledged_message() {
    let Paired { dir, ce, http, sink, inst } = paired(FAST).await;
    let (s, _) = http.get(&ce.instance_url(&inst, "disconnect"), None).await;
    assert_eq!(s, 200);

    let accepted = zaap_ids(&send_texts(&http, &ce, &inst, 200, 30_001, "queued").await);
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 200}));
    ce.kill_9();

    let ce = Chatedge::up(dir.path(), FAST);
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 200}), "every acknowledged message survived kill -9");
    let (s, _) = http.get(&ce.instance_url(&inst, "status"), None).await;
    assert_eq!(s, 200);
    pair(&http, &ce, &inst, "5511999990001").await;

    let want = accepted;
    sink.wait_for(PATIENCE, "all 200 queued messages delivered", |events| {
        let got: HashSet<String> = events
            .iter()
            .filter(|e| e.body["type"] == "DeliveryCallback")
            .filter_map(|e| e.body["zaapId"].as_str().map(str::to_owned))
            .collect();
        want.is_subset(&got)
    })
    .await;
    let (_, count) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
    assert_eq!(count, json!({"count": 0}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_webhook_events_are_delivered_after_a_crash() {
    let Paired { dir, ce, http, sink, inst } = paired(FAST).await;
    sink.wait_for(PATIENCE, "ConnectedCallback", |e| e.iter().any(|r| r.body["type"] == "ConnectedCallback")).await;
    sink.fail_next(usize::MAX / 2); // the receiver is down
    let accepted = zaap_ids(&send_texts(&http, &ce, &inst, 20, 30_001, "while the receiver is down").await);
    // Wait until the messages left (their events are now only in the outbox).
    eventually(Duration::from_secs(20), || async {
        let (_, c) = http.get(&ce.instance_url(&inst, "queue/count"), None).await;
        (c["count"] == 0).then_some(())
    })
    .await
    .expect("messages leave");
    ce.kill_9();
    sink.fail_next(0); // the receiver is back

    let _ce = Chatedge::up(dir.path(), FAST);
    sink.wait_for_zaaps(&accepted, "deliveries recorded before the crash").await;
}
