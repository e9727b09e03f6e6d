//! The real engine at its seams: whatsapp-rust's events translated (table), the engine's store
//! on a [`KvStore`] keeping the reference store's rules, and a real client on loopback (an
//! address where nothing listens, a pinned version): it builds its device on our store, never
//! reports a failed connect (the engine is silent), and the line's watchdog says WhatsApp cannot
//! be reached. Nothing leaves 127.0.0.1.

use std::sync::Arc;
use std::time::Duration;

use chatedge_connector::{KvStore, MemKv};
use whatsapp_rust::wacore::chrono::{TimeZone, Utc};
use whatsapp_rust::wacore::net::DisconnectReason;
use whatsapp_rust::wacore::types::events::{
    ConnectFailure, ConnectFailureReason, Connected, Disconnected, Event, LoggedOut, PairingQrCode, Receipt, ServerAck,
    StreamReplaced, TempBanReason, TemporaryBan,
};
use whatsapp_rust::wacore::types::message::MessageSource;
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::Jid;

use super::*;
use crate::engine::{EngineEvent, LogoutKind, ReceiptKind};

#[test]
fn whatsapp_rust_events_translate_to_the_connectors_words() {
    let at = Utc.timestamp_millis_opt(1_700_000_000_123).unwrap();
    let source = MessageSource { chat: Jid::pn("5511988887777"), ..Default::default() };
    let receipt = |t| {
        Event::Receipt(
            Receipt::builder()
                .source(source.clone())
                .message_ids(vec!["3EB0AA".into()])
                .timestamp(at)
                .r#type(t)
                .offline(false)
                .build(),
        )
    };
    let ack = |class: Option<&str>, error: Option<&str>| {
        Event::ServerAck(
            ServerAck::builder()
                .id("3EB0AA".into())
                .maybe_class(class.map(Into::into))
                .maybe_error(error.map(Into::into))
                .build(),
        )
    };
    let failure = |reason| Event::ConnectFailure(ConnectFailure::builder().reason(reason).build());
    let cases: Vec<(&str, Event, Option<EngineEvent>)> = vec![
        (
            "a QR code",
            Event::PairingQrCode(
                PairingQrCode::builder().code("2@r,n,i,a,1".into()).timeout(Duration::from_secs(60)).build(),
            ),
            Some(EngineEvent::Qr { code: "2@r,n,i,a,1".into(), valid_for: Duration::from_secs(60) }),
        ),
        ("connected", Event::Connected(Connected::builder().build()), Some(EngineEvent::Connected { phone: None })),
        (
            "a dropped connection",
            Event::Disconnected(Disconnected::builder().reason(DisconnectReason::StreamEnded).build()),
            Some(EngineEvent::Disconnected { reason: "stream ended (EOF)".into() }),
        ),
        (
            "another client took over (409)",
            Event::StreamReplaced(StreamReplaced::builder().build()),
            Some(EngineEvent::LoggedOut(LogoutKind::Replaced)),
        ),
        (
            "a temporary ban with its expiry",
            Event::TemporaryBan(
                TemporaryBan::builder()
                    .code(TempBanReason::SentToTooManyPeople)
                    .expire(whatsapp_rust::wacore::chrono::Duration::hours(24))
                    .build(),
            ),
            Some(EngineEvent::LoggedOut(LogoutKind::TempBanned { expire: Some(Duration::from_secs(24 * 3600)) })),
        ),
        (
            "a 402 at connect is a temporary ban",
            failure(ConnectFailureReason::TempBanned),
            Some(EngineEvent::LoggedOut(LogoutKind::TempBanned { expire: None })),
        ),
        (
            "a 403 at connect is a lock",
            failure(ConnectFailureReason::AccountLocked),
            Some(EngineEvent::LoggedOut(LogoutKind::Locked)),
        ),
        (
            "a 401 at connect is an unlink",
            failure(ConnectFailureReason::LoggedOut),
            Some(EngineEvent::LoggedOut(LogoutKind::Unlinked)),
        ),
        (
            "a 503 at connect is a failed attempt",
            failure(ConnectFailureReason::ServiceUnavailable),
            Some(EngineEvent::ConnectFailed { reason: "ServiceUnavailable".into() }),
        ),
        (
            "the phone unlinked the device",
            Event::LoggedOut(LoggedOut::builder().on_connect(false).reason(ConnectFailureReason::LoggedOut).build()),
            Some(EngineEvent::LoggedOut(LogoutKind::Unlinked)),
        ),
        (
            "a locked account at logout",
            Event::LoggedOut(LoggedOut::builder().on_connect(true).reason(ConnectFailureReason::AccountLocked).build()),
            Some(EngineEvent::LoggedOut(LogoutKind::Locked)),
        ),
        (
            "a message ack",
            ack(Some("message"), None),
            Some(EngineEvent::ServerAck { id: "3EB0AA".into(), error: None }),
        ),
        (
            "a message nack",
            ack(Some("message"), Some("463")),
            Some(EngineEvent::ServerAck { id: "3EB0AA".into(), error: Some("463".into()) }),
        ),
        ("an ack of another stanza class is not ours", ack(Some("receipt"), None), None),
        (
            "delivered",
            receipt(ReceiptType::Delivered),
            Some(EngineEvent::Receipt {
                ids: vec!["3EB0AA".into()],
                from: "5511988887777".into(),
                kind: ReceiptKind::Delivered,
                at_ms: 1_700_000_000_123,
            }),
        ),
        (
            "read",
            receipt(ReceiptType::Read),
            Some(EngineEvent::Receipt {
                ids: vec!["3EB0AA".into()],
                from: "5511988887777".into(),
                kind: ReceiptKind::Read,
                at_ms: 1_700_000_000_123,
            }),
        ),
        (
            "played",
            receipt(ReceiptType::Played),
            Some(EngineEvent::Receipt {
                ids: vec!["3EB0AA".into()],
                from: "5511988887777".into(),
                kind: ReceiptKind::Played,
                at_ms: 1_700_000_000_123,
            }),
        ),
        ("a retry receipt is the engine's business", receipt(ReceiptType::Retry), None),
    ];
    for (what, event, expected) in cases {
        assert_eq!(translate(&event), expected, "{what}");
    }
}

#[test]
fn received_messages_of_each_kind_keep_their_text_media_and_sender() {
    let info = whatsapp_rust::wacore::types::message::MessageInfo {
        source: MessageSource {
            chat: Jid::group("120363000000000001"),
            sender: Jid::pn("5511988887777"),
            is_group: true,
            ..Default::default()
        },
        id: "ABCD".into(),
        push_name: "Ana".into(),
        timestamp: Utc.timestamp_millis_opt(5_000).unwrap(),
        ..Default::default()
    };
    let text = wa::Message { conversation: Some("olá".into()), ..Default::default() };
    let got = inbound(&text, &info);
    assert_eq!(got.chat, "120363000000000001-group");
    assert_eq!(got.participant.as_deref(), Some("5511988887777"));
    assert_eq!(got.push_name.as_deref(), Some("Ana"));
    assert_eq!((got.id.as_str(), got.at_ms), ("ABCD", 5_000));
    assert_eq!(got.content, InboundContent::Text("olá".into()));
    let image = wa::Message {
        image_message: whatsapp_rust::waproto::buffa::MessageField::some(wa::message::ImageMessage {
            mimetype: Some("image/jpeg".into()),
            caption: Some("foto".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        inbound(&image, &info).content,
        InboundContent::Media {
            kind: MediaKind::Image,
            mime: "image/jpeg".into(),
            caption: Some("foto".into()),
            file_name: None
        }
    );
    let document = wa::Message {
        document_message: whatsapp_rust::waproto::buffa::MessageField::some(wa::message::DocumentMessage {
            mimetype: Some("application/pdf".into()),
            file_name: Some("nota.pdf".into()),
            ..Default::default()
        }),
        ..Default::default()
    };
    assert_eq!(
        inbound(&document, &info).content,
        InboundContent::Media {
            kind: MediaKind::Document,
            mime: "application/pdf".into(),
            caption: None,
            file_name: Some("nota.pdf".into())
        }
    );
    assert!(matches!(inbound(&wa::Message::default(), &info).content, InboundContent::Other(_)));
}

#[test]
fn a_peer_addressed_by_lid_is_named_by_its_phone_number_when_whatsapp_sends_it() {
    let info = |chat: Jid, sender: Jid, sender_alt: Option<Jid>, is_group| {
        whatsapp_rust::wacore::types::message::MessageInfo {
            source: MessageSource { chat, sender, sender_alt, is_group, ..Default::default() },
            id: "LID1".into(),
            ..Default::default()
        }
    };
    let text = wa::Message { conversation: Some("oi".into()), ..Default::default() };
    let (lid, pn) = (Jid::lid("100000000000001"), Jid::pn("5511988887777"));
    let direct = inbound(&text, &info(lid.clone(), lid.clone(), Some(pn.clone()), false));
    assert_eq!(direct.chat, "5511988887777", "the chat is the phone number, not the LID");
    let unknown = inbound(&text, &info(lid.clone(), lid.clone(), None, false));
    assert_eq!(unknown.chat, "100000000000001@lid", "no number known: the LID, which no phone parses as");
    let group = inbound(&text, &info(Jid::group("120363000000000001"), lid, Some(pn), true));
    assert_eq!(group.participant.as_deref(), Some("5511988887777"), "a group member too");
}

#[tokio::test]
async fn the_engine_store_reads_its_writes_table_by_table() {
    super::conformance::reads_its_writes_table_by_table(Arc::new(MemKv::new())).await;
}

#[tokio::test]
async fn a_real_client_that_cannot_reach_whatsapp_is_reported_by_the_watchdog_and_shut_down() {
    // A loopback port nothing listens on, and a pinned version (no lookup): no traffic leaves.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let endpoint = Endpoint { ws_url: Some(format!("ws://127.0.0.1:{port}/ws/chat")), version: Some((2, 3000, 1)) };
    let kv = Arc::new(MemKv::new());
    let (tx, mut events) = tokio::sync::mpsc::channel(16);
    let settings = crate::Settings { connect_timeout: Duration::from_secs(2), ..Default::default() };
    let shared = crate::Shared::new(
        Arc::new(RealFactory::new(endpoint).unwrap()),
        kv.clone(),
        settings,
        Arc::new(crate::ChannelSink(tx)),
        crate::Shared::wall_clock(),
    );
    let mut wa = crate::WhatsappWeb::new(shared.clone());
    let instance = chatedge_config::InstanceId::from_bytes([3; 16]);
    wa.start(instance, 1, crate::Start::Resume);
    let event = tokio::time::timeout(Duration::from_secs(60), events.recv()).await.unwrap().unwrap();
    assert_eq!(
        event,
        crate::WaEvent::Disconnected {
            instance,
            generation: 1,
            reason: "cannot reach WhatsApp: no answer within 2 s".into(),
            logged_out: false
        }
    );
    assert!(matches!(shared.state(&instance), crate::LineState::Unreachable { .. }));
    let mut device_key = instance.as_bytes().to_vec();
    device_key.extend_from_slice(b"/wa/dv\0");
    assert!(kv.get(&device_key).unwrap().is_some(), "the engine's device lives in our store");
    let mut lease_key = instance.as_bytes().to_vec();
    lease_key.extend_from_slice(b"/lease");
    assert_eq!(kv.get(&lease_key).unwrap(), None, "the client was shut down and the lease released");
}
