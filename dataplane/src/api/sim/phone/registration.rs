//! registration: the phone's side of pairing by code and mobile registration.
//! `pair-code {instanceId, code, phone}`: the owner of `phone` types the code `phone-code`
//! showed in "Link with phone number" (the instance connects; a rotated or unknown code is
//! refused: 410 / 404). `registration-code {instanceId}`: what the sim "sent" — the
//! registration code (SMS, voice or pop-up), the captcha's answer, the e-mail verification
//! code and where the PIN reset link went. `ban-number {instanceId, phone}`: WhatsApp bans the
//! number (answers its `appealToken`); `review-unbanning {instanceId, phone}`: the review lifts
//! the ban; `require-captcha {instanceId, phone}`: the next code request for the number shows
//! a captcha.

use std::sync::Arc;

use chatedge_config::{InstanceId, Phone};
use serde::Deserialize;
use serde_json::{json, Value};

use super::super::{invalid, SimApiError};
use crate::api::App;
use crate::network::sim::world::registration as world;
use crate::network::sim::SimNetwork;

/// `/sim/<action>` → metrics label.
pub const ACTIONS: &[(&str, &str)] = &[
    ("pair-code", "sim.pair-code"),
    ("registration-code", "sim.registration-code"),
    ("ban-number", "sim.ban-number"),
    ("review-unbanning", "sim.review-unbanning"),
    ("require-captcha", "sim.require-captcha"),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PairCode {
    instance_id: String,
    code: String,
    phone: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Instance {
    instance_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Number {
    instance_id: String,
    phone: String,
}

fn instance(s: &str) -> Result<InstanceId, SimApiError> {
    InstanceId::parse(s).map_err(|e| invalid(format!("instanceId: {e}")))
}

fn phone(s: &str) -> Result<Phone, SimApiError> {
    Phone::normalize(s).map_err(|e| invalid(format!("phone: {e}")))
}

pub async fn serve(_app: &App, sim: &Arc<SimNetwork>, action: &str, body: &[u8]) -> Result<Value, SimApiError> {
    match action {
        "pair-code" => {
            let b: PairCode = super::parse(body)?;
            let (id, phone) = (instance(&b.instance_id)?, phone(&b.phone)?);
            sim.pair_code(id, &b.code, phone.clone()).await?;
            Ok(json!({"instanceId": id.to_string(), "phone": phone.as_str()}))
        }
        "registration-code" => {
            let b: Instance = super::parse(body)?;
            let sent = sim.phone_change(instance(&b.instance_id)?, |w, _| Ok(world::sent(w).clone())).await?;
            Ok(json!({
                "phone": sent.phone.as_ref().map(Phone::as_str),
                "method": sent.method.map(|m| m.as_str()),
                "code": sent.code,
                "captcha": sent.captcha,
                "awaitingPin": sent.awaiting_pin,
                "email": sent.email,
                "emailCode": sent.email_code,
                "pinRecoverySentTo": sent.pin_recovery_sent_to,
            }))
        }
        _ => {
            let b: Number = super::parse(body)?;
            let (id, phone) = (instance(&b.instance_id)?, phone(&b.phone)?);
            match action {
                "ban-number" => {
                    let token = sim.phone_change(id, |w, cx| world::ban(w, &phone, cx)).await?;
                    Ok(json!({"appealToken": token}))
                }
                "review-unbanning" => {
                    sim.phone_change(id, |w, cx| world::lift_ban(w, &phone, cx)).await?;
                    Ok(json!({"value": true}))
                }
                "require-captcha" => {
                    sim.phone_change(id, |w, cx| world::require_captcha(w, &phone, cx)).await?;
                    Ok(json!({"value": true}))
                }
                _ => Err(invalid(format!("unknown sim action {action}"))),
            }
        }
    }
}
