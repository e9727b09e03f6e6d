//! Replies on WhatsApp Web through a real shard: a message with `messageId` (Z-API's reply)
//! goes on the wire as a reply quoting that message, named in the chat it is in and by whom
//! it was written as the message index kept it — ours, someone's in a chat, a member's in a
//! group — whatever the body (a text, a file); a message that is not a reply is sent as it is.

use super::*;
use crate::media::MediaKind;
use crate::queue::content::MediaSource;

fn replying(plane: &Plane, to: &str, reply_to: &str, content: Content) -> OutboundMessage {
    let mut message = OutboundMessage::new(plane.id, phone(to), content);
    message.reply_to = Some(reply_to.to_owned());
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_goes_on_the_wire_quoting_the_message_it_answers_where_and_by_whom_it_was_written() {
    let (_dir, double, plane) = paired_plane().await;
    let ours = plane.send("our offer").await;
    until("ours is on the wire", || double.sends().contains(&wa::WireId::of(&ours))).await;
    double.emit(EngineEvent::ServerAck { id: wire(&ours), error: None });
    let group = "120363000000000001-group";
    let in_group = wa::InboundMessage {
        chat: group.into(),
        participant: Some(CONTACT.into()),
        ..from_contact("3AF8GROUP0000000002", wa::InboundContent::Text("quanto custa?".into()))
    };
    double
        .receive(vec![from_contact("3AF8CHAT00000000001", wa::InboundContent::Text("oi".into())), in_group])
        .await
        .expect("committed");

    let ours_ref = wa::MessageRef { chat: CONTACT.into(), id: wire(&ours), from_me: true, participant: None };
    let stored = plane
        .media
        .put_bytes(MediaKind::Image, bytes::Bytes::from(crate::media::sniff::tests::sample("png")))
        .await
        .unwrap();
    let image = queued_media(MediaKind::Image, MediaSource::Stored(stored));
    let cases = [
        (
            "to one of ours",
            replying(&plane, CONTACT, &ours.to_string(), Content::text("still valid")),
            ours_ref.clone(),
        ),
        (
            "to theirs in the chat",
            replying(&plane, CONTACT, "3AF8CHAT00000000001", Content::text("olá")),
            wa::MessageRef {
                chat: CONTACT.into(),
                id: "3AF8CHAT00000000001".into(),
                from_me: false,
                participant: None,
            },
        ),
        (
            "to a member's in a group",
            replying(&plane, group, "3AF8GROUP0000000002", Content::text("R$ 10")),
            wa::MessageRef {
                chat: group.into(),
                id: "3AF8GROUP0000000002".into(),
                from_me: false,
                participant: Some(CONTACT.into()),
            },
        ),
        (
            "never seen: a message of this chat, by its shape not ours",
            replying(&plane, CONTACT, "ABCDEF0123", Content::text("?")),
            wa::MessageRef { chat: CONTACT.into(), id: "ABCDEF0123".into(), from_me: false, participant: None },
        ),
        (
            "a file replying to ours",
            replying(&plane, CONTACT, &ours.to_string(), Content::Media(Box::new(image))),
            ours_ref.clone(),
        ),
    ];
    for (what, message, quoted) in cases {
        let id = plane.enqueue(message).await;
        let sent = eventually(|| last_send(&double).filter(|(w, _)| *w == wa::WireId::of(&id))).await;
        let Some((_, wa::Outgoing::Reply { quoted: got, body })) = sent else { panic!("{what}: not a reply") };
        assert_eq!(got, quoted, "{what}");
        assert!(matches!(*body, wa::Outgoing::Text(_) | wa::Outgoing::Media(_)), "{what}: {body:?}");
        double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });
    }

    let plain = plane.send("no reply").await;
    let sent = eventually(|| last_send(&double).filter(|(w, _)| *w == wa::WireId::of(&plain))).await;
    assert_eq!(sent.map(|(_, body)| body), Some(wa::Outgoing::Text("no reply".into())), "not a reply: sent as it is");
    plane.crash().await;
}
