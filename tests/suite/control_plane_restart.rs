//! The control plane killed with SIGKILL right after creating an instance, and restarted on the
//! same data directory and port: the data plane, never restarted, resynchronises by itself —
//! its config version catches up, the instance created just before the crash answers, later
//! changes arrive — and its instances keep sending throughout. (control_plane_down.rs
//! covers serving while the control plane stays down.)

use crate::common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::metrics::sum;
use common::*;
use serde_json::{json, Value};

/// Sends to `inst` one message at a time until `stop`, counting them in `sent`; every answer
/// must be 200.
async fn keep_sending(
    http: Http,
    dp: String,
    inst: Instance,
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
) -> Vec<Value> {
    let mut answers = Vec::new();
    let url = format!("{dp}/instances/{}/token/{}/send-text", inst.id, inst.token);
    for i in 0..5_000u64 {
        if stop.load(Ordering::Acquire) {
            break;
        }
        let body = json!({"phone": format!("55118{:08}", 70_001 + i), "message": format!("meanwhile {i}")});
        let (status, v) = http.post(&url, None, &body).await;
        assert_eq!(status, 200, "send {i} while the control plane restarts: {v}");
        answers.push(v);
        sent.fetch_add(1, Ordering::Release);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    answers
}

async fn cp_version(http: &Http, cp: &str) -> f64 {
    let (s, v) = http.get(&format!("{cp}/healthz"), None).await;
    assert_eq!(s, 200, "{v}");
    v["configVersion"].as_f64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_control_plane_resynchronises_a_running_data_plane() {
    let dir = temp_dir();
    let http = Http::new();
    let sink = Sink::start().await;
    let cp_dir = dir.path().join("cp");
    let cp = Chatedge::controlplane(&cp_dir, FAST, "127.0.0.1:0");
    let store_mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(cp_dir.join("store")).unwrap().permissions());
    assert_eq!(store_mode & 0o777, 0o700, "the control plane's store directory is private");
    let mut dp = Chatedge::dataplane(&dir.path().join("dp"), FAST, &cp.cp, &cp.node_token);
    dp.admin_token = cp.admin_token.clone();
    dp.integrator_token = cp.integrator_token.clone();
    let sender = create_instance(&http, &cp, Some(&sink)).await;
    pair(&http, &dp, &sender, "5511999990001").await;

    let (stop, sent) = (Arc::new(AtomicBool::new(false)), Arc::new(AtomicUsize::new(0)));
    let sending = tokio::spawn(keep_sending(http.clone(), dp.dp.clone(), sender.clone(), stop.clone(), sent.clone()));
    let sent_by = |n: usize| {
        let sent = sent.clone();
        async move {
            let reached = eventually(PATIENCE, || async { (sent.load(Ordering::Acquire) >= n).then_some(()) }).await;
            assert!(reached.is_some(), "{n} sends answered");
        }
    };

    let applied = r#"result="applied""#;
    let late = create_instance(&http, &cp, Some(&sink)).await;
    let version_before_crash = cp_version(&http, &cp.cp).await;
    let applied_before_crash = sum(&http, &dp.dp, "chatedge_dp_config_updates_total", applied).await;
    let listen = cp.cp.trim_start_matches("http://").to_owned();
    cp.kill_9();
    sent_by(sent.load(Ordering::Acquire) + 5).await; // the instance sends on while it is gone

    let cp = Chatedge::controlplane(&cp_dir, FAST, &listen);
    assert_eq!(cp_version(&http, &cp.cp).await, version_before_crash, "the control plane kept its registry");
    let reattached = eventually(Duration::from_secs(30), || async {
        // A new stream starts with a full snapshot, which the data plane applies.
        let resynced = sum(&http, &dp.dp, "chatedge_dp_config_updates_total", applied).await > applied_before_crash;
        let up = sum(&http, &dp.dp, "chatedge_dp_control_plane_connected", "").await == 1.0;
        let caught_up = sum(&http, &dp.dp, "chatedge_dp_config_version", "").await >= version_before_crash;
        (resynced && up && caught_up).then_some(())
    })
    .await;
    assert!(reattached.is_some(), "the data plane reattached and caught up; log:\n{}", dp.log());

    // The instance created just before the crash works on the data plane.
    let (s, v) = http.get(&dp.instance_url(&late, "status"), None).await;
    assert_eq!(s, 200, "status of the instance created before the crash: {v}");
    let body = json!({"phone": "5511960000001", "message": "queued until paired"});
    let (s, v) = http.post(&dp.instance_url(&late, "send-text"), None, &body).await;
    assert_eq!(s, 200, "send-text for the instance created before the crash: {v}");

    // A change made after the restart reaches the data plane over the new stream.
    let after = create_instance(&http, &cp, Some(&sink)).await;
    wait_known(&http, &dp, &after).await;
    let version_now = cp_version(&http, &cp.cp).await;
    assert!(version_now > version_before_crash);
    assert_eq!(sum(&http, &dp.dp, "chatedge_dp_config_version", "").await, version_now);

    sent_by(sent.load(Ordering::Acquire) + 5).await;
    stop.store(true, Ordering::Release);
    let answers = sending.await.unwrap();
    assert!(!answers.is_empty());
    sink.wait_for_zaaps(&zaap_ids(&answers), "every message sent while the control plane restarted").await;
}
