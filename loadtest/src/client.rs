//! The HTTP client every scenario shares, speaking the run's `--protocol`: HTTP/1.1 through
//! hyper-util's pooled client (keep-alive, TCP_NODELAY, an idle pool as big as the load's
//! concurrency; TLS on https:// URLs), HTTP/2 over a few multiplexed connections (`h2_pool`), or
//! HTTP/3 over QUIC (`h3_pool`); which one carries a request is decided in one place
//! ([`protocol::engine`]). Every request has a timeout, and every failure is a [`CallError`]
//! of a stable kind for the errors-by-kind table (`timeout`, `connect`, `tls`, `io`,
//! `stream_reset`, `http_429`, `bad_response`, ...), whatever the protocol. Request bodies are
//! [`Parts`]: one buffer, or several shared ones sent back to back (a media upload shares its
//! large base64 image between requests instead of copying it).

mod error;
mod h2_pool;
mod h3_pool;
mod parts;
pub mod protocol;
mod slots;
pub mod trust;

pub use error::CallError;
pub use parts::Parts;
pub use protocol::{Protocol, Transport};

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE};
use hyper::{Method, Request, Response, StatusCode, Uri, Version};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rustls::pki_types::CertificateDer;
use serde::de::DeserializeOwned;

use protocol::Engine;
use trust::{Trust, TrustError};

/// Largest response body read.
pub const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// A successful (2xx) answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: StatusCode,
    /// The HTTP version that carried it.
    pub version: Version,
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

/// The multiplexed engine of a run, when it speaks h2 or h3.
#[derive(Clone)]
enum Mux {
    None,
    H2(Arc<h2_pool::Pool>),
    H3(Arc<h3_pool::Pool>),
}

/// A cheap-to-clone client.
#[derive(Clone)]
pub struct Http {
    protocol: Protocol,
    http1: Client<HttpsConnector<HttpConnector>, Parts>,
    multiplexed: Mux,
    trust: Arc<Trust>,
    timeout: Duration,
}

impl Http {
    /// An HTTP/1.1 client keeping `pool` idle connections per host (use the load's
    /// concurrency), trusting no TLS certificate until one is pinned.
    pub fn new(pool: usize, timeout: Duration) -> Result<Http, TrustError> {
        Http::build(Protocol::Http1, Mux::None, Arc::new(Trust::none()), pool, timeout)
    }

    /// A client speaking `transport`'s protocol; `pool` as for [`Http::new`] (HTTP/1.1 only).
    pub fn with(transport: &Transport, pool: usize, timeout: Duration) -> Result<Http, TrustError> {
        let trust = Arc::new(Trust::new(transport.insecure, transport.ca_pem.as_deref())?);
        let multiplexed = match transport.protocol {
            Protocol::Http1 => Mux::None,
            Protocol::H2 => Mux::H2(Arc::new(h2_pool::Pool::new(transport.connections, &trust)?)),
            Protocol::H3 => Mux::H3(Arc::new(h3_pool::Pool::new(transport.connections, &trust)?)),
        };
        Http::build(transport.protocol, multiplexed, trust, pool, timeout)
    }

    fn build(
        protocol: Protocol,
        multiplexed: Mux,
        trust: Arc<Trust>,
        pool: usize,
        timeout: Duration,
    ) -> Result<Http, TrustError> {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        connector.enforce_http(false);
        // No ALPN: a TLS server then speaks HTTP/1.1, the only version this pool uses.
        let tls = trust.tcp(&[])?;
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http1 = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(pool.max(1))
            .pool_idle_timeout(Duration::from_secs(60))
            .build(https);
        Ok(Http { protocol, http1, multiplexed, trust, timeout })
    }

    /// Ends the run's multiplexed connections: HTTP/3's are closed and their close sent
    /// (QUIC has no FIN: a client that just exits leaves the server counting its connections
    /// until their idle timeout); HTTP/1.1 and h2 connections close with their sockets.
    pub async fn close(&self) {
        if let Mux::H3(pool) = &self.multiplexed {
            pool.close().await;
        }
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Trusts `cert` (DER) byte for byte from now on: the baseline's self-signed certificate.
    pub fn pin(&self, cert: CertificateDer<'static>) {
        self.trust.pin(cert);
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
        if body.is_some() {
            req = req.header(CONTENT_TYPE, "application/json");
        }
        let req = req.body(body.unwrap_or_default()).map_err(|e| CallError::BadResponse(e.to_string()))?;
        let reply = tokio::time::timeout(self.timeout, self.exchange(req)).await.map_err(|_| CallError::Timeout)??;
        if reply.status.is_success() {
            Ok(reply)
        } else {
            Err(CallError::Status { status: reply.status.as_u16(), body: preview(&reply.body) })
        }
    }

    async fn exchange(&self, req: Request<Parts>) -> Result<Reply, CallError> {
        match (protocol::engine(self.protocol, req.uri()), &self.multiplexed) {
            (Engine::H2 { .. }, Mux::H2(pool)) => read(pool.request(req).await?).await,
            (Engine::H3, Mux::H3(pool)) => {
                let (status, body) = pool.request(req).await?;
                Ok(Reply { status, version: Version::HTTP_3, body })
            }
            _ => read(self.http1.request(req).await.map_err(|e| error::http1(&e))?).await,
        }
    }

    pub async fn get(&self, uri: Uri, bearer: Option<&str>) -> Result<Reply, CallError> {
        self.call(Method::GET, uri, bearer, None).await
    }

    pub async fn post(&self, uri: Uri, bearer: Option<&str>, body: Bytes) -> Result<Reply, CallError> {
        self.call(Method::POST, uri, bearer, Some(body)).await
    }
}

/// Status, version and (bounded) body of a hyper answer.
async fn read(res: Response<Incoming>) -> Result<Reply, CallError> {
    let (status, version) = (res.status(), res.version());
    let limited = http_body_util::Limited::new(res.into_body(), MAX_RESPONSE_BYTES);
    let body = limited.collect().await.map_err(|e| CallError::Io(e.to_string()))?.to_bytes();
    Ok(Reply { status, version, body })
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
    fn urls_join_without_double_slashes() {
        let u = uri("http://127.0.0.1:8080/", "/instances/a/token/b/send-text").expect("uri");
        assert_eq!(u.to_string(), "http://127.0.0.1:8080/instances/a/token/b/send-text");
        assert!(uri("not a url", "/x").is_err());
    }
}
