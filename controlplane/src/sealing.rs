//! sealing: the few secrets Z-API's answers must show again (an instance's token in `GET
//! /instances`, seed 001 line 13760) are kept in the store encrypted — ChaCha20-Poly1305
//! (`ring::aead`, the AEAD rustls already links) under a 256-bit key that lives in a file
//! *outside* the store (`secrets.key`, mode 0600, next to `credentials.json`), generated at
//! first start. Reading the RocksDB files alone reveals no token. Every other secret
//! (integrator, admin, node, Client-Token) is stored only as a SHA-256 hash.
//!
//! A sealed value is base64 of `nonce (12 random bytes) || ciphertext || tag`; the instance id
//! is bound in as associated data, so a sealed token copied onto another instance does not
//! open. Pure computation apart from reading/creating the key file at start.

use std::io::Write;
use std::path::Path;

use base64::Engine as _;
use chatedge_config::{InstanceId, Secret};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

const KEY_LEN: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error("key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("key file {path} must hold exactly {KEY_LEN} bytes")]
    BadKey { path: String },
    #[error("no random bytes available")]
    Random,
}

/// A sealed secret as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sealed(String);

pub struct Sealer {
    key: LessSafeKey,
    rng: SystemRandom,
}

impl Sealer {
    /// Loads the key at `path`, creating it (0600) when absent.
    pub fn open_or_create(path: &Path) -> Result<Sealer, SealError> {
        let io = |source| SealError::Io { path: path.display().to_string(), source };
        let rng = SystemRandom::new();
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut key = vec![0u8; KEY_LEN];
                rng.fill(&mut key).map_err(|_| SealError::Random)?;
                write_private(path, &key).map_err(io)?;
                key
            }
            Err(e) => return Err(io(e)),
        };
        let key = UnboundKey::new(&CHACHA20_POLY1305, &bytes)
            .map_err(|_| SealError::BadKey { path: path.display().to_string() })?;
        Ok(Sealer { key: LessSafeKey::new(key), rng })
    }

    pub fn seal(&self, instance: &InstanceId, secret: &Secret) -> Result<Sealed, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        self.rng.fill(&mut nonce).map_err(|_| SealError::Random)?;
        let mut data = secret.expose().as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(instance.as_bytes()), &mut data)
            .map_err(|_| SealError::Random)?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(Sealed(base64::engine::general_purpose::STANDARD.encode(out)))
    }

    /// The secret, or `None` when it was sealed under another key or for another instance.
    pub fn open(&self, instance: &InstanceId, sealed: &Sealed) -> Option<String> {
        let raw = base64::engine::general_purpose::STANDARD.decode(&sealed.0).ok()?;
        if raw.len() < NONCE_LEN {
            return None;
        }
        let (nonce, rest) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = rest.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(instance.as_bytes()), &mut data).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_token_opens_only_with_its_key_and_instance() {
        let dir = tempfile::tempdir().unwrap();
        let sealer = Sealer::open_or_create(&dir.path().join("secrets.key")).unwrap();
        let (id, other) = (InstanceId::generate(), InstanceId::generate());
        let token = Secret::generate(16);
        let sealed = sealer.seal(&id, &token).unwrap();
        assert!(!sealed.0.contains(token.expose()));
        assert_eq!(sealer.open(&id, &sealed).as_deref(), Some(token.expose()));
        assert_eq!(sealer.open(&other, &sealed), None);
        let reopened = Sealer::open_or_create(&dir.path().join("secrets.key")).unwrap();
        assert_eq!(reopened.open(&id, &sealed).as_deref(), Some(token.expose()));
        let stranger = Sealer::open_or_create(&dir.path().join("other.key")).unwrap();
        assert_eq!(stranger.open(&id, &sealed), None);
    }
}
