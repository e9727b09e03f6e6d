//! The instance routes (seed 002): the universal `GET /instances`, `GET /instances/{id}`,
//! `…/qr`, `…/status`, `…/stats`, `POST …/disconnect` and `…/reconnect`, and the instance
//! API's `GET /status`, `GET /qr` and `GET /health`. Status, QR code, disconnect and reconnect
//! are the shard commands the Z-API routes use; the counters (`messages_sent_today`,
//! `remaining_quota`, …) are the control plane's, from the data planes' usage reports, asked
//! with this node's credential as Z-API's `…/stats` asks them. Nothing is stored here.

use std::sync::LazyLock;
use std::time::Instant;

use bytes::Bytes;
use chatedge_config::snapshot::{instance_uuid, InstanceConfig, Network};
use chatedge_serve::Resp;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::{render, Call, ZapiniError};
use crate::error::CoreError;
use crate::shard::{Command, SessionStatus};
use crate::sync::control::Forwarded;

/// When this data plane started (`/health`'s `uptime`).
static STARTED: LazyLock<Instant> = LazyLock::new(Instant::now);

/// Starts `/health`'s clock (called as the data plane starts).
pub fn start_clock() {
    LazyLock::force(&STARTED);
}

/// `GET /health` (no credential): the store's health as `/healthz` judges it, with the
/// seconds since this data plane started and the time now.
pub fn health(app: &super::App) -> Resp {
    let uptime = STARTED.elapsed().as_secs();
    match app.store.health().reason() {
        None => {
            chatedge_serve::json(StatusCode::OK, &json!({"status": "ok", "uptime": uptime, "timestamp": render::now()}))
        }
        Some(reason) => chatedge_serve::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unhealthy", "reason": reason, "uptime": uptime, "timestamp": render::now()}),
        ),
    }
}

async fn session(call: &Call<'_>, instance: &InstanceConfig) -> Result<SessionStatus, ZapiniError> {
    let id = instance.id;
    Ok(call.app.shards.ask(&id, |reply| Command::Status { instance: id, reply }).await?)
}

/// The instance a route without `{id}` acts on: the key's, or the query's `instance_id`.
fn query_instance(call: &Call<'_>) -> Result<std::sync::Arc<InstanceConfig>, ZapiniError> {
    call.instance(call.query("instance_id").as_deref())
}

fn path_instance(call: &Call<'_>) -> Result<std::sync::Arc<InstanceConfig>, ZapiniError> {
    call.instance(Some(call.id.as_deref().unwrap_or("")))
}

/// `GET /status`: `{success, status, phone, name, platform}`.
pub async fn status(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = query_instance(call)?;
    let s = session(call, &instance).await?;
    Ok(render::flat(json!({
        "status": render::instance_status(&instance, s.state),
        "phone": s.phone.as_ref().map(|p| p.as_str()),
        "name": instance.name,
        "platform": platform(&instance),
    })))
}

fn platform(instance: &InstanceConfig) -> &'static str {
    match (&instance.network, instance.business_device) {
        (Network::CloudApi(_), _) => "cloud-api",
        (_, true) => "smba",
        (_, false) => "android",
    }
}

/// The current pairing code, or why there is none.
async fn pairing_code(call: &Call<'_>, instance: &InstanceConfig) -> Result<String, ZapiniError> {
    if let Network::CloudApi(_) = instance.network {
        return Err(ZapiniError::invalid(
            "instance_id",
            "this instance is on the Cloud API network, which has no QR code: it connects with the credentials given at creation",
        ));
    }
    let id = instance.id;
    Ok(call.app.shards.call(&id, |reply| Command::QrCode { instance: id, reply }).await?)
}

fn qr_image(code: &str) -> Result<String, ZapiniError> {
    crate::api::zapi::qr_image::data_url(code)
        .map_err(|e| ZapiniError::Unavailable(format!("QR code unavailable: {e:?}")))
}

/// `GET /qr`: `{success, qr, status: "qr_ready"}`; only while the instance waits for a scan
/// (an instance already connected answers 409 `ALREADY_CONNECTED`).
pub async fn qr(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = query_instance(call)?;
    let code = pairing_code(call, &instance).await?;
    Ok(render::flat(json!({"qr": qr_image(&code)?, "status": "qr_ready"})))
}

/// `GET /instances/{id}/qr`: `{success, data: {status, qr_code, qr_code_text, qr_expired,
/// message}}`; a connected instance answers `status: "connected"` and no code.
pub async fn instance_qr(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = path_instance(call)?;
    match pairing_code(call, &instance).await {
        Ok(code) => Ok(render::data(
            StatusCode::OK,
            None,
            json!({
                "status": "qr_ready",
                "qr_code": qr_image(&code)?,
                "qr_code_text": code,
                "qr_expired": false,
                "message": "QR code ready to scan",
            }),
        )),
        Err(ZapiniError::Core(CoreError::AlreadyConnected)) => Ok(render::data(
            StatusCode::OK,
            None,
            json!({"status": "connected", "qr_code": null, "qr_code_text": null, "qr_expired": false,
                   "message": "The instance is already connected"}),
        )),
        Err(e) => Err(e),
    }
}

/// `GET /instances/{id}/status` (`?realtime=true` is accepted: the status is always the
/// session's own, read now).
pub async fn instance_status(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = path_instance(call)?;
    let s = session(call, &instance).await?;
    let status = render::instance_status(&instance, s.state);
    Ok(render::data(
        StatusCode::OK,
        None,
        json!({
            "uuid": instance_uuid(&instance.id),
            "status": status,
            "connected": status == "connected",
            "phone_number": s.phone.as_ref().map(|p| p.as_str()),
        }),
    ))
}

/// The control plane's counters for `instance` (`None` when it cannot be asked now).
async fn usage(call: &Call<'_>, instance: &InstanceConfig) -> Result<Option<Value>, ZapiniError> {
    let ask = Forwarded {
        method: Method::GET,
        path_and_query: format!("/dataplane/v1/instances/{}/stats", instance.id),
        authorization: Some(call.app.node_authorization.clone()),
        public_base: None,
        body: Bytes::new(),
    };
    match call.app.control.forward(ask).await {
        Ok((status, body)) if status.is_success() => Ok(serde_json::from_slice(&body).ok()),
        // The control plane no longer has it (removed since this node's snapshot): as unknown.
        Ok((StatusCode::NOT_FOUND, _)) => Err(ZapiniError::InstanceNotFound),
        Ok(_) | Err(_) => Ok(None),
    }
}

/// `GET /instances/{id}/stats`: the control plane's counters.
pub async fn stats(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = path_instance(call)?;
    let figures = usage(call, &instance)
        .await?
        .ok_or_else(|| ZapiniError::ControlPlane("the control plane cannot be reached".into()))?;
    Ok(render::data(StatusCode::OK, None, figures))
}

/// One instance as `GET /instances` lists it.
async fn described(call: &Call<'_>, instance: &InstanceConfig) -> Result<Value, ZapiniError> {
    let s = session(call, instance).await?;
    let status = render::instance_status(instance, s.state);
    let figures = usage(call, instance).await.unwrap_or(None).unwrap_or(Value::Null);
    let may_send = {
        let snapshot = call.app.config.load();
        crate::auth::may_send(snapshot.tenants.get(&instance.tenant).map(|t| &**t)).is_ok()
    };
    let remaining = figures.get("remaining_quota").cloned().unwrap_or(Value::Null);
    let quota_left = remaining.as_u64().is_none_or(|r| r > 0);
    Ok(json!({
        "uuid": instance_uuid(&instance.id),
        "id": instance.id.to_string(),
        "name": instance.name,
        "phone_number": s.phone.as_ref().map(|p| p.as_str()),
        "status": status,
        "connected": status == "connected",
        "messages_sent_today": figures.get("messages_sent_today").cloned().unwrap_or(Value::Null),
        "remaining_quota": remaining,
        "daily_limit": figures.get("daily_limit").cloned().unwrap_or(Value::Null),
        "can_send_messages": instance.active && may_send && status == "connected" && quota_left,
        "created_at": render::time(instance.created_ms),
    }))
}

/// `GET /instances[?status=…]`: the credential's instances on this data plane.
pub async fn list(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let wanted = call.query("status");
    if let Some(w) = &wanted {
        if !["connected", "disconnected", "qr_ready", "pending", "offline"].contains(&w.as_str()) {
            return Err(ZapiniError::invalid(
                "status",
                "the status field must be one of connected, disconnected, qr_ready, pending, offline",
            ));
        }
    }
    let mut out = Vec::new();
    for instance in call.instances() {
        let v = described(call, &instance).await?;
        if wanted.as_deref().is_none_or(|w| v["status"] == w) {
            out.push(v);
        }
    }
    Ok(render::data(StatusCode::OK, None, json!({"instances": out})))
}

/// `GET /instances/{id}`.
pub async fn get(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = path_instance(call)?;
    Ok(render::data(StatusCode::OK, None, described(call, &instance).await?))
}

/// `POST /instances/{id}/disconnect`: the session is logged out, as Z-API's `disconnect`.
pub async fn disconnect(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = path_instance(call)?;
    let id = instance.id;
    call.app.shards.call(&id, |reply| Command::Disconnect { instance: id, reply }).await?;
    Ok(render::data(
        StatusCode::OK,
        Some("Instance disconnected"),
        json!({"uuid": instance_uuid(&id), "status": "disconnected"}),
    ))
}

/// `POST /instances/{id}/reconnect`: the session restarts, as Z-API's `restart`.
pub async fn reconnect(call: &Call<'_>) -> Result<Resp, ZapiniError> {
    let instance = path_instance(call)?;
    let id = instance.id;
    call.app.shards.call(&id, |reply| Command::Restart { instance: id, reply }).await?;
    let s = session(call, &instance).await?;
    Ok(render::data(
        StatusCode::OK,
        Some("Reconnection started"),
        json!({"uuid": instance_uuid(&id), "status": render::instance_status(&instance, s.state)}),
    ))
}
