//! media: the bytes of media messages. Owns the content-addressed media store under the data
//! dir ([`store`]), decoding base64 uploads into it in chunks ([`base64`]), checking that
//! content fits the route that sent it ([`sniff`]), fetching media by URL when a message
//! leaves ([`fetch`]), signed public links to received media ([`link`]) and the sweep that
//! deletes files no message needs ([`sweep`]), media kept under an id ([`uploads`]), and files
//! made what a network takes ([`made`]: stickers, SVG drawings, JPEGs for the Cloud API). It
//! never decides what a message is (that is the dialect's and the queue's job). [`Media`] bundles them for the edge and the connectors.

pub mod base64;
pub mod digest;
pub mod fetch;
pub mod kind;
pub mod link;
mod made;
pub mod picture;
pub mod sniff;
pub mod sticker;
pub mod store;
pub mod svg;
pub mod sweep;
pub mod uploads;

use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::file::MediaConfig;
use tokio::sync::{Semaphore, SemaphorePermit};

pub use digest::Digest;
pub use kind::MediaKind;
pub use link::LinkSigner;
pub use made::Compressed;
pub use store::{MediaError, MediaStore, StoredMedia};

/// Upload budget unit: permits count KiB of request bodies held in memory.
const PERMIT_BYTES: u64 = 1024;

/// The media service shared by the edge (uploads, links) and the connectors (reading and
/// fetching what they send).
pub struct Media {
    pub store: MediaStore,
    pub links: LinkSigner,
    pub config: MediaConfig,
    /// Fetches media by URL, refusing non-public addresses unless `[media]
    /// fetch_allow_private`.
    pub client: crate::egress::EgressClient,
    uploads: Semaphore,
    /// Downloads of received media streaming now (at most `MAX_DOWNLOADS`).
    downloads: Arc<Semaphore>,
    /// Pictures being made JPEGs now (at most [`MAX_CONVERSIONS`]).
    conversions: Arc<Semaphore>,
    metrics: Arc<crate::metrics::Metrics>,
}

/// Received-media downloads streaming at once; each holds a few 64 KiB chunks.
pub const MAX_DOWNLOADS: usize = 256;
/// Pictures made JPEGs at once ([`picture`]): one may hold up to ~1 GiB of pixels while it is
/// decoded, laid on white and scaled, so the others wait their turn.
pub const MAX_CONVERSIONS: usize = 2;

impl Media {
    /// Opens `dir` (the data dir's `media/`); received-media links start with
    /// `[media] public_base_url`, or (when it is empty) `http://` + the address the data plane
    /// binds, given later to `links.set_base`.
    pub fn open(dir: &Path, config: MediaConfig, metrics: Arc<crate::metrics::Metrics>) -> std::io::Result<Arc<Media>> {
        let store = MediaStore::open(dir)?;
        let base = Some(config.public_base_url.clone()).filter(|b| !b.is_empty());
        let links = LinkSigner::open(dir, base)?;
        let permits = (config.max_upload_bytes_in_flight / PERMIT_BYTES).min(Semaphore::MAX_PERMITS as u64) as usize;
        let policy = crate::egress::AddressPolicy::new(config.fetch_allow_private, Vec::new());
        let client = crate::egress::client(policy, config.fetch_connect_timeout).map_err(std::io::Error::other)?;
        let downloads = Arc::new(Semaphore::new(MAX_DOWNLOADS));
        let conversions = Arc::new(Semaphore::new(MAX_CONVERSIONS));
        let uploads = Semaphore::new(permits);
        Ok(Arc::new(Media { store, links, config, client, uploads, downloads, conversions, metrics }))
    }

    /// The data plane's metrics (media counted by the connectors).
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// A stored file's bytes, read whole on the blocking pool (for networks that take a file
    /// in one piece: the Cloud API's upload, the WhatsApp Web engine's).
    pub async fn read_stored(self: &Arc<Self>, digest: Digest) -> std::io::Result<Bytes> {
        let media = self.clone();
        match tokio::task::spawn_blocking(move || std::fs::read(media.store.path(&digest))).await {
            Ok(read) => read.map(Bytes::from),
            Err(e) => Err(std::io::Error::other(e)),
        }
    }

    /// The size limit of one file of `kind` (`[media] max_*_bytes`).
    pub fn limit(&self, kind: MediaKind) -> u64 {
        let c = &self.config;
        match kind {
            MediaKind::Image => c.max_image_bytes,
            MediaKind::Sticker => c.max_sticker_bytes,
            MediaKind::Audio => c.max_audio_bytes,
            MediaKind::Video | MediaKind::Ptv | MediaKind::Gif => c.max_video_bytes,
            MediaKind::Document => c.max_document_bytes,
        }
    }

    /// Fetches `url` as media of `kind` (bounded by its size limit, `[media] fetch_timeout_ms`
    /// and `fetch_max_redirects`), handing the bytes to `sink`; counted in
    /// `chatedge_dp_media_fetches_total`.
    pub async fn fetch(
        &self,
        url: &str,
        kind: MediaKind,
        sink: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> Result<fetch::Fetched, fetch::FetchError> {
        let c = &self.config;
        let limits = fetch::FetchLimits::new(self.limit(kind), c.fetch_timeout, c.fetch_max_redirects);
        let result = fetch::fetch(&self.client, url, limits, kind, sink).await;
        self.metrics.media_fetches.with_label_values(&[fetch::outcome(&result)]).inc();
        result
    }

    /// [`Media::fetch`] into memory: the bytes and what the fetch found (for files a network
    /// takes whole, bounded by the kind's size limit).
    pub async fn fetch_whole(
        &self,
        url: &str,
        kind: MediaKind,
    ) -> Result<(Vec<u8>, fetch::Fetched), fetch::FetchError> {
        let mut bytes = Vec::new();
        let fetched = self
            .fetch(url, kind, |chunk| {
                bytes.extend_from_slice(chunk);
                Ok(())
            })
            .await?;
        Ok((bytes, fetched))
    }

    /// Room for a request body read with `limit` (larger than the node's usual limit) that is
    /// held `copies` times in memory while it is handled: its declared length (or `limit`
    /// when it declares none) — never more than `limit`, since `read_body` refuses a longer
    /// body with 413, nor than the whole budget, which could never be free. `None` when the
    /// budget is spent (the caller answers 503 with Retry-After); counted as `busy`.
    pub fn body_room(&self, headers: &hyper::HeaderMap, limit: usize, copies: u64) -> Option<SemaphorePermit<'_>> {
        let declared = headers.get(hyper::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        let body = declared.unwrap_or(limit as u64).min(limit as u64);
        let room = self.upload_room(body.saturating_mul(copies).min(self.config.max_upload_bytes_in_flight));
        if room.is_none() {
            self.metrics.media_uploads.with_label_values(&["any", "busy"]).inc();
        }
        room
    }

    /// Room for a request body of `bytes` in the upload budget, or `None` when the budget is
    /// spent (the caller answers 503: too many large uploads at once).
    pub fn upload_room(&self, bytes: u64) -> Option<SemaphorePermit<'_>> {
        let permits = bytes.div_ceil(PERMIT_BYTES).max(1).min(u32::MAX as u64) as u32;
        self.uploads.try_acquire_many(permits).ok()
    }

    /// A slot for one streamed download, or `None` when `MAX_DOWNLOADS` are streaming (the
    /// caller answers 503).
    pub fn download_slot(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.downloads.clone().try_acquire_owned().ok()
    }

    /// Decodes and stores the base64 text at `body[range]`, off the event loop; counted in
    /// `chatedge_dp_media_uploads_total`. An SVG picture is drawn first and stored as what
    /// WhatsApp takes ([`Media::store_drawn`]).
    pub async fn put_base64(
        self: &Arc<Self>,
        kind: MediaKind,
        body: Bytes,
        range: std::ops::Range<usize>,
    ) -> Result<StoredMedia, MediaError> {
        let media = self.clone();
        let limit = self.limit(kind);
        let result = tokio::task::spawn_blocking(move || {
            let text = body.get(range).ok_or_else(|| MediaError::Io("media range outside the body".into()))?;
            if made::drawable(kind) && svg::is_svg(&self::base64::decode_head(text, sniff::SNIFF_LEN)) {
                let file = self::base64::decode_whole(text, kind, limit)?;
                return media.store_drawn(kind, &file, "accepted");
            }
            media.store.put_base64(kind, text, limit)
        })
        .await
        .map_err(|e| MediaError::Io(format!("media upload task failed: {e}")))
        .and_then(|r| r);
        self.count_upload(kind, &result);
        result
    }

    /// [`Media::put_base64`] for a sticker: decoded in memory (a sticker is at most `[media]
    /// max_sticker_bytes`), type-checked, made a sticker WhatsApp takes ([`sticker`]: a PNG or
    /// SVG becomes a 512×512 WebP, an `author` is written in) and only then stored, so a file
    /// that cannot be made one leaves nothing.
    pub async fn put_sticker_base64(
        self: &Arc<Self>,
        body: Bytes,
        range: std::ops::Range<usize>,
        author: Option<&str>,
    ) -> Result<StoredMedia, MediaError> {
        let (media, author) = (self.clone(), author.map(str::to_owned));
        let limit = self.limit(MediaKind::Sticker);
        let result = tokio::task::spawn_blocking(move || {
            let text = body.get(range).ok_or_else(|| MediaError::Io("media range outside the body".into()))?;
            let file = self::base64::decode_whole(text, MediaKind::Sticker, limit)?;
            sniff::check(MediaKind::Sticker, &file).map_err(|e| MediaError::WrongType(e.to_string()))?;
            media.store_sticker(&file, author.as_deref(), "accepted")
        })
        .await
        .map_err(|e| MediaError::Io(format!("media upload task failed: {e}")))
        .and_then(|r| r);
        self.count_upload(MediaKind::Sticker, &result);
        result
    }

    fn count_upload(&self, kind: MediaKind, result: &Result<StoredMedia, MediaError>) {
        let outcome = if result.is_ok() { "stored" } else { "refused" };
        self.metrics.media_uploads.with_label_values(&[kind.as_str(), outcome]).inc();
        if let Ok(stored) = result {
            self.metrics.media_upload_bytes.inc_by(stored.size);
        }
    }

    /// Stores bytes (received media, uploads), off the event loop; an SVG picture is drawn
    /// first ([`Media::store_drawn`]).
    pub async fn put_bytes(self: &Arc<Self>, kind: MediaKind, bytes: Bytes) -> Result<StoredMedia, MediaError> {
        let media = self.clone();
        let limit = self.limit(kind);
        tokio::task::spawn_blocking(move || match made::drawable(kind) && svg::is_svg(&bytes) {
            true if bytes.len() as u64 > limit => Err(MediaError::too_large(kind, limit)),
            true => media.store_drawn(kind, &bytes, "accepted"),
            false => media.store.put_bytes(kind, &bytes, limit),
        })
        .await
        .map_err(|e| MediaError::Io(format!("media store task failed: {e}")))?
    }
}

#[cfg(test)]
impl Media {
    /// A store in a fresh temporary directory, with default limits (unit tests).
    pub fn temporary() -> Arc<Media> {
        let dir = tempfile::tempdir().expect("temp dir").keep();
        Media::open(&dir, chatedge_config::Config::default().media, Arc::default()).expect("media store")
    }
}

/// The MIME types media links name, with their usual file extension (one table both ways).
const TYPES: &[(&str, &str)] = &[
    ("image/jpeg", "jpg"),
    ("image/png", "png"),
    ("image/webp", "webp"),
    ("image/gif", "gif"),
    ("image/svg+xml", "svg"),
    ("video/mp4", "mp4"),
    ("video/3gpp", "3gp"),
    ("video/quicktime", "mov"),
    ("audio/ogg", "ogg"),
    ("audio/mpeg", "mp3"),
    ("audio/mp4", "m4a"),
    ("audio/aac", "aac"),
    ("audio/amr", "amr"),
    ("audio/wav", "wav"),
    ("application/pdf", "pdf"),
    ("application/zip", "zip"),
    ("text/plain", "txt"),
];

/// The usual file extension of a sniffed MIME type (links and file names).
pub fn extension(mime: &str) -> &'static str {
    // Parameters do not change the file type (`audio/ogg; codecs=opus` is an .ogg).
    let mime = mime.split(';').next().unwrap_or(mime).trim();
    let mime = match mime {
        "audio/x-m4a" => "audio/mp4",
        "audio/x-wav" => "audio/wav",
        other => other,
    };
    TYPES.iter().find(|(m, _)| *m == mime).map_or("bin", |(_, ext)| ext)
}

/// The MIME type a link's extension stands for (the inverse of [`extension`]).
pub fn mime_of(ext: &str) -> &'static str {
    TYPES.iter().find(|(_, e)| *e == ext).map_or("application/octet-stream", |(mime, _)| mime)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_type_and_its_extension_map_both_ways_and_parameters_do_not_matter() {
        for (mime, ext) in TYPES {
            assert_eq!(extension(mime), *ext);
            assert_eq!(mime_of(ext), *mime);
        }
        assert_eq!(extension("audio/ogg; codecs=opus"), "ogg", "a voice note is an .ogg");
        assert_eq!(extension("audio/x-m4a"), "m4a");
        assert_eq!(extension("application/x-unknown"), "bin");
        assert_eq!(mime_of("bin"), "application/octet-stream");
    }
}
