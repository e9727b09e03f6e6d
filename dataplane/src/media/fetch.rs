//! fetch: downloads one media file by URL when its message is sent. It owns the bounds of a
//! download: http and https only, every address checked by the egress policy (redirects
//! too: each hop is a new request through the same connector), at most `max_redirects` hops,
//! at most `max_bytes` (refused at once when Content-Length says more), the whole fetch
//! within `timeout`, and the content's sniffed type fitting the route, judged on the first
//! [`SNIFF_LEN`] bytes before anything reaches the sink. It streams into the caller's sink and
//! a SHA-256 and never holds more than one chunk plus the sniffed prefix in memory. It
//! neither stores nor retries: the caller owns the sink, counts the outcome
//! (`media_fetches_total{outcome}`, from [`FetchError::outcome`] or [`outcome`]) and turns a
//! failure into the message's DeliveryCallback error, whose text is [`FetchError`]'s
//! Display. Runs on the tokio task that awaits it.

mod error;
mod url;

use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::header::{LOCATION, USER_AGENT};
use http::{Request, Uri};
use http_body_util::{BodyExt, Full};
use hyper::body::{Body, Incoming};
use sha2::{Digest, Sha256};

use self::error::{chain, connect_error, show, truncate};
use self::url::{is_redirect, join, parse};
use super::sniff::{self, SNIFF_LEN};
use super::MediaKind;
use crate::egress::EgressClient;

pub use self::error::{outcome, FetchError, OUTCOMES};

/// The bounds of one download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FetchLimits {
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
    /// The whole fetch (connecting, redirects, headers, body) must finish within this.
    pub timeout: Duration,
    /// Most redirects followed; one more is an error.
    pub max_redirects: u8,
}

impl FetchLimits {
    pub fn new(max_bytes: u64, timeout: Duration, max_redirects: u8) -> Self {
        FetchLimits { max_bytes, timeout, max_redirects }
    }
}

/// What was downloaded (and written to the sink).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fetched {
    pub sha256: [u8; 32],
    pub size: u64,
    /// The sniffed type (see [`sniff::check`]).
    pub mime: &'static str,
}

/// Downloads `url` as media of `kind` into `sink`, within `limits`. On error the sink may
/// have received part of the content; the caller discards it.
pub async fn fetch(
    client: &EgressClient,
    url: &str,
    limits: FetchLimits,
    kind: MediaKind,
    sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<Fetched, FetchError> {
    let uri = parse(url).ok_or_else(|| FetchError::BadUrl { url: truncate(url) })?;
    let shown = show(&uri);
    match tokio::time::timeout(limits.timeout, download(client, uri, limits, kind, sink)).await {
        Ok(result) => result,
        Err(_) => Err(FetchError::Timeout { url: shown, after: limits.timeout }),
    }
}

async fn download(
    client: &EgressClient,
    uri: Uri,
    limits: FetchLimits,
    kind: MediaKind,
    sink: impl FnMut(&[u8]) -> io::Result<()>,
) -> Result<Fetched, FetchError> {
    let (uri, response) = get(client, uri, limits.max_redirects).await?;
    let too_large = |uri: &Uri| FetchError::TooLarge { url: show(uri), limit: limits.max_bytes, kind };
    if response.body().size_hint().exact().is_some_and(|declared| declared > limits.max_bytes) {
        return Err(too_large(&uri));
    }
    let mut body = Stream { uri, body: response.into_body(), limits, kind, sink, hasher: Sha256::new(), size: 0 };
    let mime = body.sniffed().await?;
    body.rest().await?;
    Ok(Fetched { sha256: body.hasher.finalize().into(), size: body.size, mime })
}

/// GETs `uri`, following at most `max_redirects` redirects; answers the 2xx response and
/// the URL that gave it.
async fn get(
    client: &EgressClient,
    mut uri: Uri,
    max_redirects: u8,
) -> Result<(Uri, hyper::Response<Incoming>), FetchError> {
    let mut hops = 0u8;
    loop {
        let request = Request::get(uri.clone())
            .header(USER_AGENT, concat!("chatedge/", env!("CARGO_PKG_VERSION")))
            .body(Full::new(Bytes::new()))
            .map_err(|_| FetchError::BadUrl { url: show(&uri) })?;
        let response = client.request(request).await.map_err(|e| connect_error(&uri, &e))?;
        let status = response.status();
        if status.is_success() {
            return Ok((uri, response));
        }
        if !is_redirect(status) {
            return Err(FetchError::Status { url: show(&uri), status: status.as_u16() });
        }
        if hops == max_redirects {
            return Err(FetchError::TooManyRedirects { url: show(&uri), max: max_redirects });
        }
        let next = response.headers().get(LOCATION).and_then(|l| l.to_str().ok()).and_then(|l| join(&uri, l));
        uri = next.ok_or_else(|| FetchError::BadRedirect { url: show(&uri), status: status.as_u16() })?;
        hops += 1;
    }
}

/// A 2xx body on its way to the sink.
struct Stream<F> {
    uri: Uri,
    body: Incoming,
    limits: FetchLimits,
    kind: MediaKind,
    sink: F,
    hasher: Sha256,
    size: u64,
}

impl<F: FnMut(&[u8]) -> io::Result<()>> Stream<F> {
    /// Reads the first [`SNIFF_LEN`] bytes (or the whole body, if shorter), checks their
    /// type against the route and only then passes them on.
    async fn sniffed(&mut self) -> Result<&'static str, FetchError> {
        let mut head = Vec::new();
        while head.len() < SNIFF_LEN {
            match self.next().await? {
                Some(chunk) => head.extend_from_slice(&chunk),
                None => break,
            }
        }
        let mime =
            sniff::check(self.kind, &head).map_err(|reason| FetchError::WrongType { url: show(&self.uri), reason })?;
        self.emit(&head)?;
        Ok(mime)
    }

    /// Passes the rest of the body on, chunk by chunk.
    async fn rest(&mut self) -> Result<(), FetchError> {
        while let Some(chunk) = self.next().await? {
            self.emit(&chunk)?;
        }
        Ok(())
    }

    /// The next data chunk, counted against `max_bytes`; trailers are skipped.
    async fn next(&mut self) -> Result<Option<Bytes>, FetchError> {
        loop {
            let Some(frame) = self.body.frame().await else { return Ok(None) };
            let frame = frame.map_err(|e| FetchError::Read { url: show(&self.uri), detail: chain(&e) })?;
            let Ok(chunk) = frame.into_data() else { continue };
            self.size += chunk.len() as u64;
            if self.size > self.limits.max_bytes {
                return Err(FetchError::TooLarge {
                    url: show(&self.uri),
                    limit: self.limits.max_bytes,
                    kind: self.kind,
                });
            }
            return Ok(Some(chunk));
        }
    }

    fn emit(&mut self, bytes: &[u8]) -> Result<(), FetchError> {
        self.hasher.update(bytes);
        (self.sink)(bytes).map_err(|source| FetchError::Store { url: show(&self.uri), source })
    }
}

#[cfg(test)]
mod tests;
