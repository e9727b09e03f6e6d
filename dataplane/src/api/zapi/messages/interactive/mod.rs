//! The interactive message routes (seed 001: send-product 2841, send-catalog 2906,
//! send-button-actions 3135, send-button-list 3249/3344/3440, send-option-list 3536,
//! send-button-otp 3631, send-button-pix 3711, send-carousel 3785, send-poll 4122,
//! send-poll-vote 4211, send-order 4279, order-status-update 4424, order-payment-update 4550,
//! send-event 4819, send-edit-event 4899, send-event-response 4984). Each route reads its own
//! fields into an [`Interactive`] content, in its own module (`buttons`, `lists`, `carousel`,
//! `polls`, `events`, `orders`, `catalog`), refusing by full path (`carousel[2].image is
//! required`) what the seed forbids; nothing the seed documents is dropped. Base64 images and
//! videos are stored (fsync'd) only after every other field passed, then the message goes
//! through [`super::accept`] like every send. Runs on the edge's event loop; media decoding
//! runs on the blocking pool.
//!
//! The seed gives no lengths or counts for these fields; chatedge bounds them with the
//! constants below (WhatsApp's own counts where it has them: 3 buttons, 10 list options, 10
//! carousel cards, 2–12 poll options).

mod buttons;
mod carousel;
mod catalog;
mod events;
mod lists;
mod orders;
mod polls;
mod read;

use std::ops::Range;
use std::sync::Arc;

use bytes::Bytes;
use chatedge_serve::Resp;

use super::super::fields::{self, Object};
use super::super::routes::Route;
use super::super::{Call, ZapiError};
use super::envelope;
use crate::media::{base64::MediaInput, Media, MediaError, MediaKind};
use crate::queue::content::{Interactive, MediaSource};
use crate::queue::{Content, OutboundMessage};
use read::At;

/// Longest message text.
const MAX_MESSAGE_CHARS: usize = 4_096;
/// Longest button label, list button label or OTP button text.
const MAX_LABEL_CHARS: usize = 60;
/// Longest title, footer, name or other short text.
const MAX_TITLE_CHARS: usize = 200;
/// Longest description.
const MAX_DESCRIPTION_CHARS: usize = 1_024;
/// Longest id (button ids, message ids, product ids, order references).
const MAX_ID_CHARS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InteractiveRoute {
    ButtonActions,
    ButtonList,
    OptionList,
    ButtonOtp,
    ButtonPix,
    Carousel,
    Poll,
    PollVote,
    Order,
    OrderStatusUpdate,
    OrderPaymentUpdate,
    Event,
    EditEvent,
    EventResponse,
    Product,
    Catalog,
}

/// Maps the path after the token to (label, allowed methods, route).
pub static ROUTES: &[Route<InteractiveRoute>] = &[
    Route {
        path: "send-button-actions",
        methods: "POST",
        label: "zapi.send-button-actions",
        op: InteractiveRoute::ButtonActions,
    },
    Route {
        path: "send-button-list",
        methods: "POST",
        label: "zapi.send-button-list",
        op: InteractiveRoute::ButtonList,
    },
    Route {
        path: "send-option-list",
        methods: "POST",
        label: "zapi.send-option-list",
        op: InteractiveRoute::OptionList,
    },
    Route { path: "send-button-otp", methods: "POST", label: "zapi.send-button-otp", op: InteractiveRoute::ButtonOtp },
    Route { path: "send-button-pix", methods: "POST", label: "zapi.send-button-pix", op: InteractiveRoute::ButtonPix },
    Route { path: "send-carousel", methods: "POST", label: "zapi.send-carousel", op: InteractiveRoute::Carousel },
    Route { path: "send-poll", methods: "POST", label: "zapi.send-poll", op: InteractiveRoute::Poll },
    Route { path: "send-poll-vote", methods: "POST", label: "zapi.send-poll-vote", op: InteractiveRoute::PollVote },
    Route { path: "send-order", methods: "POST", label: "zapi.send-order", op: InteractiveRoute::Order },
    Route {
        path: "order-status-update",
        methods: "POST",
        label: "zapi.order-status-update",
        op: InteractiveRoute::OrderStatusUpdate,
    },
    Route {
        path: "order-payment-update",
        methods: "POST",
        label: "zapi.order-payment-update",
        op: InteractiveRoute::OrderPaymentUpdate,
    },
    Route { path: "send-event", methods: "POST", label: "zapi.send-event", op: InteractiveRoute::Event },
    Route { path: "send-edit-event", methods: "POST", label: "zapi.send-edit-event", op: InteractiveRoute::EditEvent },
    Route {
        path: "send-event-response",
        methods: "POST",
        label: "zapi.send-event-response",
        op: InteractiveRoute::EventResponse,
    },
    Route { path: "send-product", methods: "POST", label: "zapi.send-product", op: InteractiveRoute::Product },
    Route { path: "send-catalog", methods: "POST", label: "zapi.send-catalog", op: InteractiveRoute::Catalog },
];

pub async fn handle(call: &Call<'_>, route: InteractiveRoute) -> Result<Resp, ZapiError> {
    let o = fields::object(&call.body)?;
    let phone = fields::phone(&o, "phone")?;
    let mut message = OutboundMessage::new(call.instance.id, phone, Content::text(""));
    read_envelope(route, &o, &mut message)?;
    let uploads = Uploads { media: &call.app.media };
    message.content = Content::Interactive(Box::new(parse(route, &o, &uploads).await?));
    super::accept(call, message).await
}

/// Reads the options every send shares. Order updates use `messageId` for the order they
/// update, not for a reply, so only their delays are read there.
fn read_envelope(route: InteractiveRoute, o: &Object, m: &mut OutboundMessage) -> Result<(), ZapiError> {
    match route {
        InteractiveRoute::OrderStatusUpdate | InteractiveRoute::OrderPaymentUpdate => envelope::read_delays(o, m),
        _ => envelope::read(o, m),
    }
}

/// Reads the route's own fields of `o` into its content (base64 media stored last).
async fn parse(route: InteractiveRoute, o: &Object, uploads: &Uploads<'_>) -> Result<Interactive, ZapiError> {
    use InteractiveRoute as R;
    let at = At::root(o);
    match route {
        R::ButtonActions => buttons::actions(at),
        R::ButtonList => buttons::list(at, uploads).await,
        R::ButtonOtp => buttons::otp(at, uploads).await,
        R::ButtonPix => buttons::pix(at),
        R::OptionList => lists::options(at),
        R::Carousel => carousel::parse(at, uploads).await,
        R::Poll => polls::poll(at),
        R::PollVote => polls::vote(at),
        R::Order => orders::order(at),
        R::OrderStatusUpdate => orders::update(at).map(|u| Interactive::OrderStatusUpdate(Box::new(u))),
        R::OrderPaymentUpdate => orders::update(at).map(|u| Interactive::OrderPaymentUpdate(Box::new(u))),
        R::Event => events::event(at),
        R::EditEvent => events::edit(at),
        R::EventResponse => events::response(at),
        R::Product => catalog::product(at),
        R::Catalog => catalog::catalog(at),
    }
}

/// A media field as the body gave it, before base64 data is stored.
#[derive(Debug, Clone)]
pub enum PendingMedia {
    Url(String),
    Base64 { path: String, kind: MediaKind, text: Bytes, range: Range<usize> },
}

/// Reads the media field `field` of `at`: an http(s) URL or base64 data (a data URI or bare).
fn pending_media(at: At<'_>, field: &str, kind: MediaKind, required: bool) -> Result<Option<PendingMedia>, ZapiError> {
    let path = at.name(field);
    let Some(text) = at.text(field, usize::MAX, required)? else { return Ok(None) };
    let (offset, len) = match MediaInput::parse(&text).map_err(|e| read::invalid(format!("{path} {e}")))? {
        MediaInput::Url(url) => return Ok(Some(PendingMedia::Url(url.to_owned()))),
        MediaInput::Base64(b) => (b.as_ptr() as usize - text.as_ptr() as usize, b.len()),
    };
    Ok(Some(PendingMedia::Base64 { path, kind, text: Bytes::from(text), range: offset..offset + len }))
}

/// Where base64 media goes: the media store, counted in `chatedge_dp_media_uploads_total`.
pub struct Uploads<'a> {
    pub media: &'a Arc<Media>,
}

impl Uploads<'_> {
    /// The source of a pending media field: its URL, or its bytes stored and fsync'd.
    async fn source(&self, pending: PendingMedia) -> Result<MediaSource, ZapiError> {
        let (path, kind, text, range) = match pending {
            PendingMedia::Url(url) => return Ok(MediaSource::Url { url }),
            PendingMedia::Base64 { path, kind, text, range } => (path, kind, text, range),
        };
        let result = self.media.put_base64(kind, text, range).await;
        result.map(MediaSource::Stored).map_err(|error| media_error(&path, kind, error))
    }

    async fn optional(&self, pending: Option<PendingMedia>) -> Result<Option<MediaSource>, ZapiError> {
        match pending {
            Some(p) => self.source(p).await.map(Some),
            None => Ok(None),
        }
    }
}

fn media_error(path: &str, kind: MediaKind, error: MediaError) -> ZapiError {
    match error {
        MediaError::Io(_) => ZapiError::Media { field: kind.as_str(), error },
        MediaError::BadBase64(_)
        | MediaError::Empty
        | MediaError::Sticker(_)
        | MediaError::Svg(_)
        | MediaError::Picture(_) => ZapiError::invalid("Invalid media", format!("{path} {error}")),
        MediaError::TooLarge { .. } | MediaError::WrongType(_) => {
            ZapiError::invalid("Invalid media", format!("{path}: {error}"))
        }
    }
}

#[cfg(test)]
mod tests;
