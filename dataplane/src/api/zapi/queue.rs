//! Queue routes (seed 001, lines 9354–9545): list (paged), count, delete all, delete one.
//!
//! The message on the wire (handed to the network, awaiting its answer) is in the queue until
//! the network answers: counted once and listed first. `DELETE queue` removes every waiting
//! message and answers `"inFlight": true` when one was on the wire and stays (it cannot be
//! recalled); `DELETE queue/{zaapId}` of that message answers 409.
//!
//! `DELETE queue/{x}`: seed 001's own curl example deletes `queue/5511999999999`, a phone
//! number, while its text says zaapId. So `x` of 32 hex digits is a zaapId (that message is
//! removed); `x` that is a phone number removes the waiting messages to that recipient, at most
//! `queue::MAX_REMOVE_PER_CALL` per call (`"more": true` says to call again); anything else is
//! 404 like an unknown zaapId. A zaapId is never a valid phone (phones have at most 15 digits),
//! so the two readings never collide.

use chatedge_config::{Phone, ZaapId};
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::json;

use super::{Call, ZapiError};
use crate::error::CoreError;
use crate::shard::{Command, QueueTarget};

/// Largest page served.
const MAX_PAGE_SIZE: usize = 1000;

fn number(call: &Call<'_>, name: &str, default: usize, max: usize) -> Result<usize, ZapiError> {
    match chatedge_serve::query_param(call.query.as_deref(), name) {
        None => Ok(default),
        Some(v) => v.parse::<usize>().ok().filter(|n| (1..=max).contains(n)).ok_or_else(|| {
            ZapiError::invalid("Invalid field", format!("{name} must be a whole number from 1 to {max}"))
        }),
    }
}

/// Z-API lists queued messages with capitalised field names (seed 001, line 9410).
pub async fn list(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let page = number(call, "page", 1, usize::MAX / MAX_PAGE_SIZE)?;
    let size = number(call, "pageSize", 100, MAX_PAGE_SIZE)?;
    let instance = call.instance.id;
    let messages = call.app.shards.call(&instance, |reply| Command::QueuePage { instance, page, size, reply }).await?;
    let trial = call.instance.payment_status.eq_ignore_ascii_case("TRIAL");
    let items: Vec<_> = messages
        .iter()
        .map(|m| {
            json!({
                "_id": m.zaap_id.to_string(),
                "DelayMessage": m.delay_message_s.map(i64::from).unwrap_or(-1),
                "Message": m.content.preview(),
                "IsTrial": trial,
                "InstanceId": m.instance.to_string(),
                "Phone": m.phone.as_str(),
                "ZaapId": m.zaap_id.to_string(),
                "DelayTyping": m.delay_typing_s.unwrap_or(0),
                "MessageId": m.message_id.to_string(),
                "Created": m.created_ms,
            })
        })
        .collect();
    Ok(chatedge_serve::json(StatusCode::OK, &items))
}

pub async fn count(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let instance = call.instance.id;
    let n = call.app.shards.ask(&instance, |reply| Command::QueueCount { instance, reply }).await?;
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"count": n})))
}

pub async fn clear(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let instance = call.instance.id;
    let c = call.app.shards.call(&instance, |reply| Command::QueueClear { instance, reply }).await?;
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": true, "deleted": c.removed, "inFlight": c.in_flight})))
}

pub async fn remove(call: &Call<'_>, target: &str) -> Result<Resp, ZapiError> {
    let target = match (ZaapId::parse(target), Phone::parse(target)) {
        (Ok(zaap), _) => QueueTarget::Zaap(zaap),
        (_, Ok(phone)) => QueueTarget::Phone(phone),
        _ => return Err(ZapiError::Core(CoreError::NotInQueue)),
    };
    let by_phone = matches!(target, QueueTarget::Phone(_));
    let instance = call.instance.id;
    let r = call.app.shards.call(&instance, |reply| Command::QueueRemove { instance, target, reply }).await?;
    let body = if by_phone {
        json!({"value": true, "deleted": r.removed, "inFlight": r.in_flight, "more": r.more})
    } else {
        json!({"value": true})
    };
    Ok(chatedge_serve::json(StatusCode::OK, &body))
}
