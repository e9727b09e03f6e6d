//! Fuzz target `cloud_api_webhook`: the Cloud API webhook's parsers. A POST body is signed
//! with the instance's app secret, so every input reaches the notification parser rather than
//! the signature check; an input starting with `?` is the GET verification handshake's query.

#![no_main]

use chatedge_fuzz::{check, harness};
use hyper::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use hyper::Method;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let h = harness();
    let path = format!("/network/cloud-api/{}/webhook", h.cloud.id);
    let answer = match data.strip_prefix(b"?") {
        Some(query) => {
            let query = String::from_utf8_lossy(query);
            let path = format!("{path}?{query}");
            h.request(Method::GET, &path, &[], Vec::new())
        }
        None => {
            let Ok(signature) = HeaderValue::from_str(&h.sign(data)) else { return };
            let headers = [
                (CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (HeaderName::from_static("x-hub-signature-256"), signature),
            ];
            h.request(Method::POST, &path, &headers, data.to_vec())
        }
    };
    check(&path, &answer);
});
