//! `PolicyResolver`: the DNS resolver of the egress connector. It resolves a host name with
//! tokio (the system resolver, on tokio's blocking pool) and keeps only the addresses the
//! [`AddressPolicy`] permits, so hyper's connector dials exactly the addresses that were
//! checked: a DNS answer cannot smuggle a private address in, and there is no second lookup
//! to rebind. A *strict* resolver (webhooks, issue 9 §6) refuses a host outright when any of
//! its addresses is refused, instead of dialling the rest. It never opens a socket itself.
//! Runs on whichever runtime drives the client.

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper_util::client::legacy::connect::dns::Name;

use super::{AddressPolicy, EgressError};

/// Most refused addresses an error names; a DNS answer can hold many.
const MAX_NAMED: usize = 4;

#[derive(Debug, Clone)]
pub struct PolicyResolver {
    policy: Arc<AddressPolicy>,
    strict: bool,
}

impl PolicyResolver {
    /// Dials the permitted addresses of a host, refusing it only when none is permitted.
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        PolicyResolver { policy, strict: false }
    }

    /// Refuses a host when any of its addresses is refused.
    pub fn strict(policy: Arc<AddressPolicy>) -> Self {
        PolicyResolver { policy, strict: true }
    }
}

/// Resolves `host` once (the system resolver, on tokio's blocking pool).
pub async fn lookup(host: &str, port: u16) -> Result<Vec<SocketAddr>, EgressError> {
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => Ok(addrs.collect()),
        Err(e) => Err(EgressError::Resolve { host: host.to_owned(), detail: e.to_string() }),
    }
}

/// Keeps the addresses `policy` permits, or says why there are none to dial.
fn admit(
    host: String,
    found: Vec<SocketAddr>,
    policy: &AddressPolicy,
    strict: bool,
) -> Result<Vec<SocketAddr>, EgressError> {
    let (permitted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
        found.into_iter().partition(|a| policy.permits(a.ip()));
    if refused.is_empty() && permitted.is_empty() {
        return Err(EgressError::NoAddress { host });
    }
    if refused.is_empty() || (!strict && !permitted.is_empty()) {
        return Ok(permitted);
    }
    let addrs = named(refused.iter().map(SocketAddr::ip));
    match permitted.is_empty() {
        true => Err(EgressError::Refused { host, addrs }),
        false => Err(EgressError::RefusedSome { host, addrs }),
    }
}

/// The set-time check of a URL's host (issue 9 §6): resolves it once and refuses it when any
/// address it has is refused; an IP literal is checked as it is.
pub async fn vet(host: &str, port: u16, policy: &AddressPolicy) -> Result<(), EgressError> {
    if let Ok(addr) = host.parse::<IpAddr>() {
        return match policy.permits(addr) {
            true => Ok(()),
            false => Err(EgressError::RefusedAddress { addr }),
        };
    }
    admit(host.to_owned(), lookup(host, port).await?, policy, true).map(|_| ())
}

impl tower_service::Service<Name> for PolicyResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = EgressError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, EgressError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), EgressError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let (policy, strict) = (self.policy.clone(), self.strict);
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found = lookup(&host, 0).await?;
            admit(host, found, &policy, strict).map(Vec::into_iter)
        })
    }
}

/// The first few distinct addresses, for an error message.
pub(super) fn named(addrs: impl Iterator<Item = IpAddr>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::with_capacity(MAX_NAMED);
    for ip in addrs {
        if out.len() == MAX_NAMED {
            break;
        }
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn vetting_a_host_names_the_class_of_what_it_resolves_to() {
        let strict = AddressPolicy::for_webhooks(false, Vec::new());
        let err = vet("localhost", 443, &strict).await.unwrap_err();
        assert!(matches!(err, EgressError::Refused { .. } | EgressError::RefusedSome { .. }), "{err}");
        assert_eq!(err.class(), Some("loopback"));
        let err = vet("169.254.169.254", 443, &strict).await.unwrap_err();
        assert_eq!(err.class(), Some("cloud metadata"));
        assert!(vet("8.8.8.8", 443, &strict).await.is_ok(), "a public literal needs no lookup");
        let dev = AddressPolicy::for_webhooks(true, Vec::new());
        assert!(vet("localhost", 443, &dev).await.is_ok());
        assert!(vet("::1", 443, &dev).await.is_ok());
    }

    #[test]
    fn a_strict_resolver_refuses_a_mixed_answer_that_a_lenient_one_dials_the_public_part_of() {
        let policy = AddressPolicy::public_only();
        let mixed: Vec<SocketAddr> = vec!["8.8.8.8:443".parse().unwrap(), "10.0.0.1:443".parse().unwrap()];
        let lenient = admit("h".into(), mixed.clone(), &policy, false).unwrap();
        assert_eq!(lenient, vec!["8.8.8.8:443".parse::<SocketAddr>().unwrap()]);
        let strict = admit("h".into(), mixed, &policy, true).unwrap_err();
        assert_eq!(strict.class(), Some("private"));
        assert!(strict.to_string().contains("10.0.0.1 private"), "{strict}");
    }
}
