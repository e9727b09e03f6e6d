//! network: the connectors that speak a chat network. A [`Connector`] is the seam between a
//! session and the network; `sim` (in-process) is the first, a WhatsApp Web engine and the Meta
//! Cloud API come later. The shape follows what real engines do:
//!
//! - every method returns at once after handing its work to the connection; outcomes arrive
//!   later as [`NetworkEvent`]s on the shard's event channel;
//! - `send` takes chatedge's own message id, so a resend after a crash is the same message;
//! - an incoming message is acknowledged (`ack_incoming`) only after its webhook event is
//!   durable, so the network redelivers anything chatedge did not keep (at-least-once);
//! - pairing codes arrive as events and expire.
//!
//! One connector value exists per shard and is used only on that shard's thread.

pub mod sim;

use std::time::Duration;

use chatedge_config::{InstanceId, MessageId, Phone};
use serde::{Deserialize, Serialize};

use crate::queue::OutboundMessage;

/// Opaque credentials the network issued at pairing; persisted so a restart needs no new scan.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Credentials(pub String);

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credentials(..)")
    }
}

/// A contact's presence in a chat (Z-API PresenceChatCallback `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Presence {
    Available,
    Unavailable,
    Composing,
    Recording,
    Paused,
}

/// Delivery progress of a sent message (Z-API MessageStatusCallback `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MessageStatus {
    Sent,
    Received,
    Read,
    Played,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sent => "SENT",
            MessageStatus::Received => "RECEIVED",
            MessageStatus::Read => "READ",
            MessageStatus::Played => "PLAYED",
        }
    }
}

/// A message someone sent to the instance's number.
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingMessage {
    /// The network's id of the message, used to acknowledge it.
    pub id: String,
    pub from: Phone,
    pub sender_name: Option<String>,
    pub text: String,
    pub at_ms: u64,
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum NetworkError {
    #[error("the instance is not connected to the network")]
    NotConnected,
}

/// What the network tells a shard, always about one instance.
#[derive(Debug)]
pub enum NetworkEvent {
    PairingCode {
        instance: InstanceId,
        code: String,
        valid_for: Duration,
    },
    /// Nobody scanned the codes in time; pairing stopped.
    PairingExpired {
        instance: InstanceId,
    },
    Connected {
        instance: InstanceId,
        phone: Phone,
        credentials: Credentials,
    },
    /// The connection dropped (`logged_out`: the credentials are no longer valid).
    Disconnected {
        instance: InstanceId,
        reason: String,
        logged_out: bool,
    },
    /// The network took the message.
    Accepted {
        instance: InstanceId,
        message_id: MessageId,
        at_ms: u64,
    },
    /// The network refused the message for good.
    Rejected {
        instance: InstanceId,
        message_id: MessageId,
        reason: String,
    },
    Status {
        instance: InstanceId,
        message_id: MessageId,
        phone: Phone,
        status: MessageStatus,
        at_ms: u64,
    },
    Incoming {
        instance: InstanceId,
        message: IncomingMessage,
    },
    Presence {
        instance: InstanceId,
        phone: Phone,
        presence: Presence,
        at_ms: u64,
    },
}

impl NetworkEvent {
    pub fn instance(&self) -> InstanceId {
        match self {
            NetworkEvent::PairingCode { instance, .. }
            | NetworkEvent::PairingExpired { instance }
            | NetworkEvent::Connected { instance, .. }
            | NetworkEvent::Disconnected { instance, .. }
            | NetworkEvent::Accepted { instance, .. }
            | NetworkEvent::Rejected { instance, .. }
            | NetworkEvent::Status { instance, .. }
            | NetworkEvent::Incoming { instance, .. }
            | NetworkEvent::Presence { instance, .. } => *instance,
        }
    }

    /// Bounded label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            NetworkEvent::PairingCode { .. } => "pairing_code",
            NetworkEvent::PairingExpired { .. } => "pairing_expired",
            NetworkEvent::Connected { .. } => "connected",
            NetworkEvent::Disconnected { .. } => "disconnected",
            NetworkEvent::Accepted { .. } => "accepted",
            NetworkEvent::Rejected { .. } => "rejected",
            NetworkEvent::Status { .. } => "status",
            NetworkEvent::Incoming { .. } => "incoming",
            NetworkEvent::Presence { .. } => "presence",
        }
    }
}

/// A session's way into a chat network. See the module docs for the contract.
pub trait Connector {
    /// Reconnects a paired instance with its saved credentials; answers with `Connected` or
    /// `Disconnected { logged_out: true }`.
    fn resume(&mut self, instance: InstanceId, credentials: &Credentials);
    /// Starts pairing: `PairingCode` events follow until paired or `PairingExpired`.
    fn start_pairing(&mut self, instance: InstanceId);
    /// Closes the instance's connection; `logout` also invalidates its credentials.
    fn close(&mut self, instance: InstanceId, logout: bool);
    /// Puts `message` on the wire; `Accepted` or `Rejected` follows.
    fn send(&mut self, message: &OutboundMessage) -> Result<(), NetworkError>;
    /// Shows the instance's presence (typing…) in the chat with `to`.
    fn send_presence(&mut self, instance: InstanceId, to: &Phone, presence: Presence);
    /// The incoming message `id` is durably handled; the network may forget it.
    fn ack_incoming(&mut self, instance: InstanceId, id: &str);
}
