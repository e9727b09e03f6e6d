use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Every kind of non-public address, with the name the refusal gives it.
const NOT_PUBLIC: &[(&str, &str)] = &[
    ("0.0.0.0", "this-network"),
    ("0.1.2.3", "this-network"),
    ("10.0.0.1", "private"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("100.127.255.254", "shared (CGNAT)"),
    ("127.0.0.1", "loopback"),
    ("127.255.0.9", "loopback"),
    ("169.254.169.254", "cloud metadata"),
    ("169.254.1.1", "link-local"),
    ("100.100.100.200", "cloud metadata"),
    ("fd00:ec2::254", "cloud metadata"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.0.0.8", "IETF protocol assignments"),
    ("192.0.2.10", "documentation"),
    ("192.88.99.1", "6to4 relay anycast"),
    ("192.168.1.1", "private"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.1", "benchmarking"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.7", "documentation"),
    ("224.0.0.251", "multicast"),
    ("239.255.255.250", "multicast"),
    ("240.0.0.1", "reserved"),
    ("255.255.255.255", "broadcast"),
    ("::", "unspecified"),
    ("::1", "loopback"),
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "cloud metadata"),
    ("64:ff9b::a9fe:a9fe", "cloud metadata"),
    ("2002:a9fe:a9fe::1", "cloud metadata"),
    ("::7f00:1", "IPv4-compatible (deprecated)"),
    ("64:ff9b::7f00:1", "loopback"),
    ("64:ff9b::a00:1", "private"),
    ("64:ff9b:1::1", "local-use NAT64"),
    ("2002:7f00:1::1", "loopback"),
    ("2002:c0a8:101::1", "private"),
    ("100::1", "discard-only"),
    ("2001::1", "IETF protocol assignments"),
    ("2001:2::1", "IETF protocol assignments"),
    ("2001:db8::1", "documentation"),
    ("3fff::1", "documentation"),
    ("5f00::1", "SRv6 SIDs"),
    ("fc00::1", "unique-local"),
    ("fd12:3456::1", "unique-local"),
    ("fe80::1", "link-local"),
    ("fec0::1", "site-local (deprecated)"),
    ("ff02::1", "multicast"),
];

const PUBLIC: &[&str] = &[
    "1.1.1.1",
    "8.8.8.8",
    "100.63.255.255",
    "100.128.0.0",
    "172.15.255.255",
    "172.32.0.0",
    "192.0.3.1",
    "198.17.255.255",
    "198.20.0.0",
    "223.255.255.255",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",
    "2002:808:808::1",
    "2606:4700::1111",
    "2a00:1450:4001::200e",
];

#[test]
fn every_special_purpose_address_is_named_and_refused_by_default() {
    let policy = AddressPolicy::public_only();
    for &(addr, name) in NOT_PUBLIC {
        assert_eq!(special(ip(addr)).map(|r| r.name), Some(name), "{addr}");
        assert!(!policy.permits(ip(addr)), "{addr} must be refused");
    }
}

#[test]
fn public_addresses_are_permitted_by_default() {
    let policy = AddressPolicy::public_only();
    for &addr in PUBLIC {
        assert_eq!(special(ip(addr)), None, "{addr}");
        assert!(policy.permits(ip(addr)), "{addr} must be permitted");
    }
}

#[test]
fn allow_private_permits_every_unicast_address_but_never_unspecified_multicast_or_broadcast() {
    let policy = AddressPolicy::new(true, Vec::new());
    for &(addr, name) in NOT_PUBLIC {
        let never = matches!(name, "this-network" | "unspecified" | "multicast" | "broadcast");
        assert_eq!(policy.permits(ip(addr)), !never, "{addr}");
    }
}

#[test]
fn an_allowed_network_permits_only_its_own_addresses() {
    let policy = AddressPolicy::new(false, vec!["10.1.2.0/24".parse().unwrap(), "fd00::/64".parse().unwrap()]);
    assert!(policy.permits(ip("10.1.2.3")));
    assert!(policy.permits(ip("::ffff:10.1.2.3")), "a mapped address is its IPv4 address");
    assert!(policy.permits(ip("fd00::5")));
    assert!(!policy.permits(ip("10.1.3.1")));
    assert!(!policy.permits(ip("127.0.0.1")));
    assert!(!policy.permits(ip("fd00:0:0:1::5")));
}

#[test]
fn an_allow_list_cannot_open_addresses_that_are_never_peers() {
    let policy = AddressPolicy::new(false, vec!["0.0.0.0/0".parse().unwrap(), "::/0".parse().unwrap()]);
    for addr in ["0.0.0.0", "255.255.255.255", "224.0.0.1", "::", "ff02::1"] {
        assert!(!policy.permits(ip(addr)), "{addr}");
    }
    assert!(policy.permits(ip("127.0.0.1")));
}

#[test]
fn the_webhook_policy_admits_loopback_only_when_told_and_never_through_a_translation_prefix() {
    let strict = AddressPolicy::for_webhooks(false, Vec::new());
    assert_eq!(strict.refusal(ip("127.0.0.1")), Some("loopback"));
    assert_eq!(strict.refusal(ip("::1")), Some("loopback"));
    let dev = AddressPolicy::for_webhooks(true, Vec::new());
    for addr in ["127.0.0.1", "127.9.9.9", "::1", "::ffff:127.0.0.1"] {
        assert_eq!(dev.refusal(ip(addr)), None, "{addr}");
    }
    // NAT64 and 6to4 forms of loopback are not loopback sockets: a relay would forward them.
    assert_eq!(dev.refusal(ip("64:ff9b::7f00:1")), Some("loopback"));
    assert_eq!(dev.refusal(ip("2002:7f00:1::1")), Some("loopback"));
    assert_eq!(dev.refusal(ip("10.0.0.1")), Some("private"));
}

#[test]
fn a_host_is_refused_when_any_of_its_addresses_is() {
    let policy = AddressPolicy::for_webhooks(false, vec!["10.1.0.0/16".parse().unwrap()]);
    assert_eq!(policy.first_refused([ip("8.8.8.8"), ip("10.1.2.3")]), None);
    assert_eq!(policy.first_refused([ip("8.8.8.8"), ip("192.168.0.1")]), Some((ip("192.168.0.1"), "private")));
    assert_eq!(policy.first_refused([]), None);
}
