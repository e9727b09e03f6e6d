//! The router: picks the dialect from the path. `/instances/{id}/token/{token}/…` is Z-API;
//! the Z-API integrator routes (`/instances/integrator/…`, `GET` and `PUT /instances`,
//! `DELETE /instances/{id}`) are forwarded to the control plane so a Z-API client needs one
//! base URL; `/sim/…` is the simulated network's admin surface; `/media/…` serves received
//! media by signed link; `/network/cloud-api/{id}/webhook` is the Cloud API's webhook (issue
//! 12); `/zami/v1/…` is the Zami dialect (issue 15, seed 000); `/zapini/…` the Zapini
//! dialect (issue 15, seed 002); `/v1/…` is the Chat Inc
//! campaign dialect (issue 14, seed 003) and `/admin/clock` its
//! test clock; `/openapi.json` is the Z-API dialect's OpenAPI document; `/metrics`
//! and `/healthz` are for operators.

use chatedge_serve::Body;
use chatedge_serve::Resp;
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use crate::api::{chatinc, media, network, sim, zami, zapi, zapini, App};

/// The Z-API integrator routes at the root, as (path pattern, methods): what the OpenAPI
/// document's root paths are checked against (seed 001, lines 13515–13800; `PUT /instances`
/// renames, from Z-API's own example; `DELETE /instances/{id}` is chatedge's own).
#[allow(dead_code)] // read by the OpenAPI contract test
pub const CONTROL_PLANE_ROUTES: &[(&str, &str)] =
    &[("instances/integrator/on-demand", "POST"), ("instances", "GET, PUT"), ("instances/{id}", "DELETE")];

/// Whether a request is an integrator route the control plane answers. Anything under
/// `instances/integrator/` goes there whatever its method, so the control plane answers
/// unknown ones itself.
pub fn to_control_plane(method: &Method, segments: &[&str]) -> bool {
    matches!(
        (method, segments),
        (_, ["instances", "integrator", ..])
            | (&Method::GET | &Method::PUT, ["instances"])
            | (&Method::DELETE, ["instances", _])
    )
}

/// Returns the bounded route label, the dialect label and the answer.
pub async fn route(app: &App, req: Request<Body>) -> (&'static str, &'static str, Resp) {
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    match (req.method(), segments.as_slice()) {
        (&Method::GET, ["metrics"]) if app.metrics_public => {
            ("metrics", "ops", chatedge_serve::bytes(StatusCode::OK, "text/plain; version=0.0.4", app.metrics.render()))
        }
        (&Method::GET, ["healthz"]) => ("healthz", "ops", health(app)),
        (&Method::GET, ["openapi.json"]) => {
            ("openapi", "zapi", chatedge_serve::bytes(StatusCode::OK, "application/json", crate::api::openapi::body()))
        }
        (method, segments) if to_control_plane(method, segments) => {
            let (label, res) = zapi::integrator::forward(app, req).await;
            (label, "zapi", res)
        }
        (_, ["instances", id, "token", token, rest @ ..]) => {
            let (label, res) = zapi::handle(app, req, id, token, rest).await;
            (label, "zapi", res)
        }
        (&Method::GET, ["media", name]) => {
            ("media", "media", media::serve(app, name, req.uri().query().unwrap_or("")).await)
        }
        (_, ["network", "cloud-api", id, "webhook"]) => {
            let (label, res) = network::cloud_api::handle(app, req, id).await;
            (label, "network", res)
        }
        (_, ["zami", "v1", rest @ ..]) => {
            let (label, res) = zami::handle(app, req, rest).await;
            (label, "zami", res)
        }
        (_, ["zapini", rest @ ..]) => {
            let (label, res) = zapini::handle(app, req, rest).await;
            (label, "zapini", res)
        }
        (_, ["v1", rest @ ..]) => {
            let (label, res) = chatinc::handle(app, req, rest).await;
            (label, "chatinc", res)
        }
        (_, ["admin", "clock"]) => ("admin.clock", "ops", chatinc::clock(app, req).await),
        (_, ["sim", action]) => {
            let (label, res) = sim::handle(app, req, action).await;
            (label, "sim", res)
        }
        _ => {
            let body =
                json!({"error": "Route not found", "message": format!("no route for {} {}", req.method(), path)});
            ("not_found", "none", chatedge_serve::json(StatusCode::NOT_FOUND, &body))
        }
    }
}

/// `/healthz`: 200 `{"status": "ok"}` while the store accepts writes; 503 with the store's
/// reason while it does not (a full disk, a RocksDB background error), so a load balancer
/// stops sending traffic that would only be refused.
fn health(app: &App) -> chatedge_serve::Resp {
    let version = app.sync.version();
    match app.store.health().reason() {
        None => chatedge_serve::json(StatusCode::OK, &json!({"status": "ok", "configVersion": version})),
        Some(reason) => chatedge_serve::json(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({"status": "unhealthy", "store": reason, "configVersion": version}),
        ),
    }
}
