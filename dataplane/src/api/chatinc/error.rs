//! The Chat Inc dialect's errors and their one mapping to HTTP. Every refusal is JSON in one
//! shape, `{"status": "error", "error", "message"}` plus `field` when one field is at fault
//! (seed 003 shows only successes; its answers carry `status`, so errors do too).

use chatedge_serve::{BodyError, Resp};
use hyper::header::{HeaderValue, ALLOW, RETRY_AFTER};
use hyper::StatusCode;
use serde_json::json;

use crate::auth::Refusal;
use crate::campaigns::CampaignError;
use crate::error::Blame;

#[derive(Debug, thiserror::Error)]
pub enum ChatIncError {
    #[error("no such route")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allowed: &'static str },
    #[error("unauthorized")]
    Unauthorized,
    #[error("refused by the account's rules")]
    Refused(Refusal),
    #[error("the instance is not active")]
    Inactive,
    #[error("bad body")]
    Body(BodyError),
    #[error(transparent)]
    Campaign(#[from] CampaignError),
}

impl ChatIncError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> ChatIncError {
        ChatIncError::Campaign(CampaignError::invalid(field, message))
    }

    /// A bounded word for `chatedge_dp_refusals_total`.
    pub fn reason(&self) -> &'static str {
        match self {
            ChatIncError::RouteNotFound => "route_not_found",
            ChatIncError::MethodNotAllowed { .. } => "method_not_allowed",
            ChatIncError::Unauthorized => "unauthorized",
            ChatIncError::Refused(r) => r.reason(),
            ChatIncError::Inactive => "inactive",
            ChatIncError::Body(BodyError::TooLarge { .. }) => "body_too_large",
            ChatIncError::Body(_) => "bad_body",
            ChatIncError::Campaign(e) => e.reason(),
        }
    }

    pub fn into_response(self) -> Resp {
        let error = |status: StatusCode, error: &str, message: String| {
            chatedge_serve::json(status, &json!({"status": "error", "error": error, "message": message}))
        };
        match self {
            ChatIncError::RouteNotFound => error(
                StatusCode::NOT_FOUND,
                "Route not found",
                "campaign routes live under /v1/ (create/audience, create/campaign, run/campaign, …)".into(),
            ),
            ChatIncError::MethodNotAllowed { allowed } => {
                let mut res = error(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed", format!("use {allowed}"));
                res.headers_mut().insert(ALLOW, HeaderValue::from_static(allowed));
                res
            }
            ChatIncError::Unauthorized => error(
                StatusCode::UNAUTHORIZED,
                "Unauthorized",
                "send the instance's token as the API key: 'Authorization: <token>' or 'Authorization: Bearer <token>'"
                    .into(),
            ),
            ChatIncError::Refused(r) => {
                let (status, body) = r.response();
                chatedge_serve::json(status, &body)
            }
            ChatIncError::Inactive => {
                error(StatusCode::FORBIDDEN, "Instance inactive", "this instance is not active".into())
            }
            ChatIncError::Body(BodyError::TooLarge { limit }) => {
                error(StatusCode::PAYLOAD_TOO_LARGE, "Body too large", format!("the body is larger than {limit} bytes"))
            }
            ChatIncError::Body(e) => error(StatusCode::BAD_REQUEST, "Bad body", format!("{e:?}")),
            ChatIncError::Campaign(e) => campaign(e),
        }
    }
}

fn campaign(e: CampaignError) -> Resp {
    let message = e.to_string();
    let (status, title, field) = match &e {
        CampaignError::Invalid { field, .. } => (StatusCode::BAD_REQUEST, "Invalid field", Some(field.clone())),
        CampaignError::NotFound { .. } => (StatusCode::NOT_FOUND, "Not found", None),
        CampaignError::Conflict(_) => (StatusCode::CONFLICT, "Conflict", None),
        CampaignError::TooMany { .. } => (StatusCode::CONFLICT, "Limit reached", None),
        CampaignError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "Upload too large", None),
        CampaignError::Core(c) if c.blame() == Blame::Client => (StatusCode::CONFLICT, "Refused", None),
        CampaignError::Store(_) | CampaignError::Core(_) | CampaignError::Unavailable(_) => {
            (StatusCode::SERVICE_UNAVAILABLE, "Unavailable", None)
        }
    };
    let mut body = json!({"status": "error", "error": title, "message": message});
    if let Some(f) = field {
        body["field"] = json!(f);
    }
    let mut res = chatedge_serve::json(status, &body);
    if status == StatusCode::SERVICE_UNAVAILABLE {
        res.headers_mut().insert(RETRY_AFTER, HeaderValue::from_static("1"));
    }
    res
}
