//! Channels on WhatsApp Web through a real shard: the account's own channel is created,
//! renamed, described, pictured, its reactions and admins set, handed over and deleted;
//! another is followed, left and found in the directory; muting (WhatsApp Web has no call for
//! it) is refused by name before anything is asked.

use super::*;
use crate::network::account::channels::{Call as C, Reactions, Reply as CR, Role, View};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_created_followed_renamed_and_read_back_as_whatsapp_describes_them() {
    let (_dir, double, plane) = paired_plane().await;
    let created = plane.account(C::Create { name: "Deals".into(), description: Some("Weekly offers".into()) }).await;
    let Ok(AccountReply::Channels(CR::Created { id })) = created else { panic!("{created:?}") };
    assert!(id.as_str().ends_with("@newsletter"), "{}", id.as_str());
    plane.account(C::SetName { id: id.clone(), name: "Deals of the week".into() }).await.unwrap();
    plane.account(C::SetDescription { id: id.clone(), description: "Every Monday".into() }).await.unwrap();
    let read = plane.account(C::Metadata { id: id.clone() }).await;
    let Ok(AccountReply::Channels(CR::Channel(c))) = read else { panic!("{read:?}") };
    assert_eq!((c.name.as_str(), c.description.as_str(), c.role), ("Deals of the week", "Every Monday", Role::Owner));
    assert!(!c.invite_code.is_empty());
    assert_eq!((c.muted, c.reactions), (false, Reactions::All), "what WhatsApp Web's metadata does not say");

    // Someone else's channel: followed, listed with the account's own, then left.
    let news = "120363299999999999@newsletter";
    double.with_directory(|d| {
        let channel = wa::ChannelInfo { id: news.into(), name: "News".into(), followers: 10, ..Default::default() };
        d.channels.insert(news.into(), channel);
    });
    plane.account(C::Follow { id: phone(news) }).await.unwrap();
    let listed = plane.account(C::List).await;
    let Ok(AccountReply::Channels(CR::Channels(all))) = listed else { panic!("{listed:?}") };
    let mine: Vec<(&str, Role, u64)> = all.iter().map(|c| (c.id.as_str(), c.role, c.followers)).collect();
    assert_eq!(mine, [(id.as_str(), Role::Owner, 0), (news, Role::Subscriber, 11)], "by id");
    plane.account(C::Unfollow { id: phone(news) }).await.unwrap();
    assert_eq!(double.directory().channels[news].role, wa::ChannelRole::Guest);

    let unknown = phone("120363200000000042@newsletter");
    let gone = plane.account(C::Metadata { id: unknown }).await;
    assert_eq!(gone.err(), Some(AccountError::NotFound("channel 120363200000000042@newsletter".into())));

    // The owner's calls: a picture (a data URL here), reactions, admins, a handover, the end.
    let png =
        base64::Engine::encode(&base64::engine::general_purpose::STANDARD, crate::media::sniff::tests::sample("png"));
    plane.account(C::SetPicture { id: id.clone(), picture: format!("data:image/png;base64,{png}") }).await.unwrap();
    plane.account(C::SetReactions { id: id.clone(), reactions: Reactions::Basic }).await.unwrap();
    double.on_whatsapp(&[CONTACT]);
    plane.account(C::RevokeAdminInvite { id: id.clone(), phone: phone(CONTACT) }).await.unwrap();
    plane.account(C::RemoveAdmin { id: id.clone(), phone: phone(CONTACT) }).await.unwrap();
    let nobody = plane.account(C::RemoveAdmin { id: id.clone(), phone: phone("5511900000000") }).await;
    assert_eq!(nobody.err(), Some(AccountError::NotFound("number 5511900000000".into())));
    let d = double.directory();
    assert!(d.channels[id.as_str()].picture.is_some(), "the picture reached WhatsApp");
    assert_eq!(d.channel_reactions.get(id.as_str()), Some(&false), "basic reactions only");
    let to_owner = C::TransferOwnership { id: id.clone(), phone: phone(CONTACT), quit_admin: false };
    plane.account(to_owner).await.unwrap();
    let changes: Vec<wa::AdminChange> = double.directory().channel_admin_changes.iter().map(|(_, _, c)| *c).collect();
    assert_eq!(
        changes,
        [wa::AdminChange::RevokeInvite, wa::AdminChange::Remove, wa::AdminChange::MakeOwner { stay_admin: true }]
    );
    let read = plane.account(C::Metadata { id: id.clone() }).await;
    assert!(matches!(&read, Ok(AccountReply::Channels(CR::Channel(c))) if c.role == Role::Admin), "{read:?}");
    let not_owner = plane.account(C::Delete { id: id.clone() }).await;
    assert!(matches!(&not_owner, Err(AccountError::Refused(why)) if why.contains("owner")), "{not_owner:?}");

    // The directory: by name.
    let found =
        plane.account(C::Search { text: Some("news".into()), countries: vec![], view: View::New, limit: 10 }).await;
    let Ok(AccountReply::Channels(CR::Channels(found))) = found else { panic!("{found:?}") };
    assert_eq!(found.iter().map(|c| c.id.as_str()).collect::<Vec<_>>(), [news]);

    // A channel it still owns ends.
    let created = plane.account(C::Create { name: "Old".into(), description: None }).await;
    let Ok(AccountReply::Channels(CR::Created { id: old })) = created else { panic!("{created:?}") };
    plane.account(C::Delete { id: old.clone() }).await.unwrap();
    assert!(!double.directory().channels.contains_key(old.as_str()));

    let asks = double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count();
    let muted = plane.account(C::Mute { id: id.clone(), muted: true }).await;
    assert!(matches!(&muted, Err(AccountError::Unsupported(why)) if why.contains("WhatsApp Web")), "{muted:?}");
    assert_eq!(double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count(), asks, "not asked");
    plane.crash().await;
}
