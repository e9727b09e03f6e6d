//! `GET|POST /network/cloud-api/{instanceId}/webhook`: the Cloud API webhook of one instance,
//! the URL its owner registers in Meta's app dashboard (issue 12, §3).
//!
//! - `GET` is Meta's verification handshake: `hub.mode=subscribe` and `hub.verify_token` equal
//!   to the instance's verify token → 200 with `hub.challenge` as plain text; anything else 403.
//! - `POST` is a notification. The body is read (at most `[dataplane] max_body_bytes`), then
//!   `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret, raw body)>` is checked in
//!   constant time before anything is parsed: missing → 401, wrong → 403. A verified
//!   notification is handed to [`crate::network::cloud_api::inbound::Inbound`] and answered
//!   200 only once its events are committed; 5xx otherwise, so Meta retries.
//!
//! Every answer is counted in `chatedge_dp_cloud_api_notifications_total{outcome}`. Runs on the
//! HTTP runtime; holds no state.

use chatedge_config::snapshot::{CloudApiAccount, Network};
use chatedge_config::InstanceId;
use chatedge_serve::Body;
use chatedge_serve::{BodyError, Resp};
use hmac::{Hmac, KeyInit, Mac};
use hyper::{Method, Request, StatusCode};
use serde_json::json;
use sha2::Sha256;

use crate::api::App;
use crate::network::cloud_api::inbound::InboundError;
use crate::network::cloud_api::notification;

/// The signature header Meta sets on every notification.
pub const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// Answers one webhook request; returns the bounded route label and the answer.
pub async fn handle(app: &App, req: Request<Body>, id: &str) -> (&'static str, Resp) {
    let is_get = req.method() == Method::GET;
    let label = if is_get { "cloud_api.webhook_verify" } else { "cloud_api.webhook" };
    let answer = match (req.method(), account_of(app, id)) {
        (_, None) => refuse(app, "unknown_instance", StatusCode::NOT_FOUND, "no Cloud API instance with this id"),
        (&Method::GET, Some((_, account))) => verify(app, req.uri().query(), &account),
        (&Method::POST, Some((instance, account))) => notify(app, req, instance, &account).await,
        _ => chatedge_serve::json(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": "Method not allowed", "message": "use GET (verification) or POST (notifications)"}),
        ),
    };
    (label, answer)
}

fn account_of(app: &App, id: &str) -> Option<(InstanceId, CloudApiAccount)> {
    let id = InstanceId::parse(id).ok()?;
    match &app.config.load().instances.get(&id)?.network {
        Network::CloudApi(account) => Some((id, account.clone())),
        Network::Sim | Network::WhatsappWeb => None,
    }
}

fn count(app: &App, outcome: &str) {
    app.metrics.cloud_api_notifications.with_label_values(&[outcome]).inc();
}

fn refuse(app: &App, outcome: &str, status: StatusCode, message: &str) -> Resp {
    count(app, outcome);
    chatedge_serve::json(status, &json!({"error": outcome, "message": message}))
}

/// The verification handshake.
fn verify(app: &App, query: Option<&str>, account: &CloudApiAccount) -> Resp {
    let mode = chatedge_serve::query_param(query, "hub.mode");
    let token = chatedge_serve::query_param(query, "hub.verify_token").unwrap_or_default();
    let challenge = chatedge_serve::query_param(query, "hub.challenge").unwrap_or_default();
    let ok = mode.as_deref() == Some("subscribe")
        && same(token.as_bytes(), account.verify_token.expose().as_bytes())
        && !challenge.is_empty();
    if !ok {
        return refuse(app, "verify_refused", StatusCode::FORBIDDEN, "hub.mode or hub.verify_token does not match");
    }
    count(app, "verified");
    chatedge_serve::bytes(StatusCode::OK, "text/plain", challenge)
}

/// Constant-time equality (the length is not secret).
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether `header` (`sha256=<hex>`) is the HMAC-SHA256 of `body` under `secret`. The MAC
/// comparison is `hmac`'s constant-time `verify_slice`.
pub fn signature_ok(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex) = header.trim().strip_prefix("sha256=") else { return false };
    let Some(given) = decode_hex(hex) else { return false };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else { return false };
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

async fn notify(app: &App, req: Request<Body>, instance: InstanceId, account: &CloudApiAccount) -> Resp {
    let Some(inbound) = app.cloud.as_ref() else {
        return refuse(app, "unavailable", StatusCode::SERVICE_UNAVAILABLE, "the Cloud API network is not set up");
    };
    let (parts, body) = req.into_parts();
    // An unsigned notification is refused before its body is read.
    let Some(signature) = parts.headers.get(SIGNATURE_HEADER).and_then(|v| v.to_str().ok()) else {
        return refuse(app, "bad_signature", StatusCode::UNAUTHORIZED, "X-Hub-Signature-256 is required");
    };
    let body = match chatedge_serve::read_body(&parts.headers, body, app.limits.max_body_bytes).await {
        Ok(b) => b,
        Err(BodyError::TooLarge { limit }) => {
            return refuse(app, "too_large", StatusCode::PAYLOAD_TOO_LARGE, &format!("the body exceeds {limit} bytes"))
        }
        Err(BodyError::Broken(e)) => return refuse(app, "malformed", StatusCode::BAD_REQUEST, &e),
    };
    if !signature_ok(account.app_secret.expose().as_bytes(), &body, signature) {
        return refuse(app, "bad_signature", StatusCode::FORBIDDEN, "X-Hub-Signature-256 does not match the body");
    }
    let parsed = match notification::parse(&body, &account.phone_number_id) {
        Ok(p) => p,
        Err(e) => return refuse(app, "malformed", StatusCode::BAD_REQUEST, &e.to_string()),
    };
    match inbound.deliver(instance, account, parsed).await {
        Ok(d) => {
            count(app, "committed");
            let body = json!({"handed": d.handed, "duplicates": d.duplicates, "unknown": d.unknown});
            chatedge_serve::json(StatusCode::OK, &body)
        }
        Err(e) => {
            let (outcome, status) = match &e {
                InboundError::Busy => ("busy", StatusCode::SERVICE_UNAVAILABLE),
                InboundError::Media(_) => ("media_failed", StatusCode::BAD_GATEWAY),
                _ => ("unavailable", StatusCode::SERVICE_UNAVAILABLE),
            };
            tracing::warn!(%instance, error = %e, "a Cloud API notification was not kept; Meta will retry it");
            refuse(app, outcome, status, &e.to_string())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sign(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).unwrap();
        mac.update(body);
        let bytes = mac.finalize().into_bytes();
        format!("sha256={}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    #[test]
    fn only_the_hmac_of_the_exact_body_under_the_app_secret_passes() {
        let body = br#"{"object":"whatsapp_business_account","entry":[]}"#;
        let good = sign(b"app-secret", body);
        assert!(signature_ok(b"app-secret", body, &good));
        assert!(signature_ok(b"app-secret", body, &good.to_uppercase().replace("SHA256=", "sha256=")));
        assert!(!signature_ok(b"other-secret", body, &good));
        assert!(!signature_ok(b"app-secret", b"{\"object\":\"x\"}", &good));
        assert!(!signature_ok(b"app-secret", body, good.trim_start_matches("sha256=")));
        assert!(!signature_ok(b"app-secret", body, "sha256=zz"));
        assert!(!signature_ok(b"app-secret", body, ""));
    }

    #[test]
    fn tokens_compare_equal_only_when_identical() {
        assert!(same(b"abc", b"abc"));
        assert!(!same(b"abc", b"abd"));
        assert!(!same(b"abc", b"abcd"));
    }
}
