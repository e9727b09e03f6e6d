//! webhooks: chatedge's own routes about webhook delivery under the instance token (issue 9;
//! Z-API has none): the state of the instance's endpoints and re-enabling a disabled one
//! ([`endpoints`], answered by the dispatcher that owns delivery state), secret rotation
//! ([`secret`]), the dead letters listed and retried one by one ([`failures`]), and past events
//! re-sent with their original ids ([`replay`]); the check every route that sets a webhook URL
//! runs on its host is `api::settings::vet`. Each route group is a table, like the Z-API families, so
//! the OpenAPI contract covers it. Store walks run on `spawn_blocking`, never on the event loop;
//! answers use Z-API's shapes (camelCase fields, `{"value": true}`, `{"error", "message"}`).

mod endpoints;
mod failures;
mod replay;
mod secret;

use chatedge_serve::Resp;

use super::routes::{Params, Route};
use super::{Call, ZapiError};
use crate::error::CoreError;
use crate::store::StoreError;

/// What a webhook route does.
#[derive(Debug, Clone, Copy)]
pub enum WebhookRoute {
    ListEndpoints,
    EnableEndpoint,
    RotateSecret,
    Failures,
    /// `webhook-failures/{eventId}/retry`.
    Retry,
    Replay,
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
    Route {
        path: "webhook-secret/rotate",
        methods: "POST",
        label: "zapi.webhook-secret-rotate",
        op: WebhookRoute::RotateSecret,
    },
    Route { path: "webhook-failures", methods: "GET", label: "zapi.webhook-failures", op: WebhookRoute::Failures },
    Route {
        path: "webhook-failures/{eventId}/retry",
        methods: "POST",
        label: "zapi.webhook-failures-retry",
        op: WebhookRoute::Retry,
    },
    Route { path: "webhook-replay", methods: "POST", label: "zapi.webhook-replay", op: WebhookRoute::Replay },
];

pub async fn handle(call: &Call<'_>, route: WebhookRoute, params: &Params) -> Result<Resp, ZapiError> {
    match route {
        WebhookRoute::ListEndpoints => endpoints::list(call).await,
        WebhookRoute::EnableEndpoint => endpoints::enable(call).await,
        WebhookRoute::RotateSecret => secret::rotate(call).await,
        WebhookRoute::Failures => failures::list(call).await,
        WebhookRoute::Retry => failures::retry(call, params.get(0)).await,
        WebhookRoute::Replay => replay::replay(call).await,
    }
}

/// Runs store work off the event loop; a store failure is the usual 503.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, ZapiError> {
    match tokio::task::spawn_blocking(work).await {
        Ok(result) => result.map_err(store_error),
        Err(e) => Err(ZapiError::Core(CoreError::StoreFailing(format!("store task failed: {e}")))),
    }
}

fn store_error(e: StoreError) -> ZapiError {
    ZapiError::Core(CoreError::StoreFailing(e.to_string()))
}
