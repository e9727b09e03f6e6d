use super::*;
use MediaKind::*;

/// The first bytes of real files of each format, padded to 300 bytes (Matroska's signature
/// may sit anywhere in its first 256 bytes).
pub(crate) fn sample(format: &str) -> Vec<u8> {
    let iso = |brand: &[u8; 4]| [&[0, 0, 0, 0x20][..], b"ftyp", brand, &[0, 0, 2, 0], b"isomiso2avc1mp41"].concat();
    let ogg = |codec: &[u8]| {
        // One Ogg page: capture pattern, version, "first page" flag, granule, serial,
        // sequence, CRC, one segment of 19 bytes, then the codec's identification header.
        let mut page = [&b"OggS"[..], &[0, 2], &[0; 8], &[0x11, 0x22, 0x33, 0x44], &[0; 4], &[0; 4], &[1, 19]].concat();
        page.extend_from_slice(codec);
        page
    };
    let mut bytes = match format {
        "jpeg" => vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01],
        "png" => [&[0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A, 0, 0, 0, 0x0D][..], b"IHDR"].concat(),
        "gif" => b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec(),
        "webp" => [&b"RIFF"[..], &[0x24, 0x01, 0, 0], b"WEBPVP8 "].concat(),
        "heic" => [&[0, 0, 0, 0x18][..], b"ftypheic", &[0, 0, 0, 0], b"mif1heic"].concat(),
        "pdf" => b"%PDF-1.7\n%\xE2\xE3\xCF\xD3\n".to_vec(),
        "zip" => [&b"PK\x03\x04"[..], &[0x14, 0, 0, 0, 8, 0]].concat(),
        "elf" => [&b"\x7FELF"[..], &[2, 1, 1, 0]].concat(),
        "mp4" => iso(b"isom"),
        "m4v" => iso(b"M4V "),
        "m4a" => iso(b"M4A "),
        "3gp" => iso(b"3gp4"),
        "3g2" => iso(b"3g2a"),
        "mov" => iso(b"qt  "),
        "avi" => [&b"RIFF"[..], &[0x10, 0, 0, 0], b"AVI LIST"].concat(),
        "mkv" => [&[0x1A, 0x45, 0xDF, 0xA3, 0x9F][..], &[0x42, 0x86, 0x81, 0x01], b"\x42\x82\x88matroska"].concat(),
        "webm" => [&[0x1A, 0x45, 0xDF, 0xA3, 0x9F][..], &[0x42, 0x86, 0x81, 0x01], b"\x42\x82\x84webm"].concat(),
        "opus" => ogg(b"OpusHead\x01\x02\x38\x01\x80\xBB\x00\x00\x00\x00\x00"),
        "vorbis" => ogg(b"\x01vorbis\x00\x00\x00\x00\x02\x44\xAC\x00\x00"),
        "mp3-id3" => b"ID3\x03\x00\x00\x00\x00\x0F\x76".to_vec(),
        "mp3-frame" => vec![0xFF, 0xFB, 0x90, 0x64, 0x00],
        "aac" => vec![0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC],
        "amr" => b"#!AMR\n\x3C\x48\xF5\x1F\x96\x66".to_vec(),
        "wav" => [&b"RIFF"[..], &[0x24, 0x08, 0, 0], b"WAVEfmt "].concat(),
        "text" => b"Monthly report\nRevenue: 42\n".to_vec(),
        "svg" => {
            b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"8\" height=\"8\"/>".to_vec()
        }
        "xml" => b"<?xml version=\"1.0\"?>\n<note>svg</note>".to_vec(),
        other => panic!("no sample for {other}"),
    };
    bytes.resize(300, 0);
    bytes
}

#[test]
fn each_format_is_recognised_by_its_magic_number() {
    let table = [
        ("jpeg", Some("image/jpeg")),
        ("png", Some("image/png")),
        ("gif", Some("image/gif")),
        ("webp", Some("image/webp")),
        ("heic", Some("image/heif")),
        ("pdf", Some("application/pdf")),
        ("zip", Some("application/zip")),
        ("elf", Some("application/x-executable")),
        ("mp4", Some("video/mp4")),
        ("m4v", Some("video/mp4")),
        ("m4a", Some("audio/mp4")),
        ("3gp", Some("video/3gpp")),
        ("3g2", Some("video/3gpp2")),
        ("mov", Some("video/quicktime")),
        ("avi", Some("video/x-msvideo")),
        ("mkv", Some("video/x-matroska")),
        ("webm", Some("video/webm")),
        ("opus", Some("audio/ogg; codecs=opus")),
        ("vorbis", Some("audio/ogg")),
        ("mp3-id3", Some("audio/mpeg")),
        ("mp3-frame", Some("audio/mpeg")),
        ("aac", Some("audio/aac")),
        ("amr", Some("audio/amr")),
        ("wav", Some("audio/wav")),
        ("text", None),
        ("svg", Some("image/svg+xml")),
        ("xml", Some("text/xml")),
    ];
    for (format, mime) in table {
        assert_eq!(sniff(&sample(format)), mime, "{format}");
    }
}

#[test]
fn each_route_accepts_its_formats_and_refuses_the_rest() {
    let table: &[(MediaKind, &[&str], &[&str])] = &[
        (Image, &["jpeg", "png", "gif", "webp", "svg"], &["pdf", "heic", "mp4", "text", "elf", "xml"]),
        (Sticker, &["webp", "png", "svg"], &["jpeg", "gif", "mp4", "pdf", "xml"]),
        (Gif, &["mp4", "m4v"], &["gif", "webm", "mov", "png"]),
        (Audio, &["mp3-id3", "mp3-frame", "opus", "vorbis", "m4a", "aac", "amr", "wav"], &["mp4", "pdf", "webm"]),
        (Video, &["mp4", "m4v", "3gp", "3g2", "mov", "avi", "mkv"], &["webm", "gif", "m4a", "jpeg", "text"]),
        (Ptv, &["mp4", "3gp", "mov"], &["webm", "opus", "png"]),
        (Document, &["pdf", "zip", "text", "png", "mp4", "elf", "svg"], &[]),
    ];
    for (kind, fits, refused) in table {
        for format in *fits {
            assert!(check(*kind, &sample(format)).is_ok(), "{format} must fit {}", route(*kind));
        }
        for format in *refused {
            assert!(check(*kind, &sample(format)).is_err(), "{format} must not fit {}", route(*kind));
        }
    }
}

#[test]
fn a_pdf_sent_as_an_image_is_refused_naming_what_it_is_and_what_fits() {
    let err = check(Image, &sample("pdf")).unwrap_err();
    assert_eq!(err, MediaTypeError::Wrong { kind: Image, found: "application/pdf" });
    assert_eq!(
        err.to_string(),
        "the image is application/pdf; send-image accepts image/jpeg, image/png, image/gif, image/webp, image/svg+xml"
    );
}

#[test]
fn unrecognised_bytes_are_a_document_of_type_octet_stream_and_nothing_else() {
    assert_eq!(check(Document, &sample("text")), Ok(OCTET_STREAM));
    let err = check(Audio, &sample("text")).unwrap_err();
    assert_eq!(err, MediaTypeError::Unknown { kind: Audio });
    assert!(err
        .to_string()
        .starts_with("the audio is of no type this server recognises; send-audio accepts audio/mpeg"));
}

#[test]
fn empty_content_fits_no_route() {
    for kind in MediaKind::ALL {
        assert_eq!(check(kind, &[]), Err(MediaTypeError::Empty { kind }));
    }
    assert_eq!(MediaTypeError::Empty { kind: Ptv }.to_string(), "the video note is empty");
}

#[test]
fn only_the_first_sniff_len_bytes_are_read() {
    let mut late = vec![0u8; SNIFF_LEN];
    late.extend_from_slice(&sample("png"));
    assert_eq!(sniff(&late), None);
}
