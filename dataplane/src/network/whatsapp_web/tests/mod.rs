//! The WhatsApp Web connector behind the `Connector` seam of real shards and sessions, on
//! RocksDB, with the scripted engine double in place of WhatsApp: what the engine reports
//! becomes the shard's answers (`qr-code`, `status`) and the Z-API webhooks it writes to the
//! outbox, and what the session decides (send, reconnect, resend after a crash, log out) reaches
//! the engine. Nothing leaves the process; the dispatcher is not running, so every webhook event
//! stays in the outbox where the test reads it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chatedge_config::file::SessionConfig;
use chatedge_config::snapshot::{Network, Pacing, WebhookKind};
use chatedge_config::{
    Config, ConfigUpdate, InstanceConfig, InstanceId, MessageId, Phone, Secret, Snapshot, TenantId, UrlPolicy,
    WebhookUrl,
};
use chatedge_whatsapp_web as wa;
use serde_json::Value;
use tokio::sync::mpsc;
use wa::double::{Call, Double, OnConnect};
use wa::engine::{EngineEvent, LogoutKind, ReceiptKind};

use super::adapter::{reports, ShardSink, WhatsappWebConnector};
use crate::metrics::Metrics;
use crate::network::account::{AccountCall, AccountError, AccountReply, AccountResult};
use crate::network::kv::StoreKv;
use crate::network::Connector;
use crate::outbox::dispatcher;
use crate::outbox::event::StoredEvent;
use crate::queue::content::card::ContactCard;
use crate::queue::content::{Action, Card};
use crate::queue::{Content, OutboundMessage};
use crate::shard::{self, recovery, Command, ShardDeps, Shards};
use crate::store::{Cf, Store};

const PHONE: &str = "5511999990000";
const CONTACT: &str = "5511988887777";

/// One data plane's shard, its store and its WhatsApp Web connector on `double`.
struct Plane {
    store: Arc<Store>,
    shards: Shards,
    threads: Vec<std::thread::JoinHandle<()>>,
    shared: Arc<wa::Shared>,
    metrics: Arc<Metrics>,
    media: Arc<crate::media::Media>,
    id: InstanceId,
}

fn instance() -> InstanceConfig {
    let mut i = InstanceConfig::new_trial(TenantId::generate(), Secret::generate(16).hash(), "shop".into(), 1, 1 << 50);
    i.network = Network::WhatsappWeb;
    let policy = UrlPolicy { allow_insecure_loopback: true };
    for kind in WebhookKind::ALL {
        // Never called: the dispatcher is not running in these tests.
        i.webhooks.set(kind, Some(WebhookUrl::parse("http://127.0.0.1:9/hook", policy).unwrap()));
    }
    i
}

fn start(dir: &Path, double: &Double, instance: &InstanceConfig) -> Plane {
    let metrics = Arc::new(Metrics::new());
    let store = Store::open(dir, 64, metrics.clone()).unwrap();
    let update = ConfigUpdate { reset: true, version: 1, instances: vec![instance.clone()], ..Default::default() };
    let policy = UrlPolicy { allow_insecure_loopback: true };
    let config = Arc::new(ArcSwap::from_pointee(Snapshot::default().apply(&update, policy).unwrap()));
    let defaults = Config::default();
    // Media by URL comes from the test's own file server on 127.0.0.1.
    let media_config = chatedge_config::file::MediaConfig { fetch_allow_private: true, ..defaults.media.clone() };
    let media = crate::media::Media::open(&dir.join("media"), media_config, metrics.clone()).unwrap();
    let (notifier, inbox) = dispatcher::channel();
    std::mem::forget(inbox); // nobody delivers: the events stay in the outbox
    let deps = ShardDeps {
        store: store.clone(),
        config,
        notifier,
        metrics: metrics.clone(),
        pacing: Pacing { min_delay_ms: 0, max_delay_ms: 0 },
        queue: defaults.queue,
        session: SessionConfig {
            reconnect_initial: Duration::from_millis(50),
            reconnect_max: Duration::from_millis(400),
            connect_timeout: Duration::from_secs(10),
        },
        store_limits: defaults.store,
        media: media.clone(),
        opt_out_keywords: defaults.campaigns.opt_out_keywords.clone(),
        clock: std::sync::Arc::new(crate::campaigns::Clock::system()),
        accounts: std::sync::Arc::default(),
        pin_to_cores: false,
    };
    let (tx, rx) = mpsc::channel(shard::EVENT_CAPACITY);
    let settings = wa::Settings {
        connect_timeout: Duration::from_secs(2),
        lease_ttl: Duration::from_secs(1),
        ..wa::Settings::default()
    };
    let shared = wa::Shared::new(
        double.factory(),
        Arc::new(StoreKv::new(store.clone())),
        settings,
        Arc::new(ShardSink::new(vec![tx.clone()], metrics.clone(), media.clone())),
        wa::Shared::wall_clock(),
    );
    let connectors: Vec<Box<dyn Connector + Send>> =
        vec![Box::new(WhatsappWebConnector::new(shared.clone(), tx, store.clone(), media.clone()))];
    let recovered = recovery::load(&store, 1).unwrap();
    let (shards, threads) = shard::start(deps, connectors, vec![rx], recovered).unwrap();
    Plane { store, shards, threads, shared, metrics, media, id: instance.id }
}

impl Plane {
    /// Stops the shard as a `kill -9` would leave the connector: no client shut down, no lease
    /// given back (the shard's runtime, and the line tasks on it, are simply dropped).
    async fn crash(self) {
        self.shards.stop().await;
        let threads = self.threads;
        tokio::task::spawn_blocking(move || threads.into_iter().for_each(|t| t.join().unwrap())).await.unwrap();
        self.store.close();
    }

    async fn qr_code(&self) -> Result<String, crate::error::CoreError> {
        let id = self.id;
        self.shards.call(&id, |reply| Command::QrCode { instance: id, reply }).await
    }

    async fn status(&self) -> shard::SessionStatus {
        let id = self.id;
        self.shards.ask(&id, |reply| Command::Status { instance: id, reply }).await.unwrap()
    }

    async fn queued(&self) -> u64 {
        let id = self.id;
        self.shards.ask(&id, |reply| Command::QueueCount { instance: id, reply }).await.unwrap()
    }

    async fn send(&self, text: &str) -> MessageId {
        self.queue(Content::text(text)).await
    }

    /// The webhook bodies in the outbox, oldest first per kind.
    fn webhooks(&self) -> Vec<Value> {
        let db = self.store.db();
        db.iterator_cf(self.store.cf(Cf::Outbox), rocksdb::IteratorMode::Start)
            .map(|row| StoredEvent::decode(&row.unwrap().1).unwrap())
            .map(|e| serde_json::from_slice(&e.body).unwrap())
            .collect()
    }

    /// Waits until a webhook matching `f` is in the outbox.
    async fn webhook(&self, what: &str, f: impl Fn(&Value) -> bool) -> Value {
        let found = eventually(|| self.webhooks().into_iter().find(|v| f(v))).await;
        found.unwrap_or_else(|| panic!("no {what} among {:#?}", self.webhooks()))
    }

    fn events(&self, kind: &str) -> u64 {
        self.metrics.whatsapp_web_events.with_label_values(&[kind]).get()
    }
}

/// Polls `f` every 20 ms for up to 10 s.
async fn eventually<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn until(what: &str, f: impl FnMut() -> bool) {
    let mut f = f;
    eventually(|| f().then_some(())).await.unwrap_or_else(|| panic!("never: {what}"));
}

fn connected_as(phone: &str) -> OnConnect {
    OnConnect::Emit(vec![EngineEvent::Connected { phone: Some(format!("{phone}:4@s.whatsapp.net")) }])
}

fn wire(id: &MessageId) -> String {
    wa::WireId::of(id).as_str().to_owned()
}

fn is(v: &Value, kind: &str, message: &MessageId) -> bool {
    v["type"] == kind && (v["messageId"] == message.to_string() || v["ids"][0] == message.to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connector_behind_a_real_shard_pairs_sends_reports_reconnects_resends_after_a_crash_and_backs_off() {
    let dir = tempfile::tempdir().unwrap();
    let instance = instance();
    let double = Double::new(OnConnect::Silent);
    let plane = start(dir.path(), &double, &instance);

    // Pairing: the engine's QR codes are the qr-code answers, rotating as the engine rotates them.
    let first = {
        let asking = tokio::spawn({
            let (shards, id) = (plane.shards.clone(), plane.id);
            async move { shards.call(&id, |reply| Command::QrCode { instance: id, reply }).await }
        });
        double.wait_opened(1).await;
        double.emit(EngineEvent::Qr { code: "2@first,noise,identity,adv".into(), valid_for: Duration::from_secs(60) });
        asking.await.unwrap().unwrap()
    };
    assert_eq!(first, "2@first,noise,identity,adv", "the first code answers the waiting qr-code call");
    double.emit(EngineEvent::Qr { code: "2@second,noise,identity,adv".into(), valid_for: Duration::from_secs(20) });
    let mut code = String::new();
    for _ in 0..100 {
        code = plane.qr_code().await.unwrap();
        if code != first {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(code, "2@second,noise,identity,adv", "qr-code answers the engine's current code");

    // The phone scans: pairing success, the server's 515 restart, then the connection.
    double.emit(EngineEvent::Paired { phone: format!("{PHONE}@s.whatsapp.net") });
    double.emit(EngineEvent::Disconnected { reason: "restart required (515)".into() });
    double.emit(EngineEvent::Connected { phone: Some(format!("{PHONE}:4@s.whatsapp.net")) });
    let connected = plane.webhook("ConnectedCallback", |v| v["type"] == "ConnectedCallback").await;
    assert_eq!(connected["phone"], PHONE);
    let status = plane.status().await;
    assert!(status.connected, "{status:?}");
    assert_eq!(status.phone.as_ref().map(Phone::as_str), Some(PHONE));
    assert!(double.calls().contains(&Call::Unavailable), "it goes unavailable: the phone keeps its notifications");
    assert_eq!(double.opened(), 1, "the 515 restart is the engine's own, not a second client");
    assert_eq!(reports(plane.shared.clone())(&plane.id).state, "online");

    // A send carries our message id on the wire; the server's ack makes it SENT.
    let a = plane.send("first").await;
    until("the first message is on the wire", || double.sends().contains(&wa::WireId::of(&a))).await;
    double.emit(EngineEvent::ServerAck { id: wire(&a), error: None });
    let delivery = plane.webhook("a's DeliveryCallback", |v| is(v, "DeliveryCallback", &a)).await;
    assert!(delivery.get("error").is_none(), "{delivery}");
    plane.webhook("a's SENT", |v| is(v, "MessageStatusCallback", &a) && v["status"] == "SENT").await;

    // A nack refuses the message, saying why, in its DeliveryCallback.
    let b = plane.send("second").await;
    until("the second message is on the wire", || double.sends().contains(&wa::WireId::of(&b))).await;
    double.emit(EngineEvent::ServerAck { id: wire(&b), error: Some("463".into()) });
    let refused = plane.webhook("b's DeliveryCallback", |v| is(v, "DeliveryCallback", &b)).await;
    assert!(refused["error"].as_str().unwrap_or_default().contains("463"), "{refused}");
    assert_eq!(plane.queued().await, 0, "both left the queue");

    // Receipts become the message's statuses.
    for (kind, status) in
        [(ReceiptKind::Delivered, "RECEIVED"), (ReceiptKind::Read, "READ"), (ReceiptKind::Played, "PLAYED")]
    {
        let from = format!("{CONTACT}@s.whatsapp.net");
        double.emit(EngineEvent::Receipt { ids: vec![wire(&a)], from, kind, at_ms: 7 });
        let v = plane.webhook(status, |v| is(v, "MessageStatusCallback", &a) && v["status"] == status).await;
        assert_eq!(v["phone"], CONTACT);
    }

    // A received message: the engine's commit returns only once its ReceivedCallback is durable.
    let message = wa::InboundMessage {
        quoted: None,
        forwarded: false,
        status_reply: false,
        id: "3A5F00C0FFEE".into(),
        chat: CONTACT.into(),
        participant: None,
        push_name: Some("Ana".into()),
        from_me: false,
        content: wa::InboundContent::Text("olá".into()),
        at_ms: 11,
    };
    double.receive(vec![message]).await.expect("committed, so the server may be acknowledged");
    let received =
        plane.webhooks().into_iter().find(|v| v["type"] == "ReceivedCallback" && v["messageId"] == "3A5F00C0FFEE");
    let received = received.expect("the ReceivedCallback was in the outbox when the commit returned");
    assert_eq!((received["phone"].as_str(), received["text"]["message"].as_str()), (Some(CONTACT), Some("olá")));

    // A lost connection: the session reconnects after its back-off with the saved session.
    double.on_connect(connected_as(PHONE));
    double.emit(EngineEvent::Disconnected { reason: "socket closed".into() });
    plane.webhook("the DisconnectedCallback", |v| v["type"] == "DisconnectedCallback").await;
    until("a second client connected", || double.opened() == 2).await;
    let connects = || plane.webhooks().iter().filter(|v| v["type"] == "ConnectedCallback").count();
    until("a second ConnectedCallback", || connects() == 2).await;
    assert!(plane.status().await.connected, "reconnected");
    assert_eq!(double.max_live(), 1, "never two live clients");

    // A crash with a message on the wire and no answer yet: after the restart it goes again
    // under the same id, once the dead client's lease ran out.
    let c = plane.send("third").await;
    until("the third message is on the wire", || double.sends().contains(&wa::WireId::of(&c))).await;
    // The dead client's handles on the store go with it (a new process opens the store).
    double.crash();
    plane.crash().await;
    drop(double);
    let double = Double::new(connected_as(PHONE));
    let plane = start(dir.path(), &double, &instance);
    until("the restarted plane resent it", || double.sends().contains(&wa::WireId::of(&c))).await;
    assert!(plane.status().await.connected);
    double.emit(EngineEvent::ServerAck { id: wire(&c), error: None });
    plane.webhook("c's DeliveryCallback", |v| is(v, "DeliveryCallback", &c)).await;

    // A lock: no reconnect for hours; the session's retries are answered without a client.
    double.emit(EngineEvent::LoggedOut(LogoutKind::Locked));
    let locked = plane
        .webhook("the lock's DisconnectedCallback", |v| {
            v["type"] == "DisconnectedCallback" && v["error"].as_str().unwrap_or_default().contains("locked")
        })
        .await;
    assert!(locked["error"].as_str().unwrap_or_default().contains("12 h"), "{locked}");
    let report = reports(plane.shared.clone())(&plane.id);
    assert_eq!(report.state, "cooling_down", "{report:?}");
    let retry_at = report.retry_at_ms.expect("until when");
    assert!(retry_at > chatedge_config::time::unix_ms() + 11 * 3_600_000, "{report:?}");
    let answered = plane.events("disconnected");
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(plane.events("disconnected") >= answered + 2, "the session keeps retrying with its back-off");
    assert_eq!(double.opened(), 1, "and none of its retries opened a client");
    assert!(!plane.status().await.connected);

    // Disconnect (log out) forgets the session: no keys, no cool-down, a new pairing needed.
    let id = plane.id;
    plane.shards.call(&id, |reply| Command::Disconnect { instance: id, reply }).await.unwrap();
    let kv = wa::line::instance_store(&plane.shared, &plane.id);
    until("its keys are deleted", || kv.scan_prefix(wa::line::ENGINE_PREFIX, 1).unwrap().is_empty()).await;
    assert_eq!(wa::cooldown::load(kv.as_ref()).unwrap(), None);
    plane.crash().await;
}

/// The real engine's store traits on RocksDB (they need the engine: feature `whatsapp-web`).
#[cfg(feature = "whatsapp-web")]
mod engine_store {
    use super::*;

    /// The engine's instance part of the store, as a line opens it.
    fn engine_store(store: &Arc<Store>, instance: u8) -> Arc<dyn chatedge_connector::KvStore> {
        let mut prefix = vec![instance; InstanceId::LEN];
        prefix.extend_from_slice(b"/wa/");
        Arc::new(chatedge_connector::Scoped::new(StoreKv::new(store.clone()), prefix))
    }

    #[tokio::test]
    async fn the_engines_store_on_rocksdb_keeps_whatsapp_rusts_rules_and_survives_a_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        wa::real::conformance::reads_its_writes_table_by_table(engine_store(&store, 1)).await;
        wa::real::conformance::write_a_session(engine_store(&store, 2)).await;
        store.close();
        drop(store);
        let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
        wa::real::conformance::the_session_survived(engine_store(&store, 2)).await;
        store.close();
    }

    /// The writer of the kill -9 test when run as its child (`CHATEDGE_WA_CHILD` names the
    /// directory): Signal sessions through the engine's own store trait, one batch each, each
    /// reported on stdout once the trait call returned. Run alone, it does nothing.
    #[test]
    fn engine_store_child_writer() {
        let Ok(dir) = std::env::var("CHATEDGE_WA_CHILD") else { return };
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = Store::open(Path::new(&dir), 64, Arc::new(Metrics::new())).unwrap();
            for n in 0u32.. {
                wa::real::conformance::write_numbered_session(engine_store(&store, 3), n).await;
                println!("durable {n}");
            }
        });
    }

    #[test]
    fn a_kill_9_keeps_every_signal_session_the_engines_store_acknowledged() {
        let dir = tempfile::tempdir().unwrap();
        let writer = "network::whatsapp_web::tests::engine_store::engine_store_child_writer";
        let acked = crate::network::kv::tests::kill_writer_after(writer, "CHATEDGE_WA_CHILD", dir.path(), 100)
            .expect("the child acknowledged sessions");
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let store = Store::open(dir.path(), 64, Arc::new(Metrics::new())).unwrap();
            for n in 0..=acked {
                wa::real::conformance::numbered_session_survived(engine_store(&store, 3), n).await;
            }
            store.close();
        });
    }
}

impl Plane {
    /// Pairs the instance by QR code with `double` and waits for its ConnectedCallback.
    async fn paired(&self, double: &Double) {
        let asking = tokio::spawn({
            let (shards, id) = (self.shards.clone(), self.id);
            async move { shards.call(&id, |reply| Command::QrCode { instance: id, reply }).await }
        });
        double.wait_opened(1).await;
        double.emit(EngineEvent::Qr { code: "2@code,noise,identity,adv".into(), valid_for: Duration::from_secs(60) });
        asking.await.unwrap().unwrap();
        double.emit(EngineEvent::Paired { phone: format!("{PHONE}@s.whatsapp.net") });
        double.emit(EngineEvent::Connected { phone: Some(format!("{PHONE}:4@s.whatsapp.net")) });
        self.webhook("ConnectedCallback", |v| v["type"] == "ConnectedCallback").await;
    }

    /// Queues `act` to the contact as a send would; returns the act's own message id.
    async fn act(&self, act: Action) -> MessageId {
        self.queue(Content::Action(Box::new(act))).await
    }

    /// Queues `content` to the contact as a send would; returns its message id.
    async fn queue(&self, content: Content) -> MessageId {
        self.enqueue(OutboundMessage::new(self.id, Phone::parse(CONTACT).unwrap(), content)).await
    }

    /// Queues `message` as a send would; returns its id.
    async fn enqueue(&self, message: OutboundMessage) -> MessageId {
        let id = message.message_id;
        self.shards.call(&self.id, |reply| Command::Enqueue { message, reply, idempotency: None }).await.unwrap();
        id
    }
}

/// A plane on a fresh store (kept while the returned directory lives) whose instance is paired
/// with the scripted engine.
async fn paired_plane() -> (tempfile::TempDir, Double, Plane) {
    let dir = tempfile::tempdir().unwrap();
    let double = Double::new(OnConnect::Silent);
    let plane = start(dir.path(), &double, &instance());
    plane.paired(&double).await;
    (dir, double, plane)
}

/// A message Ana (the contact) sent now, under the wire id `id`.
fn from_contact(id: &str, content: wa::InboundContent) -> wa::InboundMessage {
    wa::InboundMessage {
        quoted: None,
        forwarded: false,
        status_reply: false,
        id: id.into(),
        chat: CONTACT.into(),
        participant: None,
        push_name: Some("Ana".into()),
        from_me: false,
        content,
        at_ms: chatedge_config::time::unix_ms(),
    }
}

/// Where the engine was asked to send message `id`, and what.
fn sent_to(double: &Double, id: &MessageId) -> Option<(String, wa::Outgoing)> {
    double.calls().into_iter().rev().find_map(|c| match c {
        Call::Send { to, id: sent, body } if sent == wa::WireId::of(id) => Some((to, body)),
        _ => None,
    })
}

/// The last thing the engine was asked to put on the wire, with the id it went under.
fn last_send(double: &Double) -> Option<(wa::WireId, wa::Outgoing)> {
    double.calls().into_iter().rev().find_map(|c| match c {
        Call::Send { id, body, .. } => Some((id, body)),
        _ => None,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reactions_deletes_pins_cards_and_read_receipts_reach_the_engine_naming_the_right_message_through_a_real_shard()
{
    let (_dir, double, plane) = paired_plane().await;

    // One message of ours, and one received whose id (an iPhone's: 20 hex characters) also
    // reads as a chatedge message id: the message index tells them apart.
    let ours = plane.send("ours").await;
    until("ours is on the wire", || double.sends().contains(&wa::WireId::of(&ours))).await;
    double.emit(EngineEvent::ServerAck { id: wire(&ours), error: None });
    let theirs = "3AF8E0F2F4C1A3B5D6E7";
    let received = wa::InboundMessage {
        quoted: None,
        forwarded: false,
        status_reply: false,
        id: theirs.into(),
        chat: CONTACT.into(),
        participant: None,
        push_name: None,
        from_me: false,
        content: wa::InboundContent::Text("oi".into()),
        at_ms: chatedge_config::time::unix_ms(),
    };
    double.receive(vec![received]).await.expect("committed");

    let ours_ref = wa::MessageRef { chat: CONTACT.into(), id: wire(&ours), from_me: true, participant: None };
    let theirs_ref = wa::MessageRef { chat: CONTACT.into(), id: theirs.into(), from_me: false, participant: None };
    let acts = [
        (
            Action::Reaction { message_id: ours.to_string(), reaction: "👍".into() },
            wa::Outgoing::Reaction { target: ours_ref.clone(), emoji: "👍".into() },
        ),
        (
            Action::Reaction { message_id: theirs.into(), reaction: "❤️".into() },
            wa::Outgoing::Reaction { target: theirs_ref.clone(), emoji: "❤️".into() },
        ),
        (
            Action::RemoveReaction { message_id: theirs.into() },
            wa::Outgoing::Reaction { target: theirs_ref.clone(), emoji: String::new() },
        ),
        (Action::Delete { message_id: ours.to_string(), owner: true }, wa::Outgoing::Revoke { target: ours_ref }),
    ];
    for (act, expected) in acts {
        let id = plane.act(act).await;
        until("the act is on the wire", || last_send(&double).is_some_and(|(w, _)| w == wa::WireId::of(&id))).await;
        assert_eq!(last_send(&double), Some((wa::WireId::of(&id), expected)));
        double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });
        let delivery = plane.webhook("the act's DeliveryCallback", |v| is(v, "DeliveryCallback", &id)).await;
        assert!(delivery.get("error").is_none(), "{delivery}");
    }

    // Someone else's message in a group is named with its author, as the index kept it.
    let group = "120363000000000001-group";
    let in_group = wa::InboundMessage {
        quoted: None,
        forwarded: false,
        status_reply: false,
        id: "3AF8GROUP0000000001".into(),
        chat: group.into(),
        participant: Some(CONTACT.into()),
        push_name: None,
        from_me: false,
        content: wa::InboundContent::Text("no grupo".into()),
        at_ms: chatedge_config::time::unix_ms(),
    };
    double.receive(vec![in_group]).await.expect("committed");
    let reaction = Action::Reaction { message_id: "3AF8GROUP0000000001".into(), reaction: "🎉".into() };
    let id = plane.enqueue(OutboundMessage::new(plane.id, phone(group), Content::Action(Box::new(reaction)))).await;
    until("the group reaction is on the wire", || last_send(&double).is_some_and(|(w, _)| w == wa::WireId::of(&id)))
        .await;
    let expected = wa::MessageRef {
        chat: group.into(),
        id: "3AF8GROUP0000000001".into(),
        from_me: false,
        participant: Some(CONTACT.into()),
    };
    assert_eq!(
        last_send(&double),
        Some((wa::WireId::of(&id), wa::Outgoing::Reaction { target: expected, emoji: "🎉".into() }))
    );
    double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });

    // Cards: a location and a contact card, under their own ids.
    let cards = [
        (
            Card::Location {
                latitude: -23.55, longitude: -46.63, title: "Sé".into(), address: "Praça da Sé".into()
            },
            wa::Outgoing::Location {
                latitude: -23.55,
                longitude: -46.63,
                name: "Sé".into(),
                address: "Praça da Sé".into(),
            },
        ),
        (
            Card::Contact(ContactCard {
                name: "Ana".into(),
                phones: vec![Phone::parse(CONTACT).unwrap()],
                business_description: None,
            }),
            wa::Outgoing::Contacts(vec![wa::SharedContact {
                display_name: "Ana".into(),
                vcard: format!(
                    "BEGIN:VCARD\nVERSION:3.0\nN:;Ana;;;\nFN:Ana\nTEL;type=CELL;waid={CONTACT}:+{CONTACT}\nEND:VCARD"
                ),
            }]),
        ),
    ];
    for (card, expected) in cards {
        let id = plane.queue(Content::Card(Box::new(card))).await;
        until("the card is on the wire", || last_send(&double).is_some_and(|(w, _)| w == wa::WireId::of(&id))).await;
        assert_eq!(last_send(&double), Some((wa::WireId::of(&id), expected)));
        double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });
        plane.webhook("the card's DeliveryCallback", |v| is(v, "DeliveryCallback", &id)).await;
    }

    // A read receipt goes out for the received message under its own id (no 3EB0 prefix),
    // and the act is sent once the receipt is on the wire.
    let read = plane.act(Action::Read { message_id: theirs.into() }).await;
    plane.webhook("the read's DeliveryCallback", |v| is(v, "DeliveryCallback", &read)).await;
    let mark = Call::Act(wa::Act::Read { chat: CONTACT.into(), ids: vec![theirs.into()] });
    assert!(double.calls().contains(&mark), "{:?}", double.calls());

    // A pin (for a week unless said) and a delete for this account only are acts accepted once
    // on the wire.
    let pin = Action::Pin {
        message_id: theirs.into(),
        action: crate::queue::content::action::PinAction::Pin,
        duration: None,
    };
    let pinned = plane.act(pin).await;
    plane.webhook("the pin's DeliveryCallback", |v| is(v, "DeliveryCallback", &pinned)).await;
    let pin_call = Call::Act(wa::Act::Pin { target: theirs_ref.clone(), duration: Some(wa::PinFor::Week) });
    assert!(double.calls().contains(&pin_call), "{:?}", double.calls());
    let deleted = plane.act(Action::Delete { message_id: theirs.into(), owner: false }).await;
    plane.webhook("the delete's DeliveryCallback", |v| is(v, "DeliveryCallback", &deleted)).await;
    assert!(double.calls().contains(&Call::Act(wa::Act::DeleteForMe { target: theirs_ref.clone() })));

    // A forward sends the message's kept body again (the engine keeps them) to the chat the act
    // goes to, naming the message in the chat it came from.
    let forward = Action::Forward { message_id: theirs.into(), message_phone: Phone::parse(CONTACT).unwrap() };
    let forwarded = plane.act(forward).await;
    let sent = eventually(|| last_send(&double).filter(|(id, _)| id.as_str() == wire(&forwarded))).await;
    assert_eq!(sent.map(|(_, body)| body), Some(wa::Outgoing::Forward { message: theirs_ref.clone() }));
    double.emit(EngineEvent::ServerAck { id: wire(&forwarded), error: None });
    let done = plane.webhook("the forward's DeliveryCallback", |v| is(v, "DeliveryCallback", &forwarded)).await;
    assert!(done.get("error").is_none_or(|e| e.is_null()), "{done}");
    assert_eq!(plane.queued().await, 0, "every act left the queue");
    plane.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn buttons_pictured_buttons_carousels_lists_and_pix_keys_go_on_the_wire_and_the_answers_arrive_as_zapis_callbacks(
) {
    use crate::queue::content::interactive::{ActionButton, ButtonMedia, ListOption, PixKeyType, ReplyButton};
    use crate::queue::content::{Interactive, MediaSource};

    let (_dir, double, plane) = paired_plane().await;

    let reply = |id: &str, label: &str| wa::Button::Reply { id: id.into(), label: label.into() };
    let cases = [
        (
            "send-button-actions: a reply button without an id is answered by its position",
            Interactive::ButtonActions {
                message: "Confirma o pedido?".into(),
                title: Some("Pedido 42".into()),
                footer: Some("Loja".into()),
                buttons: vec![
                    ActionButton::Reply { id: None, label: "Sim".into() },
                    ActionButton::Url { id: None, label: "Ver".into(), url: "https://example.com/42".into() },
                    ActionButton::Call { id: Some("c".into()), label: "Ligar".into(), phone: "5511999999999".into() },
                ],
            },
            wa::Outgoing::Buttons {
                picture: None,
                title: Some("Pedido 42".into()),
                text: "Confirma o pedido?".into(),
                footer: Some("Loja".into()),
                buttons: vec![
                    reply("1", "Sim"),
                    wa::Button::Url { label: "Ver".into(), url: "https://example.com/42".into() },
                    wa::Button::Call { label: "Ligar".into(), phone: "5511999999999".into() },
                ],
            },
        ),
        (
            "send-button-list without a picture",
            Interactive::ButtonList {
                message: "Gostou?".into(),
                media: None,
                buttons: vec![
                    ReplyButton { id: Some("yes".into()), label: "Sim".into() },
                    ReplyButton { id: None, label: "Não".into() },
                ],
            },
            wa::Outgoing::Buttons {
                picture: None,
                title: None,
                text: "Gostou?".into(),
                footer: None,
                buttons: vec![reply("yes", "Sim"), reply("2", "Não")],
            },
        ),
        (
            "send-option-list",
            Interactive::OptionList {
                message: "Como podemos ajudar?".into(),
                title: "Departamentos".into(),
                button_label: "Abrir".into(),
                options: vec![
                    ListOption { id: None, title: "Suporte".into(), description: "Falar com o suporte".into() },
                    ListOption { id: Some("vendas".into()), title: "Vendas".into(), description: String::new() },
                ],
            },
            wa::Outgoing::List {
                text: "Como podemos ajudar?".into(),
                title: "Departamentos".into(),
                button: "Abrir".into(),
                options: vec![
                    wa::ListRow { id: "1".into(), title: "Suporte".into(), description: "Falar com o suporte".into() },
                    wa::ListRow { id: "vendas".into(), title: "Vendas".into(), description: String::new() },
                ],
            },
        ),
        (
            "send-button-otp without a picture",
            Interactive::ButtonOtp {
                message: "Seu código".into(),
                code: "482913".into(),
                image: None,
                button_text: "Copiar código".into(),
            },
            wa::Outgoing::Buttons {
                picture: None,
                title: None,
                text: "Seu código".into(),
                footer: None,
                buttons: vec![wa::Button::Copy { label: "Copiar código".into(), code: "482913".into() }],
            },
        ),
        (
            "send-button-pix",
            Interactive::ButtonPix {
                pix_key: "chave@example.com".into(),
                key_type: PixKeyType::Email,
                merchant_name: "Loja da Ana".into(),
            },
            wa::Outgoing::Pix {
                key: "chave@example.com".into(),
                key_type: "EMAIL".into(),
                merchant: "Loja da Ana".into(),
            },
        ),
    ];
    let mut sent = Vec::new();
    for (what, content, expected) in cases {
        let id = plane.queue(Content::Interactive(Box::new(content))).await;
        sent.push(id);
        let sent = eventually(|| last_send(&double).filter(|(w, _)| *w == wa::WireId::of(&id))).await;
        assert_eq!(sent.map(|(_, body)| body), Some(expected), "{what}");
        double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });
        let delivery = plane.webhook(what, |v| is(v, "DeliveryCallback", &id)).await;
        assert!(delivery.get("error").is_none_or(|e| e.is_null()), "{what}: {delivery}");
    }

    // Buttons under a picture, and a carousel: each picture is read from the media store (sent
    // as base64) or fetched from its URL when the message's turn comes, and goes to the engine
    // as the header above its buttons.
    let png = |n: u8| [crate::media::sniff::tests::sample("png"), vec![n; 2_000]].concat();
    let stored = |n: u8| {
        let media = plane.media.clone();
        async move {
            let bytes = bytes::Bytes::from(png(n));
            MediaSource::Stored(media.put_bytes(crate::media::MediaKind::Image, bytes).await.unwrap())
        }
    };
    let picture = |n: u8| wa::Picture {
        kind: wa::MediaKind::Image,
        file: wa::FileData { mime: "image/png".into(), bytes: png(n) },
    };
    let pictured = Interactive::ButtonList {
        message: "Olha".into(),
        media: Some(ButtonMedia { kind: crate::media::MediaKind::Image, source: stored(1).await }),
        buttons: vec![ReplyButton { id: None, label: "Ok".into() }],
    };
    let card = |text: &str, image, buttons| crate::queue::content::interactive::CarouselCard {
        text: text.into(),
        image,
        buttons,
    };
    let carousel = Interactive::Carousel {
        message: "Nossos planos".into(),
        cards: vec![
            card("Plano A", stored(2).await, vec![ActionButton::Reply { id: None, label: "Quero".into() }]),
            card("Plano B", stored(3).await, vec![ActionButton::Reply { id: Some("b".into()), label: "Quero".into() }]),
        ],
    };
    let expected = [
        wa::Outgoing::Buttons {
            picture: Some(picture(1)),
            title: None,
            text: "Olha".into(),
            footer: None,
            buttons: vec![reply("1", "Ok")],
        },
        wa::Outgoing::Carousel {
            text: "Nossos planos".into(),
            cards: vec![
                wa::Card { picture: picture(2), text: "Plano A".into(), buttons: vec![reply("1", "Quero")] },
                wa::Card { picture: picture(3), text: "Plano B".into(), buttons: vec![reply("b", "Quero")] },
            ],
        },
    ];
    for (content, expected) in [pictured, carousel].into_iter().zip(expected) {
        let id = plane.queue(Content::Interactive(Box::new(content))).await;
        let sent = eventually(|| last_send(&double).filter(|(w, _)| *w == wa::WireId::of(&id))).await;
        assert_eq!(sent.map(|(_, body)| body), Some(expected));
        double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });
        let delivery =
            plane.webhook("the pictured message's DeliveryCallback", |v| is(v, "DeliveryCallback", &id)).await;
        assert!(delivery.get("error").is_none_or(|e| e.is_null()), "{delivery}");
    }

    // A card whose picture cannot be fetched fails the whole carousel, naming why.
    let server = file_server(Vec::new()).await;
    let gone = MediaSource::Url { url: format!("{server}/gone.png") };
    let broken = Interactive::Carousel {
        message: "Nossos planos".into(),
        cards: vec![card("Plano A", stored(2).await, vec![]), card("Plano B", gone, vec![])],
    };
    let refused = plane.queue(Content::Interactive(Box::new(broken))).await;
    let failed = plane.webhook("the broken carousel's DeliveryCallback", |v| is(v, "DeliveryCallback", &refused)).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("404")), "{failed}");

    // The answers: a tapped button and a picked option, each a ReceivedCallback of its own.
    // The tap answers our first message (WhatsApp names it by its wire id); the pick is forwarded.
    let tapped = wa::InboundMessage {
        quoted: Some(wire(&sent[0])),
        ..from_contact("3AF8TAP", wa::InboundContent::ButtonReply { id: "1".into(), text: "Sim".into() })
    };
    let pick =
        wa::InboundContent::ListReply { id: "vendas".into(), title: "Vendas".into(), description: "Comprar".into() };
    let picked = wa::InboundMessage { forwarded: true, ..from_contact("3AF8PICK", pick) };
    double.receive(vec![tapped, picked]).await.expect("committed");
    let tap = plane.webhook("the button's ReceivedCallback", |v| v["messageId"] == "3AF8TAP").await;
    assert_eq!(tap["buttonsResponseMessage"], serde_json::json!({"buttonId": "1", "message": "Sim"}), "{tap}");
    assert_eq!(tap["referenceMessageId"], sent[0].to_string(), "our message by chatedge's id: {tap}");
    assert_eq!(tap["forwarded"], false, "{tap}");
    let pick = plane.webhook("the option's ReceivedCallback", |v| v["messageId"] == "3AF8PICK").await;
    assert_eq!(pick["forwarded"], true, "{pick}");
    assert_eq!(
        pick["listResponseMessage"],
        serde_json::json!({"message": "Comprar", "title": "Vendas", "selectedRowId": "vendas"}),
        "{pick}"
    );
    assert_eq!(plane.queued().await, 0, "every message left the queue");
    plane.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_their_edits_and_answers_go_on_the_wire_and_answers_to_ours_arrive_as_event_responses() {
    use crate::queue::content::interactive::{CallLinkType, Event, EventAnswer, EventLocation};
    use crate::queue::content::Interactive;

    let (_dir, double, plane) = paired_plane().await;
    let event = |date_time: &str, canceled| Event {
        name: "Lançamento".into(),
        description: Some("Na loja".into()),
        date_time: date_time.into(),
        time_zone: None,
        location: Some(EventLocation { name: "Loja".into() }),
        call_link_type: None,
        canceled,
    };
    let details = |start_s, canceled| wa::EventDetails {
        name: "Lançamento".into(),
        description: Some("Na loja".into()),
        start_s,
        place: Some("Loja".into()),
        canceled,
    };
    let ours = |id: &MessageId| wa::MessageRef { chat: CONTACT.into(), id: wire(id), from_me: true, participant: None };

    // An event at São Paulo's offset starts at 12:30 UTC; its edit moves it a day and cancels
    // it; an answer to someone else's event names it by WhatsApp's id.
    let created = Interactive::Event { event: event("2027-04-29T09:30:00-03:00", false) };
    let created = plane.queue(Content::Interactive(Box::new(created))).await;
    let edit =
        Interactive::EditEvent { event_message_id: created.to_string(), event: event("2027-04-30T12:30Z", true) };
    let answer = Interactive::EventResponse { event_message_id: "3AF8EVENT".into(), response: EventAnswer::Going };
    let theirs = wa::MessageRef { chat: CONTACT.into(), id: "3AF8EVENT".into(), from_me: false, participant: None };
    let edited = plane.queue(Content::Interactive(Box::new(edit))).await;
    let answered = plane.queue(Content::Interactive(Box::new(answer))).await;
    let expected = [
        (created, wa::Outgoing::Event(details(1_809_001_800, false))),
        (edited, wa::Outgoing::EventEdit { event: ours(&created), details: details(1_809_088_200, true) }),
        (answered, wa::Outgoing::EventAnswer { event: theirs, going: true }),
    ];
    for (id, outgoing) in expected {
        let sent = eventually(|| last_send(&double).filter(|(w, _)| *w == wa::WireId::of(&id))).await;
        assert_eq!(sent.map(|(_, body)| body), Some(outgoing));
        double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });
        let delivery = plane.webhook("the event's DeliveryCallback", |v| is(v, "DeliveryCallback", &id)).await;
        assert!(delivery.get("error").is_none_or(|e| e.is_null()), "{delivery}");
    }

    // An event on a WhatsApp call was queued before the edge refused it (a network change):
    // it fails naming why.
    let on_a_call = Event { call_link_type: Some(CallLinkType::Video), ..event("2027-04-29T09:30", false) };
    let refused = plane.queue(Content::Interactive(Box::new(Interactive::Event { event: on_a_call }))).await;
    let failed = plane.webhook("the call event's DeliveryCallback", |v| is(v, "DeliveryCallback", &refused)).await;
    assert!(failed["error"].as_str().is_some_and(|e| e.contains("callLinkType")), "{failed}");

    // The contact answers our event: an eventResponse naming it by chatedge's id.
    let going = wa::InboundContent::EventAnswer { event: wire(&created), going: true, at_ms: 1_809_000_000_000 };
    double.receive(vec![from_contact("3AF8ANSWER", going)]).await.expect("committed");
    let answered = plane.webhook("the answer's ReceivedCallback", |v| v["messageId"] == "3AF8ANSWER").await;
    let expected = serde_json::json!({
        "response": "GOING",
        "responseFrom": CONTACT,
        "time": 1_809_000_000_000u64,
        "referencedMessage": {"messageId": created.to_string(), "fromMe": true, "phone": CONTACT, "participant": null},
    });
    assert_eq!(answered["eventResponse"], expected, "{answered}");
    assert_eq!(plane.queued().await, 0, "every message left the queue");
    plane.crash().await;
}

/// A file server on 127.0.0.1:0 answering `/menu.pdf` with a PDF and anything else with 404.
async fn file_server(pdf: Vec<u8>) -> String {
    file_server_of(vec![("/menu.pdf", pdf)]).await
}

/// A file server on 127.0.0.1:0 answering each path with its bytes and anything else with 404.
async fn file_server_of(files: Vec<(&'static str, Vec<u8>)>) -> String {
    use hyper::service::service_fn;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let files: Arc<Vec<(&'static str, bytes::Bytes)>> =
        Arc::new(files.into_iter().map(|(path, file)| (path, bytes::Bytes::from(file))).collect());
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let files = files.clone();
            let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let answer = match files.iter().find(|(path, _)| *path == req.uri().path()) {
                    Some((_, file)) => hyper::Response::new(http_body_util::Full::new(file.clone())),
                    None => hyper::Response::builder()
                        .status(404)
                        .body(http_body_util::Full::new(bytes::Bytes::from_static(b"not found")))
                        .unwrap(),
                };
                async move { Ok::<_, std::convert::Infallible>(answer) }
            });
            let io = hyper_util::rt::TokioIo::new(stream);
            tokio::spawn(hyper::server::conn::http1::Builder::new().serve_connection(io, service));
        }
    });
    format!("http://{addr}")
}

impl Plane {
    /// A PNG image in the media store, queued as a message's file would be.
    async fn stored_image(&self) -> crate::queue::content::Media {
        use crate::media::MediaKind;
        let png = bytes::Bytes::from(crate::media::sniff::tests::sample("png"));
        let stored = self.media.put_bytes(MediaKind::Image, png).await.unwrap();
        queued_media(MediaKind::Image, crate::queue::content::MediaSource::Stored(stored))
    }

    /// Queues a media message to the contact; returns its id.
    async fn send_media(&self, media: crate::queue::content::Media) -> MessageId {
        self.queue(Content::Media(Box::new(media))).await
    }

    fn media_count(&self, direction: &str, outcome: &str) -> u64 {
        self.metrics.whatsapp_web_media.with_label_values(&[direction, outcome]).get()
    }
}

fn queued_media(
    kind: crate::media::MediaKind,
    source: crate::queue::content::MediaSource,
) -> crate::queue::content::Media {
    crate::queue::content::Media {
        kind,
        source,
        caption: Some("our menu".into()),
        file_name: None,
        extension: Some("pdf".into()),
        view_once: false,
        sticker_author: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_goes_to_the_engine_with_its_file_and_received_files_are_served_at_chatedge_urls() {
    use crate::media::sniff::tests::sample;
    use crate::media::MediaKind;
    use crate::queue::content::MediaSource;

    let (_dir, double, plane) = paired_plane().await;

    // An image sent as base64 (already in the media store) reaches the engine with its bytes
    // and sniffed type; Z-API's audio goes as a voice message.
    let png = [sample("png"), vec![7; 5_000]].concat();
    let stored = plane.media.put_bytes(MediaKind::Image, bytes::Bytes::from(png.clone())).await.unwrap();
    let image = plane.send_media(queued_media(MediaKind::Image, MediaSource::Stored(stored))).await;
    until("the image is on the wire", || last_send(&double).is_some_and(|(w, _)| w == wa::WireId::of(&image))).await;
    let expected = wa::OutgoingMedia {
        kind: wa::MediaKind::Image,
        file: wa::FileData { mime: "image/png".into(), bytes: png.clone() },
        caption: Some("our menu".into()),
        file_name: None,
        view_once: false,
    };
    assert_eq!(last_send(&double), Some((wa::WireId::of(&image), wa::Outgoing::Media(expected))));
    double.emit(EngineEvent::ServerAck { id: wire(&image), error: None });
    let delivery = plane.webhook("the image's DeliveryCallback", |v| is(v, "DeliveryCallback", &image)).await;
    assert!(delivery.get("error").is_none(), "{delivery}");

    // A document by URL is fetched when its turn comes, named as the route says.
    let pdf = [sample("pdf"), vec![b'x'; 70_000]].concat();
    let server = file_server(pdf.clone()).await;
    let url = |path: &str| MediaSource::Url { url: format!("{server}{path}") };
    let document = plane.send_media(queued_media(MediaKind::Document, url("/menu.pdf"))).await;
    until("the document is on the wire", || last_send(&double).is_some_and(|(w, _)| w == wa::WireId::of(&document)))
        .await;
    match last_send(&double) {
        Some((_, wa::Outgoing::Media(m))) => {
            assert_eq!(
                (m.kind, m.file.mime.as_str(), m.file_name.as_deref()),
                (wa::MediaKind::Document, "application/pdf", Some("file.pdf"))
            );
            assert!(m.file.bytes == pdf, "the fetched bytes, whole");
        }
        other => panic!("{other:?}"),
    }
    double.emit(EngineEvent::ServerAck { id: wire(&document), error: None });

    // A URL that cannot be fetched fails its message with the reason; the next goes on.
    let gone = plane.send_media(queued_media(MediaKind::Document, url("/gone.pdf"))).await;
    let refused = plane.webhook("the failed fetch's DeliveryCallback", |v| is(v, "DeliveryCallback", &gone)).await;
    assert!(refused["error"].as_str().unwrap_or_default().contains("404"), "{refused}");
    assert_eq!((plane.media_count("sent", "read"), plane.media_count("sent", "unreadable")), (2, 1));

    // Received: a photo with its file, downloaded by the engine, is stored and linked; a voice
    // note whose file could not be downloaded still arrives, without a link.
    let photo = [sample("jpeg"), vec![3; 20_000]].concat();
    let with_photo = wa::InboundContent::Media {
        kind: wa::MediaKind::Image,
        mime: "image/jpeg".into(),
        caption: Some("look".into()),
        file_name: None,
        seconds: 0,
        view_once: false,
        file: Some(wa::FileData { mime: "image/jpeg".into(), bytes: photo.clone() }),
    };
    let voice_without_file = wa::InboundContent::Media {
        kind: wa::MediaKind::Voice,
        mime: "audio/ogg; codecs=opus".into(),
        caption: None,
        file_name: None,
        seconds: 4,
        view_once: false,
        file: None,
    };
    double
        .receive(vec![from_contact("3EB0PHOTO1", with_photo), from_contact("3EB0VOICE1", voice_without_file)])
        .await
        .expect("committed, files included");
    let callback = plane
        .webhook("the photo's ReceivedCallback", |v| v["type"] == "ReceivedCallback" && v["messageId"] == "3EB0PHOTO1")
        .await;
    assert_eq!(callback["image"]["caption"], "look", "{callback}");
    assert_eq!(callback["image"]["mimeType"], "image/jpeg", "{callback}");
    let link = callback["image"]["imageUrl"].as_str().unwrap_or_default();
    let digest = crate::media::Digest::of(&photo).hex();
    assert!(link.contains(&digest), "the link names the stored file: {callback}");
    let kept = std::fs::read(plane.media.store.path(&crate::media::Digest::of(&photo))).unwrap();
    assert!(kept == photo, "the received bytes are in the media store");
    let voice = plane
        .webhook("the voice note's ReceivedCallback", |v| {
            v["type"] == "ReceivedCallback" && v["messageId"] == "3EB0VOICE1"
        })
        .await;
    assert_eq!(voice["audio"]["ptt"], true, "{voice}");
    assert_eq!(voice["audio"]["seconds"], 4, "{voice}");
    assert_eq!((plane.media_count("received", "stored"), plane.media_count("received", "missing")), (1, 1));
    plane.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sticker_by_url_reaches_the_engine_with_its_author_written_in() {
    use crate::media::MediaKind;
    use crate::queue::content::MediaSource;
    use base64::Engine as _;

    let (_dir, double, plane) = paired_plane().await;
    let webp =
        base64::engine::general_purpose::STANDARD.decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==").unwrap();
    let server = file_server_of(vec![("/s.webp", webp)]).await;
    let mut sticker = queued_media(MediaKind::Sticker, MediaSource::Url { url: format!("{server}/s.webp") });
    sticker.sticker_author = Some("Z-API".into());
    let sent = plane.send_media(sticker).await;
    until("the sticker is on the wire", || last_send(&double).is_some_and(|(w, _)| w == wa::WireId::of(&sent))).await;
    match last_send(&double) {
        Some((_, wa::Outgoing::Media(m))) => {
            assert_eq!((m.kind, m.file.mime.as_str()), (wa::MediaKind::Sticker, "image/webp"));
            assert_eq!(crate::media::sticker::author_of(&m.file.bytes).as_deref(), Some("Z-API"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(plane.metrics.sticker_rewrites.with_label_values(&["sent", "written"]).get(), 1);
    plane.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_svg_picture_by_url_reaches_the_engine_drawn_as_png() {
    use crate::media::MediaKind;
    use crate::queue::content::MediaSource;

    let (_dir, double, plane) = paired_plane().await;
    let logo = br#"<svg xmlns="http://www.w3.org/2000/svg" width="30" height="10"><rect width="30" height="10" fill="red"/></svg>"#;
    let server = file_server_of(vec![("/logo.svg", logo.to_vec())]).await;
    let image = queued_media(MediaKind::Image, MediaSource::Url { url: format!("{server}/logo.svg") });
    let sent = plane.send_media(image).await;
    until("the picture is on the wire", || last_send(&double).is_some_and(|(w, _)| w == wa::WireId::of(&sent))).await;
    match last_send(&double) {
        Some((_, wa::Outgoing::Media(m))) => {
            assert_eq!((m.kind, m.file.mime.as_str()), (wa::MediaKind::Image, "image/png"));
            assert_eq!(&m.file.bytes[..8], b"\x89PNG\r\n\x1a\n", "drawn, not the SVG");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(plane.metrics.svg_drawings.with_label_values(&["sent", "drawn"]).get(), 1);
    plane.crash().await;
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

impl Plane {
    /// Carries out an account call as the dialects do: through the instance's shard.
    async fn account(&self, call: impl Into<AccountCall>) -> AccountResult {
        let id = self.id;
        self.shards.ask(&id, |reply| Command::Account { instance: id, call: call.into(), reply }).await.unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn account_calls_are_asked_on_the_line_and_whatsapps_answers_come_back_in_the_networks_terms() {
    use crate::network::account::groups::{self, Call as G, GroupRef, MemberChange, Reply as GR, SettingsChange};
    use crate::network::account::{chats, contacts, profile};
    let dir = tempfile::tempdir().unwrap();
    let instance = instance();
    let double = Double::new(OnConnect::Silent);
    let plane = start(dir.path(), &double, &instance);
    let unpaired = plane.account(contacts::Call::Exists(vec![phone(CONTACT)])).await;
    assert_eq!(unpaired.err(), Some(AccountError::NotConnected), "nothing to ask before pairing");
    plane.paired(&double).await;
    double.own_phone(Some(PHONE));
    double.on_whatsapp(&[CONTACT, "5511977776666"]);

    // The second number asked without its ninth digit: the answer names it as registered.
    let asked = vec![phone(CONTACT), phone("551177776666"), phone("5511900000000")];
    let exists = plane.account(contacts::Call::Exists(asked)).await;
    let Ok(AccountReply::Contacts(contacts::Reply::Exists(found))) = exists else { panic!("{exists:?}") };
    assert_eq!(
        found.iter().map(|e| (e.phone.as_str(), e.exists)).collect::<Vec<_>>(),
        [(CONTACT, true), ("5511977776666", true), ("5511900000000", false)]
    );
    double.with_directory(|d| {
        d.abouts.insert(CONTACT.into(), "Open 9-18".into());
        d.pictures.insert(CONTACT.into(), "https://pps.whatsapp.net/v/t61/photo.jpg".into());
    });
    let got = plane.account(contacts::Call::Get(phone(CONTACT))).await;
    let Ok(AccountReply::Contacts(contacts::Reply::Contact(info))) = got else { panic!("{got:?}") };
    assert_eq!(info.about.as_deref(), Some("Open 9-18"));
    assert_eq!(info.img_url.as_deref(), Some("https://pps.whatsapp.net/v/t61/photo.jpg"));
    let nobody = plane.account(contacts::Call::Get(phone("5511900000000"))).await;
    assert_eq!(nobody.err(), Some(AccountError::NotFound("number 5511900000000".into())));
    plane.account(contacts::Call::SetBlocked { phone: phone(CONTACT), blocked: true }).await.unwrap();
    plane.account(profile::Call::SetName("The Shop".into())).await.unwrap();
    let d = double.directory();
    assert!(d.blocked.contains(CONTACT));
    assert_eq!(d.name.as_deref(), Some("The Shop"));

    // A group: created with who has WhatsApp, its link made at once, its settings and members
    // changed, and the metadata shows all of it.
    let created = plane
        .account(G::Create {
            name: "Orders".into(),
            participants: vec![phone(CONTACT), phone("5511900000000")],
            picture: None,
        })
        .await;
    let Ok(AccountReply::Groups(GR::Created { phone: group, invitation_link, .. })) = created else {
        panic!("{created:?}")
    };
    assert!(group.as_str().ends_with("-group"));
    assert!(invitation_link.starts_with("https://chat.whatsapp.com/"), "{invitation_link}");
    let g = GroupRef::Group(group.clone());
    let settings = SettingsChange { admin_only_message: Some(true), ..SettingsChange::default() };
    plane.account(G::Configure { group: g.clone(), settings }).await.unwrap();
    let added = plane
        .account(G::Members {
            group: g.clone(),
            change: MemberChange::Add,
            phones: vec![phone("5511977776666"), phone("5511900000000")],
        })
        .await;
    assert!(
        matches!(&added, Ok(AccountReply::Groups(GR::Added { changed: 1, needs_invite })) if needs_invite.is_empty()),
        "{added:?}"
    );
    let none = plane
        .account(G::Members { group: g.clone(), change: MemberChange::Add, phones: vec![phone("5511900000000")] })
        .await;
    assert!(matches!(&none, Err(AccountError::Refused(why)) if why.contains("none")), "{none:?}");
    // A number whose privacy refuses the account: not added, named to be invited.
    double.with_directory(|d| {
        d.on_whatsapp.insert("5511966665555".into());
        d.refuses_adds.insert("5511966665555".into());
    });
    let private = plane
        .account(G::Members { group: g.clone(), change: MemberChange::Add, phones: vec![phone("5511966665555")] })
        .await;
    assert!(
        matches!(&private, Ok(AccountReply::Groups(GR::Added { changed: 0, needs_invite }))
            if *needs_invite == vec![phone("5511966665555")]),
        "{private:?}"
    );
    let read = plane.account(G::Metadata { group: g.clone(), with_link: true }).await;
    let Ok(AccountReply::Groups(GR::Metadata(m))) = read else { panic!("{read:?}") };
    assert_eq!((m.subject.as_str(), m.owner.as_str(), m.admin_only_message), ("Orders", PHONE, true));
    assert_eq!(m.invitation_link.as_deref(), Some(invitation_link.as_str()));
    let members: Vec<(&str, bool)> = m.participants.iter().map(|p| (p.phone.as_str(), p.admin)).collect();
    assert_eq!(members, [(PHONE, true), (CONTACT, false), ("5511977776666", false)]);
    let missing = GroupRef::Group(phone("120363000000000099-group"));
    let gone = plane.account(G::Rename { group: missing, name: "x".into() }).await;
    assert_eq!(gone.err(), Some(AccountError::NotFound("group 120363000000000099-group".into())));

    // Photos: the account's own from a URL (fetched under the [media] rules), a group's from its
    // bytes; WhatsApp then shows them at links of its own. A URL that cannot be fetched is
    // refused before anything is asked.
    let served = file_server(crate::media::sniff::tests::sample("png")).await;
    plane.account(profile::Call::SetPicture(format!("{served}/menu.pdf"))).await.unwrap();
    let own = plane.account(profile::Call::Picture(phone(PHONE))).await;
    let Ok(AccountReply::Profile(profile::Reply::Picture(Some(link)))) = own else { panic!("{own:?}") };
    assert!(link.starts_with("https://pps.whatsapp.net/") && link.contains(PHONE), "{link}");
    let missing_photo = plane.account(profile::Call::SetPicture(format!("{served}/nothing.png"))).await;
    assert!(matches!(&missing_photo, Err(AccountError::Refused(why)) if why.contains("photo")), "{missing_photo:?}");
    let bytes = bytes::Bytes::from(crate::media::sniff::tests::sample("jpeg"));
    let set = plane.account(G::SetPicture { group: g.clone(), picture: groups::Picture::Data(bytes) }).await;
    assert!(matches!(set, Ok(AccountReply::Groups(GR::Done { changed: 1 }))), "{set:?}");
    assert!(double.directory().pictures.contains_key(group.as_str()), "the group's photo reached WhatsApp");

    // A chat change reaches WhatsApp.
    plane.account(chats::Call::Modify { phone: phone(CONTACT), change: chats::Change::Archive }).await.unwrap();
    assert_eq!(double.directory().chats.get(CONTACT), Some(&wa::ChatChange::Archive));
    let asks = double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count();
    assert_eq!(asks, 20, "every served call went to the engine; the refused ones did not");
    plane.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poll_goes_on_the_wire_a_vote_on_it_arrives_naming_chatedges_poll_id_and_this_instance_votes_too() {
    use crate::queue::content::Interactive;
    let (_dir, double, plane) = paired_plane().await;

    let poll = Interactive::Poll {
        message: "Which day?".into(),
        options: vec!["Mon".into(), "Tue".into()],
        max_options: Some(1),
    };
    let poll_id = plane.queue(Content::Interactive(Box::new(poll))).await;
    let sent = eventually(|| last_send(&double).filter(|(id, _)| id.as_str() == wire(&poll_id))).await;
    let expected =
        wa::Outgoing::Poll { question: "Which day?".into(), options: vec!["Mon".into(), "Tue".into()], max_options: 1 };
    assert_eq!(sent.map(|(_, body)| body), Some(expected), "the poll goes out under its own wire id");

    let vote = wa::InboundMessage {
        quoted: None,
        forwarded: false,
        status_reply: false,
        id: "3AF8E0F2F4C1A3B5D6E8".into(),
        chat: CONTACT.into(),
        participant: None,
        push_name: Some("Ana".into()),
        from_me: false,
        content: wa::InboundContent::PollVote { poll: wire(&poll_id), options: vec!["Tue".into()] },
        at_ms: chatedge_config::time::unix_ms(),
    };
    double.receive(vec![vote]).await.expect("committed");
    let callback = plane.webhook("the vote's ReceivedCallback", |v| v.get("pollVote").is_some()).await;
    assert_eq!(callback["pollVote"]["pollMessageId"], poll_id.to_string(), "{callback}");
    assert_eq!(callback["pollVote"]["options"], serde_json::json!([{"name": "Tue"}]), "{callback}");

    // This instance votes too: on its own poll, named by chatedge's id, and on a poll received,
    // named by its wire id; each vote names the poll as WhatsApp knows it.
    double.emit(EngineEvent::ServerAck { id: wire(&poll_id), error: None });
    let received = wa::InboundMessage {
        quoted: None,
        forwarded: false,
        status_reply: false,
        id: "3A5500AA11".into(),
        chat: CONTACT.into(),
        participant: None,
        push_name: Some("Ana".into()),
        from_me: false,
        content: wa::InboundContent::Poll {
            question: "Lunch?".into(),
            max_options: 1,
            options: vec!["Yes".into(), "No".into()],
        },
        at_ms: chatedge_config::time::unix_ms(),
    };
    double.receive(vec![received]).await.expect("committed");
    plane.webhook("the received poll's callback", |v| v.get("poll").is_some()).await;
    for (poll, choice, expected) in [
        (
            poll_id.to_string(),
            "Mon",
            wa::MessageRef { chat: CONTACT.into(), id: wire(&poll_id), from_me: true, participant: None },
        ),
        (
            "3A5500AA11".to_owned(),
            "No",
            wa::MessageRef { chat: CONTACT.into(), id: "3A5500AA11".into(), from_me: false, participant: None },
        ),
    ] {
        let vote = Interactive::PollVote { poll_message_id: poll, votes: vec![choice.into()] };
        let vote_id = plane.queue(Content::Interactive(Box::new(vote))).await;
        let sent = eventually(|| last_send(&double).filter(|(id, _)| id.as_str() == wire(&vote_id))).await;
        let expected = wa::Outgoing::PollVote { poll: expected, options: vec![choice.into()] };
        assert_eq!(sent.map(|(_, body)| body), Some(expected), "the vote goes out under its own wire id");
        double.emit(EngineEvent::ServerAck { id: wire(&vote_id), error: None });
        plane.webhook("the vote's DeliveryCallback", |v| is(v, "DeliveryCallback", &vote_id)).await;
    }
    assert_eq!(plane.queued().await, 0, "the poll and both votes left the queue");
    plane.crash().await;
}

mod business;
mod calls;
mod channels;
mod chats;
mod communities;
mod contacts;
mod context;
mod labels;
mod privacy;

mod status;
