//! The webhook HTTP client (issue 9 §6, §7): the egress client of [`crate::egress`] with the
//! webhook address policy (`[webhooks] allow_private`, `allow_insecure_loopback`) and a
//! *strict* resolver. Each new connection resolves its host once and dials only the
//! addresses that were checked — a host is refused outright when any address it has is not
//! public, and there is no second lookup for DNS rebinding to slip into. Literal-IP hosts are
//! checked by the guarded connector. Redirects are never followed (hyper's client does not),
//! connection set-up (DNS + TCP + TLS) is bounded by its own `connect_timeout` ([`TimedConnector`]), idle connections are pooled per
//! endpoint (scheme + authority), and TLS offers h2 by ALPN so receivers that speak HTTP/2 get
//! one multiplexed connection.
//!
//! It decides nothing about retries, timeouts of a response or what is sent (the delivery
//! engine's business); it only says, for a failed request, whether the policy refused it and
//! for which address class ([`refused_class`]). Runs on whichever runtime drives requests.

use std::sync::Arc;
use std::time::Duration;

use chatedge_config::file::WebhooksConfig;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::Uri;
use http_body_util::Full;
use tower_service::Service;

use crate::egress::{self, EgressConnector, PolicyResolver};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The client webhook attempts go through.
pub type WebhookClient = Client<TimedConnector<EgressConnector>, Full<Bytes>>;

/// A connector whose whole connection set-up — DNS lookup, TCP connect and TLS handshake —
/// is bounded by one timeout. hyper's `set_connect_timeout` bounds only the TCP connect, so a
/// slow resolver or a receiver that accepts and never completes the handshake would hold an
/// attempt until the response `timeout` instead (review of issue 9, defect 6).
#[derive(Clone, Debug)]
pub struct TimedConnector<C> {
    inner: C,
    timeout: Duration,
}

impl<C> Service<Uri> for TimedConnector<C>
where
    C: Service<Uri>,
    C::Future: Send + 'static,
    C::Error: Into<BoxError>,
{
    type Response = C::Response;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<C::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri);
        let timeout = self.timeout;
        Box::pin(async move {
            match tokio::time::timeout(timeout, connecting).await {
                Ok(result) => result.map_err(Into::into),
                Err(_) => Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "connection set-up (DNS, TCP, TLS) timed out",
                )) as BoxError),
            }
        })
    }
}

/// Idle keep-alive connections kept per endpoint (hyper pools by scheme + authority) at
/// least; past it a finished connection is closed. The client raises it to every attempt slot
/// (`first_attempt_slots + retry_slots`): many instances' URLs often share one receiver host
/// (the loadtest sink does), and a pool smaller than the attempts in flight to it closes and
/// reopens connections all the time.
const MAX_IDLE_PER_ENDPOINT: usize = 32;
/// An idle pooled connection is closed after this (receivers commonly drop theirs at 60–120 s).
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// Builds the webhook client from `[webhooks]`.
pub fn webhook_client(cfg: &WebhooksConfig) -> Result<WebhookClient, rustls::Error> {
    let policy = Arc::new(cfg.address_policy.clone());
    let resolver = PolicyResolver::strict(policy.clone());
    let connector = TimedConnector {
        inner: egress::connector(resolver, policy, cfg.connect_timeout)?,
        timeout: cfg.connect_timeout,
    };
    Ok(Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(IDLE_TIMEOUT)
        .pool_max_idle_per_host(MAX_IDLE_PER_ENDPOINT.max(cfg.first_attempt_slots + cfg.retry_slots))
        .build(connector))
}

/// The address class the policy refused a failed request for ("loopback", "private" …), or
/// `None` when it failed otherwise (refused connection, TLS, timeout, unresolvable host).
pub fn refused_class(err: &hyper_util::client::legacy::Error) -> Option<&'static str> {
    egress::egress_error(err).and_then(egress::EgressError::class)
}

/// Why a request failed, for logs and dead letters: the policy's refusal names the host and
/// the address class; any other failure is its chain of causes ("client error (Connect):
/// tcp connect error: Connection refused").
pub fn describe_failure(err: &hyper_util::client::legacy::Error) -> String {
    if let Some(e) = egress::egress_error(err) {
        return e.to_string();
    }
    let mut text = err.to_string();
    let mut next = std::error::Error::source(err);
    while let Some(e) = next {
        text.push_str(": ");
        text.push_str(&e.to_string());
        next = e.source();
    }
    text
}

#[cfg(test)]
mod tests;
