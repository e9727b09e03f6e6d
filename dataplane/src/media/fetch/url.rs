//! The URLs a media fetch follows: only absolute http(s) URLs, and redirect targets resolved
//! against the URL that redirected. Pure functions; no I/O.

use http::{StatusCode, Uri};

/// An absolute http(s) URL with a host.
pub(super) fn parse(url: &str) -> Option<Uri> {
    let uri: Uri = url.trim().parse().ok()?;
    let scheme = uri.scheme_str()?;
    let known = scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https");
    (known && uri.host().is_some_and(|h| !h.is_empty())).then_some(uri)
}

pub(super) fn is_redirect(status: StatusCode) -> bool {
    matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308)
}

/// Resolves a Location header against the URL that sent it (RFC 9110 §10.2.2 allows
/// relative references); answers only http(s) URLs.
pub(super) fn join(base: &Uri, location: &str) -> Option<Uri> {
    let location = location.split('#').next().unwrap_or_default();
    let scheme = base.scheme_str()?;
    let authority = base.authority()?.as_str();
    let absolute = if has_scheme(location) {
        location.to_owned()
    } else if let Some(rest) = location.strip_prefix("//") {
        format!("{scheme}://{rest}")
    } else if location.starts_with('/') {
        format!("{scheme}://{authority}{location}")
    } else if location.starts_with('?') {
        format!("{scheme}://{authority}{}{location}", base.path())
    } else {
        let dir = base.path().rsplit_once('/').map(|(dir, _)| dir).unwrap_or_default();
        format!("{scheme}://{authority}{dir}/{location}")
    };
    parse(&absolute)
}

/// Whether a reference starts with a scheme (RFC 3986 §3.1: a letter, then letters, digits,
/// `+`, `-` or `.`, then `:`).
fn has_scheme(reference: &str) -> bool {
    let Some((scheme, _)) = reference.split_once(':') else { return false };
    scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
}
