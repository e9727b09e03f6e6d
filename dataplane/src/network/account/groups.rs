//! groups: what an instance asks the network about its groups — create one, rename it, change
//! its picture, description and settings, add, remove, promote and demote participants,
//! answer join requests, leave, read a group's metadata, and manage its invitation link. A
//! community's announcement group is a group like any other, named here by its community.

use chatedge_config::Phone;

/// Longest group subject WhatsApp accepts.
pub const MAX_SUBJECT_CHARS: usize = 100;
/// Longest group description WhatsApp accepts.
pub const MAX_DESCRIPTION_CHARS: usize = 2048;

/// Which group a call is about: a group id, or a community (meaning its announcement group,
/// through which Z-API manages a community's members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupRef {
    Group(Phone),
    Community(String),
}

/// A change to a group's members.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Add,
    Remove,
    /// Let in someone who asked to join.
    Approve,
    /// Turn down someone who asked to join.
    Reject,
    Promote,
    Demote,
}

/// A group picture: a link to it, or its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Picture {
    Url(String),
    Data(bytes::Bytes),
}

/// The settings a call changes; `None` leaves one as it is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SettingsChange {
    pub admin_only_message: Option<bool>,
    pub admin_only_settings: Option<bool>,
    pub require_admin_approval: Option<bool>,
    pub admin_only_add_member: Option<bool>,
}

#[derive(Debug, Clone)]
pub enum Call {
    /// The groups the account is a member of, `page` (from 1) of `page_size`.
    List {
        page: usize,
        page_size: usize,
    },
    /// A new group, the account its creator, with those of `participants` who are on the
    /// network.
    Create {
        name: String,
        participants: Vec<Phone>,
        picture: Option<Picture>,
    },
    Rename {
        group: GroupRef,
        name: String,
    },
    SetPicture {
        group: GroupRef,
        picture: Picture,
    },
    Describe {
        group: GroupRef,
        description: String,
    },
    Configure {
        group: GroupRef,
        settings: SettingsChange,
    },
    Members {
        group: GroupRef,
        change: MemberChange,
        phones: Vec<Phone>,
    },
    Leave {
        group: GroupRef,
    },
    /// A group's metadata; `with_link` asks for its invitation link too (admins only).
    Metadata {
        group: GroupRef,
        with_link: bool,
    },
    /// The invitation link, a new one (`reset`: the old one stops working) or the current one.
    InvitationLink {
        group: GroupRef,
        reset: bool,
    },
    /// What an invitation link leads to.
    Invitation {
        link: String,
    },
    /// Joins (or, where admins approve joins, asks to join) the group of an invitation link.
    AcceptInvitation {
        link: String,
    },
}

/// One group in the account's list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub phone: Phone,
    pub name: String,
    pub last_activity_ms: u64,
    pub announcement: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub phone: Phone,
    pub admin: bool,
    /// The group's creator.
    pub super_admin: bool,
}

/// Everything the network tells about a group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    pub phone: Phone,
    pub subject: String,
    pub description: String,
    pub owner: Phone,
    pub creation_ms: u64,
    pub subject_time_ms: u64,
    pub subject_owner: Phone,
    /// Only when asked for and the account is an admin.
    pub invitation_link: Option<String>,
    pub community_id: Option<String>,
    pub admin_only_message: bool,
    pub admin_only_settings: bool,
    pub require_admin_approval: bool,
    pub admin_only_add_member: bool,
    pub announcement: bool,
    pub participants: Vec<Participant>,
}

#[derive(Debug, Clone)]
pub enum Reply {
    List(Vec<Summary>),
    Created {
        phone: Phone,
        invitation_link: String,
        /// Participants WhatsApp would not add for their privacy settings (who may add them to
        /// groups): an invitation link can reach them privately (Z-API's `autoInvite`).
        needs_invite: Vec<Phone>,
    },
    /// The change was made for `changed` of the phones asked about (all of them for changes
    /// that name none).
    Done {
        changed: usize,
    },
    /// Participants added ([`MemberChange::Add`]): `changed` of the phones asked, and those
    /// WhatsApp would not add for their privacy settings (see `Created`).
    Added {
        changed: usize,
        needs_invite: Vec<Phone>,
    },
    Metadata(Box<Metadata>),
    Link {
        phone: Phone,
        invitation_link: String,
    },
    /// Joined the group (`pending`: asked to join, an admin must approve).
    Joined {
        phone: Phone,
        pending: bool,
    },
}
