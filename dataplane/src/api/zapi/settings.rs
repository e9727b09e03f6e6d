//! Settings routes: webhook URLs (seed 001, lines 11152–13470), notify-sent-by-me, name,
//! auto-read and call rejection. A change is validated here, forwarded to the control plane
//! (which owns instance settings), and answered once the new config version serves on this
//! node — so a client that reads `me` right after sees its change.

use chatedge_config::settings::{SettingChange, SettingsPatch};
use chatedge_config::snapshot::{WebhookKind, MAX_CALL_REJECT_MESSAGE_LEN, MAX_NAME_LEN};
use chatedge_config::WebhookUrl;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::fields::{self, Object};
use super::{Call, ZapiError};

/// Which setting a route changes.
#[derive(Debug, Clone, Copy)]
pub enum Setting {
    Webhook(WebhookKind),
    /// `update-webhook-received-delivery`: the received URL, with sent-by-me turned on.
    ReceivedAndDelivery,
    EveryWebhook,
    NotifySentByMe,
    Name,
    AutoReadMessage,
    CallRejectAuto,
    CallRejectMessage,
}

impl Setting {
    pub fn from_route(route: &str) -> Option<(&'static str, Setting)> {
        use WebhookKind::*;
        Some(match route {
            "update-webhook-delivery" => ("zapi.update-webhook-delivery", Setting::Webhook(Delivery)),
            "update-webhook-received" => ("zapi.update-webhook-received", Setting::Webhook(Received)),
            "update-webhook-received-delivery" => {
                ("zapi.update-webhook-received-delivery", Setting::ReceivedAndDelivery)
            }
            "update-webhook-message-status" => ("zapi.update-webhook-message-status", Setting::Webhook(MessageStatus)),
            "update-webhook-disconnected" => ("zapi.update-webhook-disconnected", Setting::Webhook(Disconnected)),
            "update-webhook-connected" => ("zapi.update-webhook-connected", Setting::Webhook(Connected)),
            "update-webhook-chat-presence" => ("zapi.update-webhook-chat-presence", Setting::Webhook(ChatPresence)),
            "update-every-webhooks" => ("zapi.update-every-webhooks", Setting::EveryWebhook),
            "update-notify-sent-by-me" => ("zapi.update-notify-sent-by-me", Setting::NotifySentByMe),
            "update-name" => ("zapi.update-name", Setting::Name),
            "update-auto-read-message" => ("zapi.update-auto-read-message", Setting::AutoReadMessage),
            "update-call-reject-auto" => ("zapi.update-call-reject-auto", Setting::CallRejectAuto),
            "update-call-reject-message" => ("zapi.update-call-reject-message", Setting::CallRejectMessage),
            _ => return None,
        })
    }
}

/// `value` as a webhook URL; an empty string clears the webhook.
fn webhook_url(call: &Call<'_>, o: &Object) -> Result<Option<WebhookUrl>, ZapiError> {
    let raw = fields::text(o, "value", 2048, false)?
        .ok_or_else(|| ZapiError::invalid("Invalid webhook url", "value is required (an empty string clears it)"))?;
    if raw.trim().is_empty() {
        return Ok(None);
    }
    WebhookUrl::parse(raw.trim(), call.app.url_policy)
        .map(Some)
        .map_err(|e| ZapiError::invalid("Invalid webhook url", e.to_string()))
}

fn patch_for(call: &Call<'_>, setting: Setting, o: &Object) -> Result<SettingsPatch, ZapiError> {
    let changes = match setting {
        Setting::Webhook(kind) => vec![SettingChange::Webhook { kind, url: webhook_url(call, o)? }],
        Setting::ReceivedAndDelivery => vec![
            SettingChange::Webhook { kind: WebhookKind::Received, url: webhook_url(call, o)? },
            SettingChange::NotifySentByMe(true),
        ],
        Setting::EveryWebhook => {
            let mut c = vec![SettingChange::EveryWebhook(webhook_url(call, o)?)];
            if o.get("notifySentByMe").is_some_and(|v| !v.is_null()) {
                c.push(SettingChange::NotifySentByMe(fields::boolean(o, "notifySentByMe")?));
            }
            c
        }
        Setting::NotifySentByMe => vec![SettingChange::NotifySentByMe(fields::boolean(o, "notifySentByMe")?)],
        Setting::Name => vec![SettingChange::Name(fields::text(o, "value", MAX_NAME_LEN, true)?.unwrap_or_default())],
        Setting::AutoReadMessage => vec![SettingChange::AutoReadMessage(fields::boolean(o, "value")?)],
        Setting::CallRejectAuto => vec![SettingChange::CallRejectAuto(fields::boolean(o, "value")?)],
        Setting::CallRejectMessage => {
            vec![SettingChange::CallRejectMessage(fields::text(o, "value", MAX_CALL_REJECT_MESSAGE_LEN, false)?)]
        }
    };
    Ok(SettingsPatch { changes })
}

pub async fn change(call: &Call<'_>, setting: Setting) -> Result<Resp, ZapiError> {
    let o = fields::object(&call.body)?;
    let patch = patch_for(call, setting, &o)?;
    let app = call.app;
    let applied = app.control.change_settings(&call.instance.id, &patch).await?;
    if !app.sync.wait_for(applied.version, app.limits.settings_timeout).await {
        return Err(ZapiError::NotAppliedYet);
    }
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": Value::Bool(true)})))
}
