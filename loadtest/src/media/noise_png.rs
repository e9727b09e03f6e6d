//! A valid PNG of about a target size: 8-bit RGB, random pixels (incompressible, so the file
//! is as big as its pixel data), stored without filtering and with DEFLATE's fastest setting.
//! The width grows with the target so that one row, the unit of size, stays under 5 % of it.

use rand::rngs::SmallRng;
use rand::{RngCore, SeedableRng};

/// The smallest target: below it one row is a large share of the file.
pub const MIN_IMAGE_BYTES: usize = 1024;
/// Signature (8) + IHDR (25) + IEND (12) + one IDAT chunk (12) + zlib header and checksum (6).
const FIXED_OVERHEAD: usize = 63;
/// Widest image generated; a 16 MiB image is then about 5 500 rows of 3 kB.
const MAX_WIDTH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("an image of {0} bytes is too small (at least {MIN_IMAGE_BYTES})")]
    TooSmall(usize),
    #[error("an image of {0} bytes is too large")]
    TooLarge(usize),
    #[error("encoding the PNG: {0}")]
    Encode(#[from] png::EncodingError),
}

/// Width and height of an RGB image whose PNG is about `target` bytes.
fn dimensions(target: usize) -> (usize, usize) {
    let width = ((target / 3) as f64).sqrt().clamp(1.0, MAX_WIDTH as f64) as usize;
    let row = 1 + 3 * width; // the filter-type byte, then the pixels
                             // Stored DEFLATE blocks add 5 bytes per 64 KiB of data.
    let payload = target.saturating_sub(FIXED_OVERHEAD) as f64 * 65535.0 / 65540.0;
    let height = (payload / row as f64).round().max(1.0) as usize;
    (width, height)
}

/// A PNG of about `target` bytes (within one row, under 5 % for targets from
/// [`MIN_IMAGE_BYTES`]), its pixels drawn from `seed`.
pub fn noise_png(target: usize, seed: u64) -> Result<Vec<u8>, ImageError> {
    if target < MIN_IMAGE_BYTES {
        return Err(ImageError::TooSmall(target));
    }
    let (width, height) = dimensions(target);
    let (w, h) = match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => return Err(ImageError::TooLarge(target)),
    };
    let mut pixels = vec![0u8; width * height * 3];
    SmallRng::seed_from_u64(seed).fill_bytes(&mut pixels);
    let mut file = Vec::with_capacity(target + target / 64);
    let mut encoder = png::Encoder::new(&mut file, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    // Random pixels do not compress: storing them is the fastest and the most exact in size.
    encoder.set_compression(png::Compression::NoCompression);
    encoder.set_filter(png::Filter::NoFilter);
    let mut writer = encoder.write_header()?;
    writer.write_image_data(&pixels)?;
    writer.finish()?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decoded(file: &[u8]) -> (png::OutputInfo, Vec<u8>) {
        let mut reader = png::Decoder::new(std::io::Cursor::new(file)).read_info().expect("a PNG header");
        let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut pixels).expect("a whole frame");
        (info, pixels)
    }

    #[test]
    fn a_100_kib_image_decodes_and_is_within_5_percent_of_its_target() {
        let target = 100 * 1024;
        let file = noise_png(target, 7).unwrap();
        let off = (file.len() as f64 - target as f64).abs() / target as f64;
        assert!(off < 0.05, "{} bytes for a target of {target}", file.len());
        assert!(file.starts_with(b"\x89PNG\r\n\x1a\n"));
        let (info, pixels) = decoded(&file);
        assert_eq!(info.color_type, png::ColorType::Rgb);
        assert_eq!(pixels.len(), info.width as usize * info.height as usize * 3);
    }

    #[test]
    fn sizes_track_their_targets_from_small_to_large() {
        for target in [MIN_IMAGE_BYTES, 5_000, 64 * 1024, 1024 * 1024, 16 * 1024 * 1024] {
            let file = noise_png(target, 1).unwrap();
            let off = (file.len() as f64 - target as f64).abs() / target as f64;
            assert!(off < 0.05, "{} bytes for a target of {target}", file.len());
            decoded(&file);
        }
    }

    #[test]
    fn pixels_are_high_entropy_so_the_file_cannot_shrink() {
        let file = noise_png(64 * 1024, 3).unwrap();
        let (_, pixels) = decoded(&file);
        let mut seen = [0u32; 256];
        pixels.iter().for_each(|&b| seen[b as usize] += 1);
        assert!(seen.iter().all(|&n| n > 0), "every byte value appears in random pixels");
        assert_ne!(noise_png(64 * 1024, 4).unwrap(), file, "another seed, another image");
    }

    #[test]
    fn tiny_targets_are_refused() {
        assert!(matches!(noise_png(100, 1), Err(ImageError::TooSmall(100))));
    }
}
