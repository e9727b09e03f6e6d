//! Base64 media text decoded in bounded chunks: whitespace (line-wrapped base64) is skipped,
//! padding may be present or not, and the decoded bytes go to a sink chunk by chunk, so a
//! 100 MB document never exists decoded in memory. Pure computation, no I/O.

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;

use super::{MediaError, MediaKind};

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// Base64 characters decoded per step (a multiple of 4).
const STEP: usize = 64 * 1024;

/// Decodes `text` into `sink`, in chunks of at most 48 KiB.
pub fn decode_chunks(text: &[u8], mut sink: impl FnMut(&[u8]) -> Result<(), MediaError>) -> Result<(), MediaError> {
    let mut clean = Vec::with_capacity(STEP);
    let mut out = vec![0u8; STEP / 4 * 3];
    let mut decoded = 0usize;
    let mut flush = |clean: &mut Vec<u8>, last: bool| -> Result<(), MediaError> {
        let take = if last { clean.len() } else { clean.len() / 4 * 4 };
        if take == 0 {
            return Ok(());
        }
        let n = ENGINE.decode_slice(&clean[..take], &mut out).map_err(|e| MediaError::BadBase64(at(e, decoded)))?;
        decoded += take;
        clean.drain(..take);
        sink(&out[..n])
    };
    for &b in text {
        if b.is_ascii_whitespace() {
            continue;
        }
        clean.push(b);
        if clean.len() == STEP {
            flush(&mut clean, false)?;
        }
    }
    flush(&mut clean, true)
}

/// `text` decoded whole into memory, refused past `limit` bytes (a `kind` file) or when empty:
/// for files that must be whole before they are stored (a sticker rewritten, an SVG drawn).
pub fn decode_whole(text: &[u8], kind: MediaKind, limit: u64) -> Result<Vec<u8>, MediaError> {
    let mut file = Vec::new();
    decode_chunks(text, |chunk| {
        if (file.len() + chunk.len()) as u64 > limit {
            return Err(MediaError::too_large(kind, limit));
        }
        file.extend_from_slice(chunk);
        Ok(())
    })?;
    match file.is_empty() {
        true => Err(MediaError::Empty),
        false => Ok(file),
    }
}

/// The first `n` bytes `text` decodes to (fewer when it is shorter), to sniff its type before
/// choosing how to store it; empty when its start is not base64 (the whole decode says why).
pub fn decode_head(text: &[u8], n: usize) -> Vec<u8> {
    let want = n.div_ceil(3) * 4;
    let clean: Vec<u8> = text.iter().copied().filter(|b| !b.is_ascii_whitespace()).take(want).collect();
    ENGINE.decode(&clean).unwrap_or_default()
}

fn at(e: base64::DecodeSliceError, offset: usize) -> String {
    match e {
        base64::DecodeSliceError::DecodeError(base64::DecodeError::InvalidByte(i, b)) => {
            format!("unexpected character {:?} at position {}", b as char, offset + i)
        }
        other => other.to_string(),
    }
}

/// What a media field holds: a URL to fetch later, or inline base64 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaInput<'a> {
    Url(&'a str),
    /// The base64 payload (after a `data:…;base64,` prefix, if there was one).
    Base64(&'a str),
}

impl<'a> MediaInput<'a> {
    /// Reads a media field's text: `http(s)://…`, `data:<type>;base64,<data>`, or bare base64.
    pub fn parse(text: &'a str) -> Result<MediaInput<'a>, String> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err("must not be empty".into());
        }
        let lower = trimmed.get(..8).unwrap_or(trimmed).to_ascii_lowercase();
        if lower.starts_with("http://") || lower.starts_with("https://") {
            if trimmed.len() > 4096 {
                return Err("is a URL longer than 4096 characters".into());
            }
            if trimmed.chars().any(|c| c.is_whitespace() || c.is_control()) {
                return Err("is a URL with spaces or control characters in it".into());
            }
            return Ok(MediaInput::Url(trimmed));
        }
        if lower.starts_with("data:") {
            let comma = trimmed.find(',').ok_or("is a data URI without a comma before its data")?;
            let header = &trimmed[5..comma];
            if !header.to_ascii_lowercase().ends_with(";base64") {
                return Err("is a data URI that is not base64 (write data:<type>;base64,<data>)".into());
            }
            return Ok(MediaInput::Base64(&trimmed[comma + 1..]));
        }
        let looks_base64 = trimmed.bytes().take(256).all(|b| b.is_ascii_alphanumeric() || b"+/=\r\n ".contains(&b));
        if looks_base64 {
            return Ok(MediaInput::Base64(trimmed));
        }
        Err("must be an http(s) URL or base64 data (data:<type>;base64,<data>)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(text: &str) -> Result<Vec<u8>, MediaError> {
        let mut out = Vec::new();
        decode_chunks(text.as_bytes(), |c| {
            out.extend_from_slice(c);
            Ok(())
        })?;
        Ok(out)
    }

    #[test]
    fn base64_decodes_across_chunks_with_or_without_padding_and_line_breaks() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        assert_eq!(decode(&text).unwrap(), bytes);
        let wrapped: String =
            text.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\r\n");
        assert_eq!(decode(&wrapped).unwrap(), bytes);
        assert_eq!(decode("aGk").unwrap(), b"hi");
        assert_eq!(decode("aGk=").unwrap(), b"hi");
    }

    #[test]
    fn the_head_is_the_first_bytes_and_the_whole_is_bounded() {
        let bytes: Vec<u8> = (0..100_000u32).map(|i| (i * 13 % 251) as u8).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let wrapped: String =
            text.as_bytes().chunks(76).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join("\n");
        for n in [1, 2, 3, 4, 8192] {
            let head = decode_head(wrapped.as_bytes(), n);
            assert!(head.len() >= n && head.len() < n + 3 && bytes.starts_with(&head), "{n}");
        }
        assert_eq!(decode_head(b"aGk", 8192), b"hi", "shorter than asked: all of it");
        assert_eq!(decode_head(b"a*Gk", 8192), b"", "not base64: nothing");
        assert_eq!(decode_whole(text.as_bytes(), MediaKind::Image, 100_000).unwrap(), bytes);
        assert!(matches!(decode_whole(text.as_bytes(), MediaKind::Image, 99_999), Err(MediaError::TooLarge { .. })));
        assert_eq!(decode_whole(b" \n", MediaKind::Image, 10), Err(MediaError::Empty));
    }

    #[test]
    fn bad_base64_names_the_character() {
        let err = decode("aGk*aGk=").unwrap_err().to_string();
        assert!(err.contains("'*'"), "{err}");
    }

    #[test]
    fn media_fields_are_urls_data_uris_or_bare_base64() {
        assert_eq!(MediaInput::parse(" https://x.test/a.png ").unwrap(), MediaInput::Url("https://x.test/a.png"));
        assert_eq!(MediaInput::parse("data:image/png;base64,iVBO").unwrap(), MediaInput::Base64("iVBO"));
        assert_eq!(MediaInput::parse("iVBORw0KGgo=").unwrap(), MediaInput::Base64("iVBORw0KGgo="));
        for bad in ["", "ftp://x", "data:text/plain,hello", "data:image/png;base64", "hello world!", "https://a b"] {
            assert!(MediaInput::parse(bad).is_err(), "{bad}");
        }
    }
}
