//! `POST /sim/inbound`: the body of an incoming message, as a phone would send it. Besides
//! `instanceId` and `phone` (the chat: a contact or a group id) it takes `type` (default
//! `text`; see [`IncomingContent`] for the names) and that type's fields in Z-API's names,
//! plus the envelope: `participantPhone` (the member who wrote, in a group), `senderName`,
//! `messageId` (else a fresh one), `referenceMessageId` (a reply), `forwarded`,
//! `messageExpirationSeconds`, `externalAdReply`. Media types take `data`, base64 or a data
//! URI, and optionally `mimeType`, `caption`, `fileName`. The old form `{instanceId, phone,
//! message}` is a text. Parsing only, on the edge's event loop; the sim stores the media.

use bytes::Bytes;
use chatedge_config::{InstanceId, Phone};
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
