//! `PolicyResolver`: the DNS resolver of the egress connector. It resolves a host name with
//! tokio (the system resolver, on tokio's blocking pool) and keeps only the addresses the
//! [`AddressPolicy`] permits, so hyper's connector dials exactly the addresses that were
//! checked: a DNS answer cannot smuggle a private address in, and there is no second lookup
//! to rebind. It never opens a socket itself. Runs on whichever runtime drives the client.

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
}

impl PolicyResolver {
    pub fn new(policy: Arc<AddressPolicy>) -> Self {
        PolicyResolver { policy }
    }
}

impl tower_service::Service<Name> for PolicyResolver {
    type Response = std::vec::IntoIter<SocketAddr>;
    type Error = EgressError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, EgressError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), EgressError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, name: Name) -> Self::Future {
        let policy = self.policy.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let looked_up = tokio::net::lookup_host((host.as_str(), 0)).await.map(Iterator::collect::<Vec<_>>);
            let found = match looked_up {
                Ok(addrs) => addrs,
                Err(e) => return Err(EgressError::Resolve { host, detail: e.to_string() }),
            };
            let (permitted, refused): (Vec<SocketAddr>, Vec<SocketAddr>) =
                found.into_iter().partition(|a| policy.permits(a.ip()));
            if !permitted.is_empty() {
                return Ok(permitted.into_iter());
            }
            if refused.is_empty() {
                return Err(EgressError::NoAddress { host });
            }
            Err(EgressError::Refused { host, addrs: named(refused.iter().map(SocketAddr::ip)) })
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
