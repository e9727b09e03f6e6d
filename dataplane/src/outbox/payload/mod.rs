//! Z-API webhook bodies (seed 001, lines 11090–13470), built from core facts. Field names and
//! casing are Z-API's, including its spelling `momment`. Times are Unix milliseconds.
//! ReceivedCallbacks, one shape per kind of message, are in [`received`]. Another dialect's
//! bodies have a module of their own ([`zami`]). Pure functions, called on the shard thread
//! that decides the event; no I/O.

mod received;
mod sent;
pub mod zami;

pub use received::{incoming, received, received_text, Received};
pub use sent::sent_by_me;

use chatedge_config::{InstanceId, MessageId, Phone, ZaapId};
use serde_json::{json, Value};

use crate::network::{MessageStatus, Presence};

/// DeliveryCallback: the message left (or could not leave) for the network.
pub fn delivery(
    instance: &InstanceId,
    phone: &Phone,
    zaap: &ZaapId,
    message_id: &MessageId,
    error: Option<&str>,
) -> Value {
    let mut v = json!({
        "phone": phone.as_str(),
        "zaapId": zaap.to_string(),
        "messageId": message_id.to_string(),
        "type": "DeliveryCallback",
        "instanceId": instance.to_string(),
    });
    if let Some(e) = error {
        v["error"] = json!(e);
    }
    v
}

/// MessageStatusCallback: SENT, RECEIVED, READ, READ_BY_ME or PLAYED.
pub fn message_status(
    instance: &InstanceId,
    phone: &Phone,
    message_id: &MessageId,
    status: MessageStatus,
    at_ms: u64,
) -> Value {
    json!({
        "instanceId": instance.to_string(),
        "status": status.as_str(),
        "ids": [message_id.to_string()],
        "momment": at_ms,
        "phoneDevice": 0,
        "phone": phone.as_str(),
        "type": "MessageStatusCallback",
        "isGroup": phone.is_group(),
    })
}

pub fn connected(instance: &InstanceId, phone: &Phone, at_ms: u64) -> Value {
    json!({
        "type": "ConnectedCallback",
        "connected": true,
        "momment": at_ms,
        "instanceId": instance.to_string(),
        "phone": phone.as_str(),
    })
}

pub fn disconnected(instance: &InstanceId, error: &str, at_ms: u64) -> Value {
    json!({
        "momment": at_ms,
        "error": error,
        "disconnected": true,
        "type": "DisconnectedCallback",
        "instanceId": instance.to_string(),
    })
}

pub fn presence(instance: &InstanceId, phone: &Phone, presence: Presence) -> Value {
    json!({
        "type": "PresenceChatCallback",
        "phone": phone.as_str(),
        "status": presence,
        "lastSeen": null,
        "instanceId": instance.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_read_by_me_and_played_use_the_seeds_names() {
        let (instance, phone, id) =
            (InstanceId::generate(), Phone::parse("5544999999999").unwrap(), MessageId::random());
        for (status, name) in [(MessageStatus::ReadByMe, "READ_BY_ME"), (MessageStatus::Played, "PLAYED")] {
            let v = message_status(&instance, &phone, &id, status, 1);
            assert_eq!(v["status"], name);
            assert_eq!(v["ids"], serde_json::json!([id.to_string()]));
        }
    }
}
