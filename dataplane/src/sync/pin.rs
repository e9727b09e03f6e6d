//! pin: how this data plane decides it is talking to its own control plane. With a pinned
//! fingerprint (`[dataplane] control_plane_fingerprint`) the one certificate whose SHA-256 is
//! the pin is accepted — whatever its names, issuer or dates, as an SSH host key is — and every
//! other is refused, logged with both fingerprints; the handshake's signatures are still
//! checked by the crypto provider (ring), so only the holder of that certificate's key gets
//! through. Without a pin, https:// control planes are checked against the web PKI roots. Runs
//! inside rustls on the connection's task; holds no state beyond the pin.

use std::sync::Arc;

use chatedge_config::CertFingerprint;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, SignatureScheme};

/// Accepts exactly the certificate whose fingerprint is the pin.
#[derive(Debug)]
pub struct PinnedVerifier {
    pin: CertFingerprint,
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    pub fn new(pin: CertFingerprint, provider: Arc<CryptoProvider>) -> Self {
        PinnedVerifier { pin, provider }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let presented = CertFingerprint::of_der(end_entity);
        if presented == self.pin {
            return Ok(ServerCertVerified::assertion());
        }
        tracing::warn!(
            expected = %self.pin,
            presented = %presented,
            "control plane certificate does not match the pinned fingerprint; not connecting (serving the last snapshot)"
        );
        Err(rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure))
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

/// The client configuration for a pinned control plane link. ALPN is left empty: the HTTPS
/// connector sets it.
pub fn pinned_config(pin: CertFingerprint) -> Result<ClientConfig, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(PinnedVerifier::new(pin, provider)))
        .with_no_client_auth())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verifier(pin_of: &[u8]) -> PinnedVerifier {
        PinnedVerifier::new(CertFingerprint::of_der(pin_of), Arc::new(rustls::crypto::ring::default_provider()))
    }

    fn check(v: &PinnedVerifier, cert: &[u8]) -> Result<ServerCertVerified, rustls::Error> {
        let name = ServerName::try_from("cp.example").unwrap();
        v.verify_server_cert(&CertificateDer::from(cert.to_vec()), &[], &name, &[], UnixTime::now())
    }

    #[test]
    fn only_the_certificate_with_the_pinned_fingerprint_is_accepted_whatever_its_name() {
        let v = verifier(b"the control plane's certificate");
        assert!(check(&v, b"the control plane's certificate").is_ok());
        let other = check(&v, b"another certificate").unwrap_err();
        assert_eq!(other, rustls::Error::InvalidCertificate(CertificateError::ApplicationVerificationFailure));
        assert!(pinned_config(CertFingerprint::of_der(b"x")).is_ok(), "builds with the one provider, ring");
    }
}
