//! `POST /sim/inbound`: the body of an incoming message, as a phone would send it. Besides
//! `instanceId` and `phone` (the chat: a contact or a group id) it takes `type` (default
//! `text`; see [`IncomingContent`] for the names) and that type's fields in Z-API's names,
//! plus the envelope: `participantPhone` (the member who wrote, in a group), `senderName`,
//! `messageId` (else a fresh one), `referenceMessageId` (a reply), `isStatusReply` (the reply
//! answers one of the instance's status posts), `forwarded`, `messageExpirationSeconds`,
//! `externalAdReply`. Media types take `data`, base64 or a data
//! URI, and optionally `mimeType`, `caption`, `fileName`. The old form `{instanceId, phone,
//! message}` is a text. Parsing only, on the edge's event loop; the sim stores the media.

use bytes::Bytes;
use chatedge_config::{InstanceId, Phone};
#[cfg(test)]
use serde_json::json;
use serde_json::{Map, Value};

use crate::api::App;
use crate::network::incoming::{ExternalAdReply, IncomingContent};
use crate::network::IncomingMessage;

/// Room for the largest media the data plane accepts, base64-encoded, and the other fields.
pub fn max_body_bytes(app: &App) -> usize {
    let media = app.media.config.max_media_bytes().div_ceil(3) * 4;
    usize::try_from(media).unwrap_or(usize::MAX).saturating_add(app.limits.max_body_bytes)
}

/// The instance, the message (with no id when none was given) and the base64 text of its
/// media. Errors name the field.
pub fn parse(body: &[u8]) -> Result<(InstanceId, IncomingMessage, Option<Bytes>), String> {
    let Value::Object(mut o) = serde_json::from_slice(body).map_err(|e| e.to_string())? else {
        return Err("the body must be a JSON object".into());
    };
    let instance = InstanceId::parse(&take_str(&mut o, "instanceId")?.ok_or("instanceId is required")?)
        .map_err(|e| format!("instanceId: {e}"))?;
    let from = phone(&mut o, "phone")?.ok_or("phone is required")?;
    let participant = phone(&mut o, "participantPhone")?;
    let sender_name = take_str(&mut o, "senderName")?;
    let id = take_str(&mut o, "messageId")?.unwrap_or_default();
    let reference_message_id = take_str(&mut o, "referenceMessageId")?;
    let forwarded = take(&mut o, "forwarded")?.unwrap_or(false);
    let status_reply = take(&mut o, "isStatusReply")?.unwrap_or(false);
    let expiration_seconds = take(&mut o, "messageExpirationSeconds")?.unwrap_or(0);
    let external_ad_reply: Option<ExternalAdReply> = take(&mut o, "externalAdReply")?;
    let data = take_str(&mut o, "data")?;
    o.entry("type").or_insert_with(|| Value::from("text"));
    let content: IncomingContent = serde_json::from_value(Value::Object(o)).map_err(|e| e.to_string())?;
    if matches!(&content, IncomingContent::Text(t) if t.message.is_empty()) {
        return Err("message must not be empty".into());
    }
    let media = match (content.media_kind(), data) {
        (Some(_), Some(d)) => Some(Bytes::from(base64_of(d))),
        (Some(kind), None) => return Err(format!("data: a {} needs its bytes (base64 or a data URI)", kind.as_str())),
        (None, Some(_)) => return Err(format!("data: a {} carries no media", content.label())),
        (None, None) => None,
    };
    let message = IncomingMessage {
        id,
        from,
        participant,
        sender_name,
        sender_lid: None,
        reference_message_id,
        forwarded,
        status_reply,
        expiration_seconds,
        external_ad_reply,
        content,
        at_ms: 0,
    };
    Ok((instance, message, media))
}

/// The base64 payload of a data URI (`data:image/png;base64,…`), or the text itself.
fn base64_of(data: String) -> String {
    match data.strip_prefix("data:").and_then(|rest| rest.split_once(',')) {
        Some((_, payload)) => payload.to_owned(),
        None => data,
    }
}

fn take<T: serde::de::DeserializeOwned>(o: &mut Map<String, Value>, key: &str) -> Result<Option<T>, String> {
    match o.remove(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => serde_json::from_value(v).map(Some).map_err(|e| format!("{key}: {e}")),
    }
}

fn take_str(o: &mut Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    take::<String>(o, key)
}

fn phone(o: &mut Map<String, Value>, key: &str) -> Result<Option<Phone>, String> {
    take_str(o, key)?.map(|p| Phone::parse(&p).map_err(|e| format!("{key}: {e}"))).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(v: Value) -> Vec<u8> {
        serde_json::to_vec(&v).unwrap()
    }

    #[test]
    fn the_old_form_is_a_text_and_a_typed_form_keeps_its_envelope() {
        let id = InstanceId::generate().to_string();
        let (_, m, media) = parse(&body(json!({"instanceId": id, "phone": "5544999999999", "message": "oi"}))).unwrap();
        assert!(matches!(&m.content, IncomingContent::Text(t) if t.message == "oi"));
        assert!(media.is_none() && m.id.is_empty());

        let (_, m, media) = parse(&body(json!({"instanceId": id, "phone": "120363019502650977-group",
            "participantPhone": "5544988887777", "messageId": "ABC", "type": "document", "fileName": "a.pdf",
            "data": "data:application/pdf;base64,JVBERi0="})))
        .unwrap();
        assert_eq!(m.participant.unwrap().as_str(), "5544988887777");
        assert_eq!(m.id, "ABC");
        assert!(matches!(&m.content, IncomingContent::Document(d) if d.file_name == "a.pdf"));
        assert_eq!(media.unwrap(), "JVBERi0=", "the data URI's payload");
        assert!(!m.status_reply);

        let reply = json!({"instanceId": id, "phone": "5544999999999", "message": "lindo!",
            "referenceMessageId": "3EB0STATUS", "isStatusReply": true});
        let (_, m, _) = parse(&body(reply)).unwrap();
        assert!(m.status_reply && m.reference_message_id.as_deref() == Some("3EB0STATUS"), "a reply to a status");
        let payload = crate::outbox::payload::incoming(&InstanceId::generate(), None, &m, None);
        assert_eq!(payload["isStatusReply"], true, "{payload}");
    }

    #[test]
    fn unknown_fields_missing_media_and_bad_phones_are_refused_by_name() {
        let id = InstanceId::generate().to_string();
        let refused = |v: Value| parse(&body(v)).map(|_| ()).unwrap_err();
        let e = refused(json!({"instanceId": id, "phone": "5544999999999", "type": "poll", "question": "?",
            "options": [], "colour": "red"}));
        assert!(e.contains("colour"), "{e}");
        let e = refused(json!({"instanceId": id, "phone": "5544999999999", "type": "audio"}));
        assert!(e.starts_with("data:"), "{e}");
        let e = refused(json!({"instanceId": id, "phone": "5544999999999", "message": "x", "data": "AAAA"}));
        assert!(e.starts_with("data:"), "{e}");
        let e = refused(json!({"instanceId": id, "phone": "12", "message": "x"}));
        assert!(e.starts_with("phone:"), "{e}");
        let e = refused(json!({"instanceId": id, "phone": "5544999999999", "type": "selfie"}));
        assert!(e.contains("selfie"), "{e}");
    }
}
