//! receive: fetches a received file the way the Cloud API hands it over — `GET /{media-id}`
//! answers a short-lived `url` (and the MIME type and size), then the file itself is downloaded
//! from that URL with the same bearer token — and puts it in the media store, so the shard can
//! hold it and link it like the sim's received media. Bounded by the media store's limit for
//! the kind and `[network.cloud_api] max_media_bytes`, whichever is smaller.
//!
//! Runs on the webhook route's task (the HTTP runtime); a failure that may clear is answered 5xx
//! so Meta retries the notification; a permanent one ([`ReceiveError::is_permanent`]) lets the
//! message through without its file.

use std::sync::Arc;

use chatedge_config::snapshot::CloudApiAccount;
use serde::Deserialize;

use super::graph::{ErrorKind, GraphClient, GraphError};
use super::notification::MediaRef;
use crate::media::{Media, MediaError, MediaKind, StoredMedia};

#[derive(Debug, thiserror::Error)]
pub enum ReceiveError {
    #[error("Graph API: {0}")]
    Graph(#[from] GraphError),
    #[error("the media answer has no url")]
    NoUrl,
    #[error("the file is {size} bytes, more than the {limit} allowed for a {kind}")]
    TooLarge { size: u64, limit: u64, kind: &'static str },
    #[error("media store: {0}")]
    Store(#[from] MediaError),
}

impl ReceiveError {
    /// Whether fetching again cannot help (too large, gone, refused, not what the Graph API
    /// sends); transport failures, Meta's 5xx and rate limits, and the media store's own
    /// trouble may clear.
    pub fn is_permanent(&self) -> bool {
        match self {
            ReceiveError::TooLarge { .. } | ReceiveError::NoUrl => true,
            ReceiveError::Graph(e) => matches!(e.kind(), ErrorKind::Refused | ErrorKind::Auth),
            ReceiveError::Store(_) => false,
        }
    }
}

/// The media id lookup's answer (`GET /{media-id}`). Meta's reference shows `file_size` as a
/// string and some answers carry a number: both are read.
#[derive(Deserialize)]
struct MediaInfo {
    url: Option<String>,
    #[serde(default)]
    file_size: Option<serde_json::Value>,
}

impl MediaInfo {
    fn size(&self) -> Option<u64> {
        match self.file_size.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Downloads received media into the media store; one per data plane.
#[derive(Clone)]
pub struct MediaReceiver {
    graph: GraphClient,
    media: Arc<Media>,
    max_bytes: u64,
}

impl MediaReceiver {
    pub fn new(graph: GraphClient, media: Arc<Media>, max_bytes: u64) -> Self {
        MediaReceiver { graph, media, max_bytes }
    }

    /// The file `r` names, stored (deduplicated by content like every stored file).
    pub async fn fetch(
        &self,
        account: &CloudApiAccount,
        r: &MediaRef,
        kind: MediaKind,
    ) -> Result<StoredMedia, ReceiveError> {
        let limit = self.media.limit(kind).min(self.max_bytes);
        let id: String = r.id.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
        let info = self.graph.get_json(&account.access_token, &format!("/{id}")).await?;
        let info: MediaInfo = serde_json::from_value(info).map_err(|e| GraphError::Protocol(e.to_string()))?;
        if let Some(size) = info.size().filter(|s| *s > limit) {
            return Err(ReceiveError::TooLarge { size, limit, kind: kind.as_str() });
        }
        let url = info.url.filter(|u| !u.is_empty()).ok_or(ReceiveError::NoUrl)?;
        let (bytes, _mime) = self.graph.download(&account.access_token, &url, limit).await?;
        Ok(self.media.put_bytes(kind, bytes).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_size_is_read_as_a_number_or_a_string() {
        let cases = [
            (r#"{"url":"u","file_size":1234}"#, Some(1234)),
            (r#"{"url":"u","file_size":"1234"}"#, Some(1234)),
            (r#"{"url":"u","file_size":"<FILE_SIZE>"}"#, None),
            (r#"{"url":"u"}"#, None),
        ];
        for (json, want) in cases {
            let info: MediaInfo = serde_json::from_str(json).unwrap();
            assert_eq!(info.size(), want, "{json}");
        }
    }
}
