//! The control plane's set-time SSRF check of webhook URLs (issue 9 §6), for every route that
//! accepts one (on-demand create, settings forwarded by a data plane): the host is resolved
//! once and the URL refused (400, naming the URL without its query string and the address
//! class) when any of its addresses is not one the `[webhooks]` address policy permits. Same
//! policy type as the data plane's (`chatedge_config::AddressPolicy`); the two planes share no
//! code beyond it. A host that does not resolve is accepted: the data plane checks the address
//! again before every connection. Runs on the control plane's runtime; the lookup on tokio's
//! blocking pool, bounded by [`LOOKUP_TIMEOUT`].

use std::net::IpAddr;
use std::time::Duration;

use chatedge_config::snapshot::{WebhookKind, Webhooks};
use chatedge_config::{AddressPolicy, WebhookUrl};

use crate::CpError;

/// Longest wait for the resolver; past it the URL is accepted (see the module doc).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// Refuses `url` when its host is at an address `policy` refuses.
pub async fn vet(policy: &AddressPolicy, url: &WebhookUrl) -> Result<(), CpError> {
    let host = url.host();
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => {
            match tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host((host.as_str(), url.port()))).await {
                Ok(Ok(found)) => found.map(|a| a.ip()).collect(),
                Ok(Err(e)) => {
                    tracing::info!(url = %url.redacted(), error = %e, "webhook host does not resolve yet; accepted");
                    return Ok(());
                }
                Err(_) => {
                    tracing::info!(url = %url.redacted(), "webhook host lookup timed out; accepted");
                    return Ok(());
                }
            }
        }
    };
    match policy.first_refused(addrs) {
        None => Ok(()),
        Some((addr, class)) => Err(CpError::refused(
            400,
            "Invalid webhook url",
            format!(
                "{}: {host} is at {addr}, a {class} address, which this server does not contact; webhooks go to \
                 public addresses only (an operator can allow private networks with [webhooks] allow_private)",
                url.redacted()
            ),
        )),
    }
}

/// [`vet`] for every URL of `webhooks`.
pub async fn vet_all(policy: &AddressPolicy, webhooks: &Webhooks) -> Result<(), CpError> {
    for kind in WebhookKind::ALL {
        if let Some(url) = webhooks.get(kind) {
            vet(policy, url).await?;
        }
    }
    Ok(())
}
