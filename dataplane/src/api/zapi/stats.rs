//! `GET /instances/{id}/token/{token}/stats` (issue 10 §5; the fields are those of Zapini's
//! `GET /instances/{id}/stats`, seed 002: `messages_sent_today`, `messages_received_today`,
//! `daily_limit`, `remaining_quota`, `messages_this_month`). The counts live in the control
//! plane, which every data plane reports them to (`sync::report`); this node has checked the
//! instance's token and account security and asks the control plane with its own node
//! credential, answering what it answers. Nothing is stored here. Without the control plane
//! the route answers 503 saying so; sends are unaffected (the daily limit is enforced from the
//! pushed configuration, `shard::daily_quota`).

use bytes::Bytes;
use chatedge_serve::Resp;
use hyper::{Method, StatusCode};
use serde_json::json;

use super::{Call, ZapiError};
use crate::sync::control::Forwarded;

pub async fn stats(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let ask = Forwarded {
        method: Method::GET,
        path_and_query: format!("/dataplane/v1/instances/{}/stats", call.instance.id),
        authorization: Some(call.app.node_authorization.clone()),
        public_base: None,
        body: Bytes::new(),
    };
    match call.app.control.forward(ask).await {
        Ok((status, body)) if status.is_success() => Ok(chatedge_serve::bytes(status, "application/json", body)),
        // The control plane no longer has it (removed since this node's snapshot): as unknown.
        Ok((StatusCode::NOT_FOUND, _)) => Err(ZapiError::Unauthorized),
        Ok((status, _)) => Ok(unavailable(format!("the control plane answered {status}"))),
        Err(e) => Ok(unavailable(e.to_string())),
    }
}

fn unavailable(why: String) -> Resp {
    let body = json!({
        "error": "Control plane unavailable",
        "message": format!("{why}; statistics need the control plane, messages are still accepted"),
    });
    chatedge_serve::json(StatusCode::SERVICE_UNAVAILABLE, &body)
}
