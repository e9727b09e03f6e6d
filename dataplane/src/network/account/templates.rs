//! templates: the message templates the account had approved on the network (Cloud API:
//! `GET /{waba-id}/message_templates`), listed a page at a time by the network's own cursor.
//! A network without templates (the sim) lists none.

use serde::Serialize;
use serde_json::Value;

/// Largest page the network is asked for.
pub const MAX_PAGE_SIZE: usize = 100;

/// One template as the network describes it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateInfo {
    pub id: String,
    pub name: String,
    /// `pt_BR`, `en_US`, …
    pub language: String,
    /// APPROVED, PENDING, REJECTED, PAUSED, DISABLED, …
    pub status: String,
    /// MARKETING, UTILITY or AUTHENTICATION.
    pub category: String,
    /// In the network's shape (`[{"type": "BODY", "text": "Hi {{1}}"}, …]`).
    pub components: Vec<Value>,
}

#[derive(Debug, Clone)]
pub enum Call {
    /// Templates after the cursor `after` (from the start without one), `page_size` at most.
    List { page_size: usize, after: Option<String> },
}

#[derive(Debug, Clone)]
pub enum Reply {
    Page {
        templates: Vec<TemplateInfo>,
        /// The cursor of the next page, when there is one.
        after: Option<String>,
    },
}
