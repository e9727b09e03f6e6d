//! tls: the data plane's certificate and the rustls configurations built on it — TCP (ALPN
//! h2 and http/1.1) and QUIC (ALPN h3, TLS 1.3 only, 0-RTT off because sends are not
//! idempotent). The certificate is read from PEM files (or generated for development) and
//! swapped in place when the files change or on SIGHUP: new handshakes get the new one, open
//! connections keep theirs. A bad new pair is refused and the old one keeps serving. The
//! watcher runs as one task on the planes' runtime; handshakes run on each connection's task.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use arc_swap::ArcSwap;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;

use crate::shutdown::stopped;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate file {path}: {message}")]
    Cert { path: PathBuf, message: String },
    #[error("key file {path}: {message}")]
    Key { path: PathBuf, message: String },
    #[error("the key in {key} does not belong to the certificate in {cert}")]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("cannot generate a self-signed certificate: {0}")]
    SelfSigned(String),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// Where the certificate comes from.
#[derive(Debug, Clone)]
pub enum CertSource {
    /// PEM files: the chain (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1).
    Files { cert: PathBuf, key: PathBuf },
    /// A certificate generated at start-up for `localhost` and `127.0.0.1` (development).
    SelfSigned,
}

/// The certificate in use, swapped whole on reload.
#[derive(Debug)]
struct Current(ArcSwap<CertifiedKey>);

impl ResolvesServerCert for Current {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.load_full())
    }
}

/// TLS for one plane: cheap to clone, shared by the TLS and QUIC listeners.
#[derive(Clone)]
pub struct Tls {
    source: CertSource,
    current: Arc<Current>,
    tcp: Arc<ServerConfig>,
    /// PEM of the generated certificate, for clients to trust (self-signed only).
    self_signed_pem: Option<String>,
    /// The files' stamp taken just before they were read: the watcher's starting point, so a
    /// change between loading and watching is not missed.
    loaded: Stamp,
}

impl Tls {
    /// Loads the certificate (or generates one) and builds the TCP configuration.
    pub fn load(source: CertSource) -> Result<Tls, TlsError> {
        let loaded = match &source {
            CertSource::Files { cert, key } => stamp(cert, key),
            CertSource::SelfSigned => [None, None],
        };
        let (key, self_signed_pem) = match &source {
            CertSource::Files { cert, key } => (read_pair(cert, key)?, None),
            CertSource::SelfSigned => {
                let (key, pem) = self_signed()?;
                (key, Some(pem))
            }
        };
        let current = Arc::new(Current(ArcSwap::from_pointee(key)));
        let mut tcp = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(current.clone());
        tcp.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(Tls { source, current, tcp: Arc::new(tcp), self_signed_pem, loaded })
    }

    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(self.tcp.clone())
    }

    /// The QUIC configuration: same certificate (reloads included), ALPN h3, TLS 1.3 only,
    /// no early data (0-RTT requests could be replayed, and sends are not idempotent).
    pub fn quic(&self) -> Result<quinn::crypto::rustls::QuicServerConfig, TlsError> {
        let mut c = ServerConfig::builder_with_provider(provider())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TlsError::Config(e.to_string()))?
            .with_no_client_auth()
            .with_cert_resolver(self.current.clone());
        c.alpn_protocols = vec![b"h3".to_vec()];
        c.max_early_data_size = 0;
        quinn::crypto::rustls::QuicServerConfig::try_from(c).map_err(|e| TlsError::Config(e.to_string()))
    }

    /// The generated certificate in PEM, when the certificate is self-signed.
    pub fn self_signed_pem(&self) -> Option<&str> {
        self.self_signed_pem.as_deref()
    }

    /// Reads the files again and swaps the certificate in when they hold a valid pair.
    pub fn reload(&self) -> Result<(), TlsError> {
        if let CertSource::Files { cert, key } = &self.source {
            self.current.0.store(Arc::new(read_pair(cert, key)?));
        }
        Ok(())
    }

    /// Reloads when the files change (polled every `every`; `None`: never looked at, so only
    /// SIGHUP reloads) or on SIGHUP, until `shutdown`. `on_reload` learns each outcome (for a
    /// counter). A failed reload keeps the old pair.
    pub async fn watch(self, every: Option<Duration>, mut shutdown: watch::Receiver<bool>, on_reload: impl Fn(bool)) {
        let CertSource::Files { cert, key } = self.source.clone() else { return };
        let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        let mut seen = self.loaded;
        let mut tick = every.map(|every| {
            let mut t = tokio::time::interval(every);
            t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            t
        });
        loop {
            let hangup = async {
                match hup.as_mut() {
                    Some(h) => drop(h.recv().await),
                    None => std::future::pending().await,
                }
            };
            let poll = async {
                match tick.as_mut() {
                    Some(t) => drop(t.tick().await),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = stopped(&mut shutdown) => return,
                _ = hangup => seen = stamp(&cert, &key),
                _ = poll => {
                    let now = stamp(&cert, &key);
                    if now == seen {
                        continue;
                    }
                    seen = now;
                }
            }
            match self.reload() {
                Ok(()) => {
                    tracing::info!(cert = %cert.display(), "TLS certificate reloaded");
                    on_reload(true);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "TLS certificate not reloaded; the previous one stays");
                    on_reload(false);
                }
            }
        }
    }
}

/// ring, named here rather than taken from the process default, so building a configuration
/// can never panic on a missing default (shared/CRATES.md: one provider, ring).
fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// What identifies a version of the files: modification time and length of each.
type Stamp = [Option<(SystemTime, u64)>; 2];

fn stamp(cert: &Path, key: &Path) -> Stamp {
    let of = |p: &Path| std::fs::metadata(p).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
    [of(cert), of(key)]
}

fn read_pair(cert: &Path, key: &Path) -> Result<CertifiedKey, TlsError> {
    let cert_err = |message: String| TlsError::Cert { path: cert.to_path_buf(), message };
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .map_err(|e| cert_err(e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| cert_err(e.to_string()))?;
    if chain.is_empty() {
        return Err(cert_err("no CERTIFICATE block".into()));
    }
    let key_err = |message: String| TlsError::Key { path: key.to_path_buf(), message };
    let der = PrivateKeyDer::from_pem_file(key).map_err(|e| key_err(e.to_string()))?;
    let signer = rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| key_err(e.to_string()))?;
    let pair = CertifiedKey::new(chain, signer);
    match pair.keys_match() {
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => Ok(pair),
        Err(_) => Err(TlsError::Mismatch { cert: cert.to_path_buf(), key: key.to_path_buf() }),
    }
}

fn self_signed() -> Result<(CertifiedKey, String), TlsError> {
    let names = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    let generated = rcgen::generate_simple_self_signed(names).map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let der = PrivateKeyDer::try_from(generated.signing_key.serialize_der())
        .map_err(|e| TlsError::SelfSigned(e.to_owned()))?;
    let signer =
        rustls::crypto::ring::sign::any_supported_type(&der).map_err(|e| TlsError::SelfSigned(e.to_string()))?;
    let pem = generated.cert.pem();
    Ok((CertifiedKey::new(vec![generated.cert.der().clone()], signer), pem))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_pair(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
        let g = rcgen::generate_simple_self_signed(vec![name.to_owned()]).unwrap();
        let (c, k) = (dir.join(format!("{name}.crt")), dir.join(format!("{name}.key")));
        std::fs::write(&c, g.cert.pem()).unwrap();
        std::fs::write(&k, g.signing_key.serialize_pem()).unwrap();
        (c, k)
    }

    fn leaf(tls: &Tls) -> Vec<u8> {
        tls.current.0.load().cert[0].to_vec()
    }

    #[test]
    fn a_valid_pair_on_disk_replaces_the_certificate_and_a_bad_one_keeps_the_old() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = write_pair(dir.path(), "a.test");
        let tls = Tls::load(CertSource::Files { cert: cert.clone(), key: key.clone() }).unwrap();
        let first = leaf(&tls);
        let (c2, k2) = write_pair(dir.path(), "b.test");
        std::fs::copy(&c2, &cert).unwrap();
        std::fs::copy(&k2, &key).unwrap();
        tls.reload().unwrap();
        let second = leaf(&tls);
        assert_ne!(first, second);
        std::fs::write(&key, "not a key").unwrap();
        assert!(matches!(tls.reload(), Err(TlsError::Key { .. })));
        assert_eq!(leaf(&tls), second, "a failed reload keeps serving the last good pair");
    }

    #[test]
    fn a_key_of_another_certificate_is_refused_naming_both_files() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, _) = write_pair(dir.path(), "a.test");
        let (_, other_key) = write_pair(dir.path(), "b.test");
        let err = Tls::load(CertSource::Files { cert, key: other_key }).err().unwrap();
        assert!(matches!(err, TlsError::Mismatch { .. }), "{err}");
    }
}
