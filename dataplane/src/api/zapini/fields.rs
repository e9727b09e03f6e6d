//! Zapini request bodies (seed 002), parsed into what the core needs, each problem naming its
//! field. Aliases are the seed's: `recipient|number|to`, `reply_to|quoted_message_id`,
//! `media_url|url`, `media_type|type`. Recipients are written as the seed writes them:
//! `+55 11 …`, digits, `…@s.whatsapp.net`, and groups `…@g.us` (the core's `…-group`).

use bytes::Bytes;
use chatedge_config::Phone;
use serde_json::{Map, Value};

use super::ZapiniError;
use crate::media::MediaKind;

/// WhatsApp's own limit on a text message.
pub const MAX_TEXT_CHARS: usize = 65_536;
/// Longest message id a reply, reaction, edit or delete may name.
pub const MAX_MESSAGE_ID_CHARS: usize = 128;
/// Longest caption WhatsApp shows.
const MAX_CAPTION_CHARS: usize = 1_024;
/// Longest document file name.
const MAX_FILE_NAME_CHARS: usize = 255;
/// A reaction is one emoji; the longest (families, flags with modifiers) are a few code points.
const MAX_REACTION_CHARS: usize = 32;
/// Longest instance id (a UUID is 36 characters).
const MAX_INSTANCE_ID_CHARS: usize = 64;

pub type Object = Map<String, Value>;

/// `POST /send-message`.
#[derive(Debug)]
pub struct SendMessage {
    pub instance_id: Option<String>,
    pub recipient: Phone,
    pub message: String,
    pub reply_to: Option<String>,
}

/// `POST /send-media` (by URL).
#[derive(Debug)]
pub struct SendMedia {
    pub instance_id: Option<String>,
    pub recipient: Phone,
    pub url: String,
    pub kind: MediaKind,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    /// A document's extension, from its file name or its URL's path.
    pub extension: Option<String>,
    pub reply_to: Option<String>,
}

/// `POST /messages/send-media` by `media_id` (the media itself is looked up by the caller).
#[derive(Debug)]
pub struct SendStored {
    pub instance_id: Option<String>,
    pub recipient: Phone,
    /// `media_type`, when given: checked against the media's own kind.
    pub kind: Option<MediaKind>,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub reply_to: Option<String>,
}

/// `POST /send-reaction`.
#[derive(Debug)]
pub struct SendReaction {
    pub instance_id: Option<String>,
    pub to: Phone,
    pub message_id: String,
    pub emoji: String,
}

pub fn send_message(raw: &Bytes) -> Result<SendMessage, ZapiniError> {
    let o = object(raw)?;
    Ok(SendMessage {
        instance_id: instance_id(&o)?,
        recipient: recipient(&o, &["recipient", "number", "to"])?,
        message: string(&o, "message", MAX_TEXT_CHARS)?.ok_or_else(|| required("message"))?,
        reply_to: reply_to(&o)?,
    })
}

pub fn send_media(raw: &Bytes) -> Result<SendMedia, ZapiniError> {
    let o = object(raw)?;
    let (url_field, url) = first(&o, &["media_url", "url"], 4096)?.ok_or_else(|| required("media_url"))?;
    let url = match crate::media::base64::MediaInput::parse(&url) {
        Ok(crate::media::base64::MediaInput::Url(u)) => u.to_owned(),
        _ => {
            return Err(ZapiniError::invalid(url_field, format!("{url_field} must be a public http(s) URL")));
        }
    };
    let (type_field, kind) = first(&o, &["media_type", "type"], 16)?.ok_or_else(|| required("media_type"))?;
    let kind = media_kind(type_field, &kind)?;
    let file_name = string(&o, "filename", MAX_FILE_NAME_CHARS)?;
    let extension = match kind {
        MediaKind::Document => Some(document_extension(file_name.as_deref(), &url)?),
        _ => None,
    };
    Ok(SendMedia {
        instance_id: instance_id(&o)?,
        recipient: recipient(&o, &["recipient", "number", "to"])?,
        url,
        kind,
        caption: string(&o, "caption", MAX_CAPTION_CHARS)?,
        file_name,
        extension,
        reply_to: reply_to(&o)?,
    })
}

pub fn send_stored(raw: &Bytes) -> Result<SendStored, ZapiniError> {
    let o = object(raw)?;
    let kind = match first(&o, &["media_type", "type"], 16)? {
        None => None,
        Some((field, k)) => Some(media_kind(field, &k)?),
    };
    Ok(SendStored {
        instance_id: instance_id(&o)?,
        recipient: recipient(&o, &["recipient", "number", "to"])?,
        kind,
        caption: string(&o, "caption", MAX_CAPTION_CHARS)?,
        file_name: string(&o, "filename", MAX_FILE_NAME_CHARS)?,
        reply_to: reply_to(&o)?,
    })
}

fn media_kind(field: &'static str, kind: &str) -> Result<MediaKind, ZapiniError> {
    match kind.to_ascii_lowercase().as_str() {
        "image" => Ok(MediaKind::Image),
        "video" => Ok(MediaKind::Video),
        "audio" => Ok(MediaKind::Audio),
        "document" => Ok(MediaKind::Document),
        _ => Err(ZapiniError::invalid(field, format!("{field} must be one of image, video, audio, document"))),
    }
}

pub fn send_reaction(raw: &Bytes) -> Result<SendReaction, ZapiniError> {
    let o = object(raw)?;
    Ok(SendReaction {
        instance_id: instance_id(&o)?,
        to: recipient(&o, &["to", "recipient", "number"])?,
        message_id: message_id(&o, "messageId")?,
        emoji: emoji(&o)?,
    })
}

/// The `emoji` field: one emoji.
pub fn emoji(o: &Object) -> Result<String, ZapiniError> {
    let emoji = string(o, "emoji", MAX_REACTION_CHARS)?.ok_or_else(|| required("emoji"))?;
    // Emoji are outside ASCII, except the base of a keycap ("1️⃣"), followed by selectors.
    let ascii_ok = |c: char| !c.is_ascii() || c.is_ascii_digit() || c == '#' || c == '*';
    if !emoji.chars().all(ascii_ok) || emoji.is_ascii() || emoji.chars().any(char::is_whitespace) {
        return Err(ZapiniError::invalid("emoji", "emoji must be one emoji, like 👍"));
    }
    Ok(emoji)
}

/// `PATCH /chat/messages/{id} {message}`: the new text.
pub fn edited_text(raw: &Bytes) -> Result<String, ZapiniError> {
    string(&object(raw)?, "message", MAX_TEXT_CHARS)?.ok_or_else(|| required("message"))
}

/// The body as a JSON object (an empty body is an empty object, for routes without one).
pub fn object(raw: &Bytes) -> Result<Object, ZapiniError> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Ok(Object::new());
    }
    match serde_json::from_slice::<Value>(raw) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(_) => Err(ZapiniError::invalid("body", "the body must be a JSON object")),
        Err(e) => Err(ZapiniError::invalid("body", format!("the body is not JSON: {e}"))),
    }
}

pub fn required(field: &'static str) -> ZapiniError {
    ZapiniError::invalid(field, format!("the {field} field is required"))
}

/// An optional non-empty string of at most `max_chars` characters (`null` is absent).
pub fn string(o: &Object, field: &'static str, max_chars: usize) -> Result<Option<String>, ZapiniError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => {
            Err(ZapiniError::invalid(field, format!("the {field} field must not be empty")))
        }
        Some(Value::String(s)) if s.chars().count() > max_chars => Err(ZapiniError::invalid(
            field,
            format!("the {field} field must not be longer than {max_chars} characters"),
        )),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ZapiniError::invalid(field, format!("the {field} field must be a string"))),
    }
}

/// The first of `fields` (aliases) that is present, with the name it was given under.
fn first(o: &Object, fields: &[&'static str], max_chars: usize) -> Result<Option<(&'static str, String)>, ZapiniError> {
    for f in fields {
        if let Some(v) = string(o, f, max_chars)? {
            return Ok(Some((f, v)));
        }
    }
    Ok(None)
}

fn instance_id(o: &Object) -> Result<Option<String>, ZapiniError> {
    string(o, "instance_id", MAX_INSTANCE_ID_CHARS)
}

fn reply_to(o: &Object) -> Result<Option<String>, ZapiniError> {
    Ok(first(o, &["reply_to", "quoted_message_id"], MAX_MESSAGE_ID_CHARS)?.map(|(_, v)| v.trim().to_owned()))
}

pub fn message_id(o: &Object, field: &'static str) -> Result<String, ZapiniError> {
    Ok(string(o, field, MAX_MESSAGE_ID_CHARS)?.ok_or_else(|| required(field))?.trim().to_owned())
}

/// The recipient under the first of `aliases` present, as a WhatsApp id.
fn recipient(o: &Object, aliases: &[&'static str]) -> Result<Phone, ZapiniError> {
    let (field, raw) = first(o, aliases, 128)?.ok_or_else(|| required(aliases[0]))?;
    phone(field, &raw)
}

/// A number (`+55 11 …`, digits, `…@s.whatsapp.net`) or a group (`…@g.us`) as the core's id.
pub fn phone(field: &'static str, raw: &str) -> Result<Phone, ZapiniError> {
    let raw = raw.trim();
    let id = match (raw.strip_suffix("@s.whatsapp.net"), raw.strip_suffix("@g.us")) {
        (Some(number), _) => number.to_owned(),
        // An older group id (`<creator>-<time>`) is kept as it is.
        (_, Some(group)) if group.contains('-') => group.to_owned(),
        (_, Some(group)) => format!("{group}-group"),
        _ => raw.to_owned(),
    };
    Phone::normalize(&id).map_err(|e| {
        ZapiniError::invalid(
            field,
            format!("the {field} field must be a WhatsApp number with country code (like 5511999999999) or a group (…@g.us): {e}"),
        )
    })
}

/// How the core's id is written back in Zapini's answers: a group as `…@g.us`, a contact as
/// `…@s.whatsapp.net`.
pub fn jid(phone: &Phone) -> String {
    phone.jid()
}

/// A list of participants (`"participants": ["5511…", …]`), each a contact number.
pub fn participants(o: &Object) -> Result<Vec<Phone>, ZapiniError> {
    let list = match o.get("participants") {
        Some(Value::Array(a)) if !a.is_empty() => a,
        Some(Value::Array(_)) => {
            return Err(ZapiniError::invalid("participants", "the participants field must not be empty"))
        }
        None | Some(Value::Null) => return Err(required("participants")),
        Some(_) => {
            return Err(ZapiniError::invalid("participants", "the participants field must be an array of numbers"))
        }
    };
    if list.len() > 1024 {
        return Err(ZapiniError::invalid("participants", "a group holds at most 1024 participants"));
    }
    list.iter()
        .map(|p| match p {
            Value::String(s) => phone("participants", s).and_then(|p| match p.is_group() {
                true => Err(ZapiniError::invalid("participants", "participants are numbers, not groups")),
                false => Ok(p),
            }),
            Value::Number(n) => phone("participants", &n.to_string()),
            _ => Err(ZapiniError::invalid("participants", "each participant must be a number written as a string")),
        })
        .collect()
}

/// A document's extension: its file name's, else its URL path's; letters and digits only.
fn document_extension(file_name: Option<&str>, url: &str) -> Result<String, ZapiniError> {
    let from = |name: &str| name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let path = url.split(['?', '#']).next().unwrap_or("");
    let last = path.rsplit('/').next().unwrap_or("");
    let ext = file_name.and_then(from).or_else(|| from(last));
    match ext {
        Some(e) if !e.is_empty() && e.len() <= 10 && e.bytes().all(|b| b.is_ascii_alphanumeric()) => Ok(e),
        _ => Err(ZapiniError::invalid(
            "filename",
            "a document needs an extension: give filename (like report.pdf) or a media_url ending in one",
        )),
    }
}
