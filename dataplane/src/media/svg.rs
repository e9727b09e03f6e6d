//! svg: SVG pictures drawn as the raster WhatsApp takes. WhatsApp carries no vector images,
//! yet Z-API's own examples send `.svg` files as images, stickers, statuses and group photos;
//! so a picture whose bytes are SVG is drawn (resvg, pure Rust) into a PNG before any network
//! sees it. This module owns recognising SVG from its first bytes and drawing one document
//! within bounds. It never reads outside the document: references to other files or URLs
//! (`<image href="/etc/…">`, `http://…`) are ignored, only images embedded as `data:` URLs
//! are drawn, text uses the machine's fonts (loaded once). Pure functions on bytes, blocking:
//! callers run them off the event loop.

use std::sync::{Arc, OnceLock};

use resvg::tiny_skia::{Color, Pixmap, Transform};
use resvg::usvg;

/// The type sniffing gives SVG content.
pub const MIME: &str = "image/svg+xml";

/// How large a drawing is made: its longer side is the SVG's own, raised to `min_side` or
/// lowered to `max_side` (a vector has no resolution of its own, and a 40-pixel logo would
/// reach the phone as a smudge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub min_side: u32,
    pub max_side: u32,
}

/// Pictures (images, statuses, photos): between 1024 and 2048 pixels on the longer side, sharp
/// on a phone's screen and no larger than a phone's own photos.
pub const PICTURE: Fit = Fit { min_side: 1024, max_side: 2048 };
/// Stickers: 512 on the longer side, as a sticker is shown (made square by [`super::sticker`]).
pub const STICKER: Fit = Fit { min_side: 512, max_side: 512 };

/// The largest SVG drawn: its parsed tree takes several times its size in memory while it is
/// drawn (a sticker is smaller still, at most `[media] max_sticker_bytes`).
pub const MAX_BYTES: usize = 5 * 1024 * 1024;

/// What lies under the drawing where it is transparent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ground {
    /// White: a picture's transparency becomes black in the JPEG WhatsApp makes of it.
    White,
    /// Kept transparent: stickers.
    Transparent,
}

/// Why an SVG could not be drawn (completes "the picture …").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SvgError {
    #[error("is not a readable SVG: {0}")]
    Unreadable(String),
    #[error("is an SVG with nothing to draw ({0})")]
    Empty(String),
    #[error("is an SVG of {0} bytes; SVG pictures are drawn from at most {MAX_BYTES} bytes")]
    TooLarge(usize),
}

/// Whether `head` (the first bytes of a file) starts an SVG document: after a byte-order mark,
/// white space, an XML declaration, comments, processing instructions and a DOCTYPE, the first
/// element is `svg` (with or without a namespace prefix). A head cut inside the prolog is not
/// recognised.
pub fn is_svg(head: &[u8]) -> bool {
    let mut rest = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    loop {
        rest = rest.trim_ascii_start();
        rest = match rest {
            [b'<', b'?', ..] => match after(rest, b"?>") {
                Some(r) => r,
                None => return false,
            },
            [b'<', b'!', b'-', b'-', ..] => match after(rest, b"-->") {
                Some(r) => r,
                None => return false,
            },
            [b'<', b'!', ..] => match after_doctype(rest) {
                Some(r) => r,
                None => return false,
            },
            [b'<', name @ ..] => return element_name(name) == b"svg",
            _ => return false,
        };
    }
}

/// The local name of the element whose tag starts `tag` (after `<`): `svg` for `svg:svg`.
fn element_name(tag: &[u8]) -> &[u8] {
    let end = tag.iter().position(|b| b.is_ascii_whitespace() || matches!(b, b'>' | b'/')).unwrap_or(tag.len());
    let name = &tag[..end];
    match name.iter().rposition(|&b| b == b':') {
        Some(colon) => &name[colon + 1..],
        None => name,
    }
}

/// What follows the first `end` in `s`.
fn after<'a>(s: &'a [u8], end: &[u8]) -> Option<&'a [u8]> {
    s.windows(end.len()).position(|w| w == end).map(|at| &s[at + end.len()..])
}

/// What follows a `<!DOCTYPE …>` declaration, with its internal subset (`[ … ]`) if it has one.
fn after_doctype(s: &[u8]) -> Option<&[u8]> {
    let close = s.iter().position(|&b| b == b'>')?;
    match s[..close].iter().position(|&b| b == b'[') {
        Some(open) => after(after(&s[open..], b"]")?, b">"),
        None => Some(&s[close + 1..]),
    }
}

/// `svg` drawn into a PNG sized by `fit`, on `ground`.
pub fn render_png(svg: &[u8], fit: Fit, ground: Ground) -> Result<Vec<u8>, SvgError> {
    if svg.len() > MAX_BYTES {
        return Err(SvgError::TooLarge(svg.len()));
    }
    let tree = usvg::Tree::from_data(svg, &options()).map_err(|e| SvgError::Unreadable(e.to_string()))?;
    let size = tree.size();
    let (width, height) = fitted(size.width(), size.height(), fit);
    let empty = || SvgError::Empty(format!("{}x{}", size.width(), size.height()));
    let mut pixmap = Pixmap::new(width, height).ok_or_else(empty)?;
    if ground == Ground::White {
        pixmap.fill(Color::WHITE);
    }
    let scale = Transform::from_scale(width as f32 / size.width(), height as f32 / size.height());
    resvg::render(&tree, scale, &mut pixmap.as_mut());
    pixmap.encode_png().map_err(|e| SvgError::Unreadable(format!("the drawing could not be encoded: {e}")))
}

/// The pixel size of a `width`×`height` drawing scaled so its longer side fits `fit` (each
/// side at least 1).
pub fn fitted(width: f32, height: f32, fit: Fit) -> (u32, u32) {
    let long = width.max(height);
    let target = long.clamp(fit.min_side as f32, fit.max_side as f32);
    let scale = target / long;
    let side = |s: f32| ((s * scale).round() as u32).clamp(1, fit.max_side);
    (side(width), side(height))
}

/// The parsing options every drawing shares: no file or URL is ever read (an `<image>` naming
/// one is left out), embedded images are decoded, text is set in the machine's fonts.
fn options() -> usvg::Options<'static> {
    usvg::Options {
        resources_dir: None,
        image_href_resolver: usvg::ImageHrefResolver {
            resolve_data: usvg::ImageHrefResolver::default_data_resolver(),
            resolve_string: Box::new(|_, _| None),
        },
        fontdb: fonts(),
        ..usvg::Options::default()
    }
}

/// The machine's fonts, found once (the first drawing pays for the directory scan).
fn fonts() -> Arc<usvg::fontdb::Database> {
    static FONTS: OnceLock<Arc<usvg::fontdb::Database>> = OnceLock::new();
    FONTS
        .get_or_init(|| {
            let mut db = usvg::fontdb::Database::new();
            db.load_system_fonts();
            stand_in_for_missing_generics(&mut db);
            Arc::new(db)
        })
        .clone()
}

/// Text whose fonts are missing falls back to the generic serif family (Times New Roman unless
/// fontconfig names another); on a machine without it, the generic families stand for the first
/// font found, so text is drawn in something rather than left out.
fn stand_in_for_missing_generics(db: &mut usvg::fontdb::Database) {
    use usvg::fontdb::{Family, Query};
    let serif = Query { families: &[Family::Serif], ..Query::default() };
    if db.query(&serif).is_some() {
        return;
    }
    let Some(first) = db.faces().find_map(|face| face.families.first().map(|(name, _)| name.clone())) else {
        return;
    };
    db.set_serif_family(first.clone());
    db.set_sans_serif_family(first.clone());
    db.set_monospace_family(first);
}

#[cfg(test)]
mod tests;
