//! The connector driven through its API by the scripted engine double: pairing, sends with our
//! ids, acks and nacks, a resend after a crash, receipts, received messages held until
//! committed, logout, lock and ban back-off, reconnects and the one-client-per-instance rule.
//! Time is Tokio's paused clock; the wall clock is a counter the tests move.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chatedge_config::{InstanceId, MessageId, Phone};
use chatedge_connector::{KvStore, MemKv};
use tokio::sync::mpsc;

use crate::double::{Call, Double, OnConnect};
use crate::engine::{EngineError, EngineEvent, LogoutKind, ReceiptKind};
use crate::*;

const T0: u64 = 1_800_000_000_000;
const H: u64 = 3_600_000;

struct Rig {
    wa: WhatsappWeb,
    double: Double,
    events: mpsc::Receiver<WaEvent>,
    now: Arc<AtomicU64>,
    instance: InstanceId,
}

fn rig_on(store: Arc<MemKv>, double: Double) -> Rig {
    let (tx, events) = mpsc::channel(64);
    let now = Arc::new(AtomicU64::new(T0));
    let clock = now.clone();
    let shared = Shared::new(
        double.factory(),
        store.clone(),
        Settings::default(),
        Arc::new(ChannelSink(tx)),
        Arc::new(move || clock.load(Ordering::SeqCst)),
    );
    Rig { wa: WhatsappWeb::new(shared), double, events, now, instance: InstanceId::from_bytes([1; 16]) }
}

fn rig(on_connect: OnConnect) -> Rig {
    rig_on(Arc::new(MemKv::new()), Double::new(on_connect))
}

fn connected_as(phone: &str) -> OnConnect {
    OnConnect::Emit(vec![EngineEvent::Connected { phone: Some(format!("{phone}:3@s.whatsapp.net")) }])
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

impl Rig {
    async fn next(&mut self) -> WaEvent {
        match tokio::time::timeout(Duration::from_secs(600), self.events.recv()).await {
            Ok(Some(e)) => e,
            other => panic!("no event: {other:?}"),
        }
    }

    async fn online(&mut self, generation: u64) {
        self.wa.start(self.instance, generation, Start::Resume);
        match self.next().await {
            WaEvent::Connected { generation: g, .. } if g == generation => {}
            other => panic!("expected Connected, got {other:?}"),
        }
    }

    fn state(&self) -> LineState {
        self.wa.shared().state(&self.instance)
    }

    fn kv(&self) -> Arc<dyn KvStore> {
        line::instance_store(self.wa.shared(), &self.instance)
    }

    fn has_keys(&self) -> bool {
        !self.kv().scan_prefix(line::ENGINE_PREFIX, 1).unwrap().is_empty()
    }

    async fn settle(&self) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(start_paused = true)]
async fn pairing_by_qr_rotates_codes_then_connects_and_goes_unavailable() {
    let mut r = rig(OnConnect::Silent);
    r.wa.start(r.instance, 1, Start::PairQr);
    r.double.wait_opened(1).await;
    for (code, secs) in [("2@a,n,i,s,1", 60), ("2@b,n,i,s,1", 20)] {
        r.double.emit(EngineEvent::Qr { code: code.into(), valid_for: Duration::from_secs(secs) });
        let expected = WaEvent::PairingCode {
            instance: r.instance,
            generation: 1,
            code: code.into(),
            valid_for: Duration::from_secs(secs),
        };
        assert_eq!(r.next().await, expected, "each rotation is the current code");
        assert_eq!(r.state(), LineState::Pairing);
    }
    r.double.emit(EngineEvent::Paired { phone: "5511999990000@s.whatsapp.net".into() });
    r.double.emit(EngineEvent::Disconnected { reason: "restart required (515)".into() });
    r.double.emit(EngineEvent::Connected { phone: Some("5511999990000:7@s.whatsapp.net".into()) });
    assert_eq!(
        r.next().await,
        WaEvent::Connected { instance: r.instance, generation: 1, phone: phone("5511999990000") }
    );
    r.settle().await;
    assert_eq!(r.state(), LineState::Online);
    assert!(r.double.calls().contains(&Call::Unavailable), "the phone keeps its notifications");
    assert_eq!(r.double.opened(), 1, "the 515 restart is the engine's, not a new client");
}

#[tokio::test(start_paused = true)]
async fn pairing_by_phone_code_shows_the_code_for_that_number() {
    let mut r = rig(OnConnect::Silent);
    r.wa.start(r.instance, 1, Start::PairCode("5511999990000".into()));
    match r.next().await {
        WaEvent::PairingCode { code, generation: 1, .. } => assert_eq!(code, "K7QM2XPD"),
        other => panic!("{other:?}"),
    }
    assert!(r.double.calls().contains(&Call::PairCode("5511999990000".into())));
}

#[tokio::test(start_paused = true)]
async fn unscanned_codes_end_the_pairing_and_the_client() {
    let mut r = rig(OnConnect::Emit(vec![EngineEvent::QrExhausted]));
    r.wa.start(r.instance, 1, Start::PairQr);
    assert_eq!(r.next().await, WaEvent::PairingExpired { instance: r.instance, generation: 1 });
    r.double.wait_idle().await;
}

#[tokio::test(start_paused = true)]
async fn a_send_carries_our_message_id_and_the_servers_ack_accepts_it() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let id = MessageId::generate();
    assert!(r.wa.send(r.instance, 1, id, phone("5511988887777"), Outgoing::Text("hi".into())));
    r.settle().await;
    assert_eq!(r.double.sends(), vec![WireId::of(&id)], "the wire id is ours");
    r.double.emit(EngineEvent::ServerAck { id: WireId::of(&id).as_str().into(), error: None });
    assert_eq!(r.next().await, WaEvent::Accepted { instance: r.instance, generation: 1, message_id: id, at_ms: T0 });
}

#[tokio::test(start_paused = true)]
async fn a_send_on_an_older_connection_is_refused_at_once() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(2).await;
    assert!(!r.wa.send(r.instance, 1, MessageId::generate(), phone("5511988887777"), Outgoing::Text("x".into())));
}

#[tokio::test(start_paused = true)]
async fn a_nack_or_a_refused_send_rejects_the_message_with_the_reason() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let (a, b) = (MessageId::generate(), MessageId::generate());
    r.wa.send(r.instance, 1, a, phone("5511988887777"), Outgoing::Text("a".into()));
    r.settle().await;
    r.double.emit(EngineEvent::ServerAck { id: WireId::of(&a).as_str().into(), error: Some("463".into()) });
    match r.next().await {
        WaEvent::Rejected { message_id, reason, .. } => {
            assert_eq!(message_id, a);
            assert!(reason.contains("463"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    r.double.send_error(Some(EngineError::Refused("invalid recipient".into())));
    r.wa.send(r.instance, 1, b, phone("5511988887777"), Outgoing::Text("b".into()));
    assert_eq!(
        r.next().await,
        WaEvent::Rejected { instance: r.instance, generation: 1, message_id: b, reason: "invalid recipient".into() }
    );
}

#[tokio::test(start_paused = true)]
async fn a_send_that_cannot_reach_the_wire_drops_the_connection_so_the_session_resends() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    r.double.send_error(Some(EngineError::NotLoggedIn));
    r.wa.send(r.instance, 1, MessageId::generate(), phone("5511988887777"), Outgoing::Text("a".into()));
    match r.next().await {
        WaEvent::Disconnected { logged_out: false, generation: 1, .. } => {}
        other => panic!("{other:?}"),
    }
    r.double.wait_idle().await;
}

#[tokio::test(start_paused = true)]
async fn a_resend_after_a_crash_waits_for_the_dead_clients_lease_and_carries_the_same_wire_id() {
    let store = Arc::new(MemKv::new());
    let id = MessageId::generate();
    let first = {
        let mut r = rig_on(store.clone(), Double::new(connected_as("5511999990000")));
        r.online(1).await;
        r.wa.send(r.instance, 1, id, phone("5511988887777"), Outgoing::Text("hi".into()));
        r.settle().await;
        // The process dies with its client before the server's ack: its lease stays behind.
        r.wa.crash(r.instance);
        r.double.sends()
    };
    let mut r = rig_on(store, Double::new(connected_as("5511999990000")));
    assert!(lease::current(r.kv().as_ref()).unwrap().is_some());
    r.wa.start(r.instance, 1, Start::Resume);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(r.double.opened(), 0, "no second client while the dead one's lease runs");
    r.now.store(T0 + 30_001, Ordering::SeqCst);
    assert!(matches!(r.next().await, WaEvent::Connected { .. }));
    r.wa.send(r.instance, 1, id, phone("5511988887777"), Outgoing::Text("hi".into()));
    r.settle().await;
    assert_eq!(r.double.sends(), first, "the resend is the same message on the wire");
}

#[tokio::test(start_paused = true)]
async fn read_receipts_pins_and_deletes_for_me_go_out_and_each_act_is_accepted_once_it_is_on_the_wire() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let act = MessageId::generate();
    let ids = vec!["3AF8E0F2F4C1A3B5D6E7".to_owned()];
    let read = |ids: Vec<String>| Act::Read { chat: "5511988887777".into(), ids };
    assert!(r.wa.act(r.instance, 1, act, read(ids.clone())));
    match r.next().await {
        WaEvent::Accepted { message_id, generation: 1, at_ms, .. } => assert_eq!((message_id, at_ms), (act, T0)),
        other => panic!("{other:?}"),
    }
    assert!(r.double.calls().contains(&Call::Act(read(ids))));
    assert!(!r.wa.act(r.instance, 2, act, read(vec![])), "not on another connection");

    let target = MessageRef { chat: "5511988887777".into(), id: "3EB0AA".into(), from_me: true, participant: None };
    let others = [
        Act::Pin { target: target.clone(), duration: Some(PinFor::Week) },
        Act::Pin { target: target.clone(), duration: None },
        Act::DeleteForMe { target },
    ];
    for other in others {
        let id = MessageId::generate();
        assert!(r.wa.act(r.instance, 1, id, other.clone()));
        match r.next().await {
            WaEvent::Accepted { message_id, .. } => assert_eq!(message_id, id, "{other:?}"),
            event => panic!("{other:?}: {event:?}"),
        }
        assert_eq!(r.double.calls().last(), Some(&Call::Act(other)));
    }

    r.double.send_error(Some(EngineError::Refused("not allowed".into())));
    let refused = MessageId::generate();
    r.wa.act(r.instance, 1, refused, read(vec!["X1".into()]));
    match r.next().await {
        WaEvent::Rejected { message_id, reason, .. } => {
            assert_eq!((message_id, reason.as_str()), (refused, "not allowed"))
        }
        other => panic!("{other:?}"),
    }
    r.double.send_error(Some(EngineError::NotLoggedIn));
    r.wa.act(r.instance, 1, MessageId::generate(), read(vec!["X2".into()]));
    assert!(matches!(r.next().await, WaEvent::Disconnected { logged_out: false, .. }), "the session sends it again");
}

#[tokio::test(start_paused = true)]
async fn reactions_deletes_links_locations_and_contacts_go_on_the_wire_under_their_own_id_and_its_ack_accepts_them() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let ours = MessageId::generate();
    let (wire, from_me) = ids::named(&ours.to_string());
    let target = MessageRef { chat: "5511988887777".into(), id: wire, from_me, participant: None };
    let acts = [
        Outgoing::Reaction { target: target.clone(), emoji: "👍".into() },
        Outgoing::Reaction { target: target.clone(), emoji: String::new() },
        Outgoing::Revoke { target: target.clone() },
        Outgoing::Link {
            text: "see https://example.com".into(),
            url: "https://example.com".into(),
            title: Some("Example".into()),
            description: None,
        },
        Outgoing::Location { latitude: -23.55, longitude: -46.63, name: "Sé".into(), address: "Praça da Sé".into() },
        Outgoing::Contacts(vec![SharedContact { display_name: "Ana".into(), vcard: "BEGIN:VCARD…".into() }]),
    ];
    for body in acts {
        let act = MessageId::generate();
        r.wa.send(r.instance, 1, act, phone("5511988887777"), body.clone());
        r.settle().await;
        let sent = r.double.calls().into_iter().rev().find_map(|c| match c {
            Call::Send { id, body, .. } => Some((id, body)),
            _ => None,
        });
        assert_eq!(sent, Some((WireId::of(&act), body)), "the act carries its own id; the target stays in the body");
        r.double.emit(EngineEvent::ServerAck { id: WireId::of(&act).as_str().to_owned(), error: None });
        match r.next().await {
            WaEvent::Accepted { message_id, .. } => assert_eq!(message_id, act),
            other => panic!("{other:?}"),
        }
    }
}

/// A file that takes `delay` to read, or cannot be read.
struct SlowFile {
    delay: Duration,
    result: Result<FileData, String>,
}

impl MediaFile for SlowFile {
    fn read(&self) -> BoxFuture<'_, Result<FileData, String>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.result.clone()
        })
    }
}

fn photo(delay: Duration, result: Result<FileData, String>) -> MediaToSend {
    MediaToSend {
        kind: MediaKind::Image,
        file: Arc::new(SlowFile { delay, result }),
        caption: Some("the shop".into()),
        file_name: None,
        view_once: false,
    }
}

#[tokio::test(start_paused = true)]
async fn a_media_message_goes_on_the_wire_with_its_file_and_messages_behind_it_keep_their_order() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let (image, text) = (MessageId::generate(), MessageId::generate());
    let file = FileData { mime: "image/png".into(), bytes: vec![0x89, b'P', b'N', b'G'] };
    // Reading the file (a fetch from its URL) takes longer than a lease period: the line keeps
    // its lease and its events meanwhile.
    assert!(r.wa.send_with_files(
        r.instance,
        1,
        image,
        phone("5511988887777"),
        photo(Duration::from_secs(45), Ok(file.clone()))
    ));
    assert!(r.wa.send(r.instance, 1, text, phone("5511988887777"), Outgoing::Text("and a text".into())));
    tokio::time::sleep(Duration::from_secs(20)).await;
    assert!(r.double.sends().is_empty(), "nothing overtakes the file being read");
    r.double.emit(EngineEvent::Receipt {
        ids: vec!["OTHER".into()],
        from: "5511988887777".into(),
        kind: ReceiptKind::Read,
        at_ms: 1,
    });
    r.double.emit(EngineEvent::Disconnected { reason: "stream error".into() });
    match r.next().await {
        WaEvent::Disconnected { generation: 1, .. } => {}
        other => panic!("events are still handled while a file is read: {other:?}"),
    }
    // A new connection sends both again, in order, once the file is read.
    r.online(2).await;
    r.wa.send_with_files(
        r.instance,
        2,
        image,
        phone("5511988887777"),
        photo(Duration::from_secs(45), Ok(file.clone())),
    );
    r.wa.send(r.instance, 2, text, phone("5511988887777"), Outgoing::Text("and a text".into()));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert_eq!(r.double.sends(), vec![WireId::of(&image), WireId::of(&text)], "queue order on the wire");
    let sent = r.double.calls().into_iter().find_map(|c| match c {
        Call::Send { body: Outgoing::Media(m), to, .. } => Some((to, m)),
        _ => None,
    });
    let expected = OutgoingMedia {
        kind: MediaKind::Image,
        file,
        caption: Some("the shop".into()),
        file_name: None,
        view_once: false,
    };
    assert_eq!(sent, Some(("5511988887777".to_owned(), expected)), "the file's bytes and type reach the engine");
    assert!(matches!(r.state(), LineState::Online), "the lease held through the read");
    r.double.emit(EngineEvent::ServerAck { id: WireId::of(&image).as_str().into(), error: None });
    match r.next().await {
        WaEvent::Accepted { message_id, generation: 2, .. } => assert_eq!(message_id, image),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn a_file_that_cannot_be_read_rejects_its_message_naming_why_and_the_line_goes_on() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let (image, text) = (MessageId::generate(), MessageId::generate());
    let gone = photo(Duration::from_millis(10), Err("the URL answered 404 Not Found".into()));
    r.wa.send_with_files(r.instance, 1, image, phone("5511988887777"), gone);
    r.wa.send(r.instance, 1, text, phone("5511988887777"), Outgoing::Text("still here".into()));
    match r.next().await {
        WaEvent::Rejected { message_id, reason, generation: 1, .. } => {
            assert_eq!(message_id, image);
            assert!(reason.contains("404 Not Found"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    r.settle().await;
    assert_eq!(r.double.sends(), vec![WireId::of(&text)], "only the text reached the wire");
    assert_eq!(r.state(), LineState::Online);
}

/// A carousel of `pictures` (each card's picture read from its own file) with a reply button
/// on each card.
fn carousel_of(pictures: Vec<Result<FileData, String>>) -> WithFiles {
    let files: Vec<Arc<dyn MediaFile>> = pictures
        .into_iter()
        .map(|result| Arc::new(SlowFile { delay: Duration::from_millis(5), result }) as Arc<dyn MediaFile>)
        .collect();
    let count = files.len();
    WithFiles::new(files, move |read| Outgoing::Carousel {
        text: "Nossos planos".into(),
        cards: (0..count)
            .zip(read)
            .map(|(n, file)| Card {
                picture: Picture { kind: MediaKind::Image, file },
                text: format!("Plano {n}"),
                buttons: vec![Button::Reply { id: n.to_string(), label: "Quero".into() }],
            })
            .collect(),
    })
}

#[tokio::test(start_paused = true)]
async fn a_carousel_goes_on_the_wire_with_every_cards_picture_and_one_unreadable_picture_rejects_it() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let png = |n: u8| FileData { mime: "image/png".into(), bytes: vec![0x89, b'P', n] };
    let (whole, broken) = (MessageId::generate(), MessageId::generate());
    let to = phone("5511988887777");
    assert!(r.wa.send_with_files(r.instance, 1, whole, to.clone(), carousel_of(vec![Ok(png(0)), Ok(png(1))])));
    let second_gone = carousel_of(vec![Ok(png(0)), Err("the URL answered 404 Not Found".into())]);
    assert!(r.wa.send_with_files(r.instance, 1, broken, to, second_gone));
    match r.next().await {
        WaEvent::Rejected { message_id, reason, .. } => {
            assert_eq!(message_id, broken);
            assert!(reason.contains("404 Not Found"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(r.double.sends(), vec![WireId::of(&whole)], "only the whole carousel reached the wire");
    let sent = r.double.calls().into_iter().find_map(|c| match c {
        Call::Send { body: Outgoing::Carousel { cards, .. }, .. } => Some(cards),
        _ => None,
    });
    let pictures: Vec<_> = sent.unwrap_or_default().into_iter().map(|c| (c.text, c.picture.file)).collect();
    assert_eq!(pictures, vec![("Plano 0".into(), png(0)), ("Plano 1".into(), png(1))], "each card with its own file");
}

#[tokio::test(start_paused = true)]
async fn receipts_become_statuses_of_our_messages() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let id = MessageId::generate();
    let wire = WireId::of(&id).as_str().to_owned();
    for (kind, status) in [
        (ReceiptKind::Delivered, Receipt::Delivered),
        (ReceiptKind::Read, Receipt::Read),
        (ReceiptKind::Played, Receipt::Played),
    ] {
        let ids = vec!["FROMPHONE1".to_owned(), wire.clone()];
        r.double.emit(EngineEvent::Receipt { ids, from: "5511988887777@s.whatsapp.net".into(), kind, at_ms: 9 });
        let expected =
            WaEvent::Status { instance: r.instance, message_id: id, phone: phone("5511988887777"), status, at_ms: 9 };
        assert_eq!(r.next().await, expected);
    }
}

#[tokio::test(start_paused = true)]
async fn a_received_message_is_acknowledged_to_the_server_only_after_the_commit() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    let message = InboundMessage {
        quoted: None,
        forwarded: false,
        status_reply: false,
        id: "ABCD1234".into(),
        chat: "5511988887777".into(),
        participant: None,
        push_name: Some("Ana".into()),
        from_me: false,
        content: InboundContent::Text("olá".into()),
        at_ms: 5,
    };
    let double = r.double.clone();
    let batch = vec![message.clone()];
    let commit = tokio::spawn(async move { double.receive(batch).await });
    let ack = match r.next().await {
        WaEvent::Incoming { message: m, ack, .. } => {
            assert_eq!(*m, message);
            ack
        }
        other => panic!("{other:?}"),
    };
    r.settle().await;
    assert!(!commit.is_finished(), "the server's ack waits for our commit");
    assert!(WhatsappWeb::owns(ack));
    r.wa.ack(ack);
    assert_eq!(commit.await.unwrap(), Ok(()));

    // Not committed in time: the engine leaves the server unacknowledged (it redelivers).
    let double = r.double.clone();
    let commit = tokio::spawn(async move { double.receive(vec![message]).await });
    assert!(matches!(r.next().await, WaEvent::Incoming { .. }));
    assert!(commit.await.unwrap().is_err());
    assert_eq!(r.wa.shared().pending_acks(), 0, "a timed-out wait is forgotten");
}

#[tokio::test(start_paused = true)]
async fn the_phone_unlinking_the_device_logs_out_and_forgets_its_keys() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    assert!(r.has_keys());
    r.double.emit(EngineEvent::LoggedOut(LogoutKind::Unlinked));
    match r.next().await {
        WaEvent::Disconnected { logged_out: true, reason, .. } => assert!(reason.contains("unlinked"), "{reason}"),
        other => panic!("{other:?}"),
    }
    r.double.wait_idle().await;
    assert!(!r.has_keys(), "a new pairing starts from nothing");
    assert_eq!(lease::current(r.kv().as_ref()).unwrap(), None, "the lease is given back");
    assert_eq!(r.state(), LineState::Offline);
}

#[tokio::test(start_paused = true)]
async fn a_logout_requested_here_unlinks_the_device_and_forgets_its_keys_without_an_event() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    r.wa.close(r.instance, true);
    r.double.wait_idle().await;
    assert!(r.double.calls().contains(&Call::Logout));
    assert!(!r.has_keys());
    r.settle().await;
    assert!(r.events.try_recv().is_err(), "no event follows a close");
}

#[tokio::test(start_paused = true)]
async fn a_lock_stops_reconnecting_for_hours_and_says_why() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    r.double.emit(EngineEvent::LoggedOut(LogoutKind::Locked));
    let reason = match r.next().await {
        WaEvent::Disconnected { logged_out: false, reason, .. } => reason,
        other => panic!("{other:?}"),
    };
    assert!(reason.contains("locked") && reason.contains("12 h"), "{reason}");
    r.double.wait_idle().await;
    assert_eq!(r.state(), LineState::CoolingDown { until_ms: T0 + 12 * H, reason: reason.clone() });
    assert!(r.has_keys(), "a lock keeps the session: it may come back");

    // The session's back-off asks again: answered here, WhatsApp is not contacted.
    for (generation, hours_later) in [(2, 1), (3, 11)] {
        r.now.store(T0 + hours_later * H, Ordering::SeqCst);
        r.wa.start(r.instance, generation, Start::Resume);
        let expected =
            WaEvent::Disconnected { instance: r.instance, generation, reason: reason.clone(), logged_out: false };
        assert_eq!(r.next().await, expected);
        assert_eq!(r.double.opened(), 1, "{hours_later} h later: still cooling down");
    }
    r.now.store(T0 + 12 * H + 1, Ordering::SeqCst);
    r.online(4).await;
    assert_eq!(r.double.opened(), 2);
}

#[tokio::test(start_paused = true)]
async fn a_logout_after_the_line_ended_still_forgets_the_keys_and_the_cool_down() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    r.double.emit(EngineEvent::LoggedOut(LogoutKind::Locked));
    assert!(matches!(r.next().await, WaEvent::Disconnected { logged_out: false, .. }));
    r.double.wait_idle().await;
    r.settle().await;
    assert!(r.has_keys() && cooldown::load(r.kv().as_ref()).unwrap().is_some());
    // The ended line's handle is still the instance's: the logout must not be lost with it.
    r.wa.close(r.instance, true);
    r.settle().await;
    assert!(!r.has_keys(), "its keys are deleted");
    assert_eq!(cooldown::load(r.kv().as_ref()).unwrap(), None, "and its cool-down");
    assert_eq!(r.state(), LineState::Offline);
}

#[tokio::test(start_paused = true)]
async fn a_cool_down_survives_a_restart_and_a_new_pairing_clears_it() {
    let store = Arc::new(MemKv::new());
    {
        let mut r = rig_on(store.clone(), Double::new(connected_as("5511999990000")));
        r.online(1).await;
        r.double.emit(EngineEvent::LoggedOut(LogoutKind::TempBanned { expire: None }));
        assert!(matches!(r.next().await, WaEvent::Disconnected { logged_out: false, .. }));
        r.double.wait_idle().await;
    }
    let mut r = rig_on(store, Double::new(OnConnect::Silent));
    r.wa.start(r.instance, 1, Start::Resume);
    match r.next().await {
        WaEvent::Disconnected { reason, .. } => assert!(reason.contains("temporarily banned"), "{reason}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.double.opened(), 0);
    r.wa.start(r.instance, 2, Start::PairQr);
    r.double.wait_opened(1).await;
    assert_eq!(cooldown::load(r.kv().as_ref()).unwrap(), None);
}

#[tokio::test(start_paused = true)]
async fn a_lost_connection_ends_the_client_and_a_resume_reconnects() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    r.double.emit(EngineEvent::Disconnected { reason: "socket closed".into() });
    assert_eq!(
        r.next().await,
        WaEvent::Disconnected {
            instance: r.instance,
            generation: 1,
            reason: "socket closed".into(),
            logged_out: false
        }
    );
    r.double.wait_idle().await;
    assert_eq!(lease::current(r.kv().as_ref()).unwrap(), None);
    r.online(2).await;
    assert_eq!(r.double.opened(), 2);
    assert!(r.has_keys(), "the saved session is reused");
}

#[tokio::test(start_paused = true)]
async fn without_an_answer_the_connect_fails_saying_whatsapp_cannot_be_reached() {
    let mut r = rig(OnConnect::Silent);
    r.wa.start(r.instance, 1, Start::Resume);
    match r.next().await {
        WaEvent::Disconnected { reason, logged_out: false, .. } => {
            assert_eq!(reason, "cannot reach WhatsApp: no answer within 30 s");
        }
        other => panic!("{other:?}"),
    }
    r.double.wait_idle().await;
    assert!(matches!(r.state(), LineState::Unreachable { .. }));
}

#[tokio::test(start_paused = true)]
async fn a_connect_error_is_reported_and_retried_by_the_data_plane() {
    let mut r = rig(OnConnect::Fail(EngineError::Unreachable("dns lookup failed".into())));
    r.wa.start(r.instance, 1, Start::Resume);
    match r.next().await {
        WaEvent::Disconnected { reason, logged_out: false, .. } => {
            assert_eq!(reason, "cannot reach WhatsApp: dns lookup failed")
        }
        other => panic!("{other:?}"),
    }
    r.double.wait_idle().await;
}

#[tokio::test(start_paused = true)]
async fn a_restart_never_leaves_two_live_clients_on_one_session() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    for generation in 2..6 {
        r.online(generation).await;
    }
    assert_eq!(r.double.opened(), 5);
    assert_eq!(r.double.max_live(), 1);
    assert_eq!(r.double.live(), 1);
}

#[tokio::test(start_paused = true)]
async fn a_connection_without_a_number_in_the_event_takes_the_clients_own_or_fails() {
    let mut r = rig(OnConnect::Emit(vec![EngineEvent::Connected { phone: None }]));
    r.double.own_phone(Some("5511999990000"));
    r.wa.start(r.instance, 1, Start::Resume);
    assert_eq!(
        r.next().await,
        WaEvent::Connected { instance: r.instance, generation: 1, phone: phone("5511999990000") }
    );
    r.double.own_phone(None);
    r.wa.start(r.instance, 2, Start::Resume);
    match r.next().await {
        WaEvent::Disconnected { reason, generation: 2, .. } => assert_eq!(reason, "connected without a phone number"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn account_queries_are_answered_by_whatsapp_and_what_they_change_shows_in_the_next_answer() {
    let mut r = rig(connected_as("5511999990000"));
    assert!(r.wa.asker(&r.instance).is_none(), "no line, nobody to ask");
    r.online(1).await;
    r.double.own_phone(Some("5511999990000"));
    r.double.on_whatsapp(&["5511988887777", "5511977776666"]);
    let asker = r.wa.asker(&r.instance).expect("the line asks");
    // The second number asked without its ninth digit: WhatsApp names it as registered.
    let numbers = vec!["5511988887777".to_owned(), "551177776666".to_owned(), "5511900000000".to_owned()];
    assert_eq!(
        asker.ask(Query::OnWhatsapp(numbers)).await,
        Ok(Answer::OnWhatsapp(vec![
            ("5511988887777".into(), Some("5511988887777".into())),
            ("551177776666".into(), Some("5511977776666".into())),
            ("5511900000000".into(), None)
        ]))
    );
    let created = asker
        .ask(Query::CreateGroup {
            subject: "Shop".into(),
            participants: vec!["5511988887777".into(), "5511900000000".into()],
        })
        .await;
    let Ok(Answer::Group(group)) = created else { panic!("{created:?}") };
    let members: Vec<&str> = group.members.iter().map(|m| m.phone.as_str()).collect();
    assert_eq!(members, ["5511999990000", "5511988887777"], "the creator, and who has WhatsApp");
    let add = Query::Members {
        group: group.id.clone(),
        change: MemberChange::Add,
        phones: vec!["5511977776666".into(), "5511900000000".into()],
    };
    assert_eq!(
        asker.ask(add).await,
        Ok(Answer::Members(vec![
            ("5511977776666".into(), MemberResult::Applied),
            ("5511900000000".into(), MemberResult::NotApplied)
        ]))
    );
    // A number whose privacy refuses the account is not added: WhatsApp offers an invitation.
    r.double.on_whatsapp(&["5511988887777", "5511977776666", "5511966665555"]);
    r.double.with_directory(|d| {
        d.refuses_adds.insert("5511966665555".into());
    });
    let private =
        Query::Members { group: group.id.clone(), change: MemberChange::Add, phones: vec!["5511966665555".into()] };
    assert_eq!(
        asker.ask(private).await,
        Ok(Answer::Members(vec![("5511966665555".into(), MemberResult::NeedsInvite)]))
    );
    let on = Query::GroupSetting { group: group.id.clone(), setting: GroupSetting::AdminsOnlySend, on: true };
    assert_eq!(asker.ask(on).await, Ok(Answer::Done));
    let Ok(Answer::Group(now)) = asker.ask(Query::Group(group.id.clone())).await else { panic!() };
    assert_eq!(now.members.len(), 3);
    assert!(now.admins_only_send);
    assert_eq!(
        asker.ask(Query::Group("120363000000000099-group".into())).await,
        Err(EngineError::NotFound("group 120363000000000099-group".into()))
    );
}

#[tokio::test(start_paused = true)]
async fn a_slow_account_query_holds_up_no_message_and_ends_with_its_line() {
    let mut r = rig(connected_as("5511999990000"));
    r.online(1).await;
    r.double.ask_delay(Duration::from_secs(300));
    let asker = r.wa.asker(&r.instance).unwrap();
    let slow = tokio::spawn({
        let asker = asker.clone();
        async move { asker.ask(Query::Groups).await }
    });
    r.settle().await;
    let id = MessageId::generate();
    assert!(r.wa.send(r.instance, 1, id, phone("5511988887777"), Outgoing::Text("hi".into())));
    r.settle().await;
    assert_eq!(r.double.sends(), vec![WireId::of(&id)], "the message did not wait for the query");
    assert!(!slow.is_finished());
    // The line ends (a restart): the query's caller hears it, and the kept asker too.
    r.wa.close(r.instance, false);
    assert_eq!(slow.await.unwrap(), Err(EngineError::NotLoggedIn));
    assert_eq!(asker.ask(Query::Groups).await, Err(EngineError::NotLoggedIn));
}
