use base64::Engine as _;
use image::codecs::gif::GifEncoder;
use image::ExtendedColorType;

use super::*;

/// A 16×16 RGBA picture: its left half opaque red, its right half transparent.
fn half_red() -> Vec<u8> {
    (0..16 * 16).flat_map(|i| if i % 16 < 8 { [255, 0, 0, 255] } else { [0, 0, 255, 0] }).collect()
}

fn gif_of(rgba: &[u8]) -> Vec<u8> {
    let mut gif = Vec::new();
    GifEncoder::new(&mut gif).encode(rgba, 16, 16, ExtendedColorType::Rgba8).unwrap();
    gif
}

fn webp_of(rgba: &[u8]) -> Vec<u8> {
    let mut webp = Vec::new();
    image_webp::WebPEncoder::new(&mut webp).encode(rgba, 16, 16, image_webp::ColorType::Rgba8).unwrap();
    webp
}

/// A decoded JPEG's size and the RGB pixel at (`x`, `y`).
fn pixel(jpeg: &[u8], x: u32, y: u32) -> ((u32, u32), [u8; 3]) {
    let rgb = image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg).expect("a JPEG").to_rgb8();
    ((rgb.width(), rgb.height()), rgb.get_pixel(x, y).0)
}

fn near(got: [u8; 3], want: [u8; 3]) -> bool {
    got.iter().zip(want).all(|(g, w)| g.abs_diff(w) <= 24)
}

#[test]
fn a_gif_or_webp_becomes_a_jpeg_of_its_first_frame_on_white() {
    for (what, file, mime) in [("GIF", gif_of(&half_red()), "image/gif"), ("WebP", webp_of(&half_red()), "image/webp")]
    {
        let jpeg = as_jpeg(&file, mime, MAX_SIDE).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(&jpeg[..3], b"\xFF\xD8\xFF", "{what}: a JPEG");
        let (size, red) = pixel(&jpeg, 3, 8);
        assert_eq!(size, (16, 16), "{what}");
        assert!(near(red, [255, 0, 0]), "{what}: the red half stays red: {red:?}");
        let white = pixel(&jpeg, 12, 8).1;
        assert!(near(white, [255, 255, 255]), "{what}: the transparent half is white: {white:?}");
    }
    // An animation: its first frame (the 1×1 animated WebP browsers' feature checks use).
    let animated = base64::engine::general_purpose::STANDARD
        .decode("UklGRlIAAABXRUJQVlA4WAoAAAASAAAAAAAAAAAAQU5JTQYAAAD/////AABBTk1GJgAAAAAAAAAAAAAAAAAAAGQAAABWUDhMDQAAAC8AAAAQBxAREYiI/gcA")
        .unwrap();
    assert_eq!(pixel(&as_jpeg(&animated, "image/webp", MAX_SIDE).unwrap(), 0, 0).0, (1, 1));
}

#[test]
fn what_cannot_be_read_is_refused_naming_its_format() {
    let mut cut = gif_of(&half_red());
    cut.truncate(20);
    let header_only = [&b"RIFF"[..], &[0x24, 0x01, 0, 0], b"WEBPVP8 "].concat();
    for (file, mime, format) in [(cut, "image/gif", "GIF"), (header_only, "image/webp", "WebP")] {
        match as_jpeg(&file, mime, MAX_SIDE) {
            Err(PictureError::Unreadable { format: f, detail }) => assert!(f == format && !detail.is_empty(), "{f}"),
            other => panic!("{format}: {other:?}"),
        }
    }
    assert!(matches!(as_jpeg(b"%PDF-1.7", "application/pdf", MAX_SIDE), Err(PictureError::Encode(_))), "pictures only");
}

#[test]
fn gif_webp_and_pictures_over_the_limit_are_made_jpeg_and_urls_name_them_by_their_path() {
    let cases = [
        ("image/gif", 10, true),
        ("image/webp", 10, true),
        ("image/png", 10, false),
        ("image/jpeg", 10, false),
        ("image/png", 101, true),
        ("image/jpeg", 101, true),
    ];
    for (mime, size, made) in cases {
        assert_eq!(needs_jpeg(mime, size, 100), made, "{mime} of {size} bytes, the limit 100");
    }
    for (url, named) in [
        ("https://example.com/cat.gif", true),
        ("https://example.com/cat.WEBP?w=2#x", true),
        ("https://www.z-api.io/logo.svg", true),
        ("https://example.com/cat.jpg", false),
        ("https://example.com/cat.png?as=.gif", false),
        ("https://example.com/gif", false),
        (".gif", false),
    ] {
        assert_eq!(names_unlinkable(url), named, "{url}");
    }
}

#[test]
fn the_smallest_gif_and_webp_in_common_use_are_made_jpegs() {
    let decode = |b64: &str| base64::engine::general_purpose::STANDARD.decode(b64).unwrap();
    let gif = decode("R0lGODlhAQABAIAAAP///wAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==");
    let webp = decode("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==");
    for (file, mime) in [(gif, "image/gif"), (webp, "image/webp")] {
        let jpeg = as_jpeg(&file, mime, MAX_SIDE).unwrap_or_else(|e| panic!("{mime}: {e}"));
        assert_eq!(pixel(&jpeg, 0, 0).0, (1, 1), "{mime}");
    }
}

/// `rgba` (`width`×`height`) encoded as `format`.
fn encoded(rgba: &[u8], width: u32, height: u32, format: ImageFormat) -> Vec<u8> {
    let picture = image::RgbaImage::from_raw(width, height, rgba.to_vec()).unwrap();
    let mut out = std::io::Cursor::new(Vec::new());
    match format {
        ImageFormat::Jpeg => image::DynamicImage::ImageRgba8(picture).to_rgb8().write_to(&mut out, format).unwrap(),
        _ => picture.write_to(&mut out, format).unwrap(),
    }
    out.into_inner()
}

#[test]
fn a_png_or_jpeg_becomes_a_jpeg_shrunk_to_the_side_asked_keeping_its_proportions() {
    // 64×32: the left half red, the right half transparent (white once a JPEG).
    let rgba: Vec<u8> =
        (0..64 * 32).flat_map(|i| if i % 64 < 32 { [255, 0, 0, 255] } else { [0, 0, 255, 0] }).collect();
    for (what, file, mime) in [
        ("PNG", encoded(&rgba, 64, 32, ImageFormat::Png), "image/png"),
        ("JPEG", encoded(&rgba, 64, 32, ImageFormat::Jpeg), "image/jpeg"),
    ] {
        let same = as_jpeg(&file, mime, MAX_SIDE).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(pixel(&same, 8, 16).0, (64, 32), "{what}: not shrunk when it fits");
        let shrunk = as_jpeg(&file, mime, 16).unwrap_or_else(|e| panic!("{what}: {e}"));
        let ((w, h), red) = pixel(&shrunk, 3, 4);
        assert_eq!((w, h), (16, 8), "{what}: the longer side 16, the proportions kept");
        assert!(near(red, [255, 0, 0]), "{what}: {red:?}");
    }
    let white = pixel(&as_jpeg(&encoded(&rgba, 64, 32, ImageFormat::Png), "image/png", 16).unwrap(), 12, 4).1;
    assert!(near(white, [255, 255, 255]), "a PNG's transparency is white: {white:?}");
}

#[test]
fn a_picture_is_made_a_jpeg_within_the_limit_or_refused_saying_how_large_it_stays() {
    // Noise: large as a JPEG at any quality.
    let noise: Vec<u8> = (0..64u32 * 64 * 4).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8 | 3).collect();
    let png = encoded(&noise, 64, 64, ImageFormat::Png);
    let fits = as_jpeg_within(&png, "image/png", 1 << 20).expect("a JPEG within 1 MiB");
    assert_eq!(pixel(&fits, 0, 0).0, (64, 64));
    match as_jpeg_within(&png, "image/png", 500) {
        Err(PictureError::TooLarge { size, limit: 500 }) => assert!(size > 500, "{size}"),
        other => panic!("{other:?}"),
    }
    let e = as_jpeg_within(&png, "image/png", 500).unwrap_err().to_string();
    assert!(e.contains("more than the 500 bytes the network takes"), "{e}");
}

#[test]
fn a_camera_jpeg_stored_sideways_is_made_upright_by_its_exif_orientation() {
    use image::ImageEncoder as _;
    // 32×16, left half red, right half blue, stored with orientation 6 (shown turned 90°
    // clockwise): upright it is 16×32, red above blue.
    let rgb: Vec<u8> = (0..32 * 16).flat_map(|i| if i % 32 < 16 { [255, 0, 0] } else { [0, 0, 255] }).collect();
    let exif = [&b"II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0"[..], &[0; 4]].concat();
    let mut jpeg = Vec::new();
    let mut encoder = JpegEncoder::new_with_quality(&mut jpeg, 95);
    encoder.set_exif_metadata(exif).unwrap();
    encoder.write_image(&rgb, 32, 16, ExtendedColorType::Rgb8).unwrap();
    let upright = as_jpeg(&jpeg, "image/jpeg", MAX_SIDE).unwrap();
    let ((w, h), top) = pixel(&upright, 8, 4);
    assert_eq!((w, h), (16, 32), "turned upright");
    assert!(near(top, [255, 0, 0]), "red on top: {top:?}");
    let bottom = pixel(&upright, 8, 28).1;
    assert!(near(bottom, [0, 0, 255]), "blue below: {bottom:?}");
}

/// A `side`×`side` opaque white disc on a transparent ground whose hidden colour is black.
fn white_disc(side: u32) -> Vec<u8> {
    let r = i64::from(side) / 3;
    (0..side * side)
        .flat_map(|i| {
            let (dx, dy) = (i64::from(i % side) - i64::from(side / 2), i64::from(i / side) - i64::from(side / 2));
            if dx * dx + dy * dy < r * r {
                [255, 255, 255, 255]
            } else {
                [0, 0, 0, 0]
            }
        })
        .collect()
}

#[test]
fn a_transparent_picture_shrunk_has_no_dark_fringe_where_its_edges_were() {
    // Scaled before being laid on white, the disc's edge would blend with the black under the
    // transparent ground and come out grey (about 191); laid on white first, all is white.
    let png = encoded(&white_disc(400), 400, 400, ImageFormat::Png);
    let jpeg = as_jpeg(&png, "image/png", 100).unwrap();
    let rgb = image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).unwrap().to_rgb8();
    assert_eq!(rgb.dimensions(), (100, 100));
    let darkest = rgb.pixels().flat_map(|p| p.0).min().unwrap();
    assert!(darkest > 240, "every pixel white, the disc's edge too: the darkest channel is {darkest}");
}

#[test]
fn a_lossless_picture_whose_jpeg_at_full_size_is_over_the_limit_is_made_one_that_fits() {
    // A 5000×1000 chequerboard of single pixels: a few KB as lossless WebP, far more as a JPEG
    // of the same size (all edges), and little once scaled to 4096 (the squares blur to grey).
    let board: Vec<u8> = (0..5000u32 * 1000)
        .flat_map(|i| match (i % 5000 + i / 5000) % 2 {
            0 => [0, 0, 0, 255],
            _ => [255, 255, 255, 255],
        })
        .collect();
    let webp = encoded(&board, 5000, 1000, ImageFormat::WebP);
    let full = as_jpeg(&webp, "image/webp", MAX_SIDE).unwrap().len() as u64;
    let limit = full - 1;
    assert!((webp.len() as u64) < limit, "the file itself ({} bytes) is within {limit}", webp.len());
    let made = as_jpeg_within(&webp, "image/webp", limit).expect("made again at 4096 pixels a side");
    assert!(made.len() as u64 <= limit, "{} bytes", made.len());
    assert_eq!(pixel(&made, 0, 0).0, (FIT_SIDE, 819), "4096 pixels wide, the proportions kept");
}
