//! The send task against a Graph API nobody listens on: what it answers without the network
//! (a message already accepted before a crash) and what it answers when the network is needed.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chatedge_config::snapshot::{CloudApiAccount, InstanceConfig, Network};
use chatedge_config::{Config, InstanceId, Phone, Secret, Snapshot, TenantId};
use tokio::sync::mpsc;

use super::send::{Pace, SendTask};
use super::{ids, CloudApiDeps, Lines};
use crate::metrics::Metrics;
use crate::network::{Generation, NetworkEvent};
use crate::queue::{Content, OutboundMessage};
use crate::store::{Batch, Store};

struct Setup {
    deps: CloudApiDeps,
    message: OutboundMessage,
    _dir: tempfile::TempDir,
}

/// A Cloud API instance whose Graph API base URL is a closed port on 127.0.0.1.
fn setup() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let metrics = Arc::new(Metrics::new());
    let store = Store::open(dir.path(), 64, metrics.clone()).unwrap();
    let mut cfg = InstanceConfig::new_trial(TenantId::generate(), Secret::generate(16).hash(), "c".into(), 0, 1 << 40);
    cfg.network = Network::CloudApi(CloudApiAccount {
        phone_number_id: "106540352242922".into(),
        business_account_id: "102290129340398".into(),
        access_token: Secret::from_given("EAAtoken").unwrap(),
        app_secret: Secret::from_given("appsecret").unwrap(),
        verify_token: Secret::from_given("verify").unwrap(),
    });
    let id = cfg.id;
    let mut snapshot = Snapshot::default();
    snapshot.instances.insert(id, Arc::new(cfg));
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let mut settings = Config::default().network.cloud_api;
    settings.graph_base_url = format!("http://{closed}/v23.0");
    settings.transient_retries = 0;
    let config = Arc::new(ArcSwap::from_pointee(snapshot));
    let deps = CloudApiDeps::new(config, settings, store, crate::media::Media::temporary(), metrics).unwrap();
    let message = OutboundMessage::new(id, Phone::parse("5511988887777").unwrap(), Content::text("hi"));
    Setup { deps, message, _dir: dir }
}

/// Runs one send task on connection 1 of the instance, live when `live`; its event, if any.
async fn send_on(s: &Setup, live: bool) -> Option<NetworkEvent> {
    let (events, mut rx) = mpsc::channel(4);
    let mut lines = Lines::default();
    if live {
        lines.requested.insert(s.message.instance, Generation(1));
        assert!(lines.verified(s.message.instance, Generation(1)));
    }
    let task = SendTask {
        deps: s.deps.clone(),
        events,
        pace: Pace::new(&s.deps.settings),
        lines: Arc::new(Mutex::new(lines)),
        message: s.message.clone(),
        generation: Generation(1),
    };
    task.run().await;
    rx.try_recv().ok()
}

async fn run(s: &Setup) -> NetworkEvent {
    send_on(s, true).await.expect("a live connection's send reports an outcome")
}

#[tokio::test]
async fn a_send_task_of_a_closed_connection_never_posts_and_reports_nothing() {
    let s = setup();
    assert!(send_on(&s, false).await.is_none());
    let abandoned = s.deps.metrics.cloud_api_sends.with_label_values(&["abandoned"]).get();
    assert_eq!(abandoned, 1);
    let lost = s.deps.metrics.cloud_api_sends.with_label_values(&["connection_lost"]).get();
    assert_eq!(lost, 0, "no post was tried (the Graph API port is closed: a post would be a lost connection)");
}

#[test]
fn a_verification_answered_after_the_session_moved_on_does_not_go_live() {
    let i = InstanceId::generate();
    let mut lines = Lines::default();
    lines.requested.insert(i, Generation(1));
    lines.requested.insert(i, Generation(2)); // restart while 1 was being verified
    assert!(lines.verified(i, Generation(2)));
    assert!(!lines.verified(i, Generation(1)), "the late answer for connection 1");
    assert!(lines.is_live(&i, Generation(2)));
    lines.close(&i);
    assert!(!lines.verified(i, Generation(2)), "closed: nothing goes live");
    assert!(!lines.is_live(&i, Generation(2)));
}

#[tokio::test]
async fn a_message_the_network_already_accepted_is_answered_from_the_record_without_posting() {
    let s = setup();
    let mut batch = Batch::new();
    ids::record(&mut batch, &s.message.instance, &s.message.message_id, "wamid.HBgLMTU1NTEyMzQ1NjcVAgARGBI");
    s.deps.store.commit(batch).await.unwrap();
    let event = run(&s).await;
    assert!(
        matches!(event, NetworkEvent::Accepted { message_id, .. } if message_id == s.message.message_id),
        "{event:?}"
    );
}

#[tokio::test]
async fn without_a_record_the_message_needs_the_network_and_an_unreachable_one_is_a_lost_connection() {
    let s = setup();
    let event = run(&s).await;
    assert!(matches!(event, NetworkEvent::Disconnected { logged_out: false, .. }), "{event:?}");
}

#[test]
fn a_pair_limit_slows_only_that_recipient_and_a_number_limit_slows_every_one() {
    let pace = Pace::new(&Config::default().network.cloud_api);
    let i = InstanceId::generate();
    let (a, b) = (Phone::parse("5511900000001").unwrap(), Phone::parse("5511900000002").unwrap());
    pace.pair_limited(i, a.clone());
    assert!(pace.next_post(&i, &a).is_some(), "the limited pair waits");
    assert!(pace.next_post(&i, &b).is_none(), "another recipient of the instance does not");
    assert!(pace.next_post(&InstanceId::generate(), &a).is_none(), "nor the same recipient of another instance");
    pace.limited(i);
    assert!(pace.next_post(&i, &b).is_some(), "a limit of the number holds every recipient");
    pace.forget(&i);
    assert!(pace.next_post(&i, &a).is_none() && pace.next_post(&i, &b).is_none());
}
