//! media: the CPU cost of making a picture what WhatsApp takes — an SVG drawn as a PNG (a
//! picture 1024 pixels wide on white), an SVG drawn into a sticker (512×512 lossless WebP
//! with its author), a 512×512 PNG sticker made a WebP, and a 5.8 MB PNG 4800 pixels wide made
//! the JPEG of at most 4096 pixels the Cloud API takes (its 5 MB), and a photo-like 512×512
//! sticker made the lossy WebP of at most 100 KB the Cloud API takes for a still sticker
//! (libwebp at effort 5: quality 90, then the others searched by halves), and the same sticker
//! against 2 KB, which it fits at no quality (three encodes: 90, 50, 30; a sticker costs at
//! most four). Each runs on the blocking
//! pool once per media message that needs it (at accept for base64, when it leaves for a URL;
//! the Cloud API's JPEG and lossy sticker once per file and number, then the upload is
//! cached).
//!
//! What it protects: a drawing holds a blocking thread for its whole length (resvg cannot be
//! interrupted), so its cost for an ordinary logo must stay in milliseconds; a regression is
//! a drawing made at a larger size than its `Fit`, or a sticker encoded twice.

use std::hint::black_box;

use chatedge_dataplane::media::{picture, sticker, svg};
use criterion::{criterion_group, criterion_main, Criterion};

/// A logo of the kind Z-API's examples send: a rounded badge, a gradient, a path and text.
const LOGO: &[u8] = br##"<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 240 80">
  <defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#1bb35e"/><stop offset="1" stop-color="#0a6b38"/></linearGradient></defs>
  <rect x="4" y="4" width="232" height="72" rx="16" fill="url(#g)"/>
  <path d="M30 60 L50 20 L70 60 Z M90 20 h40 v8 h-28 v8 h24 v8 h-24 v16 h-12 z" fill="#fff"/>
  <circle cx="200" cy="40" r="22" fill="none" stroke="#fff" stroke-width="6"/>
  <text x="140" y="74" font-family="sans-serif" font-size="10" fill="#fff">chatedge</text>
</svg>"##;

fn drawing(c: &mut Criterion) {
    let mut group = c.benchmark_group("media");
    group.bench_function("svg_logo_as_picture_png", |b| {
        b.iter(|| svg::render_png(black_box(LOGO), svg::PICTURE, svg::Ground::White).expect("drawn"))
    });
    group.bench_function("svg_logo_as_sticker_webp", |b| {
        b.iter(|| sticker::as_sticker(black_box(LOGO), Some("chatedge")).expect("made"))
    });
    let png = svg::render_png(LOGO, svg::STICKER, svg::Ground::Transparent).expect("drawn");
    group.bench_function("png_512_as_sticker_webp", |b| {
        b.iter(|| sticker::as_sticker(black_box(&png), Some("chatedge")).expect("made"))
    });
    let photo = sticker::as_sticker(&grainy_png(), None).expect("made").into_owned();
    group.sample_size(10);
    group.bench_function("photo_sticker_as_cloud_api_lossy_webp", |b| {
        b.iter(|| sticker::lossy::within(black_box(&photo), 100_000).expect("fits"))
    });
    // A sticker that fits at no quality: three encodes (90, 50, 30), then refused.
    group.bench_function("photo_sticker_lossy_fitting_at_no_quality", |b| {
        b.iter(|| sticker::lossy::within(black_box(&photo), 2_000).expect_err("too detailed for 2 KB"))
    });
    let large = uncompressed_png(4800, 400);
    group.sample_size(10);
    group.bench_function("png_5_8mb_as_cloud_api_jpeg", |b| {
        b.iter(|| picture::as_jpeg_within(black_box(&large), "image/png", 5_000_000).expect("made"))
    });
    group.finish();
}

/// A 512×512 photo-like PNG: a gradient with grain in every channel, which chatedge's lossless
/// sticker keeps at ~500 KB, five times the Cloud API's 100 KB.
fn grainy_png() -> Vec<u8> {
    let mut seed = 0x853C_49E6_748F_EA9Bu64;
    let pixels: Vec<u8> = (0..512u32 * 512)
        .flat_map(|i| [(i % 512) / 3, (i / 512) / 3, (i % 512 + i / 512) / 5])
        .map(|c| {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            c as u8 + (seed >> 59) as u8
        })
        .collect();
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, 512, 512);
    encoder.set_color(png::ColorType::Rgb);
    encoder.write_header().and_then(|mut w| w.write_image_data(&pixels)).expect("a PNG is written");
    png
}

/// A smooth `width`×`height` gradient as a PNG stored without compression (as large as a
/// camera's PNG of that size).
fn uncompressed_png(width: u32, height: u32) -> Vec<u8> {
    let pixels: Vec<u8> =
        (0..height).flat_map(|y| (0..width).flat_map(move |x| [(x / 19) as u8, (y / 2) as u8, 128])).collect();
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, width, height);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    encoder.set_compression(png::Compression::NoCompression);
    let written = encoder.write_header().and_then(|mut w| w.write_image_data(&pixels));
    written.expect("a PNG is written");
    png
}

criterion_group!(benches, drawing);
criterion_main!(benches);
