//! communities: the communities the account runs on the sim — one row per community (name,
//! description, picture, who may add groups, its announcement group, its linked groups). The
//! announcement group is a group of `world.groups` (admins only speak in it); linking a group
//! brings its participants into the announcement group, unlinking takes out those no other
//! linked group holds. Bounds: [`MAX_COMMUNITIES`] per account, [`MAX_LINKED`] groups per
//! community (seed 001: "up to 50 groups"). Every check comes before the first write.

use chatedge_config::Phone;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::groups::{Photo, Role};
use super::{Cx, Loader, Table, World};
use crate::network::account::communities::{Call, Community, Reply, SubGroup, Unchanged, WhoCanAddGroups};
use crate::network::account::AccountError;
use crate::store::StoreError;

/// Communities one account runs.
pub const MAX_COMMUNITIES: usize = 1000;
/// Groups linked to one community, besides its announcement group.
pub const MAX_LINKED: usize = 50;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub announcement: Phone,
    #[serde(default)]
    pub groups: Vec<Phone>,
    #[serde(default)]
    pub who_can_add_groups: WhoCanAddGroups,
    #[serde(default)]
    pub photo: Option<Photo>,
    pub creation_ms: u64,
}

#[derive(Debug, Default)]
pub struct State {
    pub communities: Table<Row>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State { communities: l.table("communities", MAX_COMMUNITIES)? })
    }

    /// The announcement group of community `id`.
    pub fn announcement_of(&self, id: &str) -> Option<&Phone> {
        self.communities.get(id.trim()).map(|c| &c.announcement)
    }
}

fn me(cx: &Cx) -> Result<Phone, AccountError> {
    cx.account.phone.clone().ok_or_else(|| AccountError::Refused("the account has no number yet".into()))
}

fn row<'a>(world: &'a World, id: &str) -> Result<&'a Row, AccountError> {
    world.communities.communities.get(id).ok_or_else(|| AccountError::NotFound(format!("community {id}")))
}

fn describe(world: &World, id: &str, c: &Row) -> Community {
    let sub = |phone: &Phone, announcement: bool| SubGroup {
        phone: phone.clone(),
        name: world.groups.groups.get(phone.as_str()).map(|g| g.subject.clone()).unwrap_or_default(),
        announcement,
    };
    let mut sub_groups = vec![sub(&c.announcement, true)];
    sub_groups.extend(c.groups.iter().map(|g| sub(g, false)));
    Community { id: id.to_owned(), name: c.name.clone(), description: c.description.clone(), sub_groups }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    let me = me(cx)?;
    match call {
        Call::Create { name, description } => {
            if world.communities.communities.room() == 0 {
                return Err(AccountError::Limit(format!("at most {MAX_COMMUNITIES} communities per account")));
            }
            if world.groups.groups.room() == 0 {
                return Err(AccountError::Limit("the account has as many groups as it may".into()));
            }
            let id = loop {
                let id = format!("120363{:012}", rand::rng().random_range(0..1_000_000_000_000u64));
                if !world.communities.communities.contains(&id) {
                    break id;
                }
            };
            let announcement = world.groups.create(cx, &me, name.clone(), &[], Some((id.clone(), true)))?;
            let row = Row {
                name,
                description: description.unwrap_or_default(),
                announcement,
                groups: Vec::new(),
                who_can_add_groups: WhoCanAddGroups::Admins,
                photo: None,
                creation_ms: cx.now_ms,
            };
            world.communities.communities.insert(id.clone(), row.clone(), cx)?;
            Ok(Reply::Community(describe(world, &id, &row)))
        }
        Call::List { page, page_size } => {
            let all = crate::network::account::page_of(world.communities.communities.iter(), page, page_size);
            Ok(Reply::List(all.map(|(id, c)| describe(world, id, c)).collect()))
        }
        Call::Metadata { community } => {
            let c = row(world, &community)?;
            Ok(Reply::Community(describe(world, &community, c)))
        }
        Call::Link { community, groups } => {
            admin_row(world, &community, &me)?;
            link(world, cx, &me, &community, groups)
        }
        Call::Unlink { community, groups } => {
            admin_row(world, &community, &me)?;
            unlink(world, cx, &community, groups)
        }
        Call::Configure { community, who_can_add_groups } => {
            admin_row(world, &community, &me)?;
            world.communities.communities.update(&community, cx, |c| c.who_can_add_groups = who_can_add_groups);
            Ok(Reply::Done)
        }
        Call::Describe { community, description } => {
            admin_row(world, &community, &me)?;
            world.communities.communities.update(&community, cx, |c| c.description = description);
            Ok(Reply::Done)
        }
        Call::SetPicture { community, picture } => {
            admin_row(world, &community, &me)?;
            world.communities.communities.update(&community, cx, |c| c.photo = Some(Photo::of(&picture)));
            Ok(Reply::Done)
        }
        Call::Deactivate { community } => {
            let c = admin_row(world, &community, &me)?.clone();
            for g in &c.groups {
                world.groups.groups.update(g.as_str(), cx, |g| g.community = None);
            }
            // The announcement group ends with it: nobody is in it any more, so a send to it
            // fails with the reason instead of reaching an id the sim no longer knows.
            world.groups.groups.update(c.announcement.as_str(), cx, |a| {
                a.participants.clear();
                a.pending.clear();
                a.community = None;
            });
            world.communities.communities.remove(&community, cx);
            Ok(Reply::Done)
        }
    }
}

/// Community `id`, if the account administers it (is an admin of its announcement group).
fn admin_row<'a>(world: &'a World, id: &str, me: &Phone) -> Result<&'a Row, AccountError> {
    let c = row(world, id)?;
    let admin = world.groups.groups.get(c.announcement.as_str()).and_then(|g| g.role(me)).is_some_and(|r| r.admin());
    match admin {
        true => Ok(c),
        false => Err(AccountError::Refused(format!("only admins of community {id} can change it"))),
    }
}

fn link(world: &mut World, cx: &mut Cx, me: &Phone, id: &str, groups: Vec<Phone>) -> Result<Reply, AccountError> {
    let c = row(world, id)?;
    let mut linking: Vec<Phone> = Vec::new();
    let mut unchanged = Vec::new();
    for phone in groups {
        let refuse = |reason: &str| Unchanged { phone: phone.clone(), reason: reason.to_owned() };
        match world.groups.groups.get(phone.as_str()) {
            _ if linking.contains(&phone) => continue,
            None => unchanged.push(refuse("no such group")),
            Some(g) if g.announcement => unchanged.push(refuse("an announcement group cannot be linked")),
            Some(g) if g.community.as_deref() == Some(id) => unchanged.push(refuse("already linked to this community")),
            Some(g) if g.community.is_some() => unchanged.push(refuse("already part of another community")),
            Some(g) if !g.role(me).is_some_and(Role::admin) => {
                unchanged.push(refuse("the account is not an admin of it"))
            }
            Some(_) => linking.push(phone),
        }
    }
    if c.groups.len() + linking.len() > MAX_LINKED {
        return Err(AccountError::Limit(format!("a community links at most {MAX_LINKED} groups")));
    }
    let announcement = c.announcement.clone();
    let joining = members_of(world, &linking);
    let a = world
        .groups
        .groups
        .get(announcement.as_str())
        .ok_or_else(|| AccountError::NotFound("announcement group".into()))?;
    let new: Vec<String> = joining.into_iter().filter(|p| !a.participants.contains_key(p)).collect();
    if a.participants.len() + new.len() > super::groups::MAX_COMMUNITY_MEMBERS {
        return Err(AccountError::Limit(format!(
            "a community has at most {} members",
            super::groups::MAX_COMMUNITY_MEMBERS
        )));
    }
    if linking.is_empty() {
        return Ok(Reply::Linked { changed: 0, unchanged });
    }
    for g in &linking {
        world.groups.groups.update(g.as_str(), cx, |g| g.community = Some(id.to_owned()));
    }
    world.groups.groups.update(announcement.as_str(), cx, |a| {
        for p in new {
            a.participants.insert(p, Role::Member);
        }
    });
    let changed = linking.len();
    world.communities.communities.update(id, cx, |c| c.groups.extend(linking));
    Ok(Reply::Linked { changed, unchanged })
}

fn unlink(world: &mut World, cx: &mut Cx, id: &str, groups: Vec<Phone>) -> Result<Reply, AccountError> {
    let c = row(world, id)?;
    let mut leaving: Vec<Phone> = Vec::new();
    let mut unchanged = Vec::new();
    for phone in groups {
        if c.groups.contains(&phone) {
            if !leaving.contains(&phone) {
                leaving.push(phone);
            }
        } else {
            unchanged.push(Unchanged { phone, reason: "not linked to this community".into() });
        }
    }
    if !leaving.is_empty() && c.groups.len() == leaving.len() {
        return Err(AccountError::Refused(
            "a community keeps at least one linked group besides its announcement group".into(),
        ));
    }
    if leaving.is_empty() {
        return Ok(Reply::Linked { changed: 0, unchanged });
    }
    let staying: Vec<Phone> = c.groups.iter().filter(|g| !leaving.contains(g)).cloned().collect();
    let announcement = c.announcement.clone();
    let kept = members_of(world, &staying);
    for g in &leaving {
        world.groups.groups.update(g.as_str(), cx, |g| g.community = None);
    }
    world.groups.groups.update(announcement.as_str(), cx, |a| {
        a.participants.retain(|p, role| role.admin() || kept.contains(p));
    });
    let changed = leaving.len();
    world.communities.communities.update(id, cx, |c| c.groups = staying);
    Ok(Reply::Linked { changed, unchanged })
}

/// Every participant of `groups`, once each.
fn members_of(world: &World, groups: &[Phone]) -> std::collections::BTreeSet<String> {
    groups
        .iter()
        .filter_map(|g| world.groups.groups.get(g.as_str()))
        .flat_map(|g| g.participants.keys().cloned())
        .collect()
}

/// A community is reached through its announcement group, a group: `groups::recipients`
/// answers for it (see `World::recipients`).
pub fn recipients(
    _world: &World,
    _me: Option<&chatedge_config::Phone>,
    _to: &chatedge_config::Phone,
) -> Option<Result<Vec<chatedge_config::Phone>, String>> {
    None
}
