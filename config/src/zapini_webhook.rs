//! A Zapini instance's webhook settings (seed 002, `PUT /instances/{uuid}/webhook`): which
//! events go out, the secret their `X-Webhook-Signature` is keyed with (the text the user
//! set), and whether the webhook is on. The URL itself is the instance's webhook URL, like
//! every dialect's. Pure data, shared by the control plane (which stores it) and the data
//! plane (which filters and signs with it).

use serde::{Deserialize, Serialize};

/// Longest secret taken.
pub const MAX_SECRET_LEN: usize = 256;

/// Zapini's webhook events (seed 002, "Available Events"), in its names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ZapiniEvent {
    #[serde(rename = "message.received")]
    MessageReceived,
    #[serde(rename = "message.sent")]
    MessageSent,
    #[serde(rename = "message.status")]
    MessageStatus,
    #[serde(rename = "message.reaction")]
    MessageReaction,
    #[serde(rename = "instance.connected")]
    InstanceConnected,
    #[serde(rename = "instance.disconnected")]
    InstanceDisconnected,
    #[serde(rename = "instance.qr")]
    InstanceQr,
}

impl ZapiniEvent {
    pub const ALL: [ZapiniEvent; 7] = [
        ZapiniEvent::MessageReceived,
        ZapiniEvent::MessageSent,
        ZapiniEvent::MessageStatus,
        ZapiniEvent::MessageReaction,
        ZapiniEvent::InstanceConnected,
        ZapiniEvent::InstanceDisconnected,
        ZapiniEvent::InstanceQr,
    ];

    /// The event's name, in the body's `event` and the `X-Webhook-Event` header.
    pub fn name(self) -> &'static str {
        match self {
            ZapiniEvent::MessageReceived => "message.received",
            ZapiniEvent::MessageSent => "message.sent",
            ZapiniEvent::MessageStatus => "message.status",
            ZapiniEvent::MessageReaction => "message.reaction",
            ZapiniEvent::InstanceConnected => "instance.connected",
            ZapiniEvent::InstanceDisconnected => "instance.disconnected",
            ZapiniEvent::InstanceQr => "instance.qr",
        }
    }

    /// The events a name in a filter stands for: the seed names events two ways (its
    /// "Available Events" of outgoing webhooks, and the list under `PUT …/webhook`), so both
    /// are taken. `message.deleted` and `contact.update` are known but chatedge sends no such
    /// event (an empty list); an unknown name is `None`.
    pub fn parse(name: &str) -> Option<&'static [ZapiniEvent]> {
        use ZapiniEvent::*;
        Some(match name.trim().to_ascii_lowercase().as_str() {
            "message.received" | "message.incoming" => &[MessageReceived],
            "message.sent" | "message.outgoing" => &[MessageSent],
            "message.status" => &[MessageStatus],
            "message.reaction" => &[MessageReaction],
            "instance.connected" => &[InstanceConnected],
            "instance.disconnected" => &[InstanceDisconnected],
            "connection.update" => &[InstanceConnected, InstanceDisconnected],
            "instance.qr" | "qr.update" => &[InstanceQr],
            "message.deleted" | "contact.update" => &[],
            _ => return None,
        })
    }
}

/// What `PUT /instances/{uuid}/webhook` set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ZapiniWebhook {
    /// Keys `X-Webhook-Signature` (hex HMAC-SHA256 of the body); `None`: the instance's own
    /// webhook secret's text does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// The events sent (the seed's default when none are named: all of them).
    pub events: Vec<ZapiniEvent>,
    pub active: bool,
}

impl ZapiniWebhook {
    pub fn sends(&self, event: ZapiniEvent) -> bool {
        self.active && self.events.contains(&event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_parses_from_its_own_name_and_the_seeds_aliases_expand() {
        for e in ZapiniEvent::ALL {
            assert_eq!(ZapiniEvent::parse(e.name()), Some(&[e][..]));
            assert_eq!(serde_json::to_value(e).unwrap(), serde_json::json!(e.name()));
        }
        assert_eq!(ZapiniEvent::parse("message.incoming"), Some(&[ZapiniEvent::MessageReceived][..]));
        assert_eq!(ZapiniEvent::parse(" QR.Update "), Some(&[ZapiniEvent::InstanceQr][..]));
        assert_eq!(ZapiniEvent::parse("connection.update").map(<[_]>::len), Some(2));
        assert_eq!(ZapiniEvent::parse("contact.update"), Some(&[][..]));
        assert_eq!(ZapiniEvent::parse("message.exploded"), None);
    }

    #[test]
    fn an_inactive_webhook_sends_nothing() {
        let mut w = ZapiniWebhook { secret: None, events: vec![ZapiniEvent::MessageStatus], active: true };
        assert!(w.sends(ZapiniEvent::MessageStatus));
        assert!(!w.sends(ZapiniEvent::MessageSent));
        w.active = false;
        assert!(!w.sends(ZapiniEvent::MessageStatus));
    }
}
