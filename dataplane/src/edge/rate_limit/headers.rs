//! What a limit check says on the wire, in the syntax of draft-ietf-httpapi-ratelimit-headers-10
//! (§3, §4): `RateLimit-Policy: "instance";q=2000;w=2` names each bucket with its quota `q`
//! (the burst) over a window `w` (seconds to refill the whole burst), and
//! `RateLimit: "instance";r=1999;t=1` gives what remains `r` and the seconds `t` until the
//! bucket is full again (on a refusal: until one more request is allowed). Successful answers
//! carry `RateLimit`; a 429 carries both, plus `Retry-After` and Z-API's error shape.

use std::fmt::Write;
use std::time::Duration;

use chatedge_config::rate_limits::{Limit, WindowLimit};
use chatedge_serve::Resp;
use hyper::header::{HeaderName, HeaderValue, RETRY_AFTER};
use hyper::{HeaderMap, StatusCode};
use serde_json::json;

const RATELIMIT: HeaderName = HeaderName::from_static("ratelimit");
const RATELIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// One bucket a request took from.
#[derive(Debug, Clone, Copy)]
pub struct Used {
    pub policy: &'static str,
    pub limit: Limit,
    pub remaining: u32,
}

/// The buckets an allowed request took from (at most two: instance and account).
#[derive(Debug, Default)]
pub struct Allowed {
    used: [Option<Used>; 2],
}

impl Allowed {
    pub fn none() -> Self {
        Allowed::default()
    }

    pub(super) fn push(&mut self, u: Used) {
        if let Some(slot) = self.used.iter_mut().find(|s| s.is_none()) {
            *slot = Some(u);
        }
    }

    pub fn used(&self) -> impl Iterator<Item = &Used> {
        self.used.iter().flatten()
    }

    /// Adds `RateLimit` (nothing when no bucket was used).
    pub fn annotate(&self, headers: &mut HeaderMap) {
        let mut value = String::new();
        for u in self.used() {
            let refill = refill_seconds(u.limit, u.limit.burst.get().saturating_sub(u.remaining));
            item(&mut value, u.policy, format_args!("r={};t={refill}", u.remaining));
        }
        if value.is_empty() {
            return;
        }
        if let Ok(v) = HeaderValue::from_str(&value) {
            headers.insert(RATELIMIT, v);
        }
    }
}

/// What a refused request's bucket allows: requests per second with bursts, or a number of
/// requests per window (a dialect's documented limit).
#[derive(Debug, Clone, Copy)]
pub enum Quota {
    Rate(Limit),
    Window(WindowLimit),
}

impl Quota {
    /// The bucket's size (`q` of `RateLimit-Policy`).
    pub fn size(&self) -> u32 {
        match self {
            Quota::Rate(l) => l.burst.get(),
            Quota::Window(w) => w.requests.get(),
        }
    }

    /// Seconds to refill the whole bucket (`w` of `RateLimit-Policy`).
    pub fn window_s(&self) -> u64 {
        match self {
            Quota::Rate(l) => refill_seconds(*l, l.burst.get()),
            Quota::Window(w) => u64::from(w.window_s.get()),
        }
    }

    /// The limit in words.
    pub fn describe(&self) -> String {
        match self {
            Quota::Rate(Limit { rps, burst }) => format!("{rps} requests per second (bursts of {burst})"),
            Quota::Window(w) => format!("{} requests per {} s", w.requests, w.window_s),
        }
    }
}

/// A request refused by a limit.
#[derive(Debug)]
pub struct Refused {
    policy: &'static str,
    quota: Quota,
    /// Whole seconds until a request is allowed again (at least 1).
    retry_after: u64,
    table_full: bool,
}

impl Refused {
    pub(super) fn limited(policy: &'static str, quota: Quota, wait: Duration) -> Self {
        Refused { policy, quota, retry_after: ceil_seconds(wait).max(1), table_full: false }
    }

    /// Too many distinct client addresses are being tracked to take a new one.
    pub(super) fn table_full(limit: Limit) -> Self {
        Refused { policy: "ip", quota: Quota::Rate(limit), retry_after: 1, table_full: true }
    }

    pub fn policy(&self) -> &'static str {
        self.policy
    }

    pub fn retry_after(&self) -> u64 {
        self.retry_after
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    /// Why, in words.
    pub fn message(&self) -> String {
        let who = match self.policy {
            "instance" => "this instance",
            "account" => "this account",
            "zapini" => "this account, through the Zapini API,",
            _ => "this client address",
        };
        match self.table_full {
            true => "too many clients are calling without credentials right now; retry shortly".to_owned(),
            false => format!("{who} may make {}; retry in {} s", self.quota.describe(), self.retry_after),
        }
    }

    /// 429 in Z-API's shape with `Retry-After`, `RateLimit-Policy` and `RateLimit`.
    pub fn into_response(self) -> Resp {
        let body = json!({"error": "Too many requests", "message": self.message()});
        let mut res = chatedge_serve::json(StatusCode::TOO_MANY_REQUESTS, &body);
        self.annotate(res.headers_mut());
        res
    }

    /// Adds `Retry-After`, `RateLimit-Policy` and `RateLimit` to a dialect's own 429.
    pub fn annotate(&self, h: &mut HeaderMap) {
        h.insert(RETRY_AFTER, HeaderValue::from(self.retry_after));
        let mut policy = String::new();
        item(&mut policy, self.policy, format_args!("q={};w={}", self.quota.size(), self.quota.window_s()));
        let mut state = String::new();
        item(&mut state, self.policy, format_args!("r=0;t={}", self.retry_after));
        for (name, value) in [(RATELIMIT_POLICY, policy), (RATELIMIT, state)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                h.insert(name, v);
            }
        }
    }
}

/// Appends `"name";params` as one member of a Structured Fields list.
fn item(out: &mut String, name: &str, params: std::fmt::Arguments<'_>) {
    if !out.is_empty() {
        out.push_str(", ");
    }
    let _ = write!(out, "\"{name}\";{params}");
}

/// Seconds (rounded up) for `limit` to give back `cells`.
fn refill_seconds(limit: Limit, cells: u32) -> u64 {
    u64::from(cells).div_ceil(u64::from(limit.rps.get()))
}

fn ceil_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}
