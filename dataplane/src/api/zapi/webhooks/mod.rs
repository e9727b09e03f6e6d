//! webhooks: chatedge's own webhook routes under the instance token (Z-API has none of
//! these): secret rotation ([`secret`]), and the check every route that sets a webhook URL
//! runs on its host ([`guard`]). Each route group is a table, like the Z-API families, so the
//! OpenAPI contract covers it. Runs on the edge runtime, like every route.

pub mod guard;
mod secret;

use super::routes::{Params, Route};
use super::{Call, ZapiError};
use chatedge_serve::Resp;

/// What a webhook route does.
#[derive(Debug, Clone, Copy)]
pub enum WebhookRoute {
    RotateSecret,
}

pub static ROUTES: &[Route<WebhookRoute>] = &[Route {
    path: "webhook-secret/rotate",
    methods: "POST",
    label: "webhooks.secret-rotate",
    op: WebhookRoute::RotateSecret,
}];

pub async fn handle(call: &Call<'_>, route: WebhookRoute, _params: &Params) -> Result<Resp, ZapiError> {
    match route {
        WebhookRoute::RotateSecret => secret::rotate(call).await,
    }
}
