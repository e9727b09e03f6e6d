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
    ConnectFailure, ConnectFailureReason, Connected, Disconnected, Event, LoggedOut, PairingQrCode, Receipt,
    SelfPushNameUpdated, ServerAck, StreamReplaced, TempBanReason, TemporaryBan,
};
use whatsapp_rust::wacore::types::message::MessageSource;
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::Jid;

use super::*;
use crate::engine::{ChannelRole, EngineEvent, GroupInfo, GroupMember, LogoutKind, ReceiptKind};

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
            "the account's first name",
            Event::SelfPushNameUpdated(
                SelfPushNameUpdated::builder()
                    .from_server(true)
                    .old_name(String::new())
                    .new_name("Loja".into())
                    .build(),
            ),
            Some(EngineEvent::NameSynced),
        ),
        (
            "a renamed account",
            Event::SelfPushNameUpdated(
                SelfPushNameUpdated::builder()
                    .from_server(true)
                    .old_name("Loja".into())
                    .new_name("Loja 2".into())
                    .build(),
            ),
            None,
        ),
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
    use whatsapp_rust::waproto::buffa::MessageField;
    let media =
        |kind, mime: &str, caption: Option<&str>, file_name: Option<&str>, seconds, view_once| InboundContent::Media {
            kind,
            mime: mime.into(),
            caption: caption.map(Into::into),
            file_name: file_name.map(Into::into),
            seconds,
            view_once,
            file: None,
        };
    let image = wa::message::ImageMessage {
        mimetype: Some("image/jpeg".into()),
        caption: Some("foto".into()),
        ..Default::default()
    };
    let video = |gif: Option<bool>| wa::message::VideoMessage {
        mimetype: Some("video/mp4".into()),
        seconds: Some(7),
        gif_playback: gif,
        ..Default::default()
    };
    let audio = |ptt| wa::message::AudioMessage {
        mimetype: Some("audio/ogg; codecs=opus".into()),
        seconds: Some(3),
        ptt: Some(ptt),
        ..Default::default()
    };
    let wrapped = |inner: wa::Message| wa::Message {
        ephemeral_message: MessageField::some(wa::message::FutureProofMessage { message: MessageField::some(inner) }),
        ..Default::default()
    };
    let view_once = |inner: wa::Message| wa::Message {
        view_once_message_v2: MessageField::some(wa::message::FutureProofMessage {
            message: MessageField::some(inner),
        }),
        ..Default::default()
    };
    let of_image = wa::Message { image_message: MessageField::some(image.clone()), ..Default::default() };
    let cases = [
        ("an image", of_image.clone(), media(MediaKind::Image, "image/jpeg", Some("foto"), None, 0, false)),
        (
            "an image in a disappearing chat",
            wrapped(of_image.clone()),
            media(MediaKind::Image, "image/jpeg", Some("foto"), None, 0, false),
        ),
        ("a view-once image", view_once(of_image), media(MediaKind::Image, "image/jpeg", Some("foto"), None, 0, true)),
        (
            "a video",
            wa::Message { video_message: MessageField::some(video(None)), ..Default::default() },
            media(MediaKind::Video, "video/mp4", None, None, 7, false),
        ),
        (
            "a GIF",
            wa::Message { video_message: MessageField::some(video(Some(true))), ..Default::default() },
            media(MediaKind::Gif, "video/mp4", None, None, 7, false),
        ),
        (
            "a video note",
            wa::Message { ptv_message: MessageField::some(video(None)), ..Default::default() },
            media(MediaKind::Ptv, "video/mp4", None, None, 7, false),
        ),
        (
            "a voice message",
            wa::Message { audio_message: MessageField::some(audio(true)), ..Default::default() },
            media(MediaKind::Voice, "audio/ogg; codecs=opus", None, None, 3, false),
        ),
        (
            "an audio file",
            wa::Message { audio_message: MessageField::some(audio(false)), ..Default::default() },
            media(MediaKind::Audio, "audio/ogg; codecs=opus", None, None, 3, false),
        ),
        (
            "a document",
            wa::Message {
                document_message: MessageField::some(wa::message::DocumentMessage {
                    mimetype: Some("application/pdf".into()),
                    file_name: Some("nota.pdf".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            media(MediaKind::Document, "application/pdf", None, Some("nota.pdf"), 0, false),
        ),
        (
            "a sticker",
            wa::Message {
                sticker_message: MessageField::some(wa::message::StickerMessage {
                    mimetype: Some("image/webp".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            media(MediaKind::Sticker, "image/webp", None, None, 0, false),
        ),
        (
            "a location",
            wa::Message {
                location_message: MessageField::some(wa::message::LocationMessage {
                    degrees_latitude: Some(-23.55),
                    degrees_longitude: Some(-46.63),
                    name: Some("Sé".into()),
                    address: Some("Praça da Sé".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Location {
                latitude: -23.55,
                longitude: -46.63,
                name: Some("Sé".into()),
                address: "Praça da Sé".into(),
            },
        ),
        (
            "a contact card",
            wa::Message {
                contact_message: MessageField::some(wa::message::ContactMessage {
                    display_name: Some("Ana".into()),
                    vcard: Some("BEGIN:VCARD\nFN:Ana\nEND:VCARD".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Contact(SharedContact {
                display_name: "Ana".into(),
                vcard: "BEGIN:VCARD\nFN:Ana\nEND:VCARD".into(),
            }),
        ),
        (
            "a reaction to one of ours",
            wa::Message {
                reaction_message: MessageField::some(wa::message::ReactionMessage {
                    key: MessageField::some(wa::MessageKey {
                        id: Some("3EB0ABC".into()),
                        from_me: Some(true),
                        ..Default::default()
                    }),
                    text: Some("👍".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Reaction { target: "3EB0ABC".into(), from_me: true, emoji: "👍".into() },
        ),
        (
            "several contact cards: one card holding every vCard (Z-API's callback has one contact)",
            wa::Message {
                contacts_array_message: MessageField::some(wa::message::ContactsArrayMessage {
                    display_name: Some("2 contacts".into()),
                    contacts: ["Ana", "Bia"]
                        .map(|name| wa::message::ContactMessage {
                            display_name: Some(name.into()),
                            vcard: Some(format!("BEGIN:VCARD\nFN:{name}\nEND:VCARD")),
                            ..Default::default()
                        })
                        .to_vec(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Contact(SharedContact {
                display_name: "2 contacts".into(),
                vcard: "BEGIN:VCARD\nFN:Ana\nEND:VCARD\nBEGIN:VCARD\nFN:Bia\nEND:VCARD".into(),
            }),
        ),
        (
            "several contact cards without a name for the whole",
            wa::Message {
                contacts_array_message: MessageField::some(wa::message::ContactsArrayMessage {
                    contacts: vec![
                        wa::message::ContactMessage {
                            display_name: Some("Ana".into()),
                            ..Default::default()
                        };
                        2
                    ],
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Contact(SharedContact { display_name: "Ana, Ana".into(), vcard: "\n".into() }),
        ),
        (
            "a poll (v3), one choice per voter",
            wa::Message {
                poll_creation_message_v3: MessageField::some(wa::message::PollCreationMessage {
                    name: Some("Which day?".into()),
                    selectable_options_count: Some(1),
                    options: ["Mon", "Tue"]
                        .map(|o| wa::message::poll_creation_message::Option {
                            option_name: Some(o.into()),
                            ..Default::default()
                        })
                        .to_vec(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Poll {
                question: "Which day?".into(),
                max_options: 1,
                options: vec!["Mon".into(), "Tue".into()],
            },
        ),
        (
            "a pin for a week of one of our messages",
            wa::Message {
                pin_in_chat_message: MessageField::some(wa::message::PinInChatMessage {
                    key: MessageField::some(wa::MessageKey {
                        id: Some("3EB0ABC".into()),
                        from_me: Some(true),
                        ..Default::default()
                    }),
                    r#type: Some(wa::message::pin_in_chat_message::Type::PIN_FOR_ALL),
                    ..Default::default()
                }),
                message_context_info: MessageField::some(wa::MessageContextInfo {
                    message_add_on_duration_in_secs: Some(604_800),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Pin { target: "3EB0ABC".into(), from_me: true, pinned: true, seconds: 604_800 },
        ),
        (
            "an unpin",
            wa::Message {
                pin_in_chat_message: MessageField::some(wa::message::PinInChatMessage {
                    key: MessageField::some(wa::MessageKey { id: Some("ABCD".into()), ..Default::default() }),
                    r#type: Some(wa::message::pin_in_chat_message::Type::UNPIN_FOR_ALL),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Pin { target: "ABCD".into(), from_me: false, pinned: false, seconds: 0 },
        ),
        (
            "a live location: where its sharing started",
            wa::Message {
                live_location_message: MessageField::some(wa::message::LiveLocationMessage {
                    degrees_latitude: Some(-23.5),
                    degrees_longitude: Some(-46.6),
                    caption: Some("on my way".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Location {
                latitude: -23.5,
                longitude: -46.6,
                name: Some("on my way".into()),
                address: String::new(),
            },
        ),
        (
            "a text in a disappearing chat",
            wrapped(wa::Message { conversation: Some("sumirá".into()), ..Default::default() }),
            InboundContent::Text("sumirá".into()),
        ),
        (
            "a tap on one of our reply buttons (every form: real::interactive's tests)",
            wa::Message {
                template_button_reply_message: MessageField::some(wa::message::TemplateButtonReplyMessage {
                    selected_id: Some("yes".into()),
                    selected_display_text: Some("Sim".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::ButtonReply { id: "yes".into(), text: "Sim".into() },
        ),
        (
            "an event on a call (every field: real::event's tests)",
            wa::Message {
                event_message: MessageField::some(wa::message::EventMessage {
                    name: Some("Reunião".into()),
                    start_time: Some(1_808_000_000),
                    join_link: Some("https://call.whatsapp.com/voice/abc".into()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            InboundContent::Event {
                details: crate::EventDetails {
                    name: "Reunião".into(),
                    description: None,
                    start_s: 1_808_000_000,
                    place: None,
                    canceled: false,
                },
                join_link: Some("https://call.whatsapp.com/voice/abc".into()),
            },
        ),
        (
            "an answer to an event whose secret is not kept",
            wa::Message { enc_event_response_message: MessageField::some(Default::default()), ..Default::default() },
            InboundContent::Other("event answer".into()),
        ),
    ];
    for (what, message, expected) in cases {
        assert_eq!(inbound(&message, &info).content, expected, "{what}");
    }
    assert!(matches!(inbound(&wa::Message::default(), &info).content, InboundContent::Other(_)));

    // What a message replies to, and whether it was forwarded, whatever kind of message it is.
    let context = |quoted: &str, forwarded| {
        MessageField::some(wa::ContextInfo {
            stanza_id: Some(quoted.into()),
            is_forwarded: forwarded,
            ..Default::default()
        })
    };
    let reply = wa::Message {
        extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
            text: Some("sim".into()),
            context_info: context("3EB0AAAA", None),
            ..Default::default()
        }),
        ..Default::default()
    };
    let forwarded_image = wrapped(wa::Message {
        image_message: MessageField::some(wa::message::ImageMessage {
            context_info: context("", Some(true)),
            ..image.clone()
        }),
        ..Default::default()
    });
    let tapped = wa::Message {
        template_button_reply_message: MessageField::some(wa::message::TemplateButtonReplyMessage {
            selected_id: Some("1".into()),
            context_info: context("3EB0BBBB", None),
            ..Default::default()
        }),
        ..Default::default()
    };
    let cases = [
        ("a quoting text", reply, Some("3EB0AAAA"), false),
        ("a forwarded image in a disappearing chat", forwarded_image, None, true),
        ("a button's answer", tapped, Some("3EB0BBBB"), false),
        ("a plain text", text, None, false),
    ];
    for (what, message, quoted, forwarded) in cases {
        let got = inbound(&message, &info);
        assert_eq!((got.quoted.as_deref(), got.forwarded, got.status_reply), (quoted, forwarded, false), "{what}");
    }
    // A reply to one of our status posts quotes it in `status@broadcast`.
    let status_reply = wa::Message {
        extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
            text: Some("lindo!".into()),
            context_info: MessageField::some(wa::ContextInfo {
                stanza_id: Some("3EB0CCCC".into()),
                remote_jid: Some("status@broadcast".into()),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    };
    let got = inbound(&status_reply, &info);
    assert_eq!((got.quoted.as_deref(), got.status_reply), (Some("3EB0CCCC"), true), "a status reply");
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

#[test]
fn an_uploaded_file_becomes_the_message_whatsapp_web_sends_for_its_kind() {
    use crate::engine::{FileData, OutgoingMedia};
    use whatsapp_rust::wacore::download::MediaType;
    let upload = || Uploaded::at("https://mmg.whatsapp.net/u");
    let media = |kind, mime: &str| OutgoingMedia {
        kind,
        file: FileData { mime: mime.into(), bytes: vec![1, 2, 3, 4] },
        caption: Some("veja".into()),
        file_name: Some("nota.pdf".into()),
        view_once: false,
    };

    let image = uploaded(upload(), &media(MediaKind::Image, "image/png"));
    let i = image.image_message.as_option().expect("an image message");
    assert_eq!((i.mimetype.as_deref(), i.caption.as_deref()), (Some("image/png"), Some("veja")));
    assert_eq!((i.direct_path.as_deref(), i.file_length), (Some("/v/t62/u"), Some(4)));
    assert_eq!(i.media_key.as_deref(), Some(&[1u8; 32][..]));

    let gif = uploaded(upload(), &media(MediaKind::Gif, "video/mp4"));
    assert_eq!(gif.video_message.as_option().and_then(|v| v.gif_playback), Some(true));
    let video = uploaded(upload(), &media(MediaKind::Video, "video/mp4"));
    assert_eq!(video.video_message.as_option().and_then(|v| v.gif_playback), None);
    let ptv = uploaded(upload(), &media(MediaKind::Ptv, "video/mp4"));
    assert!(
        ptv.ptv_message.as_option().is_some() && ptv.video_message.as_option().is_none(),
        "a video note's own field"
    );

    let mut seven_seconds = media(MediaKind::Voice, "audio/ogg; codecs=opus");
    seven_seconds.file.bytes = super::voice::tests::opus_stream(350); // 350 packets of 20 ms
    let voice = uploaded(upload(), &seven_seconds);
    assert_eq!(
        voice.audio_message.as_option().map(|a| (a.ptt, a.seconds)),
        Some((Some(true), Some(7))),
        "a voice message, with the length its bubble shows"
    );
    let audio = uploaded(upload(), &media(MediaKind::Audio, "audio/mpeg"));
    assert_eq!(
        audio.audio_message.as_option().map(|a| (a.ptt, a.mimetype.as_deref(), a.seconds)),
        Some((Some(false), Some("audio/mpeg"), None))
    );

    let document = uploaded(upload(), &media(MediaKind::Document, "application/pdf"));
    let d = document.document_message.as_option().expect("a document message");
    assert_eq!((d.file_name.as_deref(), d.caption.as_deref()), (Some("nota.pdf"), Some("veja")));

    let sticker = uploaded(upload(), &media(MediaKind::Sticker, ""));
    assert_eq!(
        sticker.sticker_message.as_option().and_then(|s| s.mimetype.as_deref()),
        Some("image/webp"),
        "a sticker is webp unless said"
    );

    let once = uploaded(upload(), &OutgoingMedia { view_once: true, ..media(MediaKind::Image, "image/jpeg") });
    let inner = once.view_once_message.as_option().and_then(|w| w.message.as_option()).expect("wrapped");
    assert_eq!(inner.image_message.as_option().and_then(|i| i.view_once), Some(true));

    let types = [
        (MediaKind::Image, MediaType::Image),
        (MediaKind::Gif, MediaType::Video),
        (MediaKind::Ptv, MediaType::Video),
        (MediaKind::Voice, MediaType::Audio),
        (MediaKind::Document, MediaType::Document),
        (MediaKind::Sticker, MediaType::Sticker),
    ];
    for (kind, expected) in types {
        assert_eq!(upload_type(kind), expected, "{kind:?}");
    }
}

#[test]
fn someone_elses_group_message_is_named_with_its_author_and_no_other_message_is() {
    let target = |chat: &str, from_me, participant: Option<&str>| MessageRef {
        chat: chat.into(),
        id: "3AF8E0F2".into(),
        from_me,
        participant: participant.map(Into::into),
    };
    let theirs_in_group = key_of(&target("120363000000000001-group", false, Some("5511977776666")));
    assert_eq!(theirs_in_group.remote_jid.as_deref(), Some("120363000000000001@g.us"));
    assert_eq!(theirs_in_group.participant.as_deref(), Some("5511977776666@s.whatsapp.net"));
    assert_eq!(key_of(&target("120363000000000001-group", true, Some("5511977776666"))).participant, None, "ours");
    assert_eq!(key_of(&target("5511977776666", false, Some("5511977776666"))).participant, None, "not a group");
    let direct = key_of(&target("5511977776666", false, None));
    assert_eq!((direct.remote_jid.as_deref(), direct.from_me), (Some("5511977776666@s.whatsapp.net"), Some(false)));
}

#[test]
fn group_metadata_names_members_by_number_and_leaves_out_those_known_only_by_a_private_id() {
    use whatsapp_rust::features::{GroupMetadata, GroupParticipant, MemberAddMode, ParticipantType};
    let member = |jid: Jid, phone: Option<Jid>, t| GroupParticipant {
        jid,
        phone_number: phone,
        lid: None,
        username: None,
        participant_type: t,
        details: None,
    };
    let metadata = GroupMetadata {
        id: Jid::group("120363019502650977"),
        subject: "Shop".into(),
        description: Some("Orders".into()),
        creator: Some(Jid::lid("100000000000001")),
        creator_pn: Some(Jid::pn("5511999990000")),
        creation_time: Some(1_700_000_000),
        subject_owner: Some(Jid::pn("5511988887777")),
        subject_time: Some(1_700_000_100),
        is_announcement: true,
        membership_approval: true,
        member_add_mode: Some(MemberAddMode::AdminAdd),
        parent_group_jid: Some(Jid::group("120363000000000001")),
        participants: vec![
            member(Jid::lid("100000000000001"), Some(Jid::pn("5511999990000")), ParticipantType::SuperAdmin),
            member(Jid::pn("5511988887777"), None, ParticipantType::Admin),
            member(Jid::lid("100000000000003"), None, ParticipantType::Member),
        ],
        ..GroupMetadata::default()
    };
    let expected = GroupInfo {
        id: "120363019502650977-group".into(),
        subject: "Shop".into(),
        description: Some("Orders".into()),
        owner: Some("5511999990000".into()),
        created_s: 1_700_000_000,
        subject_owner: Some("5511988887777".into()),
        subject_s: 1_700_000_100,
        admins_only_send: true,
        admins_only_edit: false,
        approve_joins: true,
        admins_only_add: true,
        community: Some("120363000000000001-group".into()),
        members: vec![
            GroupMember { phone: "5511999990000".into(), admin: true, super_admin: true },
            GroupMember { phone: "5511988887777".into(), admin: true, super_admin: false },
        ],
    };
    assert_eq!(account::group_info(&metadata), expected);
}

#[test]
fn whatsapps_refusals_of_account_queries_name_why() {
    let server = |code, text: &str| whatsapp_rust::IqError::ServerError {
        code,
        text: text.into(),
        error_type: None,
        backoff: None,
    };
    for (error, expected) in [
        (server(404, "item-not-found"), EngineError::NotFound("item-not-found".into())),
        (server(403, "forbidden"), EngineError::Refused("forbidden".into())),
        (server(406, ""), EngineError::Refused("WhatsApp refused (406)".into())),
        (whatsapp_rust::IqError::NotConnected, EngineError::NotLoggedIn),
        (whatsapp_rust::IqError::Timeout, EngineError::Unreachable("IQ request timed out".into())),
        (server(500, "internal"), EngineError::Unreachable(server(500, "internal").to_string())),
    ] {
        assert_eq!(account::iq_error(&error), expected, "{error}");
    }
    assert_eq!(crate::invite_link("AbCdEf"), "https://chat.whatsapp.com/AbCdEf");
    assert_eq!(crate::invite_link("https://chat.whatsapp.com/AbCdEf"), "https://chat.whatsapp.com/AbCdEf");
}

#[tokio::test]
async fn a_polls_secret_is_kept_before_it_is_sent_and_a_resend_carries_the_same_one() {
    const NOW: u64 = 1_800_000_000_000;
    let polls = poll::Polls::new(Arc::new(MemKv::new()));
    let options = vec!["Mon".to_owned(), "Tue".to_owned(), "Wed".to_owned()];
    let first = polls.record_for("3EB0AA", &options, NOW).await.unwrap();
    assert_eq!(first.secret.len(), 32);
    let again = polls.record_for("3EB0AA", &options, NOW + 86_400_000).await.unwrap();
    assert_eq!(again, first, "a resend after a crash, the next day: the same secret");
    let other = polls.record_for("3EB0BB", &options, NOW).await.unwrap();
    assert_ne!(other.secret, first.secret, "each poll its own");

    let single = poll::creation("Which day?", &first, 1).unwrap();
    let v3 = single.poll_creation_message_v3.as_option().expect("one choice: a v3 poll");
    assert_eq!(v3.selectable_options_count, Some(1));
    assert_eq!(single.message_context_info.as_option().unwrap().message_secret.as_deref(), Some(&first.secret[..]));
    let any = poll::creation("Which days?", &first, 3).unwrap();
    let v1 = any.poll_creation_message.as_option().expect("several choices: a v1 poll");
    assert_eq!(v1.selectable_options_count, Some(0), "as many as there are options: any");
    let names: Vec<_> = v1.options.iter().map(|o| o.option_name.clone().unwrap()).collect();
    assert_eq!(names, options);
    let lonely = poll::PollRecord { secret: first.secret.clone(), options: vec!["only".into()], creators: vec![] };
    assert!(matches!(poll::creation("?", &lonely, 1), Err(EngineError::Refused(_))));
}

#[test]
fn a_vote_on_our_poll_is_read_with_its_secret_whichever_way_whatsapp_names_the_voter() {
    use whatsapp_rust::wacore::poll::{compute_option_hash, encrypt_poll_vote_with_secret};
    use whatsapp_rust::waproto::buffa::MessageField;
    let record = poll::PollRecord {
        secret: vec![7; 32],
        options: vec!["Mon".into(), "Tue".into(), "Wed".into()],
        creators: vec![],
    };
    let (creator, voter_lid) = ("5511999990000@s.whatsapp.net", "100000000000009@lid");
    let chosen = [compute_option_hash("Tue").to_vec(), compute_option_hash("Wed").to_vec()];
    // The voter's phone addressed the vote by its LID.
    let (payload, iv) = encrypt_poll_vote_with_secret(&chosen, &record.secret, "3EB0AA", creator, voter_lid).unwrap();
    let update = wa::message::PollUpdateMessage {
        poll_creation_message_key: MessageField::some(wa::MessageKey {
            id: Some("3EB0AA".into()),
            from_me: Some(true),
            ..Default::default()
        }),
        vote: MessageField::some(wa::message::PollEncValue { enc_payload: Some(payload), enc_iv: Some(iv.to_vec()) }),
        ..Default::default()
    };
    let creators = [creator.to_owned()];
    let voters = ["5511988887777@s.whatsapp.net".to_owned(), voter_lid.to_owned()];
    assert_eq!(
        poll::chosen(&record, &update, "3EB0AA", &creators, &voters),
        Some(vec!["Tue".to_owned(), "Wed".to_owned()])
    );
    let stranger = poll::PollRecord { secret: vec![8; 32], ..record.clone() };
    assert_eq!(poll::chosen(&stranger, &update, "3EB0AA", &creators, &voters), None, "another secret reads nothing");
    assert_eq!(poll::chosen(&record, &update, "3EB0BB", &creators, &voters), None, "nor does another poll's id");
}

#[tokio::test]
async fn a_received_polls_secret_is_kept_once_and_never_replaces_one_of_ours() {
    use whatsapp_rust::waproto::buffa::MessageField;
    const NOW: u64 = 1_800_000_000_000;
    let polls = poll::Polls::new(Arc::new(MemKv::new()));
    let question = wa::message::PollCreationMessage {
        name: Some("Lunch?".into()),
        options: ["Yes", "No"]
            .map(|o| wa::message::poll_creation_message::Option { option_name: Some(o.into()), ..Default::default() })
            .to_vec(),
        ..Default::default()
    };
    let context = wa::MessageContextInfo { message_secret: Some(vec![9; 32]), ..Default::default() };
    let message = wa::Message {
        poll_creation_message_v3: MessageField::some(question),
        message_context_info: MessageField::some(context),
        ..Default::default()
    };
    let creator = vec!["5511988887777@s.whatsapp.net".to_owned()];
    let record = poll::received(&message, || creator.clone()).expect("a poll with its secret");
    assert_eq!((record.secret.clone(), record.options.clone()), (vec![9; 32], vec!["Yes".into(), "No".into()]));
    assert_eq!(poll::received(&wa::Message::default(), || creator.clone()), None, "not a poll");

    polls.keep_received("3A0001", &record, NOW).await.unwrap();
    let impostor = poll::PollRecord { secret: vec![1; 32], ..record.clone() };
    polls.keep_received("3A0001", &impostor, NOW + 86_400_000).await.unwrap();
    assert_eq!(polls.known("3A0001", NOW + 86_400_000).unwrap(), Some(record.clone()), "the first poll keeps its id");
    // A received poll reusing the wire id of one of ours never stands for ours.
    let ours = polls.record_for("3EB0AA", &["a".to_owned(), "b".to_owned()], NOW).await.unwrap();
    polls.keep_received("3EB0AA", &record, NOW).await.unwrap();
    assert_eq!(polls.known("3EB0AA", NOW).unwrap(), Some(ours));
    assert_eq!(polls.known("3A0002", NOW).unwrap(), None);
}

#[tokio::test]
async fn poll_records_age_out_after_ninety_days_whole_days_at_a_time_and_undated_ones_are_still_read() {
    const DAY: u64 = 86_400_000;
    let store: Arc<dyn KvStore> = Arc::new(MemKv::new());
    let polls = poll::Polls::new(store.clone());
    let start = 20_000 * DAY + 5;
    let options = ["Yes".to_owned(), "No".to_owned()];
    let ours = polls.record_for("3EB0AA", &options, start).await.unwrap();
    let theirs = poll::PollRecord { secret: vec![9; 32], options: options.to_vec(), creators: vec!["5511@s".into()] };
    polls.keep_received("3A0001", &theirs, start).await.unwrap();
    let last_day = start + u64::from(poll::POLL_DAYS) * DAY;
    assert_eq!(polls.known("3EB0AA", last_day).unwrap(), Some(ours.clone()), "kept through the last day");
    assert_eq!(polls.known("3A0001", last_day).unwrap(), Some(theirs.clone()));
    assert_eq!(polls.known("3EB0AA", last_day + DAY).unwrap(), None, "then aged out");

    // Records kept under the wire id alone, before records were kept by day, are still read.
    let mut undated = chatedge_connector::KvBatch::new();
    undated.put(b"cp/3EB0OLD".to_vec(), serde_json::to_vec(&ours).unwrap());
    undated.put(b"cr/3AOLD".to_vec(), serde_json::to_vec(&theirs).unwrap());
    store.write(undated).await.unwrap();

    // The first write of a later day drops the aged-out days, whole, ours and received alike
    // (each on its own first write of the day).
    let later = last_day + 2 * DAY;
    polls.record_for("3EB0BB", &options, later).await.unwrap();
    polls.keep_received("3A0002", &theirs, later).await.unwrap();
    let rows: Vec<_> = [&b"po/"[..], b"pr/"].iter().flat_map(|p| store.scan_prefix(p, 100).unwrap()).collect();
    assert_eq!(rows.len(), 2, "only the later day's records are left: {rows:?}");
    assert_eq!(polls.known("3EB0OLD", later).unwrap(), Some(ours), "an undated record of ours");
    assert_eq!(polls.known("3AOLD", later).unwrap(), Some(theirs), "an undated record received");
}

#[test]
fn our_vote_on_a_received_poll_is_read_by_its_creator_and_names_only_its_options() {
    let record = poll::PollRecord {
        secret: vec![5; 32],
        options: vec!["Yes".into(), "No".into(), "Maybe".into()],
        creators: vec!["100000000000001@lid".into(), "5511988887777@s.whatsapp.net".into()],
    };
    let key = wa::MessageKey {
        remote_jid: Some("120363019502650977@g.us".into()),
        from_me: Some(false),
        id: Some("3A0001".into()),
        participant: Some("100000000000001@lid".into()),
    };
    let (creator, voter) = ("100000000000001@lid", "100000000000009@lid");
    let chosen = ["Maybe".to_owned(), "Yes".to_owned()];
    let message = poll::vote(&record, key.clone(), creator, voter, &chosen, 1_700_000_000_000).unwrap();
    let update = message.poll_update_message.as_option().expect("a poll update");
    assert_eq!(update.poll_creation_message_key.as_option(), Some(&key));
    // The creator's phone reads it with the same secret, naming us as the voter.
    let read = poll::chosen(&record, update, "3A0001", &[creator.to_owned()], &[voter.to_owned()]);
    assert_eq!(read, Some(vec!["Yes".to_owned(), "Maybe".to_owned()]), "in the poll's order");
    let withdrawn = poll::vote(&record, key.clone(), creator, voter, &[], 1).unwrap();
    let update = withdrawn.poll_update_message.as_option().unwrap();
    assert_eq!(poll::chosen(&record, update, "3A0001", &[creator.to_owned()], &[voter.to_owned()]), Some(vec![]));
    let unknown = poll::vote(&record, key, creator, voter, &["Never".to_owned()], 1);
    assert!(
        matches!(&unknown, Err(EngineError::Refused(m)) if m.contains("\"Never\"") && m.contains("Yes, No, Maybe")),
        "{unknown:?}"
    );
}

#[test]
fn a_photo_becomes_the_centre_square_as_a_jpeg_of_at_most_640_pixels_a_side() {
    use image::{ImageFormat, Rgb, RgbImage};
    // A wide image: red left and right thirds, blue centre: the crop keeps the centre.
    let picture = |width: u32, height: u32, format: ImageFormat| {
        let img = RgbImage::from_fn(width, height, |x, _| match x * 3 / width {
            1 => Rgb([0, 0, 255]),
            _ => Rgb([255, 0, 0]),
        });
        let mut bytes = std::io::Cursor::new(Vec::new());
        img.write_to(&mut bytes, format).unwrap();
        bytes.into_inner()
    };
    for (width, height, format, side) in [
        (1500, 900, ImageFormat::Png, 640),
        (900, 1500, ImageFormat::Jpeg, 640),
        (300, 200, ImageFormat::Png, 200), // smaller than WhatsApp's: cropped, not enlarged
        (640, 640, ImageFormat::WebP, 640),
    ] {
        let jpeg = picture::encode(&picture(width, height, format)).unwrap();
        let back = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).expect("a JPEG").to_rgb8();
        assert_eq!(back.dimensions(), (side, side), "{width}x{height} {format:?}");
        let centre = back.get_pixel(side / 2, side / 2);
        if width > height {
            assert!(centre[2] > 200 && centre[0] < 60, "the centre of a wide image is kept: {centre:?}");
        }
    }
    for junk in [&b"not an image"[..], &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0][..], &[][..]] {
        let refused = picture::encode(junk);
        assert!(matches!(&refused, Err(EngineError::Refused(m)) if m.contains("not a readable image")), "{refused:?}");
    }
}

#[test]
fn a_phone_photo_stored_sideways_is_turned_upright_by_its_exif_orientation_before_the_crop() {
    use image::codecs::jpeg::JpegEncoder;
    use image::{ExtendedColorType, ImageEncoder as _, ImageFormat};
    // 96×64 stored in three vertical bands (red, blue, red), shown turned 90° clockwise
    // (orientation 6): upright it is 64×96 in three horizontal bands, so its centre square has
    // blue across the middle and red at the top and bottom (unturned, the bands would stand).
    let rgb: Vec<u8> = (0..96 * 64).flat_map(|i| if (i % 96) / 32 == 1 { [0, 0, 255] } else { [255, 0, 0] }).collect();
    let exif = [&b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0"[..], &[0; 4]].concat();
    let mut jpeg = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, 95);
    encoder.set_exif_metadata(exif).unwrap();
    encoder.write_image(&rgb, 96, 64, ExtendedColorType::Rgb8).unwrap();
    let photo = picture::encode(&jpeg).unwrap();
    let back = image::load_from_memory_with_format(&photo, ImageFormat::Jpeg).expect("a JPEG").to_rgb8();
    assert_eq!(back.dimensions(), (64, 64), "the square of the upright 64×96");
    let left = back.get_pixel(4, 32);
    assert!(left[2] > 200 && left[0] < 60, "the blue band runs across the square: {left:?}");
    let top = back.get_pixel(32, 4);
    assert!(top[0] > 200 && top[2] < 60, "red above it: {top:?}");
}

#[test]
fn a_transparent_logo_becomes_a_photo_on_white_not_on_black() {
    use image::{ImageFormat, Rgba, RgbaImage};
    // A 200×200 logo: a half-transparent red disc on a fully transparent ground whose hidden
    // colour is black (what most editors store under alpha 0).
    let logo = RgbaImage::from_fn(200, 200, |x, y| {
        let (dx, dy) = (x as i32 - 100, y as i32 - 100);
        match dx * dx + dy * dy < 50 * 50 {
            true => Rgba([255, 0, 0, 128]),
            false => Rgba([0, 0, 0, 0]),
        }
    });
    for format in [ImageFormat::Png, ImageFormat::WebP] {
        let mut bytes = std::io::Cursor::new(Vec::new());
        logo.write_to(&mut bytes, format).unwrap();
        let photo = picture::encode(bytes.get_ref()).unwrap();
        let back = image::load_from_memory_with_format(&photo, ImageFormat::Jpeg).expect("a JPEG").to_rgb8();
        let corner = back.get_pixel(5, 5);
        assert!(corner.0.iter().all(|c| *c > 240), "{format:?}: the transparent ground is white: {corner:?}");
        let centre = back.get_pixel(100, 100);
        assert!(
            centre[0] > 240 && (110..150).contains(&centre[1]),
            "{format:?}: half red over white is pink: {centre:?}"
        );
    }
    // A 1280×1280 opaque white disc on the same ground, scaled to 640: laid on white before the
    // scaling, its edge does not blend with the hidden black into a grey ring.
    let disc = RgbaImage::from_fn(1280, 1280, |x, y| {
        let (dx, dy) = (x as i32 - 640, y as i32 - 640);
        match dx * dx + dy * dy < 400 * 400 {
            true => Rgba([255, 255, 255, 255]),
            false => Rgba([0, 0, 0, 0]),
        }
    });
    let mut bytes = std::io::Cursor::new(Vec::new());
    disc.write_to(&mut bytes, ImageFormat::Png).unwrap();
    let photo = picture::encode(bytes.get_ref()).unwrap();
    let back = image::load_from_memory_with_format(&photo, ImageFormat::Jpeg).expect("a JPEG").to_rgb8();
    assert_eq!(back.dimensions(), (640, 640));
    let darkest = back.pixels().flat_map(|p| p.0).min().unwrap();
    assert!(darkest > 240, "all white, the disc's edge too: the darkest channel is {darkest}");
}

#[tokio::test]
async fn messages_are_kept_for_forwarding_for_thirty_days_and_an_aged_out_day_is_dropped_whole() {
    const DAY: u64 = 86_400_000;
    let store: Arc<dyn KvStore> = Arc::new(MemKv::new());
    let kept = kept::Kept::new(store.clone());
    let start = 20_000 * DAY + 5;
    let text = wa::Message { conversation: Some("our menu".into()), ..Default::default() };
    let location = wa::Message {
        location_message: whatsapp_rust::waproto::buffa::MessageField::some(wa::message::LocationMessage {
            degrees_latitude: Some(-23.5),
            ..Default::default()
        }),
        ..Default::default()
    };
    kept.keep(&[("3EB0AA", &text), ("3A0001", &location)], start).await.unwrap();
    assert_eq!(kept.find("3EB0AA", start).unwrap(), Some(text.clone()));
    assert_eq!(kept.find("3A0001", start + 3 * DAY).unwrap(), Some(location));
    assert_eq!(kept.find("3EB0AA", start + u64::from(kept::KEPT_DAYS) * DAY).unwrap(), Some(text.clone()));
    assert_eq!(kept.find("3EB0AA", start + u64::from(kept::KEPT_DAYS + 1) * DAY).unwrap(), None, "aged out");
    assert_eq!(kept.find("3EB0ZZ", start).unwrap(), None);

    // The first write of a later day drops the days that aged out, whole.
    let later = start + u64::from(kept::KEPT_DAYS + 2) * DAY;
    kept.keep(&[("3EB0BB", &text)], later).await.unwrap();
    let rows = store.scan_prefix(b"cm/", 100).unwrap();
    assert_eq!(rows.len(), 1, "only the later day's message is left: {rows:?}");

    // A kept message forwarded: its body again, marked forwarded.
    let target = MessageRef { chat: "5511988887777".into(), id: "3EB0BB".into(), from_me: true, participant: None };
    let forward = forwarded(&kept, &target, later).unwrap();
    let ext = forward.extended_text_message.as_option().expect("a plain text is promoted to carry the mark");
    assert_eq!(ext.text.as_deref(), Some("our menu"));
    assert_eq!(ext.context_info.as_option().and_then(|c| c.is_forwarded), Some(true));
    let unknown = MessageRef { id: "3EB0CC".into(), ..target };
    assert!(matches!(forwarded(&kept, &unknown, later), Err(EngineError::Refused(m)) if m.contains("not kept here")));
}

#[test]
fn every_chat_form_chatedge_accepts_becomes_its_jid() {
    for (phone, expected) in [
        ("5511988887777", "5511988887777@s.whatsapp.net"),
        ("120363019502650977-group", "120363019502650977@g.us"),
        ("5511999999999-1623281429", "5511999999999-1623281429@g.us"),
        ("81896604192873@lid", "81896604192873@lid"),
        ("120363166555745933@newsletter", "120363166555745933@newsletter"),
    ] {
        assert_eq!(jid_of(phone).to_string(), expected, "{phone}");
    }
}

/// A store whose writes take a moment, as RocksDB's fsync does: concurrent keeps overlap.
#[derive(Default)]
pub struct SlowKv(MemKv);

impl KvStore for SlowKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, chatedge_connector::KvError> {
        self.0.get(key)
    }

    fn scan_prefix(
        &self,
        prefix: &[u8],
        limit: usize,
    ) -> Result<chatedge_connector::Rows, chatedge_connector::KvError> {
        self.0.scan_prefix(prefix, limit)
    }

    fn write(&self, batch: chatedge_connector::KvBatch) -> chatedge_connector::WriteFuture<'_> {
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(2)).await;
            self.0.write(batch).await
        })
    }
}

#[test]
fn a_replys_quote_names_the_author_the_other_chat_and_the_body_when_kept() {
    let me = Jid::pn("5511999990000");
    let body = wa::Message { conversation: Some("our offer".into()), ..Default::default() };
    let quoted = |chat: &str, from_me, participant: Option<&str>| MessageRef {
        chat: chat.into(),
        id: "3EB0AA".into(),
        from_me,
        participant: participant.map(str::to_owned),
    };
    let group = "120363000000000001-group";
    // (what, quoted, sent to, kept body?, author, other chat, quotes the body)
    let cases = [
        (
            "ours, kept",
            quoted("5511988887777", true, None),
            "5511988887777",
            true,
            "5511999990000@s.whatsapp.net",
            None,
            true,
        ),
        (
            "theirs, not kept",
            quoted("5511988887777", false, None),
            "5511988887777",
            false,
            "5511988887777@s.whatsapp.net",
            None,
            false,
        ),
        (
            "a member's in a group",
            quoted(group, false, Some("5511977776666")),
            group,
            true,
            "5511977776666@s.whatsapp.net",
            None,
            true,
        ),
        (
            "a status, answered in its author's chat",
            quoted("status@broadcast", false, Some("5511977776666")),
            "5511977776666",
            false,
            "5511977776666@s.whatsapp.net",
            Some("status@broadcast"),
            false,
        ),
    ];
    for (what, q, to, kept, author, other_chat, with_body) in cases {
        let context = quote_context(&q, Some(me.clone()), to, kept.then_some(&body)).expect(what);
        assert_eq!(context.stanza_id.as_deref(), Some("3EB0AA"), "{what}");
        assert_eq!(context.participant.as_deref(), Some(author), "{what}");
        assert_eq!(context.remote_jid.as_deref(), other_chat, "{what}");
        let quoted_text = context.quoted_message.as_option().and_then(|m| m.conversation.clone());
        assert_eq!(quoted_text.is_some(), with_body, "{what}");
    }
    assert_eq!(
        quote_context(&quoted("5511988887777", true, None), None, "5511988887777", None),
        None,
        "no own number yet"
    );
}

#[test]
fn mentions_name_members_by_their_number_and_community_groups_by_jid_and_subject() {
    let context = MessageContext {
        mentioned: vec!["5511988887777".into()],
        groups_mentioned: vec![("120363000000000002-group".into(), "Vendas".into())],
        ..Default::default()
    };
    let mut info = wa::ContextInfo::default();
    mention(&mut info, &context);
    assert_eq!(info.mentioned_jid, ["5511988887777@s.whatsapp.net"]);
    let groups: Vec<_> = info.group_mentions.iter().map(|g| (g.group_jid.clone(), g.group_subject.clone())).collect();
    assert_eq!(groups, [(Some("120363000000000002@g.us".to_owned()), Some("Vendas".to_owned()))]);
}

#[test]
fn a_channel_the_directory_lists_is_read_from_whatsapps_graphql_answer() {
    let result = serde_json::json!({
        "id": "120363299999999999@newsletter",
        "thread_metadata": {
            "name": {"text": "News"},
            "description": {"text": ""},
            "picture": {"direct_path": "/v/t61.24694-24/news.jpg"},
            "creation_time": "1700000000",
            "invite": "0029VaNews",
            "subscribers_count": "1200",
        },
    });
    let found = super::channels::found_channel(&result).expect("a channel");
    assert_eq!(
        (found.id.as_str(), found.name.as_str(), found.description),
        ("120363299999999999@newsletter", "News", None)
    );
    assert_eq!(found.picture.as_deref(), Some("https://mmg.whatsapp.net/v/t61.24694-24/news.jpg"));
    assert_eq!((found.created_s, found.followers, found.role), (1_700_000_000, 1_200, ChannelRole::Guest));
    assert_eq!(found.invite_code.as_deref(), Some("0029VaNews"));
    assert!(super::channels::found_channel(&serde_json::json!({"thread_metadata": {}})).is_none(), "no id");
}

#[test]
fn a_business_profile_change_writes_only_the_fields_it_names_as_whatsapps_clients_do() {
    use super::business::ProfileEdit;
    use crate::engine::{Opening, OpeningHours, ProfileChange};
    let attr = |n: &whatsapp_rust::wacore_binary::Node, k: &str| n.attrs().optional_string(k).map(|v| v.into_owned());
    let text = |n: &whatsapp_rust::wacore_binary::Node| match &n.content {
        Some(whatsapp_rust::wacore_binary::NodeContent::String(s)) => Some(s.to_string()),
        _ => None,
    };
    let hours = ProfileEdit(ProfileChange::Hours {
        timezone: "America/Sao_Paulo".into(),
        days: vec![
            Opening { day: "mon", hours: OpeningHours::Between { open: 540, close: 1080 } },
            Opening { day: "sat", hours: OpeningHours::ByAppointment },
        ],
    })
    .fields();
    assert_eq!(hours.len(), 1);
    assert_eq!(
        (hours[0].tag.as_ref(), attr(&hours[0], "timezone").as_deref()),
        ("business_hours", Some("America/Sao_Paulo"))
    );
    let configs: Vec<_> = hours[0]
        .children()
        .unwrap_or_default()
        .iter()
        .map(|c| (attr(c, "day_of_week"), attr(c, "mode"), attr(c, "open_time"), attr(c, "close_time")))
        .collect();
    let s = |v: &str| Some(v.to_owned());
    assert_eq!(
        configs,
        [(s("mon"), s("specific_hours"), s("540"), s("1080")), (s("sat"), s("appointment_only"), None, None)]
    );
    let sites =
        ProfileEdit(ProfileChange::Websites(vec!["https://a.example".into(), "https://b.example".into()])).fields();
    assert_eq!(sites.iter().map(text).collect::<Vec<_>>(), [s("https://a.example"), s("https://b.example")]);
    let cleared = ProfileEdit(ProfileChange::Websites(vec![])).fields();
    assert_eq!(
        (cleared.len(), cleared[0].tag.as_ref(), text(&cleared[0])),
        (1, "website", None),
        "an empty one clears"
    );
    let categories = ProfileEdit(ProfileChange::Categories(vec!["273819889462351".into()])).fields();
    let ids: Vec<_> = categories[0].children().unwrap_or_default().iter().map(|c| attr(c, "id")).collect();
    assert_eq!((categories[0].tag.as_ref(), ids), ("categories", vec![s("273819889462351")]));
    let email = ProfileEdit(ProfileChange::Email("loja@example.com".into())).fields();
    assert_eq!((email[0].tag.as_ref(), text(&email[0])), ("email", s("loja@example.com")));
}

#[test]
fn a_business_profile_whatsapp_answers_reads_as_the_connectors_business_info() {
    use whatsapp_rust::wacore::iq::business::BusinessProfileSpec;
    use whatsapp_rust::wacore::iq::spec::IqSpec;
    use whatsapp_rust::NodeBuilder;

    use crate::engine::{BusinessInfo, Opening, OpeningHours};
    let jid: Jid = "5544988887777@s.whatsapp.net".parse().unwrap();
    let text = |tag: &'static str, v: &str| NodeBuilder::new(tag).string_content(v).build();
    let config = |day: &'static str, mode: &'static str, times: Option<(&'static str, &'static str)>| {
        let c = NodeBuilder::new("business_hours_config").attr("day_of_week", day).attr("mode", mode);
        match times {
            Some((open, close)) => c.attr("open_time", open).attr("close_time", close).build(),
            None => c.build(),
        }
    };
    let profile = NodeBuilder::new("profile")
        .attr("jid", &jid)
        .children([
            text("description", "Padaria do bairro"),
            text("address", "Rua A, 1"),
            text("email", "pao@example.com"),
            text("website", "https://padaria.example"),
            NodeBuilder::new("categories")
                .children([NodeBuilder::new("category")
                    .attr("id", "273819889462351")
                    .string_content("Restaurant")
                    .build()])
                .build(),
            NodeBuilder::new("business_hours")
                .attr("timezone", "America/Sao_Paulo")
                .children([
                    config("mon", "specific_hours", Some(("360", "1200"))),
                    config("sat", "appointment_only", None),
                    config("sun", "open_24h", None),
                    config("xyz", "open_24h", None),
                    config("tue", "specific_hours", None),
                ])
                .build(),
        ])
        .build();
    let answer =
        NodeBuilder::new("iq").children([NodeBuilder::new("business_profile").children([profile]).build()]).build();
    let parsed = BusinessProfileSpec::new(&jid).parse_response(&answer.as_node_ref()).unwrap().expect("a business");
    assert_eq!(
        super::business::business_info(parsed),
        BusinessInfo {
            description: "Padaria do bairro".into(),
            address: "Rua A, 1".into(),
            email: "pao@example.com".into(),
            websites: vec!["https://padaria.example".into()],
            categories: vec![("273819889462351".into(), "Restaurant".into())],
            timezone: Some("America/Sao_Paulo".into()),
            hours: vec![
                Opening { day: "mon", hours: OpeningHours::Between { open: 360, close: 1200 } },
                Opening { day: "sat", hours: OpeningHours::ByAppointment },
                Opening { day: "sun", hours: OpeningHours::AllDay },
            ],
        },
        "a day this version does not name, and specific hours without times, are left out"
    );
    let none = NodeBuilder::new("iq").build();
    assert!(BusinessProfileSpec::new(&jid).parse_response(&none.as_node_ref()).unwrap().is_none(), "not a business");
}
