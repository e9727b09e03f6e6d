//! Events (seed 001): send-event (line 4819), send-edit-event (4899: the event again, whole,
//! with the id of the message that announced it) and send-event-response (4984: GOING or
//! NOT_GOING). The seed says events go to groups; Z-API's own example request sends one to a
//! contact, so both are accepted.

use super::read::{invalid, is_date_time, At};
use super::{MAX_DESCRIPTION_CHARS, MAX_ID_CHARS, MAX_TITLE_CHARS};
use crate::api::zapi::ZapiError;
use crate::queue::content::interactive::{utc_offset_minutes, CallLinkType, Event, EventAnswer, EventLocation};
use crate::queue::content::Interactive;

pub fn event(at: At<'_>) -> Result<Interactive, ZapiError> {
    Ok(Interactive::Event { event: read_event(at)? })
}

pub fn edit(at: At<'_>) -> Result<Interactive, ZapiError> {
    let event_message_id = at.id("eventMessageId", MAX_ID_CHARS, true)?.unwrap_or_default();
    Ok(Interactive::EditEvent { event_message_id, event: read_event(at)? })
}

pub fn response(at: At<'_>) -> Result<Interactive, ZapiError> {
    let event_message_id = at.id("eventMessageId", MAX_ID_CHARS, true)?.unwrap_or_default();
    let response =
        at.one_of("eventResponse", &EventAnswer::NAMES, &EventAnswer::ALL, true)?.unwrap_or(EventAnswer::Going);
    Ok(Interactive::EventResponse { event_message_id, response })
}

/// The `event` object of send-event and send-edit-event.
fn read_event(at: At<'_>) -> Result<Event, ZapiError> {
    let event = at.object("event", true)?.ok_or_else(|| invalid("event is required".into()))?;
    let e = event.at();
    let name = e.required_text("name", MAX_TITLE_CHARS)?;
    let description = e.text("description", MAX_DESCRIPTION_CHARS, false)?;
    let date_time = e.required_text("dateTime", 64)?.trim().to_owned();
    if !is_date_time(&date_time) {
        return Err(invalid(format!(
            "{} must be an ISO 8601 date and time, like 2024-04-29T09:30:53.309Z",
            e.name("dateTime")
        )));
    }
    // Z-API's documentation since 2025-12: `dateTime` is a clock reading in `timeZone`.
    let time_zone = e.text("timeZone", 64, false)?.map(|z| z.trim().to_owned()).filter(|z| !z.is_empty());
    if time_zone.as_deref().is_some_and(|z| utc_offset_minutes(z).is_none()) {
        return Err(invalid(format!(
            "{} must be an offset from UTC from UTC-12 to UTC+14, like UTC-3 or UTC+05:30",
            e.name("timeZone")
        )));
    }
    let location = match e.object("location", false)? {
        Some(l) => Some(EventLocation { name: l.at().required_text("name", MAX_TITLE_CHARS)? }),
        None => None,
    };
    let call_link_type = e.one_of("callLinkType", &CallLinkType::NAMES, &CallLinkType::ALL, false)?;
    let canceled = e.boolean("canceled", true)?.unwrap_or(false);
    Ok(Event { name, description, date_time, time_zone, location, call_link_type, canceled })
}
