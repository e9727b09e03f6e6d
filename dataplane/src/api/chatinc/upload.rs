//! `multipart/form-data` uploads (seed 003's `…/from/file` routes), read with `multer` as a
//! stream: the `file` part is spooled to a private file under the data directory (so the other
//! parts may come before or after it, and memory holds a few chunks at a time); the other
//! parts are small text fields. Bounded by `[campaigns] max_upload_bytes` and 16 text fields
//! of at most 4 KiB each. The spooled file is deleted when the upload is dropped.

use std::collections::HashMap;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use chatedge_serve::Body;
use http_body_util::BodyExt;
use hyper::HeaderMap;
use rand::Rng;

use super::error::ChatIncError;
use crate::campaigns::CampaignError;

const MAX_TEXT_FIELDS: usize = 16;
const MAX_TEXT_BYTES: usize = 4 * 1024;
/// Chunks waiting for the spool writer.
const SPOOL_CHUNKS: usize = 8;

pub struct Upload {
    pub fields: HashMap<String, String>,
    pub file: Option<Spooled>,
}

/// The `file` part on disk; deleted on drop.
pub struct Spooled {
    pub path: PathBuf,
    pub bytes: u64,
}

impl Drop for Spooled {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Upload {
    pub fn text(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
    }
}

fn too_large(limit: u64) -> ChatIncError {
    ChatIncError::Campaign(CampaignError::TooLarge { limit })
}

fn broken(e: multer::Error, limit: u64) -> ChatIncError {
    match e {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => too_large(limit),
        other => ChatIncError::invalid("body", format!("not a readable multipart/form-data body: {other}")),
    }
}

/// Reads the multipart body, spooling its `file` part into `dir`.
pub async fn read(headers: &HeaderMap, body: Body, dir: &Path, limit: u64) -> Result<Upload, ChatIncError> {
    let content_type = headers.get(hyper::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let boundary = multer::parse_boundary(content_type)
        .map_err(|_| ChatIncError::invalid("Content-Type", "must be multipart/form-data with a boundary"))?;
    let whole = limit + (MAX_TEXT_FIELDS * MAX_TEXT_BYTES) as u64 + 64 * 1024;
    if chatedge_serve::declared_length(headers).is_some_and(|n| n > whole) {
        return Err(too_large(limit));
    }
    let constraints = multer::Constraints::new().size_limit(multer::SizeLimit::new().whole_stream(whole));
    let mut parts = multer::Multipart::with_constraints(body.into_data_stream(), boundary, constraints);
    let mut upload = Upload { fields: HashMap::new(), file: None };
    while let Some(mut field) = parts.next_field().await.map_err(|e| broken(e, limit))? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            if upload.file.is_some() {
                return Err(ChatIncError::invalid("file", "send one file per request"));
            }
            let path = dir.join(format!(
                "upload-{}.csv",
                rand::rng().sample_iter(&rand::distr::Alphanumeric).take(16).map(char::from).collect::<String>()
            ));
            let mut spooled = Spooled { path: path.clone(), bytes: 0 };
            let (tx, mut rx) = tokio::sync::mpsc::channel::<Bytes>(SPOOL_CHUNKS);
            let writer = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
                let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path)?;
                while let Some(chunk) = rx.blocking_recv() {
                    f.write_all(&chunk)?;
                }
                f.flush()
            });
            let mut bytes = 0u64;
            let mut failed = None;
            loop {
                match field.chunk().await {
                    Ok(Some(chunk)) => {
                        bytes += chunk.len() as u64;
                        if bytes > limit {
                            failed = Some(too_large(limit));
                            break;
                        }
                        if tx.send(chunk).await.is_err() {
                            break; // the writer failed: its error is reported below
                        }
                    }
                    Ok(None) => break,
                    Err(e) => {
                        failed = Some(broken(e, limit));
                        break;
                    }
                }
            }
            drop(tx);
            let written = writer.await.map_err(|e| CampaignError::Unavailable(format!("upload spool: {e}")))?;
            if let Some(e) = failed {
                return Err(e);
            }
            written.map_err(|e| CampaignError::Unavailable(format!("cannot spool the upload: {e}")))?;
            spooled.bytes = bytes;
            upload.file = Some(spooled);
        } else {
            if upload.fields.len() == MAX_TEXT_FIELDS {
                return Err(ChatIncError::invalid(name, format!("at most {MAX_TEXT_FIELDS} form fields")));
            }
            let mut text = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(|e| broken(e, limit))? {
                text.extend_from_slice(&chunk);
                if text.len() > MAX_TEXT_BYTES {
                    return Err(ChatIncError::invalid(name, format!("at most {MAX_TEXT_BYTES} bytes")));
                }
            }
            let text =
                String::from_utf8(text).map_err(|_| ChatIncError::invalid(name.clone(), "must be UTF-8 text"))?;
            upload.fields.insert(name, text);
        }
    }
    Ok(upload)
}

/// Empties the spool directory (uploads cut by a crash) and makes sure it exists (mode 0700).
pub fn prepare(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)?;
    for entry in std::fs::read_dir(dir)?.flatten() {
        let _ = std::fs::remove_file(entry.path());
    }
    Ok(())
}
