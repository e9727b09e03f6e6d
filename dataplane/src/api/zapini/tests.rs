use bytes::Bytes;
use serde_json::{json, Value};

use super::{fields, not_served, render, ZapiniError};
use crate::media::MediaKind;

#[test]
fn the_openapi_document_lists_exactly_the_routes_served() {
    crate::api::openapi::assert_documents_exactly(super::OPENAPI, super::documented());
}

#[test]
fn routes_are_found_under_both_bases_with_their_id() {
    let (r, p) = super::find(&["instances", "01234567-89ab-cdef-0123-456789abcdef", "qr"]).unwrap();
    assert_eq!((r.label, p.id.as_deref()), ("zapini.instance-qr", Some("01234567-89ab-cdef-0123-456789abcdef")));
    let (r, p) = super::find(&["instances", "i", "groups", "120363001234567890@g.us", "admins"]).unwrap();
    assert_eq!(
        (r.label, p.id.as_deref(), p.jid.as_deref()),
        ("zapini.group-admins", Some("i"), Some("120363001234567890@g.us"))
    );
    assert_eq!(super::find(&["send-message"]).map(|(r, _)| r.label), Some("zapini.send-message"));
    assert!(super::find(&["instances", "", "qr"]).is_none(), "an empty id is no id");
    assert!(super::find(&["send-message", "x"]).is_none());
}

fn body(v: Value) -> Bytes {
    Bytes::from(v.to_string())
}

#[test]
fn recipients_are_read_as_the_seed_writes_them_under_each_alias() {
    for (field, written, core) in [
        ("recipient", "5511999999999", "5511999999999"),
        ("recipient", "+55 (11) 99999-9999", "5511999999999"),
        ("number", "5511999999999@s.whatsapp.net", "5511999999999"),
        ("to", "120363001234567890@g.us", "120363001234567890-group"),
    ] {
        let s = fields::send_message(&body(json!({field: written, "message": "Olá"}))).unwrap();
        assert_eq!(s.recipient.as_str(), core, "{field}: {written}");
        assert_eq!(s.instance_id, None);
    }
    let s = fields::send_message(&body(json!({"to": "5511999999999", "message": "x", "quoted_message_id": "3EB0"})))
        .unwrap();
    assert_eq!(s.reply_to.as_deref(), Some("3EB0"));
    let s = fields::send_message(&body(json!({"to": "5511999999999", "message": "x", "reply_to": "3EB1"}))).unwrap();
    assert_eq!(s.reply_to.as_deref(), Some("3EB1"));
    assert_eq!(fields::jid(&s.recipient), "5511999999999@s.whatsapp.net");
    for (written, core) in [
        ("120363001234567890@g.us", "120363001234567890-group"),
        ("5511999999999-1623281429@g.us", "5511999999999-1623281429"),
    ] {
        let group = fields::phone("to", written).unwrap();
        assert_eq!(group.as_str(), core);
        assert_eq!(fields::jid(&group), written, "written back as given");
    }
    let o = |v: Value| v.as_object().unwrap().clone();
    let p = fields::participants(&o(json!({"participants": ["5511987654321", "+55 11 97654-3210"]}))).unwrap();
    assert_eq!(p.iter().map(|p| p.as_str()).collect::<Vec<_>>(), ["5511987654321", "5511976543210"]);
    for bad in [
        json!({}),
        json!({"participants": []}),
        json!({"participants": "5511987654321"}),
        json!({"participants": ["120363001234567890@g.us"]}),
    ] {
        assert!(
            matches!(fields::participants(&o(bad.clone())), Err(ZapiniError::Invalid { field: "participants", .. })),
            "{bad}"
        );
    }
}

#[test]
fn media_is_read_by_url_with_its_kind_and_a_documents_extension() {
    let s = fields::send_media(&body(json!({
        "recipient": "5511999999999", "media_url": "https://example.com/image.jpg", "media_type": "image",
        "caption": "Confira esta imagem!"
    })))
    .unwrap();
    assert_eq!(
        (s.kind, s.url.as_str(), s.caption.as_deref()),
        (MediaKind::Image, "https://example.com/image.jpg", Some("Confira esta imagem!"))
    );
    assert_eq!(s.extension, None);
    let s = fields::send_media(&body(json!({
        "number": "+5511999999999", "url": "https://example.com/report?x=1", "type": "document",
        "filename": "Monthly_Report.PDF"
    })))
    .unwrap();
    assert_eq!(
        (s.kind, s.extension.as_deref(), s.file_name.as_deref()),
        (MediaKind::Document, Some("pdf"), Some("Monthly_Report.PDF"))
    );
    let s = fields::send_media(&body(json!({
        "to": "5511999999999", "url": "https://example.com/files/contract.docx?sig=1", "type": "document"
    })))
    .unwrap();
    assert_eq!(s.extension.as_deref(), Some("docx"), "from the URL's path");
}

#[test]
fn every_invalid_field_is_refused_naming_it() {
    let long = "x".repeat(65_537);
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"message": "hi"}), "recipient", "the recipient field is required"),
        (json!({"recipient": "5511999999999"}), "message", "the message field is required"),
        (json!({"recipient": "5511999999999", "message": " "}), "message", "must not be empty"),
        (json!({"recipient": "5511999999999", "message": long}), "message", "must not be longer than 65536"),
        (json!({"recipient": "zapini", "message": "hi"}), "recipient", "must be a WhatsApp number"),
        (json!({"number": 5511999999999u64, "message": "hi"}), "number", "must be a string"),
        (json!({"to": "5511999999999", "message": "hi", "reply_to": 7}), "reply_to", "must be a string"),
        (json!({"to": "5511999999999", "message": "hi", "instance_id": ""}), "instance_id", "must not be empty"),
        (json!(["not", "an", "object"]), "body", "must be a JSON object"),
    ];
    for (b, field, says) in cases {
        match fields::send_message(&body(b.clone())) {
            Err(e @ ZapiniError::Invalid { .. }) => {
                assert!(matches!(&e, ZapiniError::Invalid { field: f, .. } if *f == field), "{b}: {e:?}");
                assert!(e.to_string().contains(says), "{b}: {e}");
            }
            other => panic!("{b}: expected a refusal naming {field}, got {other:?}"),
        }
    }
    let media: Vec<(Value, &str)> = vec![
        (json!({"recipient": "5511999999999", "media_type": "image"}), "media_url"),
        (json!({"recipient": "5511999999999", "media_url": "https://x.test/a.png"}), "media_type"),
        (json!({"recipient": "5511999999999", "media_url": "ftp://x.test/a.png", "media_type": "image"}), "media_url"),
        (json!({"recipient": "5511999999999", "url": "not a url", "type": "image"}), "url"),
        (json!({"recipient": "5511999999999", "url": "https://x.test/a", "type": "sticker"}), "type"),
        (json!({"recipient": "5511999999999", "url": "https://x.test/a", "type": "document"}), "filename"),
        (json!({"media_url": "https://x.test/a.png", "media_type": "image"}), "recipient"),
    ];
    for (b, field) in media {
        match fields::send_media(&body(b.clone())) {
            Err(ZapiniError::Invalid { field: f, .. }) => assert_eq!(f, field, "{b}"),
            other => panic!("{b}: expected a refusal naming {field}, got {other:?}"),
        }
    }
    let reactions: Vec<(Value, &str)> = vec![
        (json!({"messageId": "3EB0", "emoji": "👍"}), "to"),
        (json!({"to": "5511999999999@s.whatsapp.net", "emoji": "👍"}), "messageId"),
        (json!({"to": "5511999999999@s.whatsapp.net", "messageId": "3EB0"}), "emoji"),
        (json!({"to": "5511999999999@s.whatsapp.net", "messageId": "3EB0", "emoji": "ok"}), "emoji"),
    ];
    for (b, field) in reactions {
        match fields::send_reaction(&body(b.clone())) {
            Err(ZapiniError::Invalid { field: f, .. }) => assert_eq!(f, field, "{b}"),
            other => panic!("{b}: expected a refusal naming {field}, got {other:?}"),
        }
    }
    let ok =
        fields::send_reaction(&body(json!({"to": "5511999999999@s.whatsapp.net", "messageId": "3EB0", "emoji": "❤️"})));
    assert_eq!(ok.unwrap().emoji, "❤️");
}

#[test]
fn every_refusal_has_the_seeds_shape_and_code() {
    use crate::error::CoreError;
    let cases = [
        (ZapiniError::Unauthorized, 401, "UNAUTHORIZED"),
        (ZapiniError::InstanceNotFound, 404, "INSTANCE_NOT_FOUND"),
        (ZapiniError::invalid("message", "the message field is required"), 422, "VALIDATION_ERROR"),
        (ZapiniError::invalid("body", "the body is not JSON"), 400, "BAD_REQUEST"),
        (ZapiniError::NotServed { feature: "kanban boards" }, 501, "NOT_SERVED"),
        (ZapiniError::Refused(crate::auth::Refusal::PaymentOverdue), 402, "PAYMENT_REQUIRED"),
        (ZapiniError::Refused(crate::auth::Refusal::Ip("10.0.0.1".parse().unwrap())), 403, "FORBIDDEN"),
        (ZapiniError::IdempotencyConflict, 422, "IDEMPOTENCY_CONFLICT"),
        (ZapiniError::Core(CoreError::QueueFull { limit: 5, connected: true }), 429, "QUEUE_FULL"),
        (ZapiniError::Core(CoreError::AlreadyConnected), 409, "ALREADY_CONNECTED"),
        (ZapiniError::Core(CoreError::StoreBusy), 503, "SERVICE_UNAVAILABLE"),
        (ZapiniError::MethodNotAllowed { allowed: "POST" }, 405, "METHOD_NOT_ALLOWED"),
    ];
    for (e, status, code) in cases {
        let message = e.to_string();
        assert_eq!(e.code(), code, "{message}");
        let res = e.into_response();
        assert_eq!(res.status().as_u16(), status, "{message}");
        assert!(!message.is_empty());
    }
}

#[test]
fn the_product_layer_is_named_and_other_paths_are_unknown() {
    for (path, feature) in [
        (&["conversations"][..], "conversations"),
        (&["conversations", "c1", "automation", "pause"][..], "conversation automation"),
        (&["conversations", "automation", "bulk-pause"][..], "conversation automation"),
        (&["tags", "t1"][..], "tags"),
        (&["chat", "send"][..], "the chat API's conversation views"),
        (&["chat", "messages", "m1", "transcription"][..], "transcription"),
        (&["voice", "numbers"][..], "voice and IVR"),
        (&["kanban", "boards"][..], "kanban boards"),
        (&["calendar", "events"][..], "calendar"),
        (&["ai-functions"][..], "AI functions"),
        (&["external-functions", "f1"][..], "external functions"),
        (&["auth", "login"][..], "login and users (they come with a web console)"),
    ] {
        assert_eq!(not_served::feature(path), Some(feature), "{path:?}");
    }
    for path in [&["send-text"][..], &["instances", "x", "nothing"][..], &[""][..]] {
        assert_eq!(not_served::feature(path), None, "{path:?}");
    }
}

#[test]
fn core_states_are_named_as_the_seed_names_them() {
    use crate::network::MessageStatus;
    let mut i = chatedge_config::InstanceConfig::new_trial(
        chatedge_config::TenantId::generate(),
        chatedge_config::TokenHash::of(b"t"),
        "i".into(),
        0,
        1,
    );
    for (link, status) in [
        ("connected", "connected"),
        ("qr_ready", "qr_ready"),
        ("connecting", "pending"),
        ("disconnected", "disconnected"),
    ] {
        assert_eq!(render::instance_status(&i, link), status);
    }
    i.active = false;
    assert_eq!(render::instance_status(&i, "connected"), "offline");
    assert_eq!(render::message_status(None), "pending");
    for (s, name) in [
        (MessageStatus::Sent, "sent"),
        (MessageStatus::Received, "delivered"),
        (MessageStatus::Read, "read"),
        (MessageStatus::Played, "played"),
    ] {
        assert_eq!(render::message_status(Some(s)), name);
    }
    assert_eq!(render::time(1_767_115_800_000), "2025-12-30T17:30:00.000Z");
}
