//! Settings routes: webhook URLs (seed 001, lines 11152–13470), notify-sent-by-me, name,
//! auto-read (messages and status posts) and call rejection, as a route table. A change is
//! validated here, forwarded to the control plane (which owns instance settings), and
//! answered once the new config version serves on this node — so a client that reads `me`
//! right after sees its change.

use chatedge_config::settings::{SettingChange, SettingsPatch};
use chatedge_config::snapshot::WebhookKind::*;
use chatedge_config::snapshot::{WebhookDialect, WebhookKind, MAX_CALL_REJECT_MESSAGE_LEN, MAX_NAME_LEN};
use chatedge_config::WebhookUrl;
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::fields::{self, Object};
use super::routes::Route;
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
    /// `update-auto-read-status` (seed 001, line 542): status posts read as they arrive.
    AutoReadStatus,
    CallRejectAuto,
    CallRejectMessage,
}

/// Every settings route: Z-API documents PUT, its own examples send POST; both are accepted.
pub static ROUTES: &[Route<Setting>] = &[
    Route {
        path: "update-webhook-delivery",
        methods: PUT_OR_POST,
        label: "zapi.update-webhook-delivery",
        op: Setting::Webhook(Delivery),
    },
    Route {
        path: "update-webhook-received",
        methods: PUT_OR_POST,
        label: "zapi.update-webhook-received",
        op: Setting::Webhook(Received),
    },
    Route {
        path: "update-webhook-received-delivery",
        methods: PUT_OR_POST,
        label: "zapi.update-webhook-received-delivery",
        op: Setting::ReceivedAndDelivery,
    },
    Route {
        path: "update-webhook-message-status",
        methods: PUT_OR_POST,
        label: "zapi.update-webhook-message-status",
        op: Setting::Webhook(MessageStatus),
    },
    Route {
        path: "update-webhook-disconnected",
        methods: PUT_OR_POST,
        label: "zapi.update-webhook-disconnected",
        op: Setting::Webhook(Disconnected),
    },
    Route {
        path: "update-webhook-connected",
        methods: PUT_OR_POST,
        label: "zapi.update-webhook-connected",
        op: Setting::Webhook(Connected),
    },
    Route {
        path: "update-webhook-chat-presence",
        methods: PUT_OR_POST,
        label: "zapi.update-webhook-chat-presence",
        op: Setting::Webhook(ChatPresence),
    },
    Route {
        path: "update-every-webhooks",
        methods: PUT_OR_POST,
        label: "zapi.update-every-webhooks",
        op: Setting::EveryWebhook,
    },
    Route {
        path: "update-notify-sent-by-me",
        methods: PUT_OR_POST,
        label: "zapi.update-notify-sent-by-me",
        op: Setting::NotifySentByMe,
    },
    Route { path: "update-name", methods: PUT_OR_POST, label: "zapi.update-name", op: Setting::Name },
    Route {
        path: "update-auto-read-message",
        methods: PUT_OR_POST,
        label: "zapi.update-auto-read-message",
        op: Setting::AutoReadMessage,
    },
    Route {
        path: "update-auto-read-status",
        methods: PUT_OR_POST,
        label: "zapi.update-auto-read-status",
        op: Setting::AutoReadStatus,
    },
    Route {
        path: "update-call-reject-auto",
        methods: PUT_OR_POST,
        label: "zapi.update-call-reject-auto",
        op: Setting::CallRejectAuto,
    },
    Route {
        path: "update-call-reject-message",
        methods: PUT_OR_POST,
        label: "zapi.update-call-reject-message",
        op: Setting::CallRejectMessage,
    },
];

const PUT_OR_POST: &str = "PUT, POST";

/// `value` as a webhook URL; an empty string clears the webhook.
fn webhook_url(call: &Call<'_>, o: &Object) -> Result<Option<WebhookUrl>, ZapiError> {
    let raw = fields::text(o, "value", 2048, false)?
        .ok_or_else(|| ZapiError::invalid("Invalid webhook url", "value is required (an empty string clears it)"))?;
    if raw.trim().is_empty() {
        return Ok(None);
    }
    WebhookUrl::parse(raw.trim(), call.app.url_policy)
        .map(Some)
        .map_err(|e| ZapiError::invalid("Invalid webhook url", format!("{}: {e}", chatedge_config::redact(raw.trim()))))
}

fn patch_for(call: &Call<'_>, setting: Setting, o: &Object) -> Result<SettingsPatch, ZapiError> {
    let mut changes = match setting {
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
        Setting::AutoReadStatus => vec![SettingChange::AutoReadStatus(fields::boolean(o, "value")?)],
        Setting::CallRejectAuto => vec![SettingChange::CallRejectAuto(fields::boolean(o, "value")?)],
        Setting::CallRejectMessage => {
            vec![SettingChange::CallRejectMessage(fields::text(o, "value", MAX_CALL_REJECT_MESSAGE_LEN, false)?)]
        }
    };
    if matches!(setting, Setting::Webhook(_) | Setting::ReceivedAndDelivery | Setting::EveryWebhook) {
        // A Z-API webhook route puts the instance's webhooks back in Z-API's shape (another
        // dialect's webhook route may have changed it).
        changes.push(SettingChange::WebhookDialect(WebhookDialect::Zapi));
    }
    Ok(SettingsPatch { changes })
}

pub async fn change(call: &Call<'_>, setting: Setting) -> Result<Resp, ZapiError> {
    let o = fields::object(&call.body)?;
    let patch = patch_for(call, setting, &o)?;
    crate::api::settings::change(call.app, &call.instance.id, &patch).await?;
    Ok(chatedge_serve::json(StatusCode::OK, &json!({"value": Value::Bool(true)})))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_setting_accepts_put_and_post_and_is_labelled_after_its_path() {
        assert_eq!(ROUTES.len(), 14);
        for r in ROUTES {
            assert_eq!((r.methods, r.label.strip_prefix("zapi.")), ("PUT, POST", Some(r.path)));
        }
    }
}
