//! Fuzz target `zapi_routes`: every body parser of the Z-API dialect. Each input is one call
//! on the harness's paired sim instance, authenticated: `METHOD route\nbody` (`POST
//! send-text\n{"phone": …}`), or, when the first line is not that, the documented route chosen
//! by the first two bytes (its `{params}` filled with `1`) and the rest as its body.

#![no_main]

use chatedge_fuzz::{check, harness, request_line};
use hyper::header::{HeaderValue, CONTENT_TYPE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let (method, route, body) = match request_line(data) {
        Some(call) => call,
        None if data.len() >= 2 && !h.routes.is_empty() => {
            let (method, pattern) = &h.routes[usize::from(u16::from_le_bytes([data[0], data[1]])) % h.routes.len()];
            (method.clone(), fill_params(pattern), data[2..].to_vec())
        }
        None => return,
    };
    let path = h.sim_path(&route);
    let headers = [(CONTENT_TYPE, HeaderValue::from_static("application/json"))];
    let answer = h.request(method, &path, &headers, body);
    check(&path, &answer);
});

/// `group-metadata/{groupId}` → `group-metadata/1`.
fn fill_params(pattern: &str) -> String {
    pattern
        .split('/')
        .map(|s| if s.starts_with('{') && s.ends_with('}') { "1" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}
