//! Cards: messages that carry structured data rather than free text — a link with its preview
//! (send-link), a location (send-location), one or more contact cards (send-contact,
//! send-contacts) and an invitation to administer a channel (send-newsletter-admin-invite).
//! Plain data, stored as JSON tagged by `type`; parsing them from requests is the dialect's job
//! (`api/zapi/messages/cards.rs`), showing them on a phone the connector's.

use std::borrow::Cow;

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

/// How large the preview is drawn (seed 001, send-link `linkType`; SMALL unless asked).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LinkType {
    #[default]
    Small,
    Medium,
    Large,
}

impl LinkType {
    pub const NAMES: [&'static str; 3] = ["SMALL", "MEDIUM", "LARGE"];

    pub fn from_name(name: &str) -> Option<LinkType> {
        match name {
            "SMALL" => Some(LinkType::Small),
            "MEDIUM" => Some(LinkType::Medium),
            "LARGE" => Some(LinkType::Large),
            _ => None,
        }
    }
}

/// The preview shown under a text with a link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinkPreview {
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The URL of the preview's picture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
}

/// One contact card: a name, the numbers to share and an optional business description.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContactCard {
    pub name: String,
    pub phones: Vec<Phone>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_description: Option<String>,
}

impl ContactCard {
    /// The card as WhatsApp carries it: a vCard 3.0 with the name and each number (`waid` names
    /// the WhatsApp account). Text values are escaped (RFC 6350 §3.4), so a name cannot add
    /// lines of its own.
    pub fn vcard(&self) -> String {
        let name = escape(&self.name);
        let tels: String = self.phones.iter().map(|p| format!("TEL;type=CELL;waid={0}:+{0}\n", p.as_str())).collect();
        format!("BEGIN:VCARD\nVERSION:3.0\nN:;{name};;;\nFN:{name}\n{tels}END:VCARD")
    }
}

/// A vCard text value: backslash, comma, semicolon and line breaks escaped.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | ',' | ';' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Card {
    /// A text that ends with a link, and the link's preview (boxed: it is the largest card, and
    /// every queued message is as large as its largest content).
    #[serde(rename_all = "camelCase")]
    Link {
        message: String,
        preview: Box<LinkPreview>,
        #[serde(default)]
        link_type: LinkType,
    },
    Location {
        latitude: f64,
        longitude: f64,
        title: String,
        address: String,
    },
    Contact(ContactCard),
    Contacts {
        contacts: Vec<ContactCard>,
    },
    /// An invitation to become an administrator of the channel `newsletter_id`.
    #[serde(rename_all = "camelCase")]
    NewsletterAdminInvite {
        newsletter_id: Phone,
        caption: String,
    },
}

impl Card {
    pub fn preview(&self) -> Cow<'_, str> {
        match self {
            Card::Link { message, .. } => Cow::Borrowed(message),
            Card::Location { title, .. } => Cow::Borrowed(title),
            Card::Contact(c) => Cow::Borrowed(&c.name),
            Card::Contacts { contacts } => match contacts.as_slice() {
                [one] => Cow::Borrowed(&one.name),
                many => Cow::Owned(format!("{} contacts", many.len())),
            },
            Card::NewsletterAdminInvite { caption, .. } => Cow::Borrowed(caption),
        }
    }

    pub fn label(&self) -> &'static str {
        match self {
            Card::Link { .. } => "link",
            Card::Location { .. } => "location",
            Card::Contact(_) => "contact",
            Card::Contacts { .. } => "contacts",
            Card::NewsletterAdminInvite { .. } => "newsletterAdminInvite",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_card_is_a_vcard_whose_name_cannot_add_lines() {
        let phone = Phone::parse("5544999999999").unwrap();
        let card = ContactCard { name: "Ana; Bia\nEND:VCARD".into(), phones: vec![phone], business_description: None };
        assert_eq!(
            card.vcard(),
            "BEGIN:VCARD\nVERSION:3.0\nN:;Ana\\; Bia\\nEND:VCARD;;;\nFN:Ana\\; Bia\\nEND:VCARD\n\
             TEL;type=CELL;waid=5544999999999:+5544999999999\nEND:VCARD"
        );
    }

    #[test]
    fn every_card_survives_its_stored_form() {
        let phone = Phone::parse("5544999999999").unwrap();
        let card = ContactCard { name: "n".into(), phones: vec![phone.clone()], business_description: None };
        let preview =
            LinkPreview { url: "https://z-api.io".into(), title: Some("Z-API".into()), description: None, image: None };
        for c in [
            Card::Link {
                message: "see https://z-api.io".into(),
                preview: Box::new(preview),
                link_type: LinkType::Large,
            },
            Card::Location { latitude: -23.0, longitude: -50.4, title: "t".into(), address: "a".into() },
            Card::Contact(card.clone()),
            Card::Contacts { contacts: vec![card.clone(), card] },
            Card::NewsletterAdminInvite {
                newsletter_id: Phone::parse("120363166555745933@newsletter").unwrap(),
                caption: "c".into(),
            },
        ] {
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<Card>(&json).unwrap(), c, "{json}");
        }
    }

    #[test]
    fn a_link_without_its_link_type_reads_as_small() {
        let c: Card =
            serde_json::from_str(r#"{"type":"link","message":"m","preview":{"url":"https://z-api.io"}}"#).unwrap();
        assert!(matches!(c, Card::Link { link_type: LinkType::Small, .. }));
        for name in LinkType::NAMES {
            let t = LinkType::from_name(name).unwrap();
            assert_eq!(serde_json::to_value(t).unwrap(), serde_json::json!(name));
        }
    }
}
