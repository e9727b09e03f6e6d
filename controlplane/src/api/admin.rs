//! The operator's routes (admin token): `PUT /admin/tenants/{tenantId}/limits` sets an
//! account's own rate limits (issue 11 §3, `chatedge_config::rate_limits::TenantLimits`), which
//! reach every data plane in the next snapshot and apply there without a restart. The body is
//! the whole override (`{}` or `null` fields return the account to the data plane's
//! `[rate_limits]`). Answers once the attached data planes applied it (or after 5 s).

use std::sync::Arc;

use chatedge_config::rate_limits::TenantLimits;
use chatedge_config::TenantId;
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use crate::registry::Change;
use crate::{ControlPlane, CpError};

const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Refuses a request without the admin token.
fn admin(cp: &ControlPlane, headers: &hyper::HeaderMap) -> Result<(), CpError> {
    let token = chatedge_serve::bearer(headers)
        .ok_or_else(|| CpError::refused(401, "Unauthorized", "Authorization: Bearer <admin token> required"))?;
    match cp.registry_read(|r| r.admin_hash.is_some_and(|h| h.matches(token.as_bytes()))) {
        true => Ok(()),
        false => Err(CpError::refused(401, "Unauthorized", "invalid admin token")),
    }
}

/// `PUT /admin/tenants/{tenantId}/limits` → `{"value": true, "limits": …, "configVersion": N}`.
pub async fn set_limits(cp: &Arc<ControlPlane>, req: Request<Incoming>, tenant: &str) -> Result<Resp, CpError> {
    admin(cp, req.headers())?;
    let unknown = || CpError::refused(404, "Account not found", "no account (tenant) with this id");
    let id = TenantId::parse(tenant).map_err(|_| unknown())?;
    let limits: TenantLimits = super::json_body(req).await?;
    let problems = limits.problems();
    if !problems.is_empty() {
        return Err(CpError::refused(400, "Invalid field", problems.join("; ")));
    }
    let version = cp
        .mutate_async(move |r, next| {
            let mut record = r.tenants.get(&id).cloned().ok_or_else(unknown)?;
            record.tenant.limits = (limits != TenantLimits::default()).then_some(limits);
            Ok((next, Change { tenants: vec![record], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "changed an account's limits that not every data plane has applied yet");
    }
    let body = json!({"value": true, "limits": limits, "configVersion": version});
    Ok(chatedge_serve::json(StatusCode::OK, &body))
}
