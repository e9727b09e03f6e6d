//! ReceivedCallback bodies: one envelope (who, where, when) shared by every kind of message,
//! plus the kind's own part, field for field as seed 001's examples show them (lines
//! 11290–13000). The envelope carries every field the newer examples carry (`chatLid`,
//! `senderLid`, `messageExpirationSeconds`, `fromApi`, …) for every kind. Received media is
//! shown by the link the caller made (signed and expiring); this module builds JSON only.

use chatedge_config::{InstanceId, Phone};
use serde::Serialize;
use serde_json::{json, Map, Value};

use crate::network::incoming::{IncomingContent, Text};
use crate::network::IncomingMessage;

/// The ReceivedCallback for `m`: an incoming message, or (`from_me`) one the instance sent
/// (notify-sent-by-me). `media_url` is the link to the message's media, if it has any.
pub fn received(
    instance: &InstanceId,
    connected_phone: Option<&Phone>,
    m: &IncomingMessage,
    from_me: bool,
    media_url: Option<&str>,
) -> Value {
    let chat = m.from.as_str();
    let is_group = m.from.is_group();
    let name = m.sender_name.as_deref().unwrap_or(chat);
    let participant = m.participant.as_ref().map(Phone::as_str);
    let participant_lid = participant.and(m.sender_lid.as_deref());
    let mut v = json!({
        "isStatusReply": m.status_reply,
        "senderLid": m.sender_lid,
        "chatLid": if is_group { None } else { m.sender_lid.as_deref() },
        "connectedPhone": connected_phone.map(Phone::as_str),
        "waitingMessage": matches!(m.content, IncomingContent::WaitingMessage(_)),
        "isEdit": false,
        "isGroup": is_group,
        "isNewsletter": false,
        "instanceId": instance.to_string(),
        "messageId": m.id,
        "phone": chat,
        "fromMe": from_me,
        "momment": m.at_ms,
        "status": if from_me { "SENT" } else { "RECEIVED" },
        "chatName": name,
        "senderPhoto": null,
        "senderName": name,
        "participantPhone": participant,
        "participantLid": participant_lid,
        "photo": null,
        "broadcast": false,
        "referenceMessageId": m.reference_message_id,
        "externalAdReply": m.external_ad_reply,
        "messageExpirationSeconds": m.expiration_seconds,
        "forwarded": m.forwarded,
        "type": "ReceivedCallback",
        "fromApi": from_me,
    });
    if let Value::Object(envelope) = &mut v {
        envelope.extend(part(&m.content, media_url));
    }
    v
}

/// `image.downloadError` when the network's file never reached the media store (the connector
/// could not download it, or the store refused it).
const IMAGE_NOT_DOWNLOADED: &str = "the image could not be downloaded from WhatsApp";

/// The kind's own part: usually one key (`text`, `image`, `pollVote`, …); a notification's
/// fields sit at the top level.
fn part(content: &IncomingContent, url: Option<&str>) -> Map<String, Value> {
    let one = |key: &str, value: Value| Map::from_iter([(key.to_owned(), value)]);
    let mime = content.mime();
    match content {
        IncomingContent::Text(t) => one("text", to_json(t)),
        IncomingContent::Image(i) => one(
            "image",
            json!({
                "mimeType": mime, "imageUrl": url,
                // The sim keeps no separate thumbnail: the image is its own.
                "thumbnailUrl": url,
                // Z-API's documentation since 2026-03: why there is no link.
                "downloadError": url.is_none().then_some(IMAGE_NOT_DOWNLOADED),
                "caption": i.caption, "width": i.width, "height": i.height, "viewOnce": i.view_once,
            }),
        ),
        IncomingContent::Audio(a) => one(
            "audio",
            json!({"ptt": a.ptt, "seconds": a.seconds, "audioUrl": url, "mimeType": mime, "viewOnce": a.view_once}),
        ),
        IncomingContent::Video(v) => one(
            "video",
            json!({"videoUrl": url, "caption": v.caption, "mimeType": mime, "seconds": v.seconds, "viewOnce": v.view_once}),
        ),
        // Seed 001 shows video notes and GIFs as `video` with fewer fields.
        IncomingContent::Ptv(v) | IncomingContent::Gif(v) => {
            one("video", json!({"videoUrl": url, "caption": v.caption, "mimeType": mime}))
        }
        IncomingContent::Document(d) => {
            let mut doc = json!({
                "documentUrl": url, "mimeType": mime, "title": d.title, "pageCount": d.page_count,
                "fileName": d.file_name,
            });
            if let Some(c) = &d.caption {
                doc["caption"] = json!(c);
            }
            one("document", doc)
        }
        IncomingContent::Sticker(_) => one("sticker", json!({"stickerUrl": url, "mimeType": mime})),
        IncomingContent::Location(l) => one("location", to_json(l)),
        IncomingContent::Contact(c) => one("contact", to_json(c)),
        IncomingContent::Reaction(r) => one("reaction", to_json(r)),
        IncomingContent::ButtonResponse(b) => one("buttonsResponseMessage", to_json(b)),
        IncomingContent::ListResponse(l) => one("listResponseMessage", to_json(l)),
        IncomingContent::Poll(p) => one("poll", to_json(p)),
        IncomingContent::PollVote(p) => one("pollVote", to_json(p)),
        IncomingContent::Event(e) => one("event", to_json(e)),
        IncomingContent::EventResponse(e) => one("eventResponse", to_json(e)),
        IncomingContent::PinMessage(p) => one("pinMessage", to_json(p)),
        IncomingContent::Template(t) => one("hydratedTemplate", to_json(t)),
        IncomingContent::Buttons(b) => one("buttonsMessage", to_json(b)),
        IncomingContent::Carousel(c) => one("carouselMessage", to_json(c)),
        IncomingContent::PixKey(p) => one("pixKeyMessage", to_json(p)),
        IncomingContent::Product(p) => one("product", to_json(p)),
        IncomingContent::Order(o) => one("order", to_json(o)),
        IncomingContent::RequestPayment(p) => one("requestPayment", to_json(p)),
        IncomingContent::SendPayment(p) => one("sendPayment", to_json(p)),
        IncomingContent::ReviewAndPay(r) => one("reviewAndPay", to_json(r)),
        IncomingContent::ReviewOrder(r) => one("reviewOrder", to_json(r)),
        IncomingContent::NewsletterAdminInvite(n) => one("newsletterAdminInvite", to_json(n)),
        IncomingContent::Notification(n) => match to_json(n) {
            Value::Object(fields) => fields,
            _ => Map::new(),
        },
        IncomingContent::WaitingMessage(w) => one("viewOnce", json!(w.view_once)),
    }
}

/// Plain data with string keys: serializing cannot fail.
fn to_json(v: &impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
}

/// A text message's facts, for callers that have no [`IncomingMessage`] (the webhook bench).
pub struct Received<'a> {
    pub instance: &'a InstanceId,
    pub connected_phone: Option<&'a Phone>,
    /// The chat: the sender, or the recipient when `from_me`.
    pub chat: &'a Phone,
    pub message_id: &'a str,
    pub text: &'a str,
    pub sender_name: Option<&'a str>,
    pub from_me: bool,
    pub at_ms: u64,
}

/// ReceivedCallback for a text message.
pub fn received_text(r: &Received<'_>) -> Value {
    let text = Text { message: r.text.to_owned(), description: None, title: None, url: None, thumbnail_url: None };
    let m = IncomingMessage {
        id: r.message_id.to_owned(),
        from: r.chat.clone(),
        participant: None,
        sender_name: r.sender_name.map(str::to_owned),
        sender_lid: None,
        reference_message_id: None,
        forwarded: false,
        status_reply: false,
        expiration_seconds: 0,
        external_ad_reply: None,
        content: IncomingContent::Text(text),
        at_ms: r.at_ms,
    };
    received(r.instance, r.connected_phone, &m, r.from_me, None)
}

/// ReceivedCallback for an incoming network message.
pub fn incoming(
    instance: &InstanceId,
    connected_phone: Option<&Phone>,
    m: &IncomingMessage,
    media_url: Option<&str>,
) -> Value {
    received(instance, connected_phone, m, false, media_url)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::incoming::ReceivedImage;

    #[test]
    fn an_image_without_its_file_says_why_and_one_with_it_says_nothing() {
        let image = IncomingContent::Image(ReceivedImage { caption: "olha".into(), ..Default::default() });
        let linked = part(&image, Some("https://dp.test/media/x"));
        assert_eq!(linked["image"]["downloadError"], Value::Null);
        assert_eq!(linked["image"]["imageUrl"], "https://dp.test/media/x");
        let lost = part(&image, None);
        assert_eq!(lost["image"]["downloadError"], IMAGE_NOT_DOWNLOADED);
        assert_eq!(lost["image"]["imageUrl"], Value::Null);
    }
}
