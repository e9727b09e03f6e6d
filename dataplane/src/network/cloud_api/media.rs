//! media: getting a message's file to the Cloud API. A stored file (sent as base64) is
//! uploaded once with `POST /{phone-number-id}/media` (multipart: `messaging_product`, `type`,
//! `file`) and its media id reused for the same content (SHA-256) and number while Meta keeps
//! it (30 days; `[network.cloud_api] media_id_ttl`); a file given by URL is sent by `link`, which
//! Meta fetches itself. A picture or still sticker over Meta's size is made one within it
//! first (a JPEG; a lossy WebP) and that upload is cached by its original. The cache is bounded (`media_cache_entries`; past it the oldest entry
//! is forgotten, costing one more upload). Reading the file runs on Tokio's blocking pool;
//! the upload is an ordinary Graph call on the shard's runtime.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chatedge_config::snapshot::CloudApiAccount;

use super::body::{MAX_ANIMATED_STICKER_BYTES, MAX_STILL_STICKER_BYTES};
use super::graph::GraphError;
use super::CloudApiDeps;
use crate::media::{Compressed, Digest, StoredMedia};

/// What an upload was of: a stored file's own bytes, the picture made of one within a size
/// ([`picture_media_id`]), or a sticker over 100 KB as it is sent ([`sticker_media_id`]: the
/// lossy WebP made of a still one, an animation itself — so a sticker sent again is not read
/// again to tell which). Kept apart, so no file's digest can name a made file's upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Upload {
    File(Digest),
    Picture { of: Digest, limit: u64 },
    Sticker { of: Digest },
}

type Key = (String, Upload);

/// What became of an upload: Meta's media id, or why the file cannot be made one Meta takes
/// (a still sticker that fits 100 KB at no quality: the same file always fails the same way).
type Known = Result<String, String>;

#[derive(Default)]
struct Entries {
    map: HashMap<Key, (Known, Instant)>,
    order: VecDeque<Key>,
}

/// Media ids uploaded lately, and files found impossible to make what Meta takes, by (phone
/// number id, what was uploaded).
pub struct UploadCache {
    capacity: usize,
    ttl: Duration,
    /// Held for one map operation; never across `.await`.
    entries: Mutex<Entries>,
}

impl UploadCache {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        UploadCache { capacity: capacity.max(1), ttl, entries: Mutex::new(Entries::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The media id of `upload` for `number` (or why it cannot be made), while still valid.
    pub fn get(&self, number: &str, upload: Upload) -> Option<Known> {
        let e = self.lock();
        let (known, expires) = e.map.get(&(number.to_owned(), upload))?;
        (*expires > Instant::now()).then(|| known.clone())
    }

    pub fn put(&self, number: &str, upload: Upload, media_id: String) {
        self.remember(number, upload, Ok(media_id));
    }

    /// Remembers that `upload` cannot be made what Meta takes, so sending it again does not try
    /// again.
    pub fn refuse(&self, number: &str, upload: Upload, reason: String) {
        self.remember(number, upload, Err(reason));
    }

    fn remember(&self, number: &str, upload: Upload, known: Known) {
        let mut e = self.lock();
        let key = (number.to_owned(), upload);
        if e.map.insert(key.clone(), (known, Instant::now() + self.ttl)).is_none() {
            e.order.push_back(key);
            while e.order.len() > self.capacity {
                if let Some(old) = e.order.pop_front() {
                    e.map.remove(&old);
                }
            }
        }
    }

    pub fn len(&self) -> usize {
        self.lock().map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Why a file could not be handed to the Cloud API.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("the media file is no longer stored: {0}")]
    Missing(String),
    #[error("the media file is larger than the Cloud API accepts ({size} > {limit} bytes)")]
    TooLarge { size: u64, limit: u64 },
    #[error(
        "the animated sticker is {size} bytes; the Cloud API takes an animated sticker of at most \
         {animated} bytes (and a still one of at most {still}, which chatedge makes a lossy WebP to fit; \
         it does not re-encode animations)",
        still = MAX_STILL_STICKER_BYTES,
        animated = MAX_ANIMATED_STICKER_BYTES
    )]
    AnimatedStickerTooLarge { size: u64 },
    #[error(transparent)]
    Graph(#[from] GraphError),
    /// A sticker, or a picture Meta takes only as JPEG or PNG, is made what the Cloud API
    /// takes before it is uploaded (Meta would refuse a PNG sticker, or a GIF, WebP or SVG
    /// picture, or fetch a sticker without its author): that failed.
    #[error("{0}")]
    Made(String),
}

/// The Cloud API media id of stored picture `file` as the Cloud API takes it (a JPEG or PNG of
/// at most `limit` bytes: [`crate::media::Media::jpeg_or_png`]) for `account`'s number. A
/// picture that must be converted is cached as made of its original for `limit`
/// ([`Upload::Picture`]; the same bytes sent as a document are another upload), so sending it
/// again — a campaign's picture to thousands — neither converts nor uploads it again.
pub async fn picture_media_id(
    deps: &CloudApiDeps,
    account: &CloudApiAccount,
    file: &StoredMedia,
    file_name: &str,
    limit: u64,
) -> Result<String, UploadError> {
    if !crate::media::picture::needs_jpeg(&file.mime, file.size, limit) {
        return media_id(deps, account, file, file_name).await;
    }
    let key = Upload::Picture { of: file.digest, limit };
    if let Some(known) = cached(deps, account, key) {
        return known;
    }
    let made = deps.media.jpeg_or_png(file, limit).await.map_err(UploadError::Made)?;
    let id = media_id(deps, account, &made, file_name).await?;
    deps.uploads.put(&account.phone_number_id, key, id.clone());
    Ok(id)
}

/// The Cloud API media id of stored `file` for `account`'s number: from the cache, or uploaded
/// now (`file_name` names the part, as documents show it).
pub async fn media_id(
    deps: &CloudApiDeps,
    account: &CloudApiAccount,
    file: &StoredMedia,
    file_name: &str,
) -> Result<String, UploadError> {
    upload(deps, account, file, file_name, None).await
}

/// The Cloud API media id of stored sticker `file`, within Meta's size for its kind: one of
/// at most [`MAX_STILL_STICKER_BYTES`] as [`media_id`]. A larger one is read to tell an
/// animation — uploaded from those bytes up to [`MAX_ANIMATED_STICKER_BYTES`], refused past
/// it, naming both limits, before any upload — from a still one, which is made a lossy WebP
/// within the still limit ([`crate::media::Media::sticker_within`]) and cached as made of its
/// original ([`Upload::Sticker`]), as are an animation's upload and a refusal to fit: sending
/// it again neither reads nor converts it. (The original's own upload, as a document say, is never its sticker's: Meta
/// would refuse a still one over 100 KB.) A sticker by URL is made and stored before this.
pub async fn sticker_media_id(
    deps: &CloudApiDeps,
    account: &CloudApiAccount,
    file: &StoredMedia,
    file_name: &str,
) -> Result<String, UploadError> {
    if file.size <= MAX_STILL_STICKER_BYTES {
        return media_id(deps, account, file, file_name).await;
    }
    let made_key = Upload::Sticker { of: file.digest };
    if let Some(known) = cached(deps, account, made_key) {
        return known;
    }
    let bytes = read(deps, file).await?;
    let number = &account.phone_number_id;
    match crate::media::sticker::is_animated(&bytes) {
        Some(true) if file.size <= MAX_ANIMATED_STICKER_BYTES => {
            let id = upload(deps, account, file, file_name, Some(bytes)).await?;
            deps.uploads.put(number, made_key, id.clone());
            Ok(id)
        }
        Some(true) => Err(UploadError::AnimatedStickerTooLarge { size: file.size }),
        Some(false) => {
            match deps.media.sticker_within(bytes, MAX_STILL_STICKER_BYTES).await.map_err(UploadError::Made)? {
                Compressed::Made(made, made_bytes) => {
                    let id = upload(deps, account, &made, file_name, Some(made_bytes)).await?;
                    deps.uploads.put(number, made_key, id.clone());
                    Ok(id)
                }
                Compressed::Refused(reason) => {
                    deps.uploads.refuse(number, made_key, reason.clone());
                    Err(UploadError::Made(reason))
                }
            }
        }
        None => Err(UploadError::Made("the stored sticker is not a readable WebP".into())),
    }
}

/// What `upload` came to for `account`'s number (its media id, or why it cannot be made),
/// while Meta keeps it.
fn cached(deps: &CloudApiDeps, account: &CloudApiAccount, upload: Upload) -> Option<Result<String, UploadError>> {
    let known = deps.uploads.get(&account.phone_number_id, upload)?;
    deps.metrics.cloud_api_uploads.with_label_values(&["cached"]).inc();
    Some(known.map_err(UploadError::Made))
}

async fn read(deps: &CloudApiDeps, file: &StoredMedia) -> Result<bytes::Bytes, UploadError> {
    deps.media.read_stored(file.digest).await.map_err(|e| UploadError::Missing(e.to_string()))
}

/// The media id of stored `file`: from the cache, or uploaded now (its bytes read now, unless
/// `read_already` holds them) and cached.
async fn upload(
    deps: &CloudApiDeps,
    account: &CloudApiAccount,
    file: &StoredMedia,
    file_name: &str,
    read_already: Option<bytes::Bytes>,
) -> Result<String, UploadError> {
    if let Some(known) = cached(deps, account, Upload::File(file.digest)) {
        return known;
    }
    let number = &account.phone_number_id;
    let limit = deps.settings.max_media_bytes;
    if file.size > limit {
        return Err(UploadError::TooLarge { size: file.size, limit });
    }
    let bytes = match read_already {
        Some(bytes) => bytes,
        None => read(deps, file).await?,
    };
    let mime = file.mime.split(';').next().unwrap_or_default().trim().to_owned();
    let fields = [("messaging_product", "whatsapp"), ("type", mime.as_str())];
    let path = format!("{number}/media");
    let answer = deps.graph.post_multipart(&account.access_token, &path, &fields, (file_name, &mime, bytes)).await;
    let answer = match answer {
        Ok(a) => a,
        Err(e) => {
            deps.metrics.cloud_api_uploads.with_label_values(&["failed"]).inc();
            return Err(e.into());
        }
    };
    let id = answer["id"]
        .as_str()
        .filter(|id| !id.is_empty())
        .ok_or_else(|| GraphError::Protocol("media upload answered without an id".into()))?
        .to_owned();
    deps.metrics.cloud_api_uploads.with_label_values(&["uploaded"]).inc();
    deps.uploads.put(number, Upload::File(file.digest), id.clone());
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_media_id_is_reused_per_number_until_it_expires_and_the_cache_is_bounded() {
        let c = UploadCache::new(2, Duration::from_secs(3600));
        let file = |b: &[u8]| Upload::File(Digest::of(b));
        let (a, b, d) = (file(b"a"), file(b"b"), file(b"d"));
        c.put("111", a, "m-a".into());
        assert_eq!(c.get("111", a), Some(Ok("m-a".into())));
        assert_eq!(c.get("222", a), None, "a media id belongs to the number that uploaded it");
        let made = Upload::Picture { of: Digest::of(b"a"), limit: 5_000_000 };
        assert_eq!(c.get("111", made), None, "a picture made of a file is another upload than the file");
        let sticker = Upload::Sticker { of: Digest::of(b"a") };
        assert_eq!(c.get("111", sticker), None, "so is a sticker made of it");
        c.put("111", b, "m-b".into());
        c.put("111", d, "m-d".into());
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("111", a), None, "the oldest entry goes past the bound");
        let expired = UploadCache::new(2, Duration::ZERO);
        expired.put("111", a, "m-a".into());
        assert_eq!(expired.get("111", a), None);
    }

    #[test]
    fn a_file_that_cannot_be_made_what_meta_takes_is_remembered_like_an_upload() {
        let c = UploadCache::new(4, Duration::from_secs(3600));
        let sticker = Upload::Sticker { of: Digest::of(b"detailed") };
        c.refuse("111", sticker, "the sticker is over 100000 bytes".into());
        assert_eq!(c.get("111", sticker), Some(Err("the sticker is over 100000 bytes".into())));
        assert_eq!(c.get("222", sticker), None, "per number, like media ids");
        assert_eq!(c.get("111", Upload::File(Digest::of(b"detailed"))), None, "the file itself may still go");
    }
}
