//! trust: which server certificates the client accepts, and the rustls client configurations
//! built on that (TCP with the ALPN a protocol needs; QUIC with h3, TLS 1.3 only, no early
//! data). Three sources, checked in order: `--insecure` (anything), the `--ca` PEM (verified
//! as webpki does, names included), and certificates pinned at run time — the baseline
//! server's self-signed certificate, learned when it starts, trusted byte for byte. Verifying
//! runs on whichever task does the handshake; pinning swaps a list (`ArcSwap`), no lock.

use std::sync::Arc;

use arc_swap::ArcSwap;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Why the client's TLS could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("--ca: {0}")]
    Ca(String),
    #[error("TLS client configuration: {0}")]
    Config(String),
}

/// The certificates this client accepts.
#[derive(Debug)]
pub struct Trust {
    insecure: bool,
    /// Verifies against the `--ca` certificates; `None` when none were given.
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// Leaf certificates accepted exactly as they are (the baseline's): replaced whole on
    /// each pin, read once per handshake.
    pinned: ArcSwap<Vec<CertificateDer<'static>>>,
    provider: Arc<CryptoProvider>,
}

/// ring, named rather than taken from the process default (shared/CRATES.md: one provider).
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl Trust {
    /// Trusts `ca_pem`'s certificates (CA or self-signed leaf), or anything when `insecure`.
    pub fn new(insecure: bool, ca_pem: Option<&[u8]>) -> Result<Trust, TrustError> {
        let provider = provider();
        let webpki = match ca_pem {
            None => None,
            Some(pem) => {
                let mut roots = rustls::RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(pem) {
                    let cert = cert.map_err(|e| TrustError::Ca(e.to_string()))?;
                    roots.add(cert).map_err(|e| TrustError::Ca(e.to_string()))?;
                }
                if roots.is_empty() {
                    return Err(TrustError::Ca("no CERTIFICATE block in the file".into()));
                }
                let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| TrustError::Ca(e.to_string()))?;
                Some(verifier)
            }
        };
        Ok(Trust { insecure, webpki, pinned: ArcSwap::from_pointee(Vec::new()), provider })
    }

    /// Trusts nothing until a certificate is pinned (plain http:// runs never ask).
    pub fn none() -> Trust {
        Trust { insecure: false, webpki: None, pinned: ArcSwap::from_pointee(Vec::new()), provider: provider() }
    }

    /// Accepts `cert` from now on, byte for byte, whatever names it carries.
    pub fn pin(&self, cert: CertificateDer<'static>) {
        self.pinned.rcu(|pinned| {
            let mut more = Vec::clone(pinned);
            more.push(cert.clone());
            more
        });
    }

    /// A TCP client configuration offering `alpn` (empty: no ALPN, HTTP/1.1).
    pub fn tcp(self: &Arc<Self>, alpn: &[&[u8]]) -> Result<ClientConfig, TrustError> {
        let builder = ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| TrustError::Config(e.to_string()))?;
        let mut config = builder.dangerous().with_custom_certificate_verifier(self.clone()).with_no_client_auth();
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(config)
    }

    /// The QUIC client configuration: ALPN h3, TLS 1.3 only, no 0-RTT (sends are not
    /// idempotent; chatedge refuses early data anyway).
    pub fn quic(self: &Arc<Self>) -> Result<quinn::crypto::rustls::QuicClientConfig, TrustError> {
        let builder = ClientConfig::builder_with_provider(self.provider.clone())
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(|e| TrustError::Config(e.to_string()))?;
        let mut config = builder.dangerous().with_custom_certificate_verifier(self.clone()).with_no_client_auth();
        config.alpn_protocols = vec![b"h3".to_vec()];
        config.enable_early_data = false;
        quinn::crypto::rustls::QuicClientConfig::try_from(config).map_err(|e| TrustError::Config(e.to_string()))
    }
}

impl ServerCertVerifier for Trust {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self.insecure || self.pinned.load().iter().any(|c| c.as_ref() == end_entity.as_ref()) {
            return Ok(ServerCertVerified::assertion());
        }
        match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(end_entity, intermediates, server_name, ocsp, now),
            None => Err(rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer)),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A certificate for localhost and 127.0.0.1 from chatedge-serve's own generator (rcgen,
    /// as `--tls-self-signed` makes them): its DER and PEM.
    fn generated() -> (CertificateDer<'static>, String) {
        let tls = chatedge_serve::tls::Tls::load(chatedge_serve::tls::CertSource::SelfSigned).expect("generated");
        let pem = tls.self_signed_pem().expect("pem").to_owned();
        (CertificateDer::from_pem_slice(pem.as_bytes()).expect("der"), pem)
    }

    fn verify(trust: &Trust, cert: &CertificateDer<'_>, name: &str) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from(name.to_owned()).expect("name");
        trust.verify_server_cert(cert, &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn a_pinned_certificate_is_trusted_and_others_are_not() {
        let (cert, _) = generated();
        let (other, _) = generated();
        let trust = Trust::none();
        assert!(verify(&trust, &cert, "localhost").is_err(), "nothing trusted yet");
        trust.pin(cert.clone());
        assert!(verify(&trust, &cert, "localhost").is_ok());
        assert!(verify(&trust, &cert, "not-its-name.example").is_ok(), "pinned: bytes, not names");
        assert!(verify(&trust, &other, "localhost").is_err());
        assert!(verify(&Trust::new(true, None).expect("trust"), &other, "localhost").is_ok(), "--insecure");
    }

    #[test]
    fn a_ca_file_trusts_its_certificate_under_its_names_only() {
        let (cert, pem) = generated();
        let trust = Trust::new(false, Some(pem.as_bytes())).expect("trust");
        assert!(verify(&trust, &cert, "localhost").is_ok());
        assert!(verify(&trust, &cert, "127.0.0.1").is_ok(), "chatedge's certificate names its IP too");
        assert!(verify(&trust, &cert, "elsewhere.example").is_err());
        assert!(matches!(Trust::new(false, Some(b"not a pem")), Err(TrustError::Ca(_))));
    }
}
