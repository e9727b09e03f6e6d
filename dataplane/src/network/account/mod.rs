//! account: what an instance asks the network about its own account besides sending messages —
//! its profile, privacy, contacts, chats, calls, groups, communities, channels, business
//! profile and catalog, labels, status posts, number registration and message templates. Each
//! family is a module
//! with its own `Call` (what is asked) and `Reply` (what the network answers), in the network's
//! terms, not Z-API's: a dialect turns its requests into these calls and renders the replies in
//! its own shape. A connector answers each call once, on the reply channel, after whatever the
//! call changed is durable on the network's side; it never blocks the shard thread. This module
//! holds types only: the sim implements them in `network::sim::world`, a real engine with its
//! own requests to the network.

pub mod business;
pub mod calls;
pub mod channels;
pub mod chats;
pub mod communities;
pub mod contacts;
pub mod groups;
pub mod labels;
pub mod privacy;
pub mod profile;
pub mod registration;
pub mod status;
pub mod templates;

use chatedge_config::Phone;
use tokio::sync::oneshot;

/// One request about the instance's account.
#[derive(Debug, Clone)]
pub enum AccountCall {
    Business(business::Call),
    Calls(calls::Call),
    Channels(channels::Call),
    Chats(chats::Call),
    Communities(communities::Call),
    Contacts(contacts::Call),
    Groups(groups::Call),
    Labels(labels::Call),
    Privacy(privacy::Call),
    Profile(profile::Call),
    Registration(registration::Call),
    Status(status::Call),
    Templates(templates::Call),
}

/// The network's answer to an [`AccountCall`], of the same family.
#[derive(Debug, Clone)]
pub enum AccountReply {
    Business(business::Reply),
    Calls(calls::Reply),
    Channels(channels::Reply),
    Chats(chats::Reply),
    Communities(communities::Reply),
    Contacts(contacts::Reply),
    Groups(groups::Reply),
    Labels(labels::Reply),
    Privacy(privacy::Reply),
    Profile(profile::Reply),
    Registration(registration::Reply),
    Status(status::Reply),
    Templates(templates::Reply),
}

impl AccountCall {
    /// Whether the instance must be connected for the call (registration is how a number gets
    /// connected in the first place; pairing by code happens before a connection exists).
    pub fn needs_connection(&self) -> bool {
        !matches!(self, AccountCall::Registration(_))
    }

    /// Bounded label for metrics.
    pub fn family(&self) -> &'static str {
        match self {
            AccountCall::Business(_) => "business",
            AccountCall::Calls(_) => "calls",
            AccountCall::Channels(_) => "channels",
            AccountCall::Chats(_) => "chats",
            AccountCall::Communities(_) => "communities",
            AccountCall::Contacts(_) => "contacts",
            AccountCall::Groups(_) => "groups",
            AccountCall::Labels(_) => "labels",
            AccountCall::Privacy(_) => "privacy",
            AccountCall::Profile(_) => "profile",
            AccountCall::Registration(_) => "registration",
            AccountCall::Status(_) => "status",
            AccountCall::Templates(_) => "templates",
        }
    }
}

/// Who is asking: the instance's own number and whether it runs WhatsApp Business (from its
/// configuration, or the phone it paired with).
#[derive(Debug, Clone)]
pub struct Account {
    /// `None` before the instance is paired (registration, pairing by code).
    pub phone: Option<Phone>,
    pub business: bool,
}

/// Why the network refused an account call. Each dialect renders these in its own shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    #[error("the instance is not connected to the network")]
    NotConnected,
    /// The instance is already connected (registration, pairing by code).
    #[error("the instance is already connected")]
    AlreadyConnected,
    /// `what` names the thing, e.g. "group 120363019502650977-group".
    #[error("{0} not found")]
    NotFound(String),
    /// The network refused the change: not an admin, not a member, wrong code, …
    #[error("{0}")]
    Refused(String),
    /// Only a WhatsApp Business account can do this.
    #[error("this is available only on a WhatsApp Business account")]
    NotBusiness,
    /// A per-account bound of the network was reached (e.g. participants of a group).
    #[error("{0}")]
    Limit(String),
    /// The instance's network has no such call (e.g. groups on the Cloud API); the text names
    /// the network and what it lacks.
    #[error("{0}")]
    Unsupported(String),
    /// The network could not keep the change (its store failed); nothing changed.
    #[error("the network is unavailable: {0}")]
    Unavailable(String),
}

/// A family's call: how it becomes an [`AccountCall`] and how its reply is taken back out of
/// an [`AccountReply`], so callers get their family's reply type without matching.
pub trait FamilyCall: Into<AccountCall> {
    type Reply;
    fn reply(r: AccountReply) -> Option<Self::Reply>;
}

macro_rules! family {
    ($($variant:ident => $module:ident),* $(,)?) => {$(
        impl From<$module::Call> for AccountCall {
            fn from(c: $module::Call) -> Self {
                AccountCall::$variant(c)
            }
        }
        impl FamilyCall for $module::Call {
            type Reply = $module::Reply;
            fn reply(r: AccountReply) -> Option<$module::Reply> {
                match r {
                    AccountReply::$variant(r) => Some(r),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
        }
    )*};
}

family!(
    Business => business,
    Calls => calls,
    Channels => channels,
    Chats => chats,
    Communities => communities,
    Contacts => contacts,
    Groups => groups,
    Labels => labels,
    Privacy => privacy,
    Profile => profile,
    Registration => registration,
    Status => status,
    Templates => templates,
);

pub type AccountResult = Result<AccountReply, AccountError>;

/// Page `page` (from 1) of `page_size` of `items`, in their order: what every list call answers.
pub fn page_of<I: IntoIterator>(
    items: I,
    page: usize,
    page_size: usize,
) -> std::iter::Take<std::iter::Skip<I::IntoIter>> {
    items.into_iter().skip(page.saturating_sub(1).saturating_mul(page_size)).take(page_size)
}
/// Where a connector puts its answer.
pub type ReplyTx = oneshot::Sender<AccountResult>;
