//! Webhook delivery routes (issue 9; our extension — Z-API has none): the state of an
//! instance's endpoints and re-enabling a disabled one. Each asks the dispatcher, which owns
//! the delivery state, over its control channel; nothing here touches the store directly.

mod endpoints;

use chatedge_serve::Resp;
use hyper::Method;

use super::routes::{self, Route};
use super::{Call, ZapiError};

#[derive(Debug, Clone, Copy)]
pub enum WebhookRoute {
    ListEndpoints,
    EnableEndpoint,
}

pub static ROUTES: &[Route<WebhookRoute>] = &[
    Route {
        path: "webhook-endpoints",
        methods: "GET",
        label: "zapi.webhook-endpoints",
        op: WebhookRoute::ListEndpoints,
    },
    Route {
        path: "webhook-endpoints/enable",
        methods: "POST",
        label: "zapi.webhook-endpoints-enable",
        op: WebhookRoute::EnableEndpoint,
    },
];

pub fn route(rest: &[&str]) -> Option<(&'static str, &'static str, WebhookRoute)> {
    routes::find(ROUTES, rest).map(|(r, _)| (r.label, r.methods, r.op))
}

pub async fn handle(call: &Call<'_>, _method: &Method, route: WebhookRoute) -> Result<Resp, ZapiError> {
    match route {
        WebhookRoute::ListEndpoints => endpoints::list(call).await,
        WebhookRoute::EnableEndpoint => endpoints::enable(call).await,
    }
}
