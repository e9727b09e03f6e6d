//! auth: who may call. An instance route needs an instance id and its token (checked against
//! the SHA-256 hash in the current snapshot, in constant time); admin routes need the admin
//! token. An unknown instance and a wrong token are indistinguishable — same answer, same work —
//! so no caller learns whether another tenant's instance exists.
//!
//! Once the instance is known, its account's rules apply, all from the pushed snapshot (no
//! call to the control plane on the request path): the IP allowlist (`{"error": "<ip> not
//! allowed"}`) and the Client-Token header (`{"error": "null not allowed"}`, the sent value in
//! place of null), seed 001 lines 370–490; then, for sends only, a disabled account or one
//! stopped for an unpaid invoice. The caller's address is the TCP peer, or the address a
//! trusted proxy (`[dataplane] trusted_proxies`) put in `X-Forwarded-For`. Runs on the request's
//! task; allocates only to word a refusal.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use chatedge_config::{InstanceConfig, InstanceId, Snapshot, Tenant, TokenHash};
use hyper::HeaderMap;
use serde_json::json;

/// Where a request came from, attached to it by the data plane's accept loop.
#[derive(Debug, Clone)]
pub struct Origin {
    pub peer: SocketAddr,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Arc<[ipnet::IpNet]>,
}

/// Why an authenticated instance call is refused by its account's rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The caller's address is not on the enabled allowlist.
    Ip(IpAddr),
    /// The Client-Token is enabled and was missing (`None`) or wrong (the value sent).
    ClientToken(Option<String>),
    /// The operator disabled the account: sends are refused.
    Disabled,
    /// An invoice is unpaid past its stop date: sends are refused, reading works.
    PaymentOverdue,
}

impl Refusal {
    /// Bounded reason for the refusal counter.
    pub fn reason(&self) -> &'static str {
        match self {
            Refusal::Ip(_) => "ip_not_allowed",
            Refusal::ClientToken(_) => "client_token",
            Refusal::Disabled => "account_disabled",
            Refusal::PaymentOverdue => "payment_overdue",
        }
    }

    /// The refusal in words, for a dialect that writes its own error shape.
    pub fn message(&self) -> String {
        let (_, v) = self.response();
        v.get("message").and_then(|m| m.as_str()).or_else(|| v["error"].as_str()).unwrap_or("refused").to_owned()
    }

    /// Status and body. The security refusals are exactly the seed's `{"error": "… not
    /// allowed"}`; the seed gives no status for them, 403 says "you may not" without
    /// inviting a retry.
    pub fn response(&self) -> (hyper::StatusCode, serde_json::Value) {
        use hyper::StatusCode;
        match self {
            Refusal::Ip(ip) => (StatusCode::FORBIDDEN, json!({"error": format!("{ip} not allowed")})),
            Refusal::ClientToken(sent) => {
                let shown = sent.as_deref().unwrap_or("null");
                (StatusCode::FORBIDDEN, json!({"error": format!("{shown} not allowed")}))
            }
            Refusal::Disabled => (
                StatusCode::FORBIDDEN,
                json!({"error": "Account disabled", "message": "this instance's account is disabled: sending is refused"}),
            ),
            Refusal::PaymentOverdue => (
                StatusCode::PAYMENT_REQUIRED,
                json!({
                    "error": "Payment required",
                    "message": "this instance's account has an unpaid invoice past its stop date: sending is \
                                refused until it is paid; reading still works"
                }),
            ),
        }
    }
}

/// An instance whose token the edge already checked (rate limiting does, first), against the
/// snapshot of `version`: kept in the request's extensions so a request's token is hashed
/// once. A dialect uses it only while the snapshot it reads is still that version.
#[derive(Clone)]
pub struct Authenticated {
    pub version: u64,
    pub instance: Arc<InstanceConfig>,
}

/// The instance `req` authenticated as: the edge's earlier check when it was made against
/// `snapshot`, else [`instance`] now.
pub fn instance_of<B>(
    snapshot: &Snapshot,
    req: &hyper::Request<B>,
    id: &str,
    token: &str,
) -> Option<Arc<InstanceConfig>> {
    match req.extensions().get::<Authenticated>() {
        Some(a) if a.version == snapshot.version => Some(a.instance.clone()),
        _ => instance(snapshot, id, token),
    }
}

/// Checks `token` for instance `id`; `None` when either is wrong.
pub fn instance(snapshot: &Snapshot, id: &str, token: &str) -> Option<Arc<InstanceConfig>> {
    let presented = TokenHash::of(token.as_bytes());
    let found = InstanceId::parse(id).ok().and_then(|id| snapshot.instances.get(&id));
    // Compare against something even when the id is unknown, so timing tells nothing.
    let expected = found.map(|i| i.token_hash).unwrap_or(TokenHash::of(b"\0no instance\0"));
    match found {
        Some(i) if expected == presented => Some(i.clone()),
        _ => None,
    }
}

/// An API key sent as `Authorization: Bearer <key>` or as the bare key (the Chat Inc and Zami
/// dialects take both).
pub fn api_key(headers: &HeaderMap) -> Option<&str> {
    chatedge_serve::bearer(headers).or_else(|| {
        let v = headers.get(hyper::header::AUTHORIZATION)?.to_str().ok()?.trim();
        (!v.is_empty() && !v.contains(' ')).then_some(v)
    })
}

/// Whether the request carries the admin token (`Authorization: Bearer …`).
pub fn admin(snapshot: &Snapshot, headers: &HeaderMap) -> bool {
    match (snapshot.admin_token_hash, chatedge_serve::bearer(headers)) {
        (Some(hash), Some(token)) => hash.matches(token.as_bytes()),
        _ => false,
    }
}

/// The account rules every call of `instance` must pass (IP allowlist, then Client-Token).
pub fn account(
    snapshot: &Snapshot,
    instance: &InstanceConfig,
    headers: &HeaderMap,
    origin: Option<&Origin>,
) -> Result<(), Refusal> {
    let Some(tenant) = snapshot.tenants.get(&instance.tenant) else { return Ok(()) };
    let security = &tenant.security;
    allowlist(tenant, headers, origin)?;
    if let Some(ct) = security.client_token.as_ref().filter(|c| c.enabled) {
        let sent = headers.get("client-token").map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        match &sent {
            Some(s) if ct.hash.matches(s.as_bytes()) => {}
            _ => return Err(Refusal::ClientToken(sent)),
        }
    }
    Ok(())
}

/// The account's IP allowlist, when enabled: the caller's address must be on it.
pub fn allowlist(tenant: &Tenant, headers: &HeaderMap, origin: Option<&Origin>) -> Result<(), Refusal> {
    let list = &tenant.security.ip_allowlist;
    if !list.enabled {
        return Ok(());
    }
    // Without a known origin (a request not from the accept loop) nothing is allowed.
    let ip = origin.map(|o| caller_ip(o, headers)).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    match list.ips.iter().any(|a| a.to_canonical() == ip) {
        true => Ok(()),
        false => Err(Refusal::Ip(ip)),
    }
}

/// Whether `tenant`'s instances may send now.
pub fn may_send(tenant: Option<&Tenant>) -> Result<(), Refusal> {
    match tenant {
        Some(t) if t.disabled => Err(Refusal::Disabled),
        Some(t) if t.payment_overdue => Err(Refusal::PaymentOverdue),
        _ => Ok(()),
    }
}

/// The caller's address: the peer, or — when the peer is a trusted proxy — the right-most
/// `X-Forwarded-For` entry that is not itself a trusted proxy (entries further left were
/// written by the client and prove nothing).
pub fn caller_ip(origin: &Origin, headers: &HeaderMap) -> IpAddr {
    let trusted = |ip: &IpAddr| origin.trusted_proxies.iter().any(|n| n.contains(ip));
    let mut ip = origin.peer.ip().to_canonical();
    if !trusted(&ip) {
        return ip;
    }
    let hops = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
    let entries: Vec<&str> = hops.flat_map(|v| v.split(',')).map(str::trim).collect();
    for entry in entries.iter().rev() {
        match entry.parse::<IpAddr>() {
            Ok(hop) => {
                ip = hop.to_canonical();
                if !trusted(&ip) {
                    break;
                }
            }
            // A malformed hop: stop believing the chain at the last good address.
            Err(_) => break,
        }
    }
    ip
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(peer: &str, trusted: &[&str]) -> Origin {
        Origin {
            peer: format!("{peer}:5000").parse().unwrap(),
            trusted_proxies: trusted.iter().map(|n| n.parse().unwrap()).collect::<Vec<_>>().into(),
        }
    }

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_a_trusted_proxy() {
        let h = xff("203.0.113.9");
        assert_eq!(caller_ip(&origin("10.0.0.5", &[]), &h), "10.0.0.5".parse::<IpAddr>().unwrap());
        assert_eq!(caller_ip(&origin("10.0.0.5", &["10.0.0.0/8"]), &h), "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn a_client_cannot_spoof_its_address_through_a_trusted_proxy() {
        // The client wrote 1.2.3.4; the proxy appended the address it saw.
        let h = xff("1.2.3.4, 198.51.100.7");
        let got = caller_ip(&origin("10.0.0.5", &["10.0.0.0/8"]), &h);
        assert_eq!(got, "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn refusals_carry_the_seed_s_words() {
        assert_eq!(Refusal::ClientToken(None).response().1, json!({"error": "null not allowed"}));
        assert_eq!(Refusal::ClientToken(Some("abc".into())).response().1, json!({"error": "abc not allowed"}));
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        assert_eq!(Refusal::Ip(ip).response().1, json!({"error": "127.0.0.1 not allowed"}));
    }
}
