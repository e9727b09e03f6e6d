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
        let jpeg = as_jpeg(&file, mime).unwrap_or_else(|e| panic!("{what}: {e}"));
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
    assert_eq!(pixel(&as_jpeg(&animated, "image/webp").unwrap(), 0, 0).0, (1, 1));
}

#[test]
fn what_cannot_be_read_is_refused_naming_its_format() {
    let mut cut = gif_of(&half_red());
    cut.truncate(20);
    let header_only = [&b"RIFF"[..], &[0x24, 0x01, 0, 0], b"WEBPVP8 "].concat();
    for (file, mime, format) in [(cut, "image/gif", "GIF"), (header_only, "image/webp", "WebP")] {
        match as_jpeg(&file, mime) {
            Err(PictureError::Unreadable { format: f, detail }) => assert!(f == format && !detail.is_empty(), "{f}"),
            other => panic!("{format}: {other:?}"),
        }
    }
    assert!(matches!(as_jpeg(b"\x89PNG", "image/png"), Err(PictureError::Encode(_))), "only GIF and WebP");
}

#[test]
fn only_gif_and_webp_are_made_jpeg_and_urls_name_them_by_their_path() {
    for (mime, made) in [("image/gif", true), ("image/webp", true), ("image/png", false), ("image/jpeg", false)] {
        assert_eq!(needs_jpeg(mime), made, "{mime}");
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
        let jpeg = as_jpeg(&file, mime).unwrap_or_else(|e| panic!("{mime}: {e}"));
        assert_eq!(pixel(&jpeg, 0, 0).0, (1, 1), "{mime}");
    }
}
