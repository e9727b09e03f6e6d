//! Z-API's error shape, `{"error": "...", "message": "..."}` (seed 001: `{"error": "Invalid
//! phone"}`), and the one function that maps every failure of this dialect to HTTP.

use chatedge_serve::{BodyError, Resp};
use hyper::header::{HeaderValue, ALLOW, RETRY_AFTER};
use hyper::StatusCode;
use serde_json::json;

use crate::error::{Blame, CoreError};
use crate::media::MediaError;
use crate::network::account::AccountError;
use crate::sync::control::ControlError;

#[derive(Debug)]
pub enum ZapiError {
    /// Unknown instance or wrong token (deliberately the same answer).
    Unauthorized,
    /// The instance exists but is stopped (trial over, unpaid).
    Inactive,
    RouteNotFound,
    MethodNotAllowed {
        allowed: &'static str,
    },
    Body(BodyError),
    /// The body is not a JSON object.
    BadJson(String),
    /// A field is missing or wrong: `error` is Z-API's short text, `message` says how to fix it.
    Invalid {
        error: &'static str,
        message: String,
    },
    /// What the path names does not exist (e.g. a webhook event id): 404.
    NotFound {
        error: &'static str,
        message: String,
    },
    Core(CoreError),
    Control(ControlError),
    /// The control plane took a settings change, but it has not reached this node in time.
    NotAppliedYet,
    /// The media in `field` cannot be stored.
    Media {
        field: &'static str,
        error: crate::media::MediaError,
    },
    /// Too many large media bodies are being received at once.
    UploadsBusy,
    /// The network refused an account call (contacts, groups, …).
    Account(AccountError),
    /// The Idempotency-Key was used before (within a day) for a different request.
    IdempotencyConflict,
    /// The instance's account refuses the call (IP allowlist, Client-Token, disabled, unpaid).
    Refused(crate::auth::Refusal),
}

impl From<CoreError> for ZapiError {
    fn from(e: CoreError) -> Self {
        ZapiError::Core(e)
    }
}

impl From<ControlError> for ZapiError {
    fn from(e: ControlError) -> Self {
        ZapiError::Control(e)
    }
}

impl From<crate::api::settings::SettingsError> for ZapiError {
    fn from(e: crate::api::settings::SettingsError) -> Self {
        use crate::api::settings::SettingsError;
        match e {
            SettingsError::RefusedUrl(message) => ZapiError::invalid("Invalid webhook url", message),
            SettingsError::Control(e) => ZapiError::Control(e),
            SettingsError::NotAppliedYet => ZapiError::NotAppliedYet,
        }
    }
}

impl ZapiError {
    pub fn invalid(error: &'static str, message: impl Into<String>) -> Self {
        ZapiError::Invalid { error, message: message.into() }
    }

    /// Short reason for the refusal counter (bounded).
    pub fn reason(&self) -> &'static str {
        match self {
            ZapiError::Unauthorized => "unauthorized",
            ZapiError::Inactive => "inactive",
            ZapiError::RouteNotFound => "route_not_found",
            ZapiError::MethodNotAllowed { .. } => "method_not_allowed",
            ZapiError::Body(BodyError::TooLarge { .. }) => "body_too_large",
            ZapiError::Body(BodyError::Broken(_)) => "body_broken",
            ZapiError::BadJson(_) => "bad_json",
            ZapiError::Invalid { .. } => "invalid_field",
            ZapiError::NotFound { .. } => "not_found",
            ZapiError::Core(_) => "core",
            ZapiError::Control(_) | ZapiError::NotAppliedYet => "control_plane",
            ZapiError::Media { error: MediaError::Io(_), .. } => "media_storage",
            ZapiError::Media { .. } => "invalid_media",
            ZapiError::UploadsBusy => "uploads_busy",
            ZapiError::IdempotencyConflict => "idempotency_conflict",
            ZapiError::Refused(r) => r.reason(),
            ZapiError::Account(e) => match e {
                AccountError::NotConnected => "not_connected",
                AccountError::AlreadyConnected => "already_connected",
                AccountError::NotFound(_) => "not_found",
                AccountError::Refused(_) => "network_refused",
                AccountError::NotBusiness => "not_business",
                AccountError::Limit(_) => "account_limit",
                AccountError::Unavailable(_) => "network_unavailable",
                AccountError::Unsupported(_) => "network_unsupported",
            },
        }
    }

    pub fn into_response(self) -> Resp {
        let (status, error, message): (StatusCode, &str, String) = match &self {
            ZapiError::Unauthorized => {
                (StatusCode::UNAUTHORIZED, "Unauthorized", "unknown instance or invalid token".into())
            }
            ZapiError::Refused(r) => {
                let (status, body) = r.response();
                return chatedge_serve::json(status, &body);
            }
            ZapiError::Inactive => (
                StatusCode::FORBIDDEN,
                "Instance not active",
                "the instance is stopped (trial ended or payment pending)".into(),
            ),
            ZapiError::RouteNotFound => (StatusCode::NOT_FOUND, "Route not found", "no such Z-API method".into()),
            ZapiError::MethodNotAllowed { allowed } => {
                let mut res = chatedge_serve::json(
                    StatusCode::METHOD_NOT_ALLOWED,
                    &json!({"error": "Method not allowed", "message": format!("use {allowed}")}),
                );
                res.headers_mut().insert(ALLOW, HeaderValue::from_static(allowed));
                return res;
            }
            ZapiError::Body(BodyError::TooLarge { limit }) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "Body too large",
                format!("request bodies are limited to {limit} bytes"),
            ),
            ZapiError::Body(BodyError::Broken(e)) => {
                (StatusCode::BAD_REQUEST, "Bad request", format!("could not read the body: {e}"))
            }
            ZapiError::BadJson(e) => (StatusCode::BAD_REQUEST, "Invalid JSON", e.clone()),
            ZapiError::Invalid { error, message } => (StatusCode::BAD_REQUEST, error, message.clone()),
            ZapiError::NotFound { error, message } => (StatusCode::NOT_FOUND, error, message.clone()),
            ZapiError::Core(e) => return core_response(e),
            ZapiError::Control(ControlError::Refused { status, body }) if status.is_client_error() => {
                return chatedge_serve::bytes(*status, "application/json", body.clone());
            }
            ZapiError::Control(e) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Control plane unavailable",
                format!("{e}; settings changes need the control plane, messages are still accepted"),
            ),
            ZapiError::NotAppliedYet => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Not applied yet",
                "the change was saved by the control plane but has not reached this node yet; it applies shortly"
                    .into(),
            ),
            ZapiError::Media { field, error } => {
                let status = match error {
                    MediaError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
                    MediaError::Io(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                };
                let message = match error {
                    MediaError::BadBase64(_)
                    | MediaError::Empty
                    | MediaError::Sticker(_)
                    | MediaError::Svg(_)
                    | MediaError::Picture(_) => {
                        format!("{field} {error}")
                    }
                    _ => format!("{field}: {error}"),
                };
                (status, "Invalid media", message)
            }
            ZapiError::Account(e) => return account_response(e),
            ZapiError::IdempotencyConflict => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Idempotency-Key reused",
                "this Idempotency-Key was already used for a different request (another route or body) in the \
                 last 24 hours; use a new key for a new message"
                    .into(),
            ),
            ZapiError::UploadsBusy => {
                let mut res = chatedge_serve::json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &json!({"error": "Too many uploads", "message": "too much media is being received right now; retry shortly"}),
                );
                res.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
                return res;
            }
        };
        chatedge_serve::json(status, &json!({"error": error, "message": message}))
    }
}

/// A refused account call in Z-API's shape. Routes whose seed answers a refusal with
/// `{"value": false}` or `{"success": false}` render that themselves before getting here.
fn account_response(e: &AccountError) -> Resp {
    let (status, error) = match e {
        AccountError::NotConnected => return core_response(&CoreError::NotConnected),
        AccountError::AlreadyConnected => return core_response(&CoreError::AlreadyConnected),
        AccountError::NotFound(_) => (StatusCode::NOT_FOUND, "Not found"),
        AccountError::Refused(_) => (StatusCode::BAD_REQUEST, "Not allowed"),
        AccountError::NotBusiness => (StatusCode::BAD_REQUEST, "Business account required"),
        AccountError::Limit(_) => (StatusCode::BAD_REQUEST, "Limit reached"),
        AccountError::Unsupported(_) => (StatusCode::BAD_REQUEST, "Not supported on this network"),
        AccountError::Unavailable(_) => {
            let mut res = chatedge_serve::json(
                StatusCode::SERVICE_UNAVAILABLE,
                &json!({"error": "Temporarily unavailable", "message": e.to_string()}),
            );
            res.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
            return res;
        }
    };
    let message = match e {
        AccountError::NotBusiness => "This method is only available for WhatsApp Business accounts.".to_owned(),
        _ => e.to_string(),
    };
    chatedge_serve::json(status, &json!({"error": error, "message": message}))
}

fn core_response(e: &CoreError) -> Resp {
    let (status, error) = match e {
        CoreError::QueueFull { .. } => (StatusCode::TOO_MANY_REQUESTS, "Queue full"),
        CoreError::DailyQuota { .. } => (StatusCode::TOO_MANY_REQUESTS, "Daily quota reached"),
        CoreError::DailyLimit { .. } => (StatusCode::TOO_MANY_REQUESTS, "Daily limit reached"),
        CoreError::AlreadyConnected => (StatusCode::CONFLICT, "You are already connected."),
        CoreError::Reconnecting => (StatusCode::CONFLICT, "Reconnecting"),
        CoreError::PairingExpired => (StatusCode::CONFLICT, "QR code expired"),
        CoreError::NotInQueue => (StatusCode::NOT_FOUND, "Message not found in queue"),
        CoreError::InFlight => (StatusCode::CONFLICT, "Message already being sent"),
        CoreError::NotConnected => (StatusCode::CONFLICT, "You are not connected."),
        CoreError::UnknownInstance => (StatusCode::UNAUTHORIZED, "Unauthorized"),
        CoreError::StoreBusy => (StatusCode::SERVICE_UNAVAILABLE, "Storage busy"),
        CoreError::StoreFailing(_) => (StatusCode::SERVICE_UNAVAILABLE, "Storage unavailable"),
        _ => {
            debug_assert_eq!(e.blame(), Blame::Unavailable);
            (StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable")
        }
    };
    let mut res = chatedge_serve::json(status, &json!({"error": error, "message": e.to_string()}));
    if let Some(secs) = e.retry_after_s() {
        res.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_refusals_are_503_with_retry_after() {
        for (e, secs) in [(CoreError::StoreBusy, "1"), (CoreError::StoreFailing("disk full".into()), "5")] {
            let res = core_response(&e);
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "{e}");
            assert_eq!(res.headers().get(RETRY_AFTER).and_then(|v| v.to_str().ok()), Some(secs), "{e}");
        }
        assert!(core_response(&CoreError::NotInQueue).headers().get(RETRY_AFTER).is_none());
    }
}
