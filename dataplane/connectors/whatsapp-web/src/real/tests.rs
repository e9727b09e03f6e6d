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
use whatsapp_rust::wacore::store::traits::{
    AppSyncStore, DeviceStore, MsgSecretEntry, MsgSecretStore, ProtocolStore, SignalStore, TcTokenEntry,
};
use whatsapp_rust::wacore::types::events::{
    ConnectFailure, ConnectFailureReason, Connected, Disconnected, Event, LoggedOut, PairingQrCode, Receipt, ServerAck,
    StreamReplaced, TempBanReason, TemporaryBan,
};
use whatsapp_rust::wacore::types::message::MessageSource;
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::Jid;

use super::store::KvBackend;
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

#[tokio::test]
async fn the_engine_store_reads_its_writes_table_by_table() {
    let kv = Arc::new(MemKv::new());
    let b = KvBackend::new(kv.clone());
    b.put_sessions_batch(&[("a.0".into(), vec![1u8, 2].into()), ("b.0".into(), vec![3u8].into())]).await.unwrap();
    assert_eq!(b.get_session("a.0").await.unwrap().as_deref(), Some(&[1u8, 2][..]));
    b.delete_session("a.0").await.unwrap();
    assert!(!b.has_session("a.0").await.unwrap() && b.has_session("b.0").await.unwrap());
    b.put_identity("a.0", [7; 32]).await.unwrap();
    assert_eq!(b.load_identity("a.0").await.unwrap(), Some([7; 32]));

    b.store_prekeys_batch(&[(5, vec![5u8].into()), (9, vec![9u8].into())], false).await.unwrap();
    b.remove_prekey(9).await.unwrap();
    assert_eq!(b.load_prekeys_batch(&[5, 9]).await.unwrap(), vec![(5, vec![5u8].into())]);
    assert_eq!(b.get_max_prekey_id().await.unwrap(), 9, "a pre-key id is never handed out twice");
    b.store_signed_prekey(1, &[1]).await.unwrap();
    b.store_signed_prekey(2, &[2]).await.unwrap();
    assert_eq!(b.load_all_signed_prekeys().await.unwrap(), vec![(1, vec![1]), (2, vec![2])]);

    b.set_sync_key(b"k1", Default::default()).await.unwrap();
    assert_eq!(b.get_latest_sync_key_id().await.unwrap().as_deref(), Some(&b"k1"[..]));
    assert_eq!(b.get_version("regular").await.unwrap().version, 0, "an unknown collection starts at version 0");

    b.set_sender_key_status("g@g.us", &[("a:1@s.whatsapp.net", true), ("b:2@s.whatsapp.net", false)]).await.unwrap();
    b.delete_sender_key_device_rows(&["b:2@s.whatsapp.net"]).await.unwrap();
    assert_eq!(b.get_sender_key_devices("g@g.us").await.unwrap(), vec![("a:1@s.whatsapp.net".to_owned(), true)]);

    let mapping = |pn: &str| whatsapp_rust::wacore::store::traits::LidPnMappingEntry {
        lid: "100".into(),
        phone_number: pn.into(),
        created_at: 0,
        updated_at: 0,
        learning_source: "test".into(),
    };
    b.put_lid_mapping(&mapping("5511")).await.unwrap();
    b.put_lid_mapping(&mapping("5522")).await.unwrap();
    assert!(b.get_pn_mapping("5511").await.unwrap().is_none(), "a changed number forgets the old one");
    assert_eq!(b.get_pn_mapping("5522").await.unwrap().map(|e| e.lid), Some("100".into()));

    b.store_sent_message("c", "m1", b"payload").await.unwrap();
    assert_eq!(b.take_sent_message("c", "m1").await.unwrap().as_deref(), Some(&b"payload"[..]));
    assert_eq!(b.take_sent_message("c", "m1").await.unwrap(), None, "taken once");

    b.store_pending_inbound("c", "s", "i", b"msg").await.unwrap();
    assert_eq!(b.get_pending_inbound("c", "s", "i").await.unwrap().as_deref(), Some(&b"msg"[..]));
    assert_eq!(b.delete_expired_pending_inbound(i64::MAX).await.unwrap(), 1);
    assert_eq!(b.get_pending_inbound("c", "s", "i").await.unwrap(), None);

    let secret = |exp| MsgSecretEntry {
        chat: "c".into(),
        sender: "s".into(),
        msg_id: "m".into(),
        secret: [1; 32],
        expires_at: exp,
        message_ts: 0,
    };
    b.put_msg_secrets(vec![secret(100)]).await.unwrap();
    assert_eq!(b.get_msg_secret("c", "s", "m").await.unwrap(), Some(vec![1; 32]));
    assert_eq!(b.delete_expired_msg_secrets(50).await.unwrap(), 0);
    assert_eq!(b.delete_expired_msg_secrets(100).await.unwrap(), 1);

    b.put_tc_token("j", &TcTokenEntry { token: vec![1], token_timestamp: 10, sender_timestamp: None }).await.unwrap();
    assert_eq!(b.delete_expired_tc_tokens(5, 5).await.unwrap(), 0);
    assert_eq!(b.delete_expired_tc_tokens(11, 11).await.unwrap(), 1);

    assert!(!b.exists().await.unwrap());
    b.create().await.unwrap();
    assert!(b.exists().await.unwrap() && b.load().await.unwrap().is_some(), "create materialises a device");
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
