//! The headers of one webhook attempt, signed afresh for it (issue 9 §5). Pure functions of
//! the instance config, the event and the clock reading the caller passes; called by the
//! delivery engine on whichever task makes the attempt. It never sees a URL.
//!
//! - Standard Webhooks (https://www.standardwebhooks.com): the receiver recomputes
//!   `base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}"))` with the key decoded
//!   from the instance's `whsec_…` secret and compares it with each space-separated `v1,<sig>`
//!   of `webhook-signature`. During a secret rotation both secrets sign, the new one first.
//! - Zapini-style receivers (seed 002, "Webhook Security"): `X-Webhook-Signature` is the
//!   lower-case hex HMAC-SHA256 of the raw body keyed with the secret *string* as the
//!   integrator holds it (`hash_hmac('sha256', $payload, $secret)` in the seed's PHP; the whole
//!   `whsec_…` text, not its decoded key), with the current secret — or, once Zapini's webhook
//!   route set a secret of the user's, with that text; `X-Webhook-Event` names the event and
//!   `X-Instance-UUID` the instance in UUID form.

use std::fmt::Write as _;

use base64::Engine as _;
use chatedge_config::snapshot::instance_uuid;
use chatedge_config::snapshot::WebhookDialect;
use chatedge_config::{InstanceConfig, WebhookSecret};
use hmac::{Hmac, KeyInit, Mac};
use http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE, USER_AGENT};
use sha2::Sha256;

/// `User-Agent` of every attempt.
pub const USER_AGENT_VALUE: &str = concat!("chatedge-webhook/", env!("CARGO_PKG_VERSION"));

pub const WEBHOOK_ID: HeaderName = HeaderName::from_static("webhook-id");
pub const WEBHOOK_TIMESTAMP: HeaderName = HeaderName::from_static("webhook-timestamp");
pub const WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("webhook-signature");
pub const X_WEBHOOK_SIGNATURE: HeaderName = HeaderName::from_static("x-webhook-signature");
pub const X_WEBHOOK_EVENT: HeaderName = HeaderName::from_static("x-webhook-event");
pub const X_INSTANCE_UUID: HeaderName = HeaderName::from_static("x-instance-uuid");
/// `User-Agent` of an instance whose webhooks speak Zapini (seed 002, "Request Format").
pub const ZAPINI_USER_AGENT: &str = "Zapini-Webhook/1.0";

/// Every header of one attempt of the event `webhook_id` (`event_name` is the Z-API callback
/// type, e.g. `DeliveryCallback`), sent at `timestamp_s` (Unix seconds; it also decides
/// whether a rotated-out secret still signs). A value that cannot be a header (an event name
/// with control characters) is left out rather than failing the attempt.
pub fn headers(
    instance: &InstanceConfig,
    webhook_id: &str,
    event_name: &str,
    timestamp_s: u64,
    body: &[u8],
) -> HeaderMap {
    let mut h = HeaderMap::with_capacity(8);
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let zapini = instance.webhooks.dialect == WebhookDialect::Zapini;
    // Seed 002's receivers may check its User-Agent.
    h.insert(USER_AGENT, HeaderValue::from_static(if zapini { ZAPINI_USER_AGENT } else { USER_AGENT_VALUE }));
    let signatures: Vec<String> = instance
        .signing_secrets(timestamp_s.saturating_mul(1000))
        .map(|secret| signature(secret, webhook_id, timestamp_s, body))
        .collect();
    let pairs = [
        (WEBHOOK_ID, webhook_id.to_owned()),
        (WEBHOOK_TIMESTAMP, timestamp_s.to_string()),
        (WEBHOOK_SIGNATURE, signatures.join(" ")),
        (X_WEBHOOK_SIGNATURE, body_signature_hex(zapini_key(instance), body)),
        (X_WEBHOOK_EVENT, event_name.to_owned()),
        (X_INSTANCE_UUID, instance_uuid(&instance.id)),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::try_from(value) {
            h.insert(name, v);
        }
    }
    h
}

/// The text that keys `X-Webhook-Signature`: the secret set with Zapini's webhook route, else
/// the instance's webhook secret.
fn zapini_key(instance: &InstanceConfig) -> &[u8] {
    match instance.webhooks.zapini.as_ref().and_then(|z| z.secret.as_deref()) {
        Some(secret) => secret.as_bytes(),
        None => instance.webhook_secret.expose().as_bytes(),
    }
}

/// `X-Webhook-Signature`: lower-case hex HMAC-SHA256 of `body` keyed with `key`, a secret's
/// text.
pub fn body_signature_hex(key: &[u8], body: &[u8]) -> String {
    let mut mac = hmac_with(key);
    mac.update(body);
    let mut out = String::with_capacity(64);
    for b in mac.finalize().into_bytes() {
        let _ = write!(out, "{b:02x}"); // writing to a String cannot fail
    }
    out
}

fn hmac_with(key: &[u8]) -> Hmac<Sha256> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    }
}

/// The `webhook-signature` header value for one delivery attempt.
pub fn signature(secret: &WebhookSecret, id: &str, timestamp_s: u64, body: &[u8]) -> String {
    let mut mac = hmac_with(secret.key());
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = mac.finalize().into_bytes();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(sig))
}

#[cfg(test)]
mod tests {
    use chatedge_config::InstanceId;

    use super::*;

    /// The example from the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    fn instance() -> InstanceConfig {
        let tenant = chatedge_config::TenantId::generate();
        InstanceConfig::new_trial(tenant, chatedge_config::TokenHash::of(b"t"), "x".into(), 0, 1)
    }

    #[test]
    fn every_attempt_carries_content_type_user_agent_and_both_signature_families() {
        let i = instance();
        let body = br#"{"type":"DeliveryCallback"}"#;
        let h = headers(&i, "evt_1", "DeliveryCallback", 1_700_000_000, body);
        let get = |n: &str| h.get(n).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        assert_eq!(get("content-type"), "application/json");
        assert_eq!(get("user-agent"), format!("chatedge-webhook/{}", env!("CARGO_PKG_VERSION")));
        assert_eq!(get("webhook-id"), "evt_1");
        assert_eq!(get("webhook-timestamp"), "1700000000");
        assert_eq!(get("webhook-signature"), signature(&i.webhook_secret, "evt_1", 1_700_000_000, body));
        assert_eq!(get("x-webhook-event"), "DeliveryCallback");
        assert_eq!(get("x-webhook-signature"), body_signature_hex(i.webhook_secret.expose().as_bytes(), body));
        assert_eq!(get("x-instance-uuid").len(), 36);
    }

    /// RFC 4231 test case 2 (HMAC-SHA256, key "Jefe"): the hex form is the one PHP's
    /// `hash_hmac` and Node's `digest('hex')` print.
    #[test]
    fn the_body_signature_is_lower_case_hex_keyed_with_the_secret_text() {
        let mut mac = hmac_with(b"Jefe");
        mac.update(b"what do ya want for nothing?");
        let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(expected, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let mut by_text = hmac_with(b"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        by_text.update(b"{}");
        let by_text: String = by_text.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(body_signature_hex(secret.expose().as_bytes(), b"{}"), by_text);
    }

    #[test]
    fn a_zapini_instance_signs_with_the_secret_its_user_set_and_says_zapini() {
        let mut i = instance();
        let body = br#"{"event":"message.sent"}"#;
        let patch = chatedge_config::SettingsPatch {
            changes: vec![
                chatedge_config::settings::SettingChange::WebhookDialect(WebhookDialect::Zapini),
                chatedge_config::settings::SettingChange::ZapiniWebhook(Some(
                    chatedge_config::zapini_webhook::ZapiniWebhook {
                        secret: Some("your_secret_key_here".into()),
                        events: vec![],
                        active: true,
                    },
                )),
            ],
        };
        patch.apply(&mut i);
        let h = headers(&i, "evt_3", "message.sent", 1_700_000_000, body);
        assert_eq!(h["x-webhook-signature"], body_signature_hex(b"your_secret_key_here", body).as_str());
        assert_eq!(h["user-agent"], "Zapini-Webhook/1.0");
        assert_eq!(h["x-webhook-event"], "message.sent");
        assert!(!h["webhook-signature"].is_empty(), "Standard Webhooks headers stay");
    }

    #[test]
    fn a_rotation_signs_with_both_secrets_until_the_overlap_ends_and_zapini_with_the_new_one() {
        let mut i = instance();
        let old = i.webhook_secret.clone();
        let new = WebhookSecret::generate();
        let patch = chatedge_config::settings::SettingChange::RotateWebhookSecret {
            secret: new.clone(),
            previous_until_ms: 2_000_000,
        };
        chatedge_config::SettingsPatch::one(patch).apply(&mut i);
        let during = headers(&i, "evt_2", "ReceivedCallback", 1_999, b"{}");
        let both = format!("{} {}", signature(&new, "evt_2", 1_999, b"{}"), signature(&old, "evt_2", 1_999, b"{}"));
        assert_eq!(during["webhook-signature"], both.as_str());
        assert_eq!(during["x-webhook-signature"], body_signature_hex(new.expose().as_bytes(), b"{}").as_str());
        let after = headers(&i, "evt_2", "ReceivedCallback", 2_000, b"{}");
        assert_eq!(after["webhook-signature"], signature(&new, "evt_2", 2_000, b"{}").as_str());
    }

    #[test]
    fn instance_ids_read_as_uuids() {
        let id = InstanceId::parse("3C4D2E1F00112233445566778899AABB").unwrap();
        assert_eq!(instance_uuid(&id), "3c4d2e1f-0011-2233-4455-66778899aabb");
    }
}
