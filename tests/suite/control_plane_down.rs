//! A data plane keeps serving with its last pushed config when the control plane is down —
//! even across its own restart — and says clearly what needs the control plane.

use crate::common;

use common::*;
use serde_json::json;

async fn send_and_wait(http: &Http, dp: &Chatedge, sink: &Sink, inst: &Instance, n: usize, tag: &str) {
    let zaaps = zaap_ids(&send_texts(http, dp, inst, n, 40_001, tag).await);
    sink.wait_for_zaaps(&zaaps, tag).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_data_plane_accepts_and_sends_while_the_control_plane_is_stopped() {
    let dir = temp_dir();
    let http = Http::new();
    let sink = Sink::start().await;
    let cp = Chatedge::controlplane(&dir.path().join("cp"), FAST, "127.0.0.1:0");
    let mut dp = Chatedge::dataplane(&dir.path().join("dp"), FAST, &cp.cp, &cp.node_token);
    dp.admin_token = cp.admin_token.clone();
    dp.integrator_token = cp.integrator_token.clone();
    let inst = create_instance(&http, &dp, Some(&sink)).await; // through the data plane's forwarding
    pair(&http, &dp, &inst, "5511999990001").await;
    send_and_wait(&http, &dp, &sink, &inst, 5, "with the control plane up").await;

    cp.kill_9();
    send_and_wait(&http, &dp, &sink, &inst, 20, "with the control plane down").await;
    let (status, v) = http
        .put(&dp.instance_url(&inst, "update-webhook-delivery"), &json!({"value": format!("{}/d2", sink.url)}))
        .await;
    assert_eq!(status, 503, "a settings change needs the control plane: {v}");
    assert!(v["message"].as_str().unwrap().contains("messages are still accepted"), "{v}");

    // Restarted without its control plane, it serves from the persisted snapshot.
    let dp_dir = dp.dir.clone();
    let (admin, node) = (dp.admin_token.clone(), dp.node_token.clone());
    dp.kill_9();
    let mut dp = Chatedge::dataplane(&dp_dir, FAST, "http://127.0.0.1:9", &node);
    dp.admin_token = admin;
    wait_connected(&http, &dp, &inst).await; // the saved session reconnects by itself
    send_and_wait(&http, &dp, &sink, &inst, 5, "after a restart with the control plane still down").await;
}
