//! Events (WhatsApp's event message) and the answers to them. An event carries a secret, as a
//! poll does, kept in the same records ([`super::poll::Polls`], with no options) before it first
//! reaches the wire (ours) or before the server's ack (received); an answer (going, not going)
//! is encrypted with it for the event's creator, and an edit is the event again, encrypted with
//! it as an "Event Edit". This module builds and reads protobufs only: it must not send.

use whatsapp_rust::wacore::event::{decrypt_event_response_with_secret, encrypt_event_response_with_secret};
use whatsapp_rust::wacore::secret_enc_addon::{encrypt_addon, AddonContext, ModificationType};
use whatsapp_rust::waproto::buffa::{Message as _, MessageField};
use whatsapp_rust::waproto::whatsapp as wa;

use super::poll::PollRecord;
use crate::engine::{EngineError, EventDetails, InboundContent};

use wa::message::event_response_message::EventResponseType;
use wa::message::secret_encrypted_message::SecretEncType;

/// The event as WhatsApp Web sends it, its secret in the message's context info.
pub fn creation(details: &EventDetails, secret: &[u8]) -> wa::Message {
    let context = wa::MessageContextInfo { message_secret: Some(secret.to_vec()), ..Default::default() };
    wa::Message {
        event_message: MessageField::some(event_message(details)),
        message_context_info: MessageField::some(context),
        ..Default::default()
    }
}

fn event_message(details: &EventDetails) -> wa::message::EventMessage {
    let place = details
        .place
        .as_ref()
        .filter(|p| !p.is_empty())
        .map(|name| wa::message::LocationMessage { name: Some(name.clone()), ..Default::default() });
    wa::message::EventMessage {
        name: Some(details.name.clone()),
        description: details.description.clone().filter(|d| !d.is_empty()),
        start_time: Some(details.start_s),
        location: place.map_or(MessageField::none(), MessageField::some),
        is_canceled: Some(details.canceled),
        extra_guests_allowed: Some(false),
        ..Default::default()
    }
}

/// The event `key` names, as it is now: its new body encrypted with the event's secret, from
/// `creator` (who edits: only the creator may).
pub fn edit(
    details: &EventDetails,
    record: &PollRecord,
    key: wa::MessageKey,
    creator: &str,
) -> Result<wa::Message, EngineError> {
    let id = key.id.clone().unwrap_or_default();
    let body = wa::Message { event_message: MessageField::some(event_message(details)), ..Default::default() };
    let context = AddonContext {
        stanza_id: &id,
        parent_msg_original_sender: creator,
        modification_sender: creator,
        modification_type: ModificationType::EventEdit,
    };
    let (payload, iv) = encrypt_addon(&body.encode_to_vec(), &record.secret, &context)
        .map_err(|e| EngineError::Refused(format!("the event edit cannot be encrypted: {e}")))?;
    let sealed = wa::message::SecretEncryptedMessage {
        target_message_key: MessageField::some(key),
        enc_payload: Some(payload),
        enc_iv: Some(iv.to_vec()),
        secret_enc_type: Some(SecretEncType::EVENT_EDIT),
        ..Default::default()
    };
    Ok(wa::Message { secret_encrypted_message: MessageField::some(sealed), ..Default::default() })
}

/// Our answer to the event `key` names, encrypted for its `creator`; `responder` is our JID in
/// the creator's namespace.
pub fn answer(
    going: bool,
    record: &PollRecord,
    key: wa::MessageKey,
    creator: &str,
    responder: &str,
    now_ms: i64,
) -> Result<wa::Message, EngineError> {
    let response = wa::message::EventResponseMessage {
        response: Some(if going { EventResponseType::GOING } else { EventResponseType::NOT_GOING }),
        timestamp_ms: Some(now_ms),
        extra_guest_count: None,
    };
    let id = key.id.clone().unwrap_or_default();
    let (payload, iv) = encrypt_event_response_with_secret(&response, &record.secret, &id, creator, responder)
        .map_err(|e| EngineError::Refused(format!("the answer cannot be encrypted: {e}")))?;
    let sealed = wa::message::EncEventResponseMessage {
        event_creation_message_key: MessageField::some(key),
        enc_payload: Some(payload),
        enc_iv: Some(iv.to_vec()),
    };
    Ok(wa::Message { enc_event_response_message: MessageField::some(sealed), ..Default::default() })
}

/// A received event: what it says, and the call it takes place on.
pub fn content(e: &wa::message::EventMessage) -> InboundContent {
    let place = e.location.as_option().and_then(|l| l.name.clone().or_else(|| l.address.clone()));
    InboundContent::Event {
        details: EventDetails {
            name: e.name.clone().unwrap_or_default(),
            description: e.description.clone(),
            start_s: e.start_time.unwrap_or_default(),
            place,
            canceled: e.is_canceled.unwrap_or(false),
        },
        join_link: e.join_link.clone().filter(|l| !l.is_empty()),
    }
}

/// The secret a received event carries, with its `creators` (asked only for an event).
pub fn received(message: &wa::Message, creators: impl FnOnce() -> Vec<String>) -> Option<PollRecord> {
    use whatsapp_rust::proto_helpers::MessageExt;
    let m = message.get_base_message();
    m.event_message.as_option()?;
    Some(PollRecord { secret: super::poll::secret_of(message)?, options: Vec::new(), creators: creators() })
}

/// An answer to an event whose record is kept, read with its secret: going or not, and when.
/// Each pairing of `creators` and `responders` (JIDs as text, without device) is tried; `None`:
/// it cannot be read (or is a "maybe", which Z-API does not name).
pub fn read_answer(
    record: &PollRecord,
    sealed: &wa::message::EncEventResponseMessage,
    event_id: &str,
    creators: &[String],
    responders: &[String],
) -> Option<(bool, u64)> {
    let (payload, iv) = (sealed.enc_payload.as_deref()?, sealed.enc_iv.as_deref()?);
    let response = creators.iter().find_map(|creator| {
        responders.iter().find_map(|responder| {
            decrypt_event_response_with_secret(payload, iv, &record.secret, event_id, creator, responder).ok()
        })
    })?;
    let at_ms = response.timestamp_ms.map_or(0, |t| t.max(0) as u64);
    match response.response {
        Some(EventResponseType::GOING) => Some((true, at_ms)),
        Some(EventResponseType::NOT_GOING) => Some((false, at_ms)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::wacore::secret_enc_addon::decrypt_addon;

    use super::*;

    fn launch() -> EventDetails {
        EventDetails {
            name: "Lançamento".into(),
            description: Some("Na loja".into()),
            start_s: 1_808_000_000,
            place: Some("Av. Paulista, 1000".into()),
            canceled: false,
        }
    }

    fn record(creators: Vec<String>) -> PollRecord {
        PollRecord { secret: vec![5; 32], options: Vec::new(), creators }
    }

    fn key(id: &str) -> wa::MessageKey {
        wa::MessageKey {
            remote_jid: Some("5511988887777@s.whatsapp.net".into()),
            from_me: Some(true),
            id: Some(id.into()),
            participant: None,
        }
    }

    #[test]
    fn an_event_goes_with_its_secret_and_reads_back_as_what_it_says() {
        let sent = creation(&launch(), &[5; 32]);
        let wire = wa::Message::decode_from_slice(&sent.encode_to_vec()).expect("decodes");
        let e = wire.event_message.as_option().expect("an event message");
        assert_eq!(e.start_time, Some(1_808_000_000));
        assert_eq!(e.location.as_option().and_then(|l| l.name.as_deref()), Some("Av. Paulista, 1000"));
        assert_eq!(content(e), InboundContent::Event { details: launch(), join_link: None });
        let creators = vec!["5511999990000@s.whatsapp.net".to_owned()];
        assert_eq!(received(&wire, || creators.clone()), Some(record(creators.clone())), "its secret is kept");
        let text = wa::Message { conversation: Some("oi".into()), ..Default::default() };
        assert_eq!(received(&text, || creators.clone()), None, "not an event");

        // Nowhere, no description: nothing empty is sent.
        let bare = EventDetails { description: Some(String::new()), place: None, ..launch() };
        let e = creation(&bare, &[5; 32]).event_message.into_option().expect("an event");
        assert!(e.description.is_none() && !e.location.is_set());
    }

    #[test]
    fn an_answer_is_read_with_the_events_secret_whichever_way_whatsapp_names_the_responder() {
        let (creator, responder) = ("5511999990000@s.whatsapp.net", "100000000000009@lid");
        for going in [true, false] {
            let m = answer(going, &record(vec![]), key("3EB0EV"), creator, responder, 1_808_000_123_000).unwrap();
            let sealed = m.enc_event_response_message.as_option().expect("an encrypted answer");
            let responders = ["5511988887777@s.whatsapp.net".to_owned(), responder.to_owned()];
            let read = read_answer(&record(vec![]), sealed, "3EB0EV", &[creator.to_owned()], &responders);
            assert_eq!(read, Some((going, 1_808_000_123_000)));
            let stranger = PollRecord { secret: vec![6; 32], ..record(vec![]) };
            assert_eq!(read_answer(&stranger, sealed, "3EB0EV", &[creator.to_owned()], &responders), None);
            assert_eq!(read_answer(&record(vec![]), sealed, "3EB0XX", &[creator.to_owned()], &responders), None);
        }
    }

    #[test]
    fn an_edit_is_the_event_again_sealed_with_its_secret_as_an_event_edit() {
        let creator = "5511999990000@s.whatsapp.net";
        let moved = EventDetails { start_s: 1_808_086_400, canceled: true, ..launch() };
        let m = edit(&moved, &record(vec![]), key("3EB0EV"), creator).unwrap();
        let sealed = m.secret_encrypted_message.as_option().expect("a secret-encrypted message");
        assert_eq!(sealed.secret_enc_type, Some(SecretEncType::EVENT_EDIT));
        assert_eq!(sealed.target_message_key.as_option().and_then(|k| k.id.as_deref()), Some("3EB0EV"));
        let context = AddonContext {
            stanza_id: "3EB0EV",
            parent_msg_original_sender: creator,
            modification_sender: creator,
            modification_type: ModificationType::EventEdit,
        };
        let (payload, iv) = (sealed.enc_payload.as_deref().unwrap(), sealed.enc_iv.as_deref().unwrap());
        let plain = decrypt_addon(payload, iv, &[5; 32], &context).expect("the event's secret opens it");
        let body = wa::Message::decode_from_slice(&plain).expect("a message");
        let e = body.event_message.as_option().expect("the event, as it is now");
        assert_eq!(content(e), InboundContent::Event { details: moved, join_link: None });
    }
}
