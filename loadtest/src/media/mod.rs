//! Media payloads for the send-image scenarios: a real PNG of a chosen size made of random
//! pixels ([`noise_png`], so it neither compresses below its target nor fails a content-type
//! sniffer) and the `send-image` request bodies that carry it as a base64 data URI
//! ([`upload`]), each request's image made distinct by a small per-request PNG chunk so the
//! server's content-addressed store cannot deduplicate it. Built once before a run, on the
//! calling thread; the bodies share the image and never copy it per request.

pub mod noise_png;
pub mod upload;

pub use noise_png::{noise_png, ImageError};
pub use upload::{data_uri, ImageUpload};
