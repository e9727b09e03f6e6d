//! `Content`: what one queued message asks the network to do — a text, a media file, a card
//! (link, location, contacts), an action on an earlier message (reaction, delete, read, pin,
//! forward), an interactive message (buttons, lists, polls, events, orders) or a network
//! template (Cloud API). Each family
//! lives in its own module with its own types; this module only names the families and answers
//! the questions the queue and the session ask of every message (what to show in the queue
//! listing, which stored media files it needs, which presence precedes it). Parsing requests
//! into content is the dialect's job, sending it the connector's.

pub mod action;
pub mod card;
pub mod interactive;
pub mod media;
pub mod template;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

pub use action::Action;
pub use card::Card;
pub use interactive::Interactive;
pub use media::{Media, MediaSource};
pub use template::Template;

use crate::media::{Digest, MediaKind};
use crate::network::Presence;

/// What is sent. Stored as JSON tagged by `kind`; the text form predates the others and keeps
/// its shape (`{"kind": "text", "message": …}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Content {
    Text {
        message: String,
        /// Link preview shown with the text (send-text's link-preview fields, send-link).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<card::LinkPreview>,
    },
    // The larger families are boxed so a text — the hot path — stays small to move.
    Media(Box<Media>),
    Card(Box<Card>),
    Action(Box<Action>),
    Interactive(Box<Interactive>),
    /// A template the business had approved on the network (Cloud API only).
    Template(Box<Template>),
}

impl Content {
    pub fn text(message: impl Into<String>) -> Content {
        Content::Text { message: message.into(), preview: None }
    }

    /// The text shown in the queue listing (Z-API `Message`).
    pub fn preview(&self) -> Cow<'_, str> {
        match self {
            Content::Text { message, .. } => Cow::Borrowed(message),
            Content::Media(m) => m.preview(),
            Content::Card(c) => c.preview(),
            Content::Action(a) => a.preview(),
            Content::Interactive(i) => i.preview(),
            Content::Template(t) => Cow::Borrowed(&t.name),
        }
    }

    /// The stored media files this message needs until it has left.
    pub fn stored_media(&self) -> Vec<Digest> {
        match self {
            Content::Media(m) => m.stored_digest().into_iter().collect(),
            Content::Interactive(i) => i.stored_media(),
            Content::Text { .. } | Content::Card(_) | Content::Action(_) | Content::Template(_) => Vec::new(),
        }
    }

    /// The presence shown for `delayTyping` before it leaves: "recording audio…" for voice
    /// messages, "typing…" for everything else.
    pub fn presence(&self) -> Presence {
        match self {
            Content::Media(m) if m.kind == MediaKind::Audio => Presence::Recording,
            _ => Presence::Composing,
        }
    }

    /// Bounded label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            Content::Text { .. } => "text",
            Content::Media(m) => m.kind.as_str(),
            Content::Card(c) => c.label(),
            Content::Action(a) => a.label(),
            Content::Interactive(i) => i.label(),
            Content::Template(_) => "template",
        }
    }
}
