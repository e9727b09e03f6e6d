//! `SettingsPatch`: an instance setting changed through the instance API (webhook URLs, name,
//! auto-read…). The data plane validates it, forwards it to the control plane, which applies it
//! with [`SettingsPatch::apply`], publishes a new version, and answers with that version.

use serde::{Deserialize, Serialize};

use crate::snapshot::{InstanceConfig, WebhookKind};
use crate::webhook_url::WebhookUrl;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "setting", content = "value")]
pub enum SettingChange {
    /// One webhook URL; `None` clears it.
    Webhook {
        kind: WebhookKind,
        url: Option<WebhookUrl>,
    },
    /// Every webhook URL at once (Z-API `update-every-webhooks`).
    EveryWebhook(Option<WebhookUrl>),
    NotifySentByMe(bool),
    Name(String),
    AutoReadMessage(bool),
    AutoReadStatus(bool),
    CallRejectAuto(bool),
    CallRejectMessage(Option<String>),
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SettingsPatch {
    pub changes: Vec<SettingChange>,
}

impl SettingsPatch {
    pub fn one(change: SettingChange) -> Self {
        SettingsPatch { changes: vec![change] }
    }

    pub fn apply(&self, instance: &mut InstanceConfig) {
        for change in &self.changes {
            match change {
                SettingChange::Webhook { kind, url } => instance.webhooks.set(*kind, url.clone()),
                SettingChange::EveryWebhook(url) => {
                    for kind in WebhookKind::ALL {
                        instance.webhooks.set(kind, url.clone());
                    }
                }
                SettingChange::NotifySentByMe(v) => instance.notify_sent_by_me = *v,
                SettingChange::Name(v) => instance.name = v.clone(),
                SettingChange::AutoReadMessage(v) => instance.auto_read_message = *v,
                SettingChange::AutoReadStatus(v) => instance.auto_read_status = *v,
                SettingChange::CallRejectAuto(v) => instance.call_reject_auto = *v,
                SettingChange::CallRejectMessage(v) => instance.call_reject_message = v.clone(),
            }
        }
    }
}

/// The control plane's answer: the config version that carries the change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SettingsApplied {
    pub version: u64,
}
