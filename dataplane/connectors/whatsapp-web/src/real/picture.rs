//! Photos as WhatsApp takes them: a square JPEG of at most [`SIDE`] pixels a side. The image the
//! integrator gave (JPEG, PNG or WebP) is decoded within bounds, turned upright by its EXIF
//! orientation, laid on white where it is transparent (a JPEG has no alpha: a logo's
//! transparent ground would otherwise come out black, and scaling first would bleed that black
//! into its edges), its centre cropped to a square, scaled down when larger, and encoded again,
//! on the blocking pool so a large image never holds the shard's thread. It keeps nothing.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits, Rgb, RgbImage};

use crate::engine::EngineError;

/// The side of a profile or group photo WhatsApp shows (WhatsApp Web sends 640×640).
pub const SIDE: u32 = 640;
/// The largest image side decoded, and the most memory one decode may take.
const MAX_SIDE: u32 = 12_000;
const MAX_ALLOC: u64 = 512 << 20;
const QUALITY: u8 = 85;

/// `image` as WhatsApp's photo, made off the event loop.
pub async fn square_jpeg(image: Vec<u8>) -> Result<Vec<u8>, EngineError> {
    tokio::task::spawn_blocking(move || encode(&image))
        .await
        .map_err(|e| EngineError::Refused(format!("the photo could not be prepared: {e}")))?
}

/// `bytes` decoded, laid on white, cropped to its centre square, scaled to at most [`SIDE`] and
/// encoded as JPEG.
pub fn encode(bytes: &[u8]) -> Result<Vec<u8>, EngineError> {
    let unreadable =
        |e: &dyn std::fmt::Display| EngineError::Refused(format!("the photo is not a readable image: {e}"));
    let mut reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|e| unreadable(&e))?;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    limits.max_alloc = Some(MAX_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(|e| unreadable(&e))?;
    if decoder.total_bytes() > MAX_ALLOC {
        return Err(unreadable(&format_args!("its pixels would take more than {MAX_ALLOC} bytes")));
    }
    // A phone's photo is often stored sideways with an EXIF orientation, which the JPEG made
    // here does not carry: the pixels are turned upright before the crop.
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let mut decoded = DynamicImage::from_decoder(decoder).map_err(|e| unreadable(&e))?;
    decoded.apply_orientation(orientation);
    let decoded = DynamicImage::ImageRgb8(on_white(decoded));
    let side = decoded.width().min(decoded.height());
    let square = decoded.crop_imm((decoded.width() - side) / 2, (decoded.height() - side) / 2, side, side);
    let scaled = match side > SIDE {
        true => square.resize_exact(SIDE, SIDE, FilterType::Triangle),
        false => square,
    };
    let mut jpeg = Vec::new();
    JpegEncoder::new_with_quality(&mut jpeg, QUALITY)
        .encode_image(&scaled)
        .map_err(|e| EngineError::Refused(format!("the photo could not be encoded: {e}")))?;
    Ok(jpeg)
}

/// `image` over a white ground, each pixel blended by its alpha; an opaque image is only made
/// 8-bit RGB.
fn on_white(image: DynamicImage) -> RgbImage {
    if !image.color().has_alpha() {
        return image.into_rgb8();
    }
    let rgba = image.into_rgba8();
    RgbImage::from_fn(rgba.width(), rgba.height(), |x, y| {
        let [r, g, b, a] = rgba.get_pixel(x, y).0;
        let over = |c: u8| ((c as u16 * a as u16 + 255 * (255 - a as u16) + 127) / 255) as u8;
        Rgb([over(r), over(g), over(b)])
    })
}
