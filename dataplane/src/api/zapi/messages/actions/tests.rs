//! Action routes as specifications: Z-API's own example requests (shared/zapi-har) become the
//! expected actions, and each invalid field is refused by name.

use bytes::Bytes;
use chatedge_config::{InstanceId, Phone};
use serde_json::{json, Value};

use super::*;

fn parse_req(route: ActionRoute, body: &Value, query: Option<&str>) -> Result<OutboundMessage, ZapiError> {
    let body = if body.is_null() { Bytes::new() } else { Bytes::from(body.to_string()) };
    parse(&body, query, InstanceId::generate(), route)
}

fn action(route: ActionRoute, body: Value, query: Option<&str>) -> (Phone, Action) {
    let m = parse_req(route, &body, query).unwrap_or_else(|e| panic!("{body} {query:?}: {e:?}"));
    match m.content {
        Content::Action(a) => (m.phone, *a),
        other => panic!("{other:?}"),
    }
}

fn har(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn the_seed_examples_become_the_actions_they_describe() {
    let chat = Phone::parse("5511999998888").unwrap();
    let cases: Vec<(ActionRoute, Value, Option<&str>, Action)> = vec![
        (
            ActionRoute::Reaction,
            har(r#"{"phone": "5511999998888", "reaction": "❤️", "messageId": "EDSFSAD213213DDSD7"}"#),
            None,
            Action::Reaction { message_id: "EDSFSAD213213DDSD7".into(), reaction: "❤️".into() },
        ),
        (
            ActionRoute::RemoveReaction,
            har(r#"{"phone": "5511999998888", "messageId": "EDSFSAD213213DDSD7"}"#),
            None,
            Action::RemoveReaction { message_id: "EDSFSAD213213DDSD7".into() },
        ),
        (
            ActionRoute::Delete,
            json!({}),
            Some("messageId=3999984263738042930CD6ECDE9VDWSA&phone=5511999998888&owner=true"),
            Action::Delete { message_id: "3999984263738042930CD6ECDE9VDWSA".into(), owner: true },
        ),
        (
            ActionRoute::Delete,
            Value::Null,
            Some("messageId=ABC&phone=%2B55%2011%2099999-8888&owner=false"),
            Action::Delete { message_id: "ABC".into(), owner: false },
        ),
        (
            ActionRoute::Read,
            har(r#"{"phone": "5511999998888", "messageId": "3999984263738042930CD6ECDE9VDWSA"}"#),
            None,
            Action::Read { message_id: "3999984263738042930CD6ECDE9VDWSA".into() },
        ),
        (
            ActionRoute::Pin,
            har(
                r#"{"phone": "5511999998888", "messageId": "77DF5293EBC176FFA6A88838E7A6AD83", "messageAction": "pin", "pinMessageDuration": "7_days"}"#,
            ),
            None,
            Action::Pin {
                message_id: "77DF5293EBC176FFA6A88838E7A6AD83".into(),
                action: PinAction::Pin,
                duration: Some(PinDuration::Days7),
            },
        ),
        (
            ActionRoute::Pin,
            json!({"phone": "5511999998888", "messageId": "77DF", "messageAction": "unpin", "pinMessageDuration": "24_hours"}),
            None,
            Action::Pin { message_id: "77DF".into(), action: PinAction::Unpin, duration: None },
        ),
        (
            ActionRoute::Forward,
            har(
                r#"{"phone": "5511999998888", "messageId": "3999984263738042930CD6ECDE9VDWSA", "messagePhone": "5511888888888"}"#,
            ),
            None,
            Action::Forward {
                message_id: "3999984263738042930CD6ECDE9VDWSA".into(),
                message_phone: Phone::parse("5511888888888").unwrap(),
            },
        ),
    ];
    for (route, body, query, want) in cases {
        assert_eq!(action(route, body, query), (chat.clone(), want), "{route:?}");
    }
}

#[test]
fn delete_and_read_answer_no_content_the_others_ids() {
    let no_content: Vec<_> = [
        ActionRoute::Reaction,
        ActionRoute::RemoveReaction,
        ActionRoute::Delete,
        ActionRoute::Read,
        ActionRoute::Pin,
        ActionRoute::Forward,
    ]
    .into_iter()
    .filter(|r| r.answers_no_content())
    .collect();
    assert_eq!(no_content, [ActionRoute::Delete, ActionRoute::Read]);
    let found = crate::api::zapi::routes::find(ROUTES, &["messages"]).map(|(r, _)| (r.methods, r.op));
    assert_eq!(found, Some(("DELETE", ActionRoute::Delete)));
}

#[test]
fn reactions_are_emoji_including_keycaps_and_modified_ones() {
    for emoji in ["❤️", "👍", "👍🏽", "1️⃣", "#️⃣", "👨‍👩‍👧‍👦", "🇧🇷"] {
        let body = json!({"phone": "5511999998888", "reaction": emoji, "messageId": "X"});
        let (_, a) = action(ActionRoute::Reaction, body, None);
        assert_eq!(a, Action::Reaction { message_id: "X".into(), reaction: emoji.into() });
    }
}

#[test]
fn a_reaction_keeps_its_delay_but_its_message_id_is_no_reply() {
    let body = json!({"phone": "5511999998888", "reaction": "👍", "messageId": "X", "delayMessage": 2});
    let m = parse_req(ActionRoute::Reaction, &body, None).unwrap();
    assert_eq!((m.delay_message_s, m.reply_to), (Some(2), None));
}

#[test]
fn each_invalid_field_is_refused_by_name() {
    let reaction = json!({"phone": "5511999998888", "reaction": "❤️", "messageId": "A"});
    let pin =
        json!({"phone": "5511999998888", "messageId": "A", "messageAction": "pin", "pinMessageDuration": "7_days"});
    let forward = json!({"phone": "5511999998888", "messageId": "A", "messagePhone": "5511888888888"});
    let with = |base: &Value, k: &str, v: Value| {
        let mut b = base.clone();
        match v {
            Value::Null => {
                b.as_object_mut().unwrap().remove(k);
            }
            v => b[k] = v,
        }
        b
    };
    let body_cases: Vec<(ActionRoute, Value, &str)> = vec![
        (ActionRoute::Reaction, with(&reaction, "phone", Value::Null), "phone"),
        (ActionRoute::Reaction, with(&reaction, "phone", json!("PHONE DO CHAT")), "phone"),
        (ActionRoute::Reaction, with(&reaction, "reaction", Value::Null), "reaction"),
        (ActionRoute::Reaction, with(&reaction, "reaction", json!("love")), "reaction"),
        (ActionRoute::Reaction, with(&reaction, "reaction", json!(":)")), "reaction"),
        (ActionRoute::Reaction, with(&reaction, "reaction", json!("1")), "reaction"),
        (ActionRoute::Reaction, with(&reaction, "reaction", json!("❤️ ❤️")), "reaction"),
        (ActionRoute::Reaction, with(&reaction, "reaction", json!("❤️".repeat(20))), "reaction"),
        (ActionRoute::Reaction, with(&reaction, "messageId", Value::Null), "messageId"),
        (ActionRoute::Reaction, with(&reaction, "messageId", json!("  ")), "messageId"),
        (ActionRoute::Reaction, with(&reaction, "messageId", json!("x".repeat(129))), "messageId"),
        (ActionRoute::Reaction, with(&reaction, "delayMessage", json!(20)), "delayMessage"),
        (ActionRoute::RemoveReaction, json!({"phone": "5511999998888"}), "messageId"),
        (ActionRoute::Read, json!({"messageId": "A"}), "phone"),
        (ActionRoute::Read, json!({"phone": "5511999998888", "messageId": 5}), "messageId"),
        (ActionRoute::Pin, with(&pin, "messageAction", Value::Null), "messageAction"),
        (ActionRoute::Pin, with(&pin, "messageAction", json!("pin | unpin")), "messageAction"),
        (ActionRoute::Pin, with(&pin, "pinMessageDuration", Value::Null), "pinMessageDuration"),
        (ActionRoute::Pin, with(&pin, "pinMessageDuration", json!("1_year")), "pinMessageDuration"),
        (ActionRoute::Forward, with(&forward, "messagePhone", Value::Null), "messagePhone"),
        (ActionRoute::Forward, with(&forward, "messagePhone", json!("chat")), "messagePhone"),
        (ActionRoute::Forward, with(&forward, "messageId", Value::Null), "messageId"),
    ];
    let check = |route: ActionRoute, r: Result<OutboundMessage, ZapiError>, field: &str, what: &str| match r {
        Err(ZapiError::Invalid { message, .. }) => assert!(
            message.strip_prefix(field).is_some_and(|rest| rest.starts_with([' ', ':'])),
            "{route:?} {what}: {message:?} should name {field}"
        ),
        other => panic!("{route:?} {what}: expected a refusal naming {field}, got {other:?}"),
    };
    for (route, body, field) in body_cases {
        check(route, parse_req(route, &body, None), field, &body.to_string());
    }
    let query_cases = [
        ("phone=5511999998888&owner=true", "messageId"),
        ("messageId=A&owner=true", "phone"),
        ("messageId=A&phone=abc&owner=true", "phone"),
        ("messageId=A&phone=5511999998888", "owner"),
        ("messageId=A&phone=5511999998888&owner=yes", "owner"),
    ];
    for (query, field) in query_cases {
        check(ActionRoute::Delete, parse_req(ActionRoute::Delete, &Value::Null, Some(query)), field, query);
    }
    check(ActionRoute::Delete, parse_req(ActionRoute::Delete, &Value::Null, None), "phone", "no query");
}
