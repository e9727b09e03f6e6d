//! Communities on WhatsApp Web through a real shard: each community call the dialects make is
//! asked on the instance's line, and what WhatsApp answers (here the scripted engine's
//! directory) comes back in the network's terms, the community named by its parent group's
//! digits as Z-API names it.

use super::*;
use crate::network::account::communities::{Call as C, Reply as CR, WhoCanAddGroups};
use crate::network::account::groups::{self, Call as G, GroupRef, MemberChange, Reply as GR};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn communities_are_created_linked_configured_and_ended_on_the_line_as_whatsapp_describes_them() {
    let (_dir, double, plane) = paired_plane().await;
    double.own_phone(Some(PHONE));
    double.on_whatsapp(&[CONTACT]);

    // Created with its announcement group; the id is the parent group's digits.
    let created = plane.account(C::Create { name: "Neighbours".into(), description: Some("Street news".into()) }).await;
    let Ok(AccountReply::Communities(CR::Community(c))) = created else { panic!("{created:?}") };
    assert!(c.id.chars().all(|ch| ch.is_ascii_digit()), "{}", c.id);
    assert_eq!((c.name.as_str(), c.description.as_str()), ("Neighbours", "Street news"));
    let announcement = c.sub_groups.first().filter(|g| g.announcement).map(|g| g.phone.clone()).expect("announcement");
    assert_eq!(c.sub_groups.len(), 1);
    let parent = format!("{}-group", c.id);
    assert!(double.directory().communities.contains_key(&parent), "WhatsApp was asked to create it");

    // A group of the account is linked; one WhatsApp does not know is named with its reason.
    let made = plane.account(G::Create { name: "Block A".into(), participants: vec![phone(CONTACT)], picture: None });
    let Ok(AccountReply::Groups(GR::Created { phone: block, .. })) = made.await else { panic!("group") };
    let unknown = phone("120363000000000099-group");
    let linked = plane.account(C::Link { community: c.id.clone(), groups: vec![block.clone(), unknown.clone()] }).await;
    let Ok(AccountReply::Communities(CR::Linked { changed: 1, unchanged })) = linked else { panic!("{linked:?}") };
    assert_eq!(unchanged.len(), 1);
    assert_eq!(unchanged[0].phone, unknown);
    assert!(unchanged[0].reason.contains("404"), "{}", unchanged[0].reason);

    // Read back: the announcement group first, then the linked group; the linked group's own
    // metadata names the community by the same id.
    let read = plane.account(C::Metadata { community: c.id.clone() }).await;
    let Ok(AccountReply::Communities(CR::Community(now))) = read else { panic!("{read:?}") };
    let groups: Vec<(&str, &str, bool)> =
        now.sub_groups.iter().map(|g| (g.phone.as_str(), g.name.as_str(), g.announcement)).collect();
    assert_eq!(groups, [(announcement.as_str(), "Neighbours", true), (block.as_str(), "Block A", false)]);
    let meta = plane.account(G::Metadata { group: GroupRef::Group(block.clone()), with_link: false }).await;
    let Ok(AccountReply::Groups(GR::Metadata(m))) = meta else { panic!("{meta:?}") };
    assert_eq!(m.community_id.as_deref(), Some(c.id.as_str()));
    let listed = plane.account(C::List { page: 1, page_size: 10 }).await;
    let Ok(AccountReply::Communities(CR::List(all))) = listed else { panic!("{listed:?}") };
    assert_eq!(all.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [c.id.as_str()]);

    // Members named by the community go to its announcement group.
    let community = GroupRef::Community(c.id.clone());
    let added = plane.account(G::Members { group: community, change: MemberChange::Add, phones: vec![phone(CONTACT)] });
    assert!(matches!(added.await, Ok(AccountReply::Groups(GR::Added { changed: 1, .. }))));
    let a = double.directory().groups[announcement.as_str()].clone();
    assert!(a.members.iter().any(|m| m.phone == CONTACT), "{a:?}");

    // Settings, description and photo change the parent group.
    plane.account(C::Configure { community: c.id.clone(), who_can_add_groups: WhoCanAddGroups::All }).await.unwrap();
    plane.account(C::Describe { community: c.id.clone(), description: "Only street news".into() }).await.unwrap();
    let bytes = bytes::Bytes::from(crate::media::sniff::tests::sample("jpeg"));
    let photo = C::SetPicture { community: c.id.clone(), picture: groups::Picture::Data(bytes) };
    plane.account(photo).await.unwrap();
    let d = double.directory();
    assert!(d.communities[&parent].anyone_adds);
    assert_eq!(d.groups[&parent].description.as_deref(), Some("Only street news"));
    assert!(d.pictures.contains_key(&parent), "the photo reached WhatsApp");

    // Unlinked, then ended: WhatsApp no longer knows it, and says so by its id.
    let unlinked = plane.account(C::Unlink { community: c.id.clone(), groups: vec![block.clone()] }).await;
    assert!(matches!(unlinked, Ok(AccountReply::Communities(CR::Linked { changed: 1, .. }))), "{unlinked:?}");
    assert_eq!(double.directory().groups[block.as_str()].community, None);
    plane.account(C::Deactivate { community: c.id.clone() }).await.unwrap();
    let gone = plane.account(C::Metadata { community: c.id.clone() }).await;
    assert_eq!(gone.err(), Some(AccountError::NotFound(format!("community {}", c.id))));
    let none = plane.account(C::Describe { community: "120363000000000042".into(), description: "x".into() }).await;
    assert_eq!(none.err(), Some(AccountError::NotFound("community 120363000000000042".into())));
    plane.crash().await;
}
