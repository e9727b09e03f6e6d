use super::*;
use crate::network::account::communities::{Call as CCall, Reply as CReply};
use crate::network::account::Account;
use crate::network::incoming::IncomingContent;
use crate::network::sim::world::contacts::PublicProfile;

const ME: &str = "5511999990001";

fn cx() -> Cx {
    let account = Account { phone: Phone::parse(ME).ok(), business: false };
    Cx::new(chatedge_config::InstanceId::generate(), account, "0000".into())
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn world() -> World {
    let mut w = World::default();
    w.groups.groups = Table::new("groups", 5);
    w.communities.communities = Table::new("communities", 5);
    w
}

fn create(w: &mut World, members: &[&str]) -> Phone {
    let participants = members.iter().map(|p| phone(p)).collect();
    match apply(w, Call::Create { name: "g".into(), participants, picture: None }, &mut cx()).unwrap() {
        Reply::Created { phone, invitation_link, .. } => {
            assert!(invitation_link.starts_with(LINK_PREFIX));
            phone
        }
        r => panic!("{r:?}"),
    }
}

fn change(w: &mut World, g: &Phone, change: MemberChange, phones: &[&str]) -> Result<Reply, AccountError> {
    let phones = phones.iter().map(|p| phone(p)).collect();
    apply(w, Call::Members { group: GroupRef::Group(g.clone()), change, phones }, &mut cx())
}

#[test]
fn a_created_group_reaches_its_reachable_members_and_its_id_is_a_chat_id() {
    let mut w = world();
    let g = create(&mut w, &["554411111111", "554422222222", "554430000000"]);
    assert!(g.is_group() && g.as_str().starts_with("120363") && g.as_str().len() == "120363".len() + 12 + 6);
    let reached = recipients(&w, Some(&phone(ME)), &g).unwrap().unwrap();
    assert_eq!(reached, vec![phone("554411111111"), phone("554422222222")], "0000 numbers are not on the network");
    assert_eq!(w.groups.groups.get(g.as_str()).unwrap().role(&phone(ME)), Some(Role::SuperAdmin));
}

#[test]
fn after_leaving_or_under_admin_only_messages_a_send_is_refused_with_the_reason() {
    let mut w = world();
    let g = create(&mut w, &["554411111111"]);
    let r = GroupRef::Group(g.clone());
    let only_admins = SettingsChange { admin_only_message: Some(true), ..Default::default() };
    apply(&mut w, Call::Configure { group: r.clone(), settings: only_admins }, &mut cx()).unwrap();
    assert!(recipients(&w, Some(&phone(ME)), &g).unwrap().is_ok(), "the creator is an admin");
    apply(&mut w, Call::Leave { group: r }, &mut cx()).unwrap();
    let left = recipients(&w, Some(&phone(ME)), &g).unwrap().unwrap_err();
    assert!(left.contains("not a participant"), "{left}");
    let g2 = w.groups.groups.get(g.as_str()).unwrap();
    assert_eq!(g2.role(&phone("554411111111")), Some(Role::Admin), "a group keeps an admin");
    let unknown = recipients(&w, Some(&phone(ME)), &phone("120363999999999999-group")).unwrap().unwrap_err();
    assert!(unknown.contains("does not exist"), "a group the network does not know: {unknown}");
}

#[test]
fn member_changes_apply_to_whom_they_can_and_refuse_when_none() {
    let mut w = world();
    let g = create(&mut w, &["554411111111"]);
    assert!(matches!(
        change(&mut w, &g, MemberChange::Add, &["554422222222", "554411111111"]),
        Ok(Reply::Added { changed: 1, needs_invite }) if needs_invite.is_empty()
    ));
    assert!(matches!(change(&mut w, &g, MemberChange::Promote, &["554422222222"]), Ok(Reply::Done { changed: 1 })));
    assert!(matches!(change(&mut w, &g, MemberChange::Demote, &["554411111111"]), Err(AccountError::Refused(_))));
    assert!(
        matches!(change(&mut w, &g, MemberChange::Remove, &[ME]), Err(AccountError::Refused(_))),
        "leaving is leave"
    );
    let mut c = cx();
    let refused = apply(
        &mut w,
        Call::Members {
            group: GroupRef::Group(g.clone()),
            change: MemberChange::Add,
            phones: vec![phone("554440000000")],
        },
        &mut c,
    );
    assert!(matches!(refused, Err(AccountError::Refused(_))));
    assert!(c.into_parts().0.is_empty(), "a refused change writes nothing");
}

/// A number whose privacy lets only its chosen people add it to groups is not added, by a
/// creation or an addition: it comes back to be invited, and the group does not change for it.
#[test]
fn a_number_whose_privacy_refuses_the_account_is_left_to_be_invited() {
    let mut w = world();
    w.contacts = crate::network::sim::world::contacts::State::empty();
    let private = PublicProfile { group_add: Some("contacts".into()), ..PublicProfile::default() };
    w.contacts.set_public(&phone("554433333333"), private, &mut cx()).unwrap();
    let nobody = PublicProfile { group_add: Some("none".into()), ..PublicProfile::default() };
    w.contacts.set_public(&phone("554444444444"), nobody, &mut cx()).unwrap();
    let open = PublicProfile { group_add: Some("all".into()), ..PublicProfile::default() };
    w.contacts.set_public(&phone("554411111111"), open, &mut cx()).unwrap();

    let made = Call::Create {
        name: "g".into(),
        participants: vec![phone("554411111111"), phone("554433333333")],
        picture: None,
    };
    let Ok(Reply::Created { phone: g, needs_invite, .. }) = apply(&mut w, made, &mut cx()) else { panic!("created") };
    assert_eq!(needs_invite, vec![phone("554433333333")]);
    let in_group = |w: &World, p: &str| w.groups.groups.get(g.as_str()).unwrap().role(&phone(p)).is_some();
    assert!(in_group(&w, "554411111111") && !in_group(&w, "554433333333"));

    let added =
        change(&mut w, &g, MemberChange::Add, &["554422222222", "554444444444", "554444444444", "554440000000"]);
    assert!(
        matches!(&added, Ok(Reply::Added { changed: 1, needs_invite }) if *needs_invite == vec![phone("554444444444")]),
        "once each, and not a number off the network: {added:?}"
    );
    assert!(in_group(&w, "554422222222") && !in_group(&w, "554444444444"));
    let mut c = cx();
    let only_private = Call::Members {
        group: GroupRef::Group(g.clone()),
        change: MemberChange::Add,
        phones: vec![phone("554433333333")],
    };
    let r = apply(&mut w, only_private, &mut c);
    assert!(matches!(&r, Ok(Reply::Added { changed: 0, needs_invite }) if needs_invite.len() == 1), "{r:?}");
    assert!(c.into_parts().0.is_empty(), "nobody added: nothing written");
}

#[test]
fn a_reset_link_stops_working_and_the_new_one_joins() {
    let mut w = world();
    let g = create(&mut w, &["554411111111"]);
    let old = w.groups.groups.get(g.as_str()).unwrap().link();
    let Reply::Link { invitation_link: new, .. } =
        apply(&mut w, Call::InvitationLink { group: GroupRef::Group(g.clone()), reset: true }, &mut cx()).unwrap()
    else {
        panic!()
    };
    assert_ne!(old, new);
    assert!(matches!(apply(&mut w, Call::Invitation { link: old }, &mut cx()), Err(AccountError::NotFound(_))));
    apply(&mut w, Call::Leave { group: GroupRef::Group(g.clone()) }, &mut cx()).unwrap();
    let joined = apply(&mut w, Call::AcceptInvitation { link: new }, &mut cx()).unwrap();
    assert!(matches!(joined, Reply::Joined { pending: false, .. }));
    assert_eq!(w.groups.groups.get(g.as_str()).unwrap().role(&phone(ME)), Some(Role::Member));
}

#[test]
fn the_participant_bound_holds() {
    let mut w = world();
    let many: Vec<String> = (0..MAX_PARTICIPANTS as u64).map(|i| format!("5544{:08}", 10_000_001 + i)).collect();
    let refs: Vec<&str> = many.iter().map(String::as_str).collect();
    let refused = apply(
        &mut w,
        Call::Create { name: "big".into(), participants: refs.iter().map(|p| phone(p)).collect(), picture: None },
        &mut cx(),
    );
    assert!(matches!(refused, Err(AccountError::Limit(_))), "{refused:?}");
    assert!(w.groups.groups.is_empty());
}

#[test]
fn a_join_request_tells_the_admin_and_approval_lets_them_in() {
    let mut w = world();
    let g = create(&mut w, &["554411111111"]);
    let approval = SettingsChange { require_admin_approval: Some(true), ..Default::default() };
    apply(&mut w, Call::Configure { group: GroupRef::Group(g.clone()), settings: approval }, &mut cx()).unwrap();
    let mut c = cx();
    by_others::ask_to_join(&mut w, &mut c, &g, &phone("554433333333"), Some(&phone("554411111111"))).unwrap();
    let (_, notices) = c.into_parts();
    match &notices[0].content {
        IncomingContent::Notification(n) => {
            assert_eq!(n.notification, "MEMBERSHIP_APPROVAL_REQUEST");
            assert_eq!(n.request_method.as_deref(), Some("non_admin_add"));
            assert_eq!(n.notification_parameters.as_ref().map(Vec::len), Some(2));
        }
        other => panic!("{other:?}"),
    }
    change(&mut w, &g, MemberChange::Approve, &["554433333333"]).unwrap();
    let grp = w.groups.groups.get(g.as_str()).unwrap();
    assert_eq!(grp.role(&phone("554433333333")), Some(Role::Member));
    assert!(grp.pending.is_empty());
}

#[test]
fn linking_brings_members_into_the_announcement_group_and_unlinking_keeps_one_group() {
    let mut w = world();
    let (a, b) = (create(&mut w, &["554411111111"]), create(&mut w, &["554422222222"]));
    let CReply::Community(c) =
        super::super::communities::apply(&mut w, CCall::Create { name: "c".into(), description: None }, &mut cx())
            .unwrap()
    else {
        panic!()
    };
    let announcement = c.sub_groups[0].phone.clone();
    let link = CCall::Link { community: c.id.clone(), groups: vec![a.clone(), b.clone()] };
    super::super::communities::apply(&mut w, link, &mut cx()).unwrap();
    let reached = recipients(&w, Some(&phone(ME)), &announcement).unwrap().unwrap();
    assert_eq!(reached, vec![phone("554411111111"), phone("554422222222")]);
    let unlink = CCall::Unlink { community: c.id.clone(), groups: vec![a.clone()] };
    super::super::communities::apply(&mut w, unlink, &mut cx()).unwrap();
    assert_eq!(recipients(&w, Some(&phone(ME)), &announcement).unwrap().unwrap(), vec![phone("554422222222")]);
    let last = CCall::Unlink { community: c.id.clone(), groups: vec![b] };
    assert!(matches!(super::super::communities::apply(&mut w, last, &mut cx()), Err(AccountError::Refused(_))));
    let by_community = GroupRef::Community(c.id.clone());
    assert_eq!(resolve(&w, &by_community).unwrap(), announcement.as_str());
}

#[test]
fn a_link_mode_set_by_another_admin_is_told_and_lets_members_see_the_invitation_link() {
    let mut w = world();
    let owner = phone("554411111111");
    let (g, _) = by_others::create(&mut w, &mut cx(), &owner, "g".into(), Vec::new(), true).unwrap();
    let r = GroupRef::Group(g.clone());
    let see = |w: &mut World, reset: bool| apply(w, Call::InvitationLink { group: r.clone(), reset }, &mut cx());
    assert!(matches!(see(&mut w, false), Err(AccountError::Refused(_))), "a member, under ADMIN_LINK");

    let link_mode = |w: &mut World, all: bool| {
        let mut c = cx();
        by_others::configure(w, &mut c, &g, &owner, SettingsChange::default(), Some(all)).unwrap();
        let (batch, notices) = c.into_parts();
        assert!(!batch.is_empty(), "the group row is written");
        notices
            .iter()
            .map(|m| match &m.content {
                IncomingContent::Notification(n) => {
                    assert_eq!(n.notification_parameters.as_deref(), Some(&[][..]));
                    (n.notification.clone(), n.link_mode.clone().unwrap_or_default())
                }
                other => panic!("{other:?}"),
            })
            .collect::<Vec<_>>()
    };
    let told = link_mode(&mut w, true);
    assert_eq!(told, [("GROUP_MEMBER_LINK_PROPERTY_UPDATE".to_owned(), "ALL_MEMBER_LINK".to_owned())]);
    assert!(matches!(see(&mut w, false), Ok(Reply::Link { .. })), "every member may share it now");
    assert!(matches!(see(&mut w, true), Err(AccountError::Refused(_))), "resetting it stays an admin's");
    let Reply::Metadata(m) = apply(&mut w, Call::Metadata { group: r.clone(), with_link: true }, &mut cx()).unwrap()
    else {
        panic!()
    };
    assert!(m.invitation_link.is_some());

    assert!(link_mode(&mut w, true).is_empty(), "no change, nothing told");
    assert_eq!(link_mode(&mut w, false)[0].1, "ADMIN_LINK");
    assert!(matches!(see(&mut w, false), Err(AccountError::Refused(_))));
}
