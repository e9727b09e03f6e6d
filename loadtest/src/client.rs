//! The HTTP client every scenario shares: hyper-util's pooled legacy client over plain
//! HTTP/1.1 with keep-alive (TCP_NODELAY, an idle pool as big as the load's concurrency), a
//! per-request timeout, and [`CallError`], which sorts every failure into a stable "kind" for
//! the errors-by-kind table (`timeout`, `connect`, `io`, `http_429`, `bad_response`, ...).
//! Request bodies are [`Parts`]: one buffer, or several shared ones sent back to back (a
//! media upload shares its large base64 image between requests instead of copying it).

mod parts;
pub use parts::Parts;

use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;

/// Largest response body read.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a request did not produce the answer the scenario wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No answer within the timeout.
    Timeout,
    /// The TCP connection could not be made.
    Connect(String),
    /// The connection broke mid-request.
    Io(String),
    /// A non-2xx answer, with the start of its body.
    Status { status: u16, body: String },
    /// A 2xx answer that is not what the route promises.
    BadResponse(String),
    /// A multi-step operation (pairing) that did not finish in time.
    Stalled(String),
}

impl CallError {
    /// Stable label for counting errors by kind.
    pub fn kind(&self) -> String {
        match self {
            CallError::Timeout => "timeout".into(),
            CallError::Connect(_) => "connect".into(),
            CallError::Io(_) => "io".into(),
            CallError::Status { status, .. } => format!("http_{status}"),
            CallError::BadResponse(_) => "bad_response".into(),
            CallError::Stalled(_) => "stalled".into(),
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => write!(f, "timed out"),
            CallError::Connect(e) => write!(f, "cannot connect: {e}"),
            CallError::Io(e) => write!(f, "connection error: {e}"),
            CallError::Status { status, body } => write!(f, "HTTP {status}: {body}"),
            CallError::BadResponse(e) => write!(f, "unexpected response: {e}"),
            CallError::Stalled(e) => write!(f, "gave up: {e}"),
        }
    }
}

impl std::error::Error for CallError {}

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    pub body: Bytes,
}

impl Reply {
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, CallError> {
        serde_json::from_slice(&self.body).map_err(|e| CallError::BadResponse(format!("{e}: {}", preview(&self.body))))
    }
}

fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(200)]);
    text.replace('\n', " ")
}

/// A cheap-to-clone pooled client.
#[derive(Clone)]
pub struct Http {
    client: Client<HttpConnector, Parts>,
    timeout: Duration,
}

impl Http {
    /// `pool` idle connections are kept per host (use the load's concurrency).
    pub fn new(pool: usize, timeout: Duration) -> Http {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool.max(1))
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector);
        Http { client, timeout }
    }

    /// One request; `Ok` only for a 2xx answer.
    pub async fn call(
        &self,
        method: Method,
        uri: Uri,
        bearer: Option<&str>,
        body: Option<Bytes>,
    ) -> Result<Reply, CallError> {
        self.send(method, uri, bearer, body.map(Parts::one)).await
    }

    /// One request whose JSON body is `body`'s parts in order; `Ok` only for a 2xx answer.
    pub async fn send(
        &self,
        method: Method,
        uri: Uri,
        bearer: Option<&str>,
        body: Option<Parts>,
    ) -> Result<Reply, CallError> {
        let mut req = Request::builder().method(method).uri(uri);
        if let Some(token) = bearer {
            req = req.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let has_body = body.is_some();
        if has_body {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let req = req.body(body.unwrap_or_default()).map_err(|e| CallError::BadResponse(e.to_string()))?;
        let exchange = async {
            let res = self.client.request(req).await.map_err(classify)?;
            let status = res.status();
            let limited = http_body_util::Limited::new(res.into_body(), MAX_RESPONSE_BYTES);
            let body = limited.collect().await.map_err(|e| CallError::Io(e.to_string()))?.to_bytes();
            Ok::<_, CallError>(Reply { status, body })
        };
        let reply = tokio::time::timeout(self.timeout, exchange).await.map_err(|_| CallError::Timeout)??;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(CallError::Status { status: reply.status.as_u16(), body: preview(&reply.body) })
        }
    }

    pub async fn get(&self, uri: Uri, bearer: Option<&str>) -> Result<Reply, CallError> {
        self.call(Method::GET, uri, bearer, None).await
    }

    pub async fn post(&self, uri: Uri, bearer: Option<&str>, body: Bytes) -> Result<Reply, CallError> {
        self.call(Method::POST, uri, bearer, Some(body)).await
    }
}

fn classify(e: hyper_util::client::legacy::Error) -> CallError {
    if e.is_connect() {
        CallError::Connect(source_chain(&e))
    } else {
        CallError::Io(source_chain(&e))
    }
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(": ");
        text.push_str(&s.to_string());
        next = s.source();
    }
    text
}

/// `base` (e.g. `http://127.0.0.1:8080/`) joined with `path` (which starts with `/`).
pub fn uri(base: &str, path: &str) -> anyhow::Result<Uri> {
    let joined = format!("{}{}", base.trim_end_matches('/'), path);
    joined.parse::<Uri>().map_err(|e| anyhow::anyhow!("bad URL {joined}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_are_stable_labels() {
        assert_eq!(CallError::Status { status: 429, body: String::new() }.kind(), "http_429");
        assert_eq!(CallError::Timeout.kind(), "timeout");
        assert_eq!(CallError::BadResponse("x".into()).kind(), "bad_response");
    }

    #[test]
    fn urls_join_without_double_slashes() {
        let u = uri("http://127.0.0.1:8080/", "/instances/a/token/b/send-text").expect("uri");
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/instances/a/token/b/send-text");
        assert!(uri("not a url", "/x").is_err());
    }
}
