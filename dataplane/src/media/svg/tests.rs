use base64::Engine as _;

use super::*;

/// A decoded PNG: its size and RGBA pixels.
fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().expect("a PNG");
    let mut pixels = vec![0; reader.output_buffer_size().expect("a size")];
    let info = reader.next_frame(&mut pixels).expect("a frame");
    assert_eq!(info.color_type, png::ColorType::Rgba, "tiny-skia writes RGBA");
    pixels.truncate(info.buffer_size());
    (info.width, info.height, pixels)
}

fn pixel(image: &(u32, u32, Vec<u8>), x: u32, y: u32) -> [u8; 4] {
    let at = ((y * image.0 + x) * 4) as usize;
    image.2[at..at + 4].try_into().unwrap()
}

/// A `w`×`h` SVG whose left half is a red rectangle and whose right half is empty.
fn half_red(w: u32, h: u32) -> String {
    format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}"><rect width="{}" height="{h}" fill="red"/></svg>"#,
        w / 2
    )
}

#[test]
fn svg_is_recognised_after_any_prolog_and_nothing_else_is() {
    let svg = |s: &str| is_svg(s.as_bytes());
    let yes = [
        r#"<svg xmlns="http://www.w3.org/2000/svg"/>"#,
        "<svg>",
        "\u{feff}  \n<svg width='1'>",
        r#"<?xml version="1.0" encoding="UTF-8" standalone="no"?>
<!-- Generator: Adobe Illustrator 24.0.0 -->
<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd">
<svg version="1.1">"#,
        "<!DOCTYPE svg [ <!ENTITY ns_svg \"http://www.w3.org/2000/svg\"> <!ENTITY a \"b>c\"> ]>\n<svg xmlns=\"&ns_svg;\">",
        "<?xml version='1.0'?><?xml-stylesheet href='s.css'?><svg:svg xmlns:svg='http://www.w3.org/2000/svg'>",
    ];
    for s in yes {
        assert!(svg(s), "{s:?} is an SVG");
    }
    let no = [
        "",
        "svg",
        "<svgfoo>",
        "<html><svg></svg></html>",
        r#"<?xml version="1.0"?><note>svg</note>"#,
        "<!-- <svg> inside a comment",
        "<?xml version='1.0'",
        "<!DOCTYPE svg [ <!ENTITY a 'b'>",
        "\u{89}PNG\r\n\u{1a}\n",
        "   hello <svg>",
        "<SVG>",
    ];
    for s in no {
        assert!(!svg(s), "{s:?} is not an SVG");
    }
}

#[test]
fn a_picture_is_drawn_between_1024_and_2048_pixels_on_its_longer_side() {
    for ((w, h), want) in [
        ((100.0, 50.0), (1024, 512)),
        ((1500.0, 1000.0), (1500, 1000)),
        ((10_000.0, 100.0), (2048, 20)),
        ((1.0, 100_000.0), (1, 2048)),
        ((512.0, 512.0), (1024, 1024)),
    ] {
        assert_eq!(fitted(w, h, PICTURE), want, "{w}x{h}");
    }
    assert_eq!(fitted(100.0, 50.0, STICKER), (512, 256));
    assert_eq!(fitted(4000.0, 1000.0, STICKER), (512, 128));
}

#[test]
fn a_picture_is_drawn_scaled_on_white_and_a_sticker_on_a_transparent_ground() {
    let svg = half_red(100, 50);
    let picture = decode(&render_png(svg.as_bytes(), PICTURE, Ground::White).unwrap());
    assert_eq!((picture.0, picture.1), (1024, 512));
    assert_eq!(pixel(&picture, 100, 256), [255, 0, 0, 255], "the rectangle, scaled");
    assert_eq!(pixel(&picture, 900, 256), [255, 255, 255, 255], "white where nothing is drawn");

    let sticker = decode(&render_png(svg.as_bytes(), STICKER, Ground::Transparent).unwrap());
    assert_eq!((sticker.0, sticker.1), (512, 256));
    assert_eq!(pixel(&sticker, 50, 128), [255, 0, 0, 255]);
    assert_eq!(pixel(&sticker, 450, 128)[3], 0, "transparent where nothing is drawn");
}

#[test]
fn an_svg_with_only_a_view_box_takes_its_size_from_it() {
    let svg = r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 300 100"><circle cx="150" cy="50" r="40" fill="#00f"/></svg>"##;
    let image = decode(&render_png(svg.as_bytes(), PICTURE, Ground::White).unwrap());
    assert_eq!((image.0, image.1), (1024, 341));
    assert_eq!(pixel(&image, 512, 170), [0, 0, 255, 255], "the circle's centre");
    assert_eq!(pixel(&image, 10, 10), [255, 255, 255, 255]);
}

#[test]
fn an_embedded_image_is_drawn_and_a_file_on_disk_is_never_read() {
    // A 1×1 green PNG, on disk and embedded as a data URL.
    let mut green = Vec::new();
    let mut encoder = png::Encoder::new(&mut green, 1, 1);
    encoder.set_color(png::ColorType::Rgb);
    encoder.write_header().unwrap().write_image_data(&[0, 255, 0]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let on_disk = dir.path().join("green.png");
    std::fs::write(&on_disk, &green).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(&green);
    let svg = format!(
        r#"<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="200" height="100">
  <image x="0" y="0" width="100" height="100" xlink:href="data:image/png;base64,{data}"/>
  <image x="100" y="0" width="100" height="100" href="{}"/>
  <image x="100" y="0" width="100" height="100" href="file://{}"/>
</svg>"#,
        on_disk.display(),
        on_disk.display()
    );
    let image = decode(&render_png(svg.as_bytes(), PICTURE, Ground::White).unwrap());
    assert_eq!(pixel(&image, 256, 256), [0, 255, 0, 255], "the embedded picture is drawn");
    assert_eq!(pixel(&image, 768, 256), [255, 255, 255, 255], "the file on disk is not");
}

#[test]
fn what_cannot_be_drawn_is_refused_with_the_reason() {
    let cases: [(&str, &[u8]); 4] = [
        ("cut", b"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"10\""),
        ("not UTF-8", b"<svg>\xff\xfe</svg>"),
        ("not SVG at all", b"<html></html>"),
        ("an entity loop", b"<!DOCTYPE svg [<!ENTITY a \"&b;\"><!ENTITY b \"&a;\">]><svg xmlns=\"http://www.w3.org/2000/svg\">&a;</svg>"),
    ];
    for (case, svg) in cases {
        match render_png(svg, PICTURE, Ground::White) {
            Err(SvgError::Unreadable(reason)) => assert!(!reason.is_empty(), "{case}"),
            other => panic!("{case}: {other:?}"),
        }
    }
    let mut large = half_red(10, 10).into_bytes();
    large.splice(5..5, std::iter::repeat_n(b' ', MAX_BYTES));
    assert_eq!(render_png(&large, PICTURE, Ground::White), Err(SvgError::TooLarge(large.len())));
    let message = render_png(b"<svg", PICTURE, Ground::White).unwrap_err().to_string();
    assert!(message.starts_with("is not a readable SVG: "), "{message}");
}

#[test]
fn the_same_svg_draws_the_same_bytes() {
    let svg = half_red(64, 64);
    let a = render_png(svg.as_bytes(), PICTURE, Ground::White).unwrap();
    let b = render_png(svg.as_bytes(), PICTURE, Ground::White).unwrap();
    assert_eq!(a, b);
}
