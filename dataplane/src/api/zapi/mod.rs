//! zapi: the Z-API dialect (seed 001), chatedge's primary public contract. Paths, field names,
//! casing and response shapes are Z-API's, so an existing client works by changing only its
//! base URL. Routes live under `/instances/{id}/token/{token}/`; both PUT and POST are accepted
//! where Z-API's own examples disagree with its documentation (shared/zapi-har). Every route
//! is a row of a [`routes`] table (core here, messages, settings, the account families), so
//! the router and the OpenAPI document can be checked against each other (`contract`).

mod account;
#[cfg(test)]
mod contract;
mod error;
mod fields;
pub(crate) mod instance;
pub mod integrator;
mod messages;
pub(crate) mod qr_image;
mod queue;
pub mod routes;
mod settings;
mod stats;
mod webhooks;

pub use messages::parse_send_text;

use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::InstanceConfig;
use chatedge_serve::Body;
use chatedge_serve::Resp;
use hyper::{Method, Request};

use super::App;
use crate::auth;
use routes::{Params, Route};

pub use error::ZapiError;

/// One authenticated Z-API call.
pub struct Call<'a> {
    pub app: &'a App,
    pub instance: Arc<InstanceConfig>,
    /// The token as presented (Z-API's `me` echoes it; it is never stored or logged).
    pub token: &'a str,
    pub query: Option<String>,
    pub body: Bytes,
    /// The request's `Idempotency-Key`, bound to this instance, route and body (read by the
    /// send routes only: `messages::accept`).
    pub idempotency: Option<crate::idempotency::Claim>,
}

/// The instance, queue and integrator routes (seed 001, lines 744–1000, 9354–9545 and
/// 13607–13700): what each does once the path is understood.
#[derive(Debug, Clone, Copy)]
enum Core {
    Status,
    QrCode,
    QrImage,
    Restart,
    Disconnect,
    Me,
    Device,
    /// GET lists by page number, POST by cursor, DELETE clears.
    Queue,
    QueueCount,
    /// `queue/{zaapId}`.
    QueueRemove,
    Integrator,
    /// The instance's message counts and daily limit, kept by the control plane.
    Stats,
}

const GET: &str = "GET";
const POST: &str = "POST";
const DELETE: &str = "DELETE";

static CORE: &[Route<Core>] = &[
    Route { path: "status", methods: GET, label: "zapi.status", op: Core::Status },
    Route { path: "qr-code", methods: GET, label: "zapi.qr-code", op: Core::QrCode },
    Route { path: "qr-code/image", methods: GET, label: "zapi.qr-code-image", op: Core::QrImage },
    Route { path: "restart", methods: GET, label: "zapi.restart", op: Core::Restart },
    Route { path: "disconnect", methods: GET, label: "zapi.disconnect", op: Core::Disconnect },
    Route { path: "me", methods: GET, label: "zapi.me", op: Core::Me },
    Route { path: "device", methods: GET, label: "zapi.device", op: Core::Device },
    Route { path: "queue", methods: "GET, POST, DELETE", label: "zapi.queue", op: Core::Queue },
    Route { path: "queue/count", methods: GET, label: "zapi.queue-count", op: Core::QueueCount },
    Route { path: "queue/{zaapId}", methods: DELETE, label: "zapi.queue-delete", op: Core::QueueRemove },
    Route { path: "integrator/on-demand/subscription", methods: POST, label: "zapi.integrator", op: Core::Integrator },
    Route { path: "integrator/on-demand/cancel", methods: POST, label: "zapi.integrator", op: Core::Integrator },
    Route { path: "stats", methods: GET, label: "zapi.stats", op: Core::Stats },
];

/// What a route does, once the path is understood.
enum Action {
    Core(Core, Params),
    Message(messages::MessageRoute, Params),
    Setting(settings::Setting),
    Account(account::AccountRoute),
    Webhook(webhooks::WebhookRoute, Params),
}

/// The route label of the path after the token, if it is a Z-API route (for benches and logs).
pub fn route_label(rest: &[&str]) -> Option<&'static str> {
    parse(rest).map(|(label, _, _)| label)
}

/// Maps the path after the token to (label, allowed methods, action): the first table whose
/// pattern matches, in a fixed order (core, messages, account families, settings).
fn parse(rest: &[&str]) -> Option<(&'static str, &'static str, Action)> {
    if let Some((r, params)) = routes::find(CORE, rest) {
        return Some((r.label, r.methods, Action::Core(r.op, params)));
    }
    if let Some((label, methods, route, params)) = messages::route(rest) {
        return Some((label, methods, Action::Message(route, params)));
    }
    if let Some((label, methods, route)) = account::route(rest) {
        return Some((label, methods, Action::Account(route)));
    }
    if let Some((r, params)) = routes::find(webhooks::ROUTES, rest) {
        return Some((r.label, r.methods, Action::Webhook(r.op, params)));
    }
    let (r, _) = routes::find(settings::ROUTES, rest)?;
    Some((r.label, r.methods, Action::Setting(r.op)))
}

/// The largest body the route under the token accepts (a node forwarding the request to the
/// instance's owner holds the body to the same limit).
pub fn body_limit(app: &App, rest: &[&str]) -> usize {
    parse(rest).map_or(app.limits.max_body_bytes, |(_, _, action)| action_body_limit(app, &action))
}

fn action_body_limit(app: &App, action: &Action) -> usize {
    match action {
        Action::Message(route, _) => route.max_body_bytes(&app.media.config, app.limits.max_body_bytes),
        _ => app.limits.max_body_bytes,
    }
}

/// Every route served under the token as (path pattern, methods), by table: what the OpenAPI
/// document is checked against.
#[cfg(test)]
pub fn documented() -> Vec<(&'static str, &'static str)> {
    let mut all: Vec<_> = CORE.iter().map(|r| (r.path, r.methods)).collect();
    all.extend(messages::documented());
    all.extend(settings::ROUTES.iter().map(|r| (r.path, r.methods)));
    all.extend(account::documented());
    all.extend(webhooks::ROUTES.iter().map(|r| (r.path, r.methods)));
    all
}

fn method_allowed(method: &Method, allowed: &str) -> bool {
    allowed.split(", ").any(|m| m == method.as_str())
}

/// Serves one request under `/instances/{id}/token/{token}/`.
pub async fn handle(app: &App, req: Request<Body>, id: &str, token: &str, rest: &[&str]) -> (&'static str, Resp) {
    let (label, result) = match parse(rest) {
        None => ("zapi.unknown", Err(ZapiError::RouteNotFound)),
        Some((label, allowed, action)) => (label, dispatch(app, req, id, token, label, allowed, action).await),
    };
    match result {
        Ok(res) => (label, res),
        Err(e) => {
            app.metrics.refusals.with_label_values(&[e.reason()]).inc();
            (label, e.into_response())
        }
    }
}

async fn dispatch(
    app: &App,
    req: Request<Body>,
    id: &str,
    token: &str,
    label: &'static str,
    allowed: &'static str,
    action: Action,
) -> Result<Resp, ZapiError> {
    let method = req.method().clone();
    if !method_allowed(&method, allowed) {
        return Err(ZapiError::MethodNotAllowed { allowed });
    }
    let snapshot = app.config.load();
    let Some(instance) = auth::instance_of(&snapshot, &req, id, token) else {
        return Err(ZapiError::Unauthorized);
    };
    auth::account(&snapshot, &instance, req.headers(), req.extensions().get::<auth::Origin>())
        .map_err(ZapiError::Refused)?;
    if matches!(action, Action::Message(..)) {
        auth::may_send(snapshot.tenants.get(&instance.tenant).map(|t| &**t)).map_err(ZapiError::Refused)?;
    }
    drop(snapshot);
    if matches!(action, Action::Core(Core::Integrator, _)) {
        return Ok(integrator::forward(app, req).await.1);
    }
    if !instance.active {
        return Err(ZapiError::Inactive);
    }
    let query = req.uri().query().map(str::to_owned);
    let (parts, body) = req.into_parts();
    let limit = action_body_limit(app, &action);
    // Bodies larger than the usual limit (base64 media) take room in the upload budget first,
    // so many large uploads at once cannot exhaust memory. A body declared larger than the
    // limit takes only the limit's room: `read_body` then refuses it with 413 (a 503 would ask
    // for retries that can never succeed when it is larger than the whole budget).
    let _room = match limit > app.limits.max_body_bytes {
        true => {
            let copies = match &action {
                Action::Message(route, _) => route.copies_in_memory(),
                _ => 1,
            };
            Some(app.media.body_room(&parts.headers, limit, copies).ok_or(ZapiError::UploadsBusy)?)
        }
        false => None,
    };
    let body = chatedge_serve::read_body(&parts.headers, body, limit).await.map_err(ZapiError::Body)?;
    let idempotency = crate::idempotency::Claim::read(&parts.headers, &instance.id, label, query.as_deref(), &body)
        .map_err(|e| ZapiError::invalid("Invalid Idempotency-Key", e.to_string()))?;
    let call = Call { app, instance, token, query, body, idempotency };
    match action {
        Action::Core(core, params) => match core {
            Core::Status => instance::status(&call).await,
            Core::QrCode => instance::qr_code(&call, false).await,
            Core::QrImage => instance::qr_code(&call, true).await,
            Core::Restart => instance::restart(&call).await,
            Core::Disconnect => instance::disconnect(&call).await,
            Core::Me => instance::me(&call).await,
            Core::Device => instance::device(&call).await,
            Core::Queue if method == Method::DELETE => queue::clear(&call).await,
            Core::Queue if method == Method::POST => queue::list_from_cursor(&call).await,
            Core::Queue => queue::list(&call).await,
            Core::QueueCount => queue::count(&call).await,
            Core::QueueRemove => queue::remove(&call, params.get(0)).await,
            Core::Integrator => Err(ZapiError::RouteNotFound),
            Core::Stats => stats::stats(&call).await,
        },
        Action::Message(route, params) => messages::handle(&call, route, &params).await,
        Action::Setting(s) => settings::change(&call, s).await,
        Action::Account(route) => account::handle(&call, &method, route).await,
        Action::Webhook(route, params) => webhooks::handle(&call, route, &params).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_keep_the_labels_and_methods_they_had_as_match_code() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            ("status", Some(("zapi.status", GET))),
            ("qr-code", Some(("zapi.qr-code", GET))),
            ("qr-code/image", Some(("zapi.qr-code-image", GET))),
            ("restart", Some(("zapi.restart", GET))),
            ("disconnect", Some(("zapi.disconnect", GET))),
            ("me", Some(("zapi.me", GET))),
            ("device", Some(("zapi.device", GET))),
            ("queue", Some(("zapi.queue", "GET, POST, DELETE"))),
            ("queue/count", Some(("zapi.queue-count", GET))),
            ("queue/5511999999999", Some(("zapi.queue-delete", DELETE))),
            ("integrator/on-demand/subscription", Some(("zapi.integrator", POST))),
            ("integrator/on-demand/cancel", Some(("zapi.integrator", POST))),
            ("integrator/on-demand/other", None),
            ("stats", Some(("zapi.stats", GET))),
            ("send-text", Some(("zapi.send-text", POST))),
            ("send-ptv", Some(("zapi.send-ptv", POST))),
            ("send-document/pdf", Some(("zapi.send-document", POST))),
            ("send-document", None),
            ("send-link", Some(("zapi.send-link", POST))),
            ("messages", Some(("zapi.delete-message", DELETE))),
            ("send-carousel", Some(("zapi.send-carousel", POST))),
            ("privacy/online", Some(("zapi.privacy-online", POST))),
            ("update-webhook-received-delivery", Some(("zapi.update-webhook-received-delivery", "PUT, POST"))),
            ("update-auto-read-status", Some(("zapi.update-auto-read-status", "PUT, POST"))),
            ("update-name/x", None),
            ("webhook-failures", Some(("zapi.webhook-failures", GET))),
            ("webhook-failures/0123/retry", Some(("zapi.webhook-failures-retry", POST))),
            ("webhook-replay", Some(("zapi.webhook-replay", POST))),
            ("nothing", None),
        ];
        for (path, want) in cases {
            let rest: Vec<&str> = path.split('/').collect();
            let got = parse(&rest).map(|(label, methods, _)| (label, methods));
            assert_eq!(got, *want, "{path}");
        }
    }

    #[test]
    fn path_parameters_reach_the_handlers() {
        match parse(&["queue", "39BB1684570F00E91090F6BBC7EE7646"]) {
            Some((_, _, Action::Core(Core::QueueRemove, params))) => {
                assert_eq!(params.get(0), "39BB1684570F00E91090F6BBC7EE7646")
            }
            _ => panic!("queue/{{zaapId}} is not QueueRemove"),
        }
        match parse(&["send-document", "pdf"]) {
            Some((_, _, Action::Message(messages::MessageRoute::Document, params))) => assert_eq!(params.get(0), "pdf"),
            _ => panic!("send-document/{{extension}} is not Document"),
        }
    }
}
