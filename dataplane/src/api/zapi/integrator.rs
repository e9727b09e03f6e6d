//! The Z-API integrator routes (seed 001, lines 13515–13800) are the control plane's; a data
//! plane forwards them as they came, credentials included, so a Z-API client can use a single
//! base URL for everything.

use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Request, StatusCode};
use serde_json::json;

use super::ZapiError;
use crate::api::App;
use crate::sync::control::Forwarded;

pub async fn forward(app: &App, req: Request<Incoming>) -> (&'static str, Resp) {
    let label = "zapi.integrator";
    let (parts, body) = req.into_parts();
    let body = match chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return (label, ZapiError::Body(e).into_response()),
    };
    let forwarded = Forwarded {
        method: parts.method,
        path_and_query: parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        authorization: parts.headers.get(hyper::header::AUTHORIZATION).cloned(),
        public_base: Some(app.public_base.clone()),
        body,
    };
    match app.control.forward(forwarded).await {
        Ok((status, body)) => (label, chatedge_serve::bytes(status, "application/json", body)),
        Err(e) => {
            let body = json!({"error": "Control plane unavailable", "message": e.to_string()});
            (label, chatedge_serve::json(StatusCode::SERVICE_UNAVAILABLE, &body))
        }
    }
}
