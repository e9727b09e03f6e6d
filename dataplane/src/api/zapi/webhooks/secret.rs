//! `POST …/webhook-secret/rotate` (issue 9 §5): a new `whsec_` secret for the instance. The
//! old one keeps signing for `[webhooks] rotation_overlap` (24 h by default), so a receiver
//! that verifies Standard Webhooks signatures accepts every event while it switches. The
//! data plane that takes the call generates the secret (to answer with it), the control
//! plane, which owns instance settings, applies it; the answer waits until this node serves
//! the new version, so the next event is signed with it.

use chatedge_config::settings::{SettingChange, SettingsPatch};
use chatedge_config::WebhookSecret;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::json;

use crate::api::zapi::{Call, ZapiError};

pub async fn rotate(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let app = call.app;
    let secret = WebhookSecret::generate();
    let until = chatedge_config::time::unix_ms().saturating_add(app.rotation_overlap.as_millis() as u64);
    let patch =
        SettingsPatch::one(SettingChange::RotateWebhookSecret { secret: secret.clone(), previous_until_ms: until });
    crate::api::settings::change(app, &call.instance.id, &patch).await?;
    let body = json!({"webhookSecret": secret.expose(), "previousValidUntil": until});
    Ok(chatedge_serve::json(StatusCode::OK, &body))
}
