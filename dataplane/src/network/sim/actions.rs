//! How actions on earlier messages (reactions and their removal, deletes, reads, pins, votes,
//! event answers) show on the recipient's phone: which message they change, and the change as
//! JSON, which the witness appends to that message's `changes`. A forward is the one action
//! that also arrives as a message of its own (in the chat it is forwarded to); [`forward_of`]
//! names the original it copies. Pure functions, called under the witness lock.

use chatedge_config::Phone;
use serde_json::{json, Value};

use crate::queue::content::Action;
use crate::queue::{Content, OutboundMessage};

/// The message id `message` acts on (in its own chat) and the change it makes, if it is such
/// an action.
pub fn change_of(message: &OutboundMessage, at_ms: u64) -> Option<(String, Value)> {
    let action = match &message.content {
        Content::Action(a) => a,
        Content::Interactive(i) => return super::votes::change_of(i, at_ms),
        _ => return None,
    };
    let change = match action.as_ref() {
        Action::Reaction { reaction, .. } => json!({"reaction": reaction, "atMs": at_ms}),
        // Seed 001: a removed reaction comes back as an empty one.
        Action::RemoveReaction { .. } => json!({"reaction": "", "removed": true, "atMs": at_ms}),
        Action::Delete { owner, .. } => json!({"deleted": true, "owner": owner, "atMs": at_ms}),
        Action::Read { .. } => json!({"read": true, "atMs": at_ms}),
        Action::Pin { action, duration, .. } => json!({"pin": action, "duration": duration, "atMs": at_ms}),
        Action::Forward { .. } => return None,
    };
    Some((action.target().to_owned(), change))
}

/// For a forward: the chat and id of the original message, and the change it shows there
/// (`forwardedTo`). The forward itself arrives in `message.phone`'s chat as a new message.
pub fn forward_of(message: &OutboundMessage, at_ms: u64) -> Option<(Phone, String, Value)> {
    match &message.content {
        Content::Action(action) => match action.as_ref() {
            Action::Forward { message_id, message_phone } => Some((
                message_phone.clone(),
                message_id.clone(),
                json!({"forwardedTo": message.phone, "forwardMessageId": message.message_id, "atMs": at_ms}),
            )),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use chatedge_config::InstanceId;

    use super::*;
    use crate::queue::content::action::{PinAction, PinDuration};

    fn message(action: Action) -> OutboundMessage {
        OutboundMessage::new(
            InstanceId::generate(),
            Phone::parse("5511999998888").unwrap(),
            Content::Action(Box::new(action)),
        )
    }

    #[test]
    fn each_action_names_its_target_and_the_change_it_makes() {
        let id = || "T1".to_owned();
        let cases = [
            (Action::Reaction { message_id: id(), reaction: "❤️".into() }, json!({"reaction": "❤️", "atMs": 7})),
            (Action::RemoveReaction { message_id: id() }, json!({"reaction": "", "removed": true, "atMs": 7})),
            (Action::Delete { message_id: id(), owner: true }, json!({"deleted": true, "owner": true, "atMs": 7})),
            (Action::Read { message_id: id() }, json!({"read": true, "atMs": 7})),
            (
                Action::Pin { message_id: id(), action: PinAction::Pin, duration: Some(PinDuration::Hours24) },
                json!({"pin": "pin", "duration": "24_hours", "atMs": 7}),
            ),
            (
                Action::Pin { message_id: id(), action: PinAction::Unpin, duration: None },
                json!({"pin": "unpin", "duration": null, "atMs": 7}),
            ),
        ];
        for (action, change) in cases {
            assert_eq!(change_of(&message(action.clone()), 7), Some(("T1".to_owned(), change)), "{action:?}");
            assert!(forward_of(&message(action), 7).is_none());
        }
    }

    #[test]
    fn a_forward_arrives_as_a_message_and_marks_its_original() {
        let source = Phone::parse("5511888888888").unwrap();
        let m = message(Action::Forward { message_id: "T1".into(), message_phone: source.clone() });
        assert_eq!(change_of(&m, 7), None, "the forward is a new message in the destination chat");
        let (chat, id, change) = forward_of(&m, 7).unwrap();
        assert_eq!((chat, id.as_str()), (source, "T1"));
        assert_eq!(change["forwardedTo"], json!("5511999998888"));
        assert_eq!(change["forwardMessageId"], json!(m.message_id.to_string()));
        assert!(change_of(&OutboundMessage::new(m.instance, m.phone.clone(), Content::text("hi")), 7).is_none());
    }
}
