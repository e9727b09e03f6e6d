//! How answers to interactive messages show on the phone of the message they answer: a poll
//! vote adds the options chosen to the poll, an event response adds GOING / NOT_GOING to the
//! event, an event edit adds the event as it now is. Pure: it names the message changed and
//! the change as JSON; the witness (`witness.rs`) applies it, on the connector's task, and
//! records the answer as a message of its own when the phone does not have the target.

use serde_json::{json, Value};

use crate::queue::content::Interactive;

/// The message id `answer` changes and the change, if it answers an earlier message.
pub fn change_of(answer: &Interactive, at_ms: u64) -> Option<(String, Value)> {
    match answer {
        Interactive::PollVote { poll_message_id, votes } => {
            Some((poll_message_id.clone(), json!({"pollVote": votes, "atMs": at_ms})))
        }
        Interactive::EventResponse { event_message_id, response } => {
            Some((event_message_id.clone(), json!({"eventResponse": response, "atMs": at_ms})))
        }
        Interactive::EditEvent { event_message_id, event } => {
            Some((event_message_id.clone(), json!({"editEvent": event, "atMs": at_ms})))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::queue::content::interactive::{Event, EventAnswer};

    fn event(name: &str) -> Event {
        Event {
            name: name.into(),
            description: None,
            date_time: "2024-04-29T09:30:53.309Z".into(),
            time_zone: None,
            location: None,
            call_link_type: None,
            canceled: false,
        }
    }

    #[test]
    fn votes_responses_and_event_edits_change_the_message_they_answer() {
        let vote = Interactive::PollVote { poll_message_id: "POLL".into(), votes: vec!["Z-API".into()] };
        assert_eq!(change_of(&vote, 7), Some(("POLL".into(), json!({"pollVote": ["Z-API"], "atMs": 7}))));
        let answer = Interactive::EventResponse { event_message_id: "EV".into(), response: EventAnswer::NotGoing };
        assert_eq!(change_of(&answer, 8), Some(("EV".into(), json!({"eventResponse": "NOT_GOING", "atMs": 8}))));
        let edit = Interactive::EditEvent { event_message_id: "EV".into(), event: event("later") };
        let (target, change) = change_of(&edit, 9).unwrap();
        assert_eq!(target, "EV");
        assert_eq!(change["editEvent"]["name"], "later");
    }

    #[test]
    fn new_interactive_messages_change_nothing() {
        let poll = Interactive::Poll { message: "?".into(), options: vec!["a".into(), "b".into()], max_options: None };
        assert_eq!(change_of(&poll, 1), None);
        assert_eq!(change_of(&Interactive::Event { event: event("e") }, 1), None);
    }
}
