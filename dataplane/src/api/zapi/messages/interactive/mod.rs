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
pub fn route(rest: &[&str]) -> Option<(&'static str, &'static str, InteractiveRoute)> {
    use InteractiveRoute as R;
    let [name] = rest else { return None };
    let (label, route) = match *name {
        "send-button-actions" => ("zapi.send-button-actions", R::ButtonActions),
        "send-button-list" => ("zapi.send-button-list", R::ButtonList),
        "send-option-list" => ("zapi.send-option-list", R::OptionList),
        "send-button-otp" => ("zapi.send-button-otp", R::ButtonOtp),
        "send-button-pix" => ("zapi.send-button-pix", R::ButtonPix),
        "send-carousel" => ("zapi.send-carousel", R::Carousel),
        "send-poll" => ("zapi.send-poll", R::Poll),
        "send-poll-vote" => ("zapi.send-poll-vote", R::PollVote),
        "send-order" => ("zapi.send-order", R::Order),
        "order-status-update" => ("zapi.order-status-update", R::OrderStatusUpdate),
        "order-payment-update" => ("zapi.order-payment-update", R::OrderPaymentUpdate),
        "send-event" => ("zapi.send-event", R::Event),
        "send-edit-event" => ("zapi.send-edit-event", R::EditEvent),
        "send-event-response" => ("zapi.send-event-response", R::EventResponse),
        "send-product" => ("zapi.send-product", R::Product),
        "send-catalog" => ("zapi.send-catalog", R::Catalog),
        _ => return None,
    };
    Some((label, "POST", route))
}

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
        MediaError::BadBase64(_) | MediaError::Empty => ZapiError::invalid("Invalid media", format!("{path} {error}")),
        MediaError::TooLarge { .. } | MediaError::WrongType(_) => {
            ZapiError::invalid("Invalid media", format!("{path}: {error}"))
        }
    }
}

#[cfg(test)]
mod tests;
