//! What a message carries beside its body on WhatsApp Web, through a real shard: a message
//! with `messageId` (Z-API's reply) goes on the wire quoting that message, named in the chat it
//! is in and by whom it was written as the message index kept it — ours, someone's in a chat,
//! a member's in a group — whatever the body (a text, a file); `privateAnswer` sends it to the
//! member who wrote it; `mentioned` and `groupMentioned` name members and community groups;
//! `editMessageId` makes it the new body of one of ours. A message with none of these is sent
//! as it is.

use super::*;
use crate::queue::GroupMention;

fn quoted(quoted: wa::MessageRef) -> wa::MessageContext {
    wa::MessageContext { quoted: Some(quoted), ..Default::default() }
}

fn replying(plane: &Plane, to: &str, reply_to: &str, content: Content) -> OutboundMessage {
    let mut message = OutboundMessage::new(plane.id, phone(to), content);
    message.reply_to = Some(reply_to.to_owned());
    message
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_mentions_private_answers_and_edits_go_on_the_wire_with_the_message_they_name() {
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
    let member_ref = wa::MessageRef {
        chat: group.into(),
        id: "3AF8GROUP0000000002".into(),
        from_me: false,
        participant: Some(CONTACT.into()),
    };
    let other_group = "120363000000000002-group";
    let image = plane.stored_image().await;
    let cases = [
        (
            "to one of ours",
            replying(&plane, CONTACT, &ours.to_string(), Content::text("still valid")),
            CONTACT,
            quoted(ours_ref.clone()),
        ),
        (
            "to theirs in the chat",
            replying(&plane, CONTACT, "3AF8CHAT00000000001", Content::text("olá")),
            CONTACT,
            quoted(wa::MessageRef {
                chat: CONTACT.into(),
                id: "3AF8CHAT00000000001".into(),
                from_me: false,
                participant: None,
            }),
        ),
        (
            "to a member's in a group",
            replying(&plane, group, "3AF8GROUP0000000002", Content::text("R$ 10")),
            group,
            quoted(member_ref.clone()),
        ),
        (
            "privately, to the member who wrote it",
            OutboundMessage {
                private_answer: true,
                ..replying(&plane, group, "3AF8GROUP0000000002", Content::text("R$ 10"))
            },
            CONTACT,
            quoted(member_ref.clone()),
        ),
        (
            "mentioning members and a group of the community",
            OutboundMessage {
                mentioned: vec![phone(CONTACT), phone("5511977776666")],
                group_mentioned: vec![GroupMention { phone: phone(other_group), subject: "Vendas".into() }],
                ..OutboundMessage::new(plane.id, phone(group), Content::text("@5511988887777 @5511977776666 veja"))
            },
            group,
            wa::MessageContext {
                mentioned: vec![CONTACT.into(), "5511977776666".into()],
                groups_mentioned: vec![(other_group.into(), "Vendas".into())],
                ..Default::default()
            },
        ),
        (
            "an edit of ours",
            OutboundMessage {
                edit_message_id: Some(ours.to_string()),
                ..OutboundMessage::new(plane.id, phone(CONTACT), Content::text("our offer, corrected"))
            },
            CONTACT,
            wa::MessageContext { edits: Some(ours_ref.clone()), ..Default::default() },
        ),
        (
            "never seen: a message of this chat, by its shape not ours",
            replying(&plane, CONTACT, "ABCDEF0123", Content::text("?")),
            CONTACT,
            quoted(wa::MessageRef { chat: CONTACT.into(), id: "ABCDEF0123".into(), from_me: false, participant: None }),
        ),
        (
            "a file replying to ours",
            replying(&plane, CONTACT, &ours.to_string(), Content::Media(Box::new(image))),
            CONTACT,
            quoted(ours_ref.clone()),
        ),
    ];
    for (what, message, to, context) in cases {
        let id = plane.enqueue(message).await;
        let sent = eventually(|| sent_to(&double, &id)).await;
        let Some((got_to, wa::Outgoing::InContext { context: got, body })) = sent else {
            panic!("{what}: sent without its context")
        };
        assert_eq!((got_to.as_str(), got), (to, context), "{what}");
        assert!(matches!(*body, wa::Outgoing::Text(_) | wa::Outgoing::Media(_)), "{what}: {body:?}");
        double.emit(EngineEvent::ServerAck { id: wire(&id), error: None });
    }

    let plain = plane.send("no reply").await;
    let sent = eventually(|| last_send(&double).filter(|(w, _)| *w == wa::WireId::of(&plain))).await;
    assert_eq!(sent.map(|(_, body)| body), Some(wa::Outgoing::Text("no reply".into())), "not a reply: sent as it is");
    plane.crash().await;
}
