//! `WebhookUrl`: where an instance's events are POSTed. Like Z-API, only HTTPS is accepted;
//! `[webhooks] allow_insecure_loopback = true` also admits `http://` to a loopback IP literal
//! (`127.x.y.z`, `[::1]`) or exactly `localhost`, for development and tests. This is the
//! syntactic check, applied when a URL is set and again when a snapshot is applied; which
//! *addresses* the host may resolve to is the [`AddressPolicy`](crate::AddressPolicy)'s
//! business, checked when a URL is set and again at connect time.
//!
//! Integrators put credentials in query strings and userinfo: logs and error messages show
//! [`WebhookUrl::redacted`], never the URL itself (`Debug` is redacted too).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Longest accepted URL.
const MAX_URL_LEN: usize = 2048;

/// Which webhook URLs are acceptable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    pub allow_insecure_loopback: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("webhook URL is longer than {MAX_URL_LEN} characters")]
    TooLong,
    #[error("webhook URL is not an absolute URL")]
    NotAbsolute,
    #[error(
        "webhook URL must use https (http is accepted only for 127.0.0.1, localhost or [::1] \
         when [webhooks] allow_insecure_loopback = true)"
    )]
    NotHttps,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    pub fn parse(s: &str, policy: UrlPolicy) -> Result<Self, WebhookUrlError> {
        if s.len() > MAX_URL_LEN {
            return Err(WebhookUrlError::TooLong);
        }
        let uri: http::Uri = s.parse().map_err(|_| WebhookUrlError::NotAbsolute)?;
        let host = uri.host().filter(|h| !h.is_empty()).ok_or(WebhookUrlError::NotAbsolute)?;
        match uri.scheme_str() {
            Some("https") => Ok(WebhookUrl(s.to_owned())),
            Some("http") if policy.allow_insecure_loopback && is_loopback(host) => Ok(WebhookUrl(s.to_owned())),
            Some(_) => Err(WebhookUrlError::NotHttps),
            None => Err(WebhookUrlError::NotAbsolute),
        }
    }

    /// Re-checks a URL that arrived in a snapshot against this node's policy.
    pub fn check(&self, policy: UrlPolicy) -> Result<(), WebhookUrlError> {
        WebhookUrl::parse(&self.0, policy).map(|_| ())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The host as a resolver takes it: a name, or an IP literal without brackets.
    pub fn host(&self) -> String {
        self.uri().and_then(|u| u.host().map(|h| unbracket(h).to_owned())).unwrap_or_default()
    }

    /// The port requests go to (the scheme's default when the URL names none).
    pub fn port(&self) -> u16 {
        let uri = self.uri();
        let explicit = uri.as_ref().and_then(|u| u.port_u16());
        explicit.unwrap_or(match uri.as_ref().and_then(|u| u.scheme_str()) {
            Some("http") => 80,
            _ => 443,
        })
    }

    /// `scheme://host[:port]/path`: no userinfo, no query string, no fragment. What logs and
    /// error messages show.
    pub fn redacted(&self) -> String {
        redact(&self.0)
    }

    fn uri(&self) -> Option<http::Uri> {
        self.0.parse().ok()
    }
}

/// [`WebhookUrl::redacted`] for a URL that may not have been accepted (error messages about
/// refused input). Something that does not parse shows as `<unparsable URL>`.
pub fn redact(url: &str) -> String {
    let Ok(uri) = url.parse::<http::Uri>() else { return "<unparsable URL>".into() };
    let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else { return "<unparsable URL>".into() };
    match uri.port_u16() {
        Some(port) => format!("{scheme}://{host}:{port}{}", uri.path()),
        None => format!("{scheme}://{host}{}", uri.path()),
    }
}

fn unbracket(host: &str) -> &str {
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// Whether plain http may go to `host`: a loopback IP literal, or the name `localhost` itself.
/// A name that merely starts like one (`127.evil.example`) is a name, resolved like any other.
fn is_loopback(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    match unbracket(host).parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => v6.to_ipv4_mapped().map_or(v6.is_loopback(), |v4| v4.is_loopback()),
        Ok(ip) => ip.is_loopback(),
        Err(_) => false,
    }
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRICT: UrlPolicy = UrlPolicy { allow_insecure_loopback: false };
    const DEV: UrlPolicy = UrlPolicy { allow_insecure_loopback: true };

    #[test]
    fn https_is_always_accepted() {
        assert!(WebhookUrl::parse("https://example.com/hook", STRICT).is_ok());
    }

    #[test]
    fn plain_http_is_refused_unless_loopback_is_allowed() {
        assert_eq!(WebhookUrl::parse("http://127.0.0.1:9000/hook", STRICT), Err(WebhookUrlError::NotHttps));
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook", DEV).is_ok());
        assert!(WebhookUrl::parse("http://localhost/hook", DEV).is_ok());
        assert_eq!(WebhookUrl::parse("http://example.com/hook", DEV), Err(WebhookUrlError::NotHttps));
    }

    #[test]
    fn only_loopback_literals_and_localhost_count_as_loopback() {
        for url in [
            "http://127.0.0.1/",
            "http://127.1.2.3:8/x",
            "http://[::1]:9/",
            "http://LOCALHOST/",
            "http://[::ffff:127.0.0.1]/",
        ] {
            assert!(WebhookUrl::parse(url, DEV).is_ok(), "{url}");
        }
        for url in [
            "http://127.evil.example/",
            "http://127.0.0.1.nip.io/",
            "http://localhost.evil.example/",
            "http://evil-localhost/",
            "http://[::2]/",
            "http://10.0.0.1/",
        ] {
            assert_eq!(WebhookUrl::parse(url, DEV), Err(WebhookUrlError::NotHttps), "{url}");
        }
    }

    #[test]
    fn redacted_urls_keep_scheme_host_port_and_path_only() {
        let url =
            WebhookUrl::parse("https://user:pw@hooks.example.com:8443/in/zapi?token=SECRET#frag", STRICT).unwrap();
        assert_eq!(url.redacted(), "https://hooks.example.com:8443/in/zapi");
        assert!(!format!("{url:?}").contains("SECRET"));
        let url = WebhookUrl::parse("https://[2001:db8::1]/h?k=v", STRICT).unwrap();
        assert_eq!(url.redacted(), "https://[2001:db8::1]/h");
        assert_eq!(redact("not a url?token=x"), "<unparsable URL>");
    }

    #[test]
    fn host_and_port_are_what_a_resolver_is_given() {
        let url = WebhookUrl::parse("https://[::1]:9000/h?x", STRICT).unwrap();
        assert_eq!((url.host().as_str(), url.port()), ("::1", 9000));
        let url = WebhookUrl::parse("https://hooks.example.com/h", STRICT).unwrap();
        assert_eq!((url.host().as_str(), url.port()), ("hooks.example.com", 443));
        let url = WebhookUrl::parse("http://localhost/h", DEV).unwrap();
        assert_eq!((url.host().as_str(), url.port()), ("localhost", 80));
    }

    #[test]
    fn garbage_is_not_a_url() {
        assert_eq!(WebhookUrl::parse("not a url", DEV), Err(WebhookUrlError::NotAbsolute));
        assert_eq!(WebhookUrl::parse("/relative", DEV), Err(WebhookUrlError::NotAbsolute));
        assert_eq!(WebhookUrl::parse("ftp://x/y", DEV), Err(WebhookUrlError::NotHttps));
    }
}
