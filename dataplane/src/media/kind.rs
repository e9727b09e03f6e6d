//! `MediaKind`: what a media message is to the chat network (the Z-API route that sent it or
//! the type of a received one). Limits and accepted content types hang off the kind; this
//! module owns only the names, never I/O.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum MediaKind {
    Image,
    Sticker,
    /// Z-API sends GIFs as looping MP4 videos.
    Gif,
    Audio,
    Video,
    /// A round "video note" (push-to-talk video).
    Ptv,
    Document,
}

impl MediaKind {
    pub const ALL: [MediaKind; 7] = [
        MediaKind::Image,
        MediaKind::Sticker,
        MediaKind::Gif,
        MediaKind::Audio,
        MediaKind::Video,
        MediaKind::Ptv,
        MediaKind::Document,
    ];

    /// Bounded label for metrics and the field name stem Z-API uses (`image`, `audio`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            MediaKind::Image => "image",
            MediaKind::Sticker => "sticker",
            MediaKind::Gif => "gif",
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Ptv => "ptv",
            MediaKind::Document => "document",
        }
    }
}
