//! How actions on earlier messages (reactions, deletes, reads, pins, votes, event answers)
//! show on the recipient's phone: which message they change, and the change as JSON.

use serde_json::{json, Value};

use crate::queue::content::Action;
use crate::queue::{Content, OutboundMessage};

/// The message id `message` acts on and the change it makes, if it is an action.
pub fn change_of(message: &OutboundMessage, at_ms: u64) -> Option<(String, Value)> {
    match &message.content {
        Content::Action(action) => match action.as_ref() {
            Action::Reaction { message_id, reaction } => {
                Some((message_id.clone(), json!({"reaction": reaction, "atMs": at_ms})))
            }
        },
        Content::Interactive(i) => super::votes::change_of(i, at_ms),
        _ => None,
    }
}
