//! The failures of a media fetch, worded for the integrator who reads them in a
//! DeliveryCallback `error`, and their bounded `outcome` labels. URLs are shown without
//! their query string (`…?…`): presigned URLs carry their signature there, and these
//! messages are stored and sent to webhooks. Pure formatting; no I/O.

use std::io;
use std::time::Duration;

use http::Uri;

use super::Fetched;
use crate::egress::{egress_error, EgressError};
use crate::media::sniff::MediaTypeError;
use crate::media::MediaKind;

/// Longest URL an error message shows.
const MAX_SHOWN_URL: usize = 200;

/// Why a download failed. The Display text is what an integrator reads.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("media fetch failed: {url} is not an http or https URL")]
    BadUrl { url: String },
    #[error("media fetch failed: {url}: {reason}")]
    Refused { url: String, reason: EgressError },
    #[error("media fetch failed: {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("media fetch failed: {url} redirected more than {max} times")]
    TooManyRedirects { url: String, max: u8 },
    #[error("media fetch failed: {url} answered {status} without a usable Location")]
    BadRedirect { url: String, status: u16 },
    #[error("media fetch failed: {url} is larger than the {} limit for {}", size(*limit), plural(*kind))]
    TooLarge { url: String, limit: u64, kind: MediaKind },
    #[error("media fetch failed: {url} timed out after {}", duration(*after))]
    Timeout { url: String, after: Duration },
    #[error("media fetch failed: {url}: {reason}")]
    WrongType { url: String, reason: MediaTypeError },
    #[error("media fetch failed: cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("media fetch failed: reading {url} failed: {detail}")]
    Read { url: String, detail: String },
    #[error("media fetch failed: cannot store the media from {url}: {source}")]
    Store { url: String, source: io::Error },
}

/// Every value of the `outcome` label of `media_fetches_total`.
pub const OUTCOMES: [&str; 7] = ["ok", "refused_address", "too_large", "timeout", "bad_status", "wrong_type", "error"];

impl FetchError {
    /// The bounded `outcome` label for `media_fetches_total`.
    pub fn outcome(&self) -> &'static str {
        match self {
            FetchError::Refused { .. } => "refused_address",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Status { .. } | FetchError::TooManyRedirects { .. } | FetchError::BadRedirect { .. } => {
                "bad_status"
            }
            FetchError::WrongType { .. } => "wrong_type",
            FetchError::BadUrl { .. }
            | FetchError::Connect { .. }
            | FetchError::Read { .. }
            | FetchError::Store { .. } => "error",
        }
    }
}

/// The `outcome` label of a fetch's result.
pub fn outcome(result: &Result<Fetched, FetchError>) -> &'static str {
    match result {
        Ok(_) => "ok",
        Err(e) => e.outcome(),
    }
}

/// The error of a request that got no response: the egress policy's refusal, or the chain
/// of causes (hyper's top-level text alone is "client error (Connect)").
pub(super) fn connect_error(uri: &Uri, err: &hyper_util::client::legacy::Error) -> FetchError {
    match egress_error(err) {
        Some(reason @ (EgressError::Refused { .. } | EgressError::RefusedAddress { .. })) => {
            FetchError::Refused { url: show(uri), reason: reason.clone() }
        }
        _ => FetchError::Connect { url: show(uri), detail: chain(err) },
    }
}

/// An error and its sources, "a: b: c".
pub(super) fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut next = err.source();
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

/// The URL as errors show it: scheme, host, port and path; no user info, a query as `?…`.
pub(super) fn show(uri: &Uri) -> String {
    let host = uri.host().unwrap_or_default();
    let port = uri.port().map(|p| format!(":{p}")).unwrap_or_default();
    let query = if uri.query().is_some() { "?…" } else { "" };
    truncate(&format!("{}://{host}{port}{}{query}", uri.scheme_str().unwrap_or("http"), uri.path()))
}

pub(super) fn truncate(s: &str) -> String {
    match s.char_indices().nth(MAX_SHOWN_URL) {
        Some((end, _)) => format!("{}…", &s[..end]),
        None => s.to_owned(),
    }
}

/// Sizes as WhatsApp and the seed write limits: "16 MB" is 16 MiB.
pub(super) fn size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    match bytes {
        b if b >= MB && b % MB == 0 => format!("{} MB", b / MB),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KB", b / 1024),
        b => format!("{b} bytes"),
    }
}

pub(super) fn duration(d: Duration) -> String {
    if d.subsec_nanos() == 0 {
        format!("{} s", d.as_secs())
    } else {
        format!("{} ms", d.as_millis())
    }
}

fn plural(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Image => "images",
        MediaKind::Sticker => "stickers",
        MediaKind::Gif => "GIFs",
        MediaKind::Audio => "audio",
        MediaKind::Video => "videos",
        MediaKind::Ptv => "video notes",
        MediaKind::Document => "documents",
    }
}
