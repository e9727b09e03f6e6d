//! Instance routes (seed 001, lines 744–1000): status, QR code (text and PNG), restart,
//! disconnect, device and `me`. On the Cloud API network (issue 12) there is no QR or phone
//! code ([`no_pairing`]); `status`, `me` and `device` add the number's display name and quality
//! rating as the Graph API last reported them. On WhatsApp Web (issue 13) `status` adds the
//! connector's line state and last error (e.g. "cannot reach WhatsApp: …").

use chatedge_config::snapshot::{InstanceConfig, Network, WebhookKind};
use chatedge_serve::Resp;
use hyper::StatusCode;
use serde_json::{json, Value};

use super::{qr_image, Call, ZapiError};
use crate::error::CoreError;
use crate::network::account::contacts;
use crate::shard::{Command, SessionStatus};

async fn session(call: &Call<'_>) -> Result<SessionStatus, ZapiError> {
    let instance = call.instance.id;
    Ok(call.app.shards.ask(&instance, |reply| Command::Status { instance, reply }).await?)
}

fn ok(v: Value) -> Result<Resp, ZapiError> {
    Ok(chatedge_serve::json(StatusCode::OK, &v))
}

/// Refuses the pairing routes (`qr-code`, `qr-code/image`, `phone-code/{phone}`) for an
/// instance on a network that has no pairing.
pub fn no_pairing(instance: &InstanceConfig) -> Result<(), ZapiError> {
    match instance.network {
        Network::Sim | Network::WhatsappWeb => Ok(()),
        Network::CloudApi(_) => Err(ZapiError::invalid(
            "No QR code on this network",
            "This instance is on the Cloud API network, which has no QR code: it connects with the credentials \
             given at creation",
        )),
    }
}

/// What `status`, `me` and `device` add for a Cloud API instance: the number as the Graph API
/// describes it (empty until its credentials were first verified).
fn cloud_fields(call: &Call<'_>) -> Option<Value> {
    let Network::CloudApi(account) = &call.instance.network else { return None };
    let number = call.app.cloud.as_ref().and_then(|c| c.number(&call.instance.id)).unwrap_or_default();
    Some(json!({
        "network": "cloud-api",
        "phoneNumberId": account.phone_number_id,
        "displayPhoneNumber": number.display_phone_number,
        "verifiedName": number.verified_name,
        "qualityRating": number.quality_rating,
    }))
}

/// What `status` adds for a WhatsApp Web instance (issue 13): the connector's line state and,
/// when the last attempt failed or the line is cooling down after a lock or ban, why and until
/// when.
fn whatsapp_web_fields(call: &Call<'_>) -> Option<Value> {
    if call.instance.network != Network::WhatsappWeb {
        return None;
    }
    let report = match &call.app.whatsapp_web {
        Some(reports) => reports(&call.instance.id),
        None => crate::network::whatsapp_web::LineReport {
            state: "unavailable",
            error: Some("this chatedge binary was built without the whatsapp-web feature".to_owned()),
            retry_at_ms: None,
        },
    };
    Some(json!({
        "network": "whatsapp-web",
        "lineState": report.state,
        "networkError": report.error,
        "retryAt": report.retry_at_ms,
    }))
}

/// Adds `extra`'s fields to the object `v`.
fn merged(mut v: Value, extra: Option<Value>) -> Value {
    if let (Some(o), Some(Value::Object(e))) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    v
}

pub async fn status(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let s = session(call).await?;
    // Seed 001, line 845: the three `error` texts. "Restore the session" is the saved session
    // reconnecting by itself after a lost connection; "not connected" needs a new scan.
    let error = match s.state {
        "connected" => "You are already connected.",
        "connecting" => "You need to restore the session.",
        _ => "You are not connected.",
    };
    let v = json!({"connected": s.connected, "error": error, "smartphoneConnected": s.connected});
    ok(merged(merged(v, cloud_fields(call)), whatsapp_web_fields(call)))
}

/// `qr-code` answers the current pairing code's text, `qr-code/image` a PNG of it as a data
/// URL. Codes rotate every 20 s; an instance that is already connected gets no code.
pub async fn qr_code(call: &Call<'_>, image: bool) -> Result<Resp, ZapiError> {
    no_pairing(&call.instance)?;
    let instance = call.instance.id;
    match call.app.shards.call(&instance, |reply| Command::QrCode { instance, reply }).await {
        Ok(code) if image => ok(json!({"value": qr_image::data_url(&code)?})),
        Ok(code) => ok(json!({"value": code})),
        Err(CoreError::AlreadyConnected) => {
            ok(json!({"connected": true, "value": null, "error": "You are already connected."}))
        }
        Err(e) => Err(e.into()),
    }
}

pub async fn restart(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let instance = call.instance.id;
    call.app.shards.call(&instance, |reply| Command::Restart { instance, reply }).await?;
    ok(json!({"value": true}))
}

pub async fn disconnect(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let instance = call.instance.id;
    call.app.shards.call(&instance, |reply| Command::Disconnect { instance, reply }).await?;
    ok(json!({"value": true}))
}

pub async fn device(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let s = session(call).await?;
    let i = &call.instance;
    if let Some(cloud) = cloud_fields(call) {
        let v = json!({
            "phone": s.phone.as_ref().map(|p| p.as_str()).unwrap_or(""),
            "imgUrl": "",
            "name": if cloud["verifiedName"] == "" { json!(i.name) } else { cloud["verifiedName"].clone() },
            "device": {"sessionName": i.session_name.as_deref().unwrap_or("chatedge"), "device_model": "Cloud API"},
            "originalDevice": "cloud-api",
            "sessionId": 0,
            "isBusiness": true,
        });
        return ok(merged(v, Some(cloud)));
    }
    let own = own_profile(call, &s).await;
    ok(json!({
        "phone": s.phone.as_ref().map(|p| p.as_str()).unwrap_or(""),
        "imgUrl": own.img_url.unwrap_or_default(),
        "about": own.about.unwrap_or_default(),
        "name": i.name,
        "device": {"sessionName": i.session_name.as_deref().unwrap_or("chatedge"), "device_model": "chatedge"},
        "originalDevice": if i.business_device { "smba" } else { "android" },
        "sessionId": 0,
        "isBusiness": i.business_device,
    }))
}

/// The connected number's own profile as the network shows it: its photo (`imgUrl`, seed 001
/// line 876) and about text (`about`, Z-API's documentation since 2025-10), each `""` when it
/// has none, the session is not connected or the network cannot say: `device` describes the
/// device and does not fail for want of them.
async fn own_profile(call: &Call<'_>, s: &SessionStatus) -> contacts::ContactInfo {
    let Some(phone) = s.phone.clone().filter(|_| s.connected) else { return Default::default() };
    match super::account::ask(call, contacts::Call::Get(phone)).await {
        Ok(contacts::Reply::Contact(own)) => own,
        _ => Default::default(),
    }
}

/// `me` (seed 001, line 952) plus chatedge's `webhookSecret`.
pub async fn me(call: &Call<'_>) -> Result<Resp, ZapiError> {
    let s = session(call).await?;
    let i = &call.instance;
    let url = |k: WebhookKind| i.webhooks.get(k).map(|u| u.as_str());
    let v = json!({
        "id": i.id.to_string(),
        "token": call.token,
        "name": i.name,
        "due": i.due_ms,
        "connected": s.connected,
        "phone": s.phone.as_ref().map(|p| p.as_str()),
        "paymentStatus": i.payment_status,
        "created": chatedge_config::time::rfc3339_ms(i.created_ms),
        "connectedCallbackUrl": url(WebhookKind::Connected),
        "deliveryCallbackUrl": url(WebhookKind::Delivery),
        "disconnectedCallbackUrl": url(WebhookKind::Disconnected),
        "messageStatusCallbackUrl": url(WebhookKind::MessageStatus),
        "presenceChatCallbackUrl": url(WebhookKind::ChatPresence),
        "receivedCallbackUrl": url(WebhookKind::Received),
        "receiveCallbackSentByMe": i.notify_sent_by_me,
        "callRejectAuto": i.call_reject_auto,
        "callRejectMessage": i.call_reject_message,
        "autoReadMessage": i.auto_read_message,
        "autoReadStatus": i.auto_read_status,
        "initialDataCallbackUrl": null,
        "webhookSecret": i.webhook_secret.expose(),
    });
    let cloud = cloud_fields(call).map(|mut c| {
        let url = chatedge_config::snapshot::cloud_api_webhook_url(&call.app.public_base, &i.id);
        c["webhookUrl"] = json!(url);
        c
    });
    ok(merged(v, cloud))
}
