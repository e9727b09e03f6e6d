//! Status posts on WhatsApp Web through a real shard: a text, an image or a video posted to
//! `status@broadcast` goes to the contacts of the address book the account's devices synced;
//! with none synced the post fails, its DeliveryCallback saying why.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_status_post_goes_to_the_address_books_contacts_and_fails_by_name_when_none_are_synced() {
    let (_dir, double, plane) = paired_plane().await;
    let status = || phone(chatedge_config::phone::STATUS_BROADCAST);
    let post = |content| OutboundMessage::new(plane.id, status(), content);
    let early = plane.enqueue(post(Content::text("Hoje abrimos às 9h"))).await;
    let failed = plane.webhook("the post's DeliveryCallback", |v| is(v, "DeliveryCallback", &early)).await;
    let why = failed["error"].as_str().unwrap_or_default().to_owned();
    assert!(why.contains("address book"), "{failed}");

    double.with_directory(|d| {
        let ana = wa::SavedContact { phone: CONTACT.into(), full_name: "Ana Lima".into(), first_name: None };
        d.address_book.insert(CONTACT.into(), ana);
    });
    let text = plane.enqueue(post(Content::text("Hoje abrimos às 9h"))).await;
    let sent = eventually(|| sent_to(&double, &text)).await;
    let want = (chatedge_config::phone::STATUS_BROADCAST.to_owned(), wa::Outgoing::Text("Hoje abrimos às 9h".into()));
    assert_eq!(sent, Some(want));
    double.emit(EngineEvent::ServerAck { id: wire(&text), error: None });
    let delivered = plane.webhook("the post's DeliveryCallback", |v| is(v, "DeliveryCallback", &text)).await;
    assert!(delivered.get("error").is_none(), "{delivered}");

    let image = plane.stored_image().await;
    let picture = plane.enqueue(post(Content::Media(Box::new(image)))).await;
    let sent = eventually(|| sent_to(&double, &picture)).await;
    assert!(matches!(&sent, Some((_, wa::Outgoing::Media(m))) if m.kind == wa::MediaKind::Image), "{sent:?}");
    plane.crash().await;
}
