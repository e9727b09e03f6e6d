//! The address book: the contacts saved on the account's phone live in WhatsApp's app state,
//! which the engine syncs from the account's devices and reports as contact edits. This module
//! keeps the latest edit of each number in the engine's part of the instance's store (newest
//! edit wins, so a late or replayed edit never undoes a newer one), answers the address book
//! and one number's entry from it, names the contacts a status post goes to, and writes our own
//! saves to WhatsApp first, then here. It must not know Z-API.

use std::sync::Arc;

use chatedge_connector::KvStore;
use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::types::events::ContactUpdate;
use whatsapp_rust::{Client, Jid};

use super::records::Records;
use crate::engine::{Answer, EngineError, Query, SavedContact};

/// Where contact records live in the engine's part of the store ([`Records`]).
const CONTACTS: &[u8] = b"ct/";
/// Numbers one account's book may hold here (edits of numbers no longer saved included);
/// beyond it a contact is still saved on WhatsApp but not listed.
pub const MAX_CONTACTS: usize = 50_000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct ContactRecord {
    full_name: Option<String>,
    first_name: Option<String>,
    /// When WhatsApp says the edit was made (ms): only a newer edit replaces this one.
    at_ms: u64,
}

impl ContactRecord {
    /// An edit without a name leaves the number unsaved.
    fn saved(self, phone: String) -> Option<SavedContact> {
        let full_name = self.full_name.filter(|n| !n.is_empty()).or_else(|| self.first_name.clone())?;
        Some(SavedContact { phone, full_name, first_name: self.first_name.filter(|n| !n.is_empty()) })
    }
}

/// One instance's address book.
pub struct AddressBook {
    records: Records<ContactRecord>,
}

impl AddressBook {
    pub fn new(store: Arc<dyn KvStore>) -> AddressBook {
        AddressBook { records: Records::new(store, CONTACTS, MAX_CONTACTS) }
    }

    /// Keeps a contact edit the account's devices made (from the app state sync). A contact
    /// WhatsApp names only by its private id, without its number, is not kept.
    pub async fn synced(&self, edit: &ContactUpdate) -> Result<(), EngineError> {
        let action = &edit.action;
        let by_number = action.pn_jid.as_deref().and_then(|j| j.parse::<Jid>().ok());
        let Some(phone) = [Some(edit.jid.clone()), by_number].into_iter().flatten().find(Jid::is_pn) else {
            return Ok(());
        };
        let record = ContactRecord {
            full_name: action.full_name.clone(),
            first_name: action.first_name.clone(),
            at_ms: edit.timestamp.timestamp_millis().max(0) as u64,
        };
        self.records.keep_newest(&phone.user, record, |r| r.at_ms).await
    }

    /// Answers an address-book `query`, saving through `client`; any other query is not one of
    /// these.
    pub async fn ask(&self, client: &Client, query: &Query) -> Result<Answer, EngineError> {
        match query {
            Query::AddressBook { page, page_size } => {
                let skip = page.saturating_sub(1).saturating_mul(*page_size);
                Ok(Answer::AddressBook(self.all()?.into_iter().skip(skip).take(*page_size).collect()))
            }
            Query::SavedContact(phone) => {
                Ok(Answer::SavedContact(self.records.get(phone)?.and_then(|r| r.saved(phone.clone()))))
            }
            Query::SaveContact(contact) => {
                let jid = Jid::pn(contact.phone.as_str());
                let (full, first) = (Some(contact.full_name.clone()), contact.first_name.clone());
                client.chat_actions().save_contact(&jid, full.clone(), first.clone(), true).await.map_err(
                    |e| match e {
                        whatsapp_rust::features::AppStateError::InvalidRequest(_) => {
                            EngineError::Refused(e.to_string())
                        }
                        e => EngineError::Unreachable(e.to_string()),
                    },
                )?;
                let record = ContactRecord { full_name: full, first_name: first, at_ms: now_ms() };
                self.records.keep_newest(&contact.phone, record, |r| r.at_ms).await?;
                Ok(Answer::Done)
            }
            other => Err(EngineError::Refused(format!("{} is not an address book query", other.label()))),
        }
    }

    /// The numbers saved, by number: whom a status post goes to.
    pub fn phones(&self) -> Result<Vec<String>, EngineError> {
        Ok(self.all()?.into_iter().map(|c| c.phone).collect())
    }

    /// Every saved contact, by number.
    fn all(&self) -> Result<Vec<SavedContact>, EngineError> {
        Ok(self.records.all()?.into_iter().filter_map(|(phone, r)| r.saved(phone)).collect())
    }
}

fn now_ms() -> u64 {
    chatedge_config::time::unix_ms()
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::wacore::chrono::{TimeZone, Utc};
    use whatsapp_rust::waproto::whatsapp::sync_action_value::ContactAction;

    use super::*;
    use crate::real::tests::SlowKv;

    fn edit(jid: &str, pn: Option<&str>, full: Option<&str>, first: Option<&str>, at_s: i64) -> ContactUpdate {
        let action = ContactAction {
            full_name: full.map(str::to_owned),
            first_name: first.map(str::to_owned),
            pn_jid: pn.map(str::to_owned),
            ..Default::default()
        };
        ContactUpdate::builder()
            .jid(jid.parse().unwrap())
            .timestamp(Utc.timestamp_opt(at_s, 0).unwrap())
            .action(Box::new(action))
            .from_full_sync(true)
            .build()
    }

    fn listed(book: &AddressBook) -> Vec<(String, String, Option<String>)> {
        book.all().unwrap().into_iter().map(|c| (c.phone, c.full_name, c.first_name)).collect()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn synced_contacts_keep_the_newest_edit_are_listed_by_number_and_a_nameless_edit_unsaves() {
        let book = Arc::new(AddressBook::new(Arc::new(SlowKv::default())));
        let e = |jid, pn, full, first, at| edit(jid, pn, full, first, at);
        book.synced(&e("5511988887777@s.whatsapp.net", None, Some("Ana Lima"), Some("Ana"), 200)).await.unwrap();
        book.synced(&e("5511988887777@s.whatsapp.net", None, Some("Ana Souza"), None, 100)).await.unwrap(); // older
                                                                                                            // Known by its private id, with its number in the edit: kept under the number.
        book.synced(&e("123456789@lid", Some("554499998888@s.whatsapp.net"), Some("Bia"), None, 300)).await.unwrap();
        // Known only by its private id: no number to list it under.
        book.synced(&e("987654321@lid", None, Some("Nobody"), None, 300)).await.unwrap();
        book.synced(&e("5521977776666@s.whatsapp.net", None, Some("Caio"), None, 300)).await.unwrap();
        book.synced(&e("5521977776666@s.whatsapp.net", None, None, None, 400)).await.unwrap(); // unsaved
                                                                                               // A burst of edits of one number kept at once, newest first (a full sync): the newest stays.
        let mut burst = tokio::task::JoinSet::new();
        for n in (1..=50).rev() {
            let book = book.clone();
            burst.spawn(async move {
                book.synced(&edit("5531966665555@s.whatsapp.net", None, Some(&format!("v{n}")), None, 1_000 + n)).await
            });
        }
        assert!(burst.join_all().await.iter().all(Result::is_ok));
        assert_eq!(
            listed(&book),
            [
                ("5511988887777".into(), "Ana Lima".into(), Some("Ana".into())),
                ("5531966665555".into(), "v50".into(), None),
                ("554499998888".into(), "Bia".into(), None),
            ],
            "by number; the newest edit wins; unsaved and number-less ones are not listed"
        );
        assert_eq!(book.phones().unwrap(), ["5511988887777", "5531966665555", "554499998888"]);
        let saved = book.records.get("5521977776666").unwrap().and_then(|r| r.saved("5521977776666".into()));
        assert_eq!(saved, None, "its last edit has no name");
    }
}
