//! The address book on WhatsApp Web through a real shard: listed, paged and read one number at
//! a time as the account's devices synced it; a contact saved here is saved on WhatsApp (and
//! the phone) under the number as WhatsApp registered it; numbers without WhatsApp are
//! reported, not saved; removing is refused by name; a number is reported to WhatsApp by a
//! message received from it.

use super::*;
use crate::network::account::contacts::{Call as C, NewContact, Reply as CR};

fn new(phone_: &str, first: &str, last: Option<&str>) -> NewContact {
    NewContact { phone: phone(phone_), first_name: first.into(), last_name: last.map(str::to_owned) }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_book_is_listed_as_synced_and_a_saved_contact_reaches_whatsapp_under_its_registered_number() {
    let (_dir, double, plane) = paired_plane().await;
    double.on_whatsapp(&[CONTACT, "5511977776666"]);
    double.with_directory(|d| {
        let synced =
            wa::SavedContact { phone: CONTACT.into(), full_name: "Ana Lima".into(), first_name: Some("Ana".into()) };
        d.address_book.insert(CONTACT.into(), synced);
    });

    // The second number without its ninth digit: saved as WhatsApp registered it.
    let list = vec![new("551177776666", "Bia", Some("Souza")), new("5511900000000", "Nobody", None)];
    let saved = plane.account(C::Add(list)).await;
    let Ok(AccountReply::Contacts(CR::Changed { errors })) = saved else { panic!("{saved:?}") };
    assert_eq!(errors, [(phone("5511900000000"), "the number is not on WhatsApp".to_owned())]);
    let on_whatsapp = double.directory().address_book.get("5511977776666").cloned();
    let want = wa::SavedContact {
        phone: "5511977776666".into(),
        full_name: "Bia Souza".into(),
        first_name: Some("Bia".into()),
    };
    assert_eq!(on_whatsapp, Some(want), "saved on WhatsApp with first and last name");
    assert!(!double.directory().address_book.contains_key("5511900000000"));

    let page = |n| plane.account(C::List { page: n, page_size: 1 });
    let mut listed = Vec::new();
    for n in 1..=3 {
        let got = page(n).await;
        let Ok(AccountReply::Contacts(CR::Contacts(entries))) = got else { panic!("{got:?}") };
        listed.extend(entries.into_iter().map(|c| (c.phone.map(|p| p.as_str().to_owned()), c.name, c.short)));
    }
    let entry = |p: &str, name: &str, short: &str| (Some(p.to_owned()), Some(name.to_owned()), Some(short.to_owned()));
    assert_eq!(listed, [entry("5511977776666", "Bia Souza", "Bia"), entry(CONTACT, "Ana Lima", "Ana")], "by number");

    let got = plane.account(C::Get(phone(CONTACT))).await;
    let Ok(AccountReply::Contacts(CR::Contact(info))) = got else { panic!("{got:?}") };
    assert_eq!((info.name.as_deref(), info.short.as_deref()), (Some("Ana Lima"), Some("Ana")), "its saved name");

    let asks = || double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count();
    let before = asks();
    let removed = plane.account(C::Remove(vec![phone(CONTACT)])).await;
    assert!(
        matches!(&removed, Err(AccountError::Unsupported(why)) if why.contains("removing contacts")),
        "{removed:?}"
    );
    assert_eq!(asks(), before, "refused before anything is asked");
    assert!(double.directory().address_book.contains_key(CONTACT));

    // A number is reported by a message received from it: one never heard from is refused.
    let never = plane.account(C::Report(phone("5511977776666"))).await;
    assert!(matches!(&never, Err(AccountError::Refused(why)) if why.contains("received")), "{never:?}");
    double.with_directory(|d| {
        let chat = wa::ChatEntry { chat: CONTACT.into(), last_message_ms: 1_700_000_000_000, ..Default::default() };
        d.chat_list.insert(CONTACT.into(), chat);
    });
    plane.account(C::Report(phone(CONTACT))).await.unwrap();
    assert_eq!(double.directory().reported, [CONTACT]);
    plane.crash().await;
}
