//! Zami's webhook body (seed 000, `message.created`), built from a received message: `name`,
//! `connection_id` (the instance id), `timestamp` (Unix seconds) and `object` with the seed's
//! fields — `id`, `body` (text only), `media_id` (media only, downloadable at
//! `GET /zami/v1/media/{id}`), `mimetype`, `reply_to_id` — plus what a receiver needs to
//! answer, which the seed leaves out: `type`, `caption`, `chat_id` (what to send as
//! `recipient`), `is_group`, `sender` and `sender_name`. Pure functions; no I/O.

use chatedge_config::{InstanceId, MediaId, Phone};
use serde_json::{json, Value};

use crate::network::incoming::IncomingContent;
use crate::network::IncomingMessage;

/// The event name, also the `X-Webhook-Event` header.
pub const MESSAGE_CREATED: &str = "message.created";

pub fn message_created(instance: &InstanceId, m: &IncomingMessage, media_id: Option<&MediaId>) -> Value {
    let (body, mimetype) = match &m.content {
        IncomingContent::Text(t) => (Some(t.message.as_str()), Some("text/plain")),
        other => (None, other.mime()),
    };
    let sender = m.participant.as_ref().unwrap_or(&m.from);
    json!({
        "name": MESSAGE_CREATED,
        "connection_id": instance.to_string(),
        "timestamp": m.at_ms / 1000,
        "object": {
            "id": m.id,
            "body": body,
            "media_id": media_id.map(|id| id.to_string()),
            "mimetype": mimetype,
            "reply_to_id": m.reference_message_id,
            "type": kind(&m.content),
            "caption": caption(&m.content),
            "chat_id": recipient(&m.from),
            "is_group": m.from.is_group(),
            "sender": recipient(sender),
            "sender_name": m.sender_name,
        },
    })
}

/// A chat as Zami's `recipient` takes it: a group as `…@g.us`, anyone else as written.
pub fn recipient(phone: &Phone) -> String {
    match phone.as_str().strip_suffix("-group") {
        Some(group) => format!("{group}@g.us"),
        None => phone.as_str().to_owned(),
    }
}

/// The message's kind, in the names `POST /sim/inbound` and Z-API use (`text`, `image`, …).
fn kind(content: &IncomingContent) -> String {
    serde_json::to_value(content)
        .ok()
        .and_then(|v| v.get("type").and_then(Value::as_str).map(str::to_owned))
        .unwrap_or_else(|| "unknown".into())
}

fn caption(content: &IncomingContent) -> Option<&str> {
    let caption = match content {
        IncomingContent::Image(m) => &m.caption,
        IncomingContent::Video(m) | IncomingContent::Ptv(m) | IncomingContent::Gif(m) => &m.caption,
        IncomingContent::Document(m) => return m.caption.as_deref().filter(|c| !c.is_empty()),
        _ => return None,
    };
    Some(caption.as_str()).filter(|c| !c.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::{Digest, StoredMedia};
    use crate::network::incoming::ReceivedImage;

    fn text_from(from: &str, participant: Option<&str>) -> IncomingMessage {
        let mut m = IncomingMessage::text(Phone::parse(from).unwrap(), "hello".into());
        m.id = "3EB0B430A8B7F23C1D12".into();
        m.participant = participant.map(|p| Phone::parse(p).unwrap());
        m.at_ms = 1_795_000_000_123;
        m
    }

    #[test]
    fn a_text_has_the_seeds_fields_and_who_to_answer() {
        let instance = InstanceId::random();
        let v = message_created(&instance, &text_from("5511999990001", None), None);
        assert_eq!(v["name"], "message.created");
        assert_eq!(v["connection_id"], instance.to_string());
        assert_eq!(v["timestamp"], 1_795_000_000);
        let o = &v["object"];
        assert_eq!(o["id"], "3EB0B430A8B7F23C1D12");
        assert_eq!((o["body"].as_str(), o["media_id"].as_str()), (Some("hello"), None));
        assert_eq!(o["mimetype"], "text/plain");
        assert!(o["reply_to_id"].is_null());
        assert_eq!(
            (o["type"].as_str(), o["chat_id"].as_str(), o["sender"].as_str()),
            (Some("text"), Some("5511999990001"), Some("5511999990001"))
        );
        assert_eq!(o["is_group"], false);
    }

    #[test]
    fn in_a_group_the_chat_is_the_group_and_the_sender_its_member() {
        let m = text_from("120363019502650977-group", Some("5511999990002"));
        let o = &message_created(&InstanceId::random(), &m, None)["object"];
        assert_eq!(o["chat_id"], "120363019502650977@g.us");
        assert_eq!(o["sender"], "5511999990002");
        assert_eq!(o["is_group"], true);
    }

    #[test]
    fn media_has_no_body_but_its_id_type_and_caption() {
        let mut m = text_from("5511999990001", None);
        let file = StoredMedia { digest: Digest::of(b"x"), size: 1, mime: "image/png".into() };
        m.content = IncomingContent::Image(ReceivedImage { caption: "a pixel".into(), ..Default::default() });
        m.content.attach(file);
        let media_id = MediaId::random();
        let o = &message_created(&InstanceId::random(), &m, Some(&media_id))["object"];
        assert!(o["body"].is_null());
        assert_eq!(o["media_id"], media_id.to_string());
        assert_eq!(
            (o["mimetype"].as_str(), o["type"].as_str(), o["caption"].as_str()),
            (Some("image/png"), Some("image"), Some("a pixel"))
        );
    }
}
