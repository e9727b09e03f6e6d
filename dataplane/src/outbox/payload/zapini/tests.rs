use chatedge_config::{InstanceId, MessageId, Phone};
use serde_json::{json, Value};

use super::*;
use crate::network::incoming::{Reaction, ReceivedImage, ReferencedMessage};
use crate::network::{IncomingMessage, MessageStatus};
use crate::queue::OutboundMessage;

fn phone(p: &str) -> Phone {
    Phone::parse(p).unwrap()
}

fn incoming(from: &str, participant: Option<&str>, content: IncomingContent) -> IncomingMessage {
    let mut m = IncomingMessage::text(phone(from), String::new());
    m.id = "3EB0ABC123456789".into();
    m.participant = participant.map(phone);
    m.sender_name = Some("John Doe".into());
    m.at_ms = 1_736_937_000_000; // 2025-01-15T10:30:00Z
    m.content = content;
    m
}

fn text(t: &str) -> IncomingContent {
    match IncomingMessage::text(phone("5511999999999"), t.into()).content {
        c @ IncomingContent::Text(_) => c,
        _ => unreachable!(),
    }
}

/// Seed 002's envelope: the event's name, the instance as a UUID, the time to the second.
fn envelope(v: &Value, event: &str, instance: &InstanceId) -> Value {
    assert_eq!(v["event"], event, "{v}");
    assert_eq!(v["instance_uuid"], chatedge_config::snapshot::instance_uuid(instance));
    assert!(v["timestamp"].as_str().is_some_and(|t| t.len() == 25 && t.ends_with("+00:00")), "{v}");
    v["data"].clone()
}

#[test]
fn each_core_fact_becomes_the_seeds_event_with_its_fields() {
    let i = InstanceId::random();
    let m = incoming("5511999999999", None, text("Hello, I need help!"));
    let d = envelope(&received(&i, &m, None), "message.received", &i);
    assert_eq!(d["whatsapp_message_id"], "3EB0ABC123456789");
    assert_eq!(d["message_id"], message_uuid(&i, "3EB0ABC123456789"));
    assert_eq!((&d["sender_number"], &d["sender_name"]), (&json!("5511999999999"), &json!("John Doe")));
    assert_eq!(
        (&d["content"], &d["media_type"], &d["media_url"]),
        (&json!("Hello, I need help!"), &Value::Null, &Value::Null)
    );
    assert_eq!(d["timestamp"], "2025-01-15T10:30:00+00:00");
    assert_eq!(
        (&d["chat_id"], &d["is_group"], &d["participant"]),
        (&json!("5511999999999@s.whatsapp.net"), &json!(false), &Value::Null)
    );

    let out = OutboundMessage::new(i, phone("5511888888888"), Content::text("Thanks for contacting us!"));
    let d = envelope(&sent(&i, &out, 1_736_937_060_000), "message.sent", &i);
    assert_eq!(d["whatsapp_message_id"], out.message_id.to_string());
    assert_eq!((&d["recipient_number"], &d["content"]), (&json!("5511888888888"), &json!("Thanks for contacting us!")));

    let table = [
        (MessageStatus::Sent, Some(("pending", "sent"))),
        (MessageStatus::Received, Some(("sent", "delivered"))),
        (MessageStatus::Read, Some(("delivered", "read"))),
        (MessageStatus::Played, Some(("read", "played"))),
        (MessageStatus::ReadByMe, None),
    ];
    let id = MessageId::random();
    for (s, expected) in table {
        let v = status(&i, &phone("5511888888888"), &id, s, 1_736_937_120_000);
        match (v, expected) {
            (Some(v), Some((previous, new))) => {
                let d = envelope(&v, "message.status", &i);
                assert_eq!((&d["previous_status"], &d["new_status"]), (&json!(previous), &json!(new)), "{s:?}");
                assert_eq!(d["message_id"], message_uuid(&i, &id.to_string()), "the id message.sent gave");
            }
            (None, None) => {}
            (v, e) => panic!("{s:?}: {v:?} vs {e:?}"),
        }
    }

    let d = envelope(&connected(&i, &phone("5511999999999"), "qr_ready", 0), "instance.connected", &i);
    assert_eq!(d, json!({"previous_status": "qr_ready", "new_status": "connected", "phone_number": "5511999999999"}));
    let d = envelope(&disconnected(&i, "Logged out", true, 0), "instance.disconnected", &i);
    assert_eq!((&d["previous_status"], &d["new_status"]), (&json!("connected"), &json!("disconnected")));
    let d = envelope(&qr(&i, "2@ABC123", 0), "instance.qr", &i);
    assert_eq!(d["qr"], "2@ABC123");
    assert!(d["qr_image"].as_str().is_some_and(|u| u.starts_with("data:image/png;base64,")), "{d}");
}

#[test]
fn group_messages_name_the_group_and_the_member_and_reactions_their_message() {
    let i = InstanceId::random();
    let image = ReceivedImage { caption: "foto".into(), ..Default::default() };
    let m = incoming("120363019502650977-group", Some("5511888888888"), IncomingContent::Image(image));
    let d = received(&i, &m, Some("https://media.example/x.png"))["data"].clone();
    assert_eq!((&d["chat_id"], &d["is_group"]), (&json!("120363019502650977@g.us"), &json!(true)));
    assert_eq!(
        (&d["sender_number"], &d["participant"]),
        (&json!("5511888888888"), &json!("5511888888888@s.whatsapp.net"))
    );
    assert_eq!((&d["content"], &d["media_type"], &d["type"]), (&json!("foto"), &json!("image"), &json!("image")));
    assert_eq!(d["media_url"], "https://media.example/x.png");

    let r = Reaction {
        value: "👍".into(),
        time: 0,
        reaction_by: "5511888888888".into(),
        referenced_message: ReferencedMessage {
            message_id: "3EB0DEF987654321".into(),
            from_me: true,
            phone: "5511999999999".into(),
            participant: None,
        },
    };
    let m = incoming("5511888888888", None, IncomingContent::Reaction(r));
    let d = envelope(&reaction(&i, &m).unwrap(), "message.reaction", &i);
    assert_eq!((&d["emoji"], &d["reacted_message_id"]), (&json!("👍"), &json!("3EB0DEF987654321")));
    assert_eq!(reaction(&i, &incoming("5511888888888", None, text("hi"))), None, "only reactions");
}

#[test]
fn message_uuids_are_stable_version_8_uuids_per_instance_and_message() {
    let i = InstanceId::random();
    let u = message_uuid(&i, "3EB0ABC123456789");
    assert_eq!(u, message_uuid(&i, "3EB0ABC123456789"));
    assert_ne!(u, message_uuid(&InstanceId::random(), "3EB0ABC123456789"));
    let parts: Vec<&str> = u.split('-').collect();
    assert_eq!(parts.iter().map(|p| p.len()).collect::<Vec<_>>(), [8, 4, 4, 4, 12]);
    assert!(parts[2].starts_with('8') && matches!(&parts[3][..1], "8" | "9" | "a" | "b"), "{u}");
}

#[test]
fn bodies_survive_a_json_parse_and_stringify_round_trip_byte_for_byte() {
    // What seed 002's Node check signs is `JSON.stringify(JSON.parse(body))`: that equals the
    // body when no key is integer-like, every number is a safe integer, and strings are
    // escaped as serde writes them (control characters, quotes, non-ASCII kept).
    let i = InstanceId::random();
    let tricky = "aspas \" barra \\ nova\nlinha \u{1} emoji 😀 \u{2028} é";
    let bodies = [
        received(&i, &incoming("5511999999999", None, text(tricky)), None),
        sent(&i, &OutboundMessage::new(i, phone("5511888888888"), Content::text(tricky)), 1),
        qr(&i, "2@x", 1),
    ];
    for body in bodies {
        let bytes = serde_json::to_vec(&body).unwrap();
        check_js_safe(&body);
        let again = serde_json::to_vec(&serde_json::from_slice::<Value>(&bytes).unwrap()).unwrap();
        assert_eq!(again, bytes);
    }
}

fn check_js_safe(v: &Value) {
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                assert!(k.parse::<u64>().is_err(), "integer-like key {k}");
                check_js_safe(v);
            }
        }
        Value::Array(a) => a.iter().for_each(check_js_safe),
        Value::Number(n) => assert!(n.as_u64().is_some_and(|n| n < 1 << 53), "{n} is not a safe integer"),
        _ => {}
    }
}
