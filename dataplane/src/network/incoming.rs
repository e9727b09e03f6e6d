//! What someone sent to an instance's number, as the network hands it over: [`IncomingContent`]
//! names every kind of message a Z-API ReceivedCallback describes (seed 001, lines
//! 11200–13000) with that kind's fields, in Z-API's names, so the webhook renders each kind by
//! serializing it. Received media carries its [`StoredMedia`] (the connector stored the bytes
//! before handing the message over). Plain data: no I/O, usable on any thread; rendering the
//! webhook body is `outbox::payload::received`'s job.

mod commerce;
mod interactive;

use serde::{Deserialize, Deserializer, Serialize};

pub use commerce::{
    NewsletterAdminInvite, Order, OrderProduct, OrderReview, PaymentInfo, PixKey, Product, RequestPayment,
    ReviewProduct, SendPayment,
};
pub use interactive::{
    Button, ButtonText, Buttons, CallButton, Carousel, CarouselCard, HeaderDocument, HeaderImage, HeaderVideo,
    HydratedButton, QuickReplyButton, Template, TemplateHeader, UrlButton,
};

use crate::media::{MediaKind, StoredMedia};

/// The kinds of incoming message, tagged by `type` as `POST /sim/inbound` names them.
// Sized by its largest kind (a template); it lives once per incoming message, boxed in its
// `NetworkEvent`, so boxing each large kind would only add allocations.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum IncomingContent {
    Text(Text),
    Image(ReceivedImage),
    Audio(ReceivedAudio),
    Video(ReceivedVideo),
    /// A round video note; Z-API reports it as `video`.
    Ptv(ReceivedVideo),
    /// A looping MP4; Z-API reports it as `video`.
    Gif(ReceivedVideo),
    Document(ReceivedDocument),
    Sticker(ReceivedSticker),
    Location(Location),
    Contact(Contact),
    Reaction(Reaction),
    /// A tap on a button (`buttonsResponseMessage`).
    ButtonResponse(ButtonResponse),
    /// A row picked from an option list (`listResponseMessage`).
    ListResponse(ListResponse),
    Poll(Poll),
    PollVote(PollVote),
    Event(Event),
    EventResponse(EventResponse),
    PinMessage(PinMessage),
    /// A business template (`hydratedTemplate`: text, OTP, image, video, document, location).
    Template(Template),
    /// Buttons with an image or video header (`buttonsMessage`).
    Buttons(Buttons),
    Carousel(Carousel),
    PixKey(PixKey),
    Product(Product),
    Order(Order),
    RequestPayment(RequestPayment),
    SendPayment(SendPayment),
    ReviewAndPay(OrderReview),
    ReviewOrder(OrderReview),
    NewsletterAdminInvite(NewsletterAdminInvite),
    /// A system notice (calls, group join requests, channel admin changes, profile and label
    /// changes, declined payments): its fields sit at the top level of the callback.
    Notification(Notification),
    /// "Waiting for this message": the network has not decrypted it yet.
    WaitingMessage(WaitingMessage),
}

impl IncomingContent {
    /// The media kind whose bytes this message carries, if any.
    pub fn media_kind(&self) -> Option<MediaKind> {
        Some(match self {
            IncomingContent::Image(_) => MediaKind::Image,
            IncomingContent::Audio(_) => MediaKind::Audio,
            IncomingContent::Video(_) => MediaKind::Video,
            IncomingContent::Ptv(_) => MediaKind::Ptv,
            IncomingContent::Gif(_) => MediaKind::Gif,
            IncomingContent::Document(_) => MediaKind::Document,
            IncomingContent::Sticker(_) => MediaKind::Sticker,
            _ => return None,
        })
    }

    /// The kind's name, as `POST /sim/inbound` and Z-API's callbacks write it (`text`,
    /// `image`, `reaction`, …).
    pub fn type_name(&self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.get("type").and_then(serde_json::Value::as_str).map(str::to_owned))
            .unwrap_or_else(|| "unknown".into())
    }

    /// The caption of received media, when it has a non-empty one.
    pub fn caption(&self) -> Option<&str> {
        let caption = match self {
            IncomingContent::Image(m) => &m.caption,
            IncomingContent::Video(m) | IncomingContent::Ptv(m) | IncomingContent::Gif(m) => &m.caption,
            IncomingContent::Document(m) => return m.caption.as_deref().filter(|c| !c.is_empty()),
            _ => return None,
        };
        Some(caption.as_str()).filter(|c| !c.is_empty())
    }

    /// The file name a received document came with, when it has a non-empty one.
    pub fn file_name(&self) -> Option<&str> {
        match self {
            IncomingContent::Document(d) => Some(d.file_name.as_str()).filter(|n| !n.is_empty()),
            _ => None,
        }
    }

    /// The stored file of received media.
    pub fn media(&self) -> Option<&StoredMedia> {
        self.media_fields().and_then(|(stored, _)| stored.as_ref())
    }

    /// The MIME type shown for received media: the declared one, else the sniffed one.
    pub fn mime(&self) -> Option<&str> {
        let (stored, declared) = self.media_fields()?;
        declared.as_deref().or(stored.as_ref().map(|s| s.mime.as_str()))
    }

    /// Attaches the stored file to received media (no effect on other kinds).
    pub fn attach(&mut self, file: StoredMedia) {
        let slot = match self {
            IncomingContent::Image(m) => &mut m.stored,
            IncomingContent::Audio(m) => &mut m.stored,
            IncomingContent::Video(m) | IncomingContent::Ptv(m) | IncomingContent::Gif(m) => &mut m.stored,
            IncomingContent::Document(m) => &mut m.stored,
            IncomingContent::Sticker(m) => &mut m.stored,
            _ => return,
        };
        *slot = Some(file);
    }

    fn media_fields(&self) -> Option<(&Option<StoredMedia>, &Option<String>)> {
        match self {
            IncomingContent::Image(m) => Some((&m.stored, &m.mime_type)),
            IncomingContent::Audio(m) => Some((&m.stored, &m.mime_type)),
            IncomingContent::Video(m) | IncomingContent::Ptv(m) | IncomingContent::Gif(m) => {
                Some((&m.stored, &m.mime_type))
            }
            IncomingContent::Document(m) => Some((&m.stored, &m.mime_type)),
            IncomingContent::Sticker(m) => Some((&m.stored, &m.mime_type)),
            _ => None,
        }
    }

    /// Bounded label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            IncomingContent::Text(_) => "text",
            IncomingContent::Notification(_) => "notification",
            IncomingContent::WaitingMessage(_) => "waitingMessage",
            c => c.media_kind().map(MediaKind::as_str).unwrap_or("other"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Text {
    pub message: String,
    /// Link preview fields, present when the text carries a link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceivedImage {
    /// Set by the connector once stored; never read from a request.
    #[serde(skip)]
    pub stored: Option<StoredMedia>,
    /// The type the sender declared (e.g. `audio/ogg; codecs=opus`); the sniffed one if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub caption: String,
    #[serde(default)]
    pub width: u32,
    #[serde(default)]
    pub height: u32,
    #[serde(default)]
    pub view_once: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceivedAudio {
    /// Set by the connector once stored; never read from a request.
    #[serde(skip)]
    pub stored: Option<StoredMedia>,
    /// The type the sender declared (e.g. `audio/ogg; codecs=opus`); the sniffed one if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// A voice note (push to talk) rather than an audio file.
    #[serde(default)]
    pub ptt: bool,
    #[serde(default)]
    pub seconds: u32,
    #[serde(default)]
    pub view_once: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceivedVideo {
    /// Set by the connector once stored; never read from a request.
    #[serde(skip)]
    pub stored: Option<StoredMedia>,
    /// The type the sender declared (e.g. `audio/ogg; codecs=opus`); the sniffed one if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub caption: String,
    #[serde(default)]
    pub seconds: u32,
    #[serde(default)]
    pub view_once: bool,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceivedDocument {
    /// Set by the connector once stored; never read from a request.
    #[serde(skip)]
    pub stored: Option<StoredMedia>,
    /// The type the sender declared (e.g. `audio/ogg; codecs=opus`); the sniffed one if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub file_name: String,
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub page_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReceivedSticker {
    /// Set by the connector once stored; never read from a request.
    #[serde(skip)]
    pub stored: Option<StoredMedia>,
    /// The type the sender declared (e.g. `audio/ogg; codecs=opus`); the sniffed one if absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Location {
    pub longitude: f64,
    pub latitude: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumbnail_url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contact {
    pub display_name: String,
    #[serde(rename = "vCard")]
    pub v_card: String,
    #[serde(default)]
    pub phones: Vec<String>,
}

/// The earlier message a reaction, pin or event response is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReferencedMessage {
    pub message_id: String,
    #[serde(default)]
    pub from_me: bool,
    pub phone: String,
    #[serde(default)]
    pub participant: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Reaction {
    /// The emoji; empty when a reaction is removed.
    pub value: String,
    #[serde(default)]
    pub time: u64,
    pub reaction_by: String,
    pub referenced_message: ReferencedMessage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ButtonResponse {
    pub button_id: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListResponse {
    pub message: String,
    pub title: String,
    pub selected_row_id: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollOption {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Poll {
    pub question: String,
    /// 0: any number of options may be chosen.
    #[serde(default)]
    pub poll_max_options: u32,
    pub options: Vec<PollOption>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PollVote {
    pub poll_message_id: String,
    pub options: Vec<PollOption>,
}

/// Where an event takes place; Z-API shows `{}` when it has none.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventPlace {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degrees_latitude: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub degrees_longitude: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Event {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub canceled: bool,
    #[serde(default)]
    pub join_link: String,
    pub schedule_time: u64,
    #[serde(default)]
    pub location: EventPlace,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EventResponse {
    /// `GOING` or `NOT_GOING`.
    pub response: String,
    pub response_from: String,
    #[serde(default)]
    pub time: u64,
    pub referenced_message: ReferencedMessage,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinMessage {
    /// `pin` or `unpin`.
    pub action: String,
    #[serde(default)]
    pub pin_duration_in_secs: u64,
    pub referenced_message: ReferencedMessage,
}

/// A notice's parameter: usually text; label changes carry objects.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum NotificationParameter {
    Text(String),
    Label(LabelChange),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LabelChange {
    pub phone: String,
    pub label: String,
    pub assigned: bool,
}

/// A system notice. Each field is shown only when the network gave it (`Some(None)` shows as
/// `null`), as Z-API's examples differ per notice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Notification {
    /// E.g. `CALL_VOICE`, `MEMBERSHIP_APPROVAL_REQUEST`, `PROFILE_NAME_UPDATED`.
    /// (`Notification::new(kind)` gives one with no other field set.)
    pub notification: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification_parameters: Option<Vec<NotificationParameter>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub call_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub code: Option<Option<String>>,
    #[serde(default, deserialize_with = "present", skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<Option<u64>>,
    /// Group join requests: `invite_link` or `non_admin_add`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_method: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_photo: Option<String>,
    /// The account itself made the change (profile notifications): shown as `fromMe: true`
    /// over the envelope's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from_me: Option<bool>,
    /// GROUP_MEMBER_LINK_PROPERTY_UPDATE (Z-API's documentation after seed 001): who may share
    /// the group's invitation link now, `ADMIN_LINK` or `ALL_MEMBER_LINK`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_mode: Option<String>,
}

impl Notification {
    /// A notice of `kind` with no parameters or extra fields yet.
    pub fn new(kind: &str) -> Notification {
        Notification {
            notification: kind.to_owned(),
            notification_parameters: None,
            call_id: None,
            code: None,
            expires_at: None,
            request_method: None,
            profile_name: None,
            updated_photo: None,
            from_me: None,
            link_mode: None,
        }
    }

    /// Seed 001's notice of a call to the account: CALL_VOICE while it rings, CALL_MISSED_VOICE
    /// (CALL_MISSED_VIDEO) when nobody took it; each names the call's `callId`.
    pub fn call(call_id: &str, missed: bool, video: bool) -> Notification {
        let kind = match (missed, video) {
            (false, _) => "CALL_VOICE",
            (true, false) => "CALL_MISSED_VOICE",
            (true, true) => "CALL_MISSED_VIDEO",
        };
        Notification {
            notification_parameters: Some(Vec::new()),
            call_id: Some(Some(call_id.to_owned())),
            ..Notification::new(kind)
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WaitingMessage {
    #[serde(default)]
    pub view_once: bool,
}

/// The click-to-WhatsApp ad a message came from (`externalAdReply`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ExternalAdReply {
    pub title: String,
    pub body: String,
    pub media_type: u32,
    pub thumbnail_url: String,
    pub source_type: String,
    pub source_id: String,
    pub ctwa_clid: String,
    pub source_url: String,
    #[serde(default)]
    pub contains_auto_reply: bool,
    #[serde(default)]
    pub render_larger_thumbnail: bool,
    #[serde(default)]
    pub show_ad_attribution: bool,
}

/// A field that is present (maybe as `null`) is `Some(value)`; absent ones take the default.
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}
