//! link: how the control plane's one listener — the data planes' link and the operator's API —
//! is secured. With `[controlplane]` TLS on, it serves rustls with the operator's PEM files or
//! with a certificate generated at first start and kept next to `credentials.json` (reused on
//! every restart, so data planes can pin it). The certificate's SHA-256 fingerprint is
//! computed here once, written to `controlplane.fingerprint` beside the credentials, printed at
//! start and shown by `GET /admin/dataplanes`. It runs once at start-up, on a blocking thread;
//! the handshakes themselves are `chatedge_serve`'s.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use chatedge_config::file::ControlplaneTls;
use chatedge_config::CertFingerprint;
use chatedge_serve::tls::{CertSource, Tls};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::CertificateDer;

/// The generated certificate and key, and the fingerprint file, in the credentials' directory.
pub const GENERATED_CERT: &str = "controlplane.crt";
pub const GENERATED_KEY: &str = "controlplane.key";
pub const FINGERPRINT_FILE: &str = "controlplane.fingerprint";

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("control plane certificate {path}: {message}")]
    Certificate { path: PathBuf, message: String },
    #[error("cannot generate the control plane certificate: {0}")]
    Generate(String),
    #[error("control plane TLS: {0}")]
    Tls(#[from] chatedge_serve::tls::TlsError),
}

/// The listener's TLS and what identifies it.
#[derive(Clone)]
pub struct LinkTls {
    pub tls: Tls,
    pub fingerprint: CertFingerprint,
    /// The certificate file (PEM), for clients that trust it rather than pin it.
    pub cert_file: PathBuf,
}

/// Loads (or first generates) the certificate `mode` asks for, `None` for plain HTTP. `dir` is
/// where `credentials.json` lives.
pub fn prepare(mode: &ControlplaneTls, dir: &Path, listen: SocketAddr) -> Result<Option<LinkTls>, LinkError> {
    let (cert, key) = match mode {
        ControlplaneTls::Off => return Ok(None),
        ControlplaneTls::Files { cert, key } => (cert.clone(), key.clone()),
        ControlplaneTls::Generated => {
            let (cert, key) = (dir.join(GENERATED_CERT), dir.join(GENERATED_KEY));
            if !cert.exists() || !key.exists() {
                generate(&cert, &key, listen)?;
            }
            (cert, key)
        }
    };
    let fingerprint = fingerprint_of(&cert)?;
    let tls = Tls::load(CertSource::Files { cert: cert.clone(), key })?;
    write_private(&dir.join(FINGERPRINT_FILE), format!("{fingerprint}\n").as_bytes())
        .map_err(|e| LinkError::Certificate { path: dir.join(FINGERPRINT_FILE), message: e.to_string() })?;
    Ok(Some(LinkTls { tls, fingerprint, cert_file: cert }))
}

/// The fingerprint of the first (leaf) certificate in a PEM file.
pub fn fingerprint_of(cert: &Path) -> Result<CertFingerprint, LinkError> {
    let err = |message: String| LinkError::Certificate { path: cert.to_path_buf(), message };
    let leaf = CertificateDer::pem_file_iter(cert)
        .map_err(|e| err(e.to_string()))?
        .next()
        .ok_or_else(|| err("no CERTIFICATE block".into()))?
        .map_err(|e| err(e.to_string()))?;
    Ok(CertFingerprint::of_der(&leaf))
}

/// A self-signed certificate for this machine's loopback names and the listen address. Data
/// planes pin it by fingerprint, so its names matter only to clients that trust it as a root.
fn generate(cert: &Path, key: &Path, listen: SocketAddr) -> Result<(), LinkError> {
    let mut names = vec!["localhost".to_owned(), "127.0.0.1".to_owned(), "::1".to_owned()];
    if !listen.ip().is_unspecified() && !listen.ip().is_loopback() {
        names.push(listen.ip().to_string());
    }
    let g = rcgen::generate_simple_self_signed(names).map_err(|e| LinkError::Generate(e.to_string()))?;
    let io =
        |path: &Path, e: std::io::Error| LinkError::Certificate { path: path.to_path_buf(), message: e.to_string() };
    // The key first: a certificate without its key on disk would be regenerated anyway.
    write_private(key, g.signing_key.serialize_pem().as_bytes()).map_err(|e| io(key, e))?;
    write_private(cert, g.cert.pem().as_bytes()).map_err(|e| io(cert, e))?;
    tracing::info!(cert = %cert.display(), "generated the control plane's certificate");
    Ok(())
}

/// Writes `bytes` to `path` (mode 0600) through a temporary file, fsync'd, and a rename: a
/// secret file is never readable by others, nor left half-written.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("tmp");
    let mut f = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    std::fs::rename(tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    #[test]
    fn a_generated_certificate_is_kept_and_reused_so_its_pin_survives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let first = prepare(&ControlplaneTls::Generated, dir.path(), listen()).unwrap().unwrap();
        let again = prepare(&ControlplaneTls::Generated, dir.path(), listen()).unwrap().unwrap();
        assert_eq!(first.fingerprint, again.fingerprint);
        let written = std::fs::read_to_string(dir.path().join(FINGERPRINT_FILE)).unwrap();
        assert_eq!(written.trim(), first.fingerprint.to_string());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(GENERATED_KEY)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "the private key is readable by its owner only");
    }

    #[test]
    fn the_fingerprint_is_the_sha256_of_the_leafs_der_and_plain_http_has_none() {
        let dir = tempfile::tempdir().unwrap();
        let g = rcgen::generate_simple_self_signed(vec!["cp.test".to_owned()]).unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        std::fs::write(&cert, g.cert.pem()).unwrap();
        std::fs::write(&key, g.signing_key.serialize_pem()).unwrap();
        let mode = ControlplaneTls::Files { cert, key };
        let link = prepare(&mode, dir.path(), listen()).unwrap().unwrap();
        assert_eq!(link.fingerprint, CertFingerprint::of_der(g.cert.der()));
        assert!(prepare(&ControlplaneTls::Off, dir.path(), listen()).unwrap().is_none());
    }
}
