//! chats: the account's chat list — every chat with traffic or settings — and the per-chat
//! settings the owner changes: archived, pinned, muted, read or marked unread, cleared,
//! deleted, and how long new messages in the chat last — and, on WhatsApp Business, the note the
//! owner keeps on a chat.

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

/// A change to one chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Read,
    MarkUnread,
    Archive,
    Unarchive,
    Pin,
    Unpin,
    Mute,
    Unmute,
    /// Deletes the chat's messages; the chat stays in the list.
    Clear,
    /// Removes the chat from the list (it comes back with the next message).
    Delete,
}

/// How long messages of a chat last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expiration {
    Off,
    Hours24,
    Days7,
    Days90,
}

impl Expiration {
    pub fn seconds(self) -> u64 {
        match self {
            Expiration::Off => 0,
            Expiration::Hours24 => 86_400,
            Expiration::Days7 => 7 * 86_400,
            Expiration::Days90 => 90 * 86_400,
        }
    }
}

/// The longest note on a chat, in characters (chatedge's bound; WhatsApp's app keeps notes short).
pub const MAX_NOTE_CHARS: usize = 4_096;

/// The note a WhatsApp Business owner keeps on a chat (one per chat). The sim keeps it as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    /// Minted by the network when the note is first written; kept when it is changed.
    pub id: String,
    pub content: String,
    /// Unix ms.
    pub created_ms: u64,
    /// Unix ms.
    pub updated_ms: u64,
}

/// One chat as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatInfo {
    pub phone: Phone,
    pub name: Option<String>,
    pub archived: bool,
    pub pinned: bool,
    /// Unread incoming messages (at least 1 when marked unread).
    pub unread: u32,
    /// Last message in or out, Unix ms (0 if none was seen).
    pub last_message_ms: u64,
    /// `Some(-1)` muted for ever, `Some(ms)` muted until then, `None` not muted.
    pub mute_end_ms: Option<i64>,
    /// Seconds new messages last (0: they do not expire).
    pub expiration_seconds: u64,
    pub profile_thumbnail: Option<String>,
    pub about: Option<String>,
    /// A community's announcement group (only its admins write).
    pub announcement: bool,
    /// The owner's note (WhatsApp Business only).
    pub note: Option<Note>,
}

#[derive(Debug, Clone)]
pub enum Call {
    /// The chat list, pinned chats first then most recent first: page `page` (from 1) of
    /// `page_size` chats.
    List {
        page: usize,
        page_size: usize,
    },
    Get(Phone),
    Modify {
        phone: Phone,
        change: Change,
    },
    SetExpiration {
        phone: Phone,
        expiration: Expiration,
    },
    /// Writes the chat's note (WhatsApp Business only); empty content removes it. Content is
    /// at most [`MAX_NOTE_CHARS`] characters (the dialects check).
    SetNote {
        phone: Phone,
        content: String,
    },
}

#[derive(Debug, Clone)]
pub enum Reply {
    Chats(Vec<ChatInfo>),
    Chat(ChatInfo),
    Done,
}
