use base64::Engine as _;

use super::*;

/// `file` as a sticker naming `author`.
fn with_author(file: &[u8], author: &str) -> Result<Vec<u8>, StickerError> {
    as_sticker(file, Some(author)).map(Cow::into_owned)
}

/// A WebP with `author` written in by chunk surgery alone, whatever its size (what
/// [`as_sticker`] does to a 512×512 or animated WebP).
fn stamped(file: &[u8], author: &str) -> Result<Vec<u8>, StickerError> {
    webp_with_exif(file, &exif_of(&pack(file, author)))
}

/// A lossless WebP of `width`×`height` RGBA pixels, carrying `exif` if given.
fn webp_of(pixels: &[u8], width: u32, height: u32, exif: Option<Vec<u8>>) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = WebPEncoder::new(&mut out);
    if let Some(exif) = exif {
        encoder.set_exif_metadata(exif);
    }
    encoder.encode(pixels, width, height, ColorType::Rgba8).unwrap();
    out
}

/// Small WebPs of each layout (the test images browsers' WebP feature checks use).
fn webp(layout: &str) -> Vec<u8> {
    let b64 = match layout {
        "lossy" => "UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA",
        "lossless" => "UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==",
        "alpha" => "UklGRkoAAABXRUJQVlA4WAoAAAAQAAAAAAAAAAAAQUxQSAwAAAARBxAR/Q9ERP8DAABWUDggGAAAABQBAJ0BKgEAAQAAAP4AAA3AAP7mtQAAAA==",
        "animated" => "UklGRlIAAABXRUJQVlA4WAoAAAASAAAAAAAAAAAAQU5JTQYAAAD/////AABBTk1GJgAAAAAAAAAAAAAAAAAAAGQAAABWUDhMDQAAAC8AAAAQBxAREYiI/gcA",
        other => panic!("no {other} sample"),
    };
    base64::engine::general_purpose::STANDARD.decode(b64).unwrap()
}

/// A PNG of `color` with the given pixels.
fn png_of(color: png::ColorType, pixels: &[u8], width: u32, height: u32) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, width, height);
    encoder.set_color(color);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.write_header().unwrap().write_image_data(pixels).unwrap();
    out
}

const RGBA: [u8; 24] = [255, 0, 0, 255, 0, 255, 0, 128, 0, 0, 255, 0, 9, 9, 9, 255, 200, 100, 50, 25, 1, 2, 3, 4];

fn facts(webp: &[u8]) -> ((u32, u32), bool, bool) {
    let decoder = WebPDecoder::new(Cursor::new(webp)).expect("a readable WebP");
    (decoder.dimensions(), decoder.has_alpha(), decoder.is_animated())
}

fn chunk_ids(webp: &[u8]) -> Vec<String> {
    chunks(webp).unwrap().iter().map(|(id, _)| String::from_utf8_lossy(id).into_owned()).collect()
}

#[test]
fn every_webp_layout_carries_the_author_and_stays_the_same_picture() {
    let cases = [
        ("lossy", vec!["VP8X", "VP8 ", "EXIF"]),
        ("lossless", vec!["VP8X", "VP8L", "EXIF"]),
        ("alpha", vec!["VP8X", "ALPH", "VP8 ", "EXIF"]),
        ("animated", vec!["VP8X", "ANIM", "ANMF", "EXIF"]),
    ];
    for (layout, ids) in cases {
        let file = webp(layout);
        let stamped = stamped(&file, "Z-API").unwrap_or_else(|e| panic!("{layout}: {e}"));
        assert_eq!(author_of(&stamped).as_deref(), Some("Z-API"), "{layout}");
        assert_eq!(facts(&stamped), facts(&file), "{layout}: same size, alpha and animation");
        assert_eq!(chunk_ids(&stamped), ids, "{layout}");
        assert_eq!(chunks(&stamped).unwrap()[0].1[0] & EXIF_FLAG, EXIF_FLAG, "{layout}: VP8X announces the EXIF");
        let declared = u32::from_le_bytes(stamped[4..8].try_into().unwrap()) as usize;
        assert_eq!(declared + 8, stamped.len(), "{layout}: the RIFF size is the file's");
        assert_eq!(author_of(&file), None, "{layout}: the original had none");
    }
}

#[test]
fn a_webps_own_bitstream_is_kept_byte_for_byte() {
    let file = webp("lossy");
    let stamped = stamped(&file, "Ana").unwrap();
    let bitstream = |f: &[u8]| chunks(f).unwrap().into_iter().find(|(id, _)| id == b"VP8 ").unwrap().1.to_vec();
    assert_eq!(bitstream(&stamped), bitstream(&file));
    let mut pixels = vec![0u8; 3];
    let mut decoder = WebPDecoder::new(Cursor::new(&stamped[..])).unwrap();
    decoder.read_image(&mut pixels).expect("the stamped file decodes");
}

#[test]
fn a_second_author_replaces_the_first() {
    let once = stamped(&webp("lossless"), "first").unwrap();
    let twice = stamped(&once, "second, with ünïcode").unwrap();
    assert_eq!(author_of(&twice).as_deref(), Some("second, with ünïcode"));
    assert_eq!(chunk_ids(&twice), ["VP8X", "VP8L", "EXIF"], "one EXIF chunk, one VP8X");
}

#[test]
fn the_exif_goes_before_an_xmp_chunk() {
    let mut file = webp("alpha");
    super::put_chunk(&mut file, b"XMP ", b"<x:xmpmeta/>");
    let size = (file.len() - 8) as u32;
    file[4..8].copy_from_slice(&size.to_le_bytes());
    let stamped = stamped(&file, "Ana").unwrap();
    assert_eq!(chunk_ids(&stamped), ["VP8X", "ALPH", "VP8 ", "EXIF", "XMP "]);
    assert_eq!(author_of(&stamped).as_deref(), Some("Ana"));
}

fn decoded(webp: &[u8]) -> ((u32, u32), Vec<u8>) {
    let mut decoder = WebPDecoder::new(Cursor::new(webp)).unwrap();
    let mut pixels = vec![0u8; decoder.output_buffer_size().unwrap()];
    decoder.read_image(&mut pixels).unwrap();
    (decoder.dimensions(), pixels)
}

#[test]
fn a_512_square_png_becomes_a_lossless_webp_with_the_same_pixels() {
    let rgba: Vec<u8> = (0..SIDE * SIDE)
        .flat_map(|i| [(i % 251) as u8, (i % 13) as u8, (i / 1031) as u8, 255 - (i % 7) as u8])
        .collect();
    let grey: Vec<u8> = (0..SIDE * SIDE).map(|i| (i % 256) as u8).collect();
    let cases = [
        (png::ColorType::Rgba, rgba.clone(), rgba),
        (png::ColorType::Grayscale, grey.clone(), grey.iter().flat_map(|&l| [l, l, l, 255]).collect()),
    ];
    for (color, pixels, expected) in cases {
        let stamped = with_author(&png_of(color, &pixels, SIDE, SIDE), "Z-API").unwrap();
        assert_eq!(sniff::sniff(&stamped), Some("image/webp"), "{color:?}");
        assert_eq!(author_of(&stamped).as_deref(), Some("Z-API"), "{color:?}");
        let ((w, h), decoded) = decoded(&stamped);
        assert_eq!((w, h), (SIDE, SIDE), "{color:?}");
        let decoded: Vec<u8> = match decoded.len() == expected.len() {
            true => decoded,
            false => decoded.chunks_exact(3).flat_map(|p| [p[0], p[1], p[2], 255]).collect(),
        };
        assert!(decoded == expected, "{color:?}: lossless");
    }
}

#[test]
fn a_png_of_another_size_is_scaled_to_fit_the_sticker_square_on_a_transparent_ground() {
    let cases = [
        (png::ColorType::Rgba, [10, 20, 30, 255].repeat(6), 3, 2),
        (png::ColorType::Rgb, vec![200; 3 * 1000 * 250], 1000, 250),
    ];
    for (color, pixels, width, height) in cases {
        let stamped = with_author(&png_of(color, &pixels, width, height), "Ana").unwrap();
        assert_eq!(author_of(&stamped).as_deref(), Some("Ana"), "{color:?}");
        let ((w, h), decoded) = decoded(&stamped);
        assert_eq!((w, h), (SIDE, SIDE), "{color:?}");
        let alpha = |x: u32, y: u32| decoded[((y * SIDE + x) * 4 + 3) as usize];
        assert_eq!(alpha(0, 0), 0, "{color:?}: the corner above the picture is transparent");
        assert_eq!(alpha(SIDE / 2, SIDE / 2), 255, "{color:?}: the picture fills the middle");
        assert_eq!(alpha(0, SIDE / 2), 255, "{color:?}: the wider side touches the edges");
    }
}

#[test]
fn a_transparent_png_scaled_into_the_square_keeps_its_colour_to_its_edges() {
    // 1024×1024: an opaque white disc on a transparent ground whose hidden colour is black.
    // Scaled as they are, the edge's half-transparent pixels would be grey; weighted by alpha,
    // they are white, only less opaque.
    let side = 1024u32;
    let pixels: Vec<u8> = (0..side * side)
        .flat_map(|i| {
            let (dx, dy) = (i64::from(i % side) - 512, i64::from(i / side) - 512);
            if dx * dx + dy * dy < 300 * 300 {
                [255, 255, 255, 255]
            } else {
                [0, 0, 0, 0]
            }
        })
        .collect();
    let png = png_of(png::ColorType::Rgba, &pixels, side, side);
    let sticker = as_sticker(&png, None).unwrap();
    let ((w, h), decoded) = decoded(&sticker);
    assert_eq!((w, h), (SIDE, SIDE));
    let edge: Vec<&[u8]> = decoded.chunks_exact(4).filter(|p| (1..255).contains(&p[3])).collect();
    assert!(!edge.is_empty(), "the scaled disc has half-transparent edge pixels");
    let darkest = edge.iter().filter(|p| p[3] >= 16).flat_map(|p| &p[..3]).min().copied().unwrap_or(255);
    assert!(darkest >= 250, "its edge pixels are white: the darkest channel is {darkest}");
}

#[test]
fn what_cannot_carry_an_author_is_refused_with_the_reason() {
    let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, b'J', b'F', b'I', b'F', 0].to_vec();
    let header_only = [&b"RIFF"[..], &[0x24, 0x01, 0, 0], b"WEBPVP8 "].concat();
    let mut cut_png = png_of(png::ColorType::Rgba, &RGBA, 3, 2);
    cut_png.truncate(cut_png.len() - 20);
    let wide = png_of(png::ColorType::Grayscale, &vec![0; (MAX_SIDE + 1) as usize], MAX_SIDE + 1, 1);
    let tall_webp = webp_of(&vec![9; 4 * (MAX_SIDE + 1) as usize], 1, MAX_SIDE + 1, None);
    type Case = (&'static str, Vec<u8>, fn(&StickerError) -> bool);
    let cases: [Case; 7] = [
        ("jpeg", jpeg, |e| *e == StickerError::NotAPicture),
        ("text", b"hello".to_vec(), |e| *e == StickerError::NotAPicture),
        ("a WebP header without its image", header_only, |e| matches!(e, StickerError::BadWebp(_))),
        ("a cut PNG", cut_png, |e| matches!(e, StickerError::BadPng(_))),
        ("a PNG wider than the limit", wide, |e| {
            *e == StickerError::TooLarge { format: "PNG", width: MAX_SIDE + 1, height: 1 }
        }),
        ("a WebP taller than the limit", tall_webp, |e| {
            *e == StickerError::TooLarge { format: "WebP", width: 1, height: MAX_SIDE + 1 }
        }),
        ("a cut SVG", b"<svg xmlns='http://www.w3.org/2000/svg' width='1'".to_vec(), |e| {
            matches!(e, StickerError::Svg(_))
        }),
    ];
    for (name, file, expected) in cases {
        let e = with_author(&file, "Ana").expect_err(name);
        assert!(expected(&e), "{name}: {e:?}");
        assert!(!e.to_string().is_empty());
    }
}

#[test]
fn the_pack_json_is_read_from_either_byte_order_and_with_the_exif_prefix() {
    let pack = br#"{"sticker-pack-publisher":"Ana"}"#;
    let little = exif_of(pack);
    assert_eq!(tag_bytes(&little, PACK_TAG), Some(&pack[..]));
    assert_eq!(tag_bytes(&[&b"Exif\0\0"[..], &little].concat(), PACK_TAG), Some(&pack[..]));
    let mut big = b"MM\0*\0\0\0\x08\0\x01\x57\x41\0\x07".to_vec();
    big.extend_from_slice(&(pack.len() as u32).to_be_bytes());
    big.extend_from_slice(&26u32.to_be_bytes());
    big.extend_from_slice(&[0; 4]);
    big.extend_from_slice(pack);
    assert_eq!(tag_bytes(&big, PACK_TAG), Some(&pack[..]));
    assert_eq!(tag_bytes(&little, 0x0112), None, "another tag");
    assert_eq!(tag_bytes(&little[..30], PACK_TAG), None, "cut short");
    assert_eq!(tag_bytes(b"not tiff", PACK_TAG), None);
}

#[test]
fn the_same_sticker_and_author_give_the_same_bytes() {
    let file = webp_of(&[7; 4 * 512 * 512], SIDE, SIDE, None);
    assert_eq!(with_author(&file, "Ana").unwrap(), with_author(&file, "Ana").unwrap());
    assert_ne!(with_author(&file, "Ana").unwrap(), with_author(&file, "Bia").unwrap());
}

#[test]
fn without_an_author_a_webp_is_kept_and_a_png_still_becomes_a_webp_sticker() {
    let file = webp("animated");
    assert!(matches!(as_sticker(&file, None), Ok(Cow::Borrowed(kept)) if kept == &file[..]));
    let made = as_sticker(&png_of(png::ColorType::Rgba, &RGBA, 3, 2), None).unwrap().into_owned();
    assert_eq!(sniff::sniff(&made), Some("image/webp"));
    assert_eq!(facts(&made), ((SIDE, SIDE), true, false));
    assert_eq!(author_of(&made), None);
    assert_eq!(as_sticker(b"%PDF-1.7", None).unwrap_err(), StickerError::NotAPicture);
}

#[test]
fn an_svg_is_drawn_into_a_512_square_webp_sticker_with_or_without_an_author() {
    // 200×100: drawn 512×256, then centred in the square on a transparent ground.
    let svg = br##"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="200" height="100"><rect width="200" height="100" fill="#0f0"/></svg>"##;
    for author in [None, Some("Z-API")] {
        let made = as_sticker(svg, author).unwrap().into_owned();
        assert_eq!(facts(&made), ((SIDE, SIDE), true, false), "{author:?}");
        assert_eq!(author_of(&made).as_deref(), author);
        let ((w, _), rgba) = decoded(&made);
        let at = |x: u32, y: u32| &rgba[((y * w + x) * 4) as usize..][..4];
        assert_eq!(at(256, 256), [0, 255, 0, 255], "the drawing, in the middle");
        assert_eq!(at(256, 10)[3], 0, "transparent above it");
    }
}

#[test]
fn a_512_square_webp_keeps_its_bitstream_with_or_without_an_author() {
    let pixels: Vec<u8> = (0..SIDE * SIDE).flat_map(|i| [(i % 251) as u8, (i % 13) as u8, 40, 255]).collect();
    let file = webp_of(&pixels, SIDE, SIDE, None);
    assert!(matches!(as_sticker(&file, None), Ok(Cow::Borrowed(kept)) if kept == &file[..]));
    let made = with_author(&file, "Z-API").unwrap();
    assert_eq!(chunk_ids(&made), ["VP8X", "VP8L", "EXIF"]);
    let bitstream = |f: &[u8]| chunks(f).unwrap().into_iter().find(|(id, _)| id == b"VP8L").unwrap().1.to_vec();
    assert_eq!(bitstream(&made), bitstream(&file), "not re-encoded");
    assert_eq!(author_of(&made).as_deref(), Some("Z-API"));
}

#[test]
fn a_still_webp_of_another_size_becomes_the_sticker_square_and_an_animated_one_is_kept() {
    // 4×2, left half red, right half half-transparent blue: scaled to 512×256, centred.
    let pixels: Vec<u8> = (0..8).flat_map(|i| if i % 4 < 2 { [255, 0, 0, 255] } else { [0, 0, 255, 128] }).collect();
    let own = exif_of(br#"{"sticker-pack-publisher":"Own pack"}"#);
    let cases = [
        (
            "lossless 4×2 with its own pack, no author",
            webp_of(&pixels, 4, 2, Some(own.clone())),
            None,
            Some("Own pack"),
        ),
        ("lossless 4×2 with its own pack, an author", webp_of(&pixels, 4, 2, Some(own)), Some("Z-API"), Some("Z-API")),
        ("lossy 1×1 with alpha", webp("alpha"), None, None),
        ("lossy 1×1", webp("lossy"), Some("Ana"), Some("Ana")),
    ];
    for (what, file, author, expected_author) in cases {
        let made = as_sticker(&file, author).unwrap_or_else(|e| panic!("{what}: {e}")).into_owned();
        assert_eq!(facts(&made), ((SIDE, SIDE), true, false), "{what}");
        assert_eq!(author_of(&made).as_deref(), expected_author, "{what}");
        let ((w, _), rgba) = decoded(&made);
        let at = |x: u32, y: u32| -> [u8; 4] { rgba[((y * w + x) * 4) as usize..][..4].try_into().unwrap() };
        if what.starts_with("lossless") {
            // Scaled up with Lanczos3, which rings a little near the colours' border.
            let [r, g, b, a] = at(64, 256);
            assert!(r > 230 && g < 20 && b < 30 && a > 240, "{what}: red on the left, {:?}", at(64, 256));
            let [r, g, b, a] = at(448, 256);
            assert!(
                r < 20 && g < 20 && b > 230 && (110..150).contains(&a),
                "{what}: blue on the right, {:?}",
                at(448, 256)
            );
            assert_eq!(at(256, 10)[3], 0, "{what}: transparent above the 512×256 picture");
        }
    }
    let animated = webp("animated");
    assert!(matches!(as_sticker(&animated, None), Ok(Cow::Borrowed(kept)) if kept == &animated[..]));
    assert_eq!(facts(&with_author(&animated, "Ana").unwrap()), facts(&animated), "an animation is not resized");
}
