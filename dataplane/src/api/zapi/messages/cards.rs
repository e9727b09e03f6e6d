//! The card routes (seed 001): send-link (line 2689), send-location (2768), send-contact
//! (2979), send-contacts (3049) and send-newsletter-admin-invite (4743). Each reads its body
//! into a [`Card`] field by field — every field the seed documents is stored or refused by
//! name — adds the shared options ([`envelope`]) and queues it through [`super::accept`].
//! Runs on the request's task; no I/O but the enqueue.

use chatedge_config::phone::PhoneKind;
use chatedge_config::Phone;
use chatedge_serve::Resp;
use serde_json::Value;

use super::super::fields::{self, Object};
use super::super::routes::Route;
use super::super::{Call, ZapiError};
use super::envelope;
use super::text::MAX_TEXT_CHARS;
use crate::queue::content::card::{ContactCard, LinkPreview, LinkType};
use crate::queue::content::Card;
use crate::queue::{Content, OutboundMessage};

/// Longest title, name or subject-like field.
const MAX_TITLE_CHARS: usize = 256;
/// Longest description, address or caption.
const MAX_DESCRIPTION_CHARS: usize = 1_024;
/// Longest URL.
const MAX_URL_CHARS: usize = 2_048;
/// Contact cards in one send-contacts (the seed gives no bound; WhatsApp shares at most 257
/// at once, this edge keeps messages small).
pub const MAX_CONTACTS: usize = 100;
/// Numbers on one contact card.
pub const MAX_CONTACT_PHONES: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardRoute {
    Link,
    Location,
    Contact,
    Contacts,
    NewsletterAdminInvite,
}

pub static ROUTES: &[Route<CardRoute>] = &[
    Route { path: "send-link", methods: "POST", label: "zapi.send-link", op: CardRoute::Link },
    Route { path: "send-location", methods: "POST", label: "zapi.send-location", op: CardRoute::Location },
    Route { path: "send-contact", methods: "POST", label: "zapi.send-contact", op: CardRoute::Contact },
    Route { path: "send-contacts", methods: "POST", label: "zapi.send-contacts", op: CardRoute::Contacts },
    Route {
        path: "send-newsletter-admin-invite",
        methods: "POST",
        label: "zapi.send-newsletter-admin-invite",
        op: CardRoute::NewsletterAdminInvite,
    },
];

pub async fn handle(call: &Call<'_>, route: CardRoute) -> Result<Resp, ZapiError> {
    let message = parse(&call.body, call.instance.id, route)?;
    super::accept(call, message).await
}

/// A card route's body as the message to queue, with fresh ids.
pub fn parse(
    body: &bytes::Bytes,
    instance: chatedge_config::InstanceId,
    route: CardRoute,
) -> Result<OutboundMessage, ZapiError> {
    let o = fields::object(body)?;
    let phone = fields::phone(&o, "phone")?;
    let card = match route {
        CardRoute::Link => link(&o)?,
        CardRoute::Location => location(&o)?,
        CardRoute::Contact => contact(&o)?,
        CardRoute::Contacts => contacts(&o)?,
        CardRoute::NewsletterAdminInvite => newsletter_admin_invite(&o, &phone)?,
    };
    let mut m = OutboundMessage::new(instance, phone, Content::Card(Box::new(card)));
    envelope::read(&o, &mut m)?;
    Ok(m)
}

fn required(o: &Object, field: &str, max: usize) -> Result<String, ZapiError> {
    Ok(fields::text(o, field, max, true)?.unwrap_or_default())
}

fn invalid(message: String) -> ZapiError {
    ZapiError::invalid("Invalid field", message)
}

fn link(o: &Object) -> Result<Card, ZapiError> {
    let message = required(o, "message", MAX_TEXT_CHARS)?;
    let url = fields::url(o, "linkUrl", MAX_URL_CHARS, true)?.unwrap_or_default();
    // Seed 001: "Don't forget to include the same linkURL value at the end of this text" —
    // the link is clickable only where the text carries it.
    if !message.contains(&url) {
        return Err(invalid(format!("message must contain the link (linkUrl {url})")));
    }
    let preview = LinkPreview {
        url,
        title: Some(required(o, "title", MAX_TITLE_CHARS)?),
        description: Some(required(o, "linkDescription", MAX_DESCRIPTION_CHARS)?),
        image: fields::url(o, "image", MAX_URL_CHARS, true)?,
    };
    let link_type = fields::one_of(o, "linkType", &LinkType::NAMES)?.and_then(LinkType::from_name).unwrap_or_default();
    Ok(Card::Link { message, preview: Box::new(preview), link_type })
}

fn location(o: &Object) -> Result<Card, ZapiError> {
    Ok(Card::Location {
        title: required(o, "title", MAX_TITLE_CHARS)?,
        address: required(o, "address", MAX_DESCRIPTION_CHARS)?,
        latitude: fields::number(o, "latitude", -90.0..=90.0)?,
        longitude: fields::number(o, "longitude", -180.0..=180.0)?,
    })
}

/// A number to share on a card: a contact's number (or its `@lid` id), not a group.
fn card_phone(v: &Value, name: &str) -> Result<Phone, ZapiError> {
    let p = fields::phone_value(v, name)?;
    match p.kind() {
        PhoneKind::Contact | PhoneKind::Lid => Ok(p),
        _ => Err(ZapiError::invalid("Invalid phone", format!("{name} must be a contact's number"))),
    }
}

fn contact(o: &Object) -> Result<Card, ZapiError> {
    let name = required(o, "contactName", MAX_TITLE_CHARS)?;
    let phone = match o.get("contactPhone") {
        None | Some(Value::Null) => return Err(ZapiError::invalid("Invalid phone", "contactPhone is required")),
        Some(v) => card_phone(v, "contactPhone")?,
    };
    let business_description = fields::text(o, "contactBusinessDescription", MAX_DESCRIPTION_CHARS, false)?;
    Ok(Card::Contact(ContactCard { name, phones: vec![phone], business_description }))
}

fn contacts(o: &Object) -> Result<Card, ZapiError> {
    let items = fields::array(o, "contacts", 1, MAX_CONTACTS)?.ok_or_else(|| invalid("contacts is required".into()))?;
    let mut contacts = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        let path = format!("contacts[{i}]");
        let c = fields::nested(Some(v), &path, true)?.ok_or_else(|| invalid(format!("{path} is required")))?;
        let name = fields::within(&path, required(c, "name", MAX_TITLE_CHARS))?;
        let phones = fields::within(&path, fields::array(c, "phones", 1, MAX_CONTACT_PHONES))?
            .ok_or_else(|| invalid(format!("{path}.phones is required")))?
            .iter()
            .enumerate()
            .map(|(j, p)| card_phone(p, &format!("{path}.phones[{j}]")))
            .collect::<Result<Vec<_>, _>>()?;
        let business_description =
            fields::within(&path, fields::text(c, "businessDescription", MAX_DESCRIPTION_CHARS, false))?;
        contacts.push(ContactCard { name, phones, business_description });
    }
    Ok(Card::Contacts { contacts })
}

fn newsletter_admin_invite(o: &Object, phone: &Phone) -> Result<Card, ZapiError> {
    // An administrator is a person: seed 001 asks for the "Recipient's phone number".
    if !matches!(phone.kind(), PhoneKind::Contact | PhoneKind::Lid) {
        return Err(ZapiError::invalid(
            "Invalid phone",
            "phone must be a contact's number (the invited administrator)",
        ));
    }
    const PATH: &str = "adminInviteMessage";
    let invite = fields::nested(o.get(PATH), PATH, true)?.ok_or_else(|| invalid(format!("{PATH} is required")))?;
    let newsletter_id = match invite.get("newsletterId") {
        None | Some(Value::Null) => return Err(invalid(format!("{PATH}.newsletterId is required"))),
        Some(v) => fields::phone_value(v, &format!("{PATH}.newsletterId"))?,
    };
    if newsletter_id.kind() != PhoneKind::Newsletter {
        return Err(invalid(format!("{PATH}.newsletterId must be a channel id like 120363166555745933@newsletter")));
    }
    let caption = fields::within(PATH, required(invite, "caption", MAX_DESCRIPTION_CHARS))?;
    Ok(Card::NewsletterAdminInvite { newsletter_id, caption })
}

#[cfg(test)]
mod tests;
