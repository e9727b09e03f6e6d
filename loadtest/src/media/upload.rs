//! `send-image` request bodies: `{"phone": ..., "caption": ..., "image": "data:image/png;base64,..."}`
//! as [`Parts`] — a per-recipient JSON head, the base64 of the image shared by every request,
//! and a small per-request tail. With `unique` set, the tail's image ends with a `tEXt` chunk
//! holding the request's number (before `IEND`), so every request uploads different bytes
//! and the server's content-addressed store stores each one (the issue's "same bytes sent
//! twice are stored once" would otherwise turn the measurement into one of deduplication).
//! The split falls on a multiple of 3 bytes so the shared base64 never needs recomputing.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;

use crate::client::Parts;

/// The last chunk of every PNG: length 0, `IEND`, its CRC.
pub const IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
/// The keyword of the per-request `tEXt` chunk.
const KEYWORD: &str = "chatedge-loadtest";
/// Digits of the request number in the `tEXt` chunk (fixed, so every body has one length).
const SEQ_DIGITS: usize = 20;

/// `data:{mime};base64,{bytes}`.
pub fn data_uri(mime: &str, bytes: &[u8]) -> String {
    format!("data:{mime};base64,{}", STANDARD.encode(bytes))
}

/// CRC-32 (ISO-HDLC, the PNG chunk checksum), bitwise: it only covers a few dozen bytes per
/// request.
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A PNG `tEXt` chunk: length, type, `keyword NUL text`, CRC of type and data.
pub fn text_chunk(keyword: &str, text: &str) -> Vec<u8> {
    let mut chunk = Vec::with_capacity(12 + keyword.len() + 1 + text.len());
    let data_len = keyword.len() + 1 + text.len();
    chunk.extend_from_slice(&(data_len as u32).to_be_bytes());
    chunk.extend_from_slice(b"tEXt");
    chunk.extend_from_slice(keyword.as_bytes());
    chunk.push(0);
    chunk.extend_from_slice(text.as_bytes());
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

#[derive(Debug, thiserror::Error)]
#[error("not a PNG ending in IEND ({0} bytes)")]
pub struct NotPng(usize);

/// One image, ready to go out in many request bodies.
#[derive(Debug)]
pub struct ImageUpload {
    /// base64 of the image up to a multiple of 3 bytes before `IEND`.
    shared: Bytes,
    /// The image from there up to (not including) `IEND`.
    rest: Vec<u8>,
    png_len: usize,
    unique: bool,
}

impl ImageUpload {
    /// `png` must end with `IEND`; `unique` makes every request's image different.
    pub fn new(png: &[u8], unique: bool) -> Result<ImageUpload, NotPng> {
        if png.len() < 8 + IEND.len() || !png.ends_with(&IEND) || !png.starts_with(b"\x89PNG\r\n\x1a\n") {
            return Err(NotPng(png.len()));
        }
        let before_iend = png.len() - IEND.len();
        let cut = before_iend / 3 * 3;
        let shared = Bytes::from(STANDARD.encode(&png[..cut]));
        Ok(ImageUpload { shared, rest: png[cut..before_iend].to_vec(), png_len: png.len(), unique })
    }

    /// The image request `seq` uploads.
    pub fn png(&self, seq: u64) -> Vec<u8> {
        let Ok(mut png) = STANDARD.decode(&self.shared) else { unreachable!("our own base64 decodes") };
        png.extend_from_slice(&self.tail_image(seq));
        png
    }

    /// Size of every request's image.
    pub fn png_len(&self) -> usize {
        self.png_len + if self.unique { 12 + KEYWORD.len() + 1 + SEQ_DIGITS } else { 0 }
    }

    fn tail_image(&self, seq: u64) -> Vec<u8> {
        let mut tail = self.rest.clone();
        if self.unique {
            tail.extend_from_slice(&text_chunk(KEYWORD, &format!("{seq:0SEQ_DIGITS$}")));
        }
        tail.extend_from_slice(&IEND);
        tail
    }

    /// The JSON before the image's base64, one per recipient.
    pub fn head(phone: &str, caption: &str) -> Bytes {
        let (phone, caption) = (serde_json::Value::from(phone), serde_json::Value::from(caption));
        Bytes::from(format!("{{\"phone\":{phone},\"caption\":{caption},\"image\":\"data:image/png;base64,"))
    }

    /// The body of request `seq` to the recipient whose [`head`](Self::head) is `head`.
    pub fn body(&self, head: &Bytes, seq: u64) -> Parts {
        let mut tail = STANDARD.encode(self.tail_image(seq));
        tail.push_str("\"}");
        [head.clone(), self.shared.clone(), Bytes::from(tail)].into_iter().collect()
    }
}

#[cfg(test)]
mod tests {
    use http_body_util::BodyExt;

    use super::*;
    use crate::media::noise_png;

    async fn json_of(body: Parts) -> serde_json::Value {
        let bytes = body.collect().await.unwrap().to_bytes();
        serde_json::from_slice(&bytes).expect("a JSON body")
    }

    fn text_chunks(png: &[u8]) -> Vec<String> {
        let reader = png::Decoder::new(std::io::Cursor::new(png)).read_info().expect("a PNG");
        let mut reader = reader;
        let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
        reader.next_frame(&mut pixels).expect("a frame");
        reader.finish().expect("chunks after the image data, CRCs checked");
        reader.info().uncompressed_latin1_text.iter().map(|t| format!("{}={}", t.keyword, t.text)).collect()
    }

    #[test]
    fn a_data_uri_names_the_type_and_carries_base64() {
        assert_eq!(data_uri("image/png", b"\x89PNG"), "data:image/png;base64,iVBORw==");
    }

    #[test]
    fn crc32_is_the_png_checksum() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b"IEND").to_be_bytes(), IEND[8..]);
    }

    #[tokio::test]
    async fn a_body_is_a_send_image_request_whose_image_is_a_valid_png() {
        let png = noise_png(10_000, 5).unwrap();
        let upload = ImageUpload::new(&png, true).unwrap();
        let body = upload.body(&ImageUpload::head("5511000010001", "a \"quoted\" caption"), 42);
        let expected_len = body.len();
        let v = json_of(body).await;
        assert_eq!(v["phone"], "5511000010001");
        assert_eq!(v["caption"], "a \"quoted\" caption");
        let uri = v["image"].as_str().expect("image");
        let sent = STANDARD.decode(uri.strip_prefix("data:image/png;base64,").expect("a PNG data URI")).unwrap();
        assert_eq!(uri, data_uri("image/png", &upload.png(42)));
        assert_eq!(sent.len(), upload.png_len());
        assert_eq!(text_chunks(&sent), vec![format!("chatedge-loadtest={:020}", 42)]);
        let other = upload.body(&ImageUpload::head("5511000010001", "a \"quoted\" caption"), 43);
        assert_eq!(other.len(), expected_len, "every request has the same length");
    }

    #[tokio::test]
    async fn unique_uploads_differ_per_request_and_repeated_ones_do_not() {
        let png = noise_png(4_000, 6).unwrap();
        let head = ImageUpload::head("5511000010001", "");
        let unique = ImageUpload::new(&png, true).unwrap();
        assert_ne!(json_of(unique.body(&head, 1)).await, json_of(unique.body(&head, 2)).await);
        let repeated = ImageUpload::new(&png, false).unwrap();
        assert_eq!(repeated.png(1), png);
        let v = json_of(repeated.body(&head, 1)).await;
        assert_eq!(v["image"].as_str(), Some(data_uri("image/png", &png).as_str()));
        assert_eq!(v, json_of(repeated.body(&head, 2)).await);
    }

    #[test]
    fn only_pngs_are_accepted() {
        assert!(ImageUpload::new(b"%PDF-1.7 not an image", true).is_err());
    }
}
