//! Rate limits as configured (`[rate_limits]` in the TOML file) and as pushed per account
//! (a tenant's [`TenantLimits`] in the snapshot, issue 11 §3). A limit is a token bucket:
//! `rps` requests per second sustained, `burst` at once. A limit of 0 rps is off. This module
//! only describes and validates limits; the data plane's `edge::rate_limit` enforces them.

use std::num::NonZeroU32;

use serde::{Deserialize, Serialize};

/// One token bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    pub rps: NonZeroU32,
    pub burst: NonZeroU32,
}

impl Limit {
    /// The bucket for `rps` and `burst`; `None` (no limit) when `rps` is 0. A burst of 0 with a
    /// positive rate is a mistake the callers report; here it becomes a burst of `rps`.
    pub fn new(rps: u32, burst: u32) -> Option<Limit> {
        let rps = NonZeroU32::new(rps)?;
        Some(Limit { rps, burst: NonZeroU32::new(burst).unwrap_or(rps) })
    }
}

/// A number of requests per window: a dialect's documented limit (Zapini, seed 002: 100
/// requests per 15 minutes), enforced as a token bucket of `requests` refilled over `window_s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct WindowLimit {
    pub requests: NonZeroU32,
    pub window_s: NonZeroU32,
}

/// `[rate_limits]`, validated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitsConfig {
    /// Per instance token (every authenticated Z-API route).
    pub instance: Option<Limit>,
    /// Per account (the tenant the instance belongs to), summed over its instances.
    pub account: Option<Limit>,
    /// Per client address, for requests that present no valid instance credentials.
    pub ip: Option<Limit>,
    /// Most client addresses tracked at once (see `edge::rate_limit` for what happens past it).
    pub max_tracked_addresses: usize,
    /// Per account, over its Zapini calls (issue 15): the seed's 100 requests per 15 minutes.
    pub zapini: Option<WindowLimit>,
}

/// `[rate_limits]` as written. Each pair is `*_rps` (0 = off) and `*_burst`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawRateLimits {
    pub instance_rps: u32,
    pub instance_burst: u32,
    pub account_rps: u32,
    pub account_burst: u32,
    pub ip_rps: u32,
    pub ip_burst: u32,
    pub max_tracked_addresses: usize,
    /// Requests an account may make through the Zapini dialect per `zapini_window_s` (0 = off).
    pub zapini_requests: u32,
    pub zapini_window_s: u32,
}

impl Default for RawRateLimits {
    fn default() -> Self {
        // An instance leaves at most a few messages a second to the network (pacing), so 1,000/s
        // with bursts of 2,000 only stops a runaway client (a full-speed load test raises it);
        // accounts are unlimited unless the control plane pushes a limit; anonymous callers
        // (bad tokens, unknown routes) get 50/s each, enough for a person, not for guessing.
        RawRateLimits {
            instance_rps: 1_000,
            instance_burst: 2_000,
            account_rps: 0,
            account_burst: 0,
            ip_rps: 50,
            ip_burst: 100,
            max_tracked_addresses: 100_000,
            // Zapini documents "100 requests / 15 min" per account (seed 002).
            zapini_requests: 100,
            zapini_window_s: 900,
        }
    }
}

impl RawRateLimits {
    /// The validated limits, or every problem, each naming its key.
    pub fn validate(&self) -> Result<RateLimitsConfig, Vec<String>> {
        let mut problems = Vec::new();
        let mut pair = |name: &str, rps: u32, burst: u32| {
            if rps > 0 && burst == 0 {
                problems.push(format!("rate_limits.{name}_burst: must be at least 1 when {name}_rps is set"));
            }
            Limit::new(rps, burst)
        };
        let config = RateLimitsConfig {
            instance: pair("instance", self.instance_rps, self.instance_burst),
            account: pair("account", self.account_rps, self.account_burst),
            ip: pair("ip", self.ip_rps, self.ip_burst),
            max_tracked_addresses: self.max_tracked_addresses,
            zapini: NonZeroU32::new(self.zapini_requests).and_then(|requests| {
                let window_s = NonZeroU32::new(self.zapini_window_s);
                if window_s.is_none() {
                    problems.push("rate_limits.zapini_window_s: must be at least 1 when zapini_requests is set".into());
                }
                window_s.map(|window_s| WindowLimit { requests, window_s })
            }),
        };
        if self.max_tracked_addresses == 0 {
            problems.push("rate_limits.max_tracked_addresses: must be greater than 0".into());
        }
        match problems.is_empty() {
            true => Ok(config),
            false => Err(problems),
        }
    }
}

/// An account's own limits, pushed by the control plane (`PUT /admin/tenants/{id}/limits`).
/// An absent field keeps the data plane's `[rate_limits]` default; a rate of 0 turns that
/// limit off for the account.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantLimits {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_rps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_burst: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_rps: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_burst: Option<u32>,
    /// Messages each instance of the account may queue per UTC day (none: no quota).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub daily_quota: Option<u64>,
}

impl TenantLimits {
    /// The instance limit for this account, given the node's default.
    pub fn instance(&self, default: Option<Limit>) -> Option<Limit> {
        merge(default, self.instance_rps, self.instance_burst)
    }

    /// The account limit for this account, given the node's default.
    pub fn account(&self, default: Option<Limit>) -> Option<Limit> {
        merge(default, self.account_rps, self.account_burst)
    }

    /// Every problem, each naming its field.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (name, rps, burst) in
            [("instance", self.instance_rps, self.instance_burst), ("account", self.account_rps, self.account_burst)]
        {
            if burst == Some(0) && rps.is_some_and(|r| r > 0) {
                out.push(format!("limits.{name}Burst: must be at least 1 when {name}Rps is set"));
            }
            if burst.is_some() && rps.is_none() {
                out.push(format!("limits.{name}Burst: needs {name}Rps"));
            }
        }
        out
    }
}

fn merge(default: Option<Limit>, rps: Option<u32>, burst: Option<u32>) -> Option<Limit> {
    match rps {
        None => default,
        Some(rps) => Limit::new(rps, burst.unwrap_or(rps)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_rps_turns_a_limit_off_and_a_missing_burst_is_named() {
        let raw = RawRateLimits { account_rps: 0, ip_rps: 5, ip_burst: 0, ..RawRateLimits::default() };
        let problems = raw.validate().unwrap_err();
        assert_eq!(problems, vec!["rate_limits.ip_burst: must be at least 1 when ip_rps is set".to_owned()]);
        let ok = RawRateLimits::default().validate().unwrap();
        assert_eq!(ok.account, None);
        assert_eq!(ok.instance, Limit::new(1_000, 2_000));
    }

    #[test]
    fn zapini_defaults_to_the_seeds_100_requests_per_15_minutes_and_can_be_changed_or_turned_off() {
        let ok = RawRateLimits::default().validate().unwrap();
        let seed = WindowLimit { requests: NonZeroU32::new(100).unwrap(), window_s: NonZeroU32::new(900).unwrap() };
        assert_eq!(ok.zapini, Some(seed));
        let off = RawRateLimits { zapini_requests: 0, ..RawRateLimits::default() }.validate().unwrap();
        assert_eq!(off.zapini, None);
        let bad = RawRateLimits { zapini_requests: 5, zapini_window_s: 0, ..RawRateLimits::default() };
        assert_eq!(
            bad.validate().unwrap_err(),
            vec!["rate_limits.zapini_window_s: must be at least 1 when zapini_requests is set".to_owned()]
        );
    }

    #[test]
    fn an_account_override_replaces_only_what_it_sets() {
        let default = Limit::new(100, 200);
        let only_account = TenantLimits { account_rps: Some(7), ..TenantLimits::default() };
        assert_eq!(only_account.instance(default), default);
        assert_eq!(only_account.account(None), Limit::new(7, 7));
        let off = TenantLimits { instance_rps: Some(0), ..TenantLimits::default() };
        assert_eq!(off.instance(default), None);
        let bad = TenantLimits { account_burst: Some(3), ..TenantLimits::default() };
        assert_eq!(bad.problems(), vec!["limits.accountBurst: needs accountRps".to_owned()]);
    }
}
