//! body: one queued message as the body of `POST /{phone-number-id}/messages` (Meta's Cloud
//! API reference, "Messages"): `messaging_product: "whatsapp"`, `recipient_type`, `to`, `type`
//! and the type's object; `context.message_id` for a reply; `biz_opaque_callback_data` with our
//! message id, which every status notification about the message carries back. What the Cloud
//! API cannot express is refused here with [`Unsupported`], naming it. Media are resolved
//! through [`super::media`] (upload once, or `link`); message ids the integrator names (reply,
//! reaction, read) are turned into the network's wamids through [`super::ids`]. Runs inside a
//! send task on the shard's thread.

use chatedge_config::phone::PhoneKind;
use chatedge_config::snapshot::CloudApiAccount;
use chatedge_config::{InstanceId, MessageId};
use serde_json::{json, Map, Value};

use super::errors::Unsupported;
use super::graph::GraphError;
use super::media::{media_id, picture_media_id, sticker_media_id, UploadError};
use super::{ids, CloudApiDeps};
use crate::media::MediaKind;
use crate::queue::content::card::{ContactCard, LinkPreview};
use crate::queue::content::interactive::{answer_id, ActionButton, ButtonMedia, ListOption, ReplyButton};
use crate::queue::content::{Action, Card, Interactive, Media, MediaSource, Template};
use crate::queue::{Content, OutboundMessage};

/// Reply buttons one interactive message may carry (Cloud API: "maximum of 3 buttons").
pub const MAX_REPLY_BUTTONS: usize = 3;
/// Rows of a list message, over all sections (Cloud API: "maximum of 10 rows").
pub const MAX_LIST_ROWS: usize = 10;
/// A button's or row's title (Cloud API: 20 and 24 characters).
const MAX_BUTTON_TITLE: usize = 20;
const MAX_ROW_TITLE: usize = 24;

/// Why a body could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error(transparent)]
    Unsupported(#[from] Unsupported),
    #[error(transparent)]
    Upload(#[from] UploadError),
}

impl From<GraphError> for BodyError {
    fn from(e: GraphError) -> Self {
        BodyError::Upload(UploadError::Graph(e))
    }
}

/// What a message's content needs from the network's side, before any I/O: `Ok` when the
/// Cloud API can express it. The Z-API send path asks this before queueing.
pub fn expressible(message: &OutboundMessage) -> Result<(), Unsupported> {
    recipient(message)?;
    if message.edit_message_id.is_some() {
        return Err(Unsupported::new("editing a sent message"));
    }
    if !message.mentioned.is_empty() || !message.group_mentioned.is_empty() {
        return Err(Unsupported::new("mentions"));
    }
    match &message.content {
        Content::Text { .. } | Content::Template(_) => Ok(()),
        Content::Media(m) => media_kind(m).map(|_| ()),
        Content::Card(c) => card_kind(c),
        Content::Action(a) => action_kind(a),
        Content::Interactive(i) => interactive_kind(i),
    }
}

fn recipient(message: &OutboundMessage) -> Result<(), Unsupported> {
    match message.phone.kind() {
        PhoneKind::Contact => Ok(()),
        PhoneKind::Group => Err(Unsupported::new("groups")),
        PhoneKind::Lid => Err(Unsupported::new("sending to a WhatsApp id (@lid); use the phone number")),
        PhoneKind::Newsletter => Err(Unsupported::new("channels")),
        PhoneKind::StatusBroadcast => Err(Unsupported::new("status posts")),
    }
}

fn media_kind(m: &Media) -> Result<&'static str, Unsupported> {
    if m.view_once {
        return Err(Unsupported::new("view-once media"));
    }
    if let MediaSource::Stored(file) = &m.source {
        taken_type(m.kind, &file.mime)?;
    }
    match m.kind {
        MediaKind::Image => Ok("image"),
        MediaKind::Sticker => Ok("sticker"),
        MediaKind::Audio => Ok("audio"),
        // Z-API's GIFs are looping MP4s; the Cloud API plays them as a video.
        MediaKind::Video | MediaKind::Gif => Ok("video"),
        MediaKind::Document => Ok("document"),
        MediaKind::Ptv => Err(Unsupported::new("video notes (send-ptv)")),
    }
}

/// Meta's media table for the kinds chatedge does not convert: videos are MP4 or 3GP, audio
/// AAC, AMR, MP3, M4A or Ogg. A stored file of another type (a MOV, AVI, MKV or 3GPP2 video, a
/// WAV audio, which the send routes accept after Z-API's media table) is refused here rather
/// than by Meta after it was queued; one given by URL is Meta's to judge. Pictures and
/// stickers are made what Meta takes ([`source_object`], [`media_object`]); documents may be
/// anything.
fn taken_type(kind: MediaKind, mime: &str) -> Result<(), Unsupported> {
    let base = mime.split(';').next().unwrap_or_default().trim();
    let (taken, what): (&[&str], &str) = match kind {
        MediaKind::Video | MediaKind::Gif => (&["video/mp4", "video/3gpp"], "videos are MP4 or 3GP"),
        MediaKind::Audio => (
            &["audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"],
            "audio is AAC, AMR, MP3, M4A or Ogg Opus",
        ),
        _ => return Ok(()),
    };
    match taken.contains(&base) {
        true => Ok(()),
        false => Err(Unsupported::new(format!("{base} {} (its {what})", kind_noun(kind)))),
    }
}

fn kind_noun(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Gif => "GIFs",
        _ => "videos",
    }
}

fn card_kind(c: &Card) -> Result<(), Unsupported> {
    match c {
        Card::Link { .. } | Card::Location { .. } | Card::Contact(_) | Card::Contacts { .. } => Ok(()),
        Card::NewsletterAdminInvite { .. } => Err(Unsupported::new("channel admin invitations")),
    }
}

fn action_kind(a: &Action) -> Result<(), Unsupported> {
    match a {
        Action::Reaction { .. } | Action::RemoveReaction { .. } | Action::Read { .. } => Ok(()),
        Action::Delete { .. } => Err(Unsupported::new("deleting messages")),
        Action::Pin { .. } => Err(Unsupported::new("pinning messages")),
        Action::Forward { .. } => Err(Unsupported::new("forwarding messages")),
    }
}

fn interactive_kind(i: &Interactive) -> Result<(), Unsupported> {
    match i {
        Interactive::ButtonList { buttons, .. } if buttons.len() > MAX_REPLY_BUTTONS => {
            Err(Unsupported::new(format!("more than {MAX_REPLY_BUTTONS} reply buttons ({} given)", buttons.len())))
        }
        Interactive::ButtonList { .. } => Ok(()),
        Interactive::ButtonActions { buttons, .. } => action_buttons(buttons).map(|_| ()),
        Interactive::OptionList { options, .. } if options.len() > MAX_LIST_ROWS => {
            Err(Unsupported::new(format!("lists of more than {MAX_LIST_ROWS} options ({} given)", options.len())))
        }
        Interactive::OptionList { .. } => Ok(()),
        other => Err(Unsupported::new(format!("{} messages", other.label()))),
    }
}

/// How send-button-actions' buttons map: only REPLY buttons (≤3) → reply buttons; one URL
/// button alone → a call-to-action URL button. CALL buttons and mixes have no Cloud API form.
enum ActionsForm<'a> {
    Replies(Vec<(String, &'a str)>),
    Url { label: &'a str, url: &'a str },
}

fn action_buttons(buttons: &[ActionButton]) -> Result<ActionsForm<'_>, Unsupported> {
    if let [ActionButton::Url { label, url, .. }] = buttons {
        return Ok(ActionsForm::Url { label, url });
    }
    let mut replies = Vec::new();
    for (n, b) in buttons.iter().enumerate() {
        match b {
            ActionButton::Reply { id, label } => replies.push((answer_id(id, n), label.as_str())),
            ActionButton::Call { .. } => return Err(Unsupported::new("CALL buttons")),
            ActionButton::Url { .. } => {
                return Err(Unsupported::new("URL buttons together with other buttons (one URL button alone works)"))
            }
        }
    }
    if replies.len() > MAX_REPLY_BUTTONS {
        return Err(Unsupported::new(format!("more than {MAX_REPLY_BUTTONS} reply buttons ({} given)", replies.len())));
    }
    Ok(ActionsForm::Replies(replies))
}

/// The network's id of a message the integrator named: our message id of a message this
/// instance sent (looked up), or — for messages it received — the wamid it was told.
pub fn wamid_of(deps: &CloudApiDeps, instance: &InstanceId, id: &str) -> String {
    if let Ok(ours) = MessageId::parse(id) {
        if let Ok(Some(wamid)) = ids::theirs(&deps.store, instance, &ours) {
            return wamid;
        }
    }
    id.to_owned()
}

/// The request body for `message`, or why there is none. `Action::Read` is not a message on
/// this network: [`read_body`] is its body.
pub async fn build(
    deps: &CloudApiDeps,
    account: &CloudApiAccount,
    message: &OutboundMessage,
) -> Result<Value, BodyError> {
    expressible(message)?;
    let instance = &message.instance;
    let (kind, object) = match &message.content {
        Content::Text { message: text, preview } => ("text", text_object(text, preview.as_ref().map(|p| &p.url))),
        Content::Media(m) => {
            let kind = media_kind(m)?;
            (kind, media_object(deps, account, m).await?)
        }
        Content::Card(c) => card(c)?,
        Content::Action(a) => match a.as_ref() {
            Action::Reaction { message_id, reaction } => {
                ("reaction", json!({"message_id": wamid_of(deps, instance, message_id), "emoji": reaction}))
            }
            Action::RemoveReaction { message_id } => {
                ("reaction", json!({"message_id": wamid_of(deps, instance, message_id), "emoji": ""}))
            }
            other => return Err(Unsupported::new(other.label()).into()),
        },
        Content::Interactive(i) => ("interactive", interactive(deps, account, i).await?),
        Content::Template(t) => ("template", template(t)),
    };
    let mut body = Map::new();
    body.insert("messaging_product".into(), json!("whatsapp"));
    body.insert("recipient_type".into(), json!("individual"));
    body.insert("to".into(), json!(message.phone.as_str()));
    body.insert("type".into(), json!(kind));
    body.insert(kind.into(), object);
    if let Some(reply_to) = &message.reply_to {
        body.insert("context".into(), json!({"message_id": wamid_of(deps, instance, reply_to)}));
    }
    body.insert("biz_opaque_callback_data".into(), json!(message.message_id.to_string()));
    Ok(Value::Object(body))
}

/// Marks a received message as read (Cloud API: `{"status": "read", "message_id"}`).
pub fn read_body(wamid: &str) -> Value {
    json!({"messaging_product": "whatsapp", "status": "read", "message_id": wamid})
}

fn text_object(text: &str, link: Option<&String>) -> Value {
    let has_link = link.is_some() || text.contains("http://") || text.contains("https://");
    let body = match link {
        Some(url) if !text.contains(url.as_str()) => format!("{text}\n{url}"),
        _ => text.to_owned(),
    };
    json!({"preview_url": has_link, "body": body})
}

async fn media_object(deps: &CloudApiDeps, account: &CloudApiAccount, m: &Media) -> Result<Value, BodyError> {
    let name = m.shown_file_name();
    let mut o = match m.sticker_to_fetch() {
        Some((url, author)) => {
            let made = deps.media.fetch_sticker(url, author).await.map_err(UploadError::Made)?;
            source_object(deps, account, m.kind, &MediaSource::Stored(made), &name).await?
        }
        None => source_object(deps, account, m.kind, &m.source, &name).await?,
    };
    let captioned = matches!(m.kind, MediaKind::Image | MediaKind::Video | MediaKind::Gif | MediaKind::Document);
    if let (true, Some(caption)) = (captioned, m.caption.as_ref().filter(|c| !c.is_empty())) {
        o.insert("caption".into(), json!(caption));
    }
    if m.kind == MediaKind::Document {
        o.insert("filename".into(), json!(name));
    }
    Ok(Value::Object(o))
}

/// The largest image the Cloud API takes: Meta's "5 MB", read as the smaller of 5,000,000 bytes
/// and 5 MiB.
pub const MAX_IMAGE_BYTES: u64 = 5_000_000;
/// The largest stickers the Cloud API takes: Meta's "100 KB" for a still one and "500 KB" for an
/// animated one, read as thousands of bytes (the smaller reading, as for images).
pub const MAX_STILL_STICKER_BYTES: u64 = 100_000;
pub const MAX_ANIMATED_STICKER_BYTES: u64 = 500_000;

/// `{"id": …}` for a stored file (uploaded once), `{"link": …}` for a URL. The Cloud API takes
/// only JPEG and PNG pictures of at most [`MAX_IMAGE_BYTES`]: a stored GIF or WebP picture, or
/// one over that size, is made a JPEG before it is uploaded, and one whose URL names a GIF,
/// WebP or SVG (which Meta's servers would fetch and refuse) is fetched here, made a JPEG or
/// drawn as a PNG, and uploaded.
async fn source_object(
    deps: &CloudApiDeps,
    account: &CloudApiAccount,
    kind: MediaKind,
    source: &MediaSource,
    name: &str,
) -> Result<Map<String, Value>, BodyError> {
    let mut o = Map::new();
    match source {
        MediaSource::Stored(file) if kind == MediaKind::Image => {
            o.insert("id".into(), json!(picture_media_id(deps, account, file, name, MAX_IMAGE_BYTES).await?));
        }
        MediaSource::Stored(file) if kind == MediaKind::Sticker => {
            o.insert("id".into(), json!(sticker_media_id(deps, account, file, name).await?));
        }
        MediaSource::Stored(file) => {
            o.insert("id".into(), json!(media_id(deps, account, file, name).await?));
        }
        MediaSource::Url { url } if kind == MediaKind::Image && crate::media::picture::names_unlinkable(url) => {
            let made = deps.media.fetch_stored_picture(url, MAX_IMAGE_BYTES).await.map_err(UploadError::Made)?;
            o.insert("id".into(), json!(media_id(deps, account, &made, name).await?));
        }
        MediaSource::Url { url } => {
            o.insert("link".into(), json!(url));
        }
    }
    Ok(o)
}

fn card(c: &Card) -> Result<(&'static str, Value), Unsupported> {
    Ok(match c {
        Card::Link { message, preview, .. } => ("text", link_text(message, preview)),
        Card::Location { latitude, longitude, title, address } => {
            ("location", json!({"latitude": latitude, "longitude": longitude, "name": title, "address": address}))
        }
        Card::Contact(one) => ("contacts", Value::Array(vec![contact(one)])),
        Card::Contacts { contacts } => ("contacts", Value::Array(contacts.iter().map(contact).collect())),
        Card::NewsletterAdminInvite { .. } => return Err(Unsupported::new("channel admin invitations")),
    })
}

fn link_text(message: &str, preview: &LinkPreview) -> Value {
    text_object(message, Some(&preview.url))
}

/// A contact card: the Cloud API wants a formatted name and at least a first name.
fn contact(c: &ContactCard) -> Value {
    let first = c.name.split_whitespace().next().unwrap_or(&c.name);
    let phones: Vec<Value> = c
        .phones
        .iter()
        .map(|p| json!({"phone": format!("+{}", p.as_str()), "type": "CELL", "wa_id": p.as_str()}))
        .collect();
    let mut v = json!({"name": {"formatted_name": c.name, "first_name": first}, "phones": phones});
    if let Some(d) = c.business_description.as_ref().filter(|d| !d.is_empty()) {
        v["org"] = json!({"company": d});
    }
    v
}

async fn interactive(deps: &CloudApiDeps, account: &CloudApiAccount, i: &Interactive) -> Result<Value, BodyError> {
    match i {
        Interactive::ButtonList { message, media, buttons } => {
            let mut v = reply_buttons(message, buttons.iter().enumerate().map(reply_of).collect());
            if let Some(m) = media {
                v["header"] = header(deps, account, m).await?;
            }
            Ok(v)
        }
        Interactive::ButtonActions { message, title, footer, buttons } => {
            let mut v = match action_buttons(buttons)? {
                ActionsForm::Replies(replies) => reply_buttons(message, replies),
                ActionsForm::Url { label, url } => json!({
                    "type": "cta_url",
                    "body": {"text": message},
                    "action": {"name": "cta_url", "parameters": {"display_text": clip(label, MAX_BUTTON_TITLE), "url": url}},
                }),
            };
            if let Some(f) = footer.as_ref().filter(|f| !f.is_empty()) {
                v["footer"] = json!({"text": f});
            }
            if let Some(t) = title.as_ref().filter(|t| !t.is_empty()) {
                v["header"] = json!({"type": "text", "text": t});
            }
            Ok(v)
        }
        Interactive::OptionList { message, title, button_label, options } => {
            Ok(list(message, title, button_label, options))
        }
        other => Err(Unsupported::new(format!("{} messages", other.label())).into()),
    }
}

fn reply_of((n, b): (usize, &ReplyButton)) -> (String, &str) {
    (answer_id(&b.id, n), b.label.as_str())
}

fn reply_buttons(text: &str, replies: Vec<(String, &str)>) -> Value {
    let buttons: Vec<Value> = replies
        .into_iter()
        .map(|(id, title)| json!({"type": "reply", "reply": {"id": id, "title": clip(title, MAX_BUTTON_TITLE)}}))
        .collect();
    json!({"type": "button", "body": {"text": text}, "action": {"buttons": buttons}})
}

async fn header(deps: &CloudApiDeps, account: &CloudApiAccount, m: &ButtonMedia) -> Result<Value, BodyError> {
    let kind = match m.kind {
        MediaKind::Video | MediaKind::Gif => "video",
        MediaKind::Image => "image",
        MediaKind::Document => "document",
        other => return Err(Unsupported::new(format!("{} headers on buttons", other.as_str())).into()),
    };
    let object = source_object(deps, account, m.kind, &m.source, "header").await?;
    Ok(json!({"type": kind, kind: object}))
}

fn list(text: &str, title: &str, button: &str, options: &[ListOption]) -> Value {
    let rows: Vec<Value> = options
        .iter()
        .enumerate()
        .map(|(n, o)| {
            let id = answer_id(&o.id, n);
            let mut row = json!({"id": id, "title": clip(&o.title, MAX_ROW_TITLE)});
            if !o.description.is_empty() {
                row["description"] = json!(o.description);
            }
            row
        })
        .collect();
    let mut v = json!({
        "type": "list",
        "body": {"text": text},
        "action": {"button": clip(button, MAX_BUTTON_TITLE), "sections": [{"title": clip(title, MAX_ROW_TITLE), "rows": rows}]},
    });
    if !title.is_empty() {
        v["header"] = json!({"type": "text", "text": title});
    }
    v
}

fn template(t: &Template) -> Value {
    let mut v = json!({"name": t.name, "language": {"code": t.language}});
    if !t.components.is_empty() {
        v["components"] = Value::Array(t.components.clone());
    }
    v
}

/// At most `max` characters of `s` (the network refuses longer titles outright).
fn clip(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
