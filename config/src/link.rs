//! link: what both planes must agree on about the connection between them — the control
//! plane's certificate fingerprint a data plane pins ([`CertFingerprint`]), and the rule that a
//! control plane reached over plain HTTP must be on this machine ([`check_control_plane_url`]).
//! It performs no I/O; the TLS handshakes themselves belong to each plane.

use std::fmt;
use std::net::IpAddr;

use sha2::{Digest, Sha256};

/// Why a fingerprint or a control plane URL is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error(
        "'{0}' is not a SHA-256 fingerprint: write 'sha256:' and 64 hex digits (colons allowed, as openssl prints it)"
    )]
    Fingerprint(String),
    #[error("'{0}' is not a URL with a host")]
    Url(String),
    #[error(
        "'{0}' is plain http:// to a host that is not loopback: the node token and every secret would cross the \
         network in the clear; use https:// (the control plane serves TLS when it listens beyond loopback)"
    )]
    PlainHttp(String),
}

/// The SHA-256 of a certificate's DER encoding, as `openssl x509 -noout -fingerprint -sha256`
/// computes it. Written `sha256:` followed by 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CertFingerprint([u8; 32]);

impl CertFingerprint {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> CertFingerprint {
        CertFingerprint(Sha256::digest(der).into())
    }

    /// Reads `sha256:<64 hex>`; the prefix may be omitted (or be `SHA256:`), hex may be either
    /// case and separated by colons (openssl's `AB:CD:…`).
    pub fn parse(text: &str) -> Result<CertFingerprint, LinkError> {
        let bad = || LinkError::Fingerprint(text.to_owned());
        let t = text.trim();
        let hex = match t.split_once(':') {
            Some((prefix, rest)) if prefix.eq_ignore_ascii_case("sha256") => rest,
            _ => t,
        };
        let digits: Vec<u8> = hex.bytes().filter(|b| *b != b':').collect();
        if digits.len() != 64 {
            return Err(bad());
        }
        let mut out = [0u8; 32];
        for (i, pair) in digits.chunks_exact(2).enumerate() {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            out[i] = u8::from_str_radix(pair, 16).map_err(|_| bad())?;
        }
        Ok(CertFingerprint(out))
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

impl fmt::Display for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("sha256:")?;
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

impl fmt::Debug for CertFingerprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CertFingerprint({self})")
    }
}

impl serde::Serialize for CertFingerprint {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Refuses a control plane URL a data plane must not use: not `http(s)://host…`, or plain
/// `http://` to a host other than `localhost` or a loopback address.
pub fn check_control_plane_url(url: &str) -> Result<(), LinkError> {
    let uri: http::Uri = url.parse().map_err(|_| LinkError::Url(url.to_owned()))?;
    let host = uri.host().ok_or_else(|| LinkError::Url(url.to_owned()))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err(LinkError::PlainHttp(url.to_owned())),
        _ => Err(LinkError::Url(url.to_owned())),
    }
}

/// Checks a data plane's advertised address (`[dataplane] advertise_url`): `http://` or
/// `https://`, a host, and nothing after the port (other nodes append the request's own path).
/// Answers it without a trailing `/`.
pub fn check_advertise_url(url: &str) -> Result<String, LinkError> {
    let bad = || LinkError::Url(url.to_owned());
    let trimmed = url.trim().trim_end_matches('/');
    let uri: http::Uri = trimmed.parse().map_err(|_| bad())?;
    let bare = uri.path().is_empty() || uri.path() == "/";
    match (uri.scheme_str(), uri.host(), bare && uri.query().is_none()) {
        (Some("http" | "https"), Some(h), true) if !h.is_empty() => Ok(trimmed.to_owned()),
        _ => Err(bad()),
    }
}

/// `localhost` or a loopback address (`127.0.0.0/8`, `::1`, IPv6 in brackets).
pub fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost") || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fingerprint_reads_back_from_its_own_text_and_from_openssls() {
        let f = CertFingerprint::of_der(b"certificate bytes");
        let text = f.to_string();
        assert!(text.starts_with("sha256:") && text.len() == 7 + 64, "{text}");
        assert_eq!(CertFingerprint::parse(&text), Ok(f));
        let openssl: Vec<String> = f.as_bytes().iter().map(|b| format!("{b:02X}")).collect();
        assert_eq!(CertFingerprint::parse(&openssl.join(":")), Ok(f), "openssl's colon form");
        assert_eq!(CertFingerprint::parse(&format!("SHA256:{}", &text[7..])), Ok(f));
        assert_eq!(CertFingerprint::parse(&text[7..]), Ok(f), "the prefix may be left out");
    }

    #[test]
    fn a_fingerprint_of_the_wrong_length_or_alphabet_is_refused() {
        assert!(CertFingerprint::parse("sha256:abcd").is_err());
        assert!(CertFingerprint::parse(&format!("sha256:{}", "g".repeat(64))).is_err());
        assert!(CertFingerprint::parse(&format!("md5:{}", "a".repeat(64))).is_err());
        assert!(CertFingerprint::parse("").is_err());
    }

    #[test]
    fn an_advertised_address_is_a_base_url_without_a_path() {
        assert_eq!(check_advertise_url("http://10.0.0.7:8080/"), Ok("http://10.0.0.7:8080".into()));
        assert_eq!(check_advertise_url("https://edge-1.example.com"), Ok("https://edge-1.example.com".into()));
        for bad in ["10.0.0.7:8080", "ftp://10.0.0.7", "http://10.0.0.7/api", "http://h:1?x=1", ""] {
            assert!(check_advertise_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn plain_http_is_allowed_to_loopback_only() {
        for ok in [
            "http://127.0.0.1:8081",
            "http://localhost:8081/",
            "http://[::1]:8081",
            "http://127.9.9.9",
            "https://cp.example.com:8081",
            "https://10.0.0.5:8081",
        ] {
            assert_eq!(check_control_plane_url(ok), Ok(()), "{ok}");
        }
        for plain in ["http://10.0.0.5:8081", "http://cp.example.com", "http://0.0.0.0:8081", "http://[fd00::1]:1"] {
            assert!(matches!(check_control_plane_url(plain), Err(LinkError::PlainHttp(_))), "{plain}");
        }
        assert!(matches!(check_control_plane_url("ftp://127.0.0.1"), Err(LinkError::Url(_))));
        assert!(matches!(check_control_plane_url("not a url"), Err(LinkError::Url(_))));
    }
}
