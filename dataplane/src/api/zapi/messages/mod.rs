//! The message routes of the Z-API dialect (seed 001, lines 1740–5060; ENDPOINTS.md rows
//! 31–65). Every route that sends parses its body into an [`OutboundMessage`] and hands it to
//! [`accept`], the one way into the durable queue: the answer `{zaapId, messageId, id}` comes
//! only once the message (and any media it carries) is fsync'd. Each family of routes has its
//! own module with its own `route` (path → route) and `handle`: `text`, `media`, `cards`
//! (link, location, contacts), `actions` (reaction, delete, read, pin, forward), `interactive`
//! (buttons, lists, polls, events, orders), `template` (network templates, Cloud API only).
//! Options every send shares (delays, reply,
//! mentions) are read once, in [`envelope`].

mod actions;
mod cards;
pub(crate) mod envelope;
mod interactive;
pub(crate) mod media;
mod template;
mod text;

use std::time::Instant;

use chatedge_config::file::MediaConfig;
use chatedge_config::snapshot::Network;
use chatedge_config::{MessageId, ZaapId};
use chatedge_serve::Resp;

pub use text::parse_send_text;

use super::routes::{self, Params, Route};
use super::{Call, ZapiError};
use crate::idempotency::Claim;
use crate::media::MediaKind;
use crate::queue::OutboundMessage;
use crate::shard::Command;

/// A message route, once the path is understood.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageRoute {
    Text,
    Media(MediaKind),
    /// `send-document/{extension}`: the extension is the route's one path parameter.
    Document,
    Card(cards::CardRoute),
    Action(actions::ActionRoute),
    Interactive(interactive::InteractiveRoute),
    Template(template::TemplateRoute),
}

const POST: &str = "POST";

/// The text and media routes; cards, actions and interactive routes have their own tables.
static ROUTES: &[Route<MessageRoute>] = &[
    Route { path: "send-text", methods: POST, label: "zapi.send-text", op: MessageRoute::Text },
    Route { path: "send-image", methods: POST, label: "zapi.send-image", op: MessageRoute::Media(MediaKind::Image) },
    Route {
        path: "send-sticker",
        methods: POST,
        label: "zapi.send-sticker",
        op: MessageRoute::Media(MediaKind::Sticker),
    },
    Route { path: "send-gif", methods: POST, label: "zapi.send-gif", op: MessageRoute::Media(MediaKind::Gif) },
    Route { path: "send-audio", methods: POST, label: "zapi.send-audio", op: MessageRoute::Media(MediaKind::Audio) },
    Route { path: "send-video", methods: POST, label: "zapi.send-video", op: MessageRoute::Media(MediaKind::Video) },
    Route { path: "send-ptv", methods: POST, label: "zapi.send-ptv", op: MessageRoute::Media(MediaKind::Ptv) },
    Route { path: "send-document/{extension}", methods: POST, label: "zapi.send-document", op: MessageRoute::Document },
];

/// Maps the path after the token to (label, allowed methods, route, path parameters).
pub fn route(rest: &[&str]) -> Option<(&'static str, &'static str, MessageRoute, Params)> {
    fn wrap<Op: Copy>(
        found: Option<(&'static Route<Op>, Params)>,
        f: impl Fn(Op) -> MessageRoute,
    ) -> Option<(&'static str, &'static str, MessageRoute, Params)> {
        found.map(|(r, params)| (r.label, r.methods, f(r.op), params))
    }
    wrap(routes::find(ROUTES, rest), |op| op)
        .or_else(|| wrap(routes::find(cards::ROUTES, rest), MessageRoute::Card))
        .or_else(|| wrap(routes::find(actions::ROUTES, rest), MessageRoute::Action))
        .or_else(|| wrap(routes::find(interactive::ROUTES, rest), MessageRoute::Interactive))
        .or_else(|| wrap(routes::find(template::ROUTES, rest), MessageRoute::Template))
}

/// Every message route as (path pattern, methods), for the OpenAPI check.
#[cfg(test)]
pub fn documented() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = ROUTES.iter().map(|r| (r.path, r.methods)).collect();
    all.extend(cards::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(actions::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(interactive::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(template::ROUTES.iter().map(|r| (r.path, r.methods)));
    all
}

impl MessageRoute {
    /// The largest body this route reads: media routes take base64 files, interactive ones a
    /// base64 image, the others keep the node's `[dataplane] max_body_bytes`.
    pub fn max_body_bytes(&self, media: &MediaConfig, default: usize) -> usize {
        match self {
            MessageRoute::Media(_) | MessageRoute::Document => media.max_media_body_bytes() as usize,
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

pub async fn handle(call: &Call<'_>, route: MessageRoute, params: &Params) -> Result<Resp, ZapiError> {
    let message = match route {
        MessageRoute::Text => parse_send_text(&call.body, call.instance.id)?,
        MessageRoute::Media(kind) => media::parse(call, kind, None).await?,
        MessageRoute::Document => media::parse(call, MediaKind::Document, Some(params.get(0).to_owned())).await?,
        MessageRoute::Card(r) => return cards::handle(call, r).await,
        MessageRoute::Action(r) => return actions::handle(call, r).await,
        MessageRoute::Interactive(r) => return interactive::handle(call, r).await,
        MessageRoute::Template(r) => return template::handle(call, r).await,
    };
    accept(call, message).await
}

/// Refuses, before queueing, a message the instance's network cannot carry (issue 12: the
/// Cloud API has no groups, polls, pins, …), with an error naming the network and the feature.
fn expressible(call: &Call<'_>, message: &OutboundMessage) -> Result<(), ZapiError> {
    match &call.instance.network {
        Network::Sim => Ok(()),
        Network::CloudApi(_) => crate::network::cloud_api::body::expressible(message)
            .map_err(|e| ZapiError::invalid("Not supported on this network", e.to_string())),
        Network::WhatsappWeb => crate::network::whatsapp_web::carries(&message.content)
            .map_err(|reason| ZapiError::invalid("Not supported on this network", reason)),
    }
}

/// Z-API's answer to a send, in its documented order (seed 001: `zaapId`, `messageId`, `id`),
/// serialised straight from the ids (each writes its hex form) rather than through a
/// `serde_json::Value` map.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Accepted {
    zaap_id: ZaapId,
    message_id: MessageId,
    id: MessageId,
}

/// Queues `message` durably and answers Z-API's `{zaapId, messageId, id}`. With an
/// `Idempotency-Key` (issue 11 §4), the key's record goes in the message's batch, and a key
/// seen before answers its first answer again (marked `Idempotent-Replayed: true`) without
/// queueing anything, or 422 when it was used for another request.
pub async fn accept(call: &Call<'_>, message: OutboundMessage) -> Result<Resp, ZapiError> {
    expressible(call, &message)?;
    let started = Instant::now();
    let answer = Accepted { zaap_id: message.zaap_id, message_id: message.message_id, id: message.message_id };
    let answer = bytes::Bytes::from(serde_json::to_vec(&answer).unwrap_or_default());
    let idempotency = call.idempotency.clone().map(|c| Claim { answer: answer.clone(), ..c });
    let shards = &call.app.shards;
    let accepted = shards.call(&call.instance.id, |reply| Command::Enqueue { message, reply, idempotency }).await?;
    call.app.metrics.send_accept_seconds.observe(started.elapsed().as_secs_f64());
    accepted.answer(answer).ok_or(ZapiError::IdempotencyConflict)
}
