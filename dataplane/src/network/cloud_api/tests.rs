//! The send task against a Graph API nobody listens on: what it answers without the network
//! (a message already accepted before a crash) and what it answers when the network is needed.

use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chatedge_config::snapshot::{CloudApiAccount, InstanceConfig, Network};
use chatedge_config::{Config, Phone, Secret, Snapshot, TenantId};
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

async fn run(s: &Setup) -> NetworkEvent {
    let (events, mut rx) = mpsc::channel(4);
    let task = SendTask {
        deps: s.deps.clone(),
        events,
        pace: Pace::new(&s.deps.settings),
        lines: Arc::new(Mutex::new(Lines::default())),
        message: s.message.clone(),
        generation: Generation(1),
    };
    task.run().await;
    rx.recv().await.unwrap()
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
