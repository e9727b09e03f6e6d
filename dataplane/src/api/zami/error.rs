//! The Zami dialect's errors and their one mapping to HTTP. Every refusal has the shape of
//! seed 000's answers, `{"success": false, "id": null, "error": "<why, naming the field>"}`,
//! with a status that says whose fault it is; a Z-API error shape never appears here.

use chatedge_serve::{BodyError, Resp};
use hyper::header::{HeaderValue, ALLOW, RETRY_AFTER};
use hyper::StatusCode;
use serde_json::json;

use crate::auth::Refusal;
use crate::error::{Blame, CoreError};
use crate::media::MediaError;

#[derive(Debug, thiserror::Error)]
pub enum ZamiError {
    #[error(
        "no route for {method} /zami/v1/{path}: chatedge serves POST send-text, POST send-media, POST media, \
         GET media/{{id}}, GET and PUT connections/{{id}}/webhook and GET openapi.json here"
    )]
    RouteNotFound { method: String, path: String },
    #[error("method not allowed: use {allowed}")]
    MethodNotAllowed { allowed: &'static str },
    #[error(
        "send your API secret (an integrator token): 'Authorization: <secret>' or 'Authorization: Bearer <secret>'"
    )]
    Unauthorized,
    #[error("unknown connection_id")]
    UnknownConnection,
    /// The connection lives on another data plane: the request goes to it (never rendered but
    /// as an unknown connection).
    #[error("unknown connection_id")]
    Elsewhere(chatedge_config::NodeId),
    #[error("unknown media_id (media is kept for a limited time after its upload)")]
    UnknownMedia,
    #[error("the media {0}")]
    Media(MediaError),
    #[error("too much media is being moved right now; retry shortly")]
    Busy,
    #[error("the setting could not be changed now: {0}")]
    Settings(crate::api::settings::SettingsError),
    #[error("{}", .0.message())]
    Refused(Refusal),
    #[error("this connection is not active")]
    Inactive,
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{}", crate::api::body_problem(.0))]
    Body(BodyError),
    #[error("this Idempotency-Key was already used for another request")]
    IdempotencyConflict,
    #[error(transparent)]
    Core(#[from] CoreError),
}

impl ZamiError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ZamiError {
        ZamiError::Invalid { field, message: message.into() }
    }

    /// A bounded word for `chatedge_dp_refusals_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ZamiError::RouteNotFound { .. } => "route_not_found",
            ZamiError::MethodNotAllowed { .. } => "method_not_allowed",
            ZamiError::Unauthorized => "unauthorized",
            ZamiError::UnknownConnection | ZamiError::Elsewhere(_) => "unknown_connection",
            ZamiError::UnknownMedia => "unknown_media",
            ZamiError::Media(MediaError::Io(_)) => "media_io",
            ZamiError::Media(_) => "bad_media",
            ZamiError::Busy => "media_busy",
            ZamiError::Settings(_) => "control_plane",
            ZamiError::Refused(r) => r.reason(),
            ZamiError::Inactive => "inactive",
            ZamiError::Invalid { .. } => "invalid_field",
            ZamiError::Body(BodyError::TooLarge { .. }) => "body_too_large",
            ZamiError::Body(_) => "bad_body",
            ZamiError::IdempotencyConflict => "idempotency_conflict",
            ZamiError::Core(_) => "core",
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ZamiError::RouteNotFound { .. }
            | ZamiError::UnknownConnection
            | ZamiError::Elsewhere(_)
            | ZamiError::UnknownMedia => StatusCode::NOT_FOUND,
            ZamiError::Media(MediaError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ZamiError::Media(MediaError::Io(_)) => StatusCode::INTERNAL_SERVER_ERROR,
            ZamiError::Media(_) => StatusCode::BAD_REQUEST,
            ZamiError::Busy | ZamiError::Settings(_) => StatusCode::SERVICE_UNAVAILABLE,
            ZamiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ZamiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ZamiError::Refused(r) => r.response().0,
            ZamiError::Inactive => StatusCode::FORBIDDEN,
            ZamiError::Invalid { .. } | ZamiError::Body(BodyError::Broken(_)) => StatusCode::BAD_REQUEST,
            ZamiError::Body(BodyError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ZamiError::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
            ZamiError::Core(
                CoreError::QueueFull { .. } | CoreError::DailyQuota { .. } | CoreError::DailyLimit { .. },
            ) => StatusCode::TOO_MANY_REQUESTS,
            ZamiError::Core(CoreError::UnknownInstance) => StatusCode::NOT_FOUND,
            ZamiError::Core(e) if e.blame() == Blame::Client => StatusCode::CONFLICT,
            ZamiError::Core(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub fn into_response(self) -> Resp {
        let status = self.status();
        let mut res = chatedge_serve::json(status, &json!({"success": false, "id": null, "error": self.to_string()}));
        let h = res.headers_mut();
        if let ZamiError::MethodNotAllowed { allowed } = &self {
            h.insert(ALLOW, HeaderValue::from_static(allowed));
        }
        if let ZamiError::Busy = &self {
            h.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        }
        if let ZamiError::Core(e) = &self {
            if let Some(s) = e.retry_after_s() {
                h.insert(RETRY_AFTER, HeaderValue::from(s));
            }
        }
        res
    }
}
