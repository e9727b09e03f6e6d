//! The sim's phones: what each recipient received, as the network got it — kind, text or
//! caption, media type, size and SHA-256 (computed from the bytes the sim read or fetched),
//! buttons, reply and mention ids — so tests and a curious integrator can check that what was
//! sent is what arrived, byte for byte (`GET /sim/received`). Actions on earlier messages
//! (reactions, edits, deletes, pins, votes, reads) change the entries they name instead of
//! adding one.
//!
//! One [`Witness`] per shard, locked by that shard's connector tasks and by the admin route,
//! never across `.await`. Bounded: at most `capacity` messages per shard, the oldest forgotten
//! first.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use chatedge_config::{InstanceId, MessageId, Phone};
use serde::Serialize;
use serde_json::Value;

use crate::queue::OutboundMessage;

/// The media of an arrived message, as the network read it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ArrivedMedia {
    pub mime: String,
    pub size: u64,
    pub sha256: String,
    /// A sticker's author, as its file names it (the pack publisher in its WebP's EXIF).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sticker_author: Option<String>,
}

/// One message as a recipient's phone shows it.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Arrived {
    pub message_id: MessageId,
    /// The content kind label (`text`, `image`, `location`, `poll`, …).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The text, caption or title shown.
    pub text: String,
    /// The content as sent (every field the route accepted).
    pub content: Value,
    /// The message's file (or its first picture: a button list's image, a carousel's first
    /// card, a link preview's thumbnail).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<ArrivedMedia>,
    /// Every file of the message in order, when it has more than one (carousel cards).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub all_media: Vec<ArrivedMedia>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentioned: Vec<Phone>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub group_mentioned: Vec<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub private_answer: bool,
    /// Changes made to it afterwards (edits, reactions, deletes, pins, votes, reads), each as
    /// the action that made it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Value>,
    /// The phones it reached when it was sent to a group or channel (its members, followers).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub delivered_to: Vec<Phone>,
    pub at_ms: u64,
}

impl Arrived {
    pub fn of(message: &OutboundMessage, media: Vec<ArrivedMedia>, recipients: Vec<Phone>, at_ms: u64) -> Arrived {
        let delivered_to = match recipients.as_slice() {
            [only] if *only == message.phone => Vec::new(),
            _ => recipients,
        };
        let all_media = if media.len() > 1 { media.clone() } else { Vec::new() };
        Arrived {
            message_id: message.message_id,
            kind: message.content.label(),
            text: message.content.preview().into_owned(),
            content: serde_json::to_value(&message.content).unwrap_or(Value::Null),
            media: media.into_iter().next(),
            all_media,
            reply_to: message.reply_to.clone(),
            mentioned: message.mentioned.clone(),
            group_mentioned: message.group_mentioned.iter().map(|g| g.phone.to_string()).collect(),
            private_answer: message.private_answer,
            changes: Vec::new(),
            delivered_to,
            at_ms,
        }
    }
}

type Chat = (InstanceId, Phone);

/// Changes kept per message (the latest).
const MAX_CHANGES: usize = 64;

pub struct Witness {
    capacity: usize,
    chats: HashMap<Chat, VecDeque<Arrived>>,
    /// Arrival order over all chats, for forgetting the oldest.
    order: VecDeque<Chat>,
    /// The last presence each chat showed (typing…, recording audio…), bounded like `chats`.
    presence: HashMap<Chat, (crate::network::Presence, u64)>,
}

pub type SharedWitness = Arc<Mutex<Witness>>;

impl Witness {
    pub fn new(capacity: usize) -> Witness {
        Witness { capacity, chats: HashMap::new(), order: VecDeque::new(), presence: HashMap::new() }
    }

    pub fn shared(capacity: usize) -> SharedWitness {
        Arc::new(Mutex::new(Witness::new(capacity)))
    }

    /// Records what arrived for `message`'s recipient: a new entry, or — for an action on an
    /// earlier message — a change to the entry it names.
    pub fn record(&mut self, message: &OutboundMessage, media: Vec<ArrivedMedia>, recipients: Vec<Phone>, at_ms: u64) {
        let chat = (message.instance, message.phone.clone());
        if let Some(edited) = &message.edit_message_id {
            let change = serde_json::json!({"edit": serde_json::to_value(&message.content).unwrap_or(Value::Null), "atMs": at_ms});
            if self.change(&chat, edited, change) {
                return;
            }
        }
        if let Some((source, original, change)) = super::actions::forward_of(message, at_ms) {
            self.change(&(message.instance, source), &original, change);
        }
        if let Some((target, change)) = super::actions::change_of(message, at_ms) {
            if self.change(&chat, &target, change) {
                return;
            }
        }
        let arrived = Arrived::of(message, media, recipients, at_ms);
        self.chats.entry(chat.clone()).or_default().push_back(arrived);
        self.order.push_back(chat);
        while self.order.len() > self.capacity {
            let Some(oldest) = self.order.pop_front() else { break };
            if let Some(list) = self.chats.get_mut(&oldest) {
                list.pop_front();
                if list.is_empty() {
                    self.chats.remove(&oldest);
                }
            }
        }
    }

    /// Adds `change` to the message `target` of `chat`; false if the phone does not have it.
    fn change(&mut self, chat: &Chat, target: &str, change: Value) -> bool {
        // Every message on the phone has a message id: anything else names none of them.
        let Ok(target) = MessageId::parse(target) else { return false };
        let Some(entry) = self.chats.get_mut(chat).and_then(|l| l.iter_mut().find(|a| a.message_id == target)) else {
            return false;
        };
        if entry.changes.len() >= MAX_CHANGES {
            entry.changes.remove(0);
        }
        entry.changes.push(change);
        true
    }

    /// The instance showed `presence` in its chat with `phone`.
    pub fn presence(&mut self, instance: InstanceId, phone: &Phone, presence: crate::network::Presence, at_ms: u64) {
        if self.presence.len() >= self.capacity {
            self.presence.clear();
        }
        self.presence.insert((instance, phone.clone()), (presence, at_ms));
    }

    /// The last presence the instance showed `phone`.
    pub fn last_presence(&self, instance: &InstanceId, phone: &Phone) -> Option<(crate::network::Presence, u64)> {
        self.presence.get(&(*instance, phone.clone())).copied()
    }

    /// What `phone` received from `instance`, oldest first.
    pub fn received(&self, instance: &InstanceId, phone: &Phone) -> Vec<Arrived> {
        self.chats.get(&(*instance, phone.clone())).map(|l| l.iter().cloned().collect()).unwrap_or_default()
    }
}

pub fn lock(w: &Mutex<Witness>) -> std::sync::MutexGuard<'_, Witness> {
    w.lock().unwrap_or_else(|p| p.into_inner())
}
