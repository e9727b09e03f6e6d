//! contacts: the sim's record of the account's address book, of what the network's directory
//! shows of other numbers (their name, photo and about text, set by `/sim/contact-profile`
//! standing for those people), of blocked and of reported numbers — four bounded durable
//! tables. Whether a number is on the network at all is the sim's rule (`Cx::on_network`).
//! A send to a blocked number is refused here ([`recipients`]); nothing here sends anything.
//! Runs under the instance's world lock (`SimNetwork::change`: a shard's local task for account
//! calls, the admin request's task for `/sim`); nothing here blocks or does I/O.

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

use super::{Cx, Loader, Table, World};
use crate::network::account::contacts::{Call, ContactInfo, Existence, NewContact, Reply};
use crate::network::account::AccountError;
use crate::store::StoreError;

/// Contacts the address book holds.
pub const MAX_CONTACTS: usize = 10_000;
/// Other numbers whose public profile the directory records.
pub const MAX_DIRECTORY: usize = 10_000;
pub const MAX_BLOCKED: usize = 10_000;
pub const MAX_REPORTED: usize = 10_000;

/// A saved contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub first_name: String,
    #[serde(default)]
    pub last_name: Option<String>,
}

impl Saved {
    pub fn full_name(&self) -> String {
        match &self.last_name {
            Some(last) if !last.is_empty() => format!("{} {last}", self.first_name),
            _ => self.first_name.clone(),
        }
    }
}

/// What a number's owner shows the network.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PublicProfile {
    pub name: Option<String>,
    pub picture_url: Option<String>,
    pub about: Option<String>,
    /// Who may add the number to groups (WhatsApp's privacy setting): `all`, `contacts` or
    /// `none`; absent, `all`. The sim's people never have the account saved, so anything but
    /// `all` keeps the account from adding them: it may only invite them.
    pub group_add: Option<String>,
    /// The business profile the number shows, when it runs WhatsApp Business.
    pub business: Option<super::business::Profile>,
}

impl PublicProfile {
    /// The values `group_add` takes.
    pub const GROUP_ADD: [&'static str; 3] = ["all", "contacts", "none"];

    /// Whether the number's privacy keeps the account from adding it to a group.
    pub fn refuses_group_adds(&self) -> bool {
        self.group_add.as_deref().is_some_and(|g| g != "all")
    }
}

/// When a number was blocked or reported.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Since {
    pub at_ms: u64,
}

#[derive(Debug, Default)]
pub struct State {
    book: Table<Saved>,
    directory: Table<PublicProfile>,
    blocked: Table<Since>,
    reported: Table<Since>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State {
            book: l.table("contacts", MAX_CONTACTS)?,
            directory: l.table("contacts.directory", MAX_DIRECTORY)?,
            blocked: l.table("contacts.blocked", MAX_BLOCKED)?,
            reported: l.table("contacts.reported", MAX_REPORTED)?,
        })
    }

    /// Empty tables with their bounds (unit tests).
    #[cfg(test)]
    pub fn empty() -> State {
        State {
            book: Table::new("contacts", MAX_CONTACTS),
            directory: Table::new("contacts.directory", MAX_DIRECTORY),
            blocked: Table::new("contacts.blocked", MAX_BLOCKED),
            reported: Table::new("contacts.reported", MAX_REPORTED),
        }
    }

    pub fn is_blocked(&self, phone: &Phone) -> bool {
        self.blocked.contains(phone.as_str())
    }

    pub fn is_contact(&self, phone: &Phone) -> bool {
        self.book.contains(phone.as_str())
    }

    pub fn saved(&self, phone: &Phone) -> Option<&Saved> {
        self.book.get(phone.as_str())
    }

    /// What the directory shows of `phone` (nothing recorded: an empty profile).
    pub fn public(&self, phone: &Phone) -> Option<&PublicProfile> {
        self.directory.get(phone.as_str())
    }

    /// The name the account sees for `phone`: the saved one, else the owner's.
    pub fn display_name(&self, phone: &Phone) -> Option<String> {
        self.saved(phone).map(Saved::full_name).or_else(|| self.public(phone).and_then(|p| p.name.clone()))
    }

    /// Records what `phone`'s owner shows the network (a phone-side change: `/sim`).
    pub fn set_public(&mut self, phone: &Phone, profile: PublicProfile, cx: &mut Cx) -> Result<(), AccountError> {
        self.directory.insert(phone.as_str(), profile, cx)
    }
}

/// What the account knows of `phone` (its own number shows its own profile).
pub fn info(world: &World, phone: &Phone, cx: &Cx) -> ContactInfo {
    let c = &world.contacts;
    if cx.account.phone.as_ref() == Some(phone) {
        let own = world.profile.own();
        return ContactInfo {
            phone: Some(phone.clone()),
            notify: own.name.clone(),
            img_url: own.picture_url.clone(),
            about: own.description.clone(),
            ..ContactInfo::default()
        };
    }
    let saved = c.saved(phone);
    let public = c.public(phone).cloned().unwrap_or_default();
    ContactInfo {
        phone: Some(phone.clone()),
        name: saved.map(Saved::full_name),
        short: saved.map(|s| s.first_name.clone()),
        notify: public.name,
        img_url: public.picture_url,
        about: public.about,
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    match call {
        Call::List { page, page_size } => {
            let phones: Vec<Phone> = crate::network::account::page_of(world.contacts.book.iter(), page, page_size)
                .filter_map(|(k, _)| Phone::parse(k).ok())
                .collect();
            Ok(Reply::Contacts(phones.iter().map(|p| info(world, p, cx)).collect()))
        }
        Call::Add(list) => add(&mut world.contacts, list, cx),
        Call::Remove(list) => {
            let mut errors = Vec::new();
            for phone in list {
                if world.contacts.book.remove(phone.as_str(), cx).is_none() {
                    errors.push((phone, "not a contact".to_owned()));
                }
            }
            Ok(Reply::Changed { errors })
        }
        Call::Get(phone) => {
            known(&phone, cx)?;
            Ok(Reply::Contact(info(world, &phone, cx)))
        }
        Call::Exists(list) => {
            let answers = list
                .into_iter()
                .map(|phone| {
                    let exists = cx.on_network(&phone);
                    let lid = exists.then(|| super::super::lid_of(&phone));
                    Existence { exists, phone, lid }
                })
                .collect();
            Ok(Reply::Exists(answers))
        }
        Call::SetBlocked { phone, blocked } => {
            known(&phone, cx)?;
            if cx.account.phone.as_ref() == Some(&phone) {
                return Err(AccountError::Refused("the account cannot block its own number".into()));
            }
            let b = &mut world.contacts.blocked;
            match blocked {
                true if !b.contains(phone.as_str()) => b.insert(phone.as_str(), Since { at_ms: cx.now_ms }, cx)?,
                true => {}
                false => drop(b.remove(phone.as_str(), cx)),
            }
            Ok(Reply::Done)
        }
        Call::Report(phone) => {
            known(&phone, cx)?;
            world.contacts.reported.insert(phone.as_str(), Since { at_ms: cx.now_ms }, cx)?;
            Ok(Reply::Done)
        }
    }
}

/// Refuses a number that is not on the network.
fn known(phone: &Phone, cx: &Cx) -> Result<(), AccountError> {
    match cx.on_network(phone) {
        true => Ok(()),
        false => Err(AccountError::NotFound(format!("{} on the network", phone.as_str()))),
    }
}

/// Saves what can be saved; numbers not on the network are reported, not saved. Refused as a
/// whole (nothing saved) when the new contacts do not fit.
fn add(c: &mut State, list: Vec<NewContact>, cx: &mut Cx) -> Result<Reply, AccountError> {
    let mut errors = Vec::new();
    let mut fresh = std::collections::BTreeSet::new();
    let mut keep = Vec::with_capacity(list.len());
    for n in list {
        if !cx.on_network(&n.phone) {
            errors.push((n.phone, "the number is not on WhatsApp".to_owned()));
            continue;
        }
        if !c.book.contains(n.phone.as_str()) {
            fresh.insert(n.phone.as_str().to_owned());
        }
        keep.push(n);
    }
    if fresh.len() > c.book.room() {
        return Err(AccountError::Limit(format!("at most {MAX_CONTACTS} contacts per account")));
    }
    for n in keep {
        c.book.insert(n.phone.as_str(), Saved { first_name: n.first_name, last_name: n.last_name }, cx)?;
    }
    Ok(Reply::Changed { errors })
}

/// A send to a blocked number is refused (see `World::recipients`).
pub fn recipients(world: &World, to: &Phone) -> Option<Result<Vec<Phone>, String>> {
    world.contacts.is_blocked(to).then(|| Err(format!("{} is blocked: unblock the contact to send", to.as_str())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::sim::world::testing::{cx, phone};

    fn world() -> World {
        World { contacts: State::empty(), ..World::default() }
    }

    fn new(p: &str, first: &str, last: Option<&str>) -> NewContact {
        NewContact { phone: phone(p), first_name: first.into(), last_name: last.map(str::to_owned) }
    }

    #[test]
    fn saved_contacts_are_listed_by_page_with_their_names() {
        let mut w = world();
        let list = vec![new("554499999999", "Ana", Some("Lima")), new("554499998888", "Bia", None)];
        let Reply::Changed { errors } = apply(&mut w, Call::Add(list), &mut cx()).unwrap() else { panic!() };
        assert!(errors.is_empty());
        let Reply::Contacts(page) = apply(&mut w, Call::List { page: 1, page_size: 1 }, &mut cx()).unwrap() else {
            panic!()
        };
        assert_eq!(page.len(), 1);
        assert_eq!(page[0].phone, Some(phone("554499998888")));
        assert_eq!(page[0].name.as_deref(), Some("Bia"));
        let Reply::Contacts(page) = apply(&mut w, Call::List { page: 2, page_size: 1 }, &mut cx()).unwrap() else {
            panic!()
        };
        assert_eq!(page[0].name.as_deref(), Some("Ana Lima"));
        assert_eq!(page[0].short.as_deref(), Some("Ana"));
        let Reply::Contacts(page) = apply(&mut w, Call::List { page: 3, page_size: 1 }, &mut cx()).unwrap() else {
            panic!()
        };
        assert!(page.is_empty());
    }

    #[test]
    fn numbers_off_the_network_are_reported_not_saved() {
        let mut w = world();
        let list = vec![new("554499990000", "Nobody", None), new("554499998888", "Bia", None)];
        let Reply::Changed { errors } = apply(&mut w, Call::Add(list), &mut cx()).unwrap() else { panic!() };
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].0, phone("554499990000"));
        assert!(w.contacts.is_contact(&phone("554499998888")));
        let Reply::Changed { errors } =
            apply(&mut w, Call::Remove(vec![phone("554499998888"), phone("554499997777")]), &mut cx()).unwrap()
        else {
            panic!()
        };
        assert_eq!(errors.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(), ["554499997777"]);
        assert!(!w.contacts.is_contact(&phone("554499998888")));
    }

    #[test]
    fn a_full_address_book_saves_nothing() {
        let mut w = world();
        w.contacts.book = Table::new("contacts", 1);
        let list = vec![new("554499999999", "Ana", None), new("554499998888", "Bia", None)];
        let mut c = cx();
        assert!(matches!(apply(&mut w, Call::Add(list), &mut c), Err(AccountError::Limit(_))));
        assert!(c.into_parts().0.is_empty(), "a refused change writes nothing");
    }

    #[test]
    fn blocking_refuses_sends_until_unblocked() {
        let mut w = world();
        let to = phone("554499999999");
        assert!(recipients(&w, &to).is_none());
        apply(&mut w, Call::SetBlocked { phone: to.clone(), blocked: true }, &mut cx()).unwrap();
        assert!(matches!(recipients(&w, &to), Some(Err(reason)) if reason.contains("blocked")));
        apply(&mut w, Call::SetBlocked { phone: to.clone(), blocked: false }, &mut cx()).unwrap();
        assert!(recipients(&w, &to).is_none());
        let own = Call::SetBlocked { phone: phone("5511999990001"), blocked: true };
        assert!(matches!(apply(&mut w, own, &mut cx()), Err(AccountError::Refused(_))));
    }

    #[test]
    fn the_directory_answers_which_numbers_exist() {
        let mut w = world();
        let Reply::Exists(list) =
            apply(&mut w, Call::Exists(vec![phone("554499999999"), phone("554488880000")]), &mut cx()).unwrap()
        else {
            panic!()
        };
        assert_eq!(list.iter().map(|e| e.exists).collect::<Vec<_>>(), [true, false]);
        assert!(matches!(apply(&mut w, Call::Get(phone("554488880000")), &mut cx()), Err(AccountError::NotFound(_))));
        assert!(matches!(
            apply(&mut w, Call::Report(phone("554488880000")), &mut cx()),
            Err(AccountError::NotFound(_))
        ));
    }
}
