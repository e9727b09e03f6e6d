//! profile: the sim's record of the account's own public profile — name, about text and photo
//! URL — one durable row. Changed by the API (`profile-name`, …) and by the owner on the phone
//! (`/sim/profile-name`, `/sim/profile-picture`, which also announce the change as the seed's
//! PROFILE_NAME_UPDATED / PROFILE_PICTURE_UPDATED notifications). Photos of other numbers come
//! from the contacts directory.
//! Runs under the instance's world lock (`SimNetwork::change`: a shard's local task for account
//! calls, the admin request's task for `/sim`); nothing here blocks or does I/O.

use serde::{Deserialize, Serialize};

use super::{Cell, Cx, Loader, World};
use crate::network::account::profile::{Call, Reply};
use crate::network::account::AccountError;
use crate::network::incoming::Notification;
use crate::network::IncomingMessage;
use crate::store::StoreError;

/// WhatsApp's limits on a profile name and about text.
pub const MAX_NAME_CHARS: usize = 25;
pub const MAX_DESCRIPTION_CHARS: usize = 139;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Own {
    pub name: Option<String>,
    pub description: Option<String>,
    pub picture_url: Option<String>,
}

#[derive(Debug, Default)]
pub struct State {
    own: Cell<Own>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State { own: l.cell("profile")? })
    }

    pub fn own(&self) -> &Own {
        self.own.get()
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    match call {
        Call::SetName(name) => set_name(world, name, cx)?,
        Call::SetDescription(text) => {
            bounded("description", &text, MAX_DESCRIPTION_CHARS)?;
            world.profile.own.update(cx, |o| o.description = Some(text));
        }
        Call::SetPicture(url) => world.profile.own.update(cx, |o| o.picture_url = Some(url)),
        Call::Picture(phone) => {
            if !cx.on_network(&phone) {
                return Err(AccountError::NotFound(format!("{} on the network", phone.as_str())));
            }
            let link = match cx.account.phone.as_ref() == Some(&phone) {
                true => world.profile.own().picture_url.clone(),
                false => world.contacts.public(&phone).and_then(|p| p.picture_url.clone()),
            };
            return Ok(Reply::Picture(link));
        }
    }
    Ok(Reply::Done)
}

fn set_name(world: &mut World, name: String, cx: &mut Cx) -> Result<(), AccountError> {
    bounded("name", &name, MAX_NAME_CHARS)?;
    if name.trim().is_empty() {
        return Err(AccountError::Refused("a profile name cannot be empty".into()));
    }
    world.profile.own.update(cx, |o| o.name = Some(name));
    Ok(())
}

fn bounded(what: &str, text: &str, max: usize) -> Result<(), AccountError> {
    match text.chars().count() <= max {
        true => Ok(()),
        false => Err(AccountError::Refused(format!("a profile {what} has at most {max} characters"))),
    }
}

/// The owner renamed the account on the phone: the integrator hears PROFILE_NAME_UPDATED.
pub fn renamed_on_phone(world: &mut World, name: String, cx: &mut Cx) -> Result<(), AccountError> {
    set_name(world, name.clone(), cx)?;
    let notice = Notification { profile_name: Some(name), ..own_notice("PROFILE_NAME_UPDATED") };
    announce(world, notice, cx);
    Ok(())
}

/// The owner changed the account's photo on the phone: PROFILE_PICTURE_UPDATED.
pub fn photo_changed_on_phone(world: &mut World, url: String, cx: &mut Cx) -> Result<(), AccountError> {
    world.profile.own.update(cx, |o| o.picture_url = Some(url.clone()));
    let notice = Notification { updated_photo: Some(url), ..own_notice("PROFILE_PICTURE_UPDATED") };
    announce(world, notice, cx);
    Ok(())
}

/// Seed 001's profile notifications: sent by the account itself (`fromMe`); no call, code
/// nor expiry (shown as `null`).
fn own_notice(kind: &str) -> Notification {
    Notification {
        from_me: Some(true),
        call_id: Some(None),
        code: Some(None),
        expires_at: Some(None),
        ..Notification::new(kind)
    }
}

fn announce(world: &World, notification: Notification, cx: &mut Cx) {
    // Not paired yet: there is no chat to announce it in (nor anyone to tell).
    let Some(me) = cx.account.phone.clone() else { return };
    let mut notice = IncomingMessage::notice(me, None, notification);
    notice.sender_name = world.profile.own().name.clone();
    notice.at_ms = cx.now_ms;
    cx.notices.push(notice);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::sim::world::testing::cx;
    use chatedge_config::Phone;

    #[test]
    fn the_profile_keeps_name_description_and_photo() {
        let mut w = World::default();
        apply(&mut w, Call::SetName("Loja Z".into()), &mut cx()).unwrap();
        apply(&mut w, Call::SetDescription("Aberto das 8h às 18h".into()), &mut cx()).unwrap();
        apply(&mut w, Call::SetPicture("https://files.test/me.png".into()), &mut cx()).unwrap();
        assert_eq!(
            w.profile.own(),
            &Own {
                name: Some("Loja Z".into()),
                description: Some("Aberto das 8h às 18h".into()),
                picture_url: Some("https://files.test/me.png".into())
            }
        );
        let me = Phone::parse("5511999990001").unwrap();
        let Reply::Picture(link) = apply(&mut w, Call::Picture(me), &mut cx()).unwrap() else { panic!() };
        assert_eq!(link.as_deref(), Some("https://files.test/me.png"));
    }

    #[test]
    fn names_beyond_whatsapp_limits_change_nothing() {
        let mut w = World::default();
        let mut c = cx();
        assert!(apply(&mut w, Call::SetName("x".repeat(26)), &mut c).is_err());
        assert!(apply(&mut w, Call::SetName("  ".into()), &mut c).is_err());
        assert!(apply(&mut w, Call::SetDescription("x".repeat(140)), &mut c).is_err());
        assert!(c.into_parts().0.is_empty());
        assert_eq!(w.profile.own(), &Own::default());
    }

    #[test]
    fn a_rename_on_the_phone_is_announced() {
        let mut w = World::default();
        let mut c = cx();
        renamed_on_phone(&mut w, "Novo nome".into(), &mut c).unwrap();
        let (_, notices) = c.into_parts();
        assert_eq!(notices.len(), 1);
        assert_eq!(notices[0].from.as_str(), "5511999990001");
        match &notices[0].content {
            crate::network::incoming::IncomingContent::Notification(n) => {
                assert_eq!(n.notification, "PROFILE_NAME_UPDATED");
                assert_eq!(n.profile_name.as_deref(), Some("Novo nome"));
            }
            other => panic!("{other:?}"),
        }
    }
}
