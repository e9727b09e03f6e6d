//! `GET webhook-failures?page=&pageSize=`: the instance's dead letters, newest first, in Z-API's
//! camelCase (`eventId`, `type`, `url` without its query string, `createdAt`, `failedAt`,
//! `attempts`, `lastError`, `body` — the event as it was POSTed). `POST
//! webhook-failures/{eventId}/retry`: the event goes back to the tail of the outbox with the
//! same id (so the same `webhook-id`) and its dead letter is removed, in one batch.
//!
//! Paging walks keys from the newest, so its depth is bounded ([`MAX_SKIP`]); a page holds at
//! most [`MAX_PAGE_SIZE`].

use chatedge_config::EventId;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::super::{Call, ZapiError};
use super::blocking;
use crate::outbox::dead_letter::{self, DeadLetter};
use crate::outbox::replay;
use crate::store::Batch;

/// Largest page served.
pub const MAX_PAGE_SIZE: usize = 100;
const DEFAULT_PAGE_SIZE: usize = 50;
/// Deepest dead letter a page may start at (skipping is a walk over keys).
pub const MAX_SKIP: usize = 100_000;

pub async fn list(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let size = number(call, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)?;
    let page = number(call, "page", 1, MAX_SKIP / size + 1)?;
    let (store, instance) = (call.app.store.clone(), call.instance.id);
    let letters = blocking(move || dead_letter::page(&store, &instance, page, size)).await?;
    let items: Vec<Value> = letters.iter().map(|l| shown(call, l)).collect();
    Ok(chatedge_serve::json(StatusCode::OK, &items))
}

/// A dead letter as listed. The URL is the one the event's kind has now (where a retry would
/// go), without its query string.
fn shown(call: &Call<'_>, l: &DeadLetter) -> Value {
    let e = &l.event;
    let body: &[u8] = e.body.as_ref();
    json!({
        "eventId": e.id.to_string(),
        "type": e.kind.name(),
        "url": call.instance.webhooks.get(e.kind).map(|u| u.redacted()),
        "createdAt": e.created_ms,
        "failedAt": l.dead_ms,
        "attempts": e.attempts,
        "lastError": l.reason,
        "body": serde_json::from_slice::<Value>(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned())),
    })
}

pub async fn retry(call: &Call<'_>, event_id: &str) -> Result<Resp, ZapiError> {
    let id = parse_event_id(event_id)?;
    let (store, instance) = (call.app.store.clone(), call.instance.id);
    let requeued = blocking(move || {
        let Some(letter) = dead_letter::find(&store, &instance, &id)? else { return Ok(None) };
        let mut batch = Batch::new();
        let key = crate::outbox::requeue(&mut batch, &letter.event);
        dead_letter::remove(&mut batch, &letter.key);
        replay::commit(&store, batch)?;
        Ok(Some(key))
    })
    .await?;
    let Some(key) = requeued else {
        return Err(ZapiError::NotFound {
            error: "Event not found",
            message: format!("no failed webhook event {event_id} for this instance (delivered, retried or pruned)"),
        });
    };
    call.app.webhooks.notify(vec![key]);
    call.app.metrics.webhook_requeued.with_label_values(&["retry"]).inc();
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true})))
}

/// An event id as listed (32 hex digits) or as sent in `webhook-id` (`evt_` + the same).
fn parse_event_id(s: &str) -> Result<EventId, ZapiError> {
    EventId::parse(s.strip_prefix("evt_").unwrap_or(s)).map_err(|_| {
        ZapiError::invalid("Invalid eventId", "eventId must be 32 hex digits, as listed by webhook-failures")
    })
}

fn number(call: &Call<'_>, name: &str, default: usize, max: usize) -> Result<usize, ZapiError> {
    match chatedge_serve::query_param(call.query.as_deref(), name) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            ZapiError::invalid("Invalid field", format!("{name} must be a whole number from 1 to {max}"))
        }),
    }
}
