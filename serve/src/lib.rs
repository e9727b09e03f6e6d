//! chatedge-serve: the HTTP plumbing both planes serve with — accept loops speaking HTTP/1.1
//! and h2c on a plain port, HTTP/1.1 and h2 over TLS (rustls, ALPN), HTTP/3 over QUIC; the
//! limits every listener enforces (connections in total and per address, header size and
//! time, idle and write timeouts, streams per connection); graceful shutdown; bounded body
//! reading, JSON answers and query parsing. It knows nothing of chatedge's domain: routing,
//! auth and error shapes belong to each plane.

#![forbid(unsafe_code)]

pub mod body;
mod conn;
pub mod h3;
pub mod limits;
pub mod metrics;
mod placement;
mod relocate;
pub mod shutdown;
pub mod tcp;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::channel::{Channel, Sender};
use http_body_util::{Either, Full};
use hyper::header::{HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use hyper::{Request, Response, StatusCode};

pub use body::{declared_length, read_body, Body, BodyError};
pub use limits::{Gate, Limits};
pub use placement::{Placement, Steer, Steering, STEER_HEAD_BYTES};
pub use shutdown::stopped;
pub use tcp::{serve, serve_tls};

/// Every answer's body: whole (`Full`), or streamed (`Channel`) for answers too large to hold
/// in memory — see [`streamed`].
pub type Answer = Either<Full<Bytes>, Channel<Bytes, StreamError>>;
pub type Resp = Response<Answer>;

/// Why a streamed answer ended before its end: the client sees a cut answer (HTTP/1.1 closes
/// the connection without the last chunk, h2 and HTTP/3 reset the stream), never one that
/// looks complete.
#[derive(Debug, thiserror::Error)]
#[error("answer ended early: {0}")]
pub struct StreamError(pub String);

/// What a producer of a streamed answer writes to: `send_data` waits while the client is slow
/// to read (at most the channel's buffer is held), `abort` ends the answer as failed, and
/// dropping it ends the answer normally.
pub type StreamSender = Sender<Bytes, StreamError>;

/// The error a streamed body may end with, as hyper and h3 take it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What a listener serves: a function from a request (its body read as `RB`) and the peer's
/// address to the answer. Every such function is one — the data plane's edge, a metrics port,
/// the loadtest's baseline; the trait only says once what every listener needs of it.
pub trait Handler<RB>: Clone + Send + Sync + 'static {
    type Body: hyper::body::Body<Data: Send, Error: Into<BoxError> + Send> + Send + 'static;
    type Answer: Future<Output = Response<Self::Body>> + Send + 'static;

    fn call(&self, req: Request<RB>, peer: SocketAddr) -> Self::Answer;
}

impl<RB, H, F, B> Handler<RB> for H
where
    H: Fn(Request<RB>, SocketAddr) -> F + Clone + Send + Sync + 'static,
    F: Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body<Data: Send, Error: Into<BoxError> + Send> + Send + 'static,
{
    type Body = B;
    type Answer = F;

    fn call(&self, req: Request<RB>, peer: SocketAddr) -> F {
        self(req, peer)
    }
}

/// What the listeners of one plane share: their limits, the connection gate that counts
/// their connections together, where refusals are counted and whether responses announce
/// HTTP/3. Clone it for each listener of the plane; a fresh one (`default`) gates alone.
#[derive(Clone)]
pub struct ServeOptions {
    pub limits: Limits,
    pub gate: Arc<Gate>,
    /// `refusals_total{reason}` of the plane's metrics; reasons are a fixed set of words
    /// (`connections_total`, `connections_per_ip`, `header_timeout`, `header_too_large`,
    /// `idle_timeout`, `write_timeout`, `tls_handshake`).
    pub refusals: Option<prometheus::IntCounterVec>,
    /// `Alt-Svc` for TCP responses when HTTP/3 is served, e.g. `h3=":8443"; ma=86400`.
    pub alt_svc: Option<HeaderValue>,
    /// Where connections run (`None`: on the runtime that accepts them). TCP connections are
    /// handed out round robin; HTTP/3 runs one QUIC endpoint on each of its runtimes.
    pub placement: Option<Placement>,
}

impl ServeOptions {
    pub fn new(limits: Limits) -> Self {
        ServeOptions { gate: Gate::new(&limits), limits, refusals: None, alt_svc: None, placement: None }
    }

    /// Counts one refusal for `reason` (one of the fixed words above).
    pub(crate) fn refused(&self, reason: &'static str) {
        if let Some(r) = &self.refusals {
            r.with_label_values(&[reason]).inc();
        }
    }
}

impl Default for ServeOptions {
    fn default() -> Self {
        ServeOptions::new(Limits::default())
    }
}

/// The `Alt-Svc` value announcing HTTP/3 on UDP `port` (RFC 7838), kept a day by clients.
pub fn alt_svc_h3(port: u16) -> HeaderValue {
    HeaderValue::from_str(&format!("h3=\":{port}\"; ma=86400")).unwrap_or(HeaderValue::from_static("clear"))
}

/// A JSON answer.
pub fn json(status: StatusCode, value: &impl serde::Serialize) -> Resp {
    let body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
    bytes(status, "application/json", body)
}

/// An answer with the given content type.
pub fn bytes(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Resp {
    answer(status, content_type, Either::Left(Full::new(body.into())))
}

/// A streamed answer and the sender that writes its body, holding at most `buffer` chunks in
/// memory. The answer has no length; it ends when the sender is dropped (complete) or aborted
/// (cut, see [`StreamError`]). Write timeouts of the listener apply as for any answer.
pub fn streamed(status: StatusCode, content_type: &'static str, buffer: usize) -> (StreamSender, Resp) {
    let (tx, body) = Channel::new(buffer.max(1));
    (tx, answer(status, content_type, Either::Right(body)))
}

fn answer(status: StatusCode, content_type: &'static str, body: Answer) -> Resp {
    let mut res = Response::new(body);
    *res.status_mut() = status;
    res.headers_mut().insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    res
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let v = headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The value of query parameter `name`, percent-decoded.
pub fn query_param(query: Option<&str>, name: &str) -> Option<String> {
    form_urlencoded::parse(query?.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, HeaderValue::from_static("bearer abc123"));
        assert_eq!(bearer(&h), Some("abc123"));
        h.insert(AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert(AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }

    #[test]
    fn query_values_are_percent_decoded() {
        assert_eq!(query_param(Some("page=2&q=a%20b"), "q").as_deref(), Some("a b"));
        assert_eq!(query_param(Some("page=2"), "pageSize"), None);
        assert_eq!(query_param(None, "page"), None);
    }
}
