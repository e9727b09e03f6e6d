//! The operator's routes under `/admin/` (`Authorization: Bearer <admin token>`): accounts,
//! their integrator tokens, Client-Token and IP allowlist, instances created for an account
//! (`POST /admin/accounts/{id}/instances`: the on-demand body, `"network": "cloud-api"`
//! included, and its one-time answer), an account's own rate limits and daily quota (`PUT
//! /admin/accounts/{id}/limits`, also at `/admin/tenants/{id}/limits`; issue 11 §3: the body is
//! the whole override, `{}` returns the account to the data plane's `[rate_limits]`), the
//! account's own campaign opt-out words (`PUT /admin/accounts/{id}/opt-out-keywords`, issue 14;
//! `null` returns it to the data plane's `[campaigns] opt_out_keywords`), the account's own
//! pacing between two messages (`PUT /admin/accounts/{id}/pacing`; `{}` returns it to the data
//! plane's `[pacing]`), an instance's daily limit (`PUT /admin/instances/{id}/daily-limit`,
//! issue 10 §5), data planes' credentials (`/admin/dataplanes`, in `dataplanes.rs`), invoice
//! payment, and — only when started with `--test-clock` — the clock. Answers are JSON; secrets
//! appear only in the answer that creates them.

use std::sync::Arc;

use chatedge_config::rate_limits::TenantLimits;
use chatedge_config::snapshot::Pacing;
use chatedge_config::TenantId;
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::registry::Change;
use crate::{accounts, billing, clock, ControlPlane, CpError};

fn check_admin(cp: &ControlPlane, headers: &hyper::HeaderMap) -> Result<(), CpError> {
    let token = chatedge_serve::bearer(headers);
    let ok = cp.registry_read(|r| match (r.admin_hash, token) {
        (Some(h), Some(t)) => h.matches(t.as_bytes()),
        _ => false,
    });
    ok.then_some(())
        .ok_or_else(|| CpError::refused(401, "Unauthorized", "Authorization: Bearer <admin token> required"))
}

fn account_id(id: &str) -> Result<TenantId, CpError> {
    TenantId::parse(id).map_err(|_| accounts::not_found())
}

fn ok_json(status: StatusCode, v: &serde_json::Value) -> Result<Resp, CpError> {
    Ok(chatedge_serve::json(status, v))
}

/// Serves `/admin/{rest…}`; `None` when no admin route matches.
pub async fn handle(
    cp: &Arc<ControlPlane>,
    req: Request<Incoming>,
    rest: &[&str],
) -> Option<(&'static str, Result<Resp, CpError>)> {
    let method = req.method().clone();
    let known = matches!(
        (&method, rest),
        (&Method::POST | &Method::GET, ["accounts"])
            | (&Method::GET, ["accounts", _])
            | (&Method::POST, ["accounts", _, "disable" | "enable"])
            | (&Method::POST | &Method::GET, ["accounts", _, "integrator-tokens"])
            | (&Method::DELETE, ["accounts", _, "integrator-tokens", _])
            | (&Method::POST, ["accounts", _, "security-token"])
            | (&Method::POST, ["accounts", _, "security-token", "enable" | "disable"])
            | (&Method::PUT, ["accounts", _, "ip-allowlist"])
            | (&Method::POST, ["accounts", _, "instances"])
            | (&Method::GET, ["accounts", _, "invoices"])
            | (&Method::POST, ["invoices", _, "pay"])
            | (&Method::PUT, ["accounts" | "tenants", _, "limits"])
            | (&Method::PUT, ["accounts", _, "opt-out-keywords"])
            | (&Method::PUT, ["accounts", _, "pacing"])
            | (&Method::PUT, ["instances", _, "daily-limit"])
            | (&Method::POST | &Method::GET, ["dataplanes"])
            | (&Method::POST, ["dataplanes", _, "revoke"])
            | (&Method::DELETE, ["dataplanes", _])
    ) || (cp.clock.is_test() && matches!((&method, rest), (&Method::POST | &Method::GET, ["clock"])));
    if !known {
        return None;
    }
    let label = label(rest);
    if let Err(e) = check_admin(cp, req.headers()) {
        return Some((label, Err(e)));
    }
    Some((label, route(cp, req, &method, rest).await))
}

fn label(rest: &[&str]) -> &'static str {
    match rest {
        ["accounts"] | ["accounts", _] => "admin.accounts",
        ["accounts", _, "disable" | "enable"] => "admin.account-state",
        ["accounts", _, "integrator-tokens", ..] => "admin.integrator-tokens",
        ["accounts", _, "security-token", ..] => "admin.security-token",
        ["accounts", _, "ip-allowlist"] => "admin.ip-allowlist",
        ["accounts", _, "instances"] => "admin.instances",
        ["accounts", _, "invoices"] | ["invoices", ..] => "admin.invoices",
        [_, _, "limits"] => "admin.limits",
        [_, _, "opt-out-keywords"] => "admin.opt-out-keywords",
        ["accounts", _, "pacing"] => "admin.pacing",
        ["instances", _, "daily-limit"] => "admin.daily-limit",
        ["dataplanes", ..] => "admin.dataplanes",
        _ => "admin.clock",
    }
}

#[derive(Deserialize)]
struct NameBody {
    name: Option<String>,
}

#[derive(Deserialize, Default)]
struct TokenBody {
    #[serde(default)]
    definitive: bool,
}

#[derive(Deserialize)]
pub struct AllowlistBody {
    #[serde(default)]
    pub ips: Vec<String>,
    pub enabled: bool,
}

/// `{"keywords": ["SAIR", …]}`; `null` (or no field) returns the account to the node's words.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OptOutBody {
    #[serde(default)]
    keywords: Option<Vec<String>>,
}

/// `{"minDelayMs", "maxDelayMs"}`: the account's own pause between two messages of one
/// instance; `{}` returns the account to the data plane's `[pacing]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PacingBody {
    #[serde(default)]
    min_delay_ms: Option<u64>,
    #[serde(default)]
    max_delay_ms: Option<u64>,
}

/// The longest pause between two messages an account may be given: an hour.
const MAX_PACING_MS: u64 = 3_600_000;

impl PacingBody {
    /// The pacing it asks for (`None`: the data plane's), or what is wrong with it.
    fn parse(self) -> Result<Option<Pacing>, String> {
        match (self.min_delay_ms, self.max_delay_ms) {
            (None, None) => Ok(None),
            (Some(_), None) => Err("maxDelayMs: is required with minDelayMs".into()),
            (None, Some(_)) => Err("minDelayMs: is required with maxDelayMs".into()),
            (Some(min), Some(max)) if min > max => {
                Err(format!("minDelayMs ({min}) must not exceed maxDelayMs ({max})"))
            }
            (Some(_), Some(max)) if max > MAX_PACING_MS => {
                Err(format!("maxDelayMs: must be at most {MAX_PACING_MS} (an hour)"))
            }
            (Some(min), Some(max)) => Ok(Some(Pacing { min_delay_ms: min, max_delay_ms: max })),
        }
    }
}

#[derive(Deserialize)]
struct ClockBody {
    now: String,
}

async fn route(
    cp: &Arc<ControlPlane>,
    req: Request<Incoming>,
    method: &Method,
    rest: &[&str],
) -> Result<Resp, CpError> {
    if let ["dataplanes", tail @ ..] = rest {
        let unknown = || Err(CpError::refused(404, "Route not found", "no such /admin/dataplanes route"));
        return super::dataplanes::route(cp, req, tail).await.unwrap_or_else(unknown);
    }
    match (method, rest) {
        (&Method::PUT, ["accounts" | "tenants", id, "limits"]) => {
            let id = id.to_string();
            set_limits(cp, req, &id).await
        }
        (&Method::PUT, ["instances", id, "daily-limit"]) => {
            let id = id.to_string();
            super::daily_limit::set(cp, req, &id, None).await
        }
        (&Method::PUT, ["accounts", id, "opt-out-keywords"]) => {
            let id = id.to_string();
            set_opt_out_keywords(cp, req, &id).await
        }
        (&Method::PUT, ["accounts", id, "pacing"]) => {
            let id = id.to_string();
            set_pacing(cp, req, &id).await
        }
        (&Method::POST, ["accounts"]) => {
            let body: NameBody = super::json_body(req).await?;
            let issued = accounts::create(cp, body.name.unwrap_or_default()).await?;
            ok_json(
                StatusCode::CREATED,
                &json!({
                    "id": issued.account.tenant.id.to_string(),
                    "name": issued.account.tenant.name,
                    "integratorToken": issued.token.expose(),
                    "integratorTokenId": issued.token_id,
                    "definitive": false,
                }),
            )
        }
        (&Method::GET, ["accounts"]) => list_accounts(cp, &req),
        (&Method::GET, ["accounts", id]) => {
            let id = account_id(id)?;
            let v = cp.registry_read(|r| r.tenants.get(&id).map(|t| accounts::view(r, t)));
            ok_json(StatusCode::OK, &v.ok_or_else(accounts::not_found)?)
        }
        (&Method::POST, ["accounts", id, which @ ("disable" | "enable")]) => {
            accounts::set_disabled(cp, account_id(id)?, *which == "disable").await?;
            ok_json(StatusCode::OK, &json!({"value": true}))
        }
        (&Method::POST, ["accounts", id, "integrator-tokens"]) => {
            let id = account_id(id)?;
            let body: TokenBody = super::optional_json(req).await?.unwrap_or_default();
            let issued = accounts::issue_token(cp, id, body.definitive).await?;
            ok_json(
                StatusCode::CREATED,
                &json!({"id": issued.token_id, "token": issued.token.expose(), "definitive": body.definitive}),
            )
        }
        (&Method::GET, ["accounts", id, "integrator-tokens"]) => {
            let id = account_id(id)?;
            let v = cp.registry_read(|r| {
                r.tenants.get(&id).map(|t| t.tokens.iter().map(accounts::token_view).collect::<Vec<_>>())
            });
            ok_json(StatusCode::OK, &json!(v.ok_or_else(accounts::not_found)?))
        }
        (&Method::DELETE, ["accounts", id, "integrator-tokens", token]) => {
            accounts::revoke_token(cp, account_id(id)?, token.to_string()).await?;
            ok_json(StatusCode::OK, &json!({"value": true}))
        }
        (&Method::POST, ["accounts", id, "security-token"]) => {
            let token = accounts::generate_client_token(cp, account_id(id)?).await?;
            ok_json(StatusCode::CREATED, &json!({"token": token.expose(), "enabled": false}))
        }
        (&Method::POST, ["accounts", id, "security-token", which]) => {
            accounts::set_client_token_enabled(cp, account_id(id)?, *which == "enable").await?;
            ok_json(StatusCode::OK, &json!({"value": true}))
        }
        (&Method::PUT, ["accounts", id, "ip-allowlist"]) => {
            let id = account_id(id)?;
            let body: AllowlistBody = super::json_body(req).await?;
            let list = accounts::set_ip_allowlist(cp, id, body.ips, body.enabled).await?;
            ok_json(StatusCode::OK, &json!({"enabled": list.enabled, "ips": list.ips}))
        }
        (&Method::POST, ["accounts", id, "instances"]) => {
            // The on-demand create's body and answer, for an account the operator names.
            let id = account_id(id)?;
            if !cp.registry_read(|r| r.tenants.contains_key(&id)) {
                return Err(accounts::not_found());
            }
            let base = super::integrator::public_base(cp, &req);
            let answer =
                super::integrator::create_for(cp, super::integrator::Creator::Operator(id), &base, req).await?;
            ok_json(StatusCode::CREATED, &answer)
        }
        (&Method::GET, ["accounts", id, "invoices"]) => {
            let id = account_id(id)?;
            if !cp.registry_read(|r| r.tenants.contains_key(&id)) {
                return Err(accounts::not_found());
            }
            Ok(super::invoices::list_of(cp, id))
        }
        (&Method::POST, ["invoices", id, "pay"]) => pay(cp, id.to_string()).await,
        (&Method::POST, ["clock"]) => set_clock(cp, req).await,
        _ => ok_json(StatusCode::OK, &json!({"now": clock::rfc3339(cp.clock.now_ms())})),
    }
}

fn list_accounts(cp: &ControlPlane, req: &Request<Incoming>) -> Result<Resp, CpError> {
    let q = req.uri().query();
    let num = |name: &str, default: usize| -> Result<usize, CpError> {
        match chatedge_serve::query_param(q, name) {
            None => Ok(default),
            Some(v) => v.parse::<usize>().ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| {
                CpError::refused(400, "Invalid field", format!("{name} must be a whole number from 1 to 1000"))
            }),
        }
    };
    let (page, size) = (num("page", 1)?, num("pageSize", 50)?);
    let body = cp.registry_read(|r| {
        let mut all: Vec<_> = r.tenants.values().collect();
        all.sort_by_key(|t| (t.created_ms, t.tenant.id));
        let content: Vec<_> = all.iter().skip((page - 1) * size).take(size).map(|t| accounts::view(r, t)).collect();
        json!({"total": all.len(), "totalPage": all.len().div_ceil(size), "pageSize": size, "page": page, "content": content})
    });
    ok_json(StatusCode::OK, &body)
}

async fn pay(cp: &Arc<ControlPlane>, id: String) -> Result<Resp, CpError> {
    let now = cp.clock.now_ms();
    let not_found = || CpError::refused(404, "Invoice not found", "no invoice with this id");
    let lookup = id.clone();
    let version =
        cp.mutate_async(move |r, next| billing::pay(r, &lookup, now).map(|c| (next, c)).ok_or_else(not_found)).await?;
    if !cp.wait_applied(version, std::time::Duration::from_secs(5)).await {
        tracing::warn!(version, "a payment's lifted stop is not yet applied by every data plane");
    }
    let v = cp.registry_read(|r| r.invoices.get(&id).map(|i| super::invoices::view(i, now)));
    ok_json(StatusCode::OK, &v.ok_or_else(not_found)?)
}

/// `POST /admin/clock {"now": "<RFC 3339>"}`: moves the test clock, persists it, runs every
/// job due at the new instant and answers once data planes applied what they changed.
async fn set_clock(cp: &Arc<ControlPlane>, req: Request<Incoming>) -> Result<Resp, CpError> {
    let body: ClockBody = super::json_body(req).await?;
    let to = clock::parse_rfc3339(&body.now).ok_or_else(|| {
        CpError::refused(400, "Invalid field", "now must be an RFC 3339 instant like 2030-03-01T00:00:00Z")
    })?;
    let summary = billing::jobs::run_after(cp, || async move {
        cp.clock
            .set(to)
            .map_err(|e| CpError::refused(400, "Invalid field", crate::clock::ClockError::from(e).to_string()))?;
        cp.mutate_async(move |_, next| {
            Ok((next, crate::registry::Change { test_clock_ms: Some(to), ..Default::default() }))
        })
        .await
        .map(|_version| ())
    })
    .await?;
    ok_json(
        StatusCode::OK,
        &json!({
            "now": clock::rfc3339(to),
            "invoicesIssued": summary.invoices_issued,
            "instancesExpired": summary.instances_expired,
            "accountsStopped": summary.accounts_stopped,
            "instancesDeletedUnpaid": summary.instances_deleted_unpaid,
        }),
    )
}

/// How long an account setting's change waits for the data planes to apply it before
/// answering anyway.
const LIMITS_APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Changes one of account `id`'s pushed settings (`what`, for the log) with `set`, and waits
/// (a bounded while) for every data plane to apply the new version. Answers the version.
async fn change_account(
    cp: &Arc<ControlPlane>,
    id: TenantId,
    what: &'static str,
    set: impl FnOnce(&mut chatedge_config::Tenant) + Send + 'static,
) -> Result<u64, CpError> {
    let version = cp
        .mutate_async(move |r, next| {
            let mut record = r.tenants.get(&id).cloned().ok_or_else(accounts::not_found)?;
            set(&mut record.tenant);
            Ok((next, Change { tenants: vec![record], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, LIMITS_APPLY_WAIT).await {
        tracing::warn!(version, what, "changed an account's setting that not every data plane has applied yet");
    }
    Ok(version)
}

/// `PUT /admin/accounts/{id}/limits` → `{"value": true, "limits": …, "configVersion": N}`.
async fn set_limits(cp: &Arc<ControlPlane>, req: Request<Incoming>, tenant: &str) -> Result<Resp, CpError> {
    let id = account_id(tenant)?;
    let limits: TenantLimits = super::json_body(req).await?;
    let problems = limits.problems();
    if !problems.is_empty() {
        return Err(CpError::refused(400, "Invalid field", problems.join("; ")));
    }
    let set = (limits != TenantLimits::default()).then_some(limits);
    let version = change_account(cp, id, "limits", move |t| t.limits = set).await?;
    ok_json(StatusCode::OK, &json!({"value": true, "limits": limits, "configVersion": version}))
}

/// `PUT /admin/accounts/{id}/pacing {"minDelayMs", "maxDelayMs"}` → `{"value": true,
/// "pacing": {…} | null, "configVersion": N}`: each of the account's instances waits a random
/// pause in that range between two messages, instead of the data plane's `[pacing]` (`{}`
/// returns to it). Pushed like any account change; a data plane applies it without a restart,
/// to the message waiting now included.
async fn set_pacing(cp: &Arc<ControlPlane>, req: Request<Incoming>, tenant: &str) -> Result<Resp, CpError> {
    let id = account_id(tenant)?;
    let body: PacingBody = super::json_body(req).await?;
    let pacing = body.parse().map_err(|problem| CpError::refused(400, "Invalid field", problem))?;
    let version = change_account(cp, id, "pacing", move |t| t.pacing = pacing).await?;
    ok_json(StatusCode::OK, &json!({"value": true, "pacing": pacing, "configVersion": version}))
}

/// `PUT /admin/accounts/{id}/opt-out-keywords {"keywords": [...]}` → `{"value": true,
/// "optOutKeywords": [...] | null, "configVersion": N}`: the words (trimmed, upper-cased) an
/// incoming message of the account's instances must equal to put its sender on the campaigns'
/// suppression list. Pushed like any account change: applied by the data planes without a
/// restart, from their next message on.
async fn set_opt_out_keywords(cp: &Arc<ControlPlane>, req: Request<Incoming>, tenant: &str) -> Result<Resp, CpError> {
    let id = account_id(tenant)?;
    let body: OptOutBody = super::json_body(req).await?;
    let words = body
        .keywords
        .map(|w| chatedge_config::campaigns::opt_out_keywords("keywords", &w))
        .transpose()
        .map_err(|problems| CpError::refused(400, "Invalid field", problems.join("; ")))?;
    let pushed = words.clone();
    let version = change_account(cp, id, "opt-out words", move |t| t.opt_out_keywords = pushed).await?;
    ok_json(StatusCode::OK, &json!({"value": true, "optOutKeywords": words, "configVersion": version}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pacing_body_is_both_bounds_in_order_within_an_hour_or_nothing() {
        let pacing = |min, max| Some(Pacing { min_delay_ms: min, max_delay_ms: max });
        let cases: &[(&str, Result<Option<Pacing>, &str>)] = &[
            ("{}", Ok(None)),
            (r#"{"minDelayMs": 0, "maxDelayMs": 0}"#, Ok(pacing(0, 0))),
            (r#"{"minDelayMs": 1000, "maxDelayMs": 3000}"#, Ok(pacing(1000, 3000))),
            (r#"{"minDelayMs": 3600000, "maxDelayMs": 3600000}"#, Ok(pacing(3_600_000, 3_600_000))),
            (r#"{"minDelayMs": 1000}"#, Err("maxDelayMs")),
            (r#"{"maxDelayMs": 1000}"#, Err("minDelayMs")),
            (r#"{"minDelayMs": 5000, "maxDelayMs": 10}"#, Err("minDelayMs (5000) must not exceed")),
            (r#"{"minDelayMs": 0, "maxDelayMs": 3600001}"#, Err("at most 3600000")),
        ];
        for (body, want) in cases {
            let got = serde_json::from_str::<PacingBody>(body).unwrap().parse();
            match (want, &got) {
                (Ok(w), Ok(g)) => assert_eq!(w, g, "{body}"),
                (Err(part), Err(e)) => assert!(e.contains(part), "{body}: {e}"),
                _ => panic!("{body}: {got:?}"),
            }
        }
        assert!(serde_json::from_str::<PacingBody>(r#"{"minDelay": 1}"#).is_err(), "an unknown field");
    }
}
