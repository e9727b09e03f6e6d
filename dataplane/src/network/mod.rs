//! network: the connectors that speak a chat network. A [`Connector`] is the seam between a
//! session and the network; `sim` (in-process) is the first, a WhatsApp Web engine and the Meta
//! Cloud API come later. The shape follows what real engines do:
//!
//! - every method returns at once after handing its work to the connection; outcomes arrive
//!   later as [`NetworkEvent`]s on the shard's event channel;
//! - `send` takes chatedge's own message id, so a resend after a crash is the same message;
//! - every connection attempt (pairing or resuming) carries a [`Generation`] chosen by the
//!   session, and every event about a connection or a send names the generation it belongs to,
//!   so the session can tell an answer from a connection it has since replaced;
//! - "connection lost" (`Disconnected { logged_out: false }`: the saved credentials are still
//!   good, the session reconnects by itself) is kept apart from "logged out" (`logged_out:
//!   true`: a new pairing is needed);
//! - an event the integrator hears about carries an [`AckId`] and is acknowledged (`ack`) only
//!   after what it produced is durable, so the network redelivers anything chatedge did not
//!   keep (at-least-once); a redelivered event must be harmless (same ids, same outcome);
//! - pairing codes arrive as events and expire;
//! - a message the network will take only later (a limit on one recipient) may be `Deferred`:
//!   it leaves the instance's queue so other recipients keep flowing, the connector keeps it
//!   durably, and the integrator hears of it only at its `DeferredOutcome`.
//!
//! One connector value exists per shard and is used only on that shard's thread.

pub mod account;
pub mod cloud_api;
pub mod incoming;
pub mod kv;
pub mod networks;
pub mod sim;
pub mod whatsapp_web;

use std::time::Duration;

use chatedge_config::{InstanceId, MessageId, Phone, ZaapId};
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
    /// The instance itself read the chat (seed 001, MessageStatusCallback).
    ReadByMe,
    /// An audio, video note or video was played.
    Played,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Sent => "SENT",
            MessageStatus::Received => "RECEIVED",
            MessageStatus::Read => "READ",
            MessageStatus::ReadByMe => "READ_BY_ME",
            MessageStatus::Played => "PLAYED",
        }
    }
}

/// One connection attempt of an instance: the session numbers them, the connector echoes the
/// number in every event the connection produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Generation(pub u64);

/// How the phone completes a pairing run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairingMethod {
    /// The phone scans the rotating QR codes (`PairingCode` carries each code's text).
    Qr,
    /// The owner of this number types the code in "Link with phone number" (`PairingCode`
    /// carries 8-character codes, e.g. `K7QM2XPD`, valid for the number only).
    PhoneCode(Phone),
    /// The number is registered on this device (mobile registration): no code is shown; the
    /// registration's last step connects the run.
    Registration,
}

/// The network's handle on an event that waits for chatedge's acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct AckId(pub u64);

/// A message someone sent to the instance's number (or a notice about the chat).
#[derive(Debug, Clone, PartialEq)]
pub struct IncomingMessage {
    /// The network's id of the message, used to acknowledge it.
    pub id: String,
    /// The chat: the sender, or the group the message was written in.
    pub from: Phone,
    /// In a group: the member who wrote.
    pub participant: Option<Phone>,
    pub sender_name: Option<String>,
    /// The writer's WhatsApp LID (`…@lid`), when the network told it.
    pub sender_lid: Option<String>,
    /// The message this one replies to.
    pub reference_message_id: Option<String>,
    pub forwarded: bool,
    /// It answers one of the instance's status posts.
    pub status_reply: bool,
    /// Disappearing messages: how long the chat keeps it (0: kept).
    pub expiration_seconds: u64,
    /// The click-to-WhatsApp ad the chat started from.
    pub external_ad_reply: Option<incoming::ExternalAdReply>,
    pub content: incoming::IncomingContent,
    pub at_ms: u64,
}

impl IncomingMessage {
    /// A plain text from `from`, with no id yet (the network gives it one).
    pub fn text(from: Phone, text: String) -> IncomingMessage {
        let text = incoming::Text { message: text, description: None, title: None, url: None, thumbnail_url: None };
        IncomingMessage {
            id: String::new(),
            from,
            participant: None,
            sender_name: None,
            sender_lid: None,
            reference_message_id: None,
            forwarded: false,
            status_reply: false,
            expiration_seconds: 0,
            external_ad_reply: None,
            content: incoming::IncomingContent::Text(text),
            at_ms: 0,
        }
    }
}

impl IncomingMessage {
    /// A system notice in `chat` (seed 001's notification webhooks): `participant` is the
    /// member it is about, if any; the network gives it an id and a time.
    pub fn notice(chat: Phone, participant: Option<Phone>, notification: incoming::Notification) -> IncomingMessage {
        IncomingMessage {
            participant,
            content: incoming::IncomingContent::Notification(notification),
            ..IncomingMessage::text(chat, String::new())
        }
    }
}

impl IncomingMessage {
    /// A call as seed 001 announces it: CALL_VOICE when it rings, CALL_MISSED_VOICE (or
    /// CALL_MISSED_VIDEO) when nobody took it, each with its `callId`. The two notices of one
    /// call get ids of their own.
    pub fn call(call_id: &str, from: Phone, video: bool, missed: bool, at_ms: u64) -> IncomingMessage {
        let id = if missed { format!("{call_id}-MISSED") } else { call_id.to_owned() };
        let notification = incoming::Notification::call(call_id, missed, video);
        IncomingMessage { id, at_ms, ..IncomingMessage::notice(from, None, notification) }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetworkError {
    #[error("the instance is not connected to the network")]
    NotConnected,
}

/// What the network tells a shard, always about one instance. `ack`, where present, must be
/// passed to [`Connector::ack`] once the event's effects are durable.
#[derive(Debug, Clone)]
pub enum NetworkEvent {
    /// `from` calls the instance (`missed: false`; the session may decline it with
    /// [`Connector::reject_call`]), or the call rang out with nobody answering (`missed`).
    Call {
        instance: InstanceId,
        call_id: String,
        from: Phone,
        video: bool,
        missed: bool,
        at_ms: u64,
    },
    PairingCode {
        instance: InstanceId,
        generation: Generation,
        code: String,
        valid_for: Duration,
    },
    /// Nobody scanned the codes in time; pairing stopped.
    PairingExpired {
        instance: InstanceId,
        generation: Generation,
    },
    Connected {
        instance: InstanceId,
        generation: Generation,
        phone: Phone,
        credentials: Credentials,
        ack: Option<AckId>,
    },
    /// The connection dropped or an attempt failed (`logged_out`: the credentials are no
    /// longer valid and a new pairing is needed; otherwise the session may reconnect).
    Disconnected {
        instance: InstanceId,
        generation: Generation,
        reason: String,
        logged_out: bool,
        ack: Option<AckId>,
    },
    /// The network took the message (sent on connection `generation`).
    Accepted {
        instance: InstanceId,
        generation: Generation,
        message_id: MessageId,
        at_ms: u64,
        ack: Option<AckId>,
    },
    /// The network will take the message later (the Cloud API's pair rate limit): it leaves
    /// the instance's queue now, so the instance's other recipients keep flowing, and the
    /// connector keeps it durably until its [`NetworkEvent::DeferredOutcome`]. The integrator
    /// hears nothing yet.
    Deferred {
        instance: InstanceId,
        generation: Generation,
        message_id: MessageId,
        ack: Option<AckId>,
    },
    /// What became of a deferred message: the network took it at `Ok(at_ms)`, or refused it
    /// for good (`Err(reason)`). The integrator hears it as it would an `Accepted` or a
    /// `Rejected` message.
    DeferredOutcome {
        instance: InstanceId,
        message: Box<OutboundMessage>,
        outcome: Result<u64, String>,
        ack: Option<AckId>,
    },
    /// The network refused the message for good.
    Rejected {
        instance: InstanceId,
        generation: Generation,
        message_id: MessageId,
        reason: String,
        ack: Option<AckId>,
    },
    /// A message the network had accepted could not be sent or delivered after all (the Cloud
    /// API's `failed` status): the integrator hears it as the message's DeliveryCallback error.
    Failed {
        instance: InstanceId,
        message_id: MessageId,
        zaap_id: ZaapId,
        phone: Phone,
        reason: String,
        ack: Option<AckId>,
    },
    Status {
        instance: InstanceId,
        message_id: MessageId,
        phone: Phone,
        status: MessageStatus,
        at_ms: u64,
        ack: Option<AckId>,
    },
    Incoming {
        instance: InstanceId,
        message: Box<IncomingMessage>,
        ack: Option<AckId>,
    },
    Presence {
        instance: InstanceId,
        phone: Phone,
        presence: Presence,
        at_ms: u64,
        ack: Option<AckId>,
    },
}

impl NetworkEvent {
    pub fn instance(&self) -> InstanceId {
        match self {
            NetworkEvent::PairingCode { instance, .. }
            | NetworkEvent::PairingExpired { instance, .. }
            | NetworkEvent::Connected { instance, .. }
            | NetworkEvent::Disconnected { instance, .. }
            | NetworkEvent::Accepted { instance, .. }
            | NetworkEvent::Deferred { instance, .. }
            | NetworkEvent::DeferredOutcome { instance, .. }
            | NetworkEvent::Rejected { instance, .. }
            | NetworkEvent::Status { instance, .. }
            | NetworkEvent::Failed { instance, .. }
            | NetworkEvent::Incoming { instance, .. }
            | NetworkEvent::Call { instance, .. }
            | NetworkEvent::Presence { instance, .. } => *instance,
        }
    }

    /// The acknowledgement the network waits for, if any.
    pub fn ack(&self) -> Option<AckId> {
        match self {
            NetworkEvent::PairingCode { .. } | NetworkEvent::PairingExpired { .. } | NetworkEvent::Call { .. } => None,
            NetworkEvent::Connected { ack, .. }
            | NetworkEvent::Disconnected { ack, .. }
            | NetworkEvent::Accepted { ack, .. }
            | NetworkEvent::Deferred { ack, .. }
            | NetworkEvent::DeferredOutcome { ack, .. }
            | NetworkEvent::Rejected { ack, .. }
            | NetworkEvent::Status { ack, .. }
            | NetworkEvent::Failed { ack, .. }
            | NetworkEvent::Incoming { ack, .. }
            | NetworkEvent::Presence { ack, .. } => *ack,
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
            NetworkEvent::Deferred { .. } => "deferred",
            NetworkEvent::DeferredOutcome { .. } => "deferred_outcome",
            NetworkEvent::Rejected { .. } => "rejected",
            NetworkEvent::Status { .. } => "status",
            NetworkEvent::Failed { .. } => "failed",
            NetworkEvent::Incoming { .. } => "incoming",
            NetworkEvent::Call { .. } => "call",
            NetworkEvent::Presence { .. } => "presence",
        }
    }
}

/// A session's way into a chat network. See the module docs for the contract.
pub trait Connector {
    /// Connects a paired instance with its saved credentials as connection `generation`;
    /// answers with `Connected`, or `Disconnected` (`logged_out` when the credentials are no
    /// longer valid, otherwise the attempt failed and may be retried).
    fn resume(&mut self, instance: InstanceId, credentials: &Credentials, generation: Generation);
    /// Starts pairing as connection `generation` by `method`: `PairingCode` events follow
    /// until paired (`Connected`) or `PairingExpired` (for `Registration`, no code: the
    /// registration account call that completes it is answered, then `Connected` follows).
    fn start_pairing(&mut self, instance: InstanceId, generation: Generation, method: PairingMethod);
    /// Closes the instance's connection; `logout` also invalidates its credentials. No event
    /// follows for the closed connection (late ones carry its old generation).
    fn close(&mut self, instance: InstanceId, logout: bool);
    /// Puts `message` on the wire of connection `generation`; `Accepted` or `Rejected`
    /// follows, naming that generation.
    fn send(&mut self, message: &OutboundMessage, generation: Generation) -> Result<(), NetworkError>;
    /// Carries out an account call (contacts, groups, privacy, …; see [`account`]) for the
    /// instance `account` describes; answers on `reply` once what it changed is durable on the
    /// network's side.
    fn account(
        &mut self,
        instance: InstanceId,
        account: account::Account,
        call: account::AccountCall,
        reply: account::ReplyTx,
    );
    /// Shows the instance's presence (typing…) in the chat with `to`.
    fn send_presence(&mut self, instance: InstanceId, to: &Phone, presence: Presence);
    /// Declines call `call_id` that rings (a [`NetworkEvent::Call`] this connector reported);
    /// no event follows. Networks that report no calls this way have nothing to decline.
    fn reject_call(&mut self, instance: InstanceId, call_id: &str);
    /// The event `ack` is durably handled; the network may forget it.
    fn ack(&mut self, instance: InstanceId, ack: AckId);
}
