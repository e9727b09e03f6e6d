//! `POST webhook-replay {"since": ms, "until"?: ms, "types"?: ["delivery", …]}`: re-sends, with
//! their original ids, every delivered (kept in the history) and dead event of the instance
//! created in `[since, until)` → `{"queued": n}`. At most
//! [`MAX_EVENTS_PER_CALL`](crate::outbox::replay::MAX_EVENTS_PER_CALL) events per call: a
//! larger window is refused whole (nothing queued) with a message saying to narrow it.

use chatedge_config::snapshot::WebhookKind;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::super::fields::{self, Object};
use super::super::{Call, ZapiError};
use super::store_error;
use crate::error::CoreError;
use crate::outbox::replay::{self, ReplayError, Window};

pub async fn replay(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let window = window(&fields::object(&call.body)?)?;
    let (store, notifier, instance) = (call.app.store.clone(), call.app.webhooks.clone(), call.instance.id);
    let done = tokio::task::spawn_blocking(move || replay::replay(&store, &notifier, &instance, &window)).await;
    let queued = match done {
        Ok(Ok(n)) => n,
        Ok(Err(ReplayError::TooMany { max })) => {
            return Err(ZapiError::invalid(
                "Too many events",
                format!("more than {max} events match; narrow the window (a later since, an until, or fewer types)"),
            ))
        }
        Ok(Err(ReplayError::Store(e))) => return Err(store_error(e)),
        Err(e) => return Err(ZapiError::Core(CoreError::StoreFailing(format!("replay task failed: {e}")))),
    };
    call.app.metrics.webhook_requeued.with_label_values(&["replay"]).inc_by(queued as u64);
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"queued": queued})))
}

fn window(o: &Object) -> Result<Window, ZapiError> {
    let since = millis(o, "since")?.ok_or_else(|| ZapiError::invalid("Invalid field", "since is required"))?;
    let until = millis(o, "until")?.unwrap_or(u64::MAX);
    if until <= since {
        return Err(ZapiError::invalid("Invalid field", "until must be later than since"));
    }
    let kinds = match o.get("types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(names)) => names.iter().map(kind).collect::<Result<_, _>>()?,
        Some(_) => return Err(ZapiError::invalid("Invalid field", "types must be an array of webhook types")),
    };
    Ok(Window { since, until, kinds })
}

/// An optional time in Unix milliseconds.
fn millis(o: &Object, field: &str) -> Result<Option<u64>, ZapiError> {
    match o.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_u64() => Ok(n.as_u64()),
        Some(_) => Err(ZapiError::invalid("Invalid field", format!("{field} must be a time in Unix milliseconds"))),
    }
}

fn kind(name: &Value) -> Result<WebhookKind, ZapiError> {
    let known = || WebhookKind::ALL.iter().map(|k| k.name()).collect::<Vec<_>>().join(", ");
    name.as_str().and_then(|n| WebhookKind::ALL.into_iter().find(|k| k.name() == n)).ok_or_else(|| {
        ZapiError::invalid("Invalid field", format!("types: {name} is not a webhook type (one of {})", known()))
    })
}
