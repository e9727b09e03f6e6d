//! The media routes (seed 001, lines 2055–2690): send-image, send-sticker, send-gif,
//! send-audio, send-video, send-ptv and send-document/{extension}. The media field holds a URL
//! (stored with the message, fetched when it leaves) or base64 data, which is decoded, sniffed
//! (its real type must fit the route), stored and fsync'd before the message is queued.

use super::super::fields::{self, MediaText};
use super::super::{Call, ZapiError};
use super::envelope;
use crate::media::MediaKind;
use crate::queue::content::{Media, MediaSource};
use crate::queue::{Content, OutboundMessage};

/// Longest caption WhatsApp shows.
const MAX_CAPTION_CHARS: usize = 1_024;
/// Longest document file name.
const MAX_FILE_NAME_CHARS: usize = 255;
/// Longest document extension in the route.
const MAX_EXTENSION_CHARS: usize = 10;

/// The body field that carries the file for each kind.
pub fn field(kind: MediaKind) -> &'static str {
    kind.as_str()
}

pub async fn parse(call: &Call<'_>, kind: MediaKind, extension: Option<String>) -> Result<OutboundMessage, ZapiError> {
    let field = field(kind);
    let (o, media) = read_body(call, field).await?;
    let phone = fields::phone(&o, "phone")?;
    let extension = extension.map(check_extension).transpose()?;
    let caption = fields::text(&o, "caption", MAX_CAPTION_CHARS, false)?;
    let file_name = fields::text(&o, "fileName", MAX_FILE_NAME_CHARS, false)?;
    let view_once = fields::optional_boolean(&o, "viewOnce")?.unwrap_or(false);
    let sticker_author = match kind {
        MediaKind::Sticker => sticker_author(&o)?,
        _ => None,
    };
    let media_text = media.ok_or_else(|| ZapiError::invalid("Invalid field", format!("{field} is required")))?;
    let mut message = OutboundMessage::new(call.instance.id, phone, Content::text(""));
    envelope::read(&o, &mut message)?;
    if kind == MediaKind::Document {
        edited_document(&o, &mut message)?;
    }
    let source = match media_text {
        MediaText::Url(url) => MediaSource::Url { url },
        MediaText::Base64 { body, range } => {
            // JSON escapes in the field (PHP writes every `/` as `\/`) made a second copy of
            // it: that copy takes its own room in the upload budget.
            let copied = body.as_ptr() != call.body.as_ptr();
            let _room = match copied {
                true => Some(call.app.media.upload_room(body.len() as u64).ok_or(ZapiError::UploadsBusy)?),
                false => None,
            };
            MediaSource::Stored(store(call, kind, field, body, range, sticker_author.as_deref()).await?)
        }
    };
    let media = Media { kind, source, caption, file_name, extension, view_once, sticker_author };
    message.content = Content::Media(Box::new(media));
    Ok(message)
}

/// send-sticker's `stickerAuthor` (seed 001): the author WhatsApp shows under the sticker,
/// written into its file ([`crate::media::sticker`]); blank is none.
fn sticker_author(o: &fields::Object) -> Result<Option<String>, ZapiError> {
    let author = fields::text(o, "stickerAuthor", crate::media::sticker::MAX_AUTHOR_CHARS, false)?;
    Ok(author.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()))
}

/// `editDocumentMessageId` (Z-API's documentation since 2025-09, send-document only): the
/// send edits that earlier document — WhatsApp changes only its caption — as `editMessageId`
/// does for any send. Both given must name the same message.
fn edited_document(o: &fields::Object, message: &mut OutboundMessage) -> Result<(), ZapiError> {
    let id = fields::text(o, "editDocumentMessageId", envelope::MAX_MESSAGE_ID_CHARS, false)?;
    let Some(id) = id.map(|i| i.trim().to_owned()).filter(|i| !i.is_empty()) else { return Ok(()) };
    if message.edit_message_id.as_ref().is_some_and(|other| *other != id) {
        return Err(ZapiError::invalid(
            "Invalid field",
            "editDocumentMessageId and editMessageId name different messages: give one of them",
        ));
    }
    message.edit_message_id = Some(id);
    Ok(())
}

/// Bodies above this are parsed on the blocking pool: checking tens of MB of JSON would hold the
/// event loop for milliseconds.
const PARSE_ASIDE_BYTES: usize = 1024 * 1024;

pub(crate) async fn read_body(
    call: &Call<'_>,
    field: &'static str,
) -> Result<(fields::Object, Option<MediaText>), ZapiError> {
    if call.body.len() <= PARSE_ASIDE_BYTES {
        return fields::object_with_media(&call.body, field);
    }
    let body = call.body.clone();
    tokio::task::spawn_blocking(move || fields::object_with_media(&body, field)).await.map_err(|e| {
        ZapiError::Media { field, error: crate::media::MediaError::Io(format!("parse task failed: {e}")) }
    })?
}

/// Stores the base64 file at `body[range]`; a sticker is made one WhatsApp takes, with its
/// author ([`crate::media::Media::put_sticker_base64`]).
pub(crate) async fn store(
    call: &Call<'_>,
    kind: MediaKind,
    field: &'static str,
    body: bytes::Bytes,
    range: std::ops::Range<usize>,
    sticker_author: Option<&str>,
) -> Result<crate::media::StoredMedia, ZapiError> {
    let stored = match kind {
        MediaKind::Sticker => call.app.media.put_sticker_base64(body, range, sticker_author).await,
        _ => call.app.media.put_base64(kind, body, range).await,
    };
    stored.map_err(|error| ZapiError::Media { field, error })
}

fn check_extension(ext: String) -> Result<String, ZapiError> {
    let ok = !ext.is_empty() && ext.len() <= MAX_EXTENSION_CHARS && ext.bytes().all(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(ext.to_ascii_lowercase())
    } else {
        Err(ZapiError::invalid(
            "Invalid field",
            format!("extension (send-document/{{extension}}) must be 1 to {MAX_EXTENSION_CHARS} letters or digits, like pdf"),
        ))
    }
}
