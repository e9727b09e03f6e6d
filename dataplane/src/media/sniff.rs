//! sniff: what media content really is, judged from its first bytes (magic numbers, via the
//! `infer` crate), and whether that fits the route that sent it. The client's declared type
//! (a data URI's `data:image/png`, a URL's extension, a server's Content-Type) is never
//! trusted. Pure functions on a byte prefix, callable from any thread; no I/O.
//!
//! What each route accepts follows the product's documented media table (seed 002, "Media
//! Limits": images jpg, png, gif, webp; videos mp4, 3gp, mov, avi, mkv; audio mp3, ogg, wav,
//! opus, aac, m4a; documents anything) plus what WhatsApp itself uses: AMR audio (its
//! native voice format), GIFs as MP4 (seed 001, send-gif: "the file must be an MP4"),
//! stickers as WebP (and PNG, which Z-API's own send-sticker example sends), and SVG for
//! images and stickers (Z-API's own examples send `.svg` files; they are drawn as PNG before
//! any network sees them, [`super::svg`]). Formats the network needs converted (a GIF image, a
//! MOV video) are accepted because the seed promises them; converting is the network
//! connector's job, not the edge's.

use super::MediaKind;

/// How many leading bytes [`sniff`] may look at. Every accepted media type is recognised in
/// the first 64 bytes; Matroska needs 256 and Office documents a few KiB.
pub const SNIFF_LEN: usize = 8192;

/// The type of content no signature matched. Only documents accept it.
pub const OCTET_STREAM: &str = "application/octet-stream";

/// The content is not what the route sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MediaTypeError {
    #[error("the {} is {found}; {} accepts {}", noun(*kind), route(*kind), accepted(*kind).join(", "))]
    Wrong { kind: MediaKind, found: &'static str },
    #[error("the {} is of no type this server recognises; {} accepts {}", noun(*kind), route(*kind), accepted(*kind).join(", "))]
    Unknown { kind: MediaKind },
    #[error("the {} is empty", noun(*kind))]
    Empty { kind: MediaKind },
}

/// The MIME type of content starting with `head` (at most [`SNIFF_LEN`] bytes are read), or
/// `None` when no known signature matches. Names are the IANA ones (`audio/mp4` for M4A,
/// `audio/ogg; codecs=opus` for Ogg Opus, as WhatsApp labels voice notes).
pub fn sniff(head: &[u8]) -> Option<&'static str> {
    let head = &head[..head.len().min(SNIFF_LEN)];
    if let Some(mime) = three_gpp(head) {
        return Some(mime);
    }
    // Before `infer`, which knows no SVG (and calls one with an XML declaration `text/xml`).
    if super::svg::is_svg(head) {
        return Some(super::svg::MIME);
    }
    let mime = infer::get(head)?.mime_type();
    Some(match mime {
        "audio/opus" => "audio/ogg; codecs=opus",
        "audio/m4a" => "audio/mp4",
        "audio/x-wav" => "audio/wav",
        "video/x-m4v" => "video/mp4",
        other => other,
    })
}

/// The MIME type of content starting with `head` when it fits `kind`'s route; a document is
/// anything, [`OCTET_STREAM`] when unrecognised. Empty content fits no route.
pub fn check(kind: MediaKind, head: &[u8]) -> Result<&'static str, MediaTypeError> {
    if head.is_empty() {
        return Err(MediaTypeError::Empty { kind });
    }
    match (sniff(head), kind) {
        (found, MediaKind::Document) => Ok(found.unwrap_or(OCTET_STREAM)),
        (Some(found), _) if accepted(kind).contains(&found) => Ok(found),
        (Some(found), _) => Err(MediaTypeError::Wrong { kind, found }),
        (None, _) => Err(MediaTypeError::Unknown { kind }),
    }
}

/// The types `kind`'s route accepts (empty for documents: they accept any).
pub fn accepted(kind: MediaKind) -> &'static [&'static str] {
    const VIDEO: &[&str] =
        &["video/mp4", "video/3gpp", "video/3gpp2", "video/quicktime", "video/x-msvideo", "video/x-matroska"];
    match kind {
        MediaKind::Image => &["image/jpeg", "image/png", "image/gif", "image/webp", "image/svg+xml"],
        MediaKind::Sticker => &["image/webp", "image/png", "image/svg+xml"],
        MediaKind::Gif => &["video/mp4"],
        MediaKind::Audio => {
            &["audio/mpeg", "audio/ogg; codecs=opus", "audio/ogg", "audio/mp4", "audio/aac", "audio/wav", "audio/amr"]
        }
        MediaKind::Video | MediaKind::Ptv => VIDEO,
        MediaKind::Document => &[],
    }
}

/// The Z-API route that sends `kind`.
pub fn route(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "send-image",
        MediaKind::Sticker => "send-sticker",
        MediaKind::Gif => "send-gif",
        MediaKind::Audio => "send-audio",
        MediaKind::Video => "send-video",
        MediaKind::Ptv => "send-ptv",
        MediaKind::Document => "send-document",
    }
}

/// What `kind` is called in a sentence.
pub fn noun(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Gif => "GIF",
        MediaKind::Ptv => "video note",
        other => other.as_str(),
    }
}

/// 3GPP and 3GPP2 (ISO base media with a `3gp…`/`3g2…` major brand), which `infer` does not
/// know: phones record video in them.
fn three_gpp(head: &[u8]) -> Option<&'static str> {
    match head.get(4..11)? {
        b"ftyp3gp" => Some("video/3gpp"),
        b"ftyp3g2" => Some("video/3gpp2"),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests;
