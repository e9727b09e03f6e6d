//! media: the CPU cost of making a picture what WhatsApp takes — an SVG drawn as a PNG (a
//! picture 1024 pixels wide on white), an SVG drawn into a sticker (512×512 lossless WebP
//! with its author), and a 512×512 PNG sticker made a WebP. Each runs on the blocking pool
//! once per media message that needs it (at accept for base64, when it leaves for a URL).
//!
//! What it protects: a drawing holds a blocking thread for its whole length (resvg cannot be
//! interrupted), so its cost for an ordinary logo must stay in milliseconds; a regression is
//! a drawing made at a larger size than its `Fit`, or a sticker encoded twice.

use std::hint::black_box;

use chatedge_dataplane::media::{sticker, svg};
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
    group.finish();
}

criterion_group!(benches, drawing);
criterion_main!(benches);
