//! The routes that act on an earlier message (seed 001): forward-message (line 1854),
//! send-reaction (1921), send-remove-reaction (1989), `DELETE /messages` (3922, query
//! parameters, answers 204), read-message (3984, answers 204) and pin-message (4676). Each
//! becomes an [`Action`] queued like any send — durably, paced, with the same webhooks — so a
//! 2xx (200 with ids, or the seed's 204) comes only once the action is on disk. Runs on the
//! request's task; no I/O but the enqueue.

use bytes::Bytes;
use chatedge_config::InstanceId;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::Value;

use super::super::fields::{self, Object};
use super::super::routes::Route;
use super::super::{Call, ZapiError};
use super::envelope::{self, MAX_MESSAGE_ID_CHARS};
use crate::queue::content::action::{PinAction, PinDuration};
use crate::queue::content::Action;
use crate::queue::{Content, OutboundMessage};

/// A reaction is one emoji; the longest (families, flags with modifiers) are a few code points.
const MAX_REACTION_CHARS: usize = 32;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionRoute {
    Reaction,
    RemoveReaction,
    Delete,
    Read,
    Pin,
    Forward,
}

impl ActionRoute {
    /// Seed 001 answers delete and read with 204 No Content, the others with the send ids.
    fn answers_no_content(self) -> bool {
        matches!(self, ActionRoute::Delete | ActionRoute::Read)
    }
}

pub static ROUTES: &[Route<ActionRoute>] = &[
    Route { path: "send-reaction", methods: "POST", label: "zapi.send-reaction", op: ActionRoute::Reaction },
    Route {
        path: "send-remove-reaction",
        methods: "POST",
        label: "zapi.send-remove-reaction",
        op: ActionRoute::RemoveReaction,
    },
    Route { path: "messages", methods: "DELETE", label: "zapi.delete-message", op: ActionRoute::Delete },
    Route { path: "read-message", methods: "POST", label: "zapi.read-message", op: ActionRoute::Read },
    Route { path: "pin-message", methods: "POST", label: "zapi.pin-message", op: ActionRoute::Pin },
    Route { path: "forward-message", methods: "POST", label: "zapi.forward-message", op: ActionRoute::Forward },
];

pub async fn handle(call: &Call<'_>, route: ActionRoute) -> Result<Resp, ZapiError> {
    let message = parse(&call.body, call.query.as_deref(), call.instance.id, route)?;
    let answer = super::accept(call, message).await?;
    match route.answers_no_content() {
        // `accept` returned only after the action was fsync'd.
        true => Ok(chatedge_serve::bytes(StatusCode::NO_CONTENT, "application/json", Bytes::new())),
        false => Ok(answer),
    }
}

/// An action route's request (body, or query for `DELETE /messages`) as the message to queue.
pub fn parse(
    body: &Bytes,
    query: Option<&str>,
    instance: InstanceId,
    route: ActionRoute,
) -> Result<OutboundMessage, ZapiError> {
    let o = match route {
        ActionRoute::Delete => query_object(query),
        _ => fields::object(body)?,
    };
    let phone = fields::phone(&o, "phone")?;
    let message_id = message_id(&o, "messageId")?;
    let action = match route {
        ActionRoute::Reaction => Action::Reaction { message_id, reaction: reaction(&o)? },
        ActionRoute::RemoveReaction => Action::RemoveReaction { message_id },
        ActionRoute::Delete => Action::Delete { message_id, owner: fields::boolean(&o, "owner")? },
        ActionRoute::Read => Action::Read { message_id },
        ActionRoute::Pin => pin(&o, message_id)?,
        ActionRoute::Forward => Action::Forward { message_id, message_phone: fields::phone(&o, "messagePhone")? },
    };
    let mut m = OutboundMessage::new(instance, phone, Content::Action(Box::new(action)));
    envelope::read_delays(&o, &mut m)?;
    Ok(m)
}

/// The query parameters as a body would carry them (every value a string).
fn query_object(query: Option<&str>) -> Object {
    form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), Value::String(v.into_owned())))
        .collect()
}

fn message_id(o: &Object, field: &str) -> Result<String, ZapiError> {
    Ok(fields::text(o, field, MAX_MESSAGE_ID_CHARS, true)?.unwrap_or_default().trim().to_owned())
}

fn reaction(o: &Object) -> Result<String, ZapiError> {
    let r = fields::text(o, "reaction", MAX_REACTION_CHARS, true)?.unwrap_or_default();
    // Emoji are outside ASCII, except the base of a keycap ("1️⃣", "#️⃣", "*️⃣"), which is
    // followed by non-ASCII selectors.
    let ascii_ok = |c: char| !c.is_ascii() || c.is_ascii_digit() || c == '#' || c == '*';
    if !r.chars().all(ascii_ok) || r.is_ascii() || r.chars().any(char::is_whitespace) {
        return Err(ZapiError::invalid("Invalid field", "reaction must be one emoji, like ❤️"));
    }
    Ok(r)
}

fn pin(o: &Object, message_id: String) -> Result<Action, ZapiError> {
    let action = match fields::one_of(o, "messageAction", &["pin", "unpin"])? {
        Some("pin") => PinAction::Pin,
        Some(_) => PinAction::Unpin,
        None => return Err(ZapiError::invalid("Invalid field", "messageAction is required: pin or unpin")),
    };
    let duration = fields::one_of(o, "pinMessageDuration", &PinDuration::NAMES)?.and_then(PinDuration::from_name);
    let duration = match (action, duration) {
        (PinAction::Pin, None) => {
            return Err(ZapiError::invalid(
                "Invalid field",
                format!("pinMessageDuration is required to pin: one of {}", PinDuration::NAMES.join(", ")),
            ))
        }
        (PinAction::Pin, d) => d,
        // Seed 001: "This has no effect if you unpin a message."
        (PinAction::Unpin, _) => None,
    };
    Ok(Action::Pin { message_id, action, duration })
}

#[cfg(test)]
mod tests;
