//! The message routes of the Z-API dialect (seed 001, lines 1740–5060; ENDPOINTS.md rows
//! 31–65). Every route that sends parses its body into an [`OutboundMessage`] and hands it to
//! [`accept`], the one way into the durable queue: the answer `{zaapId, messageId, id}` comes
//! only once the message (and any media it carries) is fsync'd. Each family of routes has its
//! own module with its own `route` (path → route) and `handle`: `text`, `media`, `cards`
//! (link, location, contacts), `actions` (reaction, delete, read, pin, forward), `interactive`
//! (buttons, lists, polls, events, orders). Options every send shares (delays, reply,
//! mentions) are read once, in [`envelope`].

mod actions;
mod cards;
pub(crate) mod envelope;
mod interactive;
pub(crate) mod media;
mod text;

use std::time::Instant;

use chatedge_config::file::MediaConfig;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::json;

pub use text::parse_send_text;

use super::{Call, ZapiError};
use crate::media::MediaKind;
use crate::queue::OutboundMessage;
use crate::shard::Command;

/// A message route, once the path is understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MessageRoute {
    Text,
    Media(MediaKind),
    /// `send-document/{extension}`.
    Document(String),
    Card(cards::CardRoute),
    Action(actions::ActionRoute),
    Interactive(interactive::InteractiveRoute),
}

/// Maps the path after the token to (label, allowed methods, route).
pub fn route(rest: &[&str]) -> Option<(&'static str, &'static str, MessageRoute)> {
    const POST: &str = "POST";
    let media = |label, kind| Some((label, POST, MessageRoute::Media(kind)));
    match rest {
        ["send-text"] => Some(("zapi.send-text", POST, MessageRoute::Text)),
        ["send-image"] => media("zapi.send-image", MediaKind::Image),
        ["send-sticker"] => media("zapi.send-sticker", MediaKind::Sticker),
        ["send-gif"] => media("zapi.send-gif", MediaKind::Gif),
        ["send-audio"] => media("zapi.send-audio", MediaKind::Audio),
        ["send-video"] => media("zapi.send-video", MediaKind::Video),
        ["send-ptv"] => media("zapi.send-ptv", MediaKind::Ptv),
        ["send-document", ext] => Some(("zapi.send-document", POST, MessageRoute::Document(ext.to_string()))),
        _ => None,
    }
    .or_else(|| cards::route(rest).map(|(l, m, r)| (l, m, MessageRoute::Card(r))))
    .or_else(|| actions::route(rest).map(|(l, m, r)| (l, m, MessageRoute::Action(r))))
    .or_else(|| interactive::route(rest).map(|(l, m, r)| (l, m, MessageRoute::Interactive(r))))
}

impl MessageRoute {
    /// The largest body this route reads: media routes take base64 files, interactive ones a
    /// base64 image, the others keep the node's `[dataplane] max_body_bytes`.
    pub fn max_body_bytes(&self, media: &MediaConfig, default: usize) -> usize {
        match self {
            MessageRoute::Media(_) | MessageRoute::Document(_) => media.max_media_body_bytes() as usize,
            // Button lists may carry a base64 picture or video, carousels pictures.
            MessageRoute::Interactive(_) => {
                default.max((media.max_image_bytes.max(media.max_video_bytes) / 3 * 4 + 64 * 1024) as usize)
            }
            _ => default,
        }
    }
}

impl MessageRoute {
    /// How many times a body of this route is held in memory at most while it is handled:
    /// media routes locate their base64 inside the body (once); interactive routes parse the
    /// body into JSON values and copy their base64 out of it (three times).
    pub fn copies_in_memory(&self) -> u64 {
        match self {
            MessageRoute::Interactive(_) => 3,
            _ => 1,
        }
    }
}

pub async fn handle(call: &Call<'_>, route: MessageRoute) -> Result<Resp, ZapiError> {
    let message = match route {
        MessageRoute::Text => parse_send_text(&call.body, call.instance.id)?,
        MessageRoute::Media(kind) => media::parse(call, kind, None).await?,
        MessageRoute::Document(ext) => media::parse(call, MediaKind::Document, Some(ext)).await?,
        MessageRoute::Card(r) => return cards::handle(call, r).await,
        MessageRoute::Action(r) => return actions::handle(call, r).await,
        MessageRoute::Interactive(r) => return interactive::handle(call, r).await,
    };
    accept(call, message).await
}

/// Queues `message` durably and answers Z-API's `{zaapId, messageId, id}`.
pub async fn accept(call: &Call<'_>, message: OutboundMessage) -> Result<Resp, ZapiError> {
    let started = Instant::now();
    let (zaap, message_id) = (message.zaap_id, message.message_id);
    let shards = &call.app.shards;
    shards.call(&call.instance.id, |reply| Command::Enqueue { message, reply }).await?;
    call.app.metrics.send_accept_seconds.observe(started.elapsed().as_secs_f64());
    let id = message_id.to_string();
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"zaapId": zaap.to_string(), "messageId": id, "id": id})))
}
