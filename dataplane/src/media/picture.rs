//! picture: images made what a network that takes only JPEG and PNG pictures can send — the
//! Cloud API (Meta refuses a GIF or WebP image, which Z-API's media table, seed 002, accepts).
//! A GIF (its first frame) or a WebP (lossy, lossless, or an animation's first frame) becomes a
//! JPEG on white: a photo stays about a photo's size, which a PNG of it would not. Decoding is
//! bounded in pixels and memory. Pure functions on bytes, blocking: callers run them off the
//! event loop; storing and counting are the media service's.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, ImageReader, Limits, RgbImage};

/// The largest side decoded.
pub const MAX_SIDE: u32 = 8192;
/// The most memory one decode may take.
const MAX_ALLOC: u64 = 256 << 20;
/// JPEG quality of a converted picture (WhatsApp compresses it again for the recipient).
const QUALITY: u8 = 90;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    /// Completes "the image …".
    #[error("is not a readable {format}: {detail}")]
    Unreadable { format: &'static str, detail: String },
    #[error("could not be made a JPEG: {0}")]
    Encode(String),
}

/// Whether a picture of `mime` is made a JPEG for a network that takes only JPEG and PNG.
pub fn needs_jpeg(mime: &str) -> bool {
    matches!(mime, "image/gif" | "image/webp")
}

/// Whether `url`'s path names a picture such a network cannot be sent a link to (`….gif`,
/// `….webp`, `….svg`, any case; the query and fragment aside): for a network that passes links
/// on without fetching them, the only sign.
pub fn names_unlinkable(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
    [".gif", ".webp", ".svg"].iter().any(|ext| path.len() > ext.len() && path.ends_with(ext))
}

/// `file`, a GIF or WebP of type `mime`, as a JPEG of its first frame on white.
pub fn as_jpeg(file: &[u8], mime: &str) -> Result<Vec<u8>, PictureError> {
    let (format, name) = match mime {
        "image/gif" => (ImageFormat::Gif, "GIF"),
        "image/webp" => (ImageFormat::WebP, "WebP"),
        other => return Err(PictureError::Encode(format!("{other} is not made a JPEG here"))),
    };
    let unreadable = |e: &dyn std::fmt::Display| PictureError::Unreadable { format: name, detail: e.to_string() };
    let mut reader = ImageReader::with_format(Cursor::new(file), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let rgba = reader.decode().map_err(|e| unreadable(&e))?.to_rgba8();
    let on_white = RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((c as u16 * a as u16 + 255 * (255 - a as u16) + 127) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    });
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&on_white)
        .map_err(|e| PictureError::Encode(e.to_string()))?;
    Ok(jpeg)
}

#[cfg(test)]
mod tests;
