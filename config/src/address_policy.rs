//! `AddressPolicy`: which IP addresses outbound requests to user-chosen URLs (media fetches,
//! webhooks) may contact. Pure data and a table of special-purpose ranges (IANA's IPv4 and
//! IPv6 special-purpose registries, RFC 6890 and successors); no I/O, callable from any
//! thread. It lives in the shared contract because both planes apply it: the control plane
//! and the data plane when a webhook URL is set, the data plane's egress resolver and
//! connector before every socket is opened. Resolving names is the callers' job.
//!
//! It is stricter than "globally reachable" where being exact buys nothing: all of
//! 192.0.0.0/24 and 2001::/23 are refused, although IANA marks a few anycast services inside
//! them global, because no media server or webhook receiver lives there.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};

/// Which addresses may be contacted.
///
/// Globally reachable addresses always may. Addresses that can never be a TCP peer
/// (unspecified, "this network", multicast, broadcast) never may: connecting to 0.0.0.0 or ::
/// reaches the local host on Linux. Everything else (loopback, private, link-local, CGNAT,
/// unique-local, documentation, reserved …) may only when `allow_private` is set or the
/// address is inside one of the `allow` networks. IPv4-mapped IPv6 addresses are judged as
/// the IPv4 address they carry, and NAT64 or 6to4 addresses by their embedded IPv4 address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AddressPolicy {
    /// Contact any unicast address, private ones included (tests, private deployments).
    pub allow_private: bool,
    /// Networks the operator trusts even though they are not public (e.g. an internal media
    /// server at 10.1.2.0/24).
    pub allow: Vec<IpNet>,
}

/// A special-purpose range: an address inside it is not on the public internet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpecialRange {
    pub net: IpNet,
    /// What the range is, for error messages ("loopback", "private" …).
    pub name: &'static str,
    /// Whether no configuration may allow it (it can never be a TCP peer).
    pub never: bool,
}

impl AddressPolicy {
    /// Public addresses only: the production default.
    pub fn public_only() -> Self {
        AddressPolicy::default()
    }

    pub fn new(allow_private: bool, allow: Vec<IpNet>) -> Self {
        AddressPolicy { allow_private, allow }
    }

    /// The webhook policy (issue 9 §6): public addresses, plus the operator's `allow`
    /// networks (`[webhooks] allow_private`), plus loopback when `loopback` is set
    /// (`[webhooks] allow_insecure_loopback`, development and tests).
    pub fn for_webhooks(loopback: bool, mut allow: Vec<IpNet>) -> Self {
        if loopback {
            allow.push(IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(127, 0, 0, 0), 8)));
            allow.push(IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::LOCALHOST, 128)));
        }
        AddressPolicy { allow_private: false, allow }
    }

    /// Whether `ip` may be contacted.
    pub fn permits(&self, ip: IpAddr) -> bool {
        self.refusal(ip).is_none()
    }

    /// Why `ip` may not be contacted: the name of its class ("loopback", "private" …), or
    /// `None` when it may.
    pub fn refusal(&self, ip: IpAddr) -> Option<&'static str> {
        let ip = canonical(ip);
        match special(ip) {
            None => None,
            Some(range) if range.never => Some(range.name),
            Some(_) if self.allow_private || self.allow.iter().any(|net| net.contains(&ip)) => None,
            Some(range) => Some(range.name),
        }
    }

    /// The first of `addrs` this policy refuses, with its class: a host is refused when any
    /// address it resolves to is (issue 9 §6), so one DNS answer cannot mix a private address
    /// in with public ones.
    pub fn first_refused(&self, addrs: impl IntoIterator<Item = IpAddr>) -> Option<(IpAddr, &'static str)> {
        addrs.into_iter().find_map(|a| self.refusal(a).map(|class| (a, class)))
    }
}

/// The special-purpose range `ip` belongs to, or `None` for a public address.
pub fn special(ip: IpAddr) -> Option<&'static SpecialRange> {
    let ip = match canonical(ip) {
        IpAddr::V6(v6) => embedded_v4(v6).map(IpAddr::V4).unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    };
    RANGES.iter().find(|r| r.net.contains(&ip))
}

/// An IPv4-mapped IPv6 address (`::ffff:a.b.c.d`) is the IPv4 address it carries: the
/// kernel connects to that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// The IPv4 address inside a NAT64 (64:ff9b::/96, RFC 6052) or 6to4 (2002::/16, RFC 3056)
/// address: a translator or relay would forward to it.
fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = v6.segments();
    let o = v6.octets();
    if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return Some(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    if s[0] == 0x2002 {
        return Some(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    None
}

const fn v4(a: u8, b: u8, c: u8, d: u8, len: u8, name: &'static str, never: bool) -> SpecialRange {
    SpecialRange { net: IpNet::V4(Ipv4Net::new_assert(Ipv4Addr::new(a, b, c, d), len)), name, never }
}

const fn v6(segments: [u16; 8], len: u8, name: &'static str, never: bool) -> SpecialRange {
    let [a, b, c, d, e, f, g, h] = segments;
    SpecialRange { net: IpNet::V6(Ipv6Net::new_assert(Ipv6Addr::new(a, b, c, d, e, f, g, h), len)), name, never }
}

/// First match wins, so narrower ranges come before the ranges that contain them.
static RANGES: &[SpecialRange] = &[
    // Cloud instance metadata services (AWS, GCP, Azure, OpenStack; Alibaba; AWS over IPv6):
    // the classic SSRF target, named on its own so a refusal says what was aimed at.
    v4(169, 254, 169, 254, 32, "cloud metadata", false),
    v4(100, 100, 100, 200, 32, "cloud metadata", false),
    v6([0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254], 128, "cloud metadata", false),
    v4(0, 0, 0, 0, 8, "this-network", true),
    v4(10, 0, 0, 0, 8, "private", false),
    v4(100, 64, 0, 0, 10, "shared (CGNAT)", false),
    v4(127, 0, 0, 0, 8, "loopback", false),
    v4(169, 254, 0, 0, 16, "link-local", false),
    v4(172, 16, 0, 0, 12, "private", false),
    v4(192, 0, 0, 0, 24, "IETF protocol assignments", false),
    v4(192, 0, 2, 0, 24, "documentation", false),
    v4(192, 88, 99, 0, 24, "6to4 relay anycast", false),
    v4(192, 168, 0, 0, 16, "private", false),
    v4(198, 18, 0, 0, 15, "benchmarking", false),
    v4(198, 51, 100, 0, 24, "documentation", false),
    v4(203, 0, 113, 0, 24, "documentation", false),
    v4(224, 0, 0, 0, 4, "multicast", true),
    v4(255, 255, 255, 255, 32, "broadcast", true),
    v4(240, 0, 0, 0, 4, "reserved", false),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 128, "unspecified", true),
    v6([0, 0, 0, 0, 0, 0, 0, 1], 128, "loopback", false),
    v6([0, 0, 0, 0, 0, 0, 0, 0], 96, "IPv4-compatible (deprecated)", false),
    v6([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48, "local-use NAT64", false),
    v6([0x100, 0, 0, 0, 0, 0, 0, 0], 64, "discard-only", false),
    v6([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32, "documentation", false),
    v6([0x2001, 0, 0, 0, 0, 0, 0, 0], 23, "IETF protocol assignments", false),
    v6([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20, "documentation", false),
    v6([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16, "SRv6 SIDs", false),
    v6([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7, "unique-local", false),
    v6([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10, "link-local", false),
    v6([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10, "site-local (deprecated)", false),
    v6([0xff00, 0, 0, 0, 0, 0, 0, 0], 8, "multicast", true),
];

#[cfg(test)]
mod tests;
