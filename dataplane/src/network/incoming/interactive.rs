//! Incoming business messages with buttons: hydrated templates (text, OTP, image, video,
//! document and location headers), buttons with a media header and carousels — field for
//! field as Z-API reports them (seed 001, ReceivedCallback examples). Their media are the
//! sender's URLs, not stored files. Plain data.

use serde::{Deserialize, Serialize};

use super::Location;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderImage {
    pub image_url: String,
    #[serde(default)]
    pub thumbnail_url: String,
    #[serde(default)]
    pub caption: String,
    pub mime_type: String,
    #[serde(default)]
    pub view_once: bool,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderVideo {
    pub video_url: String,
    #[serde(default)]
    pub caption: String,
    pub mime_type: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub seconds: u32,
    #[serde(default)]
    pub view_once: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeaderDocument {
    #[serde(default)]
    pub caption: Option<String>,
    pub document_url: String,
    pub mime_type: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub page_count: u32,
    #[serde(default)]
    pub file_name: String,
}

/// A template's header: empty (`{}`) or one media part.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TemplateHeader {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<HeaderImage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video: Option<HeaderVideo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document: Option<HeaderDocument>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UrlButton {
    pub display_text: String,
    pub url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QuickReplyButton {
    pub display_text: String,
    pub id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CallButton {
    pub display_text: String,
    pub phone_number: String,
}

/// One button of a template or carousel card: exactly one of the button kinds is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HydratedButton {
    pub index: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_button: Option<UrlButton>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quick_reply_button: Option<QuickReplyButton>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_button: Option<CallButton>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Template {
    #[serde(default)]
    pub header: TemplateHeader,
    pub message: String,
    #[serde(default)]
    pub footer: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub template_id: String,
    #[serde(default)]
    pub hydrated_buttons: Vec<HydratedButton>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ButtonText {
    pub display_text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Button {
    pub button_id: String,
    /// WhatsApp's button type (1: reply).
    #[serde(rename = "type", default = "reply_button")]
    pub kind: u32,
    pub button_text: ButtonText,
}

fn reply_button() -> u32 {
    1
}

/// Buttons under an image or a video (`buttonsMessage`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Buttons {
    #[serde(default)]
    pub image_url: Option<String>,
    #[serde(default)]
    pub video_url: Option<String>,
    pub message: String,
    pub buttons: Vec<Button>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CarouselCard {
    #[serde(default)]
    pub header: TemplateHeader,
    pub message: String,
    #[serde(default)]
    pub footer: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub hydrated_buttons: Vec<HydratedButton>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Carousel {
    pub text: String,
    pub cards: Vec<CarouselCard>,
}
