//! webhooks: chatedge's own routes about webhook delivery (issue 9 §4; Z-API has none): the
//! dead letters listed and retried one by one ([`failures`]), and past events re-sent with
//! their original ids ([`replay`]). Handlers parse, run their store work on `spawn_blocking`
//! (RocksDB walks never run on an event loop), and answer in Z-API's shapes (camelCase fields,
//! `{"value": true}`, `{"error", "message"}`).

mod failures;
mod replay;

use chatedge_serve::Resp;

use super::routes::{Params, Route};
use super::{Call, ZapiError};
use crate::error::CoreError;
use crate::store::StoreError;

/// What a webhook route does.
#[derive(Debug, Clone, Copy)]
pub enum WebhookRoute {
    Failures,
    /// `webhook-failures/{eventId}/retry`.
    Retry,
    Replay,
}

pub static ROUTES: &[Route<WebhookRoute>] = &[
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

/// `scheme://host[:port]/path` of a webhook URL: no userinfo, query or fragment, where
/// integrators put credentials.
// seam: folded at merge into B's `WebhookUrl::redacted()`
fn redacted(url: &str) -> String {
    let (scheme, rest) = url.split_once("://").unwrap_or(("", url));
    let rest = rest.split(['?', '#']).next().unwrap_or("");
    let (authority, path) = rest.split_once('/').map(|(a, p)| (a, Some(p))).unwrap_or((rest, None));
    let host = authority.rsplit_once('@').map(|(_, h)| h).unwrap_or(authority);
    match path {
        Some(p) => format!("{scheme}://{host}/{p}"),
        None => format!("{scheme}://{host}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shown_url_keeps_no_credentials() {
        let cases = [
            ("https://hooks.example.com/in?token=s3cret", "https://hooks.example.com/in"),
            ("https://user:pw@hooks.example.com:8443/a/b#frag", "https://hooks.example.com:8443/a/b"),
            ("http://127.0.0.1:9000?k=v", "http://127.0.0.1:9000"),
            ("http://h.example/p@q/r", "http://h.example/p@q/r"),
        ];
        for (url, shown) in cases {
            assert_eq!(redacted(url), shown, "{url}");
        }
    }
}
