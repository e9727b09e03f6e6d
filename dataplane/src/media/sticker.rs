//! Stickers as WhatsApp takes them: WebP (the Cloud API refuses a PNG sticker, and sizes
//! other than 512×512), with the author seed 001's send-sticker `stickerAuthor` names. A PNG
//! (Z-API's own example sends one), or a still WebP of another size, becomes a lossless WebP
//! scaled (alpha-weighted, so no dark fringe) to fit the 512×512 square on a transparent
//! ground (a WebP keeps its own EXIF when no author replaces it); an SVG is drawn 512 pixels on
//! its longer side ([`super::svg`]) and becomes one the same way. An animated WebP is kept as it
//! came, whatever its size (nothing here re-encodes animations). WhatsApp reads the pack name
//! and publisher it shows under a sticker from a JSON document in the EXIF of its WebP (tag
//! 0x5741 of the first IFD), so an author is carried by rewriting the file: a WebP keeps its own bitstream, frames and chunks, gains an
//! EXIF chunk (replacing any earlier one) and, when it was a simple WebP, the VP8X header that
//! announces it. [`author_of`] reads the author back (the sim shows it on the recipient's
//! phone). Pure functions on bytes: fetching, storing and counting are the media service's.
//!
//! A still sticker over a network's size limit is made a lossy WebP by [`lossy`] (the Cloud
//! API's 100 KB); what is stored stays lossless.
//!
//! The chunk surgery is ours: img-parts, the crate for it, unwraps the canvas size it cannot
//! find for a lossless WebP (a panic) and leaves an existing VP8X's flags as they were (both
//! are TODOs in its source); image-webp, which checks the file and encodes the PNG, writes only
//! whole new files.

use std::borrow::Cow;
use std::io::Cursor;

use image_webp::{ColorType, WebPDecoder, WebPEncoder};
use serde_json::json;

use super::{sniff, svg, Digest};

/// Longest `stickerAuthor` accepted.
pub const MAX_AUTHOR_CHARS: usize = 128;
/// The side of WhatsApp's stickers, in pixels (the Cloud API refuses others): a PNG turned
/// into WebP, or a still WebP resized, is made this square.
pub const SIDE: u32 = 512;
/// Largest side of a PNG, or of a still WebP of another size than [`SIDE`], made a sticker.
pub const MAX_SIDE: u32 = 2048;
/// The EXIF tag WhatsApp keeps a sticker's pack JSON in.
const PACK_TAG: u16 = 0x5741;
/// EXIF field type 7: bytes of no particular type.
const UNDEFINED: u16 = 7;
/// The extended header's chunk id.
const VP8X: [u8; 4] = *b"VP8X";
/// VP8X flag: the file has an EXIF chunk.
const EXIF_FLAG: u8 = 0x08;
/// VP8X flag: the image has an alpha channel.
const ALPHA_FLAG: u8 = 0x10;
/// Memory a PNG's decoding may take (its pixels at the largest side, with room to spare).
const PNG_MEMORY: usize = 4 * (MAX_SIDE as usize) * (MAX_SIDE as usize) + 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StickerError {
    #[error("is neither WebP, PNG nor SVG")]
    NotAPicture,
    #[error("{0}")]
    Svg(#[from] super::svg::SvgError),
    #[error("is not a readable WebP: {0}")]
    BadWebp(String),
    #[error("is not a readable PNG: {0}")]
    BadPng(String),
    #[error("could not be made a WebP: {0}")]
    Encode(String),
    #[error(
        "is a {width}×{height} {format}; a sticker is made a WebP of WhatsApp's {SIDE}×{SIDE}, \
         from at most {MAX_SIDE}×{MAX_SIDE} pixels"
    )]
    TooLarge { format: &'static str, width: u32, height: u32 },
    #[error("is animated; only a still sticker is made smaller")]
    Animated,
    #[error(
        "is over {limit} bytes even as a lossy WebP at quality {lowest} ({smallest} bytes, {exif} of them its \
         EXIF); a picture with less fine detail is needed"
    )]
    NoQualityFits { limit: usize, smallest: usize, lowest: u8, exif: usize },
}

/// `file` (a WebP, PNG or SVG) as a sticker WhatsApp takes: a PNG, an SVG or a still WebP of
/// another size becomes a 512×512 lossless WebP, and `author`, when given, is written into the
/// WebP's EXIF as the pack's name and publisher. A 512×512 or animated WebP without an author is
/// good as it is (borrowed).
pub fn as_sticker<'a>(file: &'a [u8], author: Option<&str>) -> Result<Cow<'a, [u8]>, StickerError> {
    let exif = author.map(|author| exif_of(&pack(file, author)));
    match (sniff::sniff(file), exif) {
        (Some("image/webp"), exif) => webp_sticker(file, exif),
        (Some("image/png"), exif) => png_as_webp(file, exif).map(Cow::Owned),
        (Some(svg::MIME), exif) => {
            let png = svg::render_png(file, svg::STICKER, svg::Ground::Transparent)?;
            png_as_webp(&png, exif).map(Cow::Owned)
        }
        _ => Err(StickerError::NotAPicture),
    }
}

/// Whether `webp` is an animated WebP (its extended header says so); `None` when it is not a
/// readable WebP.
pub fn is_animated(webp: &[u8]) -> Option<bool> {
    WebPDecoder::new(Cursor::new(webp)).ok().map(|d| d.is_animated())
}

/// The publisher named in a WebP sticker's pack JSON, if it has one.
pub fn author_of(webp: &[u8]) -> Option<String> {
    let mut decoder = WebPDecoder::new(Cursor::new(webp)).ok()?;
    let exif = decoder.exif_metadata().ok()??;
    let pack: serde_json::Value = serde_json::from_slice(tag_bytes(&exif, PACK_TAG)?).ok()?;
    pack.get("sticker-pack-publisher")?.as_str().map(str::to_owned)
}

/// WhatsApp's sticker-pack JSON; the pack id follows the file, so the same sticker and author
/// give the same bytes.
fn pack(file: &[u8], author: &str) -> Vec<u8> {
    let id = format!("chatedge-{}", &Digest::of(file).hex()[..16]);
    let pack = json!({
        "sticker-pack-id": id,
        "sticker-pack-name": author,
        "sticker-pack-publisher": author,
        "emojis": [],
    });
    pack.to_string().into_bytes()
}

/// A little-endian TIFF block with one IFD of one entry: [`PACK_TAG`], its bytes after the IFD.
fn exif_of(pack: &[u8]) -> Vec<u8> {
    const HEADER: u32 = 8;
    const IFD: u32 = 2 + 12 + 4;
    let mut exif = Vec::with_capacity((HEADER + IFD) as usize + pack.len());
    exif.extend_from_slice(b"II*\0");
    exif.extend_from_slice(&HEADER.to_le_bytes());
    exif.extend_from_slice(&1u16.to_le_bytes());
    exif.extend_from_slice(&PACK_TAG.to_le_bytes());
    exif.extend_from_slice(&UNDEFINED.to_le_bytes());
    exif.extend_from_slice(&(pack.len() as u32).to_le_bytes());
    exif.extend_from_slice(&(HEADER + IFD).to_le_bytes());
    exif.extend_from_slice(&0u32.to_le_bytes()); // no next IFD
    exif.extend_from_slice(pack);
    exif
}

/// The bytes of `tag` in the first IFD of a TIFF block (either byte order, with or without the
/// `Exif\0\0` prefix some writers put before it).
fn tag_bytes(exif: &[u8], tag: u16) -> Option<&[u8]> {
    let tiff = exif.strip_prefix(b"Exif\0\0").unwrap_or(exif);
    let little = match tiff.get(..4)? {
        b"II*\0" => true,
        b"MM\0*" => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if little { u16::from_le_bytes(b) } else { u16::from_be_bytes(b) })
    };
    let u32_at = |at: usize| {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if little { u32::from_le_bytes(b) } else { u32::from_be_bytes(b) } as usize)
    };
    let ifd = u32_at(4)?;
    let entries = u16_at(ifd)? as usize;
    (0..entries).find_map(|i| {
        let entry = ifd + 2 + i * 12;
        if u16_at(entry)? != tag {
            return None;
        }
        let len = u32_at(entry + 4)?;
        let at = if len <= 4 { entry + 8 } else { u32_at(entry + 8)? };
        tiff.get(at..at.checked_add(len)?)
    })
}

/// A WebP as a sticker: one of WhatsApp's size, or animated, keeps its bitstream (and gains
/// `exif` by [`webp_with_exif`]); a still one of another size is decoded and made the
/// 512×512 square, carrying `exif` or else its own.
fn webp_sticker(file: &[u8], exif: Option<Vec<u8>>) -> Result<Cow<'_, [u8]>, StickerError> {
    let bad = |e: image_webp::DecodingError| StickerError::BadWebp(e.to_string());
    let mut decoder = WebPDecoder::new(Cursor::new(file)).map_err(bad)?;
    let (width, height) = decoder.dimensions();
    if (width, height) == (SIDE, SIDE) || decoder.is_animated() {
        return match exif {
            None => Ok(Cow::Borrowed(file)),
            Some(exif) => webp_with_exif(file, &exif).map(Cow::Owned),
        };
    }
    let (picture, own_exif) = still_picture(&mut decoder)?;
    square_webp(picture, exif.or(own_exif)).map(Cow::Owned)
}

/// A still WebP's picture as RGBA, with its own EXIF; one larger than [`MAX_SIDE`] a side is
/// refused before its pixels are decoded.
fn still_picture(
    decoder: &mut WebPDecoder<Cursor<&[u8]>>,
) -> Result<(image::RgbaImage, Option<Vec<u8>>), StickerError> {
    let bad = |e: image_webp::DecodingError| StickerError::BadWebp(e.to_string());
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(StickerError::TooLarge { format: "WebP", width, height });
    }
    let exif = decoder.exif_metadata().map_err(bad)?;
    let size = decoder.output_buffer_size().ok_or_else(|| StickerError::BadWebp("its picture has no size".into()))?;
    let mut pixels = vec![0u8; size];
    decoder.read_image(&mut pixels).map_err(bad)?;
    let channels = if decoder.has_alpha() { 4 } else { 3 };
    let picture = image::RgbaImage::from_raw(width, height, rgba(&pixels, channels))
        .ok_or_else(|| StickerError::BadWebp("its picture is cut short".into()))?;
    Ok((picture, exif))
}

/// A WebP's chunks again, with the EXIF chunk in its place (after the image, before XMP) and
/// the VP8X header saying so.
fn webp_with_exif(file: &[u8], exif: &[u8]) -> Result<Vec<u8>, StickerError> {
    let decoder = WebPDecoder::new(Cursor::new(file)).map_err(|e| StickerError::BadWebp(e.to_string()))?;
    let (width, height) = decoder.dimensions();
    let chunks = chunks(file)?;
    let mut out = Vec::with_capacity(file.len() + exif.len() + 32);
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    match chunks.first() {
        Some((VP8X, header)) if header.len() >= 10 => {
            let mut header = header.to_vec();
            header[0] |= EXIF_FLAG;
            put_chunk(&mut out, b"VP8X", &header);
        }
        Some((VP8X, _)) => return Err(StickerError::BadWebp("its VP8X header is cut short".into())),
        _ => put_chunk(&mut out, b"VP8X", &simple_header(width, height, decoder.has_alpha())),
    }
    let mut exif_written = false;
    for (id, payload) in chunks.iter().filter(|(id, _)| id != b"VP8X" && id != b"EXIF") {
        if id == b"XMP " && !exif_written {
            put_chunk(&mut out, b"EXIF", exif);
            exif_written = true;
        }
        put_chunk(&mut out, id, payload);
    }
    if !exif_written {
        put_chunk(&mut out, b"EXIF", exif);
    }
    let riff_size = u32::try_from(out.len() - 8).map_err(|_| StickerError::BadWebp("it is too large".into()))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(out)
}

/// A RIFF chunk: its id and payload.
type Chunk<'a> = ([u8; 4], &'a [u8]);

/// The chunks of a RIFF WebP file, up to the size its header declares.
fn chunks(file: &[u8]) -> Result<Vec<Chunk<'_>>, StickerError> {
    let cut = || StickerError::BadWebp("a chunk runs past the end of the file".into());
    let declared = file.get(4..8).and_then(|b| b.try_into().ok()).map(u32::from_le_bytes).ok_or_else(cut)?;
    let end = (declared as usize).saturating_add(8).min(file.len());
    let body = file.get(12..end).ok_or_else(cut)?;
    let mut chunks = Vec::new();
    let mut at = 0usize;
    while at < body.len() {
        let header = body.get(at..at + 8).ok_or_else(cut)?;
        let id: [u8; 4] = header[..4].try_into().map_err(|_| cut())?;
        let len = u32::from_le_bytes(header[4..8].try_into().map_err(|_| cut())?) as usize;
        let payload = body.get(at + 8..(at + 8).checked_add(len).ok_or_else(cut)?).ok_or_else(cut)?;
        chunks.push((id, payload));
        at += 8 + len + (len & 1);
    }
    Ok(chunks)
}

/// The VP8X header a simple (VP8 or VP8L) WebP gains: its flags, then the canvas size less one
/// in 24 bits each.
fn simple_header(width: u32, height: u32, alpha: bool) -> [u8; 10] {
    let mut header = [0u8; 10];
    header[0] = EXIF_FLAG | if alpha { ALPHA_FLAG } else { 0 };
    header[4..7].copy_from_slice(&width.saturating_sub(1).to_le_bytes()[..3]);
    header[7..10].copy_from_slice(&height.saturating_sub(1).to_le_bytes()[..3]);
    header
}

fn put_chunk(out: &mut Vec<u8>, id: &[u8; 4], payload: &[u8]) {
    out.extend_from_slice(id);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(payload);
    if payload.len() % 2 == 1 {
        out.push(0);
    }
}

/// A PNG's first frame as a 512×512 lossless WebP (carrying `exif`, if any).
fn png_as_webp(file: &[u8], exif: Option<Vec<u8>>) -> Result<Vec<u8>, StickerError> {
    let bad = |e: png::DecodingError| StickerError::BadPng(e.to_string());
    let mut decoder = png::Decoder::new_with_limits(Cursor::new(file), png::Limits { bytes: PNG_MEMORY });
    decoder.set_transformations(png::Transformations::normalize_to_color8());
    let mut reader = decoder.read_info().map_err(bad)?;
    let (width, height) = (reader.info().width, reader.info().height);
    if width > MAX_SIDE || height > MAX_SIDE {
        return Err(StickerError::TooLarge { format: "PNG", width, height });
    }
    let size = reader.output_buffer_size().ok_or_else(|| StickerError::BadPng("its frame has no size".into()))?;
    let mut pixels = vec![0u8; size];
    let frame = reader.next_frame(&mut pixels).map_err(bad)?;
    let (width, height) = (frame.width, frame.height);
    let channels = match frame.color_type {
        png::ColorType::Grayscale => 1,
        png::ColorType::GrayscaleAlpha => 2,
        png::ColorType::Rgb => 3,
        png::ColorType::Rgba => 4,
        png::ColorType::Indexed => return Err(StickerError::BadPng("its palette was not expanded".into())),
    };
    let needed = width as usize * height as usize * channels;
    let pixels = pixels.get(..needed).ok_or_else(|| StickerError::BadPng("its frame is cut short".into()))?;
    let picture = image::RgbaImage::from_raw(width, height, rgba(pixels, channels))
        .ok_or_else(|| StickerError::BadPng("its frame is cut short".into()))?;
    square_webp(picture, exif)
}

/// `picture` fitted to the sticker square ([`fitted`]) as a lossless WebP carrying `exif`.
fn square_webp(picture: image::RgbaImage, exif: Option<Vec<u8>>) -> Result<Vec<u8>, StickerError> {
    let sticker = fitted(picture);
    let mut out = Vec::new();
    let mut encoder = WebPEncoder::new(&mut out);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif);
    }
    encoder.encode(sticker.as_raw(), SIDE, SIDE, ColorType::Rgba8).map_err(|e| StickerError::Encode(e.to_string()))?;
    Ok(out)
}

/// 8-bit pixels of 1 (grey), 2 (grey and alpha), 3 (RGB) or 4 channels as RGBA.
fn rgba(pixels: &[u8], channels: usize) -> Vec<u8> {
    match channels {
        1 => pixels.iter().flat_map(|&l| [l, l, l, 255]).collect(),
        2 => pixels.chunks_exact(2).flat_map(|p| [p[0], p[0], p[0], p[1]]).collect(),
        3 => pixels.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        _ => pixels.to_vec(),
    }
}

/// `picture` as WhatsApp's sticker square: scaled (up or down, keeping its proportions) to fit
/// [`SIDE`]×[`SIDE`] and centred on a transparent square; one that size already is kept. It is
/// scaled with its colours weighted by their alpha, so the colour hidden under transparent
/// pixels (black, mostly) does not darken the edges.
fn fitted(mut picture: image::RgbaImage) -> image::RgbaImage {
    let (width, height) = picture.dimensions();
    if (width, height) == (SIDE, SIDE) {
        return picture;
    }
    let scale = f64::from(SIDE) / f64::from(width.max(height));
    let side = |n: u32| ((f64::from(n) * scale).round() as u32).clamp(1, SIDE);
    let (w, h) = (side(width), side(height));
    premultiply(&mut picture);
    let mut scaled = image::imageops::resize(&picture, w, h, image::imageops::FilterType::Lanczos3);
    unpremultiply(&mut scaled);
    let mut square = image::RgbaImage::new(SIDE, SIDE);
    image::imageops::overlay(&mut square, &scaled, i64::from((SIDE - w) / 2), i64::from((SIDE - h) / 2));
    square
}

/// Each pixel's colour multiplied by its alpha.
fn premultiply(picture: &mut image::RgbaImage) {
    for p in picture.pixels_mut() {
        let a = u32::from(p[3]);
        for c in &mut p.0[..3] {
            *c = ((u32::from(*c) * a + 127) / 255) as u8;
        }
    }
}

/// Undoes [`premultiply`]: each colour divided by its alpha (a transparent pixel is black).
fn unpremultiply(picture: &mut image::RgbaImage) {
    for p in picture.pixels_mut() {
        let a = u32::from(p[3]);
        for c in &mut p.0[..3] {
            *c = match a {
                0 => 0,
                a => ((u32::from(*c) * 255 + a / 2) / a).min(255) as u8,
            };
        }
    }
}

pub mod lossy;

#[cfg(test)]
mod tests;
