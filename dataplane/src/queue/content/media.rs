//! Media messages (send-image, -sticker, -gif, -audio, -video, -ptv, -document): the file is
//! either already in the media store (sent as base64) or a URL fetched when the message
//! leaves.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::media::{Digest, MediaKind, StoredMedia};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "from", rename_all = "camelCase")]
pub enum MediaSource {
    /// Sent inline; fsync'd in the media store before the message was accepted.
    Stored(StoredMedia),
    /// Fetched (bounded, type-checked) when the message is sent.
    Url { url: String },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Media {
    /// Stored as `type` (the content's own tag is `kind`).
    #[serde(rename = "type")]
    pub kind: MediaKind,
    pub source: MediaSource,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Documents: the file name shown to the recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    /// Documents: the extension named in the route (`send-document/pdf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub view_once: bool,
    /// Stickers: the author WhatsApp shows under it (send-sticker's `stickerAuthor`), written
    /// into the file's EXIF ([`crate::media::sticker`]): already in a stored file (sent as
    /// base64) when the message was accepted, into a fetched one when it leaves.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sticker_author: Option<String>,
}

impl Media {
    pub fn stored_digest(&self) -> Option<Digest> {
        match &self.source {
            MediaSource::Stored(s) => Some(s.digest),
            MediaSource::Url { .. } => None,
        }
    }

    /// A sticker sent by URL, with its author: its file is fetched and made a sticker WhatsApp
    /// takes when it leaves ([`crate::media::Media::fetch_sticker`]), on every network.
    pub fn sticker_to_fetch(&self) -> Option<(&str, Option<&str>)> {
        match &self.source {
            MediaSource::Url { url } if self.kind == MediaKind::Sticker => Some((url, self.sticker_author.as_deref())),
            _ => None,
        }
    }

    /// The file name the recipient sees: the one given, else `file.<extension>` of the route.
    pub fn shown_file_name(&self) -> String {
        self.file_name.clone().unwrap_or_else(|| match &self.extension {
            Some(ext) => format!("file.{ext}"),
            None => "file".to_owned(),
        })
    }

    pub fn preview(&self) -> Cow<'_, str> {
        match (&self.caption, &self.file_name) {
            (Some(c), _) if !c.is_empty() => Cow::Borrowed(c),
            (_, Some(f)) => Cow::Borrowed(f),
            _ => Cow::Borrowed(""),
        }
    }
}
