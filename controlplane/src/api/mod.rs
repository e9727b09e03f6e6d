//! api: the control plane's HTTP surface — the Z-API integrator routes (`/instances/integrator/
//! on-demand`, `GET` and `PUT /instances`, `DELETE /instances/{id}`, subscription and
//! cancellation), the integrator's own account routes (`/integrator/…`: invoices, Client-Token,
//! IP allowlist, an instance's daily limit), the operator's `/admin/…` routes (accounts, tokens, rate
//! limits, instances' daily limits, payments, test clock),
//! the data planes' credentials (`/admin/dataplanes`), the data-plane routes
//! (`/dataplane/v1/…`: config stream, acknowledgements, session reports, forwarded settings) and `/metrics`.
//! Errors use Z-API's shape `{"error", "message"}` and are mapped to HTTP in [`error_response`]
//! only.

mod admin;
mod api_keys;
mod cloud_api;
mod daily_limit;
mod dataplane;
mod dataplanes;
mod integrator;
mod invoices;
mod networks;
mod webhook_guard;

use std::sync::Arc;
use std::time::Instant;

use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Method, Request, StatusCode};
use serde_json::json;
use tokio::sync::watch;

use crate::{ControlPlane, CpError};

/// Largest request body accepted.
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Time a client has to send its whole body (slow-client bound).
const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

pub async fn handle(cp: Arc<ControlPlane>, req: Request<Incoming>, shutdown: watch::Receiver<bool>) -> Resp {
    let started = Instant::now();
    let path = req.uri().path().to_owned();
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (route, result): (&str, Result<Resp, CpError>) = match (req.method(), segments.as_slice()) {
        (&Method::GET, ["metrics"]) => {
            ("metrics", Ok(chatedge_serve::bytes(StatusCode::OK, "text/plain; version=0.0.4", cp.metrics.render())))
        }
        (&Method::GET, ["healthz"]) => {
            let v = cp.registry_read(|r| r.version);
            ("healthz", Ok(chatedge_serve::json(StatusCode::OK, &json!({"status": "ok", "configVersion": v}))))
        }
        (&Method::POST, ["instances", "integrator", "on-demand"]) => {
            ("integrator.create", integrator::create(&cp, req).await)
        }
        (&Method::GET, ["instances"]) => ("integrator.list", integrator::list(&cp, req).await),
        (method, ["instances", "integrator", id, "api-keys", rest @ ..]) => {
            let id = id.to_string();
            match (method, rest) {
                (&Method::POST, []) => ("integrator.api-keys.issue", api_keys::issue(&cp, req, &id).await),
                (&Method::GET, []) => ("integrator.api-keys.list", api_keys::list(&cp, req, &id).await),
                (&Method::DELETE, [key]) => {
                    let key = key.to_string();
                    ("integrator.api-keys.revoke", api_keys::revoke(&cp, req, &id, &key).await)
                }
                _ => not_found(&path),
            }
        }
        (_, ["admin", rest @ ..]) => match admin::handle(&cp, req, rest).await {
            Some((label, r)) => (label, r),
            None => not_found(&path),
        },
        (_, ["integrator", rest @ ..]) => match invoices::handle(&cp, req, rest).await {
            Some((label, r)) => (label, r),
            None => not_found(&path),
        },
        (&Method::DELETE, ["instances", id]) => {
            let id = id.to_string();
            ("integrator.delete", integrator::delete(&cp, &req, &id).await)
        }
        (&Method::GET, ["dataplane", "v1", "config", "stream"]) => {
            ("dataplane.stream", dataplane::stream(&cp, &req, shutdown).await)
        }
        (&Method::POST, ["dataplane", "v1", "config", "ack"]) => ("dataplane.ack", dataplane::ack(&cp, req).await),
        (&Method::POST, ["dataplane", "v1", "report"]) => ("dataplane.report", dataplane::report(&cp, req).await),
        (&Method::GET, ["dataplane", "v1", "instances", id, "stats"]) => {
            let id = id.to_string();
            ("dataplane.stats", dataplane::stats(&cp, &req, &id).await)
        }
        (&Method::POST, ["dataplane", "v1", "instances", id, "settings"]) => {
            let id = id.to_string();
            ("dataplane.settings", dataplane::settings(&cp, req, &id).await)
        }
        (&Method::PUT, ["instances"]) => ("integrator.rename", integrator::rename(&cp, req).await),
        (
            &Method::POST,
            ["instances", id, "token", token, "integrator", "on-demand", which @ ("subscription" | "cancel")],
        ) => {
            let (id, token) = (id.to_string(), token.to_string());
            let which = match *which {
                "subscription" => integrator::Lifecycle::Subscribe,
                _ => integrator::Lifecycle::Cancel,
            };
            ("integrator.lifecycle", integrator::lifecycle(&cp, &req, &id, &token, which).await)
        }
        _ => (
            "not_found",
            Err(CpError::refused(404, "Route not found", format!("no route for {} {path}", req.method()))),
        ),
    };
    let res = result.unwrap_or_else(|e| {
        cp.metrics.refusals.with_label_values(&[route]).inc();
        error_response(&e)
    });
    cp.metrics.http_requests.with_label_values(&[route, res.status().as_str()]).inc();
    cp.metrics.http_seconds.with_label_values(&[route]).observe(started.elapsed().as_secs_f64());
    res
}

fn not_found(path: &str) -> (&'static str, Result<Resp, CpError>) {
    ("not_found", Err(CpError::refused(404, "Route not found", format!("no route for {path}"))))
}

/// The one mapping from a control-plane error to HTTP.
pub fn error_response(e: &CpError) -> Resp {
    let (status, error, message) = match e {
        CpError::Refused { status, error, message } => {
            (StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST), *error, message.clone())
        }
        CpError::Store(e) => {
            tracing::error!(error = %e, "control plane storage failure");
            (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", "storage failure; retry later".into())
        }
        other => (StatusCode::INTERNAL_SERVER_ERROR, "Internal error", other.to_string()),
    };
    chatedge_serve::json(status, &json!({"error": error, "message": message}))
}

/// The request body, bounded in size and time.
async fn body_bytes(req: Request<Incoming>) -> Result<bytes::Bytes, CpError> {
    let (parts, body) = req.into_parts();
    let read = chatedge_serve::read_body(&parts.headers, body, MAX_BODY_BYTES);
    tokio::time::timeout(BODY_TIMEOUT, read)
        .await
        .map_err(|_| CpError::refused(408, "Request timeout", "the body did not arrive in time"))?
        .map_err(|e| CpError::refused(400, "Bad request", format!("cannot read body: {e:?}")))
}

/// The request body as JSON, bounded; refusals say what is wrong.
async fn json_body<T: serde::de::DeserializeOwned>(req: Request<Incoming>) -> Result<T, CpError> {
    let bytes = body_bytes(req).await?;
    serde_json::from_slice(&bytes).map_err(|e| CpError::refused(400, "Invalid JSON", e.to_string()))
}

/// Like [`json_body`], `None` for an empty body.
async fn optional_json<T: serde::de::DeserializeOwned>(req: Request<Incoming>) -> Result<Option<T>, CpError> {
    let bytes = body_bytes(req).await?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes).map(Some).map_err(|e| CpError::refused(400, "Invalid JSON", e.to_string()))
}

/// A body that may be empty or a JSON object (a GET carrying parameters), as a JSON value
/// (`null` when empty).
async fn optional_json_body(req: Request<Incoming>) -> Result<serde_json::Value, CpError> {
    Ok(optional_json(req).await?.unwrap_or(serde_json::Value::Null))
}
