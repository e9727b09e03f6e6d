//! From Meta's message and status objects to chatedge's: one function per Cloud API message
//! type, each reading only its own object (`message.image`, `message.interactive`, …). Pure.

use chatedge_config::Phone;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::raw;
use super::{timestamp_ms, MediaRef, Received, StatusKind, StatusUpdate};
use crate::network::incoming::{
    self, ButtonResponse, Contact, ExternalAdReply, IncomingContent, ListResponse, Location, Notification, Order,
    OrderProduct, Reaction, ReceivedAudio, ReceivedDocument, ReceivedImage, ReceivedSticker, ReceivedVideo,
    ReferencedMessage,
};
use crate::network::IncomingMessage;

/// The messages one Cloud API message becomes (several for a `contacts` message with more than
/// one card: Z-API's contact message carries one), or none when it names no sender.
pub(super) fn message(m: &raw::Message, contacts: &[raw::Contact]) -> Vec<Received> {
    let Ok(from) = Phone::parse(&m.from) else { return Vec::new() };
    if m.id.is_empty() {
        return Vec::new();
    }
    let mut base = IncomingMessage::text(from.clone(), String::new());
    base.id = m.id.clone();
    base.at_ms = timestamp_ms(&m.timestamp);
    base.sender_name = contacts
        .iter()
        .find(|c| c.wa_id == m.from)
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| p.name.clone());
    if let Some(c) = &m.context {
        base.reference_message_id = c.id.clone().filter(|_| m.kind != "reaction");
        base.forwarded = c.forwarded || c.frequently_forwarded;
    }
    base.external_ad_reply = m.referral.as_ref().map(ad_reply);
    let bodies = match m.kind.as_str() {
        "contacts" => contact_cards(m),
        _ => vec![content(m, &from)],
    };
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, (content, media))| {
            let mut message = base.clone();
            if i > 0 {
                // Each card needs its own id (dedup and event ids derive from it).
                message.id = format!("{}#{i}", m.id);
            }
            message.content = content;
            Received { message, media }
        })
        .collect()
}

/// The type's own object, read as `T`.
fn object<T: DeserializeOwned>(m: &raw::Message, key: &str) -> Option<T> {
    m.rest.get(key).and_then(|v| serde_json::from_value(v.clone()).ok())
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Media {
    id: String,
    mime_type: Option<String>,
    sha256: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
    voice: bool,
}

impl Media {
    fn reference(&self) -> Option<MediaRef> {
        (!self.id.is_empty()).then(|| MediaRef {
            id: self.id.clone(),
            mime_type: self.mime_type.clone(),
            sha256: self.sha256.clone(),
        })
    }
}

fn content(m: &raw::Message, from: &Phone) -> (IncomingContent, Option<MediaRef>) {
    let kind = m.kind.as_str();
    if let Some(media) = matches!(kind, "image" | "audio" | "video" | "document" | "sticker")
        .then(|| object::<Media>(m, kind))
        .flatten()
    {
        return (media_content(kind, &media), media.reference());
    }
    let c = match kind {
        "text" => object::<TextBody>(m, "text").map(|t| text(t.body)),
        "location" => object::<LocationBody>(m, "location").map(location),
        "reaction" => object::<ReactionBody>(m, "reaction").map(|r| reaction(r, from, timestamp_ms(&m.timestamp))),
        "interactive" => object::<InteractiveBody>(m, "interactive").and_then(interactive),
        "button" => object::<ButtonBody>(m, "button")
            .map(|b| IncomingContent::ButtonResponse(ButtonResponse { button_id: b.payload, message: b.text })),
        "order" => object::<OrderBody>(m, "order").map(|o| order(o, &m.id)),
        "system" => object::<SystemBody>(m, "system").map(system),
        _ => None,
    };
    (c.unwrap_or_else(|| unsupported(kind)), None)
}

fn media_content(kind: &str, m: &Media) -> IncomingContent {
    let mime_type = m.mime_type.clone();
    let caption = m.caption.clone().unwrap_or_default();
    match kind {
        "image" => IncomingContent::Image(ReceivedImage { mime_type, caption, ..Default::default() }),
        "audio" => IncomingContent::Audio(ReceivedAudio { mime_type, ptt: m.voice, ..Default::default() }),
        "video" => IncomingContent::Video(ReceivedVideo { mime_type, caption, ..Default::default() }),
        "sticker" => IncomingContent::Sticker(ReceivedSticker { mime_type, ..Default::default() }),
        _ => {
            let file_name = m.filename.clone().unwrap_or_default();
            IncomingContent::Document(ReceivedDocument {
                mime_type,
                title: file_name.clone(),
                file_name,
                caption: m.caption.clone(),
                ..Default::default()
            })
        }
    }
}

#[derive(Deserialize)]
struct TextBody {
    #[serde(default)]
    body: String,
}

fn text(body: String) -> IncomingContent {
    IncomingContent::Text(incoming::Text { message: body, description: None, title: None, url: None, thumbnail_url: None })
}

#[derive(Deserialize)]
struct LocationBody {
    latitude: f64,
    longitude: f64,
    name: Option<String>,
    #[serde(default)]
    address: String,
    #[serde(default)]
    url: String,
}

fn location(l: LocationBody) -> IncomingContent {
    IncomingContent::Location(Location {
        longitude: l.longitude,
        latitude: l.latitude,
        name: l.name,
        address: l.address,
        url: l.url,
        thumbnail_url: None,
    })
}

#[derive(Deserialize)]
struct ReactionBody {
    #[serde(default)]
    message_id: String,
    /// Absent when the reaction is removed.
    #[serde(default)]
    emoji: String,
}

fn reaction(r: ReactionBody, from: &Phone, at_ms: u64) -> IncomingContent {
    IncomingContent::Reaction(Reaction {
        value: r.emoji,
        time: at_ms,
        reaction_by: from.as_str().to_owned(),
        // A customer reacts to a message in the chat with the business: usually one of ours.
        referenced_message: ReferencedMessage {
            message_id: r.message_id,
            from_me: true,
            phone: from.as_str().to_owned(),
            participant: None,
        },
    })
}

#[derive(Deserialize)]
struct InteractiveBody {
    #[serde(rename = "type", default)]
    kind: String,
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
    nfm_reply: Option<NfmReply>,
}

#[derive(Deserialize)]
struct Reply {
    #[serde(default)]
    id: String,
    #[serde(default)]
    title: String,
    description: Option<String>,
}

/// A WhatsApp Flow's answer.
#[derive(Deserialize)]
struct NfmReply {
    #[serde(default)]
    name: String,
    #[serde(default)]
    body: String,
    #[serde(default)]
    response_json: String,
}

fn interactive(i: InteractiveBody) -> Option<IncomingContent> {
    match (i.kind.as_str(), i.button_reply, i.list_reply, i.nfm_reply) {
        ("button_reply", Some(b), _, _) => {
            Some(IncomingContent::ButtonResponse(ButtonResponse { button_id: b.id, message: b.title }))
        }
        ("list_reply", _, Some(l), _) => Some(IncomingContent::ListResponse(ListResponse {
            message: l.description.unwrap_or_else(|| l.title.clone()),
            title: l.title,
            selected_row_id: l.id,
        })),
        ("nfm_reply", _, _, Some(f)) => {
            let mut n = Notification::new("FLOW_RESPONSE");
            n.notification_parameters = Some(
                [f.name, f.body, f.response_json].into_iter().map(incoming::NotificationParameter::Text).collect(),
            );
            Some(IncomingContent::Notification(n))
        }
        _ => None,
    }
}

#[derive(Deserialize)]
struct ButtonBody {
    #[serde(default)]
    payload: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct OrderBody {
    #[serde(default)]
    catalog_id: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    product_items: Vec<OrderItem>,
}

#[derive(Deserialize)]
struct OrderItem {
    #[serde(default)]
    product_retailer_id: String,
    #[serde(default)]
    quantity: u32,
    #[serde(default)]
    item_price: f64,
    #[serde(default)]
    currency: String,
}

/// Z-API shows amounts in thousandths of the currency unit (WhatsApp's `amount1000`); the
/// Cloud API writes a decimal price.
fn amount1000(price: f64) -> u64 {
    (price * 1000.0).round().max(0.0) as u64
}

fn order(o: OrderBody, wamid: &str) -> IncomingContent {
    let products: Vec<OrderProduct> = o
        .product_items
        .iter()
        .map(|p| OrderProduct {
            quantity: p.quantity,
            name: p.product_retailer_id.clone(),
            product_id: p.product_retailer_id.clone(),
            retailer_id: p.product_retailer_id.clone(),
            price: amount1000(p.item_price),
            currency_code: p.currency.clone(),
        })
        .collect();
    let total = products.iter().map(|p| p.price.saturating_mul(u64::from(p.quantity))).sum();
    IncomingContent::Order(Order {
        item_count: products.iter().map(|p| p.quantity).sum(),
        order_id: wamid.to_owned(),
        message: o.text,
        order_title: String::new(),
        seller_id: o.catalog_id,
        thumbnail_url: String::new(),
        token: String::new(),
        currency: products.first().map(|p| p.currency_code.clone()).unwrap_or_default(),
        total,
        sub_total: total,
        products,
    })
}

#[derive(Deserialize)]
struct SystemBody {
    #[serde(default)]
    body: String,
    #[serde(rename = "type", default)]
    kind: String,
    wa_id: Option<String>,
    new_wa_id: Option<String>,
}

/// `system` messages (a customer changed number or identity) become notices named after
/// their type (`USER_CHANGED_NUMBER`), the text and the new id as parameters.
fn system(s: SystemBody) -> IncomingContent {
    let kind = if s.kind.is_empty() { "system".to_owned() } else { s.kind };
    let mut n = Notification::new(&kind.to_uppercase());
    let params = [Some(s.body), s.new_wa_id.or(s.wa_id)].into_iter().flatten().filter(|p| !p.is_empty());
    n.notification_parameters = Some(params.map(incoming::NotificationParameter::Text).collect());
    IncomingContent::Notification(n)
}

/// A message the Cloud API could not show (`unsupported`) or of a type unknown here.
fn unsupported(kind: &str) -> IncomingContent {
    let mut n = Notification::new("UNSUPPORTED_MESSAGE");
    n.notification_parameters = Some(vec![incoming::NotificationParameter::Text(kind.to_owned())]);
    IncomingContent::Notification(n)
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Card {
    name: CardName,
    phones: Vec<CardPhone>,
    emails: Vec<CardEmail>,
    org: CardOrg,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CardName {
    formatted_name: String,
    first_name: String,
    last_name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CardPhone {
    phone: String,
    wa_id: Option<String>,
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CardEmail {
    email: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CardOrg {
    company: String,
}

fn contact_cards(m: &raw::Message) -> Vec<(IncomingContent, Option<MediaRef>)> {
    let cards: Vec<Card> = object(m, "contacts").unwrap_or_default();
    if cards.is_empty() {
        return vec![(unsupported("contacts"), None)];
    }
    cards.into_iter().map(|c| (IncomingContent::Contact(contact(c)), None)).collect()
}

/// One card as Z-API shows it: the name, a vCard 3.0 built from the card, the numbers.
fn contact(c: Card) -> Contact {
    let display_name = if c.name.formatted_name.is_empty() {
        format!("{} {}", c.name.first_name, c.name.last_name).trim().to_owned()
    } else {
        c.name.formatted_name.clone()
    };
    let mut v = format!("BEGIN:VCARD\nVERSION:3.0\nN:{};{};;;\nFN:{display_name}\n", c.name.last_name, c.name.first_name);
    if !c.org.company.is_empty() {
        v.push_str(&format!("ORG:{}\n", c.org.company));
    }
    for p in &c.phones {
        let kind = if p.kind.is_empty() { "CELL" } else { &p.kind };
        match &p.wa_id {
            Some(wa) => v.push_str(&format!("TEL;type={kind};waid={wa}:{}\n", p.phone)),
            None => v.push_str(&format!("TEL;type={kind}:{}\n", p.phone)),
        }
    }
    for e in &c.emails {
        v.push_str(&format!("EMAIL:{}\n", e.email));
    }
    v.push_str("END:VCARD");
    let phones = c.phones.iter().map(|p| p.wa_id.clone().unwrap_or_else(|| digits(&p.phone))).collect();
    Contact { display_name, v_card: v, phones }
}

fn digits(s: &str) -> String {
    s.chars().filter(char::is_ascii_digit).collect()
}

fn ad_reply(r: &raw::Referral) -> ExternalAdReply {
    ExternalAdReply {
        title: r.headline.clone(),
        body: r.body.clone(),
        media_type: if r.media_type == "video" { 2 } else { 1 },
        thumbnail_url: if r.thumbnail_url.is_empty() { r.image_url.clone() } else { r.thumbnail_url.clone() },
        source_type: r.source_type.clone(),
        source_id: r.source_id.clone(),
        ctwa_clid: r.ctwa_clid.clone(),
        source_url: r.source_url.clone(),
        contains_auto_reply: false,
        render_larger_thumbnail: false,
        show_ad_attribution: true,
    }
}

/// A status entry, or `None` when it names no message, no known status or no recipient.
pub(super) fn status(s: &raw::Status) -> Option<StatusUpdate> {
    let status = match s.status.as_str() {
        "sent" => StatusKind::Sent,
        "delivered" => StatusKind::Delivered,
        "read" => StatusKind::Read,
        "played" => StatusKind::Played,
        "failed" => {
            let e = s.errors.first();
            StatusKind::Failed {
                code: e.map(|e| e.code).unwrap_or(0),
                title: e
                    .and_then(|e| e.title.clone().or_else(|| e.message.clone()))
                    .unwrap_or_else(|| "failed".to_owned()),
                details: e.and_then(|e| e.error_data.as_ref()).and_then(|d| d.details.clone()),
            }
        }
        _ => return None,
    };
    if s.id.is_empty() {
        return None;
    }
    Some(StatusUpdate {
        wamid: s.id.clone(),
        status,
        recipient: Phone::parse(&s.recipient_id).ok()?,
        at_ms: timestamp_ms(&s.timestamp),
        callback_data: s.biz_opaque_callback_data.clone().filter(|d| !d.is_empty()),
    })
}
