//! Labels (WhatsApp Business) on WhatsApp Web through a real shard: created, listed, changed,
//! put on a chat and deleted on the instance's line; the colors are WhatsApp's own and need
//! no question.

use super::*;
use crate::network::account::labels::{Call as L, Reply as LR, COLORS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_are_created_listed_changed_put_on_chats_and_deleted_on_the_line() {
    let (_dir, double, plane) = paired_plane().await;
    let asks = || double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count();
    let colors = plane.account(L::Colors).await;
    let Ok(AccountReply::Labels(LR::Colors(colors))) = colors else { panic!("{colors:?}") };
    assert_eq!((colors.len(), colors[0]), (COLORS.len(), (0, COLORS[0])));
    assert_eq!(asks(), 0, "the colors are WhatsApp's palette: nothing is asked");

    let made = plane.account(L::Create { name: "New customer".into(), color: None }).await;
    let Ok(AccountReply::Labels(LR::Created(first))) = made else { panic!("{made:?}") };
    let made = plane.account(L::Create { name: "Paid".into(), color: Some(5) }).await;
    let Ok(AccountReply::Labels(LR::Created(second))) = made else { panic!("{made:?}") };
    assert_eq!((first.as_str(), second.as_str()), ("1", "2"), "numbered in turn");
    plane.account(L::Edit { id: first.clone(), name: "Customer".into(), color: None }).await.unwrap();
    let listed = plane.account(L::List).await;
    let Ok(AccountReply::Labels(LR::Labels(all))) = listed else { panic!("{listed:?}") };
    let all: Vec<(&str, &str, u8)> = all.iter().map(|l| (l.id.as_str(), l.name.as_str(), l.color)).collect();
    assert_eq!(all, [("1", "Customer", 0), ("2", "Paid", 5)]);

    plane.account(L::Assign { chat: phone(CONTACT), label: second.clone(), assigned: true }).await.unwrap();
    assert!(double.directory().chat_labels.contains(&(CONTACT.to_owned(), second.clone())));
    plane.account(L::Delete { id: second.clone() }).await.unwrap();
    assert!(double.directory().chat_labels.is_empty(), "off every chat with it");
    for call in [
        L::Delete { id: second.clone() },
        L::Edit { id: "9".into(), name: "x".into(), color: None },
        L::Assign { chat: phone(CONTACT), label: second.clone(), assigned: true },
    ] {
        let answer = plane.account(call).await;
        assert!(matches!(&answer, Err(AccountError::NotFound(what)) if what.starts_with("label ")), "{answer:?}");
    }
    plane.crash().await;
}
