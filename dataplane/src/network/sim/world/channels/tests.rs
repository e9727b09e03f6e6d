use super::*;
use crate::network::account::Account;
use crate::network::incoming::IncomingContent;

const ME: &str = "5511999990001";

fn cx() -> Cx {
    Cx::new(
        chatedge_config::InstanceId::generate(),
        Account { phone: Phone::parse(ME).ok(), business: false },
        "0000".into(),
    )
}

fn world() -> World {
    let mut w = World::default();
    w.channels.channels = Table::new("channels", 10);
    w
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn create(w: &mut World, name: &str) -> Phone {
    match apply(w, Call::Create { name: name.into(), description: Some("d".into()) }, &mut cx()).unwrap() {
        Reply::Created { id } => id,
        r => panic!("{r:?}"),
    }
}

fn metadata(w: &mut World, id: &Phone) -> Channel {
    match apply(w, Call::Metadata { id: id.clone() }, &mut cx()).unwrap() {
        Reply::Channel(c) => *c,
        r => panic!("{r:?}"),
    }
}

#[test]
fn an_own_channel_is_edited_and_its_posts_reach_its_followers() {
    let mut w = world();
    let id = create(&mut w, "News");
    assert_eq!(id.kind(), chatedge_config::phone::PhoneKind::Newsletter);
    assert_eq!(id.as_str().len(), 18 + "@newsletter".len());
    apply(&mut w, Call::SetName { id: id.clone(), name: "Daily".into() }, &mut cx()).unwrap();
    apply(&mut w, Call::SetReactions { id: id.clone(), reactions: Reactions::Basic }, &mut cx()).unwrap();
    let m = metadata(&mut w, &id);
    assert_eq!((m.name.as_str(), m.role, m.reactions), ("Daily", Role::Owner, Reactions::Basic));
    assert_eq!(recipients(&w, &id), Some(Ok(vec![])));
    followed_by(&mut w, &id, &phone("554411111111"), &mut cx()).unwrap();
    assert_eq!(recipients(&w, &id), Some(Ok(vec![phone("554411111111")])));
    assert_eq!(metadata(&mut w, &id).followers, 1);
    assert_eq!(recipients(&w, &phone("5511999999999")), None, "not a channel");
    assert!(matches!(recipients(&w, &phone("999999999999999999@newsletter")), Some(Err(_))));
    apply(&mut w, Call::Delete { id: id.clone() }, &mut cx()).unwrap();
    assert!(matches!(apply(&mut w, Call::Metadata { id }, &mut cx()), Err(AccountError::NotFound(_))));
}

#[test]
fn a_followed_channel_cannot_be_posted_to_or_edited() {
    let mut w = world();
    let id =
        external(&mut w, ("Z-API".into(), "Official".into(), "BR".into()), phone("554422222222"), false, &mut cx())
            .unwrap();
    let mut c = cx();
    assert!(apply(&mut w, Call::Mute { id: id.clone(), muted: true }, &mut c).is_err(), "follow first");
    assert!(c.into_parts().0.is_empty(), "a refused call writes nothing");
    apply(&mut w, Call::Follow { id: id.clone() }, &mut cx()).unwrap();
    apply(&mut w, Call::Mute { id: id.clone(), muted: true }, &mut cx()).unwrap();
    let m = metadata(&mut w, &id);
    assert_eq!((m.role, m.muted), (Role::Subscriber, true));
    assert!(matches!(recipients(&w, &id), Some(Err(_))));
    let r = apply(&mut w, Call::SetDescription { id: id.clone(), description: "x".into() }, &mut cx());
    assert!(matches!(r, Err(AccountError::Refused(_))));
    assert!(apply(&mut w, Call::Delete { id: id.clone() }, &mut cx()).is_err());
    match apply(&mut w, Call::List, &mut cx()).unwrap() {
        Reply::Channels(list) => assert_eq!(list.len(), 1),
        r => panic!("{r:?}"),
    }
    apply(&mut w, Call::Unfollow { id: id.clone() }, &mut cx()).unwrap();
    match apply(&mut w, Call::List, &mut cx()).unwrap() {
        Reply::Channels(list) => assert!(list.is_empty()),
        r => panic!("{r:?}"),
    }
}

#[test]
fn admin_invitations_are_accepted_demoted_and_ownership_moves_to_an_admin() {
    let mut w = world();
    let id = create(&mut w, "News");
    let x = phone("554433333333");
    invited(&mut w, &id, &x, &mut cx()).unwrap();
    assert_eq!(metadata(&mut w, &id).pending_invites, vec![x.clone()]);
    let r = apply(&mut w, Call::TransferOwnership { id: id.clone(), phone: x.clone(), quit_admin: false }, &mut cx());
    assert!(matches!(r, Err(AccountError::Refused(_))), "only to an admin");
    let mut c = cx();
    admin_accepts(&mut w, &id, &x, &mut c).unwrap();
    let (_, notices) = c.into_parts();
    let IncomingContent::Notification(n) = &notices[0].content else { panic!("{notices:?}") };
    assert_eq!(n.notification, "NEWSLETTER_ADMIN_PROMOTE");
    assert_eq!(notices[0].from, id);
    assert_eq!(notices[0].participant, Some(x.clone()));
    assert_eq!(notices[0].sender_name.as_deref(), Some("News"));
    let m = metadata(&mut w, &id);
    assert_eq!((m.admins, m.pending_invites), (vec![x.clone()], vec![]));
    apply(&mut w, Call::TransferOwnership { id: id.clone(), phone: x.clone(), quit_admin: false }, &mut cx()).unwrap();
    assert_eq!(metadata(&mut w, &id).role, Role::Admin);
    assert!(recipients(&w, &id).unwrap().is_ok(), "an admin still posts");
    let mut c = cx();
    demoted(&mut w, &id, &phone(ME), &mut c).unwrap();
    let (_, notices) = c.into_parts();
    let IncomingContent::Notification(n) = &notices[0].content else { panic!() };
    assert_eq!(n.notification, "NEWSLETTER_ADMIN_DEMOTE");
    assert_eq!(metadata(&mut w, &id).role, Role::Subscriber);
    assert!(recipients(&w, &id).unwrap().is_err(), "a follower does not post");
}

#[test]
fn an_invitation_to_administer_is_accepted_once() {
    let mut w = world();
    let id =
        external(&mut w, ("Other".into(), String::new(), "CA".into()), phone("554422222222"), true, &mut cx()).unwrap();
    apply(&mut w, Call::AcceptAdminInvite { id: id.clone() }, &mut cx()).unwrap();
    assert_eq!(metadata(&mut w, &id).role, Role::Admin);
    assert!(apply(&mut w, Call::AcceptAdminInvite { id: id.clone() }, &mut cx()).is_err());
    let found = |w: &mut World, text: Option<&str>, countries: Vec<&str>| match apply(
        w,
        Call::Search {
            text: text.map(Into::into),
            countries: countries.into_iter().map(Into::into).collect(),
            view: View::New,
            limit: 10,
        },
        &mut cx(),
    )
    .unwrap()
    {
        Reply::Channels(list) => list.len(),
        r => panic!("{r:?}"),
    };
    assert_eq!(found(&mut w, Some("oth"), vec![]), 1);
    assert_eq!(found(&mut w, Some("oth"), vec!["BR"]), 0);
    assert_eq!(found(&mut w, None, vec!["ca"]), 1);
}
