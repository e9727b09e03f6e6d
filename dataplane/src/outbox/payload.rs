//! Z-API webhook bodies (seed 001, lines 11090–13470), built from core facts. Field names and
//! casing are Z-API's, including its spelling `momment`. Times are Unix milliseconds.

use chatedge_config::{InstanceId, MessageId, Phone, ZaapId};
use serde_json::{json, Value};

use crate::network::{IncomingMessage, MessageStatus, Presence};

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

/// MessageStatusCallback: SENT, RECEIVED, READ or PLAYED.
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

/// Who a ReceivedCallback is about.
pub struct Received<'a> {
    pub instance: &'a InstanceId,
    pub connected_phone: Option<&'a Phone>,
    /// The chat: the sender, or the recipient when `from_me`.
    pub chat: &'a Phone,
    pub message_id: &'a str,
    pub text: &'a str,
    pub sender_name: Option<&'a str>,
    pub from_me: bool,
    pub at_ms: u64,
}

/// ReceivedCallback for a text message (also for messages sent by the instance when
/// notify-sent-by-me is on, with `fromMe: true`).
pub fn received_text(r: &Received<'_>) -> Value {
    let chat = r.chat.as_str();
    json!({
        "isStatusReply": false,
        "senderLid": null,
        "connectedPhone": r.connected_phone.map(Phone::as_str),
        "waitingMessage": false,
        "isEdit": false,
        "isGroup": r.chat.is_group(),
        "isNewsletter": false,
        "instanceId": r.instance.to_string(),
        "messageId": r.message_id,
        "phone": chat,
        "fromMe": r.from_me,
        "momment": r.at_ms,
        "status": if r.from_me { "SENT" } else { "RECEIVED" },
        "chatName": r.sender_name.unwrap_or(chat),
        "senderPhoto": null,
        "senderName": r.sender_name.unwrap_or(chat),
        "participantPhone": null,
        "participantLid": null,
        "photo": null,
        "broadcast": false,
        "forwarded": false,
        "type": "ReceivedCallback",
        "fromApi": r.from_me,
        "text": { "message": r.text },
    })
}

/// Convenience for an incoming network message.
pub fn incoming(instance: &InstanceId, connected_phone: Option<&Phone>, m: &IncomingMessage) -> Value {
    received_text(&Received {
        instance,
        connected_phone,
        chat: &m.from,
        message_id: &m.id,
        text: &m.text,
        sender_name: m.sender_name.as_deref(),
        from_me: false,
        at_ms: m.at_ms,
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
