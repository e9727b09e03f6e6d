//! Signed media links: received media is served at
//! `{public_base_url}/media/{digest}.{ext}?expires={unix s}&signature={hex}` to whoever holds
//! the link, without the instance token — like a pre-signed object URL. The signature is an
//! HMAC-SHA256 over the path and expiry with a key kept in `media/link.key` (0600, created at
//! first start); changing the key voids every link. Pure computation besides loading the key.

use std::fs;
use std::io::{self, Write};
use std::path::Path;

use hmac::{KeyInit, Mac};

use super::Digest;

type HmacSha256 = hmac::Hmac<sha2::Sha256>;

/// Hex characters of the signature carried in links (128 bits).
const SIGNATURE_HEX: usize = 32;

pub struct LinkSigner {
    key: [u8; 32],
    /// Set once: from `[media] public_base_url`, or from the bound listen address at start.
    base: std::sync::OnceLock<String>,
}

impl LinkSigner {
    /// Loads (or creates) the key in `dir/link.key`; links start with `base` (when `None`,
    /// with what [`set_base`](Self::set_base) says later).
    pub fn open(dir: &Path, base: Option<String>) -> io::Result<LinkSigner> {
        let path = dir.join("link.key");
        let key = match fs::read(&path) {
            Ok(k) if k.len() == 32 => k.try_into().map_err(|_| io::Error::other("link.key"))?,
            Ok(_) => return Err(io::Error::other(format!("{} must hold 32 bytes", path.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                // Written aside and renamed, so a crash never leaves a short key behind.
                let key: [u8; 32] = rand::random();
                let aside = dir.join("link.key.new");
                let _ = fs::remove_file(&aside);
                let mut f = private_file(&aside)?;
                f.write_all(&key)?;
                f.sync_all()?;
                fs::rename(&aside, &path)?;
                fs::File::open(dir)?.sync_all()?;
                key
            }
            Err(e) => return Err(e),
        };
        let cell = std::sync::OnceLock::new();
        if let Some(b) = base {
            let _ = cell.set(b);
        }
        Ok(LinkSigner { key, base: cell })
    }

    /// Sets the base of links if none was configured (no effect otherwise).
    pub fn set_base(&self, base: String) {
        let _ = self.base.set(base);
    }

    fn signature(&self, name: &str, expires_s: u64) -> String {
        let mut mac = <HmacSha256 as KeyInit>::new_from_slice(&self.key).expect("HMAC takes keys of any length");
        mac.update(name.as_bytes());
        mac.update(b"\n");
        mac.update(expires_s.to_string().as_bytes());
        let tag = mac.finalize().into_bytes();
        tag.iter().take(SIGNATURE_HEX / 2).map(|b| format!("{b:02x}")).collect()
    }

    /// The public link of `digest` stored as `ext`, valid until `expires_s` (Unix seconds).
    pub fn link(&self, digest: &Digest, ext: &str, expires_s: u64) -> String {
        let name = format!("{digest}.{ext}");
        let sig = self.signature(&name, expires_s);
        let base = self.base.get().map(String::as_str).unwrap_or("http://127.0.0.1:8080");
        format!("{base}/media/{name}?expires={expires_s}&signature={sig}")
    }

    /// Checks a request for `/media/{name}` with its query: `Ok(digest)` when the signature
    /// is right and the link has not expired at `now_s`.
    pub fn verify(&self, name: &str, expires_s: u64, signature: &str, now_s: u64) -> Result<Digest, LinkError> {
        let expected = self.signature(name, expires_s);
        let same = expected.len() == signature.len()
            && expected.bytes().zip(signature.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
        if !same {
            return Err(LinkError::BadSignature);
        }
        if expires_s <= now_s {
            return Err(LinkError::Expired);
        }
        let hex = name.split('.').next().unwrap_or("");
        Digest::parse_hex(hex).ok_or(LinkError::BadSignature)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this media link is not valid")]
    BadSignature,
    #[error("this media link has expired")]
    Expired,
}

#[cfg(unix)]
fn private_file(path: &Path) -> io::Result<fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> io::Result<fs::File> {
    fs::OpenOptions::new().write(true).create_new(true).open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_verifies_until_it_expires_and_not_after_any_change() {
        let dir = tempfile::tempdir().unwrap();
        let signer = LinkSigner::open(dir.path(), Some("http://127.0.0.1:8080".into())).unwrap();
        let d = Digest::of(b"jpeg bytes");
        let link = signer.link(&d, "jpg", 2_000);
        let query = link.split_once('?').unwrap().1;
        let sig = query.split("signature=").nth(1).unwrap();
        let name = format!("{d}.jpg");
        assert_eq!(signer.verify(&name, 2_000, sig, 1_000), Ok(d));
        assert_eq!(signer.verify(&name, 2_000, sig, 2_000), Err(LinkError::Expired));
        assert_eq!(signer.verify(&name, 3_000, sig, 1_000), Err(LinkError::BadSignature));
        assert_eq!(signer.verify(&format!("{d}.png"), 2_000, sig, 1_000), Err(LinkError::BadSignature));
        let again = LinkSigner::open(dir.path(), None).unwrap();
        assert_eq!(again.verify(&name, 2_000, sig, 1_000), Ok(d), "the key survives a restart");
    }
}
