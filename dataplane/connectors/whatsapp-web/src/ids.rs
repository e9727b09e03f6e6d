//! Message ids on the wire. WhatsApp Web clients name their messages `3EB0` followed by upper-case
//! hex; chatedge sends with `3EB0` + its own [`MessageId`]'s hex, so the wire id is chosen before
//! the send (a resend after a crash carries the same id) and an ack or receipt names our message
//! without any lookup table. Ids of messages others sent are kept as the strings they are.

use chatedge_config::MessageId;

const PREFIX: &str = "3EB0";

/// The id a message of ours carries on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct WireId(String);

impl WireId {
    pub fn of(message: &MessageId) -> WireId {
        WireId(format!("{PREFIX}{}", message.to_string().to_ascii_uppercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Our message behind a wire id, or `None` for an id chatedge did not choose (sent from the
    /// phone, or by another client).
    pub fn ours(wire: &str) -> Option<MessageId> {
        let hex = wire.strip_prefix(PREFIX)?;
        if hex.len() != MessageId::LEN * 2 || hex.bytes().any(|b| b.is_ascii_lowercase()) {
            return None;
        }
        MessageId::parse(hex).ok()
    }
}

/// The wire id of the message an integrator names by `id` — one of ours by its chatedge
/// [`MessageId`] (or already by its wire id), anyone else's by the id WhatsApp gave it — and
/// whether it is ours.
pub fn named(id: &str) -> (String, bool) {
    match MessageId::parse(id) {
        Ok(ours) => (WireId::of(&ours).0, true),
        Err(_) => (id.to_owned(), WireId::ours(id).is_some()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_named_by_its_chatedge_id_or_its_wire_id_is_ours_under_its_wire_id() {
        let id = MessageId::generate();
        let wire = WireId::of(&id).as_str().to_owned();
        assert_eq!(named(&id.to_string()), (wire.clone(), true));
        assert_eq!(named(&id.to_string().to_ascii_lowercase()), (wire.clone(), true));
        assert_eq!(named(&wire), (wire, true));
        assert_eq!(named("3EB0ABCDEF0123456789AB"), ("3EB0ABCDEF0123456789AB".to_owned(), false), "someone else's");
    }

    #[test]
    fn our_message_id_round_trips_through_the_wire_id() {
        let id = MessageId::generate();
        let wire = WireId::of(&id);
        assert!(wire.as_str().starts_with("3EB0") && wire.as_str().len() == 24, "{wire:?}");
        assert_eq!(WireId::ours(wire.as_str()), Some(id));
    }

    #[test]
    fn ids_chatedge_did_not_choose_are_not_ours() {
        let id = MessageId::generate().to_string().to_ascii_uppercase();
        for other in [
            "3EB0ABCDEF0123456789AB".to_owned(), // a WhatsApp Web id of 22 characters
            format!("3EB1{id}"),
            format!("3EB0{}", id.to_ascii_lowercase()),
            "BAE5F2A7C3D1".to_owned(),
            String::new(),
        ] {
            assert_eq!(WireId::ours(&other), None, "{other}");
        }
    }
}
