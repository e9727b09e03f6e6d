//! `GET …/webhook-endpoints`: each distinct URL the instance's webhooks point at (query string
//! removed), with its kinds, state (`healthy`, `failing`, `open`, `disabled`), an estimate of
//! its pending events, its last error and since when. `POST …/webhook-endpoints/enable
//! {"url"}` re-enables a disabled one (its new events are delivered again; the ones that went
//! to dead letters stay there, to be retried from `webhook-failures`). Runs on the edge runtime.

use chatedge_config::snapshot::WebhookKind;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};
use tokio::sync::oneshot;

use super::super::fields;
use super::super::{Call, ZapiError};
use crate::outbox::dispatcher::Control;
use chatedge_config::redact as redacted;

fn unavailable() -> ZapiError {
    ZapiError::Core(crate::error::CoreError::ShuttingDown)
}

pub async fn list(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let (reply, rx) = oneshot::channel();
    if !call.app.webhooks.control(Control::List { instance: call.instance.id, reply }).await {
        return Err(unavailable());
    }
    let views = rx.await.map_err(|_| unavailable())?;
    let out: Vec<Value> = views
        .into_iter()
        .map(|v| {
            let kinds: Vec<&str> = WebhookKind::ALL
                .iter()
                .filter(|k| call.instance.webhooks.get(**k).is_some_and(|u| u.as_str() == v.url))
                .map(|k| k.name())
                .collect();
            json!({
                "url": redacted(&v.url),
                "kinds": kinds,
                "state": v.state,
                "pending": v.pending,
                "lastError": v.last_error,
                "since": v.since_ms,
            })
        })
        .collect();
    Ok(chatedge_serve::json(StatusCode::OK, &out))
}

pub async fn enable(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let o = fields::object(&call.body)?;
    let url = fields::text(&o, "url", 2048, false)?
        .ok_or_else(|| ZapiError::invalid("Invalid webhook url", "url is required: the endpoint to re-enable"))?;
    let url = url.trim();
    // The integrator may name it as the list shows it (without the query string).
    let configured = WebhookKind::ALL
        .iter()
        .filter_map(|k| call.instance.webhooks.get(*k))
        .find(|u| u.as_str() == url || redacted(u.as_str()) == url)
        .map(|u| u.as_str().to_owned());
    let Some(configured) = configured else {
        return Err(ZapiError::invalid(
            "Invalid webhook url",
            format!("{} is not one of this instance's webhook URLs", redacted(url)),
        ));
    };
    let (reply, rx) = oneshot::channel();
    let request = Control::Enable { instance: call.instance.id, url: configured, reply };
    if !call.app.webhooks.control(request).await {
        return Err(unavailable());
    }
    let was_disabled = rx.await.map_err(|_| unavailable())?.map_err(|e| ZapiError::Core(e.into()))?;
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true, "wasDisabled": was_disabled})))
}
