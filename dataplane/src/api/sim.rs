//! The simulated network's admin routes (admin token required), standing in for a phone:
//! `POST /sim/scan` `{qr, phone}` pairs the instance showing that QR code; `POST /sim/inbound`
//! `{instanceId, phone, message}` delivers an incoming text; `POST /sim/presence`
//! `{instanceId, phone, status}` changes a contact's presence. Errors use chatedge's own shape
//! `{"error": code, "message": text}`.

use chatedge_config::{InstanceId, Phone};
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::App;
use crate::auth;
use crate::network::sim::SimError;
use crate::network::Presence;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Scan {
    qr: String,
    phone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Inbound {
    instance_id: String,
    phone: String,
    message: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PresenceChange {
    instance_id: String,
    phone: String,
    status: Presence,
}

fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Resp {
    chatedge_serve::json(status, &json!({"error": code, "message": message.to_string()}))
}

fn sim_error(e: SimError) -> Resp {
    let status = match e {
        SimError::UnknownCode => StatusCode::NOT_FOUND,
        SimError::ExpiredCode => StatusCode::GONE,
        SimError::NotConnected => StatusCode::CONFLICT,
        SimError::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
    };
    let code = match e {
        SimError::UnknownCode => "unknown_qr_code",
        SimError::ExpiredCode => "expired_qr_code",
        SimError::NotConnected => "not_connected",
        SimError::ShuttingDown => "shutting_down",
    };
    error(status, code, e)
}

pub async fn handle(app: &App, req: Request<Incoming>, action: &str) -> (&'static str, Resp) {
    let label = match action {
        "scan" => "sim.scan",
        "inbound" => "sim.inbound",
        "presence" => "sim.presence",
        _ => return ("sim.unknown", error(StatusCode::NOT_FOUND, "route_not_found", "sim routes: scan, inbound, presence")),
    };
    (label, serve(app, req, action).await.unwrap_or_else(|r| r))
}

async fn serve(app: &App, req: Request<Incoming>, action: &str) -> Result<Resp, Resp> {
    let Some(sim) = app.sim.clone() else {
        return Err(error(StatusCode::NOT_FOUND, "sim_disabled", "this data plane does not run the sim network"));
    };
    if req.method() != Method::POST {
        return Err(error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed", "use POST"));
    }
    if !auth::admin(&app.config.load(), req.headers()) {
        return Err(error(StatusCode::UNAUTHORIZED, "unauthorized", "Authorization: Bearer <admin token> required"));
    }
    let (parts, body) = req.into_parts();
    let body = chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes)
        .await
        .map_err(|e| error(StatusCode::BAD_REQUEST, "bad_body", format!("{e:?}")))?;
    let bad = |e: &dyn std::fmt::Display| error(StatusCode::BAD_REQUEST, "invalid_request", e);
    let phone = |p: &str| Phone::parse(p).map_err(|e| bad(&format!("phone: {e}")));
    let instance = |i: &str| InstanceId::parse(i).map_err(|e| bad(&format!("instanceId: {e}")));
    match action {
        "scan" => {
            let s: Scan = serde_json::from_slice(&body).map_err(|e| bad(&e))?;
            let phone = phone(&s.phone)?;
            let id = sim.scan(&s.qr, phone.clone()).await.map_err(sim_error)?;
            Ok(chatedge_serve::json(StatusCode::OK, &json!({"instanceId": id.to_string(), "phone": phone.as_str()})))
        }
        "inbound" => {
            let m: Inbound = serde_json::from_slice(&body).map_err(|e| bad(&e))?;
            let (id, from) = (instance(&m.instance_id)?, phone(&m.phone)?);
            if m.message.is_empty() {
                return Err(bad(&"message must not be empty"));
            }
            let message_id = sim.inbound(id, from, m.message).await.map_err(sim_error)?;
            Ok(chatedge_serve::json(StatusCode::OK, &json!({"messageId": message_id})))
        }
        _ => {
            let p: PresenceChange = serde_json::from_slice(&body).map_err(|e| bad(&e))?;
            sim.presence(instance(&p.instance_id)?, phone(&p.phone)?, p.status).await.map_err(sim_error)?;
            Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
        }
    }
}
