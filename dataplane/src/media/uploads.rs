//! Media kept under an id: a file uploaded on its own (Zami's `POST /zami/v1/media`), to be
//! sent later by id, and received media a dialect names by id (Zami's `media_id` in
//! `message.created`). A record `media id → owner, file, expiry` lives in the `uploads` family;
//! the file is kept by a `media_hold` until the same expiry, written in the same batch as the
//! record, so the sweep never deletes a file an id still names. Records past their expiry are
//! answered as absent and dropped by a compaction filter. Layout of a record (version 2):
//! `version (u8) ‖ expires_ms (u64 BE) ‖ owner (16) ‖ has_instance (u8) ‖ instance (16) ‖
//! digest (32) ‖ size (u64 BE) ‖ mime length (u8) ‖ mime ‖ file name`; version 1 (no file name,
//! the mime is the tail) is still read. Pure data and store access: no HTTP, no dialect.

use chatedge_config::{InstanceId, MediaId, TenantId};

use super::{Digest, StoredMedia};
use crate::store::{keys, Batch, Cf, Store, StoreError};

const VERSION: u8 = 2;
/// The version before file names were kept.
const VERSION_1: u8 = 1;
const HEAD: usize = 1 + 8 + 16 + 1 + 16 + Digest::LEN + 8;
/// Longest MIME type a record keeps (sniffed types are far shorter).
const MAX_MIME: usize = 128;
/// Longest file name a record keeps, in bytes (cut at a character boundary).
pub const MAX_FILE_NAME: usize = 255;

/// One file kept under an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The account that may send and download it; any other answers as for an unknown id.
    pub owner: TenantId,
    /// The instance it came from (received media) or was uploaded for, when there is one.
    pub instance: Option<InstanceId>,
    pub file: StoredMedia,
    pub expires_ms: u64,
    /// The name it was uploaded under, when the upload gave one.
    pub file_name: Option<String>,
}

impl Upload {
    pub fn encode(&self) -> Vec<u8> {
        let mime = self.file.mime.as_bytes();
        let mime = &mime[..mime.len().min(MAX_MIME)];
        let name = self.file_name.as_deref().map_or("", |n| cut(n, MAX_FILE_NAME)).as_bytes();
        let mut v = Vec::with_capacity(HEAD + 1 + mime.len() + name.len());
        v.push(VERSION);
        v.extend_from_slice(&self.expires_ms.to_be_bytes());
        v.extend_from_slice(self.owner.as_bytes());
        v.push(self.instance.is_some() as u8);
        v.extend_from_slice(self.instance.as_ref().map_or(&[0u8; 16], |i| i.as_bytes()));
        v.extend_from_slice(&self.file.digest.0);
        v.extend_from_slice(&self.file.size.to_be_bytes());
        v.push(mime.len() as u8);
        v.extend_from_slice(mime);
        v.extend_from_slice(name);
        v
    }

    pub fn decode(v: &[u8]) -> Option<Upload> {
        if v.len() < HEAD || !matches!(v[0], VERSION | VERSION_1) {
            return None;
        }
        let expires_ms = expires_ms(v)?;
        let owner = TenantId::from_slice(&v[9..25])?;
        let instance = (v[25] == 1).then(|| InstanceId::from_slice(&v[26..42])).flatten();
        let digest = Digest::from_slice(&v[42..74])?;
        let size = u64::from_be_bytes(v[74..82].try_into().ok()?);
        let (mime, name) = match v[0] {
            VERSION_1 => (&v[HEAD..], &[][..]),
            _ => {
                let len = *v.get(HEAD)? as usize;
                (v.get(HEAD + 1..HEAD + 1 + len)?, &v[HEAD + 1 + len..])
            }
        };
        let mime = std::str::from_utf8(mime).ok()?.to_owned();
        let file_name = match name {
            [] => None,
            name => Some(std::str::from_utf8(name).ok()?.to_owned()),
        };
        Some(Upload { owner, instance, file: StoredMedia { digest, size, mime }, expires_ms, file_name })
    }
}

fn expires_ms(v: &[u8]) -> Option<u64> {
    Some(u64::from_be_bytes(v.get(1..9)?.try_into().ok()?))
}

/// Whether a stored record may be dropped at `now_ms` (expired, or not a record this
/// version reads): the `uploads` family's compaction filter.
pub fn droppable(v: &[u8], now_ms: u64) -> bool {
    match expires_ms(v) {
        Some(at) if matches!(v[0], VERSION | VERSION_1) => at <= now_ms,
        _ => true,
    }
}

/// The part of `name` a record keeps: at most [`MAX_FILE_NAME`] bytes, cut at a character
/// boundary.
pub fn kept_name(name: &str) -> &str {
    cut(name, MAX_FILE_NAME)
}

fn cut(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// Writes `upload` under `id` into `batch`, with the hold that keeps its file as long.
pub fn keep(batch: &mut Batch, id: &MediaId, upload: &Upload) {
    batch.put(Cf::Uploads, id.as_bytes().to_vec(), upload.encode());
    batch.put(Cf::MediaHold, keys::media_hold(upload.expires_ms, &upload.file.digest), Vec::new());
}

/// Forgets `id` in `batch` (its hold goes too; another id holding the same bytes keeps its own).
pub fn forget(batch: &mut Batch, id: &MediaId, upload: &Upload) {
    batch.delete(Cf::Uploads, id.as_bytes().to_vec());
    batch.delete(Cf::MediaHold, keys::media_hold(upload.expires_ms, &upload.file.digest).to_vec());
}

/// The record under `id` if it exists and has not expired at `now_ms`. A blocking read: call
/// it off the event loop.
pub fn find(store: &Store, id: &MediaId, now_ms: u64) -> Result<Option<Upload>, StoreError> {
    let value = store.db().get_cf(store.cf(Cf::Uploads), id.as_bytes())?;
    Ok(value.and_then(|v| Upload::decode(&v)).filter(|u| u.expires_ms > now_ms))
}

/// The id under which received message `message` of `instance` is kept: derived, so a
/// message the network delivers twice is kept once, under the id its webhook named.
pub fn received_id(instance: &InstanceId, message: &str) -> MediaId {
    let id = chatedge_config::EventId::derive(&[b"received-media", instance.as_bytes(), message.as_bytes()]);
    MediaId::from_slice(id.as_bytes()).unwrap_or_else(MediaId::random)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn upload(instance: Option<InstanceId>, expires_ms: u64) -> Upload {
        let file = StoredMedia { digest: Digest::of(b"png"), size: 3, mime: "image/png".into() };
        Upload { owner: TenantId::random(), instance, file, expires_ms, file_name: None }
    }

    #[test]
    fn a_record_reads_back_as_written_with_and_without_an_instance_and_a_name() {
        for instance in [None, Some(InstanceId::random())] {
            for file_name in [None, Some("relatório março.pdf".to_owned())] {
                let u = Upload { file_name, ..upload(instance, 1_800_000_000_000) };
                assert_eq!(Upload::decode(&u.encode()), Some(u));
            }
        }
    }

    #[test]
    fn a_long_name_is_cut_at_a_character_boundary() {
        let u = Upload { file_name: Some("é".repeat(200)), ..upload(None, 1) };
        let kept = Upload::decode(&u.encode()).unwrap().file_name.unwrap();
        assert_eq!(kept, "é".repeat(MAX_FILE_NAME / 2));
    }

    #[test]
    fn a_version_1_record_is_still_read() {
        let u = upload(Some(InstanceId::random()), 1_800_000_000_000);
        let v2 = u.encode();
        let mut v1 = v2[..HEAD].to_vec();
        v1[0] = VERSION_1;
        v1.extend_from_slice(u.file.mime.as_bytes());
        assert_eq!(Upload::decode(&v1), Some(u));
        assert!(!droppable(&v1, 0));
    }

    #[test]
    fn an_expired_or_unreadable_record_is_droppable_and_a_live_one_is_not() {
        let v = upload(None, 2_000).encode();
        assert!(!droppable(&v, 1_999));
        assert!(droppable(&v, 2_000));
        assert!(droppable(&[], 0), "empty");
        assert!(droppable(&[9, 0, 0, 0, 0, 0, 0, 0, 0], 0), "unknown version");
        assert_eq!(Upload::decode(&v[..HEAD - 1]), None, "a short record is not one");
    }

    #[test]
    fn received_media_of_the_same_message_gets_the_same_id_and_of_another_a_new_one() {
        let (i, m) = (InstanceId::random(), "3EB0B430A8B7F23C1D12");
        assert_eq!(received_id(&i, m), received_id(&i, m));
        assert_ne!(received_id(&i, m), received_id(&i, "3EB0B430A8B7F23C1D13"));
        assert_ne!(received_id(&i, m), received_id(&InstanceId::random(), m));
    }
}
