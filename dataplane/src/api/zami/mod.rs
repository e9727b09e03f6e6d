//! zami: the Zami dialect (seed 000; issue 15) under `/zami/v1/`. Seed 000 documents
//! operations but no paths; chatedge's paths are published at `/zami/v1/openapi.json`. The
//! credential is the **account's** secret (an integrator token, `Authorization: <secret>` or
//! `Bearer <secret>`), checked against the token hashes pushed with the account; a
//! `connection_id` is one of the account's instance ids, and one of another account answers
//! exactly as an unknown one. The account's IP allowlist and its send permission (disabled,
//! unpaid) apply as on Z-API routes; Z-API's Client-Token is Z-API's and does not. A send is
//! parsed here ([`fields`]) into the core's `OutboundMessage` and queued through the same
//! shard command as a Z-API send — never a second send path. Errors map to HTTP once
//! ([`error`]), in the seed's `{success, id, error}` shape.

mod error;
mod fields;

use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::{InstanceConfig, Snapshot, Tenant};
use chatedge_serve::{Body, Resp};
use hyper::{HeaderMap, Request, StatusCode};
use serde_json::json;

use super::App;
use crate::auth;
use crate::idempotency::Claim;
use crate::queue::{Content, OutboundMessage};
use crate::shard::Command;
pub use error::ZamiError;

const OPENAPI: &str = include_str!("../../../openapi/zami.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    SendText,
    OpenApi,
}

struct Route {
    path: &'static str,
    methods: &'static str,
    label: &'static str,
    op: Op,
}

static ROUTES: &[Route] = &[
    Route { path: "send-text", methods: "POST", label: "zami.send-text", op: Op::SendText },
    Route { path: "openapi.json", methods: "GET", label: "zami.openapi", op: Op::OpenApi },
];

/// Serves one request under `/zami/v1/`.
pub async fn handle(app: &App, req: Request<Body>, rest: &[&str]) -> (&'static str, Resp) {
    let path = rest.join("/");
    let Some(route) = ROUTES.iter().find(|r| r.path == path) else {
        let e = ZamiError::RouteNotFound { method: req.method().to_string(), path };
        app.metrics.refusals.with_label_values(&[e.reason()]).inc();
        return ("zami.unknown", e.into_response());
    };
    match dispatch(app, req, route).await {
        Ok(res) => (route.label, res),
        Err(e) => {
            app.metrics.refusals.with_label_values(&[e.reason()]).inc();
            (route.label, e.into_response())
        }
    }
}

/// The account whose secret `headers` carry, if any (the edge's rate limiter asks too, to
/// count the call against the account's bucket).
pub fn account_for(snapshot: &Snapshot, headers: &HeaderMap) -> Option<Arc<Tenant>> {
    auth::api_key(headers).and_then(|secret| snapshot.account_by_secret(secret)).cloned()
}

async fn dispatch(app: &App, req: Request<Body>, route: &'static Route) -> Result<Resp, ZamiError> {
    if !route.methods.split(", ").any(|m| m == req.method().as_str()) {
        return Err(ZamiError::MethodNotAllowed { allowed: route.methods });
    }
    match route.op {
        Op::OpenApi => {
            Ok(chatedge_serve::bytes(StatusCode::OK, "application/json", Bytes::from_static(OPENAPI.as_bytes())))
        }
        Op::SendText => send_text(app, req).await,
    }
}

/// `POST /zami/v1/send-text {connection_id, recipient, body, reply_to_id?}` → `{"success":
/// true, "id": <message id>, "error": null}` once the message is durably queued.
async fn send_text(app: &App, req: Request<Body>) -> Result<Resp, ZamiError> {
    let account = {
        let snapshot = app.config.load();
        let account = account_for(&snapshot, req.headers()).ok_or(ZamiError::Unauthorized)?;
        auth::allowlist(&account, req.headers(), req.extensions().get::<auth::Origin>()).map_err(ZamiError::Refused)?;
        account
    };
    let (parts, body) = req.into_parts();
    let body =
        chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes).await.map_err(ZamiError::Body)?;
    let send = fields::send_text(&body)?;
    let instance = connection(app, &account, &send.connection_id)?;
    let mut message = OutboundMessage::new(instance.id, send.recipient, Content::text(send.body));
    message.reply_to = send.reply_to_id;
    let idempotency = Claim::read(&parts.headers, &instance.id, "zami.send-text", None, &body)
        .map_err(|e| ZamiError::invalid("Idempotency-Key", e.to_string()))?;
    let answer = json!({"success": true, "id": message.message_id.to_string(), "error": null});
    let answer = Bytes::from(serde_json::to_vec(&answer).unwrap_or_default());
    let idempotency = idempotency.map(|c| Claim { answer: answer.clone(), ..c });
    let accepted = app.shards.call(&instance.id, |reply| Command::Enqueue { message, reply, idempotency }).await?;
    accepted.answer(answer).ok_or(ZamiError::IdempotencyConflict)
}

/// The account's connection `id`, allowed to send now. Unknown, malformed and another
/// account's ids are one answer.
fn connection(app: &App, account: &Tenant, id: &str) -> Result<Arc<InstanceConfig>, ZamiError> {
    let snapshot = app.config.load();
    let instance = chatedge_config::InstanceId::parse(id)
        .ok()
        .and_then(|id| snapshot.instances.get(&id))
        .filter(|i| i.tenant == account.id)
        .cloned()
        .ok_or(ZamiError::UnknownConnection)?;
    auth::may_send(snapshot.tenants.get(&account.id).map(|t| &**t)).map_err(ZamiError::Refused)?;
    if !instance.active {
        return Err(ZamiError::Inactive);
    }
    Ok(instance)
}

/// Every route as (path under `/zami/v1/`, methods): what the OpenAPI document is checked
/// against.
#[cfg(test)]
pub fn documented() -> Vec<(&'static str, &'static str)> {
    ROUTES.iter().map(|r| (r.path, r.methods)).collect()
}

#[cfg(test)]
mod tests;
