//! Cards: messages that carry structured data rather than free text — a link with its
//! preview (send-link), a location, one or more contact cards.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

/// The preview shown under a text with a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkPreview {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Card {
    Location { latitude: f64, longitude: f64, title: Option<String>, address: Option<String> },
}

impl Card {
    pub fn preview(&self) -> Cow<'_, str> {
        match self {
            Card::Location { title, .. } => Cow::Borrowed(title.as_deref().unwrap_or("")),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Card::Location { .. } => "location",
        }
    }
}
