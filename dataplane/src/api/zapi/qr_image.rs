//! The pairing code as a PNG QR code a phone camera can read, as a `data:` URL (Z-API
//! `qr-code/image`). 8 pixels per module and the standard 4-module quiet zone.

use base64::Engine as _;
use qrcode::{Color, QrCode};

use super::ZapiError;

const SCALE: usize = 8;
const QUIET: usize = 4;

pub fn data_url(code: &str) -> Result<String, ZapiError> {
    let png = png_of(code)?;
    Ok(format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(png)))
}

/// Renders `text` as an 8-bit greyscale PNG.
pub fn png_of(text: &str) -> Result<Vec<u8>, ZapiError> {
    let qr = QrCode::new(text.as_bytes())
        .map_err(|e| ZapiError::invalid("QR code unavailable", format!("cannot encode the pairing code: {e}")))?;
    let modules = qr.width();
    let colors = qr.to_colors();
    let side = (modules + 2 * QUIET) * SCALE;
    let mut pixels = vec![255u8; side * side];
    for (i, c) in colors.iter().enumerate() {
        if *c != Color::Dark {
            continue;
        }
        let (mx, my) = (i % modules + QUIET, i / modules + QUIET);
        for y in my * SCALE..(my + 1) * SCALE {
            pixels[y * side + mx * SCALE..y * side + (mx + 1) * SCALE].fill(0);
        }
    }
    encode_png(&pixels, side).map_err(|e| ZapiError::invalid("QR code unavailable", format!("cannot write PNG: {e}")))
}

fn encode_png(pixels: &[u8], side: usize) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, side as u32, side as u32);
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    enc.write_header()?.write_image_data(pixels)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_png_decodes_back_to_the_pairing_code() {
        let code = "2@Zm9vYmFyYmF6cXV4cXV1eA==,bm9pc2Uga2V5IG9mIHRoaXJ0eSB0d28gYnl0ZXMh,aWRlbnRpdHk=,c2VjcmV0";
        let png = png_of(code).unwrap();
        let decoder = png::Decoder::new(std::io::Cursor::new(png));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        let (w, h) = (info.width as usize, info.height as usize);
        let mut img = rqrr::PreparedImage::prepare_from_greyscale(w, h, |x, y| buf[y * w + x]);
        let grids = img.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, content) = grids[0].decode().unwrap();
        assert_eq!(content, code);
    }
}
