//! notification: a Cloud API webhook notification (the `messages` field of a
//! `whatsapp_business_account` object) read into what chatedge keeps — each message someone
//! sent as an [`IncomingMessage`] (with the media id to fetch, if any) and each status of a
//! sent message as a [`StatusUpdate`]. Pure: no I/O, no clock, no store; the webhook route
//! (`api::network::cloud_api`) calls it after the signature was checked, on whatever thread
//! serves the request. It must not decide anything about delivery (dedup, ids, acks): that is
//! `inbound`'s job.
//!
//! The shapes follow Meta's "messages webhook reference" (payload structures for incoming
//! messages, and "Status messages webhook reference"): `entry[].changes[].value.{metadata,
//! contacts, messages, statuses, errors}`. Unknown fields are ignored (Meta adds fields without
//! notice); a message of a type this module does not know becomes an `UNSUPPORTED_MESSAGE`
//! notice, never an error, so one odd message never makes Meta retry the whole notification.

mod convert;
#[cfg(test)]
mod tests;

use chatedge_config::Phone;

use crate::network::IncomingMessage;

/// Why a notification body cannot be read at all (answered 400: retrying cannot help).
#[derive(Debug, thiserror::Error)]
pub enum NotificationError {
    #[error("the notification is not JSON in the Cloud API shape: {0}")]
    Malformed(String),
    #[error("the notification is about '{0}', not whatsapp_business_account")]
    WrongObject(String),
}

/// What one notification carries for one phone number.
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub messages: Vec<Received>,
    pub statuses: Vec<StatusUpdate>,
    /// Changes skipped: another field than `messages`, or another phone number's.
    pub skipped: usize,
}

/// A message someone sent to the number, and the media it carries (downloaded before the
/// message is handed to the shard).
#[derive(Debug, PartialEq)]
pub struct Received {
    pub message: IncomingMessage,
    pub media: Option<MediaRef>,
}

/// A received file as the notification names it: fetched with `GET /{id}` then its `url`.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaRef {
    pub id: String,
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
}

/// What happened to a message the number sent.
#[derive(Debug, Clone, PartialEq)]
pub enum StatusKind {
    Sent,
    Delivered,
    Read,
    /// A voice message was played.
    Played,
    /// The network could not send or deliver it: its first error's code and title.
    Failed { code: i64, title: String, details: Option<String> },
}

impl StatusKind {
    /// Stable label (metrics, derived event ids).
    pub fn label(&self) -> &'static str {
        match self {
            StatusKind::Sent => "sent",
            StatusKind::Delivered => "delivered",
            StatusKind::Read => "read",
            StatusKind::Played => "played",
            StatusKind::Failed { .. } => "failed",
        }
    }
}

/// One entry of `statuses`.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    /// The network's id of our message (`wamid.…`).
    pub wamid: String,
    pub status: StatusKind,
    /// Who the message went to.
    pub recipient: Phone,
    pub at_ms: u64,
    /// What the send put in `biz_opaque_callback_data` (chatedge puts its own message id there).
    pub callback_data: Option<String>,
}

/// Reads `body` (already authenticated) for the number `phone_number_id`.
pub fn parse(body: &[u8], phone_number_id: &str) -> Result<Parsed, NotificationError> {
    let raw: raw::Notification = serde_json::from_slice(body).map_err(|e| NotificationError::Malformed(e.to_string()))?;
    if raw.object != "whatsapp_business_account" {
        return Err(NotificationError::WrongObject(raw.object));
    }
    let mut out = Parsed::default();
    for change in raw.entry.into_iter().flat_map(|e| e.changes) {
        let value = match change.value {
            Some(v) if change.field == "messages" && v.metadata.phone_number_id == phone_number_id => v,
            _ => {
                out.skipped += 1;
                continue;
            }
        };
        for m in &value.messages {
            out.messages.extend(convert::message(m, &value.contacts));
        }
        for s in &value.statuses {
            match convert::status(s) {
                Some(s) => out.statuses.push(s),
                None => out.skipped += 1,
            }
        }
    }
    Ok(out)
}

/// The payload as Meta writes it; every field optional so an addition never breaks reading.
pub(super) mod raw {
    use serde::Deserialize;
    use serde_json::Value;

    #[derive(Deserialize)]
    pub struct Notification {
        #[serde(default)]
        pub object: String,
        #[serde(default)]
        pub entry: Vec<Entry>,
    }

    #[derive(Deserialize)]
    pub struct Entry {
        #[serde(default)]
        pub changes: Vec<Change>,
    }

    #[derive(Deserialize)]
    pub struct Change {
        #[serde(default)]
        pub field: String,
        pub value: Option<ChangeValue>,
    }

    #[derive(Deserialize)]
    pub struct ChangeValue {
        #[serde(default)]
        pub metadata: Metadata,
        #[serde(default)]
        pub contacts: Vec<Contact>,
        #[serde(default)]
        pub messages: Vec<Message>,
        #[serde(default)]
        pub statuses: Vec<Status>,
    }

    #[derive(Deserialize, Default)]
    pub struct Metadata {
        #[serde(default)]
        pub phone_number_id: String,
    }

    #[derive(Deserialize)]
    pub struct Contact {
        #[serde(default)]
        pub wa_id: String,
        pub profile: Option<Profile>,
    }

    #[derive(Deserialize)]
    pub struct Profile {
        pub name: Option<String>,
    }

    #[derive(Deserialize)]
    pub struct Message {
        #[serde(default)]
        pub from: String,
        #[serde(default)]
        pub id: String,
        #[serde(default)]
        pub timestamp: String,
        #[serde(rename = "type", default)]
        pub kind: String,
        pub context: Option<Context>,
        pub referral: Option<Referral>,
        /// The type's own object (`text`, `image`, …), read by `convert` per type.
        #[serde(flatten)]
        pub rest: serde_json::Map<String, Value>,
    }

    #[derive(Deserialize)]
    pub struct Context {
        pub id: Option<String>,
        #[serde(default)]
        pub forwarded: bool,
        #[serde(default)]
        pub frequently_forwarded: bool,
    }

    #[derive(Deserialize, Default)]
    #[serde(default)]
    pub struct Referral {
        pub source_url: String,
        pub source_id: String,
        pub source_type: String,
        pub headline: String,
        pub body: String,
        pub media_type: String,
        pub thumbnail_url: String,
        pub image_url: String,
        pub ctwa_clid: String,
    }

    #[derive(Deserialize)]
    pub struct Status {
        #[serde(default)]
        pub id: String,
        #[serde(default)]
        pub status: String,
        #[serde(default)]
        pub timestamp: String,
        #[serde(default)]
        pub recipient_id: String,
        pub biz_opaque_callback_data: Option<String>,
        #[serde(default)]
        pub errors: Vec<Error>,
    }

    #[derive(Deserialize)]
    pub struct Error {
        #[serde(default)]
        pub code: i64,
        pub title: Option<String>,
        pub message: Option<String>,
        pub error_data: Option<ErrorData>,
    }

    #[derive(Deserialize)]
    pub struct ErrorData {
        pub details: Option<String>,
    }
}

/// Seconds since the epoch as Meta writes them (a decimal string) → milliseconds.
fn timestamp_ms(s: &str) -> u64 {
    s.trim().parse::<u64>().map(|s| s.saturating_mul(1000)).unwrap_or(0)
}
