//! Media for tests: synthetic files ([`Blob`]) built from shared byte segments and seeded
//! pseudo-random filler — a real PNG, or the magic-number header of an MP4, OGG or PDF that
//! the `infer` crate recognises followed by random bytes — a real HTTP file server on
//! 127.0.0.1 that streams them ([`FileServer`]), uploads that stream a blob as the base64
//! data URI of a JSON body ([`upload`], [`RawPost`]), and readers of what the sim received
//! and of the media store's files. Nothing here holds a large file more than once: a
//! blob's filler is generated chunk by chunk, on the fly, each time it is read, so a 90 MB
//! document costs the test process a few hundred KiB.

mod blob;
mod upload;

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::Path;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::combinators::BoxBody;
use http_body_util::BodyExt;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::Value;

#[allow(unused_imports)] // each test binary uses a different part
pub use blob::{hex, Blob, Chunks, PngParts};
#[allow(unused_imports)]
pub use upload::{send_base64, upload, Answer, BlobBody, RawPost};

/// A real file server on 127.0.0.1: serves registered blobs at their paths (200, streamed),
/// anything else 404.
#[derive(Clone)]
pub struct FileServer {
    pub url: String,
    files: Arc<Mutex<HashMap<String, Blob>>>,
}

impl FileServer {
    pub async fn start() -> FileServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = FileServer { url, files: Arc::default() };
        let files = server.files.clone();
        // Stops when the test's runtime does.
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let files = files.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |req: Request<hyper::body::Incoming>| {
                        let blob = files.lock().unwrap().get(req.uri().path()).cloned();
                        async move { Ok::<_, Infallible>(answer(blob)) }
                    });
                    let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        server
    }

    /// Serves `blob` at `path` (e.g. `/video.mp4`) and answers its URL.
    pub fn serve(&self, path: &str, blob: &Blob) -> String {
        self.files.lock().unwrap().insert(path.to_owned(), blob.clone());
        format!("{}{path}", self.url)
    }

    /// A URL this server answers 404 for.
    pub fn missing(&self, path: &str) -> String {
        format!("{}{path}", self.url)
    }
}

fn answer(blob: Option<Blob>) -> Response<BoxBody<Bytes, Infallible>> {
    match blob {
        Some(b) => Response::new(BlobBody::raw(&b).boxed()),
        None => {
            let mut res = Response::new(http_body_util::Full::new(Bytes::from_static(b"not found")).boxed());
            *res.status_mut() = StatusCode::NOT_FOUND;
            res
        }
    }
}

/// Files in a media store's `files/` directory (`<data dir>/dataplane/media/files/<2 hex>/<64 hex>`).
pub fn stored_files(data_dir: &Path) -> Vec<String> {
    let files = data_dir.join("dataplane").join("media").join("files");
    let mut names = Vec::new();
    for sub in std::fs::read_dir(&files).into_iter().flatten().flatten() {
        for f in std::fs::read_dir(sub.path()).into_iter().flatten().flatten() {
            names.push(f.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    names
}

/// Files in a media store's `tmp/` directory (uploads being written).
pub fn temporary_files(data_dir: &Path) -> Vec<String> {
    let tmp = data_dir.join("dataplane").join("media").join("tmp");
    let names = std::fs::read_dir(tmp).into_iter().flatten().flatten();
    names.map(|f| f.file_name().to_string_lossy().into_owned()).collect()
}

impl super::Chatedge {
    /// The process's peak resident set (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        self.status_kib("VmHWM:")
    }

    /// The process's resident set now (VmRSS), in KiB.
    pub fn rss_kib(&self) -> u64 {
        self.status_kib("VmRSS:")
    }

    /// The anonymous part of the resident set now (RssAnon: heap, not mapped files), in KiB.
    pub fn rss_anon_kib(&self) -> u64 {
        self.status_kib("RssAnon:")
    }

    fn status_kib(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }
}

/// What `phone` received from `inst`, as the sim's witness lists it (`GET /sim/received`).
pub async fn arrived(http: &super::Http, ce: &super::Chatedge, inst: &super::Instance, phone: &str) -> Vec<Value> {
    let url = format!("{}/sim/received?instanceId={}&phone={phone}", ce.dp, inst.id);
    let (status, v) = http.get(&url, Some(&ce.admin_token)).await;
    assert_eq!(status, 200, "GET /sim/received: {v}");
    v["messages"].as_array().cloned().unwrap_or_default()
}

/// Waits until `phone` received at least `n` messages from `inst` and answers them.
pub async fn wait_arrived(
    http: &super::Http,
    ce: &super::Chatedge,
    inst: &super::Instance,
    phone: &str,
    n: usize,
) -> Vec<Value> {
    let got = super::eventually(super::PATIENCE, || async {
        let m = arrived(http, ce, inst, phone).await;
        (m.len() >= n).then_some(m)
    })
    .await;
    got.unwrap_or_else(|| panic!("{phone} did not receive {n} messages in time"))
}

/// Asserts that `message` (an entry of `/sim/received`) carries exactly `blob`.
pub fn assert_media(message: &Value, blob: &Blob, mime: &str, what: &str) {
    let media = &message["media"];
    assert_eq!(media["sha256"].as_str(), Some(blob.sha256().as_str()), "{what}: SHA-256 as received: {message}");
    assert_eq!(media["size"].as_u64(), Some(blob.len()), "{what}: size as received");
    assert_eq!(media["mime"].as_str(), Some(mime), "{what}: type as received");
}
