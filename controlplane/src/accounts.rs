//! accounts: what may be done to an account — create it, disable and enable it, issue and
//! revoke integrator tokens, generate and switch its Client-Token, set its IP allowlist —
//! each as one durable change that data planes receive with the account's next version.
//! Secrets are returned once, to the caller of the change, and stored only as hashes. Both the
//! admin API and the integrator's own routes call these; neither checks here who asks.
//! Blocking (runs through `ControlPlane::mutate_async`).

use std::net::IpAddr;
use std::sync::Arc;

use chatedge_config::snapshot::{ClientToken, IpAllowlist, MAX_ALLOWLIST_IPS};
use chatedge_config::{Secret, Tenant, TenantId};

use crate::registry::{Change, IntegratorToken, Registry, TenantRecord, MAX_TOKENS_PER_ACCOUNT};
use crate::{ControlPlane, CpError};

/// Longest account name accepted.
pub const MAX_ACCOUNT_NAME: usize = 200;

pub fn not_found() -> CpError {
    CpError::refused(404, "Account not found", "no account with this id")
}

/// A freshly issued integrator token (the only time it is shown).
pub struct Issued {
    pub account: TenantRecord,
    pub token: Secret,
    pub token_id: String,
}

/// Creates an account whose first token is capped (seed 001, line 13472).
pub async fn create(cp: &Arc<ControlPlane>, name: String) -> Result<Issued, CpError> {
    let name = name.trim().to_owned();
    if name.is_empty() || name.chars().count() > MAX_ACCOUNT_NAME {
        return Err(CpError::refused(400, "Invalid field", format!("name must be 1 to {MAX_ACCOUNT_NAME} characters")));
    }
    let now = cp.clock.now_ms();
    let token = Secret::generate(24);
    let first = IntegratorToken::new(&token, false, now);
    let token_id = first.id.clone();
    let record = TenantRecord::new(Tenant::new(TenantId::generate(), name), first, now);
    let account = record.clone();
    cp.mutate_async(move |_, next| Ok((next, Change { tenants: vec![record], ..Change::default() }))).await?;
    Ok(Issued { account, token, token_id })
}

/// How long a change waits for data planes to apply it before answering anyway.
const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Applies `f` to account `id` as one change; answers the changed record once the attached
/// data planes enforce it (or the wait runs out).
async fn change<T: Send + 'static>(
    cp: &Arc<ControlPlane>,
    id: TenantId,
    f: impl FnOnce(&mut TenantRecord, &Registry) -> Result<T, CpError> + Send + 'static,
) -> Result<(TenantRecord, T), CpError> {
    let (version, t, out) = cp
        .mutate_async(move |r, next| {
            let mut t = r.tenants.get(&id).cloned().ok_or_else(not_found)?;
            let out = f(&mut t, r)?;
            Ok(((next, t.clone(), out), Change { tenants: vec![t], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "an account change is not yet applied by every data plane");
    }
    Ok((t, out))
}

pub async fn set_disabled(cp: &Arc<ControlPlane>, id: TenantId, disabled: bool) -> Result<TenantRecord, CpError> {
    Ok(change(cp, id, move |t, _| {
        t.tenant.disabled = disabled;
        Ok(())
    })
    .await?
    .0)
}

/// A new integrator token; `definitive` ones create instances without the first token's cap.
pub async fn issue_token(cp: &Arc<ControlPlane>, id: TenantId, definitive: bool) -> Result<Issued, CpError> {
    let now = cp.clock.now_ms();
    let token = Secret::generate(24);
    let record = IntegratorToken::new(&token, definitive, now);
    let token_id = record.id.clone();
    let (account, _) = change(cp, id, move |t, _| {
        if t.tokens.len() >= MAX_TOKENS_PER_ACCOUNT {
            return Err(CpError::refused(
                409,
                "Too many tokens",
                format!("an account holds at most {MAX_TOKENS_PER_ACCOUNT} integrator tokens, revoked ones included"),
            ));
        }
        t.tokens.push(record);
        Ok(())
    })
    .await?;
    Ok(Issued { account, token, token_id })
}

/// Revokes a token at once: the next call presenting it is refused.
pub async fn revoke_token(cp: &Arc<ControlPlane>, id: TenantId, token_id: String) -> Result<TenantRecord, CpError> {
    let now = cp.clock.now_ms();
    Ok(change(cp, id, move |t, _| {
        let k = t
            .tokens
            .iter_mut()
            .find(|k| k.id == token_id)
            .ok_or_else(|| CpError::refused(404, "Token not found", "no integrator token with this id"))?;
        k.revoked_ms.get_or_insert(now);
        Ok(())
    })
    .await?
    .0)
}

/// Generates (or regenerates) the account's Client-Token, disabled (seed 001 line 452).
pub async fn generate_client_token(cp: &Arc<ControlPlane>, id: TenantId) -> Result<Secret, CpError> {
    let token = Secret::generate(16);
    let hash = token.hash();
    change(cp, id, move |t, _| {
        t.tenant.security.client_token = Some(ClientToken { hash, enabled: false });
        Ok(())
    })
    .await?;
    Ok(token)
}

pub async fn set_client_token_enabled(cp: &Arc<ControlPlane>, id: TenantId, enabled: bool) -> Result<(), CpError> {
    change(cp, id, move |t, _| match &mut t.tenant.security.client_token {
        Some(c) => {
            c.enabled = enabled;
            Ok(())
        }
        None => Err(CpError::refused(
            409,
            "No security token",
            "generate the account security token first (POST …/security-token)",
        )),
    })
    .await?;
    Ok(())
}

/// Sets the allowlist; an enabled list must name at least one address (else every call
/// would be refused, including the one that could undo it — there is none on the data plane,
/// but an integrator locking itself out by accident is never what was meant).
pub async fn set_ip_allowlist(
    cp: &Arc<ControlPlane>,
    id: TenantId,
    ips: Vec<String>,
    enabled: bool,
) -> Result<IpAllowlist, CpError> {
    let mut parsed = Vec::with_capacity(ips.len());
    for ip in &ips {
        let ip = ip.trim().parse::<IpAddr>().map_err(|_| {
            CpError::refused(400, "Invalid field", format!("ips: '{ip}' is not an IPv4 or IPv6 address"))
        })?;
        if !parsed.contains(&ip) {
            parsed.push(ip);
        }
    }
    if parsed.len() > MAX_ALLOWLIST_IPS {
        return Err(CpError::refused(400, "Invalid field", format!("ips: at most {MAX_ALLOWLIST_IPS} addresses")));
    }
    if enabled && parsed.is_empty() {
        return Err(CpError::refused(400, "Invalid field", "ips: an enabled allowlist needs at least one address"));
    }
    let list = IpAllowlist { enabled, ips: parsed };
    let set = list.clone();
    change(cp, id, move |t, _| {
        t.tenant.security.ip_allowlist = set;
        Ok(())
    })
    .await?;
    Ok(list)
}

/// An account as the admin API shows it (no secret, ever).
pub fn view(r: &Registry, t: &TenantRecord) -> serde_json::Value {
    let s = &t.tenant.security;
    let instances = r.instances.values().filter(|i| i.config.tenant == t.tenant.id).count();
    serde_json::json!({
        "id": t.tenant.id.to_string(),
        "name": t.tenant.name,
        "created": chatedge_config::time::rfc3339_ms(t.created_ms),
        "disabled": t.tenant.disabled,
        "paymentOverdue": t.tenant.payment_overdue,
        "instances": instances,
        "integratorTokens": t.tokens.iter().map(token_view).collect::<Vec<_>>(),
        "securityToken": s.client_token.as_ref().map(|c| serde_json::json!({"enabled": c.enabled})),
        "ipAllowlist": {"enabled": s.ip_allowlist.enabled, "ips": s.ip_allowlist.ips},
        "optOutKeywords": t.tenant.opt_out_keywords,
        "limits": t.tenant.limits,
        "pacing": t.tenant.pacing,
    })
}

pub fn token_view(k: &IntegratorToken) -> serde_json::Value {
    serde_json::json!({
        "id": k.id,
        "definitive": k.definitive,
        "created": chatedge_config::time::rfc3339_ms(k.created_ms),
        "revoked": k.revoked_ms.map(chatedge_config::time::rfc3339_ms),
        "instancesCreated": k.instances_created,
    })
}
