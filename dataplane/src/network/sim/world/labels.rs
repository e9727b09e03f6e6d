//! labels: the account's WhatsApp Business labels on the sim — a table of labels (at most
//! [`MAX_LABELS`], as WhatsApp Business allows), the counter that mints their ids, and a table
//! of which chats carry which labels (at most [`MAX_LABELLED_CHATS`]). Changing a chat's labels
//! on the phone ([`label_chats`], the `/sim/label-chats` action) produces the seed's
//! CHAT_LABEL_ASSOCIATION notice; the same change through the API does not (the integrator
//! made it). Labels are refused on an account that is not WhatsApp Business.

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

use super::{Cell, Cx, Loader, Table, World};
use crate::network::account::labels::{Call, Label, Reply, COLORS};
use crate::network::account::AccountError;
use crate::network::incoming::{LabelChange, Notification, NotificationParameter};
use crate::network::IncomingMessage;
use crate::store::StoreError;

/// WhatsApp Business keeps at most 20 labels per account.
pub const MAX_LABELS: usize = 20;
/// Chats that may carry labels at once.
pub const MAX_LABELLED_CHATS: usize = 100_000;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Counter {
    /// The last label id minted (ids are never reused, as on WhatsApp).
    pub last_id: u64,
}

#[derive(Debug, Default)]
pub struct State {
    labels: Table<Label>,
    counter: Cell<Counter>,
    /// Chat id → the ids of the labels it carries, in id order.
    chats: Table<Vec<String>>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State {
            labels: l.table("labels", MAX_LABELS)?,
            counter: l.cell("labels.counter")?,
            chats: l.table("labels.chats", MAX_LABELLED_CHATS)?,
        })
    }

    /// The ids of the labels `chat` carries (for the chats family's listing).
    pub fn labels_of(&self, chat: &str) -> Vec<String> {
        self.chats.get(chat).cloned().unwrap_or_default()
    }

    /// Every label, in the order they were made.
    fn list(&self) -> Vec<Label> {
        let mut all: Vec<Label> = self.labels.values().cloned().collect();
        all.sort_by_key(|l| l.id.parse::<u64>().unwrap_or(u64::MAX));
        all
    }

    fn exists(&self, id: &str) -> Result<(), AccountError> {
        match self.labels.contains(id) {
            true => Ok(()),
            false => Err(AccountError::NotFound(format!("label {id}"))),
        }
    }

    /// Whether putting `label` on (or off) `chat` changes anything.
    fn changes(&self, chat: &str, label: &str, assigned: bool) -> bool {
        self.chats.get(chat).is_some_and(|l| l.iter().any(|x| x == label)) != assigned
    }

    /// Puts `label` on or off `chat`; the caller checked that the label exists.
    fn set(&mut self, chat: &str, label: &str, assigned: bool, cx: &mut Cx) -> Result<(), AccountError> {
        if !self.changes(chat, label, assigned) {
            return Ok(());
        }
        let mut now = self.labels_of(chat);
        match assigned {
            true => {
                now.push(label.to_owned());
                now.sort_by_key(|id| id.parse::<u64>().unwrap_or(u64::MAX));
            }
            false => now.retain(|x| x != label),
        }
        match now.is_empty() {
            true => drop(self.chats.remove(chat, cx)),
            false => self.chats.insert(chat, now, cx)?,
        }
        Ok(())
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    cx.business_only()?;
    let s = &mut world.labels;
    match call {
        Call::List => Ok(Reply::Labels(s.list())),
        Call::Colors => Ok(Reply::Colors(crate::network::account::labels::palette())),
        Call::Create { name, color } => {
            if s.labels.room() == 0 {
                return Err(AccountError::Limit(format!("at most {MAX_LABELS} labels per account")));
            }
            let id = s.counter.get().last_id + 1;
            // Without a color, the network gives the next one in turn (as WhatsApp does).
            let color = color.unwrap_or(((id - 1) % COLORS.len() as u64) as u8);
            check_color(color)?;
            let label = Label { id: id.to_string(), name, color };
            s.labels.insert(label.id.clone(), label, cx)?;
            s.counter.update(cx, |c| c.last_id = id);
            Ok(Reply::Created(id.to_string()))
        }
        Call::Edit { id, name, color } => {
            s.exists(&id)?;
            if let Some(c) = color {
                check_color(c)?;
            }
            s.labels.update(&id, cx, |l| {
                l.name = name;
                l.color = color.unwrap_or(l.color);
            });
            Ok(Reply::Done)
        }
        Call::Delete { id } => {
            s.exists(&id)?;
            let carrying: Vec<String> =
                s.chats.iter().filter(|(_, l)| l.contains(&id)).map(|(c, _)| c.clone()).collect();
            for chat in carrying {
                s.set(&chat, &id, false, cx)?;
            }
            s.labels.remove(&id, cx);
            Ok(Reply::Done)
        }
        Call::Assign { chat, label, assigned } => {
            check_chat(cx, &chat)?;
            s.exists(&label)?;
            let new_chat = assigned && !s.chats.contains(chat.as_str());
            if new_chat && s.chats.room() == 0 {
                return Err(AccountError::Limit(format!("at most {MAX_LABELLED_CHATS} labelled chats")));
            }
            s.set(chat.as_str(), &label, assigned, cx)?;
            Ok(Reply::Done)
        }
    }
}

fn check_color(color: u8) -> Result<(), AccountError> {
    match (color as usize) < COLORS.len() {
        true => Ok(()),
        false => Err(AccountError::Refused(format!("color must be from 0 to {}", COLORS.len() - 1))),
    }
}

fn check_chat(cx: &Cx, chat: &Phone) -> Result<(), AccountError> {
    use chatedge_config::phone::PhoneKind;
    let chat_kind = matches!(chat.kind(), PhoneKind::Contact | PhoneKind::Lid | PhoneKind::Group);
    match chat_kind && cx.on_network(chat) {
        true => Ok(()),
        false => Err(AccountError::NotFound(format!("chat {chat}"))),
    }
}

/// One change the owner makes on the phone: `label` on (`assigned`) or off `chat`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PhoneLabelChange {
    pub phone: Phone,
    pub label: String,
    pub assigned: bool,
}

/// The owner labels chats on the phone: every change is checked first (the labels exist, the
/// chats are on the network, the bound holds), then all are applied and one
/// CHAT_LABEL_ASSOCIATION notice (seed 001 line 12927) lists them, in the account's own chat.
pub fn label_chats(world: &mut World, changes: Vec<PhoneLabelChange>, cx: &mut Cx) -> Result<(), AccountError> {
    let me = cx.account.phone.clone().ok_or(AccountError::NotConnected)?;
    let s = &mut world.labels;
    let mut new_chats = std::collections::BTreeSet::new();
    for c in &changes {
        check_chat(cx, &c.phone)?;
        s.exists(&c.label)?;
        if c.assigned && !s.chats.contains(c.phone.as_str()) {
            new_chats.insert(c.phone.as_str());
        }
    }
    if new_chats.len() > s.chats.room() {
        return Err(AccountError::Limit(format!("at most {MAX_LABELLED_CHATS} labelled chats")));
    }
    let mut parameters = Vec::with_capacity(changes.len());
    for c in changes {
        s.set(c.phone.as_str(), &c.label, c.assigned, cx)?;
        let change = LabelChange { phone: c.phone.to_string(), label: c.label, assigned: c.assigned };
        parameters.push(NotificationParameter::Label(change));
    }
    let mut notice = Notification::new("CHAT_LABEL_ASSOCIATION");
    notice.notification_parameters = Some(parameters);
    notice.call_id = Some(None);
    notice.code = Some(None);
    notice.expires_at = Some(None);
    // The owner labelled the chats on the phone: the seed shows it as the account's own.
    notice.from_me = Some(true);
    let mut message = IncomingMessage::notice(me, None, notice);
    message.at_ms = cx.now_ms;
    cx.notices.push(message);
    Ok(())
}

#[cfg(test)]
mod tests;
