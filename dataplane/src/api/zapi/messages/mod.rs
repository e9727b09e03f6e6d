//! The message routes of the Z-API dialect (seed 001, lines 1740–5060; ENDPOINTS.md rows
//! 31–65). Every route that sends parses its body into an [`OutboundMessage`] and hands it to
//! [`accept`], the one way into the durable queue: the answer `{zaapId, messageId, id}` comes
//! only once the message (and any media it carries) is fsync'd. Each family of routes has its
//! own module: `text`, `media`, `cards` (link, location, contacts), `actions` (reaction,
//! delete, read, pin, forward), `interactive` (buttons, lists, polls, events, orders). Options
//! every send shares (delays, reply, mentions) are read once, in [`envelope`].

mod envelope;
mod media;
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
}

/// Maps the path after the token to a message route and its label.
pub fn route(rest: &[&str]) -> Option<(&'static str, MessageRoute)> {
    Some(match rest {
        ["send-text"] => ("zapi.send-text", MessageRoute::Text),
        ["send-image"] => ("zapi.send-image", MessageRoute::Media(MediaKind::Image)),
        ["send-sticker"] => ("zapi.send-sticker", MessageRoute::Media(MediaKind::Sticker)),
        ["send-gif"] => ("zapi.send-gif", MessageRoute::Media(MediaKind::Gif)),
        ["send-audio"] => ("zapi.send-audio", MessageRoute::Media(MediaKind::Audio)),
        ["send-video"] => ("zapi.send-video", MessageRoute::Media(MediaKind::Video)),
        ["send-ptv"] => ("zapi.send-ptv", MessageRoute::Media(MediaKind::Ptv)),
        ["send-document", ext] => ("zapi.send-document", MessageRoute::Document(ext.to_string())),
        _ => return None,
    })
}

impl MessageRoute {
    /// The largest body this route reads: media routes take base64 files, the others keep
    /// the node's `[dataplane] max_body_bytes`.
    pub fn max_body_bytes(&self, media: &MediaConfig, default: usize) -> usize {
        match self {
            MessageRoute::Media(_) | MessageRoute::Document(_) => media.max_media_body_bytes() as usize,
            _ => default,
        }
    }
}

pub async fn handle(call: &Call<'_>, route: MessageRoute) -> Result<Resp, ZapiError> {
    let message = match route {
        MessageRoute::Text => parse_send_text(&call.body, call.instance.id)?,
        MessageRoute::Media(kind) => media::parse(call, kind, None).await?,
        MessageRoute::Document(ext) => media::parse(call, MediaKind::Document, Some(ext)).await?,
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
