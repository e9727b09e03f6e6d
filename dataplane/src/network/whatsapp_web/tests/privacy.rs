//! Privacy settings and disappearing messages on WhatsApp Web through a real shard: each
//! setting is asked on the instance's line as the value WhatsApp takes for it, a chat's timer
//! goes to the number as registered (or to the group), and what WhatsApp Web cannot do — read
//! or change the exceptions of a setting — is refused by name before anything is asked.

use super::*;
use crate::network::account::chats::{self, Expiration};
use crate::network::account::groups::{Call as G, Reply as GR};
use crate::network::account::privacy::{Call as P, Exception, MessagesDuration, Online, Scope, Visibility};

fn asked(double: &Double) -> usize {
    double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn privacy_settings_and_chat_timers_reach_whatsapp_and_exceptions_are_refused_by_name() {
    let (_dir, double, plane) = paired_plane().await;
    double.own_phone(Some(PHONE));
    double.on_whatsapp(&[CONTACT]);

    let last_seen = P::SetVisibility { scope: Scope::LastSeen, visibility: Visibility::Contacts, changes: vec![] };
    plane.account(last_seen).await.unwrap();
    let photo = P::SetVisibility { scope: Scope::Photo, visibility: Visibility::ContactBlacklist, changes: vec![] };
    plane.account(photo).await.unwrap();
    plane.account(P::SetOnline(Online::SameLastSeen)).await.unwrap();
    plane.account(P::SetReadReceipts(false)).await.unwrap();
    plane.account(P::SetMessagesDuration(MessagesDuration::Days7)).await.unwrap();
    let d = double.directory();
    assert_eq!(
        d.privacy,
        [
            wa::PrivacyChange::Visibility { of: wa::Seen::LastSeen, who: wa::Audience::Contacts },
            wa::PrivacyChange::Visibility { of: wa::Seen::Photo, who: wa::Audience::ContactsExcept },
            wa::PrivacyChange::Online { same_as_last_seen: true },
            wa::PrivacyChange::ReadReceipts(false),
        ]
    );
    assert_eq!(d.default_disappearing, Some(7 * 86_400));

    let before = asked(&double);
    let read = plane.account(P::Exceptions(Scope::LastSeen)).await;
    assert!(matches!(&read, Err(AccountError::Unsupported(why)) if why.contains("exceptions")), "{read:?}");
    let except = vec![Exception::Add(phone(CONTACT))];
    let change = P::SetVisibility { scope: Scope::Photo, visibility: Visibility::ContactBlacklist, changes: except };
    let changed = plane.account(change).await;
    assert!(matches!(&changed, Err(AccountError::Unsupported(why)) if why.contains("exceptions")), "{changed:?}");
    assert_eq!(asked(&double), before, "refused before anything was asked");

    // A chat's timer: a number with WhatsApp, a group the account runs; a number without
    // WhatsApp is not found.
    let day = chats::Call::SetExpiration { phone: phone(CONTACT), expiration: Expiration::Hours24 };
    plane.account(day).await.unwrap();
    let made = plane.account(G::Create { name: "Shifts".into(), participants: vec![], picture: None }).await;
    let Ok(AccountReply::Groups(GR::Created { phone: group, .. })) = made else { panic!("{made:?}") };
    plane.account(chats::Call::SetExpiration { phone: group.clone(), expiration: Expiration::Days90 }).await.unwrap();
    let off = chats::Call::SetExpiration { phone: phone(CONTACT), expiration: Expiration::Off };
    plane.account(off).await.unwrap();
    let d = double.directory();
    assert_eq!(d.disappearing.get(CONTACT), Some(&0), "turned off again");
    assert_eq!(d.disappearing.get(group.as_str()), Some(&(90 * 86_400)));
    let nobody = chats::Call::SetExpiration { phone: phone("5511900000000"), expiration: Expiration::Days7 };
    assert_eq!(plane.account(nobody).await.err(), Some(AccountError::NotFound("chat 5511900000000".into())));
    plane.crash().await;
}
