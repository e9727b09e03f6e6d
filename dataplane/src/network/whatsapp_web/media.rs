//! Files through the WhatsApp Web connector. Sent: a queued media message's file (or the
//! picture above its buttons, or a carousel card's) is handed to the connector as a
//! [`QueuedFile`], read from the media store (sent as base64) or fetched from its URL (bounded
//! and type-checked like every fetch; an SVG picture drawn as PNG) only when the message's turn
//! on the line comes; the engine uploads it. Received: the file the engine downloaded is put in the media store before
//! the message reaches its shard, so the ReceivedCallback links to it like any received media.
//! It never talks to WhatsApp itself: the engine does.

use std::sync::Arc;

use bytes::Bytes;
use chatedge_whatsapp_web as wa;

use crate::media::{Media, MediaKind};
use crate::network::incoming::{
    IncomingContent, ReceivedAudio, ReceivedDocument, ReceivedImage, ReceivedSticker, ReceivedVideo,
};
use crate::network::IncomingMessage;
use crate::queue::content::{Media as QueuedMedia, MediaSource};

/// The wire's kind of a queued message's media. Z-API's send-audio arrives as a voice message
/// (its typing status says "recording audio…").
pub fn wire_kind(kind: MediaKind) -> wa::MediaKind {
    match kind {
        MediaKind::Image => wa::MediaKind::Image,
        MediaKind::Sticker => wa::MediaKind::Sticker,
        MediaKind::Gif => wa::MediaKind::Gif,
        MediaKind::Audio => wa::MediaKind::Voice,
        MediaKind::Video => wa::MediaKind::Video,
        MediaKind::Ptv => wa::MediaKind::Ptv,
        MediaKind::Document => wa::MediaKind::Document,
    }
}

/// The data plane's kind of a received file.
pub fn our_kind(kind: wa::MediaKind) -> MediaKind {
    match kind {
        wa::MediaKind::Image => MediaKind::Image,
        wa::MediaKind::Video => MediaKind::Video,
        wa::MediaKind::Gif => MediaKind::Gif,
        wa::MediaKind::Ptv => MediaKind::Ptv,
        wa::MediaKind::Audio | wa::MediaKind::Voice => MediaKind::Audio,
        wa::MediaKind::Document => MediaKind::Document,
        wa::MediaKind::Sticker => MediaKind::Sticker,
    }
}

/// A queued media message as the connector takes it.
pub fn to_send(message: &QueuedMedia, media: &Arc<Media>) -> wa::MediaToSend {
    wa::MediaToSend {
        kind: wire_kind(message.kind),
        file: Arc::new(QueuedFile {
            media: media.clone(),
            kind: message.kind,
            source: message.source.clone(),
            author: message.sticker_author.clone(),
        }),
        caption: message.caption.clone(),
        file_name: (message.kind == MediaKind::Document).then(|| message.shown_file_name()),
        view_once: message.view_once,
    }
}

/// A queued message's file of `kind` from `source`, as the connector reads it.
pub fn queued_file(media: &Arc<Media>, kind: MediaKind, source: &MediaSource) -> Arc<dyn wa::MediaFile> {
    Arc::new(QueuedFile { media: media.clone(), kind, source: source.clone(), author: None })
}

/// A queued message's file, read when the line gets to it.
pub struct QueuedFile {
    media: Arc<Media>,
    kind: MediaKind,
    source: MediaSource,
    /// A sticker's author (a sticker by URL is made one WhatsApp takes when it is fetched).
    author: Option<String>,
}

impl wa::MediaFile for QueuedFile {
    fn read(&self) -> wa::BoxFuture<'_, Result<wa::FileData, String>> {
        Box::pin(async move {
            let read = match &self.source {
                MediaSource::Stored(stored) => self.stored(stored).await,
                MediaSource::Url { url } if self.kind == MediaKind::Sticker => {
                    match self.media.fetch_sticker(url, self.author.as_deref()).await {
                        Ok(stored) => self.stored(&stored).await,
                        Err(e) => Err(e),
                    }
                }
                MediaSource::Url { url } => match self.media.fetch_to_send(url, self.kind).await {
                    Ok((bytes, mime)) => Ok(wa::FileData { mime, bytes }),
                    Err(e) => Err(e),
                },
            };
            let outcome = if read.is_ok() { "read" } else { "unreadable" };
            self.media.metrics().whatsapp_web_media.with_label_values(&["sent", outcome]).inc();
            read
        })
    }
}

impl QueuedFile {
    async fn stored(&self, stored: &crate::media::StoredMedia) -> Result<wa::FileData, String> {
        match self.media.read_stored(stored.digest).await {
            Ok(bytes) => Ok(wa::FileData { mime: stored.mime.clone(), bytes: bytes.into() }),
            Err(e) => Err(format!("the stored media file cannot be read: {e}")),
        }
    }
}

/// A received media message's content; its file is attached by [`keep`].
pub fn received(
    kind: wa::MediaKind,
    mime: String,
    caption: Option<String>,
    file_name: Option<String>,
    seconds: u32,
    view_once: bool,
) -> IncomingContent {
    let mime_type = Some(mime).filter(|m| !m.is_empty());
    let video = || ReceivedVideo {
        stored: None,
        mime_type: mime_type.clone(),
        caption: caption.clone().unwrap_or_default(),
        seconds,
        view_once,
    };
    match kind {
        wa::MediaKind::Image => IncomingContent::Image(ReceivedImage {
            mime_type,
            caption: caption.unwrap_or_default(),
            view_once,
            ..Default::default()
        }),
        wa::MediaKind::Video => IncomingContent::Video(video()),
        wa::MediaKind::Gif => IncomingContent::Gif(video()),
        wa::MediaKind::Ptv => IncomingContent::Ptv(video()),
        wa::MediaKind::Audio | wa::MediaKind::Voice => IncomingContent::Audio(ReceivedAudio {
            stored: None,
            mime_type,
            ptt: kind == wa::MediaKind::Voice,
            seconds,
            view_once,
        }),
        wa::MediaKind::Document => IncomingContent::Document(ReceivedDocument {
            mime_type,
            title: file_name.clone().unwrap_or_default(),
            file_name: file_name.unwrap_or_default(),
            caption,
            ..Default::default()
        }),
        wa::MediaKind::Sticker => IncomingContent::Sticker(ReceivedSticker { stored: None, mime_type }),
    }
}

/// Puts a received file in the media store and attaches it to `message`; a file the store
/// refuses (larger than `[media]` allows for its kind, or not what its kind says) is left out,
/// and the message goes on without it rather than being lost.
pub async fn keep(media: &Arc<Media>, message: &mut IncomingMessage, file: wa::FileData) {
    let Some(kind) = message.content.media_kind() else { return };
    let outcome = match media.put_bytes(kind, Bytes::from(file.bytes)).await {
        Ok(stored) => {
            message.content.attach(stored);
            "stored"
        }
        Err(e) => {
            tracing::warn!(error = %e, id = %message.id, "whatsapp-web: received file refused by the media store; delivered without it");
            "refused"
        }
    };
    media.metrics().whatsapp_web_media.with_label_values(&["received", outcome]).inc();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_received_kind_becomes_its_received_callbacks_kind_and_each_sent_kind_its_wire_kind() {
        let got = |kind| received(kind, "m/t".into(), Some("c".into()), Some("a.pdf".into()), 9, false);
        type Expected = fn(&IncomingContent) -> bool;
        let cases: [(wa::MediaKind, Expected); 8] = [
            (wa::MediaKind::Image, |c| matches!(c, IncomingContent::Image(i) if i.caption == "c")),
            (wa::MediaKind::Video, |c| matches!(c, IncomingContent::Video(v) if v.seconds == 9 && v.caption == "c")),
            (wa::MediaKind::Gif, |c| matches!(c, IncomingContent::Gif(_))),
            (wa::MediaKind::Ptv, |c| matches!(c, IncomingContent::Ptv(_))),
            (wa::MediaKind::Voice, |c| matches!(c, IncomingContent::Audio(a) if a.ptt && a.seconds == 9)),
            (wa::MediaKind::Audio, |c| matches!(c, IncomingContent::Audio(a) if !a.ptt)),
            (
                wa::MediaKind::Document,
                |c| matches!(c, IncomingContent::Document(d) if d.file_name == "a.pdf" && d.caption.as_deref() == Some("c")),
            ),
            (
                wa::MediaKind::Sticker,
                |c| matches!(c, IncomingContent::Sticker(s) if s.mime_type.as_deref() == Some("m/t")),
            ),
        ];
        for (kind, expected) in cases {
            let content = got(kind);
            assert!(expected(&content), "{kind:?} → {content:?}");
            assert_eq!(content.media_kind(), Some(our_kind(kind)), "{kind:?} is stored under its kind's limits");
        }
        for kind in MediaKind::ALL {
            let back = our_kind(wire_kind(kind));
            assert_eq!(back, kind, "{kind:?} goes out as what comes back as the same kind");
        }
        assert_eq!(wire_kind(MediaKind::Audio), wa::MediaKind::Voice, "Z-API's audio is a voice message");
    }
}
