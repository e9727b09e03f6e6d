//! The set-time SSRF check of a webhook URL (issue 9 §6): its host is resolved once and the
//! URL refused — Z-API error shape, 400, naming the URL without its query string and the
//! address class — when any address is not one the `[webhooks]` address policy permits. A host
//! that does not resolve (yet) is accepted: the connect-time check of every attempt refuses it
//! if it later resolves somewhere it must not. Runs on the edge runtime; the lookup itself on
//! tokio's blocking pool, bounded by [`LOOKUP_TIMEOUT`].

use std::time::Duration;

use chatedge_config::WebhookUrl;

use crate::api::zapi::ZapiError;
use crate::api::App;
use crate::egress::{self, EgressError};

/// Longest wait for the resolver; past it the URL is accepted (see the module doc).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses `url` when its host is at a refused address.
pub async fn vet(app: &App, url: &WebhookUrl) -> Result<(), ZapiError> {
    let host = url.host();
    let checked = tokio::time::timeout(LOOKUP_TIMEOUT, egress::vet(&host, url.port(), &app.webhook_policy)).await;
    let err = match checked {
        Ok(Ok(())) => return Ok(()),
        Ok(Err(e)) => e,
        Err(_) => {
            tracing::info!(url = %url.redacted(), "webhook host lookup timed out; the connect-time check stands");
            return Ok(());
        }
    };
    let Some(class) = err.class() else {
        tracing::info!(url = %url.redacted(), error = %err, "webhook host does not resolve yet; the connect-time check stands");
        return Ok(());
    };
    app.metrics.webhook_refused.with_label_values(&[class, "set"]).inc();
    Err(ZapiError::invalid("Invalid webhook url", refusal_message(url, &err)))
}

fn refusal_message(url: &WebhookUrl, err: &EgressError) -> String {
    format!(
        "{}: {err}; webhooks go to public addresses only (an operator can allow private networks with [webhooks] \
         allow_private)",
        url.redacted()
    )
}
