//! picture: images made what a network that takes only JPEG and PNG pictures, up to a size,
//! can send — the Cloud API (Meta refuses a GIF or WebP image, which Z-API's media table, seed
//! 002, accepts, and any image over 5 MB). A GIF (its first frame) or a WebP (lossy, lossless,
//! or an animation's first frame) becomes a JPEG on white: a photo stays about a photo's size,
//! which a PNG of it would not. A PNG or JPEG over the network's size becomes a JPEG too, its
//! longer side at most [`FIT_SIDE`] (WhatsApp's own HD photos are 4096 pixels) — as does a
//! GIF or WebP whose JPEG at full size came out over it — and one still over it is refused
//! saying so. Decoding is bounded in pixels (a 108-megapixel phone's photo is within) and
//! memory; transparent pixels are laid on white before any scaling, so no hidden colour bleeds
//! into the edges. Pure functions on bytes, blocking: callers run them off the event loop;
//! storing and counting are the media service's.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits, RgbImage};

/// The largest side decoded.
pub const MAX_SIDE: u32 = 12_000;
/// The most memory one decode may take (a 12,000 × 9,000 photo's pixels are 324 MB).
const MAX_ALLOC: u64 = 512 << 20;
/// The longest side of a picture made a JPEG because it was over a network's size.
pub const FIT_SIDE: u32 = 4096;
/// JPEG quality of a converted picture (WhatsApp compresses it again for the recipient).
const QUALITY: u8 = 90;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PictureError {
    /// Completes "the image …".
    #[error("is not a readable {format}: {detail}")]
    Unreadable { format: &'static str, detail: String },
    #[error("could not be made a JPEG: {0}")]
    Encode(String),
    #[error(
        "is {size} bytes even as a JPEG of at most {FIT_SIDE} pixels a side, more than the {limit} \
         bytes the network takes"
    )]
    TooLarge { size: u64, limit: u64 },
}

/// Whether a picture of `mime` and `size` bytes is made a JPEG for a network that takes only
/// JPEG and PNG pictures of at most `limit` bytes.
pub fn needs_jpeg(mime: &str, size: u64, limit: u64) -> bool {
    matches!(mime, "image/gif" | "image/webp") || size > limit
}

/// Whether `url`'s path names a picture such a network cannot be sent a link to (`….gif`,
/// `….webp`, `….svg`, any case; the query and fragment aside): for a network that passes links
/// on without fetching them, the only sign.
pub fn names_unlinkable(url: &str) -> bool {
    let path = url.split(['?', '#']).next().unwrap_or(url).to_ascii_lowercase();
    [".gif", ".webp", ".svg"].iter().any(|ext| path.len() > ext.len() && path.ends_with(ext))
}

/// `file`, a picture of type `mime`, as a network taking JPEG and PNG pictures of at most
/// `limit` bytes is sent it: a JPEG ([`as_jpeg`]), of at most [`FIT_SIDE`] pixels a side when the
/// file, or its JPEG at full size, was over `limit`; refused when even that is over `limit`.
pub fn as_jpeg_within(file: &[u8], mime: &str, limit: u64) -> Result<Vec<u8>, PictureError> {
    let side = if file.len() as u64 > limit { FIT_SIDE } else { MAX_SIDE };
    let mut jpeg = as_jpeg(file, mime, side)?;
    if jpeg.len() as u64 > limit && side > FIT_SIDE {
        // A large lossless GIF or WebP can make a JPEG larger than itself: decoded again, smaller.
        jpeg = as_jpeg(file, mime, FIT_SIDE)?;
    }
    match jpeg.len() as u64 {
        size if size > limit => Err(PictureError::TooLarge { size, limit }),
        _ => Ok(jpeg),
    }
}

/// `file`, a GIF, WebP, PNG or JPEG of type `mime`, as a JPEG of its first frame on white, its
/// longer side scaled down to `max_side` if it is longer.
pub fn as_jpeg(file: &[u8], mime: &str, max_side: u32) -> Result<Vec<u8>, PictureError> {
    let (format, name) = match mime {
        "image/gif" => (ImageFormat::Gif, "GIF"),
        "image/webp" => (ImageFormat::WebP, "WebP"),
        "image/png" => (ImageFormat::Png, "PNG"),
        "image/jpeg" => (ImageFormat::Jpeg, "JPEG"),
        other => return Err(PictureError::Encode(format!("{other} is not made a JPEG here"))),
    };
    let unreadable = |e: &dyn std::fmt::Display| PictureError::Unreadable { format: name, detail: e.to_string() };
    let mut reader = ImageReader::with_format(Cursor::new(file), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| unreadable(&e))?;
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(unreadable(&format_args!("its pixels would take more than {MAX_ALLOC} bytes")));
    }
    // A camera's JPEG is often stored sideways with an EXIF orientation, which the JPEG made
    // here does not carry: the pixels are turned upright instead.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(|e| unreadable(&e))?;
    decoded.apply_orientation(orientation);
    let flat = DynamicImage::ImageRgb8(on_white(decoded));
    let flat = match flat.width().max(flat.height()) > max_side {
        // Bilinear: much quicker than Lanczos on a large photo, for a picture the recipient's
        // WhatsApp shrinks again.
        true => flat.resize(max_side, max_side, image::imageops::FilterType::Triangle),
        false => flat,
    };
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&flat)
        .map_err(|e| PictureError::Encode(e.to_string()))?;
    Ok(jpeg)
}

/// `image` over a white ground, each pixel blended by its alpha; an opaque image is only made
/// 8-bit RGB (no copy when it is already).
fn on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((c as u16 * a as u16 + 255 * (255 - a as u16) + 127) / 255) as u8;
        image::Rgb([over(r), over(g), over(b)])
    })
}

#[cfg(test)]
mod tests;
