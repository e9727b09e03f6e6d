//! Secrets and their hashes. Tokens are random, shown once, and stored only as a SHA-256
//! [`TokenHash`] wherever they only need checking (the data plane never sees an instance token
//! in the clear except in the request that carries it). A [`WebhookSecret`] is kept in the
//! clear because signing needs it; it is never logged (its `Debug` is redacted).

use std::fmt;

use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

/// A random bearer secret (instance token, integrator token, admin token, node token).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// A new secret: `bytes` random bytes as upper-case hex (Z-API tokens are upper-case).
    pub fn generate(bytes: usize) -> Self {
        let mut raw = vec![0u8; bytes];
        rand::rng().fill_bytes(&mut raw);
        let mut s = String::with_capacity(bytes * 2);
        for b in raw {
            s.push_str(&format!("{b:02X}"));
        }
        Secret(s)
    }

    /// Wraps a secret given by an operator (environment variable). Refuses blank ones.
    pub fn from_operator(value: &str) -> Option<Self> {
        let v = value.trim();
        (v.len() >= 16 && !v.contains(char::is_whitespace)).then(|| Secret(v.to_owned()))
    }

    /// Wraps a secret chosen elsewhere (a network's access token, an app secret): refuses blank
    /// ones, whitespace inside and more than 4096 bytes.
    pub fn from_given(value: &str) -> Option<Self> {
        let v = value.trim();
        (!v.is_empty() && v.len() <= 4096 && !v.contains(char::is_whitespace)).then(|| Secret(v.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> TokenHash {
        TokenHash::of(self.0.as_bytes())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// SHA-256 of a token. Compared in constant time.
#[derive(Clone, Copy, Eq)]
pub struct TokenHash([u8; 32]);

impl TokenHash {
    pub fn of(token: &[u8]) -> Self {
        TokenHash(Sha256::digest(token).into())
    }

    /// Constant-time check of a presented token against this hash.
    pub fn matches(&self, token: &[u8]) -> bool {
        *self == TokenHash::of(token)
    }
}

impl PartialEq for TokenHash {
    fn eq(&self, other: &Self) -> bool {
        // Fold every byte so the time taken does not depend on where they differ.
        self.0.iter().zip(other.0.iter()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }
}

/// Hashes the digest itself, so a map can be keyed by token hash (the data plane's index of
/// Chat Inc API keys): equal hashes hash equally, as `Eq` requires. A lookup's timing can only
/// depend on the SHA-256 of what was presented, never on the stored token's bytes.
impl std::hash::Hash for TokenHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.0.hash(state);
    }
}

impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenHash(..)")
    }
}

impl Serialize for TokenHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(self.0))
    }
}

impl<'de> Deserialize<'de> for TokenHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD.decode(s.as_bytes()).map_err(serde::de::Error::custom)?;
        let arr: [u8; 32] = bytes.try_into().map_err(|_| serde::de::Error::custom("token hash must be 32 bytes"))?;
        Ok(TokenHash(arr))
    }
}

/// A per-instance webhook signing secret in the Standard Webhooks form
/// `whsec_<base64 of 24 random bytes>`.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret {
    text: String,
    key: Vec<u8>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("webhook secret must be 'whsec_' followed by base64 of at least 16 bytes")]
pub struct WebhookSecretError;

impl WebhookSecret {
    pub fn generate() -> Self {
        let mut key = vec![0u8; 24];
        rand::rng().fill_bytes(&mut key);
        let text = format!("whsec_{}", base64::engine::general_purpose::STANDARD.encode(&key));
        WebhookSecret { text, key }
    }

    pub fn parse(text: &str) -> Result<Self, WebhookSecretError> {
        let b64 = text.strip_prefix("whsec_").ok_or(WebhookSecretError)?;
        let key = base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| WebhookSecretError)?;
        if key.len() < 16 {
            return Err(WebhookSecretError);
        }
        Ok(WebhookSecret { text: text.to_owned(), key })
    }

    /// The HMAC key: the decoded bytes after `whsec_`.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    pub fn expose(&self) -> &str {
        &self.text
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(..)")
    }
}

impl Serialize for WebhookSecret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for WebhookSecret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        WebhookSecret::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_matches_only_its_own_hash() {
        let t = Secret::generate(16);
        assert_eq!(t.expose().len(), 32);
        assert!(t.hash().matches(t.expose().as_bytes()));
        assert!(!t.hash().matches(b"something else"));
    }

    #[test]
    fn webhook_secrets_have_the_standard_webhooks_form() {
        let s = WebhookSecret::generate();
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(s.key().len(), 24);
        assert_eq!(WebhookSecret::parse(s.expose()).unwrap(), s);
        assert!(WebhookSecret::parse("whsec_!!").is_err());
        assert!(WebhookSecret::parse("abc").is_err());
    }

    #[test]
    fn secrets_are_not_printed_by_debug() {
        let s = Secret::generate(16);
        assert!(!format!("{s:?}").contains(s.expose()));
        let w = WebhookSecret::generate();
        assert!(!format!("{w:?}").contains(w.expose()));
    }
}
