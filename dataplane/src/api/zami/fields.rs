//! The Zami request bodies, parsed into what the core needs, each problem naming its field
//! (seed 000 names the fields; their limits are WhatsApp's).

use bytes::Bytes;
use chatedge_config::{MediaId, Phone};
use serde_json::{Map, Value};

use super::ZamiError;

/// WhatsApp's own limit on a text message.
const MAX_TEXT_CHARS: usize = 65_536;
/// WhatsApp's limit on a caption.
const MAX_CAPTION_CHARS: usize = 1024;
/// Longest message id a reply may name.
const MAX_REPLY_ID_CHARS: usize = 128;
/// The only network chatedge connects.
const WHATSAPP: &str = "whatsapp";

/// Who a send goes to, from which connection, in reply to what: the fields every send has.
#[derive(Debug)]
pub struct Target {
    pub connection_id: String,
    pub recipient: Phone,
    pub reply_to_id: Option<String>,
}

/// A `send-text` body.
#[derive(Debug)]
pub struct SendText {
    pub to: Target,
    pub body: String,
}

/// A `send-media` body: media uploaded before (`POST /zami/v1/media`), named by its id.
#[derive(Debug)]
pub struct SendMedia {
    pub to: Target,
    pub media_id: MediaId,
    /// Shown under an image or video (not in seed 000; WhatsApp has it).
    pub caption: Option<String>,
}

pub fn send_text(raw: &Bytes) -> Result<SendText, ZamiError> {
    let o = object(raw)?;
    Ok(SendText { to: target(&o)?, body: string(&o, "body", MAX_TEXT_CHARS)?.ok_or_else(|| required("body"))? })
}

pub fn send_media(raw: &Bytes) -> Result<SendMedia, ZamiError> {
    let o = object(raw)?;
    let to = target(&o)?;
    let media_id = string(&o, "media_id", 64)?.ok_or_else(|| required("media_id"))?;
    let media_id = MediaId::parse(media_id.trim())
        .map_err(|_| ZamiError::invalid("media_id", "media_id must be the id POST /zami/v1/media answered"))?;
    Ok(SendMedia { to, media_id, caption: string(&o, "caption", MAX_CAPTION_CHARS)? })
}

fn target(o: &Map<String, Value>) -> Result<Target, ZamiError> {
    network(o)?;
    Ok(Target {
        connection_id: string(o, "connection_id", 64)?.ok_or_else(|| required("connection_id"))?,
        recipient: recipient(o)?,
        reply_to_id: string(o, "reply_to_id", MAX_REPLY_ID_CHARS)?,
    })
}

fn object(raw: &Bytes) -> Result<Map<String, Value>, ZamiError> {
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ZamiError::invalid("body", "the body must be a JSON object")),
        Err(e) => Err(ZamiError::invalid("body", format!("the body is not JSON: {e}"))),
    }
}

fn required(field: &'static str) -> ZamiError {
    ZamiError::invalid(field, format!("{field} is required"))
}

/// An optional non-empty string of at most `max_chars` characters (`null` is absent).
fn string(o: &Map<String, Value>, field: &'static str, max_chars: usize) -> Result<Option<String>, ZamiError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(ZamiError::invalid(field, format!("{field} must not be empty")))
        }
        Some(Value::String(s)) if s.chars().count() > max_chars => {
            Err(ZamiError::invalid(field, format!("{field} is longer than {max_chars} characters")))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ZamiError::invalid(field, format!("{field} must be a string"))),
    }
}

/// The recipient as a WhatsApp id: a number (`+55 11 …`, digits) or a JID (`…@s.whatsapp.net`,
/// a group's `…@g.us`, which the core writes as Z-API does, `…-group`).
fn recipient(o: &Map<String, Value>) -> Result<Phone, ZamiError> {
    let raw = string(o, "recipient", 128)?.ok_or_else(|| required("recipient"))?;
    let id = match (raw.strip_suffix("@s.whatsapp.net"), raw.strip_suffix("@g.us")) {
        (Some(number), _) => number.to_owned(),
        (_, Some(group)) => format!("{group}-group"),
        _ => raw,
    };
    Phone::normalize(&id).map_err(|e| {
        ZamiError::invalid(
            "recipient",
            format!("recipient must be a WhatsApp number (like +5511999999999) or a group id (…@g.us): {e}"),
        )
    })
}

/// Seed 000 names several networks; chatedge connects WhatsApp only, so any other is refused
/// rather than sent over WhatsApp.
fn network(o: &Map<String, Value>) -> Result<(), ZamiError> {
    match o.get("network") {
        None | Some(Value::Null) => Ok(()),
        Some(Value::String(n)) if n.eq_ignore_ascii_case(WHATSAPP) => Ok(()),
        Some(Value::String(n)) => Err(ZamiError::invalid(
            "network",
            format!("network {n} is not served: chatedge connects WhatsApp only (network: \"whatsapp\")"),
        )),
        Some(_) => Err(ZamiError::invalid("network", "network must be a string, \"whatsapp\"")),
    }
}
