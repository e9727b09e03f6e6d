//! The Zapini dialect's errors and their one mapping to HTTP. Every refusal has seed 002's
//! shape, `{"success": false, "error": {"code", "message", "details"}}`, with the seed's
//! statuses (400 a malformed request, 401 no or a bad token, 403 no permission, 404 unknown,
//! 422 a field that fails validation, 429 limits); a Z-API error never appears here.

use chatedge_serve::{BodyError, Resp};
use hyper::header::{HeaderValue, ALLOW, RETRY_AFTER};
use hyper::StatusCode;
use serde_json::{json, Value};

use crate::auth::Refusal;
use crate::error::{Blame, CoreError};
use crate::network::account::AccountError;

#[derive(Debug, thiserror::Error)]
pub enum ZapiniError {
    #[error("no route for {method} {path}; see /zapini/openapi.json for what chatedge serves")]
    RouteNotFound { method: String, path: String },
    /// A route of Zapini's product layer, which chatedge does not have.
    #[error("{feature} is part of Zapini's product layer, which chatedge does not serve; chatedge serves Zapini's messaging edge (see /zapini/openapi.json)")]
    NotServed { feature: &'static str },
    #[error("method not allowed: use {allowed}")]
    MethodNotAllowed { allowed: &'static str },
    #[error("send an instance API key (sk_…) or the account's integrator token: 'Authorization: Bearer <token>'")]
    Unauthorized,
    #[error("instance not found")]
    InstanceNotFound,
    /// The instance lives on another data plane: the request goes to it (never rendered but as
    /// an unknown instance).
    #[error("instance not found")]
    Elsewhere(chatedge_config::NodeId),
    /// A message named by its id that no instance of the credential sent or received (or one
    /// older than `[store] message_index_retention_ms`), or, for its media, one without any.
    #[error("{0}")]
    MessageNotFound(&'static str),
    #[error("{}", .0.message())]
    Refused(Refusal),
    #[error("this instance is stopped (trial expired or unpaid) and cannot send")]
    Inactive,
    /// A field that fails validation (422, naming the field in `details`).
    #[error("{message}")]
    Invalid { field: &'static str, message: String },
    #[error("{}", crate::api::body_problem(.0))]
    Body(BodyError),
    #[error("this Idempotency-Key was already used for another request")]
    IdempotencyConflict,
    #[error("{0}; statistics need the control plane, messages are still accepted")]
    ControlPlane(String),
    #[error("{0}")]
    Unavailable(String),
    /// The edge's limiter refused the call (the seed's 429); its headers are the edge's.
    #[error("too many requests: {message}")]
    RateLimited { message: String, retry_after: u64, limit: u32, window_s: u64 },
    /// The network refused or could not do an account call (groups).
    #[error(transparent)]
    Account(AccountError),
    #[error(transparent)]
    Core(#[from] CoreError),
}

fn account_code(e: &AccountError) -> &'static str {
    match e {
        AccountError::NotConnected => "NOT_CONNECTED",
        AccountError::AlreadyConnected => "ALREADY_CONNECTED",
        AccountError::NotFound(_) => "NOT_FOUND",
        AccountError::Refused(_) | AccountError::NotBusiness => "FORBIDDEN",
        AccountError::Limit(_) => "LIMIT_REACHED",
        AccountError::Unsupported(_) => "NOT_SUPPORTED",
        AccountError::Unavailable(_) => "SERVICE_UNAVAILABLE",
    }
}

fn account_status(e: &AccountError) -> StatusCode {
    match e {
        AccountError::NotConnected | AccountError::AlreadyConnected => StatusCode::CONFLICT,
        AccountError::NotFound(_) => StatusCode::NOT_FOUND,
        AccountError::Refused(_) | AccountError::NotBusiness => StatusCode::FORBIDDEN,
        AccountError::Limit(_) | AccountError::Unsupported(_) => StatusCode::UNPROCESSABLE_ENTITY,
        AccountError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

impl ZapiniError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> ZapiniError {
        ZapiniError::Invalid { field, message: message.into() }
    }

    /// The seed's `error.code`.
    pub fn code(&self) -> &'static str {
        match self {
            ZapiniError::RouteNotFound { .. } => "NOT_FOUND",
            ZapiniError::NotServed { .. } => "NOT_SERVED",
            ZapiniError::MethodNotAllowed { .. } => "METHOD_NOT_ALLOWED",
            ZapiniError::Unauthorized => "UNAUTHORIZED",
            ZapiniError::InstanceNotFound
            | ZapiniError::Elsewhere(_)
            | ZapiniError::Core(CoreError::UnknownInstance) => "INSTANCE_NOT_FOUND",
            ZapiniError::MessageNotFound(_) => "MESSAGE_NOT_FOUND",
            ZapiniError::Refused(Refusal::PaymentOverdue) => "PAYMENT_REQUIRED",
            ZapiniError::Refused(_) => "FORBIDDEN",
            ZapiniError::Inactive => "INSTANCE_INACTIVE",
            ZapiniError::Invalid { field: "body", .. } => "BAD_REQUEST",
            ZapiniError::Invalid { .. } => "VALIDATION_ERROR",
            ZapiniError::Body(BodyError::TooLarge { .. }) => "PAYLOAD_TOO_LARGE",
            ZapiniError::Body(_) => "BAD_REQUEST",
            ZapiniError::IdempotencyConflict => "IDEMPOTENCY_CONFLICT",
            ZapiniError::ControlPlane(_) | ZapiniError::Unavailable(_) => "SERVICE_UNAVAILABLE",
            ZapiniError::RateLimited { .. } => "RATE_LIMITED",
            ZapiniError::Account(e) => account_code(e),
            ZapiniError::Core(CoreError::DailyQuota { .. } | CoreError::DailyLimit { .. }) => "DAILY_LIMIT_REACHED",
            ZapiniError::Core(CoreError::QueueFull { .. }) => "QUEUE_FULL",
            ZapiniError::Core(CoreError::AlreadyConnected) => "ALREADY_CONNECTED",
            ZapiniError::Core(CoreError::NotConnected) => "NOT_CONNECTED",
            ZapiniError::Core(e) if e.blame() == Blame::Client => "CONFLICT",
            ZapiniError::Core(_) => "SERVICE_UNAVAILABLE",
        }
    }

    /// A bounded word for `chatedge_dp_refusals_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ZapiniError::Refused(r) => r.reason(),
            ZapiniError::Core(_) => "core",
            ZapiniError::Account(_) => "account_call",
            ZapiniError::Invalid { .. } => "invalid_field",
            other => match other.code() {
                "NOT_FOUND" => "route_not_found",
                "NOT_SERVED" => "not_served",
                "METHOD_NOT_ALLOWED" => "method_not_allowed",
                "UNAUTHORIZED" => "unauthorized",
                "INSTANCE_NOT_FOUND" => "unknown_instance",
                "MESSAGE_NOT_FOUND" => "unknown_message",
                "INSTANCE_INACTIVE" => "inactive",
                "PAYLOAD_TOO_LARGE" => "body_too_large",
                "IDEMPOTENCY_CONFLICT" => "idempotency_conflict",
                "RATE_LIMITED" => "rate_limited_zapini",
                "SERVICE_UNAVAILABLE" => "unavailable",
                _ => "bad_body",
            },
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ZapiniError::RouteNotFound { .. }
            | ZapiniError::InstanceNotFound
            | ZapiniError::Elsewhere(_)
            | ZapiniError::MessageNotFound(_) => StatusCode::NOT_FOUND,
            ZapiniError::NotServed { .. } => StatusCode::NOT_IMPLEMENTED,
            ZapiniError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ZapiniError::Unauthorized => StatusCode::UNAUTHORIZED,
            ZapiniError::Refused(r) => r.response().0,
            ZapiniError::Inactive => StatusCode::FORBIDDEN,
            ZapiniError::Invalid { field: "body", .. } | ZapiniError::Body(BodyError::Broken(_)) => {
                StatusCode::BAD_REQUEST
            }
            ZapiniError::Invalid { .. } | ZapiniError::IdempotencyConflict => StatusCode::UNPROCESSABLE_ENTITY,
            ZapiniError::Body(BodyError::TooLarge { .. }) => StatusCode::PAYLOAD_TOO_LARGE,
            ZapiniError::ControlPlane(_) | ZapiniError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ZapiniError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            ZapiniError::Account(e) => account_status(e),
            ZapiniError::Core(
                CoreError::QueueFull { .. } | CoreError::DailyQuota { .. } | CoreError::DailyLimit { .. },
            ) => StatusCode::TOO_MANY_REQUESTS,
            ZapiniError::Core(CoreError::UnknownInstance) => StatusCode::NOT_FOUND,
            ZapiniError::Core(e) if e.blame() == Blame::Client => StatusCode::CONFLICT,
            ZapiniError::Core(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn details(&self) -> Value {
        match self {
            ZapiniError::Invalid { field, message } => json!({ *field: [message] }),
            ZapiniError::NotServed { feature } => json!({"feature": feature}),
            ZapiniError::MethodNotAllowed { allowed } => json!({"allowed": allowed}),
            ZapiniError::RateLimited { retry_after, limit, window_s, .. } => {
                json!({"retry_after": retry_after, "limit": limit, "window_seconds": window_s})
            }
            _ => json!({}),
        }
    }

    pub fn into_response(self) -> Resp {
        let status = self.status();
        let body = json!({
            "success": false,
            "error": {"code": self.code(), "message": self.to_string(), "details": self.details()},
        });
        let mut res = chatedge_serve::json(status, &body);
        let h = res.headers_mut();
        if let ZapiniError::MethodNotAllowed { allowed } = &self {
            h.insert(ALLOW, HeaderValue::from_static(allowed));
        }
        if let ZapiniError::Core(e) = &self {
            if let Some(s) = e.retry_after_s() {
                h.insert(RETRY_AFTER, HeaderValue::from(s));
            }
        }
        res
    }
}
