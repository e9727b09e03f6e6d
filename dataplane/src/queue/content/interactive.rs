//! Interactive messages (seed 001, lines 2841–3920 and 4122–5056): buttons (actions, reply
//! lists, OTP copy, PIX), option lists, carousels, polls and votes, events and answers to
//! them, orders and their updates, products and catalogs. These are the types as queued and as
//! the network receives them: every field a route accepted is kept here, already checked and
//! normalised (enums in their canonical spelling, defaults the seed names filled in), so the
//! connector never re-validates. Images and videos on buttons and carousel cards are
//! [`MediaSource`]s like media messages' files: a URL fetched when the message leaves, or a
//! base64 upload already fsync'd in the media store (named by [`Interactive::stored_media`] so
//! the queue keeps the file while the message waits). Parsing requests is the dialect's job
//! (`api/zapi/messages/interactive/`); no I/O here.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::media::MediaSource;
use crate::media::{Digest, MediaKind};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", rename_all_fields = "camelCase")]
pub enum Interactive {
    /// send-button-actions: a text with CALL / URL / REPLY buttons.
    ButtonActions {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        footer: Option<String>,
        buttons: Vec<ActionButton>,
    },
    /// send-button-list: a text (optionally with an image or a video) with reply buttons.
    ButtonList {
        message: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<ButtonMedia>,
        buttons: Vec<ReplyButton>,
    },
    /// send-option-list: a text with a button that opens a list to pick one option from.
    OptionList { message: String, title: String, button_label: String, options: Vec<ListOption> },
    /// send-button-otp: a text with a button that copies `code`.
    ButtonOtp {
        message: String,
        code: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        image: Option<MediaSource>,
        /// "Copy code" unless the request named another text.
        button_text: String,
    },
    /// send-button-pix: a PIX key with a copy button.
    ButtonPix {
        pix_key: String,
        key_type: PixKeyType,
        /// The button's title; "Pix" when the request sent none or an empty one.
        merchant_name: String,
    },
    /// send-carousel: a text followed by cards, each with an image, a text and buttons.
    Carousel { message: String, cards: Vec<CarouselCard> },
    /// send-poll.
    Poll {
        message: String,
        options: Vec<String>,
        /// Votes one person may give; `None`: as many as there are options.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_options: Option<u32>,
    },
    /// send-poll-vote: votes in the poll `poll_message_id`.
    PollVote { poll_message_id: String, votes: Vec<String> },
    /// send-order.
    Order {
        order: Order,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payment: Option<Box<PaymentSettings>>,
    },
    /// order-status-update. Boxed, like the payment settings, so that every queued message
    /// does not grow to the size of the largest content (clippy `large_enum_variant`).
    OrderStatusUpdate(Box<OrderUpdate>),
    /// order-payment-update.
    OrderPaymentUpdate(Box<OrderUpdate>),
    /// send-event.
    Event { event: Event },
    /// send-edit-event: the event `event_message_id`, as it is now.
    EditEvent { event_message_id: String, event: Event },
    /// send-event-response: an answer to the event `event_message_id`.
    EventResponse { event_message_id: String, response: EventAnswer },
    /// send-product: a product of the catalog of `catalog_phone`.
    Product { catalog_phone: String, product_id: String },
    /// send-catalog: a link to the catalog of `catalog_phone`.
    Catalog {
        catalog_phone: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        translation: Option<CatalogLanguage>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
}

/// A button of send-button-actions and of carousel cards, stored as Z-API writes it
/// (`{"type": "CALL", "id", "label", "phone"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ActionButton {
    /// Calls `phone` (digits).
    Call {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        label: String,
        phone: String,
    },
    /// Opens `url` (http or https).
    Url {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        label: String,
        url: String,
    },
    /// Answers with `label`.
    Reply {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        label: String,
    },
}

impl ActionButton {
    /// The button's type as Z-API names it.
    pub fn kind(&self) -> &'static str {
        match self {
            ActionButton::Call { .. } => "CALL",
            ActionButton::Url { .. } => "URL",
            ActionButton::Reply { .. } => "REPLY",
        }
    }
}

/// The id a reply button or list option answers with: its own, else its position from 1 (`n`
/// counts from 0) — the same on every network.
pub fn answer_id(id: &Option<String>, n: usize) -> String {
    id.clone().unwrap_or_else(|| (n + 1).to_string())
}

/// A reply button of send-button-list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyButton {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub label: String,
}

/// The image or video shown above a button list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ButtonMedia {
    /// `image` or `video`.
    #[serde(rename = "type")]
    pub kind: MediaKind,
    pub source: MediaSource,
}

/// One option of send-option-list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListOption {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    pub description: String,
}

/// One card of send-carousel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CarouselCard {
    pub text: String,
    pub image: MediaSource,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<ActionButton>,
}

/// The kind of key of a PIX button (send-button-pix `type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum PixKeyType {
    Cpf,
    Cnpj,
    Phone,
    Email,
    /// A random key.
    Evp,
}

impl PixKeyType {
    pub const NAMES: [&'static str; 5] = ["CPF", "CNPJ", "PHONE", "EMAIL", "EVP"];
    pub const ALL: [PixKeyType; 5] =
        [PixKeyType::Cpf, PixKeyType::Cnpj, PixKeyType::Phone, PixKeyType::Email, PixKeyType::Evp];

    /// The type as Z-API (and a PIX payment) writes it: one of [`PixKeyType::NAMES`].
    pub fn name(&self) -> &'static str {
        match self {
            PixKeyType::Cpf => "CPF",
            PixKeyType::Cnpj => "CNPJ",
            PixKeyType::Phone => "PHONE",
            PixKeyType::Email => "EMAIL",
            PixKeyType::Evp => "EVP",
        }
    }
}

/// An order (send-order; repeated in full by its updates).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Order {
    /// ISO 4217 code, upper case.
    pub currency: String,
    pub products: Vec<OrderProduct>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discount: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shipping: Option<f64>,
}

impl Order {
    /// Σ value × quantity of the products.
    pub fn subtotal(&self) -> f64 {
        self.products.iter().map(|p| p.value * f64::from(p.quantity)).sum()
    }

    /// What the buyer pays: subtotal − discount + tax + shipping.
    pub fn total(&self) -> f64 {
        self.subtotal() - self.discount.unwrap_or(0.0) + self.tax.unwrap_or(0.0) + self.shipping.unwrap_or(0.0)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderProduct {
    /// A catalog product's id; none for a product made up for this order (send-order). Order
    /// updates always name it (`custom-item-…` for made-up products).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product_id: Option<String>,
    pub name: String,
    pub value: f64,
    pub quantity: u32,
    /// Order updates: whether the product was made up for the order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_custom_item: Option<bool>,
}

/// How an order may be paid (send-order `paymentSettings`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pix: Option<PixPayment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub card: Option<CardPayment>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PixPayment {
    pub key: String,
    pub key_type: PaymentKeyType,
    pub name: String,
}

/// The kind of PIX key of an order's payment settings (spelt as send-order spells it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PaymentKeyType {
    Cpf,
    Cnpj,
    Phone,
    Email,
    RandomKey,
}

impl PaymentKeyType {
    pub const NAMES: [&'static str; 5] = ["cpf", "cnpj", "phone", "email", "randomKey"];
    pub const ALL: [PaymentKeyType; 5] = [
        PaymentKeyType::Cpf,
        PaymentKeyType::Cnpj,
        PaymentKeyType::Phone,
        PaymentKeyType::Email,
        PaymentKeyType::RandomKey,
    ];
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardPayment {
    pub enabled: bool,
}

/// order-status-update and order-payment-update: the order again, with the ids the order's
/// ReceivedCallback returned and the new statuses.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrderUpdate {
    /// The network id of the order message (Z-API `messageId`).
    pub order_message_id: String,
    pub reference_id: String,
    pub order_request_id: String,
    pub order_status: OrderStatus,
    pub payment_status: PaymentStatus,
    pub order: Order,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OrderStatus {
    Pending,
    Processing,
    Shipped,
    Completed,
    Canceled,
}

impl OrderStatus {
    pub const NAMES: [&'static str; 5] = ["pending", "processing", "shipped", "completed", "canceled"];
    pub const ALL: [OrderStatus; 5] = [
        OrderStatus::Pending,
        OrderStatus::Processing,
        OrderStatus::Shipped,
        OrderStatus::Completed,
        OrderStatus::Canceled,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    Pending,
    Paid,
}

impl PaymentStatus {
    pub const NAMES: [&'static str; 2] = ["pending", "paid"];
    pub const ALL: [PaymentStatus; 2] = [PaymentStatus::Pending, PaymentStatus::Paid];
}

/// An event (send-event, send-edit-event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// ISO 8601 date and time as sent (`2024-04-29T09:30:53.309Z`).
    pub date_time: String,
    /// The zone `date_time`'s clock reading is in (`UTC-3`), as sent: Z-API's documentation
    /// since 2025-12 gives `dateTime` "without a timezone" and this beside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<EventLocation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_link_type: Option<CallLinkType>,
    pub canceled: bool,
}

impl Event {
    /// When the event starts (unix seconds): with a `time_zone`, `date_time`'s clock reading in
    /// that zone (any offset written in `date_time` is not read: Z-API's example writes `Z`
    /// beside `"timeZone": "UTC-3"`); without one, `date_time` at its offset, or in UTC when it
    /// has none. `None` only for a text the edge would not have taken.
    pub fn start_s(&self) -> Option<i64> {
        let Some(zone) = &self.time_zone else { return Self::instant_s(&self.date_time) };
        let offset_s = i64::from(utc_offset_minutes(zone)?) * 60;
        Some(Self::instant_s(wall_clock(&self.date_time))? - offset_s)
    }

    fn instant_s(date_time: &str) -> Option<i64> {
        let mut s = date_time.trim().to_owned();
        // One form for chrono: `T` between date and time, seconds always, `Z` upper case.
        if s.len() >= 16 && s.is_char_boundary(10) && s.is_char_boundary(11) {
            s.replace_range(10..11, "T");
        }
        if s.len() >= 16 && s.is_char_boundary(16) && !s[16..].starts_with(':') {
            s.insert_str(16, ":00");
        }
        if let Some(utc) = s.strip_suffix('z') {
            s = format!("{utc}Z");
        }
        if let Ok(at) = chrono::DateTime::parse_from_rfc3339(&s) {
            return Some(at.timestamp());
        }
        let naive = chrono::NaiveDateTime::parse_from_str(&s, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
        Some(naive.and_utc().timestamp())
    }
}

/// `date_time` without its offset: a trailing `Z`, or `±HH:MM` / `±HHMM` / `±HH` after the time.
fn wall_clock(date_time: &str) -> &str {
    let s = date_time.trim();
    if let Some(bare) = s.strip_suffix(['Z', 'z']) {
        return bare;
    }
    // The time starts after the date's 10 characters; a sign past it starts an offset.
    match s.get(11..).and_then(|time| time.find(['+', '-'])) {
        Some(at) => &s[..11 + at],
        None => s,
    }
}

/// The offset from UTC, in minutes, of a zone written `UTC-3`, `UTC+05:30`, `GMT-0300`, `UTC`,
/// `Z` or a bare `-03:00` (from −12:00 to +14:00, WhatsApp's and the world's range).
pub fn utc_offset_minutes(zone: &str) -> Option<i32> {
    let z = zone.trim();
    let upper = z.to_ascii_uppercase();
    let rest = upper.strip_prefix("UTC").or_else(|| upper.strip_prefix("GMT")).unwrap_or(&upper);
    if rest.is_empty() || rest == "Z" {
        return Some(0);
    }
    let (sign, digits) = match rest.as_bytes()[0] {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit() || b == b':') {
        return None; // (and every split below is at a character boundary)
    }
    let (h, m) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() > 2 => digits.split_at(digits.len() - 2),
        None => (digits, "0"),
    };
    let ok = |d: &str| !d.is_empty() && d.len() <= 2 && d.bytes().all(|b| b.is_ascii_digit());
    if !ok(h) || !ok(m) {
        return None;
    }
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    let minutes = sign * (h * 60 + m);
    (m < 60 && (-12 * 60..=14 * 60).contains(&minutes)).then_some(minutes)
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLocation {
    pub name: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallLinkType {
    Voice,
    Video,
}

impl CallLinkType {
    pub const NAMES: [&'static str; 2] = ["voice", "video"];
    pub const ALL: [CallLinkType; 2] = [CallLinkType::Voice, CallLinkType::Video];
}

/// An answer to an event (send-event-response `eventResponse`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EventAnswer {
    Going,
    NotGoing,
}

impl EventAnswer {
    pub const NAMES: [&'static str; 2] = ["GOING", "NOT_GOING"];
    pub const ALL: [EventAnswer; 2] = [EventAnswer::Going, EventAnswer::NotGoing];

    pub fn as_str(self) -> &'static str {
        match self {
            EventAnswer::Going => "GOING",
            EventAnswer::NotGoing => "NOT_GOING",
        }
    }
}

/// The language of a catalog card's default texts (send-catalog `translation`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CatalogLanguage {
    En,
    Pt,
}

impl CatalogLanguage {
    pub const NAMES: [&'static str; 2] = ["EN", "PT"];
    pub const ALL: [CatalogLanguage; 2] = [CatalogLanguage::En, CatalogLanguage::Pt];
}

impl Interactive {
    /// The text shown in the queue listing.
    pub fn preview(&self) -> Cow<'_, str> {
        match self {
            Interactive::ButtonActions { message, .. }
            | Interactive::ButtonList { message, .. }
            | Interactive::OptionList { message, .. }
            | Interactive::ButtonOtp { message, .. }
            | Interactive::Carousel { message, .. }
            | Interactive::Poll { message, .. } => Cow::Borrowed(message),
            Interactive::ButtonPix { pix_key, .. } => Cow::Borrowed(pix_key),
            Interactive::PollVote { votes, .. } => Cow::Owned(votes.join(", ")),
            Interactive::Order { order, .. } => Cow::Owned(format!("order: {:.2} {}", order.total(), order.currency)),
            Interactive::OrderStatusUpdate(u) | Interactive::OrderPaymentUpdate(u) => match &u.message {
                Some(m) => Cow::Borrowed(m),
                None => Cow::Owned(format!("order {}", u.reference_id)),
            },
            Interactive::Event { event } | Interactive::EditEvent { event, .. } => Cow::Borrowed(&event.name),
            Interactive::EventResponse { response, .. } => Cow::Borrowed(response.as_str()),
            Interactive::Product { product_id, .. } => Cow::Borrowed(product_id),
            Interactive::Catalog { message, title, .. } => {
                Cow::Borrowed(message.as_deref().or(title.as_deref()).unwrap_or(""))
            }
        }
    }

    /// Bounded label for metrics; also the `type` the sim's witness shows (the same as the
    /// stored `type` tag).
    pub fn label(&self) -> &'static str {
        match self {
            Interactive::ButtonActions { .. } => "buttonActions",
            Interactive::ButtonList { .. } => "buttonList",
            Interactive::OptionList { .. } => "optionList",
            Interactive::ButtonOtp { .. } => "buttonOtp",
            Interactive::ButtonPix { .. } => "buttonPix",
            Interactive::Carousel { .. } => "carousel",
            Interactive::Poll { .. } => "poll",
            Interactive::PollVote { .. } => "pollVote",
            Interactive::Order { .. } => "order",
            Interactive::OrderStatusUpdate(_) => "orderStatusUpdate",
            Interactive::OrderPaymentUpdate(_) => "orderPaymentUpdate",
            Interactive::Event { .. } => "event",
            Interactive::EditEvent { .. } => "editEvent",
            Interactive::EventResponse { .. } => "eventResponse",
            Interactive::Product { .. } => "product",
            Interactive::Catalog { .. } => "catalog",
        }
    }

    /// The media files the message shows (button-list image or video, OTP image, carousel
    /// card images), with the kind each must be, in the order they appear.
    pub fn media(&self) -> Vec<(MediaKind, &MediaSource)> {
        match self {
            Interactive::ButtonList { media: Some(m), .. } => vec![(m.kind, &m.source)],
            Interactive::ButtonOtp { image: Some(source), .. } => vec![(MediaKind::Image, source)],
            Interactive::Carousel { cards, .. } => cards.iter().map(|c| (MediaKind::Image, &c.image)).collect(),
            _ => Vec::new(),
        }
    }

    /// The stored (base64-uploaded) files among [`media`](Self::media).
    pub fn stored_media(&self) -> Vec<Digest> {
        self.media()
            .into_iter()
            .filter_map(|(_, source)| match source {
                MediaSource::Stored(s) => Some(s.digest),
                MediaSource::Url { .. } => None,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::StoredMedia;

    #[test]
    fn an_events_start_is_read_at_its_offset_or_in_utc_in_every_form_the_edge_takes() {
        let at = |date_time: &str| {
            let event = Event {
                name: "e".into(),
                description: None,
                date_time: date_time.into(),
                time_zone: None,
                location: None,
                call_link_type: None,
                canceled: false,
            };
            event.start_s()
        };
        // 2024-04-29T09:30:53Z is 1714383053.
        for (date_time, expected) in [
            ("2024-04-29T09:30:53.309Z", 1_714_383_053),
            ("2024-04-29T09:30:53", 1_714_383_053),
            ("2024-04-29t09:30:53z", 1_714_383_053),
            ("2024-04-29T09:30", 1_714_383_000),
            ("2024-04-29T09:30Z", 1_714_383_000),
            ("2024-04-29T06:30:53-03:00", 1_714_383_053),
            ("2024-04-29 06:30-03:00", 1_714_383_000),
            ("2024-12-31 23:59:59+14:00", 1_735_639_199),
        ] {
            assert_eq!(at(date_time), Some(expected), "{date_time}");
        }
        assert_eq!(at("29/04/2024 10:00"), None);
    }

    #[test]
    fn with_a_time_zone_the_date_time_is_a_clock_reading_in_that_zone() {
        let at = |date_time: &str, zone: &str| {
            let event = Event {
                name: "e".into(),
                description: None,
                date_time: date_time.into(),
                time_zone: Some(zone.into()),
                location: None,
                call_link_type: None,
                canceled: false,
            };
            event.start_s()
        };
        // 09:30:53 in UTC-3 is 12:30:53 UTC: 1714383053 + 3 h.
        let brasilia = 1_714_383_053 + 3 * 3600;
        for (date_time, zone, expected) in [
            ("2024-04-29T09:30:53.309Z", "UTC-3", brasilia), // Z-API's own example
            ("2024-04-29T09:30:53", "UTC-3", brasilia),
            ("2024-04-29T09:30:53-05:00", "utc-03:00", brasilia),
            ("2024-04-29 09:30:53+0200", "GMT-0300", brasilia),
            ("2024-04-29T09:30:53", "-03:00", brasilia),
            ("2024-04-29T09:30:53", "UTC", 1_714_383_053),
            ("2024-04-29T09:30:53", "UTC+5:30", 1_714_383_053 - 5 * 3600 - 1800),
            ("2024-04-29T09:30:53", "UTC+14", 1_714_383_053 - 14 * 3600),
        ] {
            assert_eq!(at(date_time, zone), Some(expected), "{date_time} in {zone}");
        }
        for zone in
            ["UTC-13", "UTC+15", "UTC+5:60", "America/Sao_Paulo", "UTC-3h", "UTC+", "+123:00", "UTC+é5", "UTC-1:é"]
        {
            assert_eq!(utc_offset_minutes(zone), None, "{zone}");
        }
    }

    fn stored(byte: u8) -> MediaSource {
        MediaSource::Stored(StoredMedia { digest: Digest([byte; 32]), size: 3, mime: "image/png".into() })
    }

    #[test]
    fn only_uploaded_images_of_buttons_and_cards_are_kept_alive_by_the_queue() {
        let url = MediaSource::Url { url: "https://x.test/a.png".into() };
        let carousel = Interactive::Carousel {
            message: "m".into(),
            cards: vec![
                CarouselCard { text: "a".into(), image: stored(1), buttons: vec![] },
                CarouselCard { text: "b".into(), image: url.clone(), buttons: vec![] },
                CarouselCard { text: "c".into(), image: stored(2), buttons: vec![] },
            ],
        };
        assert_eq!(carousel.stored_media(), vec![Digest([1; 32]), Digest([2; 32])]);
        let otp = Interactive::ButtonOtp {
            message: "m".into(),
            code: "1".into(),
            image: Some(stored(3)),
            button_text: "Copy code".into(),
        };
        assert_eq!(otp.stored_media(), vec![Digest([3; 32])]);
        let list = Interactive::ButtonList {
            message: "m".into(),
            media: Some(ButtonMedia { kind: MediaKind::Video, source: url }),
            buttons: vec![],
        };
        assert!(list.stored_media().is_empty());
        assert_eq!(list.media()[0].0, MediaKind::Video);
    }

    #[test]
    fn content_is_stored_as_z_api_spells_it_and_reads_back() {
        let poll = Interactive::PollVote { poll_message_id: "P1".into(), votes: vec!["Z-API".into()] };
        let v = serde_json::to_value(&poll).unwrap();
        assert_eq!(v, serde_json::json!({"type": "pollVote", "pollMessageId": "P1", "votes": ["Z-API"]}));
        let button = ActionButton::Call { id: Some("1".into()), label: "Call".into(), phone: "554498398733".into() };
        assert_eq!(
            serde_json::to_value(&button).unwrap(),
            serde_json::json!({"type": "CALL", "id": "1", "label": "Call", "phone": "554498398733"})
        );
        let update = Interactive::OrderStatusUpdate(Box::new(OrderUpdate {
            order_message_id: "M".into(),
            reference_id: "R".into(),
            order_request_id: "Q".into(),
            order_status: OrderStatus::Shipped,
            payment_status: PaymentStatus::Paid,
            order: Order {
                currency: "BRL".into(),
                products: vec![OrderProduct {
                    product_id: Some("custom-item-1".into()),
                    name: "n".into(),
                    value: 1.5,
                    quantity: 2,
                    is_custom_item: Some(true),
                }],
                discount: None,
                tax: None,
                shipping: Some(2.0),
            },
            message: None,
        }));
        let v = serde_json::to_value(&update).unwrap();
        assert_eq!(v["type"], "orderStatusUpdate");
        assert_eq!(v["orderStatus"], "shipped");
        assert_eq!(v["order"]["products"][0]["isCustomItem"], true);
        for i in [poll, update] {
            let back: Interactive = serde_json::from_value(serde_json::to_value(&i).unwrap()).unwrap();
            assert_eq!(back, i);
        }
    }

    #[test]
    fn an_order_totals_its_products_discount_tax_and_shipping() {
        let order = Order {
            currency: "BRL".into(),
            products: vec![
                OrderProduct { product_id: None, name: "a".into(), value: 10.0, quantity: 2, is_custom_item: None },
                OrderProduct { product_id: None, name: "b".into(), value: 5.5, quantity: 1, is_custom_item: None },
            ],
            discount: Some(10.0),
            tax: Some(10.0),
            shipping: Some(5.0),
        };
        assert_eq!(order.subtotal(), 25.5);
        assert_eq!(order.total(), 30.5);
        assert_eq!(Interactive::Order { order, payment: None }.preview(), "order: 30.50 BRL");
    }
}
