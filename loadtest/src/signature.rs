//! Standard Webhooks signature checks for the sink: `webhook-signature` carries one or more
//! space-separated `v1,<base64 HMAC-SHA256>` entries over `"{webhook-id}.{webhook-timestamp}.{body}"`,
//! keyed with the base64-decoded part of the instance's `whsec_…` secret.

use anyhow::{anyhow, Result};
use base64::Engine as _;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// The HMAC key inside a `whsec_<base64>` secret.
pub fn decode_secret(secret: &str) -> Result<Vec<u8>> {
    let encoded = secret.strip_prefix("whsec_").ok_or_else(|| anyhow!("webhook secret does not start with whsec_"))?;
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| anyhow!("webhook secret is not base64 after whsec_: {e}"))
}

fn mac(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> Option<Hmac<Sha256>> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).ok()?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(mac)
}

/// The `webhook-signature` value a sender with `key` would send.
pub fn sign(key: &[u8], id: &str, timestamp: &str, body: &[u8]) -> String {
    let sig = mac(key, id, timestamp, body).map(|m| m.finalize().into_bytes().to_vec()).unwrap_or_default();
    format!("v1,{}", base64::engine::general_purpose::STANDARD.encode(sig))
}

/// True when any `v1,` entry of `header` is the right signature (compared in constant time).
pub fn verify(key: &[u8], id: &str, timestamp: &str, body: &[u8], header: &str) -> bool {
    header.split_whitespace().filter_map(|entry| entry.strip_prefix("v1,")).any(|sig| {
        let Ok(sig) = base64::engine::general_purpose::STANDARD.decode(sig) else {
            return false;
        };
        mac(key, id, timestamp, body).is_some_and(|m| m.verify_slice(&sig).is_ok())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const BODY: &[u8] = br#"{"test": 2432232314}"#;

    /// The Standard Webhooks reference vector.
    #[test]
    fn matches_the_reference_vector() {
        let key = decode_secret(SECRET).expect("secret");
        assert_eq!(sign(&key, ID, "1614265330", BODY), "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(&key, ID, "1614265330", BODY, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="));
    }

    #[test]
    fn any_listed_signature_may_match_and_tampering_fails() {
        let key = decode_secret(SECRET).expect("secret");
        let good = sign(&key, ID, "1614265330", BODY);
        assert!(verify(&key, ID, "1614265330", BODY, &format!("v1,AAAA {good}")));
        assert!(!verify(&key, ID, "1614265331", BODY, &good));
        assert!(!verify(&key, ID, "1614265330", b"{}", &good));
        assert!(!verify(&key, ID, "1614265330", BODY, "v1,not-base64!"));
        assert!(!verify(&key, ID, "1614265330", BODY, ""));
    }

    #[test]
    fn secrets_need_the_prefix() {
        assert!(decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_err());
        assert!(decode_secret("whsec_***").is_err());
    }
}
