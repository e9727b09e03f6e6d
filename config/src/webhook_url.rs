//! `WebhookUrl`: where an instance's events are POSTed. Like Z-API, only HTTPS is accepted;
//! `[webhooks] allow_insecure_loopback = true` also admits `http://127.0.0.1…`,
//! `http://localhost…` and `http://[::1]…` for development and tests. The policy is applied
//! when a URL is set (control plane) and again when a snapshot is applied (data plane).

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
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({})", self.0)
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
    fn garbage_is_not_a_url() {
        assert_eq!(WebhookUrl::parse("not a url", DEV), Err(WebhookUrlError::NotAbsolute));
        assert_eq!(WebhookUrl::parse("/relative", DEV), Err(WebhookUrlError::NotAbsolute));
        assert_eq!(WebhookUrl::parse("ftp://x/y", DEV), Err(WebhookUrlError::NotHttps));
    }
}
