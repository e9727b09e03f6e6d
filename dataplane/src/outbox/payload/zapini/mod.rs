//! Zapini's webhook bodies (seed 002, "Outgoing Webhooks"): every event is
//! `{"event", "instance_uuid", "timestamp", "data"}`, times in ISO 8601 to the second
//! (`2025-01-15T10:30:00+00:00`). `message_id` is a UUID stable per message (for the receiver's
//! de-duplication) and `whatsapp_message_id` the network's id (for replies and reactions), as
//! the seed explains. Added to the seed's fields, which lack them: `chat_id` (`…@s.whatsapp.net`
//! or `…@g.us`), `is_group`, `participant` and the message's `type`. `conversation_id` belongs
//! to Zapini's conversation product, which chatedge does not serve: it is `null`.
//!
//! The bytes must survive seed 002's Node check, which signs `JSON.stringify(req.body)` after
//! Express parsed them: keys are never integer-like (JavaScript would reorder them), numbers are
//! small integers, and serde's compact writer escapes strings as `JSON.stringify` does.
//! Pure functions; no I/O.

use chatedge_config::{InstanceId, MessageId, Phone};
use serde_json::{json, Value};

use crate::network::incoming::IncomingContent;
use crate::network::{IncomingMessage, MessageStatus};
use crate::queue::content::{Media, MediaSource};
use crate::queue::{Content, OutboundMessage};
use chatedge_config::zapini_webhook::ZapiniEvent;

/// The envelope of every event.
fn event(event: ZapiniEvent, instance: &InstanceId, at_ms: u64, data: Value) -> Value {
    json!({
        "event": event.name(),
        "instance_uuid": chatedge_config::snapshot::instance_uuid(instance),
        "timestamp": chatedge_config::time::iso8601_s(at_ms),
        "data": data,
    })
}

/// A UUID stable for one message of one instance (RFC 9562 version 8, from a hash).
pub fn message_uuid(instance: &InstanceId, whatsapp_id: &str) -> String {
    let id = chatedge_config::EventId::derive(&[b"zapini-message", instance.as_bytes(), whatsapp_id.as_bytes()]);
    let mut b = *id.as_bytes();
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
}

/// `message.received`: someone wrote to the instance. `media_url` is a signed link to
/// received media. A reaction is `message.reaction` instead ([`reaction`]).
pub fn received(instance: &InstanceId, m: &IncomingMessage, media_url: Option<&str>) -> Value {
    let sender = m.participant.as_ref().unwrap_or(&m.from);
    let time = chatedge_config::time::iso8601_s(m.at_ms);
    let data = json!({
        "message_id": message_uuid(instance, &m.id),
        "whatsapp_message_id": m.id,
        "sender_number": sender.as_str(),
        "sender_name": m.sender_name,
        "content": content_of(&m.content),
        "media_type": m.content.media_kind().map(media_type),
        "media_url": media_url,
        "mimetype": m.content.mime(),
        "type": m.content.type_name(),
        "reply_to": m.reference_message_id,
        "timestamp": time,
        "conversation_id": null,
        "chat_id": m.from.jid(),
        "is_group": m.from.is_group(),
        "participant": m.participant.as_ref().map(Phone::jid),
    });
    event(ZapiniEvent::MessageReceived, instance, m.at_ms, data)
}

/// `message.reaction`: a reaction to a message (an empty `emoji` removes one).
pub fn reaction(instance: &InstanceId, m: &IncomingMessage) -> Option<Value> {
    let IncomingContent::Reaction(r) = &m.content else { return None };
    let sender = m.participant.as_ref().unwrap_or(&m.from);
    let data = json!({
        "message_id": message_uuid(instance, &m.id),
        "whatsapp_message_id": m.id,
        "reacted_message_id": r.referenced_message.message_id,
        "emoji": r.value,
        "sender_number": sender.as_str(),
        "sender_name": m.sender_name,
        "timestamp": chatedge_config::time::iso8601_s(m.at_ms),
        "chat_id": m.from.jid(),
        "is_group": m.from.is_group(),
        "participant": m.participant.as_ref().map(Phone::jid),
    });
    Some(event(ZapiniEvent::MessageReaction, instance, m.at_ms, data))
}

/// `message.sent`: the network took a message the instance sent.
pub fn sent(instance: &InstanceId, m: &OutboundMessage, at_ms: u64) -> Value {
    let whatsapp_id = m.message_id.to_string();
    let (media_type, media_url) = match &m.content {
        Content::Media(media) => (Some(media_type(media.kind)), url_of(media)),
        _ => (None, None),
    };
    let data = json!({
        "message_id": message_uuid(instance, &whatsapp_id),
        "whatsapp_message_id": whatsapp_id,
        "recipient_number": m.phone.as_str(),
        "content": m.content.preview(),
        "media_type": media_type,
        "media_url": media_url,
        "reply_to": m.reply_to,
        "timestamp": chatedge_config::time::iso8601_s(at_ms),
        "conversation_id": null,
        "chat_id": m.phone.jid(),
        "is_group": m.phone.is_group(),
    });
    event(ZapiniEvent::MessageSent, instance, at_ms, data)
}

/// `message.status`: a message the instance sent changed status. `None` for a status Zapini
/// has no name for (the instance's own phone reading a chat).
pub fn status(
    instance: &InstanceId,
    phone: &Phone,
    id: &MessageId,
    status: MessageStatus,
    at_ms: u64,
) -> Option<Value> {
    let (previous, new) = match status {
        MessageStatus::Sent => ("pending", "sent"),
        MessageStatus::Received => ("sent", "delivered"),
        MessageStatus::Read => ("delivered", "read"),
        MessageStatus::Played => ("read", "played"),
        MessageStatus::ReadByMe => return None,
    };
    let whatsapp_id = id.to_string();
    let data = json!({
        "message_id": message_uuid(instance, &whatsapp_id),
        "whatsapp_message_id": whatsapp_id,
        "previous_status": previous,
        "new_status": new,
        "recipient_number": phone.as_str(),
        "timestamp": chatedge_config::time::iso8601_s(at_ms),
        "chat_id": phone.jid(),
        "is_group": phone.is_group(),
    });
    Some(event(ZapiniEvent::MessageStatus, instance, at_ms, data))
}

/// `instance.connected`: pairing finished (`previous` is `qr_ready`) or a saved session came
/// back (`disconnected`).
pub fn connected(instance: &InstanceId, phone: &Phone, previous: &str, at_ms: u64) -> Value {
    let data = json!({"previous_status": previous, "new_status": "connected", "phone_number": phone.as_str()});
    event(ZapiniEvent::InstanceConnected, instance, at_ms, data)
}

/// `instance.disconnected`, with why.
pub fn disconnected(instance: &InstanceId, reason: &str, logged_out: bool, at_ms: u64) -> Value {
    let data = json!({
        "previous_status": "connected",
        "new_status": "disconnected",
        "reason": reason,
        "logged_out": logged_out,
    });
    event(ZapiniEvent::InstanceDisconnected, instance, at_ms, data)
}

/// `instance.qr`: a new QR code to scan, as text and as a PNG `data:` URL.
pub fn qr(instance: &InstanceId, code: &str, at_ms: u64) -> Value {
    let image = crate::api::zapi::qr_image::data_url(code).ok();
    let data = json!({
        "qr": code,
        "qr_image": image,
        "status": "qr_ready",
        "generated_at": chatedge_config::time::iso8601_s(at_ms),
    });
    event(ZapiniEvent::InstanceQr, instance, at_ms, data)
}

/// Zapini's media types: image, video, audio, document (a sticker is an image, a video note
/// or GIF a video).
fn media_type(kind: crate::media::MediaKind) -> &'static str {
    use crate::media::MediaKind::*;
    match kind {
        Image | Sticker => "image",
        Video | Ptv | Gif => "video",
        Audio => "audio",
        Document => "document",
    }
}

fn url_of(media: &Media) -> Option<&str> {
    match &media.source {
        MediaSource::Url { url } => Some(url),
        MediaSource::Stored(_) => None,
    }
}

/// A text's text, or a media message's caption; `null` otherwise.
fn content_of(content: &IncomingContent) -> Option<&str> {
    match content {
        IncomingContent::Text(t) => Some(t.message.as_str()).filter(|t| !t.is_empty()),
        other => other.caption(),
    }
}

#[cfg(test)]
mod tests;
