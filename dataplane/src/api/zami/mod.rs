//! zami: the Zami dialect (seed 000; issue 15) under `/zami/v1/`. Seed 000 documents
//! operations but no paths; chatedge's paths are published at `/zami/v1/openapi.json`. The
//! credential is the **account's** secret (an integrator token, `Authorization: <secret>` or
//! `Bearer <secret>`), checked against the token hashes pushed with the account; a
//! `connection_id` is one of the account's instance ids, and one of another account answers
//! exactly as an unknown one. The account's IP allowlist and its send permission (disabled,
//! unpaid) apply as on Z-API routes; Z-API's Client-Token is Z-API's and does not. Sends
//! ([`send`], bodies parsed in [`fields`]) become the core's `OutboundMessage` and are queued
//! through the same shard command as a Z-API send — never a second send path. Media is
//! uploaded and downloaded by id ([`media`], kept by the media store's `uploads`); a
//! connection's webhook ([`webhook`]) receives `message.created`. Errors map to HTTP once
//! ([`error`]), in the seed's `{success, id, error}` shape.

mod error;
mod fields;
mod media;
mod send;
mod webhook;

use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::{InstanceConfig, Snapshot, Tenant};
use chatedge_serve::{Body, Resp};
use hyper::{HeaderMap, Request, StatusCode};

use super::App;
use crate::auth;
pub use error::ZamiError;

const OPENAPI: &str = include_str!("../../../openapi/zami.json");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    /// Public: the OpenAPI document.
    OpenApi,
    /// Made with the account's secret.
    Account(Call),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Call {
    SendText,
    SendMedia,
    Upload,
    Download,
    Webhook,
}

struct Route {
    /// Segments under `/zami/v1/`; `{id}` stands for one segment, handed to the operation.
    path: &'static str,
    methods: &'static str,
    label: &'static str,
    op: Op,
}

static ROUTES: &[Route] = &[
    Route { path: "send-text", methods: "POST", label: "zami.send-text", op: Op::Account(Call::SendText) },
    Route { path: "send-media", methods: "POST", label: "zami.send-media", op: Op::Account(Call::SendMedia) },
    Route { path: "media", methods: "POST", label: "zami.media-upload", op: Op::Account(Call::Upload) },
    Route { path: "media/{id}", methods: "GET", label: "zami.media-download", op: Op::Account(Call::Download) },
    Route {
        path: "connections/{id}/webhook",
        methods: "GET, PUT",
        label: "zami.webhook",
        op: Op::Account(Call::Webhook),
    },
    Route { path: "openapi.json", methods: "GET", label: "zami.openapi", op: Op::OpenApi },
];

/// Serves one request under `/zami/v1/`.
pub async fn handle(app: &App, req: Request<Body>, rest: &[&str]) -> (&'static str, Resp) {
    let Some((route, param)) = ROUTES.iter().find_map(|r| matches(r.path, rest).map(|p| (r, p))) else {
        let e = ZamiError::RouteNotFound { method: req.method().to_string(), path: rest.join("/") };
        app.metrics.refusals.with_label_values(&[e.reason()]).inc();
        return ("zami.unknown", e.into_response());
    };
    let param = param.to_owned();
    match dispatch(app, req, route, &param).await {
        Ok(res) => (route.label, res),
        Err(e) => {
            app.metrics.refusals.with_label_values(&[e.reason()]).inc();
            (route.label, e.into_response())
        }
    }
}

/// Whether `path` fits `pattern`, and the segment `{id}` stood for ("" when none).
fn matches<'a>(pattern: &str, path: &[&'a str]) -> Option<&'a str> {
    let mut param = "";
    let mut segments = path.iter();
    for want in pattern.split('/') {
        let got = segments.next()?;
        match want {
            "{id}" if !got.is_empty() => param = got,
            _ if want == *got => {}
            _ => return None,
        }
    }
    segments.next().is_none().then_some(param)
}

/// The account whose secret `headers` carry, if any (the edge's rate limiter asks too, to
/// count the call against the account's bucket).
pub fn account_for(snapshot: &Snapshot, headers: &HeaderMap) -> Option<Arc<Tenant>> {
    auth::api_key(headers).and_then(|secret| snapshot.account_by_secret(secret)).cloned()
}

async fn dispatch(app: &App, req: Request<Body>, route: &'static Route, param: &str) -> Result<Resp, ZamiError> {
    if !route.methods.split(", ").any(|m| m == req.method().as_str()) {
        return Err(ZamiError::MethodNotAllowed { allowed: route.methods });
    }
    let call = match route.op {
        Op::OpenApi => {
            return Ok(chatedge_serve::bytes(
                StatusCode::OK,
                "application/json",
                Bytes::from_static(OPENAPI.as_bytes()),
            ))
        }
        Op::Account(call) => call,
    };
    // The account's credentials are checked before any body is read.
    let account = caller(app, &req)?;
    match call {
        Call::SendText => send::text(app, &account, req).await,
        Call::SendMedia => send::media(app, &account, req).await,
        Call::Upload => media::upload(app, &account, req).await,
        Call::Download => media::download(app, &account, param).await,
        Call::Webhook => webhook::handle(app, &account, req, param).await,
    }
}

/// The account calling, checked against its IP allowlist.
fn caller(app: &App, req: &Request<Body>) -> Result<Arc<Tenant>, ZamiError> {
    let snapshot = app.config.load();
    let account = account_for(&snapshot, req.headers()).ok_or(ZamiError::Unauthorized)?;
    auth::allowlist(&account, req.headers(), req.extensions().get::<auth::Origin>()).map_err(ZamiError::Refused)?;
    Ok(account)
}

/// The account's connection `id`. Unknown, malformed and another account's ids are one answer;
/// one that another data plane holds is [`ZamiError::Elsewhere`] (its owner checks the account).
fn connection(app: &App, account: &Tenant, id: &str) -> Result<Arc<InstanceConfig>, ZamiError> {
    let snapshot = app.config.load();
    let Ok(id) = chatedge_config::InstanceId::parse(id) else { return Err(ZamiError::UnknownConnection) };
    if let crate::edge::proxy::Where::Elsewhere(node) = crate::edge::proxy::placed(&snapshot, &id, false) {
        return Err(ZamiError::Elsewhere(node));
    }
    snapshot.instances.get(&id).filter(|i| i.tenant == account.id).cloned().ok_or(ZamiError::UnknownConnection)
}

/// The account's connection `id`, allowed to send now.
fn sending_connection(app: &App, account: &Tenant, id: &str) -> Result<Arc<InstanceConfig>, ZamiError> {
    let instance = connection(app, account, id)?;
    auth::may_send(app.config.load().tenants.get(&account.id).map(|t| &**t)).map_err(ZamiError::Refused)?;
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
