//! channels: the channels (newsletters) the account knows on the sim — one durable row per
//! channel: its own channels and those it administers or follows, and public channels it
//! found or was invited to (owned by someone else on the network, made by `/sim` actions).
//! Each row keeps the name, description, picture, reaction setting, the account's role and
//! mute, the other admins, the admin invitations out (sent with send-newsletter-admin-invite)
//! and the followers (people on the network, added by `/sim`), each bounded. A post to a
//! channel reaches its followers when the account owns or administers it ([`recipients`]).
//! Admins joining or leaving produce NEWSLETTER_ADMIN_PROMOTE / _DEMOTE notices (seed 001,
//! lines 12415–12470).

use std::collections::BTreeSet;

use chatedge_config::Phone;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Cx, Loader, Table, World};
use crate::network::account::channels::{Call, Channel, Reactions, Reply, Role, View};
use crate::network::account::AccountError;
use crate::network::incoming::{Notification, NotificationParameter};
use crate::network::IncomingMessage;
use crate::store::StoreError;

/// Channels one account knows (own, administered, followed, found).
const MAX_CHANNELS: usize = 1_000;
/// Per channel: other admins, pending admin invitations, followers.
pub const MAX_ADMINS: usize = 100;
pub const MAX_INVITES: usize = 100;
pub const MAX_FOLLOWERS: usize = 10_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    pub name: String,
    pub description: String,
    pub picture: Option<String>,
    pub created_ms: u64,
    pub invite_code: String,
    pub role: Role,
    pub muted: bool,
    pub reactions: Reactions,
    /// The owner when it is not the account.
    pub owner: Option<Phone>,
    /// ISO country code the channel is listed under in searches.
    pub country: String,
    pub admins: BTreeSet<String>,
    pub invites: BTreeSet<String>,
    pub followers: BTreeSet<String>,
    /// The owner invited the account to administer it.
    pub invited_me: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub channels: Table<Row>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State { channels: l.table("channels", MAX_CHANNELS)? })
    }

    fn row(&self, id: &Phone) -> Result<&Row, AccountError> {
        self.channels.get(id.as_str()).ok_or_else(|| not_found(id))
    }
}

fn not_found(id: &Phone) -> AccountError {
    AccountError::NotFound(format!("channel {}", id.as_str()))
}

fn refused(why: String) -> AccountError {
    AccountError::Refused(why)
}

fn manages(row: &Row) -> bool {
    matches!(row.role, Role::Owner | Role::Admin)
}

/// The channel as the account sees it (`None` for a row whose key is no channel id, which
/// only a foreign writer could leave).
fn view(id: &str, r: &Row) -> Option<Channel> {
    let phones = |set: &BTreeSet<String>| set.iter().filter_map(|p| Phone::parse(p).ok()).collect();
    Some(Channel {
        id: Phone::parse(id).ok()?,
        name: r.name.clone(),
        description: r.description.clone(),
        picture: r.picture.clone(),
        created_ms: r.created_ms,
        invite_code: r.invite_code.clone(),
        followers: r.followers.len() as u64 + u64::from(r.role == Role::Subscriber),
        role: r.role,
        muted: r.muted,
        reactions: r.reactions,
        admins: phones(&r.admins),
        pending_invites: phones(&r.invites),
    })
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    let s = &mut world.channels;
    match call {
        Call::Create { name, description } => {
            let id = mint_id(&s.channels);
            let row = new_row(name, description.unwrap_or_default(), None, "BR".into(), Role::Owner, cx.now_ms);
            s.channels.insert(id.as_str(), row, cx)?;
            Ok(Reply::Created { id })
        }
        Call::List => {
            let list =
                s.channels.iter().filter(|(_, r)| r.role != Role::Guest).filter_map(|(k, r)| view(k, r)).collect();
            Ok(Reply::Channels(list))
        }
        Call::Metadata { id } => {
            Ok(Reply::Channel(Box::new(view(id.as_str(), s.row(&id)?).ok_or_else(|| not_found(&id))?)))
        }
        Call::Search { text, countries, view: order, limit } => {
            Ok(Reply::Channels(search(s, text, countries, order, limit)))
        }
        Call::Delete { id } => {
            owner_only(s.row(&id)?, &id)?;
            s.channels.remove(id.as_str(), cx);
            Ok(Reply::Done)
        }
        Call::Follow { id } => {
            if s.row(&id)?.role == Role::Guest {
                s.channels.update(id.as_str(), cx, |r| r.role = Role::Subscriber);
            }
            Ok(Reply::Done)
        }
        Call::Unfollow { id } => match s.row(&id)?.role {
            Role::Owner | Role::Admin => Err(refused(format!("an admin cannot unfollow channel {}", id.as_str()))),
            Role::Guest => Err(refused(format!("channel {} is not followed", id.as_str()))),
            Role::Subscriber => {
                s.channels.update(id.as_str(), cx, |r| (r.role, r.muted) = (Role::Guest, false));
                Ok(Reply::Done)
            }
        },
        Call::Mute { id, muted } => {
            if s.row(&id)?.role == Role::Guest {
                return Err(refused(format!("follow channel {} first", id.as_str())));
            }
            s.channels.update(id.as_str(), cx, |r| r.muted = muted);
            Ok(Reply::Done)
        }
        Call::AcceptAdminInvite { id } => {
            let row = s.row(&id)?;
            if !row.invited_me {
                return Err(refused(format!("no admin invitation to channel {} is waiting", id.as_str())));
            }
            s.channels.update(id.as_str(), cx, |r| (r.role, r.invited_me) = (Role::Admin, false));
            Ok(Reply::Done)
        }
        Call::RemoveAdmin { id, phone } => {
            owner_only(s.row(&id)?, &id)?;
            if !s.row(&id)?.admins.contains(phone.as_str()) {
                return Err(AccountError::NotFound(format!("admin {} of channel {}", phone.as_str(), id.as_str())));
            }
            s.channels.update(id.as_str(), cx, |r| r.admins.remove(phone.as_str()));
            Ok(Reply::Done)
        }
        Call::RevokeAdminInvite { id, phone } => {
            if !manages(s.row(&id)?) {
                return Err(refused(format!("only an admin of channel {} can do this", id.as_str())));
            }
            if !s.row(&id)?.invites.contains(phone.as_str()) {
                let what = format!("admin invitation of {} to channel {}", phone.as_str(), id.as_str());
                return Err(AccountError::NotFound(what));
            }
            s.channels.update(id.as_str(), cx, |r| r.invites.remove(phone.as_str()));
            Ok(Reply::Done)
        }
        Call::TransferOwnership { id, phone, quit_admin } => {
            owner_only(s.row(&id)?, &id)?;
            if !s.row(&id)?.admins.contains(phone.as_str()) {
                let why = format!("{} must be an admin of channel {} to become its owner", phone.as_str(), id.as_str());
                return Err(refused(why));
            }
            s.channels.update(id.as_str(), cx, |r| {
                r.admins.remove(phone.as_str());
                r.owner = Some(phone);
                r.role = if quit_admin { Role::Subscriber } else { Role::Admin };
            });
            Ok(Reply::Done)
        }
        Call::SetReactions { id, reactions } => edit(s, &id, cx, |r| r.reactions = reactions),
        Call::SetName { id, name } => edit(s, &id, cx, |r| r.name = name),
        Call::SetDescription { id, description } => edit(s, &id, cx, |r| r.description = description),
        Call::SetPicture { id, picture } => edit(s, &id, cx, |r| r.picture = Some(picture)),
    }
}

fn owner_only(row: &Row, id: &Phone) -> Result<(), AccountError> {
    match row.role {
        Role::Owner => Ok(()),
        _ => Err(refused(format!("only the owner of channel {} can do this", id.as_str()))),
    }
}

/// A change only the owner or an admin may make.
fn edit(s: &mut State, id: &Phone, cx: &mut Cx, change: impl FnOnce(&mut Row)) -> Result<Reply, AccountError> {
    if !manages(s.row(id)?) {
        return Err(refused(format!("only an admin of channel {} can do this", id.as_str())));
    }
    s.channels.update(id.as_str(), cx, change);
    Ok(Reply::Done)
}

fn search(s: &State, text: Option<String>, countries: Vec<String>, order: View, limit: usize) -> Vec<Channel> {
    let text = text.map(|t| t.to_lowercase());
    let mut found: Vec<Channel> = s
        .channels
        .iter()
        .filter(|(_, r)| r.owner.is_some() || r.role == Role::Owner)
        .filter(|(_, r)| countries.is_empty() || countries.iter().any(|c| c.eq_ignore_ascii_case(&r.country)))
        .filter(|(_, r)| {
            text.as_ref().is_none_or(|t| r.name.to_lowercase().contains(t) || r.description.to_lowercase().contains(t))
        })
        .filter_map(|(k, r)| view(k, r))
        .collect();
    match order {
        View::New => found.sort_by_key(|c| std::cmp::Reverse(c.created_ms)),
        View::Recommended | View::Trending | View::Popular => found.sort_by_key(|c| std::cmp::Reverse(c.followers)),
    }
    found.truncate(limit);
    found
}

fn new_row(name: String, description: String, owner: Option<Phone>, country: String, role: Role, now: u64) -> Row {
    Row {
        name,
        description,
        picture: None,
        created_ms: now,
        invite_code: invite_code(),
        role,
        muted: false,
        reactions: Reactions::All,
        owner,
        country,
        admins: BTreeSet::new(),
        invites: BTreeSet::new(),
        followers: BTreeSet::new(),
        invited_me: false,
    }
}

/// The followers a post to channel `to` reaches (see `World::recipients`): only the owner
/// and admins post.
pub fn recipients(world: &World, to: &Phone) -> Option<Result<Vec<Phone>, String>> {
    if to.kind() != chatedge_config::phone::PhoneKind::Newsletter {
        return None;
    }
    Some(match world.channels.channels.get(to.as_str()) {
        Some(r) if manages(r) => Ok(r.followers.iter().filter_map(|p| Phone::parse(p).ok()).collect()),
        Some(_) => Err(format!("only the owner and admins can post to channel {}", to.as_str())),
        None => Err(format!("channel {} not found among the account's channels", to.as_str())),
    })
}

/// The account sent `phone` an invitation to administer channel `id`
/// (send-newsletter-admin-invite): it waits until `phone` answers or it is revoked. Refused
/// unless the account manages the channel.
pub fn invited(world: &mut World, id: &Phone, phone: &Phone, cx: &mut Cx) -> Result<(), AccountError> {
    let row = world.channels.row(id)?;
    if !manages(row) {
        return Err(refused(format!("only an admin of channel {} can invite admins", id.as_str())));
    }
    if row.admins.contains(phone.as_str()) {
        return Err(refused(format!("{} is already an admin of channel {}", phone.as_str(), id.as_str())));
    }
    if !row.invites.contains(phone.as_str()) && row.invites.len() >= MAX_INVITES {
        return Err(AccountError::Limit(format!("at most {MAX_INVITES} pending admin invitations per channel")));
    }
    world.channels.channels.update(id.as_str(), cx, |r| r.invites.insert(phone.as_str().to_owned()));
    Ok(())
}

/// Someone else's public channel on the network (`/sim/newsletter`): the account can find it
/// by search, follow it, or — `invite_me` — accept its owner's invitation to administer it.
pub fn external(
    world: &mut World,
    (name, description, country): (String, String, String),
    owner: Phone,
    invite_me: bool,
    cx: &mut Cx,
) -> Result<Phone, AccountError> {
    let id = mint_id(&world.channels.channels);
    let mut row = new_row(name, description, Some(owner), country, Role::Guest, cx.now_ms);
    row.invited_me = invite_me;
    world.channels.channels.insert(id.as_str(), row, cx)?;
    Ok(id)
}

/// `phone` starts following the account's channel `id` (`/sim/newsletter-follow`).
pub fn followed_by(world: &mut World, id: &Phone, phone: &Phone, cx: &mut Cx) -> Result<(), AccountError> {
    let row = world.channels.row(id)?;
    if !row.followers.contains(phone.as_str()) && row.followers.len() >= MAX_FOLLOWERS {
        return Err(AccountError::Limit(format!("at most {MAX_FOLLOWERS} followers per channel on the sim")));
    }
    world.channels.channels.update(id.as_str(), cx, |r| r.followers.insert(phone.as_str().to_owned()));
    Ok(())
}

/// `phone` accepts the account's invitation to administer channel `id`
/// (`/sim/newsletter-admin-accept`): NEWSLETTER_ADMIN_PROMOTE.
pub fn admin_accepts(world: &mut World, id: &Phone, phone: &Phone, cx: &mut Cx) -> Result<(), AccountError> {
    let row = world.channels.row(id)?;
    if !row.invites.contains(phone.as_str()) {
        return Err(AccountError::NotFound(format!(
            "admin invitation of {} to channel {}",
            phone.as_str(),
            id.as_str()
        )));
    }
    if row.admins.len() >= MAX_ADMINS {
        return Err(AccountError::Limit(format!("at most {MAX_ADMINS} admins per channel")));
    }
    let name = row.name.clone();
    world.channels.channels.update(id.as_str(), cx, |r| {
        r.invites.remove(phone.as_str());
        r.admins.insert(phone.as_str().to_owned());
    });
    cx.notices.push(admin_notice(id, &name, phone, "NEWSLETTER_ADMIN_PROMOTE", "ADMIN", cx.now_ms));
    Ok(())
}

/// An admin of channel `id` is demoted to follower (`/sim/newsletter-admin-demote`): another
/// admin `phone` of the account's channel, or (`phone` the account's own number) the account
/// itself by the channel's owner. NEWSLETTER_ADMIN_DEMOTE.
pub fn demoted(world: &mut World, id: &Phone, phone: &Phone, cx: &mut Cx) -> Result<(), AccountError> {
    let row = world.channels.row(id)?;
    let me = cx.account.phone.as_ref() == Some(phone);
    let name = row.name.clone();
    if me && row.role == Role::Admin {
        world.channels.channels.update(id.as_str(), cx, |r| r.role = Role::Subscriber);
    } else if row.admins.contains(phone.as_str()) {
        world.channels.channels.update(id.as_str(), cx, |r| r.admins.remove(phone.as_str()));
    } else {
        return Err(AccountError::NotFound(format!("admin {} of channel {}", phone.as_str(), id.as_str())));
    }
    cx.notices.push(admin_notice(id, &name, phone, "NEWSLETTER_ADMIN_DEMOTE", "SUBSCRIBER", cx.now_ms));
    Ok(())
}

/// Seed 001's channel admin notice: the chat is the channel (named), the participant and the
/// first parameter the admin, the second its new role; `callId` null.
fn admin_notice(id: &Phone, name: &str, admin: &Phone, kind: &str, role: &str, at_ms: u64) -> IncomingMessage {
    let mut n = Notification::new(kind);
    let params = [admin.as_str(), role].map(|p| NotificationParameter::Text(p.to_owned()));
    n.notification_parameters = Some(params.to_vec());
    n.call_id = Some(None);
    let mut m = IncomingMessage::notice(id.clone(), Some(admin.clone()), n);
    m.sender_name = Some(name.to_owned());
    m.sender_lid = Some(super::super::lid_of(admin));
    m.at_ms = at_ms;
    m
}

/// A fresh channel id: 18 digits, as WhatsApp's (`120363…@newsletter`), not one the account
/// already has.
fn mint_id<T: serde::Serialize>(taken: &Table<T>) -> Phone {
    loop {
        let n: u64 = rand::rng().random_range(0..1_000_000_000_000);
        // 18 digits and the suffix: always a valid channel id (not input-derived).
        let id = Phone::parse(&format!("120363{n:012}@newsletter")).expect("a minted channel id parses");
        if !taken.contains(id.as_str()) {
            return id;
        }
    }
}

/// A channel invite code, as in `https://whatsapp.com/channel/0029Va…` (24 characters).
fn invite_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let tail: String = (0..20).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    format!("0029{tail}")
}

#[cfg(test)]
mod tests;
