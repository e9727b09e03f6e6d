//! The chat list on WhatsApp Web through a real shard: WhatsApp has no call that lists chats,
//! so the engine answers from what the device has seen; the list arrives pinned first, then
//! the most recent, paged, in the dialects' terms, and one chat adds its photo as WhatsApp
//! shows it. A chat never seen is not found, by name.

use super::*;
use crate::network::account::chats::{Call as C, ChatInfo, Reply as CR};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_chat_list_is_answered_from_what_the_device_has_seen_pinned_first_then_the_most_recent() {
    let (_dir, double, plane) = paired_plane().await;
    let group = "120363000000000001-group";
    double.with_directory(|d| {
        let entry = |chat: &str, name: &str, pinned, unread, last_message_ms, mute_end_ms| wa::ChatEntry {
            chat: chat.into(),
            name: Some(name.into()),
            archived: false,
            pinned,
            unread,
            last_message_ms,
            mute_end_ms,
            expiration_s: 0,
        };
        for e in [
            entry(CONTACT, "Ana", false, 2, 1_700_000_002_000, None),
            entry(group, "Pedidos", false, 0, 1_700_000_003_000, Some(-1)),
            entry("5521977776666", "Bia", true, 0, 1_700_000_001_000, None),
        ] {
            d.chat_list.insert(e.chat.clone(), e);
        }
        d.pictures.insert(CONTACT.into(), "https://pps.whatsapp.net/v/t61/ana.jpg".into());
    });

    let mut listed: Vec<ChatInfo> = Vec::new();
    for page in 1..=2 {
        let got = plane.account(C::List { page, page_size: 2 }).await;
        let Ok(AccountReply::Chats(CR::Chats(chats))) = got else { panic!("{got:?}") };
        listed.extend(chats);
    }
    let shown: Vec<(&str, bool, u32, Option<i64>)> =
        listed.iter().map(|c| (c.phone.as_str(), c.pinned, c.unread, c.mute_end_ms)).collect();
    assert_eq!(shown, [("5521977776666", true, 0, None), (group, false, 0, Some(-1)), (CONTACT, false, 2, None)]);
    assert_eq!(listed[2].last_message_ms, 1_700_000_002_000);
    assert_eq!(listed[2].name.as_deref(), Some("Ana"));

    let got = plane.account(C::Get(phone(CONTACT))).await;
    let Ok(AccountReply::Chats(CR::Chat(ana))) = got else { panic!("{got:?}") };
    assert_eq!((ana.unread, ana.profile_thumbnail.as_deref()), (2, Some("https://pps.whatsapp.net/v/t61/ana.jpg")));
    let never = plane.account(C::Get(phone("5531966665555"))).await;
    assert_eq!(never.err(), Some(AccountError::NotFound("chat 5531966665555".into())));
    plane.crash().await;
}
