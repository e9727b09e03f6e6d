//! zapini: the Zapini dialect's messaging edge (seed 002, lines 1–1520; issue 15) under
//! `/zapini/`. Its instance API (`/zapini/send-message`, `/zapini/status`, …) and its
//! universal routes (`/zapini/instances/…`) are served both there and under
//! `/zapini/api/v1/…`, since the seed shows both; the document is `/zapini/openapi.json`.
//!
//! **Credentials** ([`auth`]): `Authorization: Bearer sk_…`, an instance API key (issued by
//! the integrator through the control plane, pushed hashed with the instance), names one
//! instance, so `instance_id` may be left out; the account's integrator token is the
//! tenant-wide bearer and reaches every instance of the account, named by its id in chatedge's
//! form or as a UUID. Unknown, malformed and other accounts' instances are one answer (404);
//! the account's IP allowlist and send permission apply as on Z-API routes.
//!
//! A dialect is an adapter: a send is parsed here ([`fields`]) into the core's
//! `OutboundMessage` and queued with the same `Command::Enqueue` as a Z-API send (Idempotency-Key
//! included); status, QR code, disconnect and reconnect are the same shard commands the Z-API
//! routes use; groups and contacts are the account calls of Z-API's group and contacts routes
//! ([`groups`], [`contacts`]); stats come from the control plane like Z-API's `…/stats`; media
//! by id is kept in the media store's `uploads` ([`media`]); a message named by its id alone
//! (edit, delete, react, its received media) is found through the core's `message_index`
//! ([`by_id`]). The adapter holds no state of its own. Zapini's product layer (conversations,
//! automation, tags, the rest of the chat API, transcription,
//! voice, kanban, calendar, AI and external functions) and its login/users answer 501
//! [`ZapiniError::NotServed`] naming the feature ([`not_served`]); every error has the seed's
//! `{success: false, error: {code, message, details}}` shape ([`error`]).

mod auth;
mod by_id;
mod contacts;
mod error;
mod fields;
mod groups;
mod instances;
mod media;
mod messages;
mod not_served;
mod render;
mod webhook;

use bytes::Bytes;
use chatedge_serve::{Body, Resp};
use hyper::http::request::Parts;
use hyper::{Request, StatusCode};

use super::App;
use crate::network::account::{AccountError, FamilyCall};
use crate::shard::Command;
pub use auth::{account_of, Credential};
use chatedge_config::InstanceConfig;
pub use error::ZapiniError;
pub use instances::start_clock;
pub use render::{instance_status, message_status};

const OPENAPI: &str = include_str!("../../../openapi/zapini.json");

/// A route answered without a credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Public {
    Health,
    OpenApi,
}

/// A route that needs an `sk_…` key or the account's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Authed {
    SendMessage,
    SendMedia,
    SendReaction,
    Status,
    Qr,
    ListInstances,
    GetInstance,
    InstanceQr,
    InstanceStatus,
    InstanceStats,
    Disconnect,
    Reconnect,
    Group(groups::Op),
    Contacts(contacts::Op),
    MediaUpload,
    /// `GET` describes, `DELETE` forgets.
    Media,
    SendStoredMedia,
    Webhook,
    /// `PATCH` edits, `DELETE` deletes a message named by its id.
    ChatMessage,
    /// `POST` reacts to, `DELETE` takes back a reaction to a message named by its id.
    ChatReaction,
    ReceivedMedia,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Public(Public),
    Authed(Authed),
}

struct Route {
    /// Segments after `/zapini/` (or `/zapini/api/v1/`); `{id}` matches one segment.
    path: &'static str,
    methods: &'static str,
    label: &'static str,
    op: Op,
}

static ROUTES: &[Route] = &[
    Route { path: "send-message", methods: "POST", label: "zapini.send-message", op: Op::Authed(Authed::SendMessage) },
    Route { path: "send-media", methods: "POST", label: "zapini.send-media", op: Op::Authed(Authed::SendMedia) },
    Route {
        path: "send-reaction",
        methods: "POST",
        label: "zapini.send-reaction",
        op: Op::Authed(Authed::SendReaction),
    },
    Route { path: "status", methods: "GET", label: "zapini.status", op: Op::Authed(Authed::Status) },
    Route { path: "qr", methods: "GET", label: "zapini.qr", op: Op::Authed(Authed::Qr) },
    Route { path: "health", methods: "GET", label: "zapini.health", op: Op::Public(Public::Health) },
    Route { path: "openapi.json", methods: "GET", label: "zapini.openapi", op: Op::Public(Public::OpenApi) },
    Route { path: "instances", methods: "GET", label: "zapini.instances", op: Op::Authed(Authed::ListInstances) },
    Route { path: "instances/{id}", methods: "GET", label: "zapini.instance", op: Op::Authed(Authed::GetInstance) },
    Route {
        path: "instances/{id}/qr",
        methods: "GET",
        label: "zapini.instance-qr",
        op: Op::Authed(Authed::InstanceQr),
    },
    Route {
        path: "instances/{id}/status",
        methods: "GET",
        label: "zapini.instance-status",
        op: Op::Authed(Authed::InstanceStatus),
    },
    Route {
        path: "instances/{id}/stats",
        methods: "GET",
        label: "zapini.instance-stats",
        op: Op::Authed(Authed::InstanceStats),
    },
    Route {
        path: "instances/{id}/disconnect",
        methods: "POST",
        label: "zapini.disconnect",
        op: Op::Authed(Authed::Disconnect),
    },
    Route {
        path: "instances/{id}/reconnect",
        methods: "POST",
        label: "zapini.reconnect",
        op: Op::Authed(Authed::Reconnect),
    },
    group("instances/{id}/groups", "GET, POST", "zapini.groups", groups::Op::Groups),
    group("instances/{id}/groups/{jid}", "GET, PATCH", "zapini.group", groups::Op::Group),
    group(
        "instances/{id}/groups/{jid}/participants",
        "POST, DELETE",
        "zapini.group-participants",
        groups::Op::Participants,
    ),
    group("instances/{id}/groups/{jid}/admins", "POST, DELETE", "zapini.group-admins", groups::Op::Admins),
    group("instances/{id}/groups/{jid}/leave", "POST", "zapini.group-leave", groups::Op::Leave),
    group("instances/{id}/groups/{jid}/invite", "GET, DELETE", "zapini.group-invite", groups::Op::Invite),
    Route {
        path: "instances/{id}/webhook",
        methods: "GET, PUT",
        label: "zapini.instance-webhook",
        op: Op::Authed(Authed::Webhook),
    },
    Route { path: "media/upload", methods: "POST", label: "zapini.media-upload", op: Op::Authed(Authed::MediaUpload) },
    Route { path: "media/{id}", methods: "GET, DELETE", label: "zapini.media", op: Op::Authed(Authed::Media) },
    Route {
        path: "messages/send-media",
        methods: "POST",
        label: "zapini.messages-send-media",
        op: Op::Authed(Authed::SendStoredMedia),
    },
    Route {
        path: "messages/{id}/media",
        methods: "GET",
        label: "zapini.message-media",
        op: Op::Authed(Authed::ReceivedMedia),
    },
    Route {
        path: "chat/messages/{id}",
        methods: "PATCH, DELETE",
        label: "zapini.chat-message",
        op: Op::Authed(Authed::ChatMessage),
    },
    Route {
        path: "chat/messages/{id}/reaction",
        methods: "POST, DELETE",
        label: "zapini.chat-reaction",
        op: Op::Authed(Authed::ChatReaction),
    },
    contacts("contacts", "GET, POST", "zapini.contacts", contacts::Op::Contacts),
    contacts("contacts/import", "POST", "zapini.contacts-import", contacts::Op::Import),
    contacts("contacts/export", "GET", "zapini.contacts-export", contacts::Op::Export),
    contacts("contacts/{id}", "GET, PUT, DELETE", "zapini.contact", contacts::Op::Contact),
];

const fn contacts(path: &'static str, methods: &'static str, label: &'static str, op: contacts::Op) -> Route {
    Route { path, methods, label, op: Op::Authed(Authed::Contacts(op)) }
}

const fn group(path: &'static str, methods: &'static str, label: &'static str, op: groups::Op) -> Route {
    Route { path, methods, label, op: Op::Authed(Authed::Group(op)) }
}

/// The parameters of a route's path.
#[derive(Debug, Default, PartialEq, Eq)]
struct Params {
    id: Option<String>,
    jid: Option<String>,
}

/// One request, authenticated, with its body read.
pub(crate) struct Call<'a> {
    app: &'a App,
    parts: Parts,
    body: Bytes,
    /// The `{id}` of the path, if the route has one.
    id: Option<String>,
    /// The `{jid}` of the path (a group), if the route has one.
    jid: Option<String>,
    credential: Credential,
}

/// The route `rest` (the path after `/zapini/`, `api/v1/` taken off) names, and its `{id}`
/// and `{jid}`.
fn find(rest: &[&str]) -> Option<(&'static Route, Params)> {
    ROUTES.iter().find_map(|r| {
        let pattern: Vec<&str> = r.path.split('/').collect();
        if pattern.len() != rest.len() {
            return None;
        }
        let mut params = Params::default();
        for (p, s) in pattern.iter().zip(rest) {
            match *p {
                "{id}" if !s.is_empty() => params.id = Some((*s).to_owned()),
                "{jid}" if !s.is_empty() => params.jid = Some((*s).to_owned()),
                p if p == *s => {}
                _ => return None,
            }
        }
        Some((r, params))
    })
}

/// Serves one request under `/zapini/`; `rest` is the path after it.
pub async fn handle(app: &App, req: Request<Body>, rest: &[&str]) -> (&'static str, Resp) {
    let rest = match rest {
        ["api", "v1", rest @ ..] => rest,
        rest => rest,
    };
    let Some((route, params)) = find(rest) else {
        let e = match not_served::feature(rest) {
            Some(feature) => ZapiniError::NotServed { feature },
            None => ZapiniError::RouteNotFound { method: req.method().to_string(), path: req.uri().path().to_owned() },
        };
        app.metrics.refusals.with_label_values(&[e.reason()]).inc();
        return ("zapini.unknown", e.into_response());
    };
    match dispatch(app, req, route, params).await {
        Ok(res) => (route.label, res),
        Err(e) => {
            app.metrics.refusals.with_label_values(&[e.reason()]).inc();
            (route.label, e.into_response())
        }
    }
}

async fn dispatch(app: &App, req: Request<Body>, route: &'static Route, params: Params) -> Result<Resp, ZapiniError> {
    if !route.methods.split(", ").any(|m| m == req.method().as_str()) {
        return Err(ZapiniError::MethodNotAllowed { allowed: route.methods });
    }
    let op = match route.op {
        Op::Public(Public::OpenApi) => {
            return Ok(chatedge_serve::bytes(
                StatusCode::OK,
                "application/json",
                Bytes::from_static(OPENAPI.as_bytes()),
            ))
        }
        Op::Public(Public::Health) => return Ok(instances::health(app)),
        Op::Authed(op) => op,
    };
    let credential = auth::authenticate(app, &req)?;
    let (parts, body) = req.into_parts();
    if op == Authed::MediaUpload {
        // The file is read from the form as it streams, bounded by the media limits.
        return media::upload(app, &credential, parts, body).await;
    }
    let body =
        chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes).await.map_err(ZapiniError::Body)?;
    let call = Call { app, parts, body, id: params.id, jid: params.jid, credential };
    let answered = serve(&call, op).await;
    match answered {
        // The instance the body (or query) names is another data plane's: it answers.
        Err(ZapiniError::Elsewhere(node)) => {
            let request = Request::from_parts(call.parts, http_body_util::Full::new(call.body));
            Ok(crate::edge::proxy::forward(app, request, node, crate::edge::proxy::Shape::Zapini).await)
        }
        other => other,
    }
}

/// Answers an authenticated call with its body read.
async fn serve(call: &Call<'_>, op: Authed) -> Result<Resp, ZapiniError> {
    match op {
        Authed::SendMessage => messages::send_message(call).await,
        Authed::SendMedia => messages::send_media(call).await,
        Authed::SendReaction => messages::send_reaction(call).await,
        Authed::Status => instances::status(call).await,
        Authed::Qr => instances::qr(call).await,
        Authed::ListInstances => instances::list(call).await,
        Authed::GetInstance => instances::get(call).await,
        Authed::InstanceQr => instances::instance_qr(call).await,
        Authed::InstanceStatus => instances::instance_status(call).await,
        Authed::InstanceStats => instances::stats(call).await,
        Authed::Disconnect => instances::disconnect(call).await,
        Authed::Reconnect => instances::reconnect(call).await,
        Authed::Group(op) => groups::handle(call, op).await,
        Authed::Contacts(op) => contacts::handle(call, op).await,
        Authed::Media if call.parts.method == hyper::Method::DELETE => media::delete(call).await,
        Authed::Media => media::get(call).await,
        Authed::SendStoredMedia => media::send(call).await,
        Authed::Webhook if call.parts.method == hyper::Method::PUT => webhook::put(call).await,
        Authed::Webhook => webhook::get(call).await,
        Authed::ChatMessage => by_id::message(call).await,
        Authed::ChatReaction => by_id::reaction(call).await,
        Authed::ReceivedMedia => by_id::received_media(call).await,
        // Answered above, before the body was read.
        Authed::MediaUpload => Err(ZapiniError::MethodNotAllowed { allowed: "POST" }),
    }
}

/// Asks `instance`'s network an account call (groups, contacts) — the same shard command as
/// Z-API's routes — and takes its answer of `C`'s family.
async fn ask<C: FamilyCall>(call: &Call<'_>, instance: &InstanceConfig, c: C) -> Result<C::Reply, ZapiniError> {
    let id = instance.id;
    let c = c.into();
    let reply = call.app.shards.ask(&id, |reply| Command::Account { instance: id, call: c, reply }).await?;
    let reply = reply.map_err(ZapiniError::Account)?;
    C::reply(reply).ok_or_else(unexpected)
}

/// The connector answered an account call with another family's reply.
fn unexpected() -> ZapiniError {
    ZapiniError::Account(AccountError::Unavailable("the connector answered another family".into()))
}

/// Every route as (path under `/zapini/`, methods): what the OpenAPI document is checked
/// against.
#[cfg(test)]
pub fn documented() -> Vec<(&'static str, &'static str)> {
    ROUTES.iter().map(|r| (r.path, r.methods)).collect()
}

#[cfg(test)]
mod tests;
