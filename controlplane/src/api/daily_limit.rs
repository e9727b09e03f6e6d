//! The per-instance daily limit (issue 10 §5): `PUT /admin/instances/{id}/daily-limit` (the
//! operator, any instance) and `PUT /integrator/instances/{id}/daily-limit` (an integrator,
//! its own account's instances; another account's answers exactly as an unknown one), body
//! `{"dailyLimit": 500}` or `{"dailyLimit": null}` to remove it. It is pushed in the
//! instance's configuration and enforced by the data plane that serves it, with no call here
//! on the send path (`shard::daily_quota` in the data plane); the answer comes once attached
//! data planes applied it (or after [`APPLY_WAIT`]).

use std::sync::Arc;

use chatedge_config::{InstanceId, TenantId};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::registry::Change;
use crate::{ControlPlane, CpError};

/// Longest wait for data planes to apply the change before answering anyway.
const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The largest limit accepted (far above what one session can send in a day).
pub const MAX_DAILY_LIMIT: u64 = 100_000_000;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Body {
    daily_limit: Option<u64>,
}

fn unknown() -> CpError {
    CpError::refused(404, "Instance not found", "no instance with this id for this caller")
}

/// Sets instance `id`'s daily limit; `account` is the integrator's account (`None`: the
/// operator, who may set any instance's).
pub async fn set(
    cp: &Arc<ControlPlane>,
    req: Request<Incoming>,
    id: &str,
    account: Option<TenantId>,
) -> Result<Resp, CpError> {
    let id = InstanceId::parse(id).map_err(|_| unknown())?;
    let visible =
        cp.registry_read(|r| r.instances.get(&id).is_some_and(|i| account.is_none_or(|a| a == i.config.tenant)));
    if !visible {
        return Err(unknown());
    }
    let body: Body = super::json_body(req).await?;
    if body.daily_limit.is_some_and(|l| l > MAX_DAILY_LIMIT) {
        return Err(CpError::refused(
            400,
            "Invalid field",
            format!("dailyLimit must be a whole number from 0 to {MAX_DAILY_LIMIT}, or null to remove it"),
        ));
    }
    let limit = body.daily_limit;
    let version = cp
        .mutate_async(move |r, next| {
            let mut record = r
                .instances
                .get(&id)
                .filter(|i| account.is_none_or(|a| a == i.config.tenant))
                .cloned()
                .ok_or_else(unknown)?;
            record.config.daily_limit = limit;
            Ok((next, Change { instances: vec![record], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "changed a daily limit that not every data plane has applied yet");
    }
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true, "dailyLimit": limit, "configVersion": version})))
}
