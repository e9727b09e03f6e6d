//! Channels on WhatsApp Web through a real shard: the account's own channel is created,
//! renamed, described and read back, another is followed and left, and what WhatsApp Web's
//! engine has no call for is refused by name before anything is asked.

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

    let asks = double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count();
    let refused: Vec<AccountCall> = vec![
        C::Delete { id: id.clone() }.into(),
        C::Mute { id: id.clone(), muted: true }.into(),
        C::SetReactions { id: id.clone(), reactions: Reactions::Basic }.into(),
        C::TransferOwnership { id: id.clone(), phone: phone(CONTACT), quit_admin: false }.into(),
        C::Search { text: None, countries: vec![], view: View::New, limit: 10 }.into(),
    ];
    for call in refused {
        let answer = plane.account(call).await;
        assert!(matches!(&answer, Err(AccountError::Unsupported(why)) if why.contains("WhatsApp Web")), "{answer:?}");
    }
    assert_eq!(double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count(), asks, "none was asked");
    plane.crash().await;
}
