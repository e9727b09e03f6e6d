//! lossy: a still sticker made small enough for a network's size limit. chatedge keeps the
//! stickers it makes lossless, which suits every network but the Cloud API: Meta takes a still
//! sticker of at most 100 KB, and a photo-like 512×512 sticker is two to five times that when
//! lossless. For it a still WebP is decoded and encoded lossy by libwebp (the reference
//! encoder; image-webp has none) at falling quality until it fits, keeping its EXIF (the pack's
//! author) — the first quality that fits wins, so a cartoon-like sticker keeps quality 90.
//! Pure functions on bytes; never called for an animation (nothing here re-encodes frames).

use std::io::Cursor;

use image_webp::WebPDecoder;

use super::{rgba, webp_with_exif, StickerError, MAX_SIDE};

/// The qualities tried, best first (libwebp's scale, 0–100), each with its name (a metric
/// label). Below 30 a sticker's edges and text smear; one that does not fit by then is refused
/// rather than sent unreadable.
pub const QUALITIES: [(u8, &str); 7] =
    [(90, "90"), (80, "80"), (70, "70"), (60, "60"), (50, "50"), (40, "40"), (30, "30")];
/// The lowest of [`QUALITIES`].
const LOWEST: u8 = QUALITIES[QUALITIES.len() - 1].0;

/// Still WebP sticker `webp` as a lossy WebP of at most `limit` bytes (EXIF included), at the
/// best of [`QUALITIES`] that fits; with the name of the quality it was made at. An
/// animation, a picture larger than [`MAX_SIDE`] a side, or one that is over `limit` even at
/// the lowest quality is refused naming why.
pub fn within(webp: &[u8], limit: usize) -> Result<(Vec<u8>, &'static str), StickerError> {
    let picture = Still::decode(webp)?;
    let mut smallest = usize::MAX;
    for (quality, name) in QUALITIES {
        let made = picture.encode(quality)?;
        if made.len() <= limit {
            return Ok((made, name));
        }
        smallest = smallest.min(made.len());
    }
    Err(StickerError::NoQualityFits { limit, smallest, lowest: LOWEST })
}

/// A still WebP's pixels as RGBA, with its EXIF.
struct Still {
    pixels: Vec<u8>,
    width: u32,
    height: u32,
    exif: Option<Vec<u8>>,
}

impl Still {
    fn decode(webp: &[u8]) -> Result<Still, StickerError> {
        let bad = |e: image_webp::DecodingError| StickerError::BadWebp(e.to_string());
        let mut decoder = WebPDecoder::new(Cursor::new(webp)).map_err(bad)?;
        if decoder.is_animated() {
            return Err(StickerError::Animated);
        }
        let (width, height) = decoder.dimensions();
        if width > MAX_SIDE || height > MAX_SIDE {
            return Err(StickerError::TooLarge { format: "WebP", width, height });
        }
        let exif = decoder.exif_metadata().map_err(bad)?;
        let size =
            decoder.output_buffer_size().ok_or_else(|| StickerError::BadWebp("its picture has no size".into()))?;
        let mut pixels = vec![0u8; size];
        decoder.read_image(&mut pixels).map_err(bad)?;
        let channels = if decoder.has_alpha() { 4 } else { 3 };
        let pixels = rgba(&pixels, channels);
        if pixels.len() != width as usize * height as usize * 4 {
            return Err(StickerError::BadWebp("its picture is cut short".into()));
        }
        Ok(Still { pixels, width, height, exif })
    }

    /// The picture as a lossy WebP at `quality`, its EXIF written back in. Transparency is
    /// kept losslessly down to quality 70 (a sticker's cut-out edge is what shows first), then
    /// it too is quantised, a little less than the colours.
    fn encode(&self, quality: u8) -> Result<Vec<u8>, StickerError> {
        let failed = |why: String| StickerError::Encode(format!("libwebp at quality {quality}: {why}"));
        let mut config = webp::WebPConfig::new().map_err(|()| failed("no default configuration".into()))?;
        config.lossless = 0;
        config.quality = f32::from(quality);
        config.alpha_compression = 1;
        config.alpha_quality = i32::from(quality).saturating_add(30).min(100);
        // libwebp's effort, 0–6. At 5 a photo-like 512×512 sticker comes out within 1–3 % of
        // the size 6 gives, in 20–35 ms against 200–240 (6 spends it on the lossless alpha).
        config.method = 5;
        let encoder = webp::Encoder::from_rgba(&self.pixels, self.width, self.height);
        let made = encoder.encode_advanced(&config).map_err(|e| failed(format!("{e:?}")))?;
        match &self.exif {
            Some(exif) => webp_with_exif(&made, exif),
            None => Ok(made.to_vec()),
        }
    }
}

#[cfg(test)]
mod tests {
    use image_webp::{ColorType, WebPEncoder};

    use super::*;
    use crate::media::sticker::{as_sticker, author_of, SIDE};

    /// A 512×512 photo-like sticker: an opaque disc of smooth colour with grain (what a photo cut
    /// out as a sticker is) on a transparent ground, lossless as chatedge keeps it.
    fn photo_cut_out() -> Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut grain = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 59) as u8 // 0..32
        };
        let mut pixels = Vec::with_capacity(512 * 512 * 4);
        for y in 0..512u32 {
            for x in 0..512u32 {
                let (dx, dy) = (x as i64 - 256, y as i64 - 256);
                let inside = dx * dx + dy * dy < 240 * 240;
                let (r, g, b) = ((x / 3) as u8, (y / 3) as u8, ((x + y) / 5) as u8);
                pixels.extend_from_slice(&[r + grain(), g + grain(), b + grain(), if inside { 255 } else { 0 }]);
            }
        }
        let mut out = Vec::new();
        WebPEncoder::new(&mut out).encode(&pixels, 512, 512, ColorType::Rgba8).expect("a lossless WebP");
        out
    }

    fn decoded(webp: &[u8]) -> ((u32, u32), bool, Vec<u8>) {
        let mut d = WebPDecoder::new(Cursor::new(webp)).expect("a readable WebP");
        let mut pixels = vec![0u8; d.output_buffer_size().expect("a size")];
        d.read_image(&mut pixels).expect("its pixels");
        (d.dimensions(), d.is_animated(), pixels)
    }

    #[test]
    fn a_photo_like_sticker_over_the_limit_is_made_lossy_within_it_keeping_its_author_and_picture() {
        let lossless = as_sticker(&photo_cut_out(), Some("Acme Stickers")).expect("a sticker").into_owned();
        assert!(lossless.len() > 150_000, "lossless, it is well over Meta's 100 KB: {} bytes", lossless.len());

        let (made, quality) = within(&lossless, 100_000).expect("made to fit");
        assert!(made.len() <= 100_000, "{} bytes at quality {quality}", made.len());
        assert_eq!(author_of(&made).as_deref(), Some("Acme Stickers"), "the pack's author kept");
        let ((w, h), animated, pixels) = decoded(&made);
        assert_eq!(((w, h), animated), ((SIDE, SIDE), false));
        let at = |x: usize, y: usize| &pixels[(y * 512 + x) * 4..][..4];
        assert_eq!(at(5, 5)[3], 0, "the ground stays transparent");
        assert_eq!(at(256, 256)[3], 255, "the disc stays opaque");
        let [r, g, b, _] = at(300, 150).try_into().expect("a pixel");
        // Lossless there: (100 + grain, 50 + grain, 90 + grain), grain 0..32.
        assert!((90..=140).contains(&r) && (40..=90).contains(&g) && (80..=130).contains(&b), "{r} {g} {b}");
    }

    #[test]
    fn a_sticker_of_flat_colours_fits_at_the_best_quality() {
        let pixels: Vec<u8> =
            (0..512 * 512).flat_map(|i| if i % 512 < 256 { [250, 40, 40, 255] } else { [0; 4] }).collect();
        let mut lossless = Vec::new();
        WebPEncoder::new(&mut lossless).encode(&pixels, 512, 512, ColorType::Rgba8).expect("a lossless WebP");
        let (made, quality) = within(&lossless, 100_000).expect("made");
        assert_eq!(quality, "90");
        assert!(made.len() < 20_000, "{} bytes", made.len());
    }

    #[test]
    fn what_cannot_be_made_to_fit_is_refused_naming_why() {
        let photo = photo_cut_out();
        match within(&photo, 2_000) {
            Err(StickerError::NoQualityFits { limit: 2_000, smallest, lowest: 30 }) => {
                assert!(smallest > 2_000, "{smallest}")
            }
            other => panic!("refused as too detailed for 2,000 bytes: {other:?}"),
        }
        let animation = base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            "UklGRlIAAABXRUJQVlA4WAoAAAASAAAAAAAAAAAAQU5JTQYAAAD/////AABBTk1GJgAAAAAAAAAAAAAAAAAAAGQAAABWUDhMDQAAAC8AAAAQBxAREYiI/gcA",
        )
        .expect("base64");
        assert_eq!(within(&animation, 100_000), Err(StickerError::Animated));
        assert!(matches!(within(b"RIFF\0\0\0\0WEBPnot", 100_000), Err(StickerError::BadWebp(_))));
    }
}
