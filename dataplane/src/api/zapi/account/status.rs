//! Status routes (seed 001, lines 13814–14200): posting a text, image or video status and
//! replying to someone's status with a text, a GIF or a sticker. Each is a message and takes
//! the send path every message route takes (`messages::accept`: queued durably, paced,
//! answered `{zaapId, messageId, id}`, then DeliveryCallback and status webhooks): a post is
//! addressed to `status@broadcast`, a reply to the status's author with the status's message
//! id as the message it replies to. Media is a URL (fetched when the message leaves) or base64
//! (stored and fsync'd first), exactly as the media routes take it.

use chatedge_config::phone::{PhoneKind, STATUS_BROADCAST};
use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::Method;

use crate::api::zapi::fields::{self, MediaText, Object};
use crate::api::zapi::messages::{self, envelope, media};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::media::MediaKind;
use crate::queue::content::{Media, MediaSource};
use crate::queue::{Content, OutboundMessage};

#[derive(Debug, Clone, Copy)]
pub enum Op {
    PostText,
    /// A post of an image or a video.
    PostMedia(MediaKind),
    ReplyText,
    /// A reply with a GIF or a sticker.
    ReplyMedia(MediaKind),
}

pub static ROUTES: &[Route<Op>] = &[
    Route { path: "send-text-status", methods: "POST", label: "zapi.send-text-status", op: Op::PostText },
    Route {
        path: "send-image-status",
        methods: "POST",
        label: "zapi.send-image-status",
        op: Op::PostMedia(MediaKind::Image),
    },
    Route {
        path: "send-video-status",
        methods: "POST",
        label: "zapi.send-video-status",
        op: Op::PostMedia(MediaKind::Video),
    },
    Route { path: "reply-status-text", methods: "POST", label: "zapi.reply-status-text", op: Op::ReplyText },
    Route {
        path: "reply-status-gif",
        methods: "POST",
        label: "zapi.reply-status-gif",
        op: Op::ReplyMedia(MediaKind::Gif),
    },
    Route {
        path: "reply-status-sticker",
        methods: "POST",
        label: "zapi.reply-status-sticker",
        op: Op::ReplyMedia(MediaKind::Sticker),
    },
];

/// WhatsApp's limit on a text status.
pub const MAX_STATUS_TEXT_CHARS: usize = 700;
/// WhatsApp's limit on a text message (a reply is one).
pub const MAX_REPLY_TEXT_CHARS: usize = 65_536;
/// Longest caption of a status.
const MAX_CAPTION_CHARS: usize = 1_024;
/// Longest status message id accepted.
const MAX_STATUS_ID_CHARS: usize = 128;

pub async fn handle(call: &Call<'_>, _method: &Method, op: Op, _params: &Params) -> Result<Resp, ZapiError> {
    let message = match op {
        Op::PostText => post_text(&fields::object(&call.body)?, call.instance.id)?,
        Op::ReplyText => reply_text(&fields::object(&call.body)?, call.instance.id)?,
        Op::PostMedia(kind) | Op::ReplyMedia(kind) => {
            let field = media::field(kind);
            let (o, found) = media::read_body(call, field).await?;
            let mut m = match op {
                Op::PostMedia(_) => post(&o, call.instance.id)?,
                _ => reply(&o, call.instance.id)?,
            };
            let caption = match op {
                Op::PostMedia(_) => fields::text(&o, "caption", MAX_CAPTION_CHARS, false)?,
                _ => None,
            };
            let found = found.ok_or_else(|| ZapiError::invalid("Invalid field", format!("{field} is required")))?;
            let source = source(call, kind, field, found).await?;
            let view_once = false;
            m.content =
                Content::Media(Box::new(Media {
                    kind,
                    source,
                    caption,
                    file_name: None,
                    extension: None,
                    view_once,
                    sticker_author: None,
                }));
            m
        }
    };
    messages::accept(call, message).await
}

/// `{message}` posted to the account's status.
pub fn post_text(o: &Object, instance: chatedge_config::InstanceId) -> Result<OutboundMessage, ZapiError> {
    let mut m = post(o, instance)?;
    m.content = Content::text(fields::text(o, "message", MAX_STATUS_TEXT_CHARS, true)?.unwrap_or_default());
    Ok(m)
}

/// `{phone, message, statusMessageId}`: a text reply to `phone`'s status.
pub fn reply_text(o: &Object, instance: chatedge_config::InstanceId) -> Result<OutboundMessage, ZapiError> {
    let mut m = reply(o, instance)?;
    m.content = Content::text(fields::text(o, "message", MAX_REPLY_TEXT_CHARS, true)?.unwrap_or_default());
    Ok(m)
}

/// A post to `status@broadcast`, content to be set; `delayMessage`/`delayTyping` apply.
fn post(o: &Object, instance: chatedge_config::InstanceId) -> Result<OutboundMessage, ZapiError> {
    let to = Phone::parse(STATUS_BROADCAST).map_err(|e| ZapiError::invalid("Invalid phone", e.to_string()))?;
    let mut m = OutboundMessage::new(instance, to, Content::text(""));
    envelope::read_delays(o, &mut m)?;
    Ok(m)
}

/// A reply to the status `statusMessageId` of `phone` (a contact), content to be set.
fn reply(o: &Object, instance: chatedge_config::InstanceId) -> Result<OutboundMessage, ZapiError> {
    let phone = fields::phone(o, "phone")?;
    if !matches!(phone.kind(), PhoneKind::Contact | PhoneKind::Lid) {
        return Err(ZapiError::invalid(
            "Invalid phone",
            "phone must be the number of the person who posted the status",
        ));
    }
    let status = fields::text(o, "statusMessageId", MAX_STATUS_ID_CHARS, true)?.unwrap_or_default();
    let mut m = OutboundMessage::new(instance, phone, Content::text(""));
    envelope::read_delays(o, &mut m)?;
    m.reply_to = Some(status.trim().to_owned());
    Ok(m)
}

/// Where the file is: its URL, or the base64 data stored (fsync'd) now.
async fn source(
    call: &Call<'_>,
    kind: MediaKind,
    field: &'static str,
    found: MediaText,
) -> Result<MediaSource, ZapiError> {
    match found {
        MediaText::Url(url) => Ok(MediaSource::Url { url }),
        MediaText::Base64 { body, range } => {
            // An escaped field was copied out of the body: the copy takes its own upload room
            // (as in the media routes).
            let _room = match body.as_ptr() != call.body.as_ptr() {
                true => Some(call.app.media.upload_room(body.len() as u64).ok_or(ZapiError::UploadsBusy)?),
                false => None,
            };
            Ok(MediaSource::Stored(media::store(call, kind, field, body, range, None).await?))
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use chatedge_config::InstanceId;
    use serde_json::json;

    use super::*;

    fn body(v: serde_json::Value) -> Object {
        fields::object(&Bytes::from(v.to_string())).unwrap()
    }

    #[test]
    fn a_post_goes_to_the_status_broadcast_and_a_reply_to_the_author() {
        let m = post_text(&body(json!({"message": "Sua mensagem para status"})), InstanceId::generate()).unwrap();
        assert_eq!(m.phone.as_str(), "status@broadcast");
        assert!(matches!(&m.content, Content::Text { .. }));
        let r = json!({"phone": "5544999999999", "message": "texto", "statusMessageId": "1F606398F2ECAA4846269F659B6003A9"});
        let m = reply_text(&body(r), InstanceId::generate()).unwrap();
        assert_eq!(m.phone.as_str(), "5544999999999");
        assert_eq!(m.reply_to.as_deref(), Some("1F606398F2ECAA4846269F659B6003A9"));
    }

    #[test]
    fn each_bad_field_is_named() {
        let id = InstanceId::generate();
        let posts = [
            (json!({}), "message is required"),
            (json!({"message": ""}), "message must not be empty"),
            (json!({"message": "x".repeat(701)}), "message is longer than 700"),
            (json!({"message": "x", "delayMessage": 99}), "delayMessage"),
        ];
        for (b, want) in posts {
            match post_text(&body(b.clone()), id) {
                Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
                other => panic!("{b}: {other:?}"),
            }
        }
        let replies = [
            (json!({"message": "x", "statusMessageId": "A"}), "phone is required"),
            (json!({"phone": "120363019502650977-group", "message": "x", "statusMessageId": "A"}), "phone must be"),
            (json!({"phone": "status@broadcast", "message": "x", "statusMessageId": "A"}), "phone must be"),
            (json!({"phone": "5544999999999", "message": "x"}), "statusMessageId is required"),
            (json!({"phone": "5544999999999", "statusMessageId": "A"}), "message is required"),
        ];
        for (b, want) in replies {
            match reply_text(&body(b.clone()), id) {
                Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
                other => panic!("{b}: {other:?}"),
            }
        }
    }
}
