//! world: the sim network's record of each instance's account — what a real network keeps on
//! its servers and the phone: contacts, chats, privacy, groups, communities, channels, business
//! profile and catalog, labels, status posts, registration. One [`World`] per instance, loaded
//! from `Cf::SimWorld` on first use and kept in memory; every change an account call makes is
//! written in the same batch, committed (fsync'd) before the call is answered, so a restart
//! keeps it. A change the phone's owner makes (the `/sim` admin routes) goes through the same
//! path and may produce notices (ReceivedCallback notifications) delivered after the commit.
//!
//! Each family is a module with its `State` (its tables), `load`, and `apply` (one
//! `account::<family>::Call` → its `Reply`). A family may read and change the others' state
//! (labels live on chats, a group send needs its members): they are fields of one `World`.
//! Nothing here blocks: the caller holds the world's lock only while applying a call in memory.

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
pub mod table;

use chatedge_config::{InstanceId, Phone};
use serde::Serialize;

use crate::network::account::{Account, AccountCall, AccountReply, AccountResult};
use crate::network::IncomingMessage;
use crate::store::{Batch, Cf, Store, StoreError};
pub use table::{Cell, Loader, Table};

/// One instance's account on the sim network.
#[derive(Debug, Default)]
pub struct World {
    pub business: business::State,
    pub calls: calls::State,
    pub channels: channels::State,
    pub chats: chats::State,
    pub communities: communities::State,
    pub contacts: contacts::State,
    pub groups: groups::State,
    pub labels: labels::State,
    pub privacy: privacy::State,
    pub profile: profile::State,
    pub registration: registration::State,
    pub status: status::State,
}

/// What one call changes and announces: the writes (committed before the call is answered)
/// and the notices delivered to the instance afterwards.
pub struct Cx {
    pub instance: InstanceId,
    pub account: Account,
    pub now_ms: u64,
    /// Numbers ending in this are not on the network.
    pub unreachable_suffix: String,
    batch: Batch,
    pub notices: Vec<IncomingMessage>,
}

impl Cx {
    pub fn new(instance: InstanceId, account: Account, unreachable_suffix: String) -> Cx {
        let now_ms = chatedge_config::time::unix_ms();
        Cx { instance, account, now_ms, unreachable_suffix, batch: Batch::new(), notices: Vec::new() }
    }

    /// Whether `phone` is a number on the network (the sim's directory: every number except
    /// those ending in the unreachable suffix).
    pub fn on_network(&self, phone: &Phone) -> bool {
        !phone.ends_with(&self.unreachable_suffix)
    }

    /// Refuses unless the account runs WhatsApp Business.
    pub fn business_only(&self) -> Result<(), crate::network::account::AccountError> {
        match self.account.business {
            true => Ok(()),
            false => Err(crate::network::account::AccountError::NotBusiness),
        }
    }

    pub(crate) fn put(&mut self, table: &str, row: &str, value: &impl Serialize) {
        match serde_json::to_vec(value) {
            Ok(bytes) => self.batch.put(Cf::SimWorld, table::key(&self.instance, table, row), bytes),
            // Plain data always serialises; a failure here is a bug, not input.
            Err(e) => tracing::error!(table, row, error = %e, "sim: account state row not serialisable"),
        }
    }

    pub(crate) fn delete(&mut self, table: &str, row: &str) {
        self.batch.delete(Cf::SimWorld, table::key(&self.instance, table, row));
    }

    pub(crate) fn into_parts(self) -> (Batch, Vec<IncomingMessage>) {
        (self.batch, self.notices)
    }
}

impl World {
    pub fn load(store: &Store, instance: InstanceId) -> Result<World, StoreError> {
        let l = Loader { store, instance };
        Ok(World {
            business: business::State::load(&l)?,
            calls: calls::State::load(&l)?,
            channels: channels::State::load(&l)?,
            chats: chats::State::load(&l)?,
            communities: communities::State::load(&l)?,
            contacts: contacts::State::load(&l)?,
            groups: groups::State::load(&l)?,
            labels: labels::State::load(&l)?,
            privacy: privacy::State::load(&l)?,
            profile: profile::State::load(&l)?,
            registration: registration::State::load(&l)?,
            status: status::State::load(&l)?,
        })
    }

    /// Carries out one account call in memory, collecting its writes and notices in `cx`.
    pub fn apply(&mut self, call: AccountCall, cx: &mut Cx) -> AccountResult {
        match call {
            AccountCall::Business(c) => business::apply(self, c, cx).map(AccountReply::Business),
            AccountCall::Calls(c) => calls::apply(self, c, cx).map(AccountReply::Calls),
            AccountCall::Channels(c) => channels::apply(self, c, cx).map(AccountReply::Channels),
            AccountCall::Chats(c) => chats::apply(self, c, cx).map(AccountReply::Chats),
            AccountCall::Communities(c) => communities::apply(self, c, cx).map(AccountReply::Communities),
            AccountCall::Contacts(c) => contacts::apply(self, c, cx).map(AccountReply::Contacts),
            AccountCall::Groups(c) => groups::apply(self, c, cx).map(AccountReply::Groups),
            AccountCall::Labels(c) => labels::apply(self, c, cx).map(AccountReply::Labels),
            AccountCall::Privacy(c) => privacy::apply(self, c, cx).map(AccountReply::Privacy),
            AccountCall::Profile(c) => profile::apply(self, c, cx).map(AccountReply::Profile),
            AccountCall::Registration(c) => registration::apply(self, c, cx).map(AccountReply::Registration),
            AccountCall::Status(c) => status::apply(self, c, cx).map(AccountReply::Status),
            // The sim has no template approval: its accounts have no templates.
            AccountCall::Templates(crate::network::account::templates::Call::List { .. }) => {
                Ok(AccountReply::Templates(crate::network::account::templates::Reply::Page {
                    templates: Vec::new(),
                    after: None,
                }))
            }
        }
    }

    /// Who receives a message the instance sends to `to` — the number itself, a group's
    /// members, a channel's followers — or why nobody does (the reason becomes the message's
    /// DeliveryCallback error). Families that know `to` answer; the first answer wins.
    pub fn recipients(&self, me: Option<&Phone>, to: &Phone) -> Result<Vec<Phone>, String> {
        let answers = [
            contacts::recipients(self, to),
            groups::recipients(self, me, to),
            communities::recipients(self, me, to),
            channels::recipients(self, to),
            status::recipients(self, to),
        ];
        answers.into_iter().flatten().next().unwrap_or_else(|| Ok(vec![to.clone()]))
    }

    /// A message went to (`from_me`) or came from `chat` at `at_ms`: the chat list shows it.
    /// Memory only: traffic must not cost a write per message.
    pub fn saw_traffic(&mut self, chat: &Phone, at_ms: u64, from_me: bool) {
        chats::saw_traffic(self, chat, at_ms, from_me);
    }
}

/// What the families' unit tests share: a call context for an account paired as
/// 5511999990001 on a network where numbers ending in 0000 do not exist.
#[cfg(test)]
pub mod testing {
    use chatedge_config::Phone;

    use super::Cx;
    use crate::network::account::Account;

    pub fn cx() -> Cx {
        let account = Account { phone: Phone::parse("5511999990001").ok(), business: false };
        Cx::new(chatedge_config::InstanceId::generate(), account, "0000".into())
    }

    pub fn phone(s: &str) -> Phone {
        Phone::parse(s).unwrap()
    }
}
