//! The Z-API integrator routes (seed 001, lines 13515–13800) are the control plane's; a data
//! plane forwards them as they came, credentials included, so a Z-API client can use a single
//! base URL for everything. Credentials come before the body (issue 11 §2): a request without
//! a bearer token is refused at once, and one that carries a body has its token judged by the
//! control plane (a body-less `GET /instances?pageSize=1` with the same credentials) before
//! a byte of its body is read — an anonymous client cannot make the edge buffer 1 MiB.

use bytes::Bytes;
use chatedge_serve::{Body, Resp};
use hyper::header::{AUTHORIZATION, TRANSFER_ENCODING};
use hyper::http::request::Parts;
use hyper::{Method, Request, StatusCode};
use serde_json::json;

use super::ZapiError;
use crate::api::App;
use crate::sync::control::Forwarded;

pub async fn forward(app: &App, req: Request<Body>) -> (&'static str, Resp) {
    let label = "zapi.integrator";
    let (parts, body) = req.into_parts();
    if let Err(refused) = credentials_first(app, &parts).await {
        app.metrics.refusals.with_label_values(&["integrator_unauthorized"]).inc();
        return (label, refused);
    }
    let body = match chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(e) => return (label, ZapiError::Body(e).into_response()),
    };
    let forwarded = Forwarded {
        method: parts.method,
        path_and_query: parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default(),
        authorization: parts.headers.get(AUTHORIZATION).cloned(),
        public_base: Some(app.public_base.clone()),
        body,
    };
    match app.control.forward(forwarded).await {
        Ok((status, body)) => (label, chatedge_serve::bytes(status, "application/json", body)),
        Err(e) => (label, unavailable(e)),
    }
}

/// `Err` with the answer when the request's credentials are missing or refused; `Ok` when
/// its body may be read. A body-less request goes straight on: the control plane judges its
/// credentials when it answers it.
async fn credentials_first(app: &App, parts: &Parts) -> Result<(), Resp> {
    if chatedge_serve::bearer(&parts.headers).is_none() {
        let body = json!({"error": "Unauthorized", "message": "Authorization: Bearer <integrator token> required"});
        return Err(chatedge_serve::json(StatusCode::UNAUTHORIZED, &body));
    }
    let carries_body = chatedge_serve::declared_length(&parts.headers).is_some_and(|n| n > 0)
        || parts.headers.contains_key(TRANSFER_ENCODING);
    if !carries_body {
        return Ok(());
    }
    let probe = Forwarded {
        method: Method::GET,
        path_and_query: "/instances?pageSize=1".into(),
        authorization: parts.headers.get(AUTHORIZATION).cloned(),
        public_base: None,
        body: Bytes::new(),
    };
    match app.control.forward(probe).await {
        Ok((status, body)) if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) => {
            Err(chatedge_serve::bytes(status, "application/json", body))
        }
        Ok(_) => Ok(()),
        Err(e) => Err(unavailable(e)),
    }
}

fn unavailable(e: impl std::fmt::Display) -> Resp {
    let body = json!({"error": "Control plane unavailable", "message": e.to_string()});
    chatedge_serve::json(StatusCode::SERVICE_UNAVAILABLE, &body)
}
