//! Actions on earlier messages: reactions, deletes, reads, pins, forwards.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Action {
    Reaction { message_id: String, reaction: String },
}

impl Action {
    pub fn preview(&self) -> Cow<'_, str> {
        match self {
            Action::Reaction { reaction, .. } => Cow::Borrowed(reaction),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Action::Reaction { .. } => "reaction",
        }
    }
}
