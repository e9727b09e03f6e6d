//! Actions on earlier messages: reactions and their removal, deletes, reads, pins and
//! forwards. Each names the message it acts on by its network id (`message_id`); a forward
//! also names the chat that message is in. Plain data, stored as JSON tagged by `type`;
//! parsing is the dialect's job (`api/zapi/messages/actions.rs`), carrying out the action the
//! connector's.

use std::borrow::Cow;

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

/// pin-message's `messageAction` (seed 001, line 4676).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PinAction {
    Pin,
    Unpin,
}

/// How long a message stays pinned (seed 001: `24_hours | 7_days | 30_days`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum PinDuration {
    #[serde(rename = "24_hours")]
    Hours24,
    #[serde(rename = "7_days")]
    Days7,
    #[serde(rename = "30_days")]
    Days30,
}

impl PinDuration {
    pub const NAMES: [&'static str; 3] = ["24_hours", "7_days", "30_days"];

    pub fn from_name(name: &str) -> Option<PinDuration> {
        match name {
            "24_hours" => Some(PinDuration::Hours24),
            "7_days" => Some(PinDuration::Days7),
            "30_days" => Some(PinDuration::Days30),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Action {
    #[serde(rename_all = "camelCase")]
    Reaction { message_id: String, reaction: String },
    #[serde(rename_all = "camelCase")]
    RemoveReaction { message_id: String },
    /// `owner`: the message was sent by this instance (true) or received from the contact.
    #[serde(rename_all = "camelCase")]
    Delete { message_id: String, owner: bool },
    #[serde(rename_all = "camelCase")]
    Read { message_id: String },
    /// `duration` is set for pins only (it has no effect on an unpin).
    #[serde(rename_all = "camelCase")]
    Pin {
        message_id: String,
        action: PinAction,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        duration: Option<PinDuration>,
    },
    /// Forwards the message `message_id` of the chat `message_phone` to this message's phone.
    #[serde(rename_all = "camelCase")]
    Forward { message_id: String, message_phone: Phone },
}

impl Action {
    pub fn preview(&self) -> Cow<'_, str> {
        match self {
            Action::Reaction { reaction, .. } => Cow::Borrowed(reaction),
            _ => Cow::Borrowed(""),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Action::Reaction { .. } => "reaction",
            Action::RemoveReaction { .. } => "removeReaction",
            Action::Delete { .. } => "delete",
            Action::Read { .. } => "read",
            Action::Pin { .. } => "pin",
            Action::Forward { .. } => "forward",
        }
    }

    /// The id of the message this action is about.
    pub fn target(&self) -> &str {
        match self {
            Action::Reaction { message_id, .. }
            | Action::RemoveReaction { message_id }
            | Action::Delete { message_id, .. }
            | Action::Read { message_id }
            | Action::Pin { message_id, .. }
            | Action::Forward { message_id, .. } => message_id,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_survives_its_stored_form() {
        let id = || "3EB0ABC".to_owned();
        for a in [
            Action::Reaction { message_id: id(), reaction: "❤️".into() },
            Action::RemoveReaction { message_id: id() },
            Action::Delete { message_id: id(), owner: false },
            Action::Read { message_id: id() },
            Action::Pin { message_id: id(), action: PinAction::Pin, duration: Some(PinDuration::Days7) },
            Action::Pin { message_id: id(), action: PinAction::Unpin, duration: None },
            Action::Forward { message_id: id(), message_phone: Phone::parse("5511888888888").unwrap() },
        ] {
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(serde_json::from_str::<Action>(&json).unwrap(), a, "{json}");
            assert_eq!(a.target(), "3EB0ABC");
        }
        for name in PinDuration::NAMES {
            let d = PinDuration::from_name(name).unwrap();
            assert_eq!(serde_json::to_value(d).unwrap(), serde_json::json!(name));
        }
    }
}
