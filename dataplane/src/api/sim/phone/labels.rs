//! labels: the account's owner labelling chats on the phone (`/sim/label-chats`), which
//! produces seed 001's CHAT_LABEL_ASSOCIATION notification (line 12927); and two read-only
//! looks at the phone's screens: a chat's labels (`/sim/chat-labels`) and the business
//! profile (`/sim/business-profile`), which Z-API has no route to read back.

use std::sync::Arc;

use chatedge_config::{InstanceId, Phone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::world::labels::{label_chats, PhoneLabelChange};
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[
    ("label-chats", "sim.label-chats"),
    ("chat-labels", "sim.chat-labels"),
    ("business-profile", "sim.business-profile"),
];

/// Changes one `/sim/label-chats` may make (the notice lists them all).
const MAX_CHANGES: usize = 100;

/// `{"instanceId", "changes": [{"phone", "label", "assigned"}]}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct LabelChats {
    instance_id: InstanceId,
    changes: Vec<PhoneLabelChange>,
}

/// `{"instanceId", "phone"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Chat {
    instance_id: InstanceId,
    phone: Phone,
}

/// `{"instanceId"}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Instance {
    instance_id: InstanceId,
}

pub async fn serve(_app: &App, sim: &Arc<SimNetwork>, action: &str, body: &[u8]) -> Result<Value, SimApiError> {
    match action {
        "label-chats" => {
            let b: LabelChats = super::parse(body)?;
            if b.changes.is_empty() || b.changes.len() > MAX_CHANGES {
                return Err(invalid(format!("changes must have from 1 to {MAX_CHANGES} items")));
            }
            let n = b.changes.len();
            sim.phone_change(b.instance_id, |world, cx| label_chats(world, b.changes, cx)).await?;
            Ok(json!({"changed": n}))
        }
        "chat-labels" => {
            let b: Chat = super::parse(body)?;
            let labels =
                sim.phone_change(b.instance_id, |world, _| Ok(world.labels.labels_of(b.phone.as_str()))).await?;
            Ok(json!({"phone": b.phone, "labels": labels}))
        }
        "business-profile" => {
            let b: Instance = super::parse(body)?;
            Ok(sim.phone_change(b.instance_id, |world, _| Ok(world.business.profile_json())).await?)
        }
        _ => Err(invalid(format!("unknown sim action {action}"))),
    }
}
