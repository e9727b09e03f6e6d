//! A Zami connection's webhook (seed 000 documents the event, not how it is set):
//! `PUT /zami/v1/connections/{id}/webhook {"url"}` sets where `message.created` goes and puts
//! the connection's webhooks in Zami's shape (`null` or `""` clears it); `GET` answers the URL
//! set. The change goes through the same settings path as Z-API's `update-webhook-received`,
//! which puts the connection back in Z-API's shape.

use chatedge_config::settings::{SettingChange, SettingsPatch};
use chatedge_config::snapshot::{WebhookDialect, WebhookKind};
use chatedge_config::{Tenant, WebhookUrl};
use chatedge_serve::{Body, Resp};
use hyper::{Method, Request, StatusCode};
use serde_json::{json, Value};

use super::{connection, App, ZamiError};
use crate::api::settings::{self, SettingsError};

/// Longest webhook URL taken.
const MAX_URL_LEN: usize = 2048;

pub async fn handle(app: &App, account: &Tenant, req: Request<Body>, id: &str) -> Result<Resp, ZamiError> {
    let instance = connection(app, account, id)?;
    if req.method() == Method::GET {
        let url =
            instance.webhooks.get(WebhookKind::Received).filter(|_| instance.webhooks.dialect == WebhookDialect::Zami);
        let answer = json!({"success": true, "url": url.map(|u| u.as_str()), "error": null});
        return Ok(chatedge_serve::json(StatusCode::OK, &answer));
    }
    let (parts, body) = req.into_parts();
    let body =
        chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes).await.map_err(ZamiError::Body)?;
    let url = url(&body, app)?;
    let patch = SettingsPatch {
        changes: vec![
            SettingChange::Webhook { kind: WebhookKind::Received, url: url.clone() },
            SettingChange::WebhookDialect(WebhookDialect::Zami),
        ],
    };
    settings::change(app, &instance.id, &patch).await.map_err(|e| match e {
        SettingsError::RefusedUrl(message) => ZamiError::invalid("url", message),
        other => ZamiError::Settings(other),
    })?;
    let answer = json!({"success": true, "url": url.as_ref().map(|u| u.as_str()), "error": null});
    Ok(chatedge_serve::json(StatusCode::OK, &answer))
}

/// The body's `url`: a webhook URL, or `None` (null or empty) to clear it.
fn url(body: &bytes::Bytes, app: &App) -> Result<Option<WebhookUrl>, ZamiError> {
    let o = match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => o,
        Ok(_) => return Err(ZamiError::invalid("body", "the body must be a JSON object")),
        Err(e) => return Err(ZamiError::invalid("body", format!("the body is not JSON: {e}"))),
    };
    let raw = match o.get("url") {
        None => return Err(ZamiError::invalid("url", "url is required (null or \"\" clears the webhook)")),
        Some(Value::Null) => return Ok(None),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(None),
        Some(Value::String(s)) if s.len() > MAX_URL_LEN => {
            return Err(ZamiError::invalid("url", format!("url is longer than {MAX_URL_LEN} characters")))
        }
        Some(Value::String(s)) => s.trim(),
        Some(_) => return Err(ZamiError::invalid("url", "url must be a string")),
    };
    WebhookUrl::parse(raw, app.url_policy)
        .map(Some)
        .map_err(|e| ZamiError::invalid("url", format!("{}: {e}", chatedge_config::redact(raw))))
}
