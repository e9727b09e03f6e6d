//! The options every send route shares (seed 001): `delayMessage` and `delayTyping` (1–15 s),
//! `editMessageId`, `messageId` (reply), `privateAnswer`, `mentioned`, `groupMentioned`.

use super::super::fields::{self, Object};
use super::super::ZapiError;
use crate::queue::OutboundMessage;

/// Longest message id accepted where one names an earlier message.
pub const MAX_MESSAGE_ID_CHARS: usize = 128;

/// Reads the shared options of `o` into `m`.
pub fn read(o: &Object, m: &mut OutboundMessage) -> Result<(), ZapiError> {
    m.delay_message_s = fields::seconds(o, "delayMessage", 1..=15)?;
    m.delay_typing_s = fields::seconds(o, "delayTyping", 1..=15)?;
    m.edit_message_id = fields::text(o, "editMessageId", MAX_MESSAGE_ID_CHARS, false)?;
    Ok(())
}
