//! A trial not subscribed within its 2 days is deleted with everything the data plane held
//! for it (issue 10 §2 and §6: "trial expiry deletes the instance and its queued messages"):
//! messages queued while its session was cut off are gone from the data plane's queue and its
//! metrics, and none of them is delivered later, when the session would have come back. A
//! subscribed instance in the same state keeps its queue and delivers it.

use crate::accounts_support;
use crate::common;

use std::time::Duration;

use accounts_support::*;
use common::*;
use serde_json::json;

const CUT_MS: u64 = 15_000;

fn phone(n: u64) -> String {
    format!("55119{:08}", 60_001 + n)
}

/// Cuts `inst` off the network for [`CUT_MS`]: sends wait in its queue meanwhile.
async fn cut_off(http: &Http, ce: &Chatedge, inst: &Instance) {
    let body = json!({"instanceId": inst.id, "ms": CUT_MS});
    let (s, v) = http.post(&format!("{}/sim/drop", ce.dp), Some(&ce.admin_token), &body).await;
    assert_eq!(s, 200, "sim/drop: {v}");
    let cut = eventually(PATIENCE, || async {
        let (_, v) = http.get(&ce.instance_url(inst, "status"), None).await;
        (v["connected"] == json!(false)).then_some(())
    });
    assert!(cut.await.is_some(), "the instance is disconnected");
}

async fn queue_depth(http: &Http, ce: &Chatedge) -> f64 {
    metrics::sum(http, &ce.dp, "chatedge_dp_queue_depth", "").await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trial_expiry_deletes_the_instance_and_its_queued_messages() {
    let dir = temp_dir();
    let ce = up(dir.path());
    let http = Http::new();
    set_clock(&http, &ce, "2030-03-01T00:00:00Z").await;
    let trial = create(&http, &ce, &ce.integrator_token, "trial").await;
    let kept = create(&http, &ce, &ce.integrator_token, "kept").await;
    let (s, v) = lifecycle(&http, &ce, &ce.integrator_token, &kept, "subscription").await;
    assert_eq!(s, 201, "{v}");
    pair(&http, &ce, &trial, "5511977770001").await;
    pair(&http, &ce, &kept, "5511977770002").await;
    cut_off(&http, &ce, &trial).await;
    cut_off(&http, &ce, &kept).await;
    for inst in [&trial, &kept] {
        for n in 0..5 {
            let body = json!({"phone": phone(n), "message": format!("queued {n}")});
            let (s, v) = http.post(&ce.instance_url(inst, "send-text"), None, &body).await;
            assert_eq!(s, 200, "queued while cut off: {v}");
        }
        let (_, v) = http.get(&ce.instance_url(inst, "queue/count"), None).await;
        assert_eq!(v["count"], json!(5), "five messages wait");
    }
    let depth = eventually(PATIENCE, || async { (queue_depth(&http, &ce).await == 10.0).then_some(()) });
    assert!(depth.await.is_some(), "the data plane's metrics show both queues");

    // Past the 2-day trial: the job deletes the trial; the answer comes once the data plane
    // applied it.
    let jobs = set_clock(&http, &ce, "2030-03-03T00:00:01Z").await;
    assert_eq!(jobs["instancesExpired"], json!(1), "{jobs}");
    assert_eq!(ids(&list(&http, &ce, &ce.integrator_token).await), vec![kept.id.clone()]);
    for route in ["status", "queue", "queue/count"] {
        let (s, v) = http.get(&ce.instance_url(&trial, route), None).await;
        assert_eq!(s, 401, "{route} of the deleted trial answers as an unknown instance: {v}");
    }
    let depth = eventually(PATIENCE, || async { (queue_depth(&http, &ce).await == 5.0).then_some(()) });
    assert!(depth.await.is_some(), "only the subscribed instance's queue is left in the metrics");

    // After the cut would have ended: the subscribed instance delivers its queue, the deleted
    // trial delivers nothing.
    let delivered = eventually(Duration::from_millis(CUT_MS) + PATIENCE, || async {
        let mut all = 0;
        for n in 0..5 {
            all += sim_received(&http, &ce, &kept, &phone(n)).await.len();
        }
        (all == 5).then_some(())
    });
    assert!(delivered.await.is_some(), "the subscribed instance's queue went out after the cut");
    tokio::time::sleep(Duration::from_secs(2)).await;
    for n in 0..5 {
        assert_eq!(
            sim_received(&http, &ce, &trial, &phone(n)).await.len(),
            0,
            "nothing of the deleted trial was delivered"
        );
    }
    assert_eq!(queue_depth(&http, &ce).await, 0.0, "no queue left on the data plane");
    drop(ce);
    drop(dir);
}
