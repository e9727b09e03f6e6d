//! zapi: the Z-API dialect (seed 001), chatedge's primary public contract. Paths, field names,
//! casing and response shapes are Z-API's, so an existing client works by changing only its
//! base URL. Routes live under `/instances/{id}/token/{token}/`; both PUT and POST are accepted
//! where Z-API's own examples disagree with its documentation (shared/zapi-har).

mod account;
mod error;
mod fields;
mod instance;
pub mod integrator;
mod messages;
mod qr_image;
mod queue;
pub mod routes;
mod settings;

pub use messages::parse_send_text;

use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::InstanceConfig;
use chatedge_serve::Resp;
use hyper::body::Incoming;
use hyper::{Method, Request};

use super::App;
use crate::auth;

pub use error::ZapiError;

/// One authenticated Z-API call.
pub struct Call<'a> {
    pub app: &'a App,
    pub instance: Arc<InstanceConfig>,
    /// The token as presented (Z-API's `me` echoes it; it is never stored or logged).
    pub token: &'a str,
    pub query: Option<String>,
    pub body: Bytes,
}

/// What a route does, once the path is understood.
enum Action {
    Status,
    QrCode,
    QrImage,
    Restart,
    Disconnect,
    Me,
    Device,
    Message(messages::MessageRoute),
    /// GET lists, DELETE clears.
    Queue,
    QueueCount,
    QueueRemove(String),
    Setting(settings::Setting),
    Integrator,
    Account(account::AccountRoute),
}

const GET: &str = "GET";
const POST: &str = "POST";
const PUT_OR_POST: &str = "PUT, POST";
const DELETE: &str = "DELETE";
const GET_OR_DELETE: &str = "GET, DELETE";

/// The route label of the path after the token, if it is a Z-API route (for benches and logs).
pub fn route_label(rest: &[&str]) -> Option<&'static str> {
    parse(rest).map(|(label, _, _)| label)
}

/// Maps the path after the token to (label, allowed methods, action).
fn parse(rest: &[&str]) -> Option<(&'static str, &'static str, Action)> {
    Some(match rest {
        ["status"] => ("zapi.status", GET, Action::Status),
        ["qr-code"] => ("zapi.qr-code", GET, Action::QrCode),
        ["qr-code", "image"] => ("zapi.qr-code-image", GET, Action::QrImage),
        ["restart"] => ("zapi.restart", GET, Action::Restart),
        ["disconnect"] => ("zapi.disconnect", GET, Action::Disconnect),
        ["me"] => ("zapi.me", GET, Action::Me),
        ["device"] => ("zapi.device", GET, Action::Device),
        ["queue"] => ("zapi.queue", GET_OR_DELETE, Action::Queue),
        ["queue", "count"] => ("zapi.queue-count", GET, Action::QueueCount),
        ["queue", zaap] => ("zapi.queue-delete", DELETE, Action::QueueRemove(zaap.to_string())),
        ["integrator", "on-demand", "subscription" | "cancel"] => ("zapi.integrator", POST, Action::Integrator),
        _ if messages::route(rest).is_some() => {
            let (label, methods, route) = messages::route(rest)?;
            (label, methods, Action::Message(route))
        }
        _ if account::route(rest).is_some() => {
            let (label, methods, route) = account::route(rest)?;
            (label, methods, Action::Account(route))
        }
        [one] => {
            let (label, setting) = settings::Setting::from_route(one)?;
            (label, PUT_OR_POST, Action::Setting(setting))
        }
        _ => return None,
    })
}

fn method_allowed(method: &Method, allowed: &str) -> bool {
    allowed.split(", ").any(|m| m == method.as_str())
}

/// Serves one request under `/instances/{id}/token/{token}/`.
pub async fn handle(app: &App, req: Request<Incoming>, id: &str, token: &str, rest: &[&str]) -> (&'static str, Resp) {
    let (label, result) = match parse(rest) {
        None => ("zapi.unknown", Err(ZapiError::RouteNotFound)),
        Some((label, allowed, action)) => (label, dispatch(app, req, id, token, allowed, action).await),
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
    req: Request<Incoming>,
    id: &str,
    token: &str,
    allowed: &'static str,
    action: Action,
) -> Result<Resp, ZapiError> {
    let method = req.method().clone();
    if !method_allowed(&method, allowed) {
        return Err(ZapiError::MethodNotAllowed { allowed });
    }
    let Some(instance) = auth::instance(&app.config.load(), id, token) else {
        return Err(ZapiError::Unauthorized);
    };
    if matches!(action, Action::Integrator) {
        return Ok(integrator::forward(app, req).await.1);
    }
    if !instance.active {
        return Err(ZapiError::Inactive);
    }
    let query = req.uri().query().map(str::to_owned);
    let (parts, body) = req.into_parts();
    let limit = match &action {
        Action::Message(route) => route.max_body_bytes(&app.media.config, app.limits.max_body_bytes),
        _ => app.limits.max_body_bytes,
    };
    // Bodies larger than the usual limit (base64 media) take room in the upload budget first,
    // so many large uploads at once cannot exhaust memory. A body declared larger than the
    // limit takes only the limit's room: `read_body` then refuses it with 413 (a 503 would ask
    // for retries that can never succeed when it is larger than the whole budget).
    let _room = match limit > app.limits.max_body_bytes {
        true => {
            let copies = match &action {
                Action::Message(route) => route.copies_in_memory(),
                _ => 1,
            };
            Some(app.media.body_room(&parts.headers, limit, copies).ok_or(ZapiError::UploadsBusy)?)
        }
        false => None,
    };
    let body = chatedge_serve::read_body(&parts.headers, body, limit).await.map_err(ZapiError::Body)?;
    let call = Call { app, instance, token, query, body };
    match action {
        Action::Status => instance::status(&call).await,
        Action::QrCode => instance::qr_code(&call, false).await,
        Action::QrImage => instance::qr_code(&call, true).await,
        Action::Restart => instance::restart(&call).await,
        Action::Disconnect => instance::disconnect(&call).await,
        Action::Me => instance::me(&call).await,
        Action::Device => instance::device(&call).await,
        Action::Message(route) => messages::handle(&call, route).await,
        Action::Queue if method == Method::DELETE => queue::clear(&call).await,
        Action::Queue => queue::list(&call).await,
        Action::QueueCount => queue::count(&call).await,
        Action::QueueRemove(zaap) => queue::remove(&call, &zaap).await,
        Action::Setting(s) => settings::change(&call, s).await,
        Action::Account(route) => account::handle(&call, &method, route).await,
        Action::Integrator => Err(ZapiError::RouteNotFound),
    }
}
