use bytes::Bytes;
use serde_json::{json, Value};

use super::fields;
use super::ZamiError;

#[test]
fn the_openapi_document_lists_exactly_the_routes_served() {
    crate::api::openapi::assert_documents_exactly(super::OPENAPI, super::documented());
}

#[test]
fn send_text_bodies_are_read_or_refused_naming_the_field() {
    let ok = json!({"connection_id": "c", "recipient": "+55 (11) 99999-0001", "body": "hi"});
    let s = fields::send_text(&Bytes::from(ok.to_string())).unwrap();
    assert_eq!((s.to.connection_id.as_str(), s.to.recipient.as_str(), s.body.as_str()), ("c", "5511999990001", "hi"));
    assert_eq!(s.to.reply_to_id, None);
    for (recipient, expected) in [
        ("5511999990001@s.whatsapp.net", "5511999990001"),
        ("5511999990001", "5511999990001"),
        ("120363019502650977@g.us", "120363019502650977-group"),
    ] {
        let body = json!({"connection_id": "c", "recipient": recipient, "body": "hi", "network": "WhatsApp"});
        let s = fields::send_text(&Bytes::from(body.to_string())).unwrap();
        assert_eq!(s.to.recipient.as_str(), expected, "{recipient}");
    }
    let long = "x".repeat(65_537);
    let cases: &[(Value, &str)] = &[
        (json!({"recipient": "5511999990001", "body": "hi"}), "connection_id is required"),
        (json!({"connection_id": "c", "body": "hi"}), "recipient is required"),
        (json!({"connection_id": "c", "recipient": "5511999990001"}), "body is required"),
        (json!({"connection_id": "c", "recipient": "5511999990001", "body": "  "}), "body must not be empty"),
        (json!({"connection_id": "c", "recipient": "5511999990001", "body": long}), "body is longer than"),
        (json!({"connection_id": 7, "recipient": "5511999990001", "body": "hi"}), "connection_id must be a string"),
        (json!({"connection_id": "c", "recipient": "zamiapi", "body": "hi"}), "recipient must be a WhatsApp number"),
        (
            json!({"connection_id": "c", "recipient": "5511999990001", "body": "hi", "reply_to_id": 3}),
            "reply_to_id must be a string",
        ),
        (
            json!({"connection_id": "c", "recipient": "5511999990001", "body": "hi", "network": "telegram"}),
            "network telegram is not served",
        ),
        (json!(["not", "an", "object"]), "the body must be a JSON object"),
    ];
    for (body, expected) in cases {
        match fields::send_text(&Bytes::from(body.to_string())) {
            Err(e @ ZamiError::Invalid { .. }) => assert!(e.to_string().contains(expected), "{body}: {e}"),
            other => panic!("{body}: expected a refusal containing {expected:?}, got {other:?}"),
        }
    }
    assert!(matches!(fields::send_text(&Bytes::from_static(b"{")), Err(ZamiError::Invalid { field: "body", .. })));
}

#[test]
fn every_refusal_has_the_seeds_shape_and_a_status_that_says_whose_fault_it_is() {
    use crate::error::CoreError;
    let cases = [
        (ZamiError::Unauthorized, 401),
        (ZamiError::UnknownConnection, 404),
        (ZamiError::invalid("body", "body is required"), 400),
        (ZamiError::Refused(crate::auth::Refusal::PaymentOverdue), 402),
        (ZamiError::Refused(crate::auth::Refusal::Ip("10.0.0.1".parse().unwrap())), 403),
        (ZamiError::IdempotencyConflict, 422),
        (ZamiError::Core(CoreError::QueueFull { limit: 5, connected: true }), 429),
        (ZamiError::Core(CoreError::StoreBusy), 503),
        (ZamiError::MethodNotAllowed { allowed: "POST" }, 405),
    ];
    for (e, status) in cases {
        let message = e.to_string();
        let res = e.into_response();
        assert_eq!(res.status().as_u16(), status, "{message}");
        assert!(!message.is_empty());
    }
}
