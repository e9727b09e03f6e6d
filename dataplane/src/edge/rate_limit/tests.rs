use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;
use std::time::Duration;

use chatedge_config::rate_limits::{Limit, RateLimitsConfig, TenantLimits};
use chatedge_config::{InstanceConfig, Snapshot, Tenant, TenantId, TokenHash};
use governor::clock::FakeRelativeClock;
use hyper::{HeaderMap, Method};

use super::*;

fn limits(instance: Option<Limit>, account: Option<Limit>, ip: Option<Limit>, max: usize) -> RateLimitsConfig {
    RateLimitsConfig { instance, account, ip, max_tracked_addresses: max, zapini: None }
}

fn snapshot(version: u64, tenant: TenantId, tenant_limits: Option<TenantLimits>) -> Snapshot {
    let mut s = Snapshot::default();
    s.version = version;
    let t = Tenant { limits: tenant_limits, ..Tenant::new(tenant, "t".into()) };
    s.tenants.insert(tenant, Arc::new(t));
    s
}

fn instance_of(tenant: TenantId) -> Caller {
    let i = InstanceConfig::new_trial(tenant, TokenHash::of(b"tok"), "i".into(), 0, 1);
    Caller::Instance { id: i.id, tenant }
}

#[test]
fn an_instance_gets_its_burst_then_429_until_the_bucket_refills() {
    let clock = FakeRelativeClock::default();
    let metrics = Metrics::new();
    let rl = RateLimits::with_clock(limits(Limit::new(2, 3), None, None, 10), &metrics, clock.clone());
    let tenant = TenantId::generate();
    let snap = snapshot(1, tenant, None);
    let caller = instance_of(tenant);
    for _ in 0..3 {
        rl.check(&snap, caller).expect("within the burst");
    }
    let refused = rl.check(&snap, caller).expect_err("the burst is spent");
    assert_eq!(refused.policy(), "instance");
    assert_eq!(refused.retry_after(), 1, "one request comes back every 0.5 s: retry after 1 s");
    clock.advance(Duration::from_millis(500));
    rl.check(&snap, caller).expect("half a second gives one request back");
    let other = instance_of(tenant);
    rl.check(&snap, other).expect("another instance has its own bucket");
    assert_eq!(metrics.refusals.with_label_values(&["rate_limited_instance"]).get(), 1);
}

#[test]
fn the_refusal_carries_retry_after_and_the_draft_headers() {
    let rl =
        RateLimits::with_clock(limits(Limit::new(1, 1), None, None, 10), &Metrics::new(), FakeRelativeClock::default());
    let tenant = TenantId::generate();
    let snap = snapshot(1, tenant, None);
    let caller = instance_of(tenant);
    let allowed = rl.check(&snap, caller).unwrap();
    let mut h = HeaderMap::new();
    allowed.annotate(&mut h);
    assert_eq!(h.get("ratelimit").unwrap(), "\"instance\";r=0;t=1");
    let res = rl.check(&snap, caller).unwrap_err().into_response();
    assert_eq!(res.status(), hyper::StatusCode::TOO_MANY_REQUESTS);
    let h = res.headers();
    assert_eq!(h.get("retry-after").unwrap(), "1");
    assert_eq!(h.get("ratelimit-policy").unwrap(), "\"instance\";q=1;w=1");
    assert_eq!(h.get("ratelimit").unwrap(), "\"instance\";r=0;t=1");
}

#[test]
fn a_pushed_account_limit_applies_from_the_next_snapshot_without_losing_other_buckets() {
    let clock = FakeRelativeClock::default();
    let rl = RateLimits::with_clock(limits(Limit::new(100, 100), None, None, 10), &Metrics::new(), clock);
    let (limited, other) = (TenantId::generate(), TenantId::generate());
    let mut snap = snapshot(1, limited, None);
    snap.tenants.insert(other, Arc::new(Tenant::new(other, "o".into())));
    let (a, b) = (instance_of(limited), instance_of(other));
    for _ in 0..10 {
        rl.check(&snap, a).unwrap();
        rl.check(&snap, b).unwrap();
    }
    let pushed = TenantLimits { account_rps: Some(1), account_burst: Some(2), ..TenantLimits::default() };
    let mut next = snapshot(2, limited, Some(pushed));
    next.tenants.insert(other, snap.tenants[&other].clone());
    rl.check(&next, a).unwrap();
    rl.check(&next, a).unwrap();
    let refused = rl.check(&next, a).unwrap_err();
    assert_eq!(refused.policy(), "account");
    let allowed = rl.check(&next, b).unwrap();
    let used: Vec<_> = allowed.used().map(|u| (u.policy, u.remaining)).collect();
    assert_eq!(used, vec![("instance", 89)], "the unchanged bucket kept its state (11 of 100 taken)");
}

#[test]
fn anonymous_callers_are_limited_by_address_and_a_flood_of_addresses_stays_bounded() {
    let clock = FakeRelativeClock::default();
    let metrics = Metrics::new();
    let rl = RateLimits::with_clock(limits(None, None, Limit::new(1, 1), 4), &metrics, clock.clone());
    let snap = Snapshot::default();
    let ip = |n: u8| Caller::Anonymous(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)));
    rl.check(&snap, ip(0)).unwrap();
    assert_eq!(rl.check(&snap, ip(0)).unwrap_err().policy(), "ip", "one request per second per address");
    for n in 1..4 {
        rl.check(&snap, ip(n)).unwrap();
    }
    let full = rl.check(&snap, ip(9)).unwrap_err();
    assert_eq!(full.policy(), "ip");
    assert_eq!(metrics.refusals.with_label_values(&["rate_limited_ip_table_full"]).get(), 1);
    clock.advance(Duration::from_secs(2));
    rl.check(&snap, ip(9)).expect("addresses whose bucket refilled are forgotten to make room");
    assert!(rl.ip.as_ref().unwrap().keyed.len() <= 4);
}

#[test]
fn ipv6_clients_share_a_bucket_per_slash_64() {
    let a: Ipv6Addr = "2001:db8:1:2::1".parse().unwrap();
    let b: Ipv6Addr = "2001:db8:1:2:ffff::9".parse().unwrap();
    let c: Ipv6Addr = "2001:db8:1:3::1".parse().unwrap();
    assert_eq!(ip_key(IpAddr::V6(a)), ip_key(IpAddr::V6(b)));
    assert_ne!(ip_key(IpAddr::V6(a)), ip_key(IpAddr::V6(c)));
    let mapped: Ipv6Addr = "::ffff:10.0.0.1".parse().unwrap();
    assert_eq!(ip_key(IpAddr::V6(mapped)), ip_key(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1))));
}

#[test]
fn operator_routes_are_exempt_and_integrator_routes_and_wrong_tokens_count_against_the_address() {
    let snap = Snapshot::default();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    for path in ["/metrics", "/healthz", "/sim/pair", "/media/x", "/network/cloud-api/x/webhook"] {
        assert_eq!(caller(&snap, &Method::GET, path, &HeaderMap::new(), peer).0, Caller::Exempt, "{path}");
    }
    for (method, path) in [
        (Method::POST, "/instances/integrator/on-demand"),
        (Method::GET, "/instances"),
        (Method::PUT, "/instances"),
        (Method::DELETE, "/instances/3C5E0D2A6F1B4E8C9A7D2B1F0E3C5A7D"),
    ] {
        let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
        assert!(crate::edge::router::to_control_plane(&method, &segments), "{method} {path}");
        // The data plane cannot check integrator tokens (the control plane does), so a flood
        // of forwarded calls is held back per address before it reaches the control plane.
        assert_eq!(caller(&snap, &method, path, &HeaderMap::new(), peer).0, Caller::Anonymous(peer), "{method} {path}");
    }
    let wrong = "/instances/3C5E0D2A6F1B4E8C9A7D2B1F0E3C5A7D/token/nope/send-text";
    assert_eq!(caller(&snap, &Method::POST, wrong, &HeaderMap::new(), peer).0, Caller::Anonymous(peer));
    assert_eq!(caller(&snap, &Method::GET, "/openapi.json", &HeaderMap::new(), peer).0, Caller::Anonymous(peer));
}

#[test]
fn a_campaign_call_counts_against_the_instance_whose_api_key_it_presents() {
    let tenant = TenantId::generate();
    let i = InstanceConfig::new_trial(tenant, TokenHash::of(b"campaign-key"), "i".into(), 0, 1);
    let update =
        chatedge_config::ConfigUpdate { reset: true, version: 1, instances: vec![i.clone()], ..Default::default() };
    let snap = Snapshot::default().apply(&update, Default::default()).unwrap();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let with = |key: &str| {
        let mut h = HeaderMap::new();
        h.insert(hyper::header::AUTHORIZATION, key.parse().unwrap());
        h
    };
    for key in ["campaign-key", "Bearer campaign-key"] {
        let (who, found) = caller(&snap, &Method::POST, "/v1/create/campaign", &with(key), peer);
        assert_eq!(who, Caller::Instance { id: i.id, tenant }, "{key}");
        assert_eq!(found.map(|f| f.id), Some(i.id));
    }
    let (who, found) = caller(&snap, &Method::POST, "/v1/create/campaign", &with("wrong-key"), peer);
    assert_eq!((who, found.is_none()), (Caller::Anonymous(peer), true), "a wrong key counts against the address");
    let (who, _) = caller(&snap, &Method::GET, "/v1/retrieve/audiences", &HeaderMap::new(), peer);
    assert_eq!(who, Caller::Anonymous(peer));
}
