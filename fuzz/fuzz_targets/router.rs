//! Fuzz target `router`: whole requests against the data plane's router — any method, any
//! path (integrator routes forwarded to the control plane included), any headers, any body.
//! Input: `METHOD /path\nName: value\n…\n\nbody`; in the path and header values `{sim}`,
//! `{token}`, `{cloud}`, `{admin}` and `{integrator}` stand for the harness's real ids and
//! tokens, so the fuzzer reaches past authentication. Instance deletion is skipped: it would
//! leave the rest of the run nothing to reach.

#![no_main]

use chatedge_fuzz::{check, harness, request_line};
use hyper::header::{HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let Some((method, path, rest)) = request_line(data) else { return };
    let fill = |s: &str| {
        s.replace("{sim}", &h.sim.id)
            .replace("{token}", &h.sim.token)
            .replace("{cloud}", &h.cloud.id)
            .replace("{admin}", &h.admin_token)
            .replace("{integrator}", &h.integrator_token)
    };
    let path = fill(&path);
    let path = if path.starts_with('/') { path } else { format!("/{path}") };
    if method == hyper::Method::DELETE && path.trim_end_matches('/').rsplit('/').nth(1) == Some("instances") {
        return; // deleting the harness's own instances would leave nothing to fuzz
    }
    let (head, body) = split_head(&rest);
    let headers: Vec<(HeaderName, HeaderValue)> = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .filter_map(|(k, v)| {
            let name = HeaderName::from_bytes(k.trim().as_bytes()).ok()?;
            let value = HeaderValue::from_str(&fill(v.trim())).ok()?;
            Some((name, value))
        })
        .take(32)
        .collect();
    let answer = h.request(method, &path, &headers, body.to_vec());
    check(&path, &answer);
});

/// Headers up to the first empty line, then the body.
fn split_head(rest: &[u8]) -> (String, &[u8]) {
    match rest.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (String::from_utf8_lossy(&rest[..i]).into_owned(), &rest[i + 2..]),
        None => (String::new(), rest),
    }
}
