//! An instance deleted through the control plane is torn down on its data plane: its session is
//! closed, its queued messages and saved session leave the store (a restart finds nothing to
//! resume or send), and none of its pending webhooks is delivered afterwards.

use crate::common;

use common::metrics::sum;
use common::*;
use hyper::Method;
use serde_json::json;

/// Permission bits of `path`.
fn mode(path: &std::path::Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn events_of(sink: &Sink, inst: &Instance) -> usize {
    sink.events().iter().filter(|e| e.body["instanceId"] == json!(inst.id)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deleted_instance_loses_its_queue_session_and_webhooks_for_good() {
    let Paired { ce, http, sink, inst: doomed, dir } = paired(FAST).await;
    for store in ["controlplane", "dataplane"] {
        assert_eq!(mode(&dir.path().join(store)), 0o700, "{store} store directory is private");
    }
    let kept = create_instance(&http, &ce, Some(&sink)).await;
    pair(&http, &ce, &kept, "5511999990002").await;

    // The doomed instance's webhooks wait in the outbox (the receiver refuses them) ...
    sink.fail_next(usize::MAX);
    let first = send_texts(&http, &ce, &doomed, 1, 50_001, "sent before the deletion").await;
    assert_eq!(first.len(), 1);
    // ... and its later messages wait in its queue: each must leave 15 s after the one before.
    for i in 0..5 {
        let body = json!({"phone": format!("5511950{:06}", 100 + i), "message": "queued", "delayMessage": 15});
        let (s, v) = http.post(&ce.instance_url(&doomed, "send-text"), None, &body).await;
        assert_eq!(s, 200, "{v}");
    }
    let queued = eventually(PATIENCE, || async {
        let (_, v) = http.get(&ce.instance_url(&doomed, "queue/count"), None).await;
        (v["count"] == json!(5)).then_some(())
    })
    .await;
    assert!(queued.is_some(), "five messages wait in the doomed instance's queue");
    let heard_before = events_of(&sink, &doomed);

    // Through the data plane, which forwards it: one base URL serves a Z-API client.
    let url = format!("{}/instances/{}", ce.dp, doomed.id);
    let (s, v) = http.raw(Method::DELETE, &url, Some(&ce.integrator_token), &[], Vec::new()).await;
    assert_eq!(s, 200, "delete: {v}");
    let url = format!("{}/instances/{}", ce.cp, doomed.id);
    // The answer waits (boundedly) for the data plane to finish; a slow machine may outwait it.
    let torn_down = eventually(PATIENCE, || async {
        let n = sum(&http, &ce.dp, "chatedge_dp_instance_teardowns_total", "when=\"on_update\"").await;
        (n > 0.0).then_some(n)
    })
    .await;
    assert_eq!(torn_down, Some(1.0), "the data plane tore the instance down once");
    let (s, _) = http.get(&ce.instance_url(&doomed, "status"), None).await;
    assert_eq!(s, 401, "a deleted instance is unknown");
    let (s, v) = http.raw(Method::DELETE, &url, Some(&ce.integrator_token), &[], Vec::new()).await;
    assert_eq!(s, 404, "deleting twice: {v}");

    // The receiver accepts again: the kept instance's webhooks arrive, the doomed one's do not.
    sink.fail_next(0);
    let zaaps = zaap_ids(&send_texts(&http, &ce, &kept, 3, 60_001, "after the deletion").await);
    sink.wait_for_zaaps(&zaaps, "the kept instance's deliveries").await;
    let dropped = eventually(PATIENCE, || async {
        let n = sum(&http, &ce.dp, "chatedge_dp_webhook_attempts_total", "failed_dead_letter").await;
        (n > 0.0).then_some(())
    })
    .await;
    assert!(dropped.is_some(), "the doomed instance's pending webhooks were taken out of the outbox");
    assert_eq!(events_of(&sink, &doomed), heard_before, "no webhook of a deleted instance is delivered");

    // After a kill -9 and restart, nothing of it is left to resume or to send.
    let (data, config) = (dir.path().to_path_buf(), std::fs::read_to_string(dir.path().join("config.toml")).unwrap());
    ce.kill_9();
    let ce = Chatedge::up(&data, &config);
    wait_connected(&http, &ce, &kept).await;
    let (s, _) = http.get(&ce.instance_url(&doomed, "status"), None).await;
    assert_eq!(s, 401, "still unknown after a restart");
    // The sessions gauge is published once a second: wait for the first report.
    let sessions = eventually(PATIENCE, || async {
        let n = sum(&http, &ce.dp, "chatedge_dp_sessions", "").await;
        (n > 0.0).then_some(n)
    })
    .await;
    let resumed = sum(&http, &ce.dp, "chatedge_dp_sessions", "state=\"connected\"").await
        + sum(&http, &ce.dp, "chatedge_dp_sessions", "state=\"connecting\"").await;
    assert_eq!(resumed, 1.0, "only the kept instance had a saved session to resume ({sessions:?} sessions)");
    let depth = eventually(PATIENCE, || async {
        let d = sum(&http, &ce.dp, "chatedge_dp_queue_depth", "").await;
        (d == 0.0).then_some(d)
    })
    .await;
    assert_eq!(depth, Some(0.0), "the doomed instance's five queued messages are gone from the store");
    assert_eq!(sum(&http, &ce.dp, "chatedge_dp_instance_teardowns_total", "").await, 0.0, "nothing left to finish");
    drop(ce);
    drop(dir);
}
