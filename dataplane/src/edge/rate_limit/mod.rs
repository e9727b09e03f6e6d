//! rate_limit: keyed token buckets (governor's GCRA) in front of the router (issue 11 §3).
//! Keys: the instance (every request that presents valid instance credentials: a Z-API path's
//! id and token, or a Chat Inc `/v1/…` call's API key), the account
//! (the tenant the instance belongs to, summed over its instances; a Zami `/zami/v1/…` call's
//! account secret is counted under its account alone) and the client address for
//! requests that present none (a wrong token, an unknown route, `/openapi.json`, and the
//! integrator routes forwarded to the control plane, whose tokens only the control plane can
//! check). Operator and machine routes are not limited here: `/metrics`, `/healthz`, `/sim/…`,
//! signed `/media/…` links and the Cloud API webhook. Limits come from `[rate_limits]` and, per account, from the pushed snapshot
//! (`Tenant::limits`); a new snapshot version rebuilds the table of buckets on the next
//! request, keeping the state of every bucket whose limit did not change (a changed limit
//! starts its keys afresh). It never blocks: governor's state is a sharded map of atomics.
//! Runs on whichever edge worker thread serves the request.
//!
//! Bounds: instance and account keys are bounded by the snapshot (only authenticated callers
//! reach them). Client addresses are bounded by `max_tracked_addresses`: every 10 s, and
//! whenever the map reaches the cap, keys whose bucket is full again are forgotten
//! (`retain_recent`); if the map is still at the cap (a flood of distinct addresses all
//! within their window), anonymous requests are refused (`rate_limited_ip_table_full`) until
//! it drains, while authenticated traffic is served as before. IPv6 addresses are keyed by
//! their /64, the unit one subscriber usually holds.

mod headers;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use chatedge_config::rate_limits::{Limit, RateLimitsConfig, WindowLimit};
use chatedge_config::{InstanceConfig, InstanceId, Snapshot, TenantId};
use chatedge_serve::Body;
use chatedge_serve::Resp;
use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DashMapStateStore;
use governor::RateLimiter;
use hyper::{Method, Request};
use prometheus::{IntCounter, IntGauge};

pub use headers::{Allowed, Quota, Refused};

use crate::api::App;
use crate::metrics::Metrics;

/// How often forgotten keys are swept out of the maps.
const SWEEP_EVERY_NS: u64 = 10_000_000_000;

type Keyed<K, C> = RateLimiter<K, DashMapStateStore<K>, C, StateInformationMiddleware>;

/// Who is asking, as far as limits are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Caller {
    Instance {
        id: InstanceId,
        tenant: TenantId,
    },
    /// An account's own credential that names no instance (the Zami dialect's secret).
    Account(TenantId),
    /// A Zapini call (an `sk_…` key or the account's token): its account's bucket, then
    /// Zapini's own per-account window (`[rate_limits] zapini_requests` per
    /// `zapini_window_s`, the seed's 100 per 15 minutes by default).
    Zapini(TenantId),
    Anonymous(IpAddr),
    Exempt,
}

/// Checks `req` against the limits, then routes it; answers 429 without routing when a limit
/// is reached. Successful answers carry the `RateLimit` header of the buckets they used.
pub async fn route(app: &App, mut req: Request<Body>, peer: SocketAddr) -> (&'static str, &'static str, Resp) {
    let verdict = {
        let snapshot = app.config.load();
        // A request another node forwarded is counted under its client's address, as that
        // node established it (`proxy::admit`), not under the forwarding node's.
        let ip = match req.extensions().get::<super::proxy::Hop>() {
            Some(_) => req.extensions().get::<crate::auth::Origin>().map_or(peer.ip(), |o| o.peer.ip()),
            None => peer.ip(),
        };
        let (caller, found) = caller(&snapshot, req.method(), req.uri().path(), req.headers(), ip);
        if let Some(instance) = found {
            // The dialect reuses this check instead of hashing the token again.
            req.extensions_mut().insert(crate::auth::Authenticated { version: snapshot.version, instance });
        }
        (caller, app.rate_limits.check(&snapshot, caller))
    };
    match verdict {
        (_, Ok(allowed)) => {
            let (label, dialect, mut res) = super::router::route(app, req).await;
            allowed.annotate(res.headers_mut());
            (label, dialect, res)
        }
        // Each dialect refuses in its own shape.
        (Caller::Zapini(_), Err(refused)) => {
            let quota = refused.quota();
            let mut res = crate::api::zapini::ZapiniError::RateLimited {
                message: refused.message(),
                retry_after: refused.retry_after(),
                limit: quota.size(),
                window_s: quota.window_s(),
            }
            .into_response();
            refused.annotate(res.headers_mut());
            ("rate_limited", "zapini", res)
        }
        (_, Err(refused)) => ("rate_limited", "zapi", refused.into_response()),
    }
}

/// Which key a request is counted under (see the module doc for the exempt routes), and the
/// instance whose credentials it presented, if valid. Reads the path without allocating; the
/// integrator routes are `router::to_control_plane`'s.
pub fn caller(
    snapshot: &Snapshot,
    method: &Method,
    path: &str,
    headers: &hyper::HeaderMap,
    peer: IpAddr,
) -> (Caller, Option<Arc<InstanceConfig>>) {
    let mut segments = path.trim_matches('/').splitn(5, '/');
    match segments.next().unwrap_or("") {
        "metrics" | "healthz" | "sim" | "media" | "network" => return (Caller::Exempt, None),
        "instances" => {}
        "zami" => {
            return match crate::api::zami::account_for(snapshot, headers) {
                Some(t) => (Caller::Account(t.id), None),
                None => (Caller::Anonymous(peer), None),
            }
        }
        "zapini" => {
            return match crate::api::zapini::account_of(snapshot, headers) {
                Some(t) => (Caller::Zapini(t), None),
                None => (Caller::Anonymous(peer), None),
            }
        }
        "v1" => {
            return match crate::api::chatinc::instance_for_key(snapshot, headers) {
                Some(i) => (Caller::Instance { id: i.id, tenant: i.tenant }, Some(i)),
                None => (Caller::Anonymous(peer), None),
            }
        }
        _ => return (Caller::Anonymous(peer), None),
    }
    match (segments.next(), segments.next(), segments.next(), segments.next()) {
        // Integrator routes (forwarded to the control plane, which checks their token).
        (None, ..) | (Some("integrator"), ..) => (Caller::Anonymous(peer), None),
        (Some(_), None, ..) if method == Method::DELETE => (Caller::Anonymous(peer), None),
        (Some(id), Some("token"), Some(token), _) => match crate::auth::instance(snapshot, id, token) {
            Some(i) => (Caller::Instance { id: i.id, tenant: i.tenant }, Some(i)),
            None => (Caller::Anonymous(peer), None),
        },
        _ => (Caller::Anonymous(peer), None),
    }
}

/// One limit and the keyed buckets enforcing it.
struct Bucket<K: std::hash::Hash + Eq + Clone, C: Clock> {
    limit: Limit,
    keyed: Arc<Keyed<K, C>>,
}

impl<K: std::hash::Hash + Eq + Clone, C: Clock> Clone for Bucket<K, C> {
    fn clone(&self) -> Self {
        Bucket { limit: self.limit, keyed: self.keyed.clone() }
    }
}

/// The buckets for one snapshot version.
struct Tables<C: Clock> {
    version: u64,
    instance: Option<Bucket<InstanceId, C>>,
    account: Option<Bucket<TenantId, C>>,
    /// Accounts with limits of their own.
    tenants: HashMap<TenantId, AccountBuckets<C>>,
}

/// An account's own (instance bucket, account bucket); `None` where that limit is off.
type AccountBuckets<C> = (Option<Bucket<InstanceId, C>>, Option<Bucket<TenantId, C>>);

/// The data plane's rate limiter. Shared by every edge thread.
pub struct RateLimits<C: Clock = DefaultClock> {
    defaults: RateLimitsConfig,
    clock: C,
    tables: ArcSwap<Tables<C>>,
    /// One rebuild at a time; held only while a new table is built (no I/O, never across an
    /// `.await`), so concurrent requests of a new version do not each build one.
    rebuilding: Mutex<()>,
    ip: Option<Bucket<IpKey, C>>,
    /// Zapini's per-account window (issue 15), from `[rate_limits]` alone.
    zapini: Option<(WindowLimit, Arc<Keyed<TenantId, C>>)>,
    /// When this limiter was made, by `clock`.
    started: C::Instant,
    /// Nanoseconds after `started` of the last sweep.
    swept_at: AtomicU64,
    counters: Counters,
}

/// Handles resolved once (`shard::Counters` explains why).
struct Counters {
    instance: IntCounter,
    account: IntCounter,
    ip: IntCounter,
    ip_table_full: IntCounter,
    zapini: IntCounter,
    tracked_addresses: IntGauge,
    tracked_instances: IntGauge,
    tracked_accounts: IntGauge,
}

impl Counters {
    fn new(m: &Metrics) -> Self {
        let refused = |r: &str| m.refusals.with_label_values(&[r]);
        let tracked = |s: &str| m.rate_limit_keys.with_label_values(&[s]);
        Counters {
            instance: refused("rate_limited_instance"),
            account: refused("rate_limited_account"),
            ip: refused("rate_limited_ip"),
            ip_table_full: refused("rate_limited_ip_table_full"),
            zapini: refused("rate_limited_zapini"),
            tracked_addresses: tracked("ip"),
            tracked_instances: tracked("instance"),
            tracked_accounts: tracked("account"),
        }
    }
}

/// A client address as a key: IPv4 whole, IPv6 by its /64.
type IpKey = u128;

fn ip_key(ip: IpAddr) -> IpKey {
    match ip {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => u128::from(u32::from(v4)),
            None => u128::from(v6) & !((1u128 << 64) - 1),
        },
    }
}

fn bucket<K: std::hash::Hash + Eq + Clone, C: Clock + Clone>(limit: Limit, clock: &C) -> Bucket<K, C> {
    let quota = governor::Quota::per_second(limit.rps).allow_burst(limit.burst);
    let keyed = RateLimiter::dashmap_with_clock(quota, clock.clone()).with_middleware::<StateInformationMiddleware>();
    Bucket { limit, keyed: Arc::new(keyed) }
}

/// Keyed buckets of `w.requests` cells, each refilled over `w.window_s` (one cell every
/// window / requests).
fn window<K: std::hash::Hash + Eq + Clone, C: Clock + Clone>(w: WindowLimit, clock: &C) -> Keyed<K, C> {
    let period = std::time::Duration::from_secs(u64::from(w.window_s.get())) / w.requests.get();
    let quota = governor::Quota::with_period(period.max(std::time::Duration::from_nanos(1)))
        .unwrap_or_else(|| governor::Quota::per_second(w.requests))
        .allow_burst(w.requests);
    RateLimiter::dashmap_with_clock(quota, clock.clone()).with_middleware::<StateInformationMiddleware>()
}

impl RateLimits<DefaultClock> {
    pub fn new(defaults: RateLimitsConfig, metrics: &Metrics) -> Self {
        RateLimits::with_clock(defaults, metrics, DefaultClock::default())
    }
}

impl<C: Clock + Clone> RateLimits<C> {
    /// Limits measured by `clock` (tests pass governor's fake clock).
    pub fn with_clock(defaults: RateLimitsConfig, metrics: &Metrics, clock: C) -> Self {
        let tables = Tables {
            version: u64::MAX, // no snapshot seen yet: the first check builds the table
            instance: None,
            account: None,
            tenants: HashMap::new(),
        };
        RateLimits {
            ip: defaults.ip.map(|l| bucket(l, &clock)),
            zapini: defaults.zapini.map(|w| (w, Arc::new(window(w, &clock)))),
            defaults,
            tables: ArcSwap::from_pointee(tables),
            rebuilding: Mutex::new(()),
            started: clock.now(),
            swept_at: AtomicU64::new(0),
            counters: Counters::new(metrics),
            clock,
        }
    }

    /// Takes one request from `caller`'s buckets, or says why not.
    pub fn check(&self, snapshot: &Snapshot, caller: Caller) -> Result<Allowed, Refused> {
        self.sweep_if_due(false);
        match caller {
            Caller::Exempt => Ok(Allowed::none()),
            Caller::Anonymous(ip) => self.check_ip(ip),
            Caller::Instance { id, tenant } => {
                let tables = self.tables_for(snapshot);
                let (instance, account) = match tables.tenants.get(&tenant) {
                    Some((i, a)) => (i.as_ref(), a.as_ref()),
                    None => (tables.instance.as_ref(), tables.account.as_ref()),
                };
                let mut allowed = Allowed::none();
                if let Some(b) = instance {
                    allowed.push(self.take(b, &id, "instance", &self.counters.instance)?);
                }
                if let Some(b) = account {
                    allowed.push(self.take(b, &tenant, "account", &self.counters.account)?);
                }
                Ok(allowed)
            }
            Caller::Account(tenant) => self.check_account(snapshot, tenant),
            Caller::Zapini(tenant) => {
                let allowed = self.check_account(snapshot, tenant)?;
                if let Some((w, keyed)) = &self.zapini {
                    if let Err(not_until) = keyed.check_key(&tenant) {
                        self.counters.zapini.inc();
                        let wait = not_until.wait_time_from(self.clock.now());
                        return Err(Refused::limited("zapini", Quota::Window(*w), wait));
                    }
                }
                Ok(allowed)
            }
        }
    }

    /// One cell from the account's own bucket (if it has one).
    fn check_account(&self, snapshot: &Snapshot, tenant: TenantId) -> Result<Allowed, Refused> {
        let tables = self.tables_for(snapshot);
        let account = match tables.tenants.get(&tenant) {
            Some((_, a)) => a.as_ref(),
            None => tables.account.as_ref(),
        };
        let mut allowed = Allowed::none();
        if let Some(b) = account {
            allowed.push(self.take(b, &tenant, "account", &self.counters.account)?);
        }
        Ok(allowed)
    }

    fn check_ip(&self, ip: IpAddr) -> Result<Allowed, Refused> {
        let Some(b) = &self.ip else { return Ok(Allowed::none()) };
        if b.keyed.len() >= self.defaults.max_tracked_addresses {
            self.sweep_if_due(true);
            if b.keyed.len() >= self.defaults.max_tracked_addresses {
                self.counters.ip_table_full.inc();
                return Err(Refused::table_full(b.limit));
            }
        }
        let mut allowed = Allowed::none();
        allowed.push(self.take(b, &ip_key(ip), "ip", &self.counters.ip)?);
        Ok(allowed)
    }

    /// One cell from `key`'s bucket.
    fn take<K: std::hash::Hash + Eq + Clone>(
        &self,
        b: &Bucket<K, C>,
        key: &K,
        policy: &'static str,
        refusals: &IntCounter,
    ) -> Result<headers::Used, Refused> {
        match b.keyed.check_key(key) {
            Ok(state) => Ok(headers::Used { policy, limit: b.limit, remaining: state.remaining_burst_capacity() }),
            Err(not_until) => {
                refusals.inc();
                let wait = not_until.wait_time_from(self.clock.now());
                Err(Refused::limited(policy, Quota::Rate(b.limit), wait))
            }
        }
    }

    /// The table for `snapshot`'s version, rebuilt first if the version changed.
    fn tables_for(&self, snapshot: &Snapshot) -> Arc<Tables<C>> {
        let current = self.tables.load_full();
        if current.version == snapshot.version {
            return current;
        }
        let _one = self.rebuilding.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.tables.load_full();
        if current.version == snapshot.version {
            return current;
        }
        let next = Arc::new(self.build(snapshot, &current));
        self.tables.store(next.clone());
        next
    }

    /// Buckets for every limit `snapshot` uses, reusing `old`'s bucket for a limit that did
    /// not change (its keys keep their state).
    fn build(&self, snapshot: &Snapshot, old: &Tables<C>) -> Tables<C> {
        let mut instance_pool: HashMap<Limit, Bucket<InstanceId, C>> = HashMap::new();
        let mut account_pool: HashMap<Limit, Bucket<TenantId, C>> = HashMap::new();
        let olds = old.tenants.values().map(|(i, a)| (i.as_ref(), a.as_ref()));
        for (i, a) in std::iter::once((old.instance.as_ref(), old.account.as_ref())).chain(olds) {
            if let Some(b) = i {
                instance_pool.entry(b.limit).or_insert_with(|| b.clone());
            }
            if let Some(b) = a {
                account_pool.entry(b.limit).or_insert_with(|| b.clone());
            }
        }
        let clock = &self.clock;
        let mut instance_for =
            |l: Option<Limit>| l.map(|l| instance_pool.entry(l).or_insert_with(|| bucket(l, clock)).clone());
        let (d_instance, d_account) = (self.defaults.instance, self.defaults.account);
        let instance = instance_for(d_instance);
        let per_tenant_instance: Vec<_> = snapshot
            .tenants
            .values()
            .filter_map(|t| t.limits.map(|l| (t.id, instance_for(l.instance(d_instance)))))
            .collect();
        let mut account_for =
            |l: Option<Limit>| l.map(|l| account_pool.entry(l).or_insert_with(|| bucket(l, clock)).clone());
        let account = account_for(d_account);
        let mut tenants = HashMap::new();
        for (id, i) in per_tenant_instance {
            let a = snapshot.tenants.get(&id).and_then(|t| t.limits).and_then(|l| l.account(d_account));
            tenants.insert(id, (i, account_for(a)));
        }
        Tables { version: snapshot.version, instance, account, tenants }
    }

    /// Forgets keys whose bucket is full again, every [`SWEEP_EVERY_NS`] (or now, when
    /// `force`), and publishes how many keys each map holds.
    fn sweep_if_due(&self, force: bool) {
        let now = self.clock.now().duration_since(self.started).as_u64();
        let last = self.swept_at.load(Ordering::Relaxed);
        if !force && now.saturating_sub(last) < SWEEP_EVERY_NS {
            return;
        }
        if self.swept_at.compare_exchange(last, now, Ordering::AcqRel, Ordering::Relaxed).is_err() && !force {
            return; // another thread sweeps
        }
        if let Some(b) = &self.ip {
            b.keyed.retain_recent();
            self.counters.tracked_addresses.set(b.keyed.len() as i64);
        }
        let tables = self.tables.load();
        let (mut instances, mut accounts) = (0, 0);
        let olds = tables.tenants.values().map(|(i, a)| (i.as_ref(), a.as_ref()));
        let mut seen = std::collections::HashSet::new();
        for (i, a) in std::iter::once((tables.instance.as_ref(), tables.account.as_ref())).chain(olds) {
            if let Some(b) = i.filter(|b| seen.insert(Arc::as_ptr(&b.keyed) as usize)) {
                b.keyed.retain_recent();
                instances += b.keyed.len();
            }
            if let Some(b) = a.filter(|b| seen.insert(Arc::as_ptr(&b.keyed) as usize)) {
                b.keyed.retain_recent();
                accounts += b.keyed.len();
            }
        }
        self.counters.tracked_instances.set(instances as i64);
        self.counters.tracked_accounts.set(accounts as i64);
    }
}
