//! The Zapini dialect's instance API keys (issue 15; seed 002 lines 60–125): `POST
//! /instances/integrator/{instanceId}/api-keys` issues one (201 `{"id", "apiKey": "sk_…",
//! "createdAt"}`, the key shown this once), `GET …/api-keys` lists the live ones (ids and
//! creation times, never a key) and `DELETE …/api-keys/{keyId}` revokes one. `Authorization:
//! Bearer <integrator token>`; an instance of another account answers exactly as an unknown
//! one. Only each key's SHA-256 is stored, in the instance's configuration, so it is pushed
//! with the instance to the data plane that serves it (and a revoked key leaves with the next
//! push). `{instanceId}` is chatedge's id or its UUID form.

use std::sync::Arc;

use chatedge_config::snapshot::{parse_instance_ref, ApiKey, API_KEY_PREFIX};
use chatedge_config::{InstanceId, Secret, TenantId};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use crate::registry::Change;
use crate::{ControlPlane, CpError};

/// Most live keys one instance may hold.
pub const MAX_KEYS_PER_INSTANCE: usize = 20;
/// Longest wait for data planes to apply a change before answering anyway.
const APPLY_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

fn unknown() -> CpError {
    CpError::refused(404, "Instance not found", "no instance with this id for this integrator")
}

/// The caller's instance `id`, or the one answer for unknown and foreign ones.
fn own_instance(cp: &ControlPlane, account: TenantId, id: &str) -> Result<InstanceId, CpError> {
    let id = parse_instance_ref(id).ok_or_else(unknown)?;
    let visible = cp.registry_read(|r| r.instances.get(&id).is_some_and(|i| i.config.tenant == account));
    visible.then_some(id).ok_or_else(unknown)
}

/// `POST /instances/integrator/{id}/api-keys` → 201 with the new key, shown this once.
pub async fn issue(cp: &Arc<ControlPlane>, req: Request<Incoming>, id: &str) -> Result<Resp, CpError> {
    let account = super::integrator::caller(cp, req.headers())?.account;
    let id = own_instance(cp, account, id)?;
    let key = Secret::generate(24);
    // The instance in the key lets any data plane send its requests to the instance's owner.
    let instance_hex = id.to_string().to_ascii_lowercase();
    let key = format!("{API_KEY_PREFIX}{instance_hex}_{}", key.expose().to_ascii_lowercase());
    let now = cp.clock.now_ms();
    let record = ApiKey {
        id: Secret::generate(8).expose().to_ascii_lowercase(),
        hash: chatedge_config::TokenHash::of(key.as_bytes()),
        created_ms: now,
    };
    let key_id = record.id.clone();
    let version = cp
        .mutate_async(move |r, next| {
            let mut instance =
                r.instances.get(&id).filter(|i| i.config.tenant == account).cloned().ok_or_else(unknown)?;
            if instance.config.api_keys.len() >= MAX_KEYS_PER_INSTANCE {
                return Err(CpError::refused(
                    409,
                    "Too many API keys",
                    format!("an instance holds at most {MAX_KEYS_PER_INSTANCE} API keys; revoke one first"),
                ));
            }
            instance.config.api_keys.push(record);
            Ok((next, Change { instances: vec![instance], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "issued an API key that not every data plane has applied yet");
    }
    let answer = json!({
        "id": key_id,
        "apiKey": key,
        "instanceId": id.to_string(),
        "instanceUuid": chatedge_config::snapshot::instance_uuid(&id),
        "createdAt": chatedge_config::time::rfc3339_ms(now),
    });
    Ok(chatedge_serve::json(StatusCode::CREATED, &answer))
}

/// `GET /instances/integrator/{id}/api-keys` → `{"apiKeys": [{"id", "createdAt"}]}`.
pub async fn list(cp: &Arc<ControlPlane>, req: Request<Incoming>, id: &str) -> Result<Resp, CpError> {
    let account = super::integrator::caller(cp, req.headers())?.account;
    let id = own_instance(cp, account, id)?;
    let keys = cp.registry_read(|r| r.instances.get(&id).map(|i| i.config.api_keys.clone()).unwrap_or_default());
    let keys: Vec<_> = keys
        .iter()
        .map(|k| json!({"id": k.id, "createdAt": chatedge_config::time::rfc3339_ms(k.created_ms)}))
        .collect();
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"apiKeys": keys})))
}

/// `DELETE /instances/integrator/{id}/api-keys/{keyId}` → `{"value": true}` once revoked.
pub async fn revoke(cp: &Arc<ControlPlane>, req: Request<Incoming>, id: &str, key_id: &str) -> Result<Resp, CpError> {
    let account = super::integrator::caller(cp, req.headers())?.account;
    let id = own_instance(cp, account, id)?;
    let key_id = key_id.to_owned();
    let version = cp
        .mutate_async(move |r, next| {
            let mut instance =
                r.instances.get(&id).filter(|i| i.config.tenant == account).cloned().ok_or_else(unknown)?;
            let before = instance.config.api_keys.len();
            instance.config.api_keys.retain(|k| k.id != key_id);
            if instance.config.api_keys.len() == before {
                return Err(CpError::refused(404, "API key not found", "no API key with this id for this instance"));
            }
            Ok((next, Change { instances: vec![instance], ..Change::default() }))
        })
        .await?;
    if !cp.wait_applied(version, APPLY_WAIT).await {
        tracing::warn!(version, "revoked an API key that not every data plane has applied yet");
    }
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}
