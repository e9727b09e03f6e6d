//! Read-your-writes for the integrator: what a created instance's answer waits for.

use super::*;

fn control_plane() -> (tempfile::TempDir, Arc<ControlPlane>) {
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("secrets.key");
    let cp = ControlPlane::open(&Config::default(), &dir.path().join("cp"), &key, false).unwrap();
    (dir, Arc::new(cp))
}

#[tokio::test]
async fn a_create_waits_for_the_instances_own_node_even_while_it_re_opens_its_config_stream() {
    let (_dir, cp) = control_plane();
    let (other, owner) = (NodeId::random(), NodeId::random());
    let (other_process, owner_process) = (NodeId::random(), NodeId::random());
    cp.attach(other, other_process);
    cp.acknowledged(other, other_process, 7);
    // The owner restarted: it holds no config stream at this moment.
    let short = Duration::from_millis(50);
    assert!(cp.wait_applied(7, short).await, "every attached data plane has version 7");
    assert!(!cp.wait_applied_by(7, Some(owner), short).await, "the owner does not know the instance yet");

    let waiting = tokio::spawn({
        let cp = cp.clone();
        async move { cp.wait_applied_by(7, Some(owner), Duration::from_secs(30)).await }
    });
    cp.attach(owner, owner_process);
    cp.acknowledged(owner, owner_process, 6);
    tokio::time::sleep(short).await;
    assert!(!waiting.is_finished(), "attached again, but still on an older version");
    cp.acknowledged(owner, owner_process, 7);
    assert!(waiting.await.unwrap(), "answered once the owner applied the version");
}
