//! egress: the policy for HTTP requests the data plane makes to addresses its users chose
//! (media URLs now, webhooks later). It owns the [`AddressPolicy`], a resolver that drops
//! the addresses the policy refuses ([`resolve`]), a connector that applies the same policy
//! to literal-IP URLs and bounds connection set-up with its own timeout, and the rustls
//! client built on them ([`client`]). Every socket such a client opens goes to an address
//! the policy checked, after redirects too, since each request goes through the connector.
//! It decides nothing about what is fetched or sent (sizes, types, retries belong to the
//! callers). Runs on whichever tokio runtime drives the client.

pub mod resolve;

/// The policy is the shared contract's (the control plane applies it too when a webhook URL
/// is set).
pub use chatedge_config::address_policy as policy;

use std::error::Error as StdError;
use std::future::Future;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;
use tower_service::Service;

pub use policy::{AddressPolicy, SpecialRange};
pub use resolve::{vet, PolicyResolver};

/// The HTTP(S) client of outbound requests to user-chosen URLs.
pub type EgressClient = Client<EgressConnector, Full<Bytes>>;
pub type EgressConnector = HttpsConnector<GuardedConnector>;

type BoxError = Box<dyn StdError + Send + Sync>;

/// Why an address was not contacted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EgressError {
    #[error("{host} resolves only to non-public addresses ({}), which this server does not contact", describe(addrs))]
    Refused { host: String, addrs: Vec<IpAddr> },
    /// A strict resolver's refusal of a host with public addresses too (webhooks).
    #[error("{host} resolves to non-public addresses too ({}), which this server does not contact", describe(addrs))]
    RefusedSome { host: String, addrs: Vec<IpAddr> },
    #[error("{addr} is not a public address ({}), which this server does not contact", range_name(*addr))]
    RefusedAddress { addr: IpAddr },
    #[error("cannot resolve {host}: {detail}")]
    Resolve { host: String, detail: String },
    #[error("{host} has no address")]
    NoAddress { host: String },
}

/// Builds the egress client: rustls with the ring provider and Mozilla's roots (as the
/// webhook client), HTTP/1.1 and HTTP/2, pooled connections, every address checked against
/// `policy`, and connection set-up (each TCP connect) bounded by `connect_timeout`.
pub fn client(policy: AddressPolicy, connect_timeout: Duration) -> Result<EgressClient, rustls::Error> {
    let policy = Arc::new(policy);
    let resolver = PolicyResolver::new(policy.clone());
    Ok(Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(90))
        .pool_max_idle_per_host(32)
        .build(connector(resolver, policy, connect_timeout)?))
}

/// The TLS-wrapped, policy-guarded connector of an egress client: ALPN offers h2 and
/// http/1.1 over TLS, so a receiver that speaks HTTP/2 gets it; plain http is HTTP/1.1.
pub fn connector(
    resolver: PolicyResolver,
    policy: Arc<AddressPolicy>,
    connect_timeout: Duration,
) -> Result<EgressConnector, rustls::Error> {
    let mut http = HttpConnector::new_with_resolver(resolver);
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(GuardedConnector { http, policy }))
}

impl EgressError {
    /// The class of the first refused address ("loopback", "private" …), when the policy
    /// refused; `None` for a resolution failure. Bounded: the names of a fixed table.
    pub fn class(&self) -> Option<&'static str> {
        match self {
            EgressError::Refused { addrs, .. } | EgressError::RefusedSome { addrs, .. } => {
                addrs.first().map(|a| range_name(*a))
            }
            EgressError::RefusedAddress { addr } => Some(range_name(*addr)),
            EgressError::Resolve { .. } | EgressError::NoAddress { .. } => None,
        }
    }
}

/// The [`EgressError`] somewhere in an error's source chain (a client error wraps the
/// connector's), if the failure was the policy's or the resolver's.
pub fn egress_error<'a>(err: &'a (dyn StdError + 'static)) -> Option<&'a EgressError> {
    let mut next = Some(err);
    while let Some(e) = next {
        if let Some(found) = e.downcast_ref::<EgressError>() {
            return Some(found);
        }
        next = e.source();
    }
    None
}

/// hyper's `HttpConnector` with the policy applied to literal-IP hosts too: the connector
/// dials those without asking the resolver.
#[derive(Debug, Clone)]
pub struct GuardedConnector {
    http: HttpConnector<PolicyResolver>,
    policy: Arc<AddressPolicy>,
}

impl Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.http.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        if let Some(addr) = literal_ip(&uri) {
            if !self.policy.permits(addr) {
                return Box::pin(std::future::ready(Err(EgressError::RefusedAddress { addr }.into())));
            }
        }
        let connecting = self.http.call(uri);
        Box::pin(async move { connecting.await.map_err(Into::into) })
    }
}

/// The host of `uri` when it is an IP address (`[::1]` included), as `HttpConnector` reads it.
fn literal_ip(uri: &Uri) -> Option<IpAddr> {
    let host = uri.host()?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    host.parse().ok()
}

/// What kind of non-public address `addr` is ("loopback").
fn range_name(addr: IpAddr) -> &'static str {
    policy::special(addr).map_or("refused by policy", |range| range.name)
}

/// "127.0.0.1 loopback, 10.0.0.1 private".
fn describe(addrs: &[IpAddr]) -> String {
    let names: Vec<String> = addrs
        .iter()
        .map(|a| match policy::special(*a) {
            Some(range) => format!("{a} {}", range.name),
            None => a.to_string(),
        })
        .collect();
    names.join(", ")
}
