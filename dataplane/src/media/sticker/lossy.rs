//! lossy: a still sticker made small enough for a network's size limit. chatedge keeps the
//! stickers it makes lossless, which suits every network but the Cloud API: Meta takes a still
//! sticker of at most 100 KB, and a photo-like 512×512 sticker is two to five times that when
//! lossless. For it a still WebP is decoded and encoded lossy by libwebp (the reference
//! encoder; image-webp has none) at falling quality until it fits, keeping its EXIF (the pack's
//! author) — the first quality that fits wins, so a cartoon-like sticker keeps quality 90.
//! Pure functions on bytes; never called for an animation (nothing here re-encodes frames).

use std::io::Cursor;

use image_webp::WebPDecoder;

use super::{still_picture, webp_with_exif, StickerError};

/// The qualities tried, best first (libwebp's scale, 0–100), each with its name (a metric
/// label). Below 30 a sticker's edges and text smear; one that does not fit by then is refused
/// rather than sent unreadable.
pub const QUALITIES: [(u8, &str); 7] =
    [(90, "90"), (80, "80"), (70, "70"), (60, "60"), (50, "50"), (40, "40"), (30, "30")];
/// The lowest of [`QUALITIES`].
const LOWEST: u8 = QUALITIES[QUALITIES.len() - 1].0;

/// Still WebP sticker `webp` as a lossy WebP of at most `limit` bytes (EXIF included), at the
/// best of [`QUALITIES`] that fits; with the name of the quality it was made at. The best is
/// tried first (most stickers fit at it); then, since a file shrinks as its quality falls, the
/// rest are searched by halves — at most four encodes in all, also for a sticker that fits at
/// none. An animation, a picture larger than [`super::MAX_SIDE`] a side, or one that is over `limit`
/// even at the lowest quality is refused naming why.
pub fn within(webp: &[u8], limit: usize) -> Result<(Vec<u8>, &'static str), StickerError> {
    let picture = Still::decode(webp)?;
    let (best, best_name) = QUALITIES[0];
    let made = picture.encode(best)?;
    if made.len() <= limit {
        return Ok((made, best_name));
    }
    let mut smallest = made.len();
    let mut fitting = None;
    // The first of QUALITIES[lo..hi] that fits; those before `lo` do not, those from `hi` do.
    let (mut lo, mut hi) = (1, QUALITIES.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        let (quality, name) = QUALITIES[mid];
        let made = picture.encode(quality)?;
        smallest = smallest.min(made.len());
        if made.len() <= limit {
            fitting = Some((made, name));
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    let exif = picture.exif.as_ref().map_or(0, Vec::len);
    fitting.ok_or(StickerError::NoQualityFits { limit, smallest, lowest: LOWEST, exif })
}

/// A still WebP's pixels, with its EXIF.
struct Still {
    picture: image::RgbaImage,
    exif: Option<Vec<u8>>,
}

impl Still {
    fn decode(webp: &[u8]) -> Result<Still, StickerError> {
        let mut decoder = WebPDecoder::new(Cursor::new(webp)).map_err(|e| StickerError::BadWebp(e.to_string()))?;
        if decoder.is_animated() {
            return Err(StickerError::Animated);
        }
        let (picture, exif) = still_picture(&mut decoder)?;
        Ok(Still { picture, exif })
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
        let (width, height) = self.picture.dimensions();
        let encoder = webp::Encoder::from_rgba(self.picture.as_raw(), width, height);
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

    /// A 512×512 photo-like sticker as chatedge keeps it (lossless, with `author`): smooth
    /// colour with grain — on a transparent ground around a disc when `cut_out`, else opaque.
    fn photo(cut_out: bool, author: &str) -> Vec<u8> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut grain = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 59) as u8 // 0..32
        };
        let mut pixels = Vec::with_capacity(512 * 512 * 4);
        for y in 0..512i64 {
            for x in 0..512i64 {
                let inside = !cut_out || (x - 256).pow(2) + (y - 256).pow(2) < 240 * 240;
                let (r, g, b) = ((x / 3) as u8, (y / 3) as u8, ((x + y) / 5) as u8);
                pixels.extend_from_slice(&[r + grain(), g + grain(), b + grain(), if inside { 255 } else { 0 }]);
            }
        }
        let mut lossless = Vec::new();
        WebPEncoder::new(&mut lossless).encode(&pixels, 512, 512, ColorType::Rgba8).expect("a lossless WebP");
        as_sticker(&lossless, Some(author)).expect("a sticker").into_owned()
    }

    fn decoded(webp: &[u8]) -> ((u32, u32), bool, Vec<u8>) {
        let mut d = WebPDecoder::new(Cursor::new(webp)).expect("a readable WebP");
        let mut pixels = vec![0u8; d.output_buffer_size().expect("a size")];
        d.read_image(&mut pixels).expect("its pixels");
        (d.dimensions(), d.is_animated(), pixels)
    }

    /// The extended header's flags byte (`VP8X` first, then its size, then the flags).
    fn vp8x_flags(webp: &[u8]) -> Option<u8> {
        (webp.get(12..16) == Some(b"VP8X".as_slice())).then(|| webp[20])
    }

    #[test]
    fn a_photo_cut_out_over_the_limit_is_made_lossy_within_it_keeping_its_author_and_picture() {
        let lossless = photo(true, "Acme Stickers");
        assert!(lossless.len() > 150_000, "lossless, it is well over Meta's 100 KB: {} bytes", lossless.len());

        let (made, quality) = within(&lossless, 100_000).expect("made to fit");
        assert!(made.len() <= 100_000, "{} bytes at quality {quality}", made.len());
        assert_eq!(author_of(&made).as_deref(), Some("Acme Stickers"), "the pack's author kept");
        assert_eq!(vp8x_flags(&made), Some(0x18), "the header announces its transparency and EXIF, no animation");
        assert!(made.windows(4).any(|w| w == b"VP8 "), "a lossy bitstream");
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
    fn an_opaque_photo_gains_the_header_that_announces_its_exif_and_no_transparency() {
        let lossless = photo(false, "Ana");
        assert!(lossless.len() > 100_000, "{} bytes", lossless.len());
        let (made, _) = within(&lossless, 100_000).expect("made to fit");
        assert!(made.len() <= 100_000, "{} bytes", made.len());
        assert_eq!(vp8x_flags(&made), Some(0x08), "EXIF only: libwebp wrote a simple lossy file");
        assert_eq!(author_of(&made).as_deref(), Some("Ana"));
        let ((w, h), _, pixels) = decoded(&made);
        assert_eq!((w, h), (SIDE, SIDE));
        assert_eq!(pixels.len(), 512 * 512 * 3, "decoded without an alpha channel");
    }

    #[test]
    fn the_best_quality_that_fits_is_the_one_made_whatever_the_limit() {
        let lossless = photo(true, "Acme Stickers");
        let still = Still::decode(&lossless).expect("decoded");
        let sizes: Vec<usize> = QUALITIES.iter().map(|&(q, _)| still.encode(q).expect("encoded").len()).collect();
        assert!(sizes.windows(2).all(|p| p[0] > p[1]), "each lower quality is smaller: {sizes:?}");
        for (i, &limit) in sizes.iter().enumerate() {
            let (made, name) = within(&lossless, limit).unwrap_or_else(|e| panic!("limit {limit}: {e}"));
            assert_eq!((name, made.len()), (QUALITIES[i].1, limit), "limit {limit}: sizes {sizes:?}");
            if let Some(&(_, next)) = QUALITIES.get(i + 1) {
                let (_, name) = within(&lossless, limit - 1).expect("a lower quality fits");
                assert_eq!(name, next, "just under quality {}'s size", QUALITIES[i].1);
            }
        }
    }

    #[test]
    fn what_cannot_be_made_to_fit_is_refused_naming_why() {
        let photo = photo(true, "Acme Stickers");
        let refused = within(&photo, 2_000).expect_err("no quality fits in 2,000 bytes");
        let StickerError::NoQualityFits { limit: 2_000, smallest, lowest: 30, exif } = refused else {
            panic!("{refused:?}")
        };
        assert!(smallest > 2_000 && exif > 0, "{smallest} {exif}");
        let text = refused.to_string();
        for named in ["over 2000 bytes", "at quality 30", &format!("({smallest} bytes, {exif} of them its EXIF)")] {
            assert!(text.contains(named), "{text}");
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
