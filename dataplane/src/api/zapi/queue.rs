//! Queue routes (seed 001, lines 9354–9545): list (paged), count, delete all, delete one; and
//! the cursor-paged list `POST /queue` that Z-API's documentation added in April 2026 when it
//! deprecated `GET /queue` (after seed 001 was taken), so clients written since then work too.
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

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chatedge_config::{Phone, ZaapId};
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::fields::{self, Object};
use super::{Call, ZapiError};
use crate::error::CoreError;
use crate::queue::OutboundMessage;
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

/// Z-API lists queued messages with capitalised field names (seed 001, line 9410), as a bare
/// array: the seed's table names a `messages` attribute, but its example (and every version of
/// Z-API's documentation since 2022) shows the list itself. `count` (seed 001, line 9369: "used
/// to return the number of messages in the queue") answers as `queue/count` does.
pub async fn list(call: &Call<'_>) -> Result<Resp, ZapiError> {
    if asks_count(call.query.as_deref()) {
        return count(call).await;
    }
    let page = number(call, "page", 1, usize::MAX / MAX_PAGE_SIZE)?;
    let size = number(call, "pageSize", 100, MAX_PAGE_SIZE)?;
    let instance = call.instance.id;
    let messages = call.app.shards.call(&instance, |reply| Command::QueuePage { instance, page, size, reply }).await?;
    let trial = is_trial(call);
    let items: Vec<_> = messages.iter().map(|m| item(m, trial)).collect();
    Ok(chatedge_serve::json(StatusCode::OK, &items))
}

/// `POST /queue` (Z-API's documentation, "Fila", 2026-04): `{"pageSize", "pagingState"}`, both
/// optional, answering `{"messages", "pagingState", "hasMore"}`. Pages hold 20 messages unless
/// `pageSize` says otherwise, 30 at the most (Z-API's limit: more is served as 30). The cursor
/// is where the next page starts, so messages sent or removed meanwhile neither repeat nor
/// shift a page; a cursor whose messages have all left starts at the head.
pub async fn list_from_cursor(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let o = match call.body.iter().all(u8::is_ascii_whitespace) {
        true => Object::new(),
        false => fields::object(&call.body)?,
    };
    let size = cursor_page_size(&o)?;
    let from = match fields::text(&o, "pagingState", MAX_PAGING_STATE_CHARS, false)? {
        Some(state) if !state.is_empty() => PagingState::parse(&state)?.0,
        _ => 0,
    };
    let instance = call.instance.id;
    let slice = call.app.shards.call(&instance, |reply| Command::QueueFrom { instance, from, size, reply }).await?;
    let trial = is_trial(call);
    let messages: Vec<_> = slice
        .messages
        .iter()
        .map(|m| {
            let mut v = item(m, trial);
            v["CreatedAt"] = json!(created_at(m.created_ms));
            v["Beta"] = json!(false);
            v
        })
        .collect();
    let body = json!({
        "messages": messages,
        "pagingState": slice.next.map(|seq| PagingState(seq).to_string()),
        "hasMore": slice.next.is_some(),
    });
    Ok(chatedge_serve::json(StatusCode::OK, &body))
}

/// Z-API's page sizes for `POST /queue`.
const CURSOR_PAGE_DEFAULT: usize = 20;
const CURSOR_PAGE_MAX: usize = 30;
/// Longer than any cursor this server issues.
const MAX_PAGING_STATE_CHARS: usize = 64;

/// Where a cursor page starts: the queue position (seq) of its first message, written as
/// opaque URL-safe base64 so clients pass it back unread, as Z-API's own cursors are.
struct PagingState(u64);

impl PagingState {
    const TAG: &'static [u8] = b"q1:";

    fn parse(s: &str) -> Result<Self, ZapiError> {
        let bad =
            || ZapiError::invalid("Invalid field", "pagingState is not one this server gave; omit it to start over");
        let bytes = URL_SAFE_NO_PAD.decode(s.trim()).map_err(|_| bad())?;
        let digits = bytes.strip_prefix(Self::TAG).ok_or_else(bad)?;
        let seq = std::str::from_utf8(digits).ok().and_then(|d| d.parse::<u64>().ok()).ok_or_else(bad)?;
        Ok(PagingState(seq))
    }
}

impl std::fmt::Display for PagingState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut raw = Self::TAG.to_vec();
        raw.extend_from_slice(self.0.to_string().as_bytes());
        f.write_str(&URL_SAFE_NO_PAD.encode(raw))
    }
}

fn cursor_page_size(o: &Object) -> Result<usize, ZapiError> {
    if o.get("pageSize").is_none_or(Value::is_null) {
        return Ok(CURSOR_PAGE_DEFAULT);
    }
    let n = fields::number(o, "pageSize", 1.0..=f64::from(u32::MAX))?;
    if n.fract() != 0.0 {
        return Err(ZapiError::invalid("Invalid field", "pageSize must be a whole number"));
    }
    Ok((n as usize).min(CURSOR_PAGE_MAX))
}

/// `count` given with any value but `false` or `0`.
fn asks_count(query: Option<&str>) -> bool {
    chatedge_serve::query_param(query, "count").is_some_and(|v| !matches!(v.trim(), "false" | "0"))
}

fn is_trial(call: &Call<'_>) -> bool {
    call.instance.payment_status.eq_ignore_ascii_case("TRIAL")
}

/// One queued message as Z-API lists it.
fn item(m: &OutboundMessage, trial: bool) -> Value {
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
}

/// `2026-03-31T14:40:31.776+00:00`, the form of Z-API's example.
fn created_at(unix_ms: u64) -> String {
    let z = chatedge_config::time::rfc3339_ms(unix_ms);
    format!("{}+00:00", z.trim_end_matches('Z'))
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
