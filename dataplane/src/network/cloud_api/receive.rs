//! receive: fetches a received file the way the Cloud API hands it over — `GET /{media-id}`
//! answers a short-lived `url` (and the MIME type and size), then the file itself is downloaded
//! from that URL with the same bearer token — and puts it in the media store, so the shard can
//! hold it and link it like the sim's received media. Bounded by the media store's limit for
//! the kind and `[network.cloud_api] max_media_bytes`, whichever is smaller.
//!
//! Runs on the webhook route's task (the HTTP runtime); a failure is answered 5xx so Meta
//! retries the notification.

use std::sync::Arc;

use chatedge_config::snapshot::CloudApiAccount;
use serde::Deserialize;

use super::graph::{GraphClient, GraphError};
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

/// The media id lookup's answer (`GET /{media-id}`).
#[derive(Deserialize)]
struct MediaInfo {
    url: Option<String>,
    #[serde(default)]
    file_size: Option<u64>,
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
        if let Some(size) = info.file_size.filter(|s| *s > limit) {
            return Err(ReceiveError::TooLarge { size, limit, kind: kind.as_str() });
        }
        let url = info.url.filter(|u| !u.is_empty()).ok_or(ReceiveError::NoUrl)?;
        let (bytes, _mime) = self.graph.download(&account.access_token, &url, limit).await?;
        Ok(self.media.put_bytes(kind, bytes).await?)
    }
}
