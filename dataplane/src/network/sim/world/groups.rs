//! groups: the groups the account knows on the sim — one row per group (its subject,
//! description, picture, settings, participants with their roles, pending join requests, the
//! code of its invitation link, the community it belongs to). Groups the account left or was
//! told of by an invitation stay known, so a send to them fails with the reason and their
//! link still resolves. Bounds: [`MAX_GROUPS`] per account, [`MAX_PARTICIPANTS`] per group
//! (WhatsApp's 1024; an announcement group holds a whole community, [`MAX_COMMUNITY_MEMBERS`]),
//! [`MAX_PENDING`] join requests per group. A refused call changes nothing: every check comes
//! before the first write. Changes made by other people on the network (the `/sim` group
//! actions) are in [`by_others`]; they produce seed 001's notification webhooks.

use std::collections::BTreeMap;

use chatedge_config::Phone;
use rand::Rng;
use serde::{Deserialize, Serialize};
use sha2::Digest as _;

use super::{Cx, Loader, Table, World};
use crate::network::account::groups::{
    Call, GroupRef, MemberChange, Metadata, Participant, Picture, Reply, SettingsChange, Summary,
};
use crate::network::account::AccountError;
use crate::network::incoming::{Notification, NotificationParameter};
use crate::network::IncomingMessage;
use crate::store::StoreError;

/// Groups one account knows (member of, left, or seen through an invitation).
pub const MAX_GROUPS: usize = 10_000;
/// Participants of a group (WhatsApp's limit).
pub const MAX_PARTICIPANTS: usize = 1024;
/// Participants of a community's announcement group (seed 001: "up to 5,000 people").
pub const MAX_COMMUNITY_MEMBERS: usize = 5000;
/// Join requests waiting in one group.
pub const MAX_PENDING: usize = 1024;

const LINK_PREFIX: &str = "https://chat.whatsapp.com/";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    Member,
    Admin,
    /// The creator.
    SuperAdmin,
}

impl Role {
    pub fn admin(self) -> bool {
        self != Role::Member
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Settings {
    pub admin_only_message: bool,
    pub admin_only_settings: bool,
    pub require_admin_approval: bool,
    pub admin_only_add_member: bool,
    /// Every member may see and share the invitation link (WhatsApp's member link mode
    /// `all_member_link`); otherwise only admins (`admin_link`, the default). Changed only by
    /// other admins on the sim (`/sim/group-settings`): Z-API has no route for it.
    pub all_members_share_link: bool,
}

impl Settings {
    /// Who may share the invitation link, as Z-API names it.
    pub fn link_mode(&self) -> &'static str {
        match self.all_members_share_link {
            true => "ALL_MEMBER_LINK",
            false => "ADMIN_LINK",
        }
    }

    /// Whether a participant with `role` may see the invitation link.
    pub fn shows_link_to(&self, role: Role) -> bool {
        role.admin() || self.all_members_share_link
    }
}

/// Someone asking to join.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// `invite_link` or `non_admin_add`.
    pub method: String,
    /// Who added them, for `non_admin_add`.
    pub by: Option<Phone>,
    pub at_ms: u64,
}

/// A group's picture as the network keeps it: its link, or the digest of its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Photo {
    Url(String),
    Data { sha256: String, bytes: u64 },
}

impl Photo {
    pub fn of(p: &Picture) -> Photo {
        match p {
            Picture::Url(u) => Photo::Url(u.clone()),
            Picture::Data(b) => {
                let hex = sha2::Sha256::digest(b).iter().map(|x| format!("{x:02x}")).collect();
                Photo::Data { sha256: hex, bytes: b.len() as u64 }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub subject: String,
    #[serde(default)]
    pub description: String,
    pub owner: Phone,
    pub creation_ms: u64,
    pub subject_time_ms: u64,
    pub subject_owner: Phone,
    /// Phone → role. The account is in it while it is a member.
    pub participants: BTreeMap<String, Role>,
    #[serde(default)]
    pub pending: BTreeMap<String, Request>,
    #[serde(default)]
    pub settings: Settings,
    pub invite_code: String,
    #[serde(default)]
    pub photo: Option<Photo>,
    /// The community it is linked to (or, for an announcement group, whose group it is).
    #[serde(default)]
    pub community: Option<String>,
    #[serde(default)]
    pub announcement: bool,
    pub last_activity_ms: u64,
}

impl Group {
    pub fn role(&self, phone: &Phone) -> Option<Role> {
        self.participants.get(phone.as_str()).copied()
    }

    fn max_participants(&self) -> usize {
        if self.announcement {
            MAX_COMMUNITY_MEMBERS
        } else {
            MAX_PARTICIPANTS
        }
    }

    pub fn link(&self) -> String {
        format!("{LINK_PREFIX}{}", self.invite_code)
    }

    fn metadata(&self, phone: &Phone, with_link: bool) -> Metadata {
        let participants = self
            .participants
            .iter()
            .filter_map(|(p, role)| {
                let phone = Phone::parse(p).ok()?;
                Some(Participant { phone, admin: role.admin(), super_admin: *role == Role::SuperAdmin })
            })
            .collect();
        Metadata {
            phone: phone.clone(),
            subject: self.subject.clone(),
            description: self.description.clone(),
            owner: self.owner.clone(),
            creation_ms: self.creation_ms,
            subject_time_ms: self.subject_time_ms,
            subject_owner: self.subject_owner.clone(),
            invitation_link: with_link.then(|| self.link()),
            community_id: self.community.clone(),
            admin_only_message: self.settings.admin_only_message,
            admin_only_settings: self.settings.admin_only_settings,
            require_admin_approval: self.settings.require_admin_approval,
            admin_only_add_member: self.settings.admin_only_add_member,
            announcement: self.announcement,
            participants,
        }
    }
}

#[derive(Debug, Default)]
pub struct State {
    pub groups: Table<Group>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State { groups: l.table("groups", MAX_GROUPS)? })
    }

    /// The group whose invitation link (or bare code) is `link`.
    pub fn by_link(&self, link: &str) -> Option<(Phone, &Group)> {
        let code = code_of(link)?;
        let (id, g) = self.groups.iter().find(|(_, g)| g.invite_code == code)?;
        Some((Phone::parse(id).ok()?, g))
    }

    /// Mints a group owned by `owner` with `members`, and stores it.
    pub fn create(
        &mut self,
        cx: &mut Cx,
        owner: &Phone,
        subject: String,
        members: &[Phone],
        community: Option<(String, bool)>,
    ) -> Result<Phone, AccountError> {
        let mut participants = BTreeMap::from([(owner.as_str().to_owned(), Role::SuperAdmin)]);
        for m in members {
            participants.entry(m.as_str().to_owned()).or_insert(Role::Member);
        }
        let (community, announcement) = community.map_or((None, false), |(id, a)| (Some(id), a));
        let limit = if announcement { MAX_COMMUNITY_MEMBERS } else { MAX_PARTICIPANTS };
        if participants.len() > limit {
            return Err(AccountError::Limit(format!("a group has at most {limit} participants")));
        }
        let id = loop {
            let id = format!("120363{:012}-group", rand::rng().random_range(0..1_000_000_000_000u64));
            if !self.groups.contains(&id) {
                break id;
            }
        };
        let phone = Phone::parse(&id).map_err(|e| AccountError::Unavailable(e.to_string()))?;
        let group = Group {
            subject,
            description: String::new(),
            owner: owner.clone(),
            creation_ms: cx.now_ms,
            subject_time_ms: cx.now_ms,
            subject_owner: owner.clone(),
            participants,
            pending: BTreeMap::new(),
            // Only a community's admins speak in, or edit, its announcement group.
            settings: Settings {
                admin_only_message: announcement,
                admin_only_settings: announcement,
                ..Settings::default()
            },
            invite_code: invite_code(),
            photo: None,
            community,
            announcement,
            last_activity_ms: cx.now_ms,
        };
        self.groups.insert(id, group, cx)?;
        Ok(phone)
    }
}

/// A new random invitation code (22 letters and digits, like WhatsApp's).
fn invite_code() -> String {
    rand::rng().sample_iter(&rand::distr::Alphanumeric).take(22).map(char::from).collect()
}

/// The code of an invitation link (`https://chat.whatsapp.com/<code>`, or the code alone).
fn code_of(link: &str) -> Option<&str> {
    let link = link.trim();
    let rest = link
        .strip_prefix(LINK_PREFIX)
        .or_else(|| link.strip_prefix("http://chat.whatsapp.com/"))
        .or_else(|| link.strip_prefix("chat.whatsapp.com/"))
        .unwrap_or(link);
    let code = rest.split(['?', '#', '/']).next()?;
    (!code.is_empty() && code.bytes().all(|b| b.is_ascii_alphanumeric())).then_some(code)
}

fn me(cx: &Cx) -> Result<Phone, AccountError> {
    cx.account.phone.clone().ok_or_else(|| AccountError::Refused("the account has no number yet".into()))
}

/// The row key of the group `r` names.
pub fn resolve(world: &World, r: &GroupRef) -> Result<String, AccountError> {
    match r {
        GroupRef::Group(p) if world.groups.groups.contains(p.as_str()) => Ok(p.as_str().to_owned()),
        GroupRef::Group(p) => Err(AccountError::NotFound(format!("group {p}"))),
        GroupRef::Community(id) => world
            .communities
            .announcement_of(id)
            .map(|p| p.as_str().to_owned())
            .ok_or_else(|| AccountError::NotFound(format!("community {id}"))),
    }
}

/// The group and the account's role in it; refused when the account is not a participant.
fn member<'a>(world: &'a World, key: &str, me: &Phone) -> Result<(&'a Group, Role), AccountError> {
    let g = world.groups.groups.get(key).ok_or_else(|| AccountError::NotFound(format!("group {key}")))?;
    let role = g.role(me).ok_or_else(|| AccountError::Refused(format!("the account is not a participant of {key}")))?;
    Ok((g, role))
}

fn admin<'a>(world: &'a World, key: &str, me: &Phone) -> Result<&'a Group, AccountError> {
    match member(world, key, me)? {
        (g, role) if role.admin() => Ok(g),
        _ => Err(AccountError::Refused(format!("only admins of {key} can do this"))),
    }
}

/// Subject, description and picture: any participant unless only admins may edit.
fn may_edit(world: &World, key: &str, me: &Phone) -> Result<(), AccountError> {
    match member(world, key, me)? {
        (g, Role::Member) if g.settings.admin_only_settings => {
            Err(AccountError::Refused(format!("only admins can edit the settings of {key}")))
        }
        _ => Ok(()),
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    let me = me(cx)?;
    let now = cx.now_ms;
    match call {
        Call::List { page, page_size } => {
            let mut mine: Vec<Summary> = world
                .groups
                .groups
                .iter()
                .filter(|(_, g)| g.role(&me).is_some())
                .filter_map(|(id, g)| {
                    let phone = Phone::parse(id).ok()?;
                    Some(Summary {
                        phone,
                        name: g.subject.clone(),
                        last_activity_ms: g.last_activity_ms,
                        announcement: g.announcement,
                    })
                })
                .collect();
            mine.sort_by(|a, b| {
                b.last_activity_ms.cmp(&a.last_activity_ms).then_with(|| a.phone.as_str().cmp(b.phone.as_str()))
            });
            Ok(Reply::List(crate::network::account::page_of(mine, page, page_size).collect()))
        }
        Call::Create { name, participants, picture } => {
            if participants.contains(&me) {
                return Err(AccountError::Refused(
                    "the connected number creates the group: leave it out of phones".into(),
                ));
            }
            let reachable: Vec<Phone> = participants.into_iter().filter(|p| cx.on_network(p)).collect();
            if reachable.is_empty() {
                return Err(AccountError::Refused(
                    "none of phones is on WhatsApp: a group needs one participant".into(),
                ));
            }
            // Those whose privacy keeps the account out are left out (the group is made even
            // when that is all of them, as WhatsApp makes it).
            let (needs_invite, added): (Vec<Phone>, Vec<Phone>) =
                reachable.into_iter().partition(|p| refuses_adds(world, p));
            let phone = world.groups.create(cx, &me, name, &added, None)?;
            if let Some(p) = picture {
                world.groups.groups.update(phone.as_str(), cx, |g| g.photo = Some(Photo::of(&p)));
            }
            let link = world.groups.groups.get(phone.as_str()).map(Group::link).unwrap_or_default();
            Ok(Reply::Created { phone, invitation_link: link, needs_invite })
        }
        Call::Rename { group, name } => {
            let key = resolve(world, &group)?;
            may_edit(world, &key, &me)?;
            world.groups.groups.update(&key, cx, |g| {
                g.subject = name;
                g.subject_time_ms = now;
                g.subject_owner = me.clone();
                g.last_activity_ms = now;
            });
            Ok(Reply::Done { changed: 1 })
        }
        Call::SetPicture { group, picture } => {
            let key = resolve(world, &group)?;
            may_edit(world, &key, &me)?;
            world.groups.groups.update(&key, cx, |g| g.photo = Some(Photo::of(&picture)));
            Ok(Reply::Done { changed: 1 })
        }
        Call::Describe { group, description } => {
            let key = resolve(world, &group)?;
            may_edit(world, &key, &me)?;
            world.groups.groups.update(&key, cx, |g| {
                g.description = description;
                g.last_activity_ms = now;
            });
            Ok(Reply::Done { changed: 1 })
        }
        Call::Configure { group, settings } => {
            let key = resolve(world, &group)?;
            admin(world, &key, &me)?;
            world.groups.groups.update(&key, cx, |g| configure(&mut g.settings, settings));
            Ok(Reply::Done { changed: 1 })
        }
        Call::Members { group, change, phones } => {
            let key = resolve(world, &group)?;
            let (changed, needs_invite) = members(world, &key, &me, change, &phones, cx)?;
            match change {
                MemberChange::Add => Ok(Reply::Added { changed, needs_invite }),
                _ => Ok(Reply::Done { changed }),
            }
        }
        Call::Leave { group } => {
            let key = resolve(world, &group)?;
            member(world, &key, &me)?;
            world.groups.groups.update(&key, cx, |g| {
                g.participants.remove(me.as_str());
                // A group is never left without an admin: WhatsApp promotes a participant.
                if !g.participants.values().any(|r| r.admin()) {
                    if let Some(first) = g.participants.values_mut().next() {
                        *first = Role::Admin;
                    }
                }
                g.last_activity_ms = now;
            });
            Ok(Reply::Done { changed: 1 })
        }
        Call::Metadata { group, with_link } => {
            let key = resolve(world, &group)?;
            let (g, role) = member(world, &key, &me)?;
            let phone = Phone::parse(&key).map_err(|e| AccountError::Unavailable(e.to_string()))?;
            Ok(Reply::Metadata(Box::new(g.metadata(&phone, with_link && g.settings.shows_link_to(role)))))
        }
        Call::InvitationLink { group, reset } => {
            let key = resolve(world, &group)?;
            let (g, role) = member(world, &key, &me)?;
            // Resetting the link is always an admin's; seeing it, a member's too when the
            // group's link mode lets every member share it.
            if reset || !g.settings.shows_link_to(role) {
                admin(world, &key, &me)?;
            }
            let phone = Phone::parse(&key).map_err(|e| AccountError::Unavailable(e.to_string()))?;
            let link = match reset {
                true => world.groups.groups.update(&key, cx, |g| {
                    g.invite_code = invite_code();
                    g.link()
                }),
                false => world.groups.groups.get(&key).map(Group::link),
            };
            Ok(Reply::Link { phone, invitation_link: link.unwrap_or_default() })
        }
        Call::Invitation { link } => {
            let (phone, g) = world.groups.by_link(&link).ok_or_else(not_a_link)?;
            Ok(Reply::Metadata(Box::new(g.metadata(&phone, true))))
        }
        Call::AcceptInvitation { link } => {
            let (phone, g) = world.groups.by_link(&link).ok_or_else(not_a_link)?;
            if g.role(&me).is_some() {
                return Ok(Reply::Joined { phone, pending: false });
            }
            let pending = g.settings.require_admin_approval;
            if pending && g.pending.len() >= MAX_PENDING && !g.pending.contains_key(me.as_str()) {
                return Err(AccountError::Limit(format!("at most {MAX_PENDING} join requests per group")));
            }
            if !pending && g.participants.len() >= g.max_participants() {
                return Err(AccountError::Limit(format!("{phone} is full ({} participants)", g.max_participants())));
            }
            world.groups.groups.update(phone.as_str(), cx, |g| match pending {
                true => drop(g.pending.insert(me.as_str().to_owned(), request("invite_link", None, now))),
                false => drop(g.participants.insert(me.as_str().to_owned(), Role::Member)),
            });
            Ok(Reply::Joined { phone, pending })
        }
    }
}

fn not_a_link() -> AccountError {
    AccountError::NotFound("invitation link (it was reset, or never existed)".into())
}

fn request(method: &str, by: Option<Phone>, at_ms: u64) -> Request {
    Request { method: method.to_owned(), by, at_ms }
}

fn configure(s: &mut Settings, c: SettingsChange) {
    let set = |field: &mut bool, v: Option<bool>| {
        if let Some(v) = v {
            *field = v;
        }
    };
    set(&mut s.admin_only_message, c.admin_only_message);
    set(&mut s.admin_only_settings, c.admin_only_settings);
    set(&mut s.require_admin_approval, c.require_admin_approval);
    set(&mut s.admin_only_add_member, c.admin_only_add_member);
}

/// The account changes the members of group `key`; answers how many of `phones` changed and,
/// for an addition, whom their privacy kept out (see [`refuses_adds`]). Refused (changing
/// nothing) when none can be changed and nobody is to be invited.
fn members(
    world: &mut World,
    key: &str,
    me: &Phone,
    change: MemberChange,
    phones: &[Phone],
    cx: &mut Cx,
) -> Result<(usize, Vec<Phone>), AccountError> {
    let (g, role) = member(world, key, me)?;
    if change != MemberChange::Add && !role.admin() {
        return Err(AccountError::Refused(format!("only admins of {key} can do this")));
    }
    if change == MemberChange::Add && !role.admin() && g.settings.admin_only_add_member {
        return Err(AccountError::Refused(format!("only admins can add participants to {key}")));
    }
    let mut needs_invite: Vec<Phone> = Vec::new();
    if change == MemberChange::Add {
        for p in phones {
            if g.role(p).is_none() && cx.on_network(p) && refuses_adds(world, p) && !needs_invite.contains(p) {
                needs_invite.push(p.clone());
            }
        }
    }
    let asked: Vec<Phone> = phones.iter().filter(|p| !needs_invite.contains(p)).cloned().collect();
    let plan = plan(g, me, role, change, &asked, cx)?;
    if plan.is_empty() && needs_invite.is_empty() {
        return Err(AccountError::Refused(nothing_to_change(change, key)));
    }
    if plan.is_empty() {
        return Ok((0, needs_invite)); // nobody to add: nothing written
    }
    let (now, n) = (cx.now_ms, plan.len());
    // A non-admin's additions wait for an admin where admins approve new members.
    let as_request = change == MemberChange::Add && !role.admin() && g.settings.require_admin_approval;
    world.groups.groups.update(key, cx, |g| {
        for p in &plan {
            let k = p.as_str().to_owned();
            match change {
                MemberChange::Add if as_request => {
                    g.pending.insert(k, request("non_admin_add", Some(me.clone()), now));
                }
                MemberChange::Add => drop(g.participants.insert(k, Role::Member)),
                MemberChange::Approve => {
                    g.pending.remove(&k);
                    g.participants.insert(k, Role::Member);
                }
                MemberChange::Reject => drop(g.pending.remove(&k)),
                MemberChange::Remove => drop(g.participants.remove(&k)),
                MemberChange::Promote => drop(g.participants.insert(k, Role::Admin)),
                MemberChange::Demote => drop(g.participants.insert(k, Role::Member)),
            }
        }
        g.last_activity_ms = now;
    });
    Ok((n, needs_invite))
}

/// Whether `phone`'s owner keeps the account from adding them to groups (their group-add
/// privacy, `/sim/contact-profile`'s `groupAdd`).
fn refuses_adds(world: &World, phone: &Phone) -> bool {
    world.contacts.public(phone).is_some_and(|p| p.refuses_group_adds())
}

fn nothing_to_change(change: MemberChange, key: &str) -> String {
    match change {
        MemberChange::Add => format!("none of phones can be added to {key} (already participants, or not on WhatsApp)"),
        MemberChange::Remove => format!("none of phones is a participant of {key} that the account may remove"),
        MemberChange::Approve | MemberChange::Reject => format!("none of phones asked to join {key}"),
        MemberChange::Promote => format!("none of phones is a participant of {key}"),
        MemberChange::Demote => format!("none of phones is an admin of {key} that can be demoted"),
    }
}

/// Which of `phones` the change applies to (checked against the bounds), in order, once each.
fn plan(
    g: &Group,
    me: &Phone,
    my_role: Role,
    change: MemberChange,
    phones: &[Phone],
    cx: &Cx,
) -> Result<Vec<Phone>, AccountError> {
    let mut out: Vec<Phone> = Vec::new();
    for p in phones {
        if out.contains(p) {
            continue;
        }
        let role = g.role(p);
        let applies = match change {
            MemberChange::Add => role.is_none() && cx.on_network(p),
            MemberChange::Approve | MemberChange::Reject => g.pending.contains_key(p.as_str()),
            // Only the creator may remove or demote another admin's creator status; nobody
            // removes themselves (that is leaving).
            MemberChange::Remove => {
                p != me && role.is_some() && (role != Some(Role::SuperAdmin) || my_role == Role::SuperAdmin)
            }
            MemberChange::Promote => role == Some(Role::Member),
            MemberChange::Demote => role == Some(Role::Admin),
        };
        if applies {
            out.push(p.clone());
        }
    }
    let joining = matches!(change, MemberChange::Approve)
        || change == MemberChange::Add && !(my_role == Role::Member && g.settings.require_admin_approval);
    if joining && g.participants.len() + out.len() > g.max_participants() {
        return Err(AccountError::Limit(format!("a group has at most {} participants", g.max_participants())));
    }
    if change == MemberChange::Add && !joining && g.pending.len() + out.len() > MAX_PENDING {
        return Err(AccountError::Limit(format!("at most {MAX_PENDING} join requests per group")));
    }
    Ok(out)
}

/// Who a message to group `to` reaches: its participants but the account. A group the sim has
/// never heard of is left to the caller (delivered to the id itself, as before groups were
/// modelled); a known group the account is not in, or an admin-only group when the account
/// is not an admin, refuses the message.
pub fn recipients(world: &World, me: Option<&Phone>, to: &Phone) -> Option<Result<Vec<Phone>, String>> {
    if !to.is_group() {
        return None;
    }
    let Some(g) = world.groups.groups.get(to.as_str()) else {
        return Some(Err(format!("group {to} does not exist, or the account was never in it")));
    };
    let Some(me) = me else { return Some(Err("the account has no number yet".into())) };
    let answer = match g.role(me) {
        None => Err(format!("the account is not a participant of group {to}")),
        Some(Role::Member) if g.settings.admin_only_message => {
            Err(format!("only admins can send messages to group {to}"))
        }
        Some(_) => Ok(g
            .participants
            .keys()
            .filter(|p| p.as_str() != me.as_str())
            .filter_map(|p| Phone::parse(p).ok())
            .collect()),
    };
    Some(answer)
}

/// Changes made by other people on the network (the `/sim` group actions).
#[path = "groups_by_others.rs"]
pub mod by_others;

#[cfg(test)]
#[path = "groups_tests.rs"]
mod tests;
