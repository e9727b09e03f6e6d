//! channels: WhatsApp channels (newsletters) — creating and deleting the account's own,
//! following, muting, their name, description, picture and reaction settings, the admins of
//! a channel and the admin invitations it has out, handing ownership over, and finding public
//! channels. A channel id is `<digits>@newsletter`; the account posts to a channel it owns or
//! administers with the ordinary message calls, and its followers receive the posts.

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

/// The account's relation to a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Owner,
    Admin,
    Subscriber,
    /// Known (found by search, or an invitation) but not followed.
    Guest,
}

/// Which reactions followers may send to posts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reactions {
    #[default]
    All,
    Basic,
}

/// The order public channels are listed in by a search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    Recommended,
    Trending,
    Popular,
    New,
}

/// A channel as the account sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Channel {
    pub id: Phone,
    pub name: String,
    pub description: String,
    /// The picture's URL (or data URL), if one was set.
    pub picture: Option<String>,
    pub created_ms: u64,
    /// The code of `https://whatsapp.com/channel/<code>`.
    pub invite_code: String,
    pub followers: u64,
    pub role: Role,
    pub muted: bool,
    pub reactions: Reactions,
    /// Other admins (channels the account owns or administers).
    pub admins: Vec<Phone>,
    /// Numbers invited to become admins that have not answered yet (own channels).
    pub pending_invites: Vec<Phone>,
}

#[derive(Debug, Clone)]
pub enum Call {
    Create {
        name: String,
        description: Option<String>,
    },
    /// Only the owner deletes.
    Delete {
        id: Phone,
    },
    Follow {
        id: Phone,
    },
    Unfollow {
        id: Phone,
    },
    Mute {
        id: Phone,
        muted: bool,
    },
    /// The channels the account owns, administers or follows.
    List,
    Metadata {
        id: Phone,
    },
    /// Accepts an invitation to administer `id` that someone sent the account.
    AcceptAdminInvite {
        id: Phone,
    },
    RemoveAdmin {
        id: Phone,
        phone: Phone,
    },
    RevokeAdminInvite {
        id: Phone,
        phone: Phone,
    },
    /// Makes the admin `phone` the owner; the account stays an admin unless `quit_admin`.
    TransferOwnership {
        id: Phone,
        phone: Phone,
        quit_admin: bool,
    },
    SetReactions {
        id: Phone,
        reactions: Reactions,
    },
    SetName {
        id: Phone,
        name: String,
    },
    SetDescription {
        id: Phone,
        description: String,
    },
    SetPicture {
        id: Phone,
        picture: String,
    },
    /// Public channels matching `text` (all when `None`) in `countries` (any when empty).
    Search {
        text: Option<String>,
        countries: Vec<String>,
        view: View,
        limit: usize,
    },
}

#[derive(Debug, Clone)]
pub enum Reply {
    Created { id: Phone },
    Channel(Box<Channel>),
    Channels(Vec<Channel>),
    Done,
}
