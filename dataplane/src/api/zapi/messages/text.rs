//! `POST /send-text` (seed 001, line 1767): a text, with the options every send shares.

use bytes::Bytes;
use chatedge_config::InstanceId;

use super::super::{fields, ZapiError};
use super::envelope;
use crate::queue::{Content, OutboundMessage};

/// WhatsApp's own limit on a text message.
pub const MAX_TEXT_CHARS: usize = 65_536;

/// A send-text body as the message to queue, with fresh ids.
pub fn parse_send_text(body: &Bytes, instance: InstanceId) -> Result<OutboundMessage, ZapiError> {
    let o = fields::object(body)?;
    let phone = fields::phone(&o, "phone")?;
    let message = fields::text(&o, "message", MAX_TEXT_CHARS, true)?.unwrap_or_default();
    let mut m = OutboundMessage::new(instance, phone, Content::text(message));
    envelope::read(&o, &mut m)?;
    Ok(m)
}
