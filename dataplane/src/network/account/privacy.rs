//! privacy: who may see the account's last seen, photo, description and online status, add it
//! to groups and get read receipts, and how long new chats keep their messages. Each scope that
//! takes a list of exceptions ("my contacts except…") keeps its own list.

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

/// A setting that takes exceptions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Scope {
    LastSeen,
    Photo,
    Description,
    GroupAdd,
}

impl Scope {
    pub const ALL: [Scope; 4] = [Scope::LastSeen, Scope::Photo, Scope::Description, Scope::GroupAdd];
}

/// Who may see (or, for `GroupAdd`, add).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Visibility {
    #[default]
    All,
    None,
    Contacts,
    /// My contacts except the scope's exceptions.
    ContactBlacklist,
}

/// Who may see the account online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Online {
    #[default]
    All,
    SameLastSeen,
}

/// How long new individual chats keep their messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MessagesDuration {
    #[default]
    Off,
    Hours24,
    Days7,
    Days90,
}

impl MessagesDuration {
    pub fn seconds(self) -> u64 {
        match self {
            MessagesDuration::Off => 0,
            MessagesDuration::Hours24 => 86_400,
            MessagesDuration::Days7 => 7 * 86_400,
            MessagesDuration::Days90 => 90 * 86_400,
        }
    }
}

/// One change to a scope's exceptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exception {
    Add(Phone),
    Remove(Phone),
}

#[derive(Debug, Clone)]
pub enum Call {
    /// The numbers excepted from `scope`.
    Exceptions(Scope),
    /// Sets who may see `scope`, applying `changes` to its exceptions.
    SetVisibility {
        scope: Scope,
        visibility: Visibility,
        changes: Vec<Exception>,
    },
    SetOnline(Online),
    SetReadReceipts(bool),
    SetMessagesDuration(MessagesDuration),
}

#[derive(Debug, Clone)]
pub enum Reply {
    Exceptions(Vec<Phone>),
    Done,
}
