//! How answers to interactive messages (poll votes, event responses) show on the phone of the
//! message they answer: which message they change, and the change as JSON.

use serde_json::Value;

use crate::queue::content::Interactive;

/// The message id `answer` changes and the change, if it answers an earlier message.
pub fn change_of(answer: &Interactive, _at_ms: u64) -> Option<(String, Value)> {
    match answer {
        Interactive::Poll { .. } => None,
    }
}
