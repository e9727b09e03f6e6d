//! Changing an instance's settings, for every dialect: a webhook URL is vetted (its host must
//! not be at a refused address), the patch goes to the control plane (which owns settings),
//! the answer waits until the new config version serves on this node, and a webhook URL set
//! again is re-enabled if it had been disabled (issue 9). Each dialect renders the refusals
//! in its own shape; this module never builds an answer.

use chatedge_config::settings::{SettingChange, SettingsPatch};
use chatedge_config::{InstanceId, WebhookUrl};

use super::App;
use crate::egress;
use crate::sync::control::ControlError;

/// Why a settings change did not apply.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// A webhook URL whose host is at a refused address (the message names it).
    #[error("{0}")]
    RefusedUrl(String),
    #[error(transparent)]
    Control(#[from] ControlError),
    /// Saved by the control plane but not yet serving on this node.
    #[error("the change was saved by the control plane but has not reached this node yet; it applies shortly")]
    NotAppliedYet,
}

/// Applies `patch` to `instance`; returns once this node serves it.
pub async fn change(app: &App, instance: &InstanceId, patch: &SettingsPatch) -> Result<(), SettingsError> {
    for url in urls(patch) {
        vet(app, url).await?;
    }
    let applied = app.control.change_settings(instance, patch).await?;
    if !app.sync.wait_for(applied.version, app.limits.settings_timeout).await {
        return Err(SettingsError::NotAppliedYet);
    }
    for url in urls(patch) {
        let (reply, _answer) = tokio::sync::oneshot::channel();
        let request =
            crate::outbox::dispatcher::Control::Enable { instance: *instance, url: url.as_str().to_owned(), reply };
        app.webhooks.control(request).await;
    }
    Ok(())
}

/// The webhook URLs `patch` sets.
fn urls(patch: &SettingsPatch) -> impl Iterator<Item = &WebhookUrl> {
    patch.changes.iter().filter_map(|c| match c {
        SettingChange::Webhook { url: Some(u), .. } | SettingChange::EveryWebhook(Some(u)) => Some(u),
        _ => None,
    })
}

/// Longest wait for the resolver; past it the URL is accepted and the connect-time check
/// (which every delivery makes) stands.
const LOOKUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// Refuses `url` when its host is at a refused address. A host that does not resolve (yet)
/// or resolves slowly is accepted: each delivery checks the address it connects to anyway.
pub async fn vet(app: &App, url: &WebhookUrl) -> Result<(), SettingsError> {
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
    Err(SettingsError::RefusedUrl(format!(
        "{}: {err}; webhooks go to public addresses only (an operator can allow private networks with [webhooks] \
         allow_private)",
        url.redacted()
    )))
}
