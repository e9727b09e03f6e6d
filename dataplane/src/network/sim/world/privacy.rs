//! privacy: the account's privacy settings on the sim — one row of settings, and one table of
//! exceptions per scope ("my contacts except…"), each bounded.

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

use super::{Cell, Cx, Loader, Table, World};
use crate::network::account::privacy::{Call, Exception, MessagesDuration, Online, Reply, Scope, Visibility};
use crate::network::account::AccountError;
use crate::store::StoreError;

/// Exceptions one scope may hold.
const MAX_EXCEPTIONS: usize = 10_000;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub last_seen: Visibility,
    pub photo: Visibility,
    pub description: Visibility,
    pub group_add: Visibility,
    pub online: Online,
    pub read_receipts: Option<bool>,
    pub messages_duration: MessagesDuration,
}

impl Settings {
    fn visibility_mut(&mut self, scope: Scope) -> &mut Visibility {
        match scope {
            Scope::LastSeen => &mut self.last_seen,
            Scope::Photo => &mut self.photo,
            Scope::Description => &mut self.description,
            Scope::GroupAdd => &mut self.group_add,
        }
    }

    pub fn read_receipts(&self) -> bool {
        self.read_receipts.unwrap_or(true)
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub settings: Cell<Settings>,
    last_seen: Table<()>,
    photo: Table<()>,
    description: Table<()>,
    group_add: Table<()>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State {
            settings: l.cell("privacy")?,
            last_seen: l.table("privacy.lastSeen", MAX_EXCEPTIONS)?,
            photo: l.table("privacy.photo", MAX_EXCEPTIONS)?,
            description: l.table("privacy.description", MAX_EXCEPTIONS)?,
            group_add: l.table("privacy.groupAdd", MAX_EXCEPTIONS)?,
        })
    }

    fn exceptions(&self, scope: Scope) -> &Table<()> {
        match scope {
            Scope::LastSeen => &self.last_seen,
            Scope::Photo => &self.photo,
            Scope::Description => &self.description,
            Scope::GroupAdd => &self.group_add,
        }
    }

    fn exceptions_mut(&mut self, scope: Scope) -> &mut Table<()> {
        match scope {
            Scope::LastSeen => &mut self.last_seen,
            Scope::Photo => &mut self.photo,
            Scope::Description => &mut self.description,
            Scope::GroupAdd => &mut self.group_add,
        }
    }

    /// Whether `phone` may add the account to groups (what `privacy/group-add` decides).
    pub fn may_add_to_groups(&self, phone: &Phone, is_contact: bool) -> bool {
        match self.settings.get().group_add {
            Visibility::All => true,
            Visibility::None => false,
            Visibility::Contacts => is_contact,
            Visibility::ContactBlacklist => is_contact && !self.group_add.contains(phone.as_str()),
        }
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    let p = &mut world.privacy;
    match call {
        Call::Exceptions(scope) => {
            let list = p.exceptions(scope).iter().filter_map(|(k, ())| Phone::parse(k).ok()).collect();
            Ok(Reply::Exceptions(list))
        }
        Call::SetVisibility { scope, visibility, changes } => {
            // All or nothing: check the bound before changing anything.
            let table = p.exceptions(scope);
            let adding = changes.iter().filter(|c| matches!(c, Exception::Add(x) if !table.contains(x.as_str())));
            if adding.count() > table.room() {
                return Err(AccountError::Limit(format!("at most {MAX_EXCEPTIONS} exceptions per privacy setting")));
            }
            let table = p.exceptions_mut(scope);
            for change in changes {
                match change {
                    Exception::Add(phone) => table.insert(phone.as_str(), (), cx)?,
                    Exception::Remove(phone) => drop(table.remove(phone.as_str(), cx)),
                }
            }
            p.settings.update(cx, |s| *s.visibility_mut(scope) = visibility);
            Ok(Reply::Done)
        }
        Call::SetOnline(online) => {
            p.settings.update(cx, |s| s.online = online);
            Ok(Reply::Done)
        }
        Call::SetReadReceipts(on) => {
            p.settings.update(cx, |s| s.read_receipts = Some(on));
            Ok(Reply::Done)
        }
        Call::SetMessagesDuration(d) => {
            p.settings.update(cx, |s| s.messages_duration = d);
            Ok(Reply::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::sim::world::testing::{cx, phone};

    #[test]
    fn each_scope_keeps_its_own_exceptions() {
        let mut w = World::default();
        w.privacy.last_seen = Table::new("privacy.lastSeen", 10);
        w.privacy.photo = Table::new("privacy.photo", 10);
        let set = |scope, changes| Call::SetVisibility { scope, visibility: Visibility::ContactBlacklist, changes };
        let (a, b) = (phone("554411111111"), phone("554422222222"));
        apply(&mut w, set(Scope::LastSeen, vec![Exception::Add(a.clone()), Exception::Add(b.clone())]), &mut cx())
            .unwrap();
        apply(&mut w, set(Scope::LastSeen, vec![Exception::Remove(b.clone())]), &mut cx()).unwrap();
        match apply(&mut w, Call::Exceptions(Scope::LastSeen), &mut cx()).unwrap() {
            Reply::Exceptions(list) => assert_eq!(list, vec![a]),
            r => panic!("{r:?}"),
        }
        match apply(&mut w, Call::Exceptions(Scope::Photo), &mut cx()).unwrap() {
            Reply::Exceptions(list) => assert!(list.is_empty()),
            r => panic!("{r:?}"),
        }
        assert_eq!(w.privacy.settings.get().last_seen, Visibility::ContactBlacklist);
        assert_eq!(w.privacy.settings.get().photo, Visibility::All);
    }

    #[test]
    fn too_many_exceptions_change_nothing() {
        let mut w = World::default();
        w.privacy.group_add = Table::new("privacy.groupAdd", 1);
        let changes = vec![Exception::Add(phone("554411111111")), Exception::Add(phone("554422222222"))];
        let call = Call::SetVisibility { scope: Scope::GroupAdd, visibility: Visibility::ContactBlacklist, changes };
        let mut c = cx();
        assert!(matches!(apply(&mut w, call, &mut c), Err(AccountError::Limit(_))));
        assert!(w.privacy.group_add.is_empty());
        assert_eq!(w.privacy.settings.get().group_add, Visibility::All);
        assert!(c.into_parts().0.is_empty(), "a refused change writes nothing");
    }
}
