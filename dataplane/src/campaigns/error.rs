//! `CampaignError`: every way a campaign call can fail, with who is to blame. The dialect
//! (`api/chatinc`) maps it to HTTP once; nothing here knows about HTTP.

use crate::error::CoreError;
use crate::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum CampaignError {
    /// A field of the request is missing or wrong: `field` names it (`buttons[1].url`).
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    #[error("no {what} with id '{id}'")]
    NotFound { what: &'static str, id: String },
    /// The request is valid but the campaign's state does not allow it (`run` while running).
    #[error("{0}")]
    Conflict(String),
    #[error("this instance already keeps {limit} {what}; delete some or raise [campaigns] max_per_instance")]
    TooMany { what: &'static str, limit: usize },
    #[error("the upload is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Core(#[from] CoreError),
    #[error("{0}")]
    Unavailable(String),
}

impl CampaignError {
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> CampaignError {
        CampaignError::Invalid { field: field.into(), message: message.into() }
    }

    /// A bounded word for the refusal counter.
    pub fn reason(&self) -> &'static str {
        match self {
            CampaignError::Invalid { .. } => "campaign_invalid",
            CampaignError::NotFound { .. } => "campaign_not_found",
            CampaignError::Conflict(_) => "campaign_conflict",
            CampaignError::TooMany { .. } => "campaign_limit",
            CampaignError::TooLarge { .. } => "campaign_upload_too_large",
            CampaignError::Store(_) | CampaignError::Unavailable(_) => "campaign_unavailable",
            CampaignError::Core(_) => "campaign_core",
        }
    }
}
