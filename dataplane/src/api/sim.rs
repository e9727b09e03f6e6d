//! The simulated network's admin routes (admin token required), standing in for a phone:
//! `POST /sim/scan` `{qr, phone}` pairs the instance showing that QR code; `POST /sim/inbound`
//! `{instanceId, phone, type, …}` delivers an incoming message of any kind a ReceivedCallback
//! describes (see [`inbound`]; `{instanceId, phone, message}` is a text); `POST /sim/presence`
//! `{instanceId, phone, status}` changes a contact's presence; `POST /sim/drop`
//! `{instanceId, ms}` cuts the instance's connection for `ms` milliseconds (it reconnects by
//! itself afterwards); `POST /sim/logout` `{instanceId}` removes the instance's device from the
//! phone (a new scan is needed); `GET /sim/stats` answers `{sends, duplicateSends}`: how many
//! messages the network took and how many of them carried a message id it had already seen —
//! the witness that nothing is sent twice; `GET /sim/received?instanceId=…&phone=…` answers
//! what that phone received from the instance (`{"messages": [...], "presence": …}`, see
//! [`witness`](crate::network::sim::witness)). Errors use chatedge's own shape `{"error": code, "message":
//! text}`.

use chatedge_config::{InstanceId, Phone};
use chatedge_serve::Body;
use chatedge_serve::Resp;
use hyper::{Method, Request, StatusCode};
use serde::Deserialize;
use serde_json::json;

use super::App;

mod inbound;
mod phone;
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
struct PresenceChange {
    instance_id: String,
    phone: String,
    status: Presence,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DropConnection {
    instance_id: String,
    ms: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Logout {
    instance_id: String,
}

/// Longest connection cut `/sim/drop` accepts (one day).
const MAX_DROP_MS: u64 = 86_400_000;

/// Why a sim route refused; turned into HTTP in [`SimApiError::into_response`] only.
#[derive(Debug)]
enum SimApiError {
    Disabled,
    MethodNotAllowed,
    Unauthorized,
    Invalid(String),
    Busy,
    Sim(SimError),
    /// The sim network refused a phone-side change (see [`phone`]).
    Account(crate::network::account::AccountError),
}

impl SimApiError {
    fn into_response(self) -> Resp {
        let (status, code, message) = match self {
            SimApiError::Disabled => {
                (StatusCode::NOT_FOUND, "sim_disabled", "this data plane does not run the sim network".to_owned())
            }
            SimApiError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "use POST (GET for stats and received)".to_owned(),
            ),
            SimApiError::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "unauthorized", "Authorization: Bearer <admin token> required".to_owned())
            }
            SimApiError::Invalid(m) => (StatusCode::BAD_REQUEST, "invalid_request", m),
            SimApiError::Busy => {
                (StatusCode::SERVICE_UNAVAILABLE, "uploads_busy", "too many large uploads at once; retry".to_owned())
            }
            SimApiError::Sim(e) => {
                let (status, code) = match e {
                    SimError::UnknownCode => (StatusCode::NOT_FOUND, "unknown_qr_code"),
                    SimError::ExpiredCode => (StatusCode::GONE, "expired_qr_code"),
                    SimError::NotConnected => (StatusCode::CONFLICT, "not_connected"),
                    SimError::ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, "shutting_down"),
                    SimError::Media(_) => (StatusCode::BAD_REQUEST, "invalid_media"),
                };
                (status, code, e.to_string())
            }
            SimApiError::Account(e) => {
                use crate::network::account::AccountError as A;
                let (status, code) = match e {
                    A::NotConnected => (StatusCode::CONFLICT, "not_connected"),
                    A::AlreadyConnected => (StatusCode::CONFLICT, "already_connected"),
                    A::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
                    A::Refused(_) | A::NotBusiness | A::Unsupported(_) => (StatusCode::CONFLICT, "refused"),
                    A::Limit(_) => (StatusCode::CONFLICT, "limit"),
                    A::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
                };
                (status, code, e.to_string())
            }
        };
        chatedge_serve::json(status, &json!({"error": code, "message": message}))
    }
}

impl From<crate::network::account::AccountError> for SimApiError {
    fn from(e: crate::network::account::AccountError) -> Self {
        SimApiError::Account(e)
    }
}

impl From<SimError> for SimApiError {
    fn from(e: SimError) -> Self {
        SimApiError::Sim(e)
    }
}

fn invalid(e: impl std::fmt::Display) -> SimApiError {
    SimApiError::Invalid(e.to_string())
}

fn received(sim: &crate::network::sim::SimNetwork, query: &str) -> Result<Resp, SimApiError> {
    let (mut instance, mut phone) = (None, None);
    for (k, v) in form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "instanceId" => instance = Some(InstanceId::parse(&v).map_err(|e| invalid(format!("instanceId: {e}")))?),
            "phone" => phone = Some(Phone::parse(&v).map_err(|e| invalid(format!("phone: {e}")))?),
            _ => {}
        }
    }
    let instance = instance.ok_or_else(|| invalid("instanceId is required"))?;
    let phone = phone.ok_or_else(|| invalid("phone is required"))?;
    let (messages, presence) = sim.received(&instance, &phone);
    let presence = presence.map(|(p, at)| json!({"status": p, "atMs": at}));
    Ok(chatedge_serve::json(
        StatusCode::OK,
        &json!({"phone": phone.as_str(), "messages": messages, "presence": presence}),
    ))
}

pub async fn handle(app: &App, req: Request<Body>, action: &str) -> (&'static str, Resp) {
    let label = match action {
        "scan" => "sim.scan",
        "inbound" => "sim.inbound",
        "presence" => "sim.presence",
        "drop" => "sim.drop",
        "logout" => "sim.logout",
        "stats" => "sim.stats",
        "received" => "sim.received",
        _ if phone::label(action).is_some() => phone::label(action).unwrap_or("sim.unknown"),
        _ => {
            let body = json!({"error": "route_not_found", "message": "sim routes: scan, inbound, presence, drop, logout, stats, received"});
            return ("sim.unknown", chatedge_serve::json(StatusCode::NOT_FOUND, &body));
        }
    };
    (label, serve(app, req, action).await.unwrap_or_else(SimApiError::into_response))
}

async fn serve(app: &App, req: Request<Body>, action: &str) -> Result<Resp, SimApiError> {
    let sim = app.sim.clone().ok_or(SimApiError::Disabled)?;
    let wanted = if matches!(action, "stats" | "received") { Method::GET } else { Method::POST };
    if req.method() != wanted {
        return Err(SimApiError::MethodNotAllowed);
    }
    if !auth::admin(&app.config.load(), req.headers()) {
        return Err(SimApiError::Unauthorized);
    }
    if action == "stats" {
        return Ok(chatedge_serve::json(StatusCode::OK, &sim.stats()));
    }
    if action == "received" {
        return received(&sim, req.uri().query().unwrap_or(""));
    }
    let (parts, body) = req.into_parts();
    let limit = if action == "inbound" { inbound::max_body_bytes(app) } else { app.limits.max_body_bytes };
    // Inbound media bodies may be large: they take room in the upload budget first.
    let _room = match limit > app.limits.max_body_bytes {
        true => Some(app.media.body_room(&parts.headers, limit, 1).ok_or(SimApiError::Busy)?),
        false => None,
    };
    let body = chatedge_serve::read_body(&parts.headers, body, limit)
        .await
        .map_err(|e| invalid(format!("cannot read the body: {e:?}")))?;
    let ok = |v: serde_json::Value| Ok(chatedge_serve::json(StatusCode::OK, &v));
    if phone::label(action).is_some() {
        return ok(phone::serve(app, &sim, action, &body).await?);
    }
    let phone = |p: &str| Phone::parse(p).map_err(|e| invalid(format!("phone: {e}")));
    let instance = |i: &str| InstanceId::parse(i).map_err(|e| invalid(format!("instanceId: {e}")));
    match action {
        "scan" => {
            let s: Scan = serde_json::from_slice(&body).map_err(invalid)?;
            let phone = phone(&s.phone)?;
            let id = sim.scan(&s.qr, phone.clone()).await?;
            ok(json!({"instanceId": id.to_string(), "phone": phone.as_str()}))
        }
        "inbound" => {
            let (id, message, media) = inbound::parse(&body).map_err(invalid)?;
            ok(json!({"messageId": sim.inbound(id, message, media).await?}))
        }
        "drop" => {
            let d: DropConnection = serde_json::from_slice(&body).map_err(invalid)?;
            if d.ms == 0 || d.ms > MAX_DROP_MS {
                return Err(invalid(format!("ms: must be between 1 and {MAX_DROP_MS}")));
            }
            sim.drop_connection(instance(&d.instance_id)?, std::time::Duration::from_millis(d.ms)).await?;
            ok(json!({"value": true}))
        }
        "logout" => {
            let l: Logout = serde_json::from_slice(&body).map_err(invalid)?;
            sim.logout(instance(&l.instance_id)?).await?;
            ok(json!({"value": true}))
        }
        _ => {
            let p: PresenceChange = serde_json::from_slice(&body).map_err(invalid)?;
            sim.presence(instance(&p.instance_id)?, phone(&p.phone)?, p.status).await?;
            ok(json!({"value": true}))
        }
    }
}
