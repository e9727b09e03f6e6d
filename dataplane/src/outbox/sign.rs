//! Standard Webhooks signatures (https://www.standardwebhooks.com): the receiver recomputes
//! `base64(HMAC-SHA256(key, "{webhook-id}.{webhook-timestamp}.{body}"))` with the key decoded
//! from the instance's `whsec_…` secret and compares it with `webhook-signature: v1,<sig>`.

use base64::Engine as _;
use chatedge_config::WebhookSecret;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The `webhook-signature` header value for one delivery attempt.
pub fn signature(secret: &WebhookSecret, id: &str, timestamp_s: u64, body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.key()) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC takes keys of any length"),
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let sig = mac.finalize().into_bytes();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(sig))
}

// seam: replaced at merge by B's version (issue 9 brief: `sign::headers`). A thin wrapper
// around `signature` plus content-type and user-agent, so the delivery engine calls the final
// signature of the seam.
/// Every header of one delivery attempt: content type, user agent and the Standard Webhooks
/// `webhook-id` / `webhook-timestamp` / `webhook-signature`.
pub fn headers(
    instance: &chatedge_config::snapshot::InstanceConfig,
    webhook_id: &str,
    event_name: &str,
    timestamp_s: u64,
    body: &[u8],
) -> http::HeaderMap {
    use http::header::{HeaderValue, CONTENT_TYPE, USER_AGENT};
    let _ = event_name; // B's version sends it as X-Webhook-Event
    let mut h = http::HeaderMap::with_capacity(5);
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(USER_AGENT, HeaderValue::from_static(concat!("chatedge-webhook/", env!("CARGO_PKG_VERSION"))));
    let sig = signature(&instance.webhook_secret, webhook_id, timestamp_s, body);
    for (name, value) in [
        ("webhook-id", webhook_id.to_owned()),
        ("webhook-timestamp", timestamp_s.to_string()),
        ("webhook-signature", sig),
    ] {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference libraries.
    #[test]
    fn matches_the_standard_webhooks_reference_vector() {
        let secret = WebhookSecret::parse("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body);
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
