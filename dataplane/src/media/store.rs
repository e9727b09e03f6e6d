//! The media store: content-addressed files under `<data dir>/media/files/<2 hex>/<64 hex>`,
//! named by the SHA-256 of their bytes, so the same bytes sent twice are one file. A file is
//! written to `media/tmp/`, fsync'd, renamed into place and its directory fsync'd before
//! anyone may refer to it; a message refers to it through a `media_ref` key written in the
//! message's own batch, and received media through a `media_hold` key that expires. The
//! [`sweep`](super::sweep) deletes files nothing refers to.
//!
//! Every function here does blocking file I/O: call it from `spawn_blocking` or a thread of
//! its own, never on an event loop.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use sha2::Digest as _;

use super::{sniff, Digest, MediaKind};

/// Bytes sniffed before the content's type is decided.
const SNIFF_BYTES: usize = 8 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    #[error("the {kind} is larger than the {limit_mb} MB limit for {kind}s")]
    TooLarge { kind: &'static str, limit_mb: u64 },
    #[error("{0}")]
    WrongType(String),
    #[error("is not valid base64: {0}")]
    BadBase64(String),
    #[error("is empty")]
    Empty,
    /// A sticker that cannot carry its `stickerAuthor`.
    #[error("{0}")]
    Sticker(#[from] super::sticker::StickerError),
    /// An SVG picture that cannot be drawn.
    #[error("{0}")]
    Svg(#[from] super::svg::SvgError),
    /// A GIF or WebP picture that cannot be made a JPEG.
    #[error("{0}")]
    Picture(#[from] super::picture::PictureError),
    #[error("media storage failed: {0}")]
    Io(String),
}

impl MediaError {
    pub fn too_large(kind: MediaKind, limit: u64) -> MediaError {
        MediaError::TooLarge { kind: kind.as_str(), limit_mb: limit / (1024 * 1024) }
    }
}

impl From<io::Error> for MediaError {
    fn from(e: io::Error) -> Self {
        MediaError::Io(e.to_string())
    }
}

/// A file in the store, as a message refers to it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct StoredMedia {
    pub digest: Digest,
    pub size: u64,
    /// Sniffed from the bytes, never taken from the client.
    pub mime: String,
}

pub struct MediaStore {
    files: PathBuf,
    tmp: PathBuf,
    /// Taken to decide that a file is kept (a writer found it already stored) or deleted
    /// (the sweep found it unreferenced), so the two never cross.
    claims: Mutex<()>,
}

impl MediaStore {
    /// Opens (creating) the store under `dir` (mode 0700).
    pub fn open(dir: &Path) -> io::Result<MediaStore> {
        let (files, tmp) = (dir.join("files"), dir.join("tmp"));
        for d in [dir, &files, &tmp] {
            fs::create_dir_all(d)?;
            restrict(d)?;
        }
        Ok(MediaStore { files, tmp, claims: Mutex::new(()) })
    }

    pub fn path(&self, digest: &Digest) -> PathBuf {
        let hex = digest.hex();
        self.files.join(&hex[..2]).join(hex)
    }

    pub fn contains(&self, digest: &Digest) -> bool {
        self.path(digest).is_file()
    }

    pub fn open_file(&self, digest: &Digest) -> io::Result<File> {
        File::open(self.path(digest))
    }

    pub(super) fn files_dir(&self) -> &Path {
        &self.files
    }

    pub(super) fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    pub(super) fn claims(&self) -> std::sync::MutexGuard<'_, ()> {
        self.claims.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A writer for new media of `kind`, at most `limit` bytes.
    pub fn writer(&self, kind: MediaKind, limit: u64) -> Result<MediaWriter<'_>, MediaError> {
        let path = self.tmp.join(format!("{:016x}{:016x}", rand::random::<u64>(), rand::random::<u64>()));
        let file = OpenOptions::new().write(true).create_new(true).open(&path)?;
        Ok(MediaWriter {
            store: self,
            kind,
            limit,
            path,
            file: Some(io::BufWriter::with_capacity(256 * 1024, file)),
            hasher: sha2::Sha256::new(),
            size: 0,
            head: Vec::new(),
            mime: None,
        })
    }

    /// Stores `bytes` (received media, small uploads).
    pub fn put_bytes(&self, kind: MediaKind, bytes: &[u8], limit: u64) -> Result<StoredMedia, MediaError> {
        let mut w = self.writer(kind, limit)?;
        w.write(bytes)?;
        w.finish()
    }

    /// Stores base64 text (a data URI's payload; whitespace is skipped), decoding it in
    /// chunks so the decoded bytes are never whole in memory.
    pub fn put_base64(&self, kind: MediaKind, text: &[u8], limit: u64) -> Result<StoredMedia, MediaError> {
        let mut w = self.writer(kind, limit)?;
        super::base64::decode_chunks(text, |chunk| w.write(chunk))?;
        w.finish()
    }

    /// Renews the time of the stored `digest`, so the sweep's grace covers a message about to
    /// refer to it (a send by media id whose hold may expire before the message commits).
    /// False if it is not stored.
    pub fn renew(&self, digest: &Digest) -> bool {
        self.claim_existing(digest)
    }

    /// Keeps the stored `digest` (another upload had the same bytes): its time is renewed so
    /// the sweep's grace covers the message being committed. False if it is not stored.
    fn claim_existing(&self, digest: &Digest) -> bool {
        let _guard = self.claims();
        let path = self.path(digest);
        match File::options().write(true).open(&path) {
            Ok(f) => f.set_modified(SystemTime::now()).is_ok(),
            Err(_) => false,
        }
    }
}

/// Writes one new media file; dropped without [`finish`](MediaWriter::finish), it leaves
/// nothing behind.
pub struct MediaWriter<'a> {
    store: &'a MediaStore,
    kind: MediaKind,
    limit: u64,
    path: PathBuf,
    file: Option<io::BufWriter<File>>,
    hasher: sha2::Sha256,
    size: u64,
    /// The first bytes, kept until the type is sniffed.
    head: Vec<u8>,
    mime: Option<&'static str>,
}

impl MediaWriter<'_> {
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), MediaError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            return Err(MediaError::too_large(self.kind, self.limit));
        }
        if self.mime.is_none() {
            let take = (SNIFF_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
            if self.head.len() >= SNIFF_BYTES {
                self.sniff()?;
            }
        }
        self.hasher.update(chunk);
        if let Some(f) = self.file.as_mut() {
            f.write_all(chunk)?;
        }
        Ok(())
    }

    fn sniff(&mut self) -> Result<&'static str, MediaError> {
        let mime = sniff::check(self.kind, &self.head).map_err(|e| MediaError::WrongType(e.to_string()))?;
        if mime == super::svg::MIME && self.kind != MediaKind::Document {
            // The media service draws an SVG picture before storing it; none is sent as SVG.
            return Err(MediaError::WrongType(format!("the {} is an SVG that was not drawn", self.kind.as_str())));
        }
        self.mime = Some(mime);
        self.head = Vec::new();
        Ok(mime)
    }

    /// Makes the file durable under its digest (or keeps the identical one already stored).
    pub fn finish(mut self) -> Result<StoredMedia, MediaError> {
        if self.size == 0 {
            return Err(MediaError::Empty);
        }
        let mime = match self.mime {
            Some(m) => m,
            None => self.sniff()?,
        };
        let digest = Digest(std::mem::take(&mut self.hasher).finalize().into());
        let stored = StoredMedia { digest, size: self.size, mime: mime.to_owned() };
        let file = self.file.take().ok_or_else(|| MediaError::Io("writer already finished".into()))?;
        let file = file.into_inner().map_err(|e| MediaError::Io(e.error().to_string()))?;
        if self.store.claim_existing(&digest) {
            // Its first writer may not have made its directory entries durable yet.
            let target = self.store.path(&digest);
            if let Some(dir) = target.parent() {
                sync_dir(dir)?;
            }
            sync_dir(&self.store.files)?;
            return Ok(stored); // dropping self removes the temporary file
        }
        file.sync_all()?;
        drop(file);
        let target = self.store.path(&digest);
        let dir = target.parent().ok_or_else(|| MediaError::Io("media path has no parent".into()))?;
        fs::create_dir_all(dir)?;
        fs::rename(&self.path, &target)?;
        // The sweep's grace counts from here, not from the last write before the fsyncs.
        File::options().write(true).open(&target)?.set_modified(SystemTime::now())?;
        sync_dir(dir)?;
        sync_dir(&self.store.files)?;
        self.path = PathBuf::new();
        Ok(stored)
    }
}

impl Drop for MediaWriter<'_> {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(unix)]
fn restrict(dir: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
}

#[cfg(not(unix))]
fn restrict(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::Engine as _;

    const MB: u64 = 1024 * 1024;

    fn png(len: usize) -> Vec<u8> {
        let mut b = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89".to_vec();
        b.extend((0..len).map(|i| (i * 31 % 251) as u8));
        b
    }

    fn files(store: &MediaStore) -> usize {
        fs::read_dir(store.files_dir()).unwrap().flatten().map(|d| fs::read_dir(d.path()).unwrap().count()).sum()
    }

    #[test]
    fn base64_media_is_stored_under_its_digest_and_reads_back_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        let bytes = png(300_000);
        let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
        let stored = store.put_base64(MediaKind::Image, text.as_bytes(), 16 * MB).unwrap();
        assert_eq!(stored.digest, Digest::of(&bytes));
        assert_eq!((stored.size, stored.mime.as_str()), (bytes.len() as u64, "image/png"));
        assert_eq!(fs::read(store.path(&stored.digest)).unwrap(), bytes);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0, "no temporary file left");
    }

    #[test]
    fn the_same_bytes_twice_are_one_file() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        let a = store.put_bytes(MediaKind::Image, &png(1000), MB).unwrap();
        let b = store.put_bytes(MediaKind::Image, &png(1000), MB).unwrap();
        assert_eq!(a, b);
        assert_eq!(files(&store), 1);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn refused_media_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        let pdf = b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n".repeat(400);
        let cases: [(&[u8], u64, &str); 3] =
            [(&pdf, MB, "application/pdf"), (&png(2 * MB as usize), MB, "limit"), (b"", MB, "empty")];
        for (bytes, limit, expected) in cases {
            let err = store.put_bytes(MediaKind::Image, bytes, limit).unwrap_err().to_string();
            assert!(err.contains(expected), "{expected}: {err}");
        }
        assert!(store.put_base64(MediaKind::Image, b"iVBO*", MB).is_err());
        assert_eq!(files(&store), 0);
        assert_eq!(fs::read_dir(store.tmp_dir()).unwrap().count(), 0);
    }

    #[test]
    fn a_document_may_be_anything_but_an_image_route_sniffs() {
        let dir = tempfile::tempdir().unwrap();
        let store = MediaStore::open(dir.path()).unwrap();
        let doc = store.put_bytes(MediaKind::Document, b"plain words, no magic", MB).unwrap();
        assert_eq!(doc.mime, "application/octet-stream");
        assert!(store.put_bytes(MediaKind::Image, b"plain words, no magic", MB).is_err());
    }
}
