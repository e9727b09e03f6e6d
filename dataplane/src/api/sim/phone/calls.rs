//! calls: phone-side `/sim` actions of calls — `call` `{instanceId, phone, missed?}` is `phone`
//! calling the account (seed 001's CALL_VOICE notification, then CALL_MISSED_VOICE unless the
//! call is answered; with the instance's callRejectAuto on, the call is rejected at once and
//! callRejectMessage is sent to the caller as a text through the instance's own queue, so it
//! is durable, paced and reported by a DeliveryCallback like any send), and `calls` `{instanceId, phone}` answers what
//! `phone`'s side saw: every call between it and the account (placed by `send-call` or
//! received), oldest first.
//! Runs on the admin request's task.

use std::sync::Arc;

use chatedge_config::{InstanceId, Phone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::world::calls::{self, Incoming, Outcome};
use crate::network::sim::SimNetwork;
use crate::queue::content::Content;
use crate::queue::OutboundMessage;
use crate::shard::Command;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[("call", "sim.call"), ("calls", "sim.calls")];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct IncomingCall {
    instance_id: InstanceId,
    phone: Phone,
    /// Nobody answers (the default: the sim has no one to pick up).
    #[serde(default = "yes")]
    missed: bool,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Between {
    instance_id: InstanceId,
    phone: Phone,
}

pub async fn serve(app: &App, sim: &Arc<SimNetwork>, action: &str, body: &[u8]) -> Result<Value, SimApiError> {
    match action {
        "call" => {
            let b: IncomingCall = super::parse(body)?;
            let instance = app.config.load().instances.get(&b.instance_id).cloned();
            let how = match instance {
                Some(i) if i.call_reject_auto => Incoming::Rejected { message: i.call_reject_message.clone() },
                _ if b.missed => Incoming::Missed,
                _ => Incoming::Answered,
            };
            let (instance, caller) = (b.instance_id, b.phone);
            let record = sim.phone_change(instance, |world, cx| calls::receive(world, caller, how, cx)).await?;
            let mut answer = serde_json::to_value(&record).map_err(invalid)?;
            if let (Outcome::Rejected, Some(text)) = (record.outcome, record.reject_message) {
                let message = OutboundMessage::new(instance, record.phone, Content::text(text));
                let (zaap, id) = (message.zaap_id, message.message_id);
                let enqueue = |reply| Command::Enqueue { message, reply, idempotency: None };
                app.shards.call(&instance, enqueue).await.map_err(invalid)?;
                answer["rejectReply"] = json!({"zaapId": zaap.to_string(), "messageId": id.to_string()});
            }
            Ok(answer)
        }
        "calls" => {
            let b: Between = super::parse(body)?;
            let phone = b.phone;
            let log = sim.phone_change(b.instance_id, |world, _| Ok(world.calls.with(&phone))).await?;
            Ok(json!({"calls": log}))
        }
        _ => Err(invalid(format!("unknown sim action {action}"))),
    }
}
