//! Uploads: a JSON body carrying a blob as a base64 data URI, generated as it is sent
//! ([`BlobBody`], [`upload`]), posted on a raw connection that reads early answers
//! ([`RawPost`]).

use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame, SizeHint};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;

use super::blob::{Blob, Chunks};

/// A body made of a prefix, a blob (raw or as base64) and a suffix, generated as it is sent;
/// its exact length is known, so hyper announces it in Content-Length.
pub struct BlobBody {
    prefix: Option<Bytes>,
    chunks: Chunks,
    base64: bool,
    /// Bytes of the last chunk not yet encoded (fewer than 3).
    carry: Vec<u8>,
    suffix: Option<Bytes>,
    left: u64,
}

impl BlobBody {
    pub fn raw(blob: &Blob) -> BlobBody {
        BlobBody::new(Bytes::new(), blob, false, Bytes::new())
    }

    pub fn base64(prefix: impl Into<Bytes>, blob: &Blob, suffix: impl Into<Bytes>) -> BlobBody {
        BlobBody::new(prefix.into(), blob, true, suffix.into())
    }

    fn new(prefix: Bytes, blob: &Blob, base64: bool, suffix: Bytes) -> BlobBody {
        let middle = if base64 { blob.base64_len() } else { blob.len() };
        let left = prefix.len() as u64 + middle + suffix.len() as u64;
        BlobBody { prefix: Some(prefix), chunks: blob.chunks(), base64, carry: Vec::new(), suffix: Some(suffix), left }
    }

    fn next_bytes(&mut self) -> Option<Bytes> {
        if let Some(p) = self.prefix.take().filter(|p| !p.is_empty()) {
            return Some(p);
        }
        match self.chunks.next() {
            Some(chunk) if !self.base64 => return Some(chunk),
            Some(chunk) => {
                let mut data = std::mem::take(&mut self.carry);
                data.extend_from_slice(&chunk);
                let whole = data.len() / 3 * 3;
                self.carry = data[whole..].to_vec();
                return Some(base64::engine::general_purpose::STANDARD.encode(&data[..whole]).into());
            }
            None if !self.carry.is_empty() => {
                let rest = std::mem::take(&mut self.carry);
                return Some(base64::engine::general_purpose::STANDARD.encode(rest).into());
            }
            None => {}
        }
        self.suffix.take().filter(|s| !s.is_empty())
    }

    pub fn len(&self) -> u64 {
        self.left
    }
}

impl Body for BlobBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let next = self.next_bytes();
        if let Some(b) = &next {
            self.left -= b.len() as u64;
        }
        Poll::Ready(next.map(|b| Ok(Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.left)
    }
}

/// What a chatedge answered to an upload.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: Value,
    pub retry_after: Option<String>,
}

/// One POST on its own raw connection, answered the way curl reads answers: chatedge may
/// answer (413, 503) from the declared length before it reads the body and close the
/// connection, which hyper's client reports as a broken pipe instead of the answer. The
/// body is written by a task of its own while the answer is read.
pub struct RawPost {
    reader: OwnedReadHalf,
    writer: OwnedWriteHalf,
    body: BlobBody,
}

impl RawPost {
    /// Connects to `url` and writes the request head (with the body's Content-Length).
    pub async fn start(url: &str, body: BlobBody) -> RawPost {
        let rest = url.strip_prefix("http://").expect("an http:// URL");
        let (host, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        let stream = TcpStream::connect(host).await.expect("upload reaches chatedge");
        stream.set_nodelay(true).unwrap();
        let (reader, mut writer) = stream.into_split();
        let head = format!(
            "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\n\
             content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        writer.write_all(head.as_bytes()).await.unwrap();
        RawPost { reader, writer, body }
    }

    /// Writes at least `n` more bytes of the body (all that is left if fewer).
    pub async fn write(&mut self, n: u64) {
        let mut written = 0;
        while written < n {
            let Some(Ok(frame)) = self.body.frame().await else { return };
            let data = frame.into_data().unwrap();
            written += data.len() as u64;
            self.writer.write_all(&data).await.unwrap();
        }
    }

    /// Writes the rest of the body (until chatedge stops reading) and reads the answer.
    pub async fn answer(self) -> Answer {
        let RawPost { mut reader, mut writer, mut body } = self;
        // Ends when the body is written or chatedge closed the connection.
        let writing = tokio::spawn(async move {
            while let Some(Ok(frame)) = body.frame().await {
                if writer.write_all(&frame.into_data().unwrap()).await.is_err() {
                    return;
                }
            }
            let _ = writer.flush().await;
            // Kept open until the answer is read: a half-close may end the exchange early.
            std::future::pending::<()>().await;
        });
        let mut buf = Vec::new();
        let mut chunk = vec![0u8; 16 * 1024];
        let head_end = loop {
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            let n = reader.read(&mut chunk).await.expect("chatedge answers");
            assert!(n > 0, "chatedge closed the connection without an answer");
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let header = |name: &str| {
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
                .map(|(_, v)| v.trim().to_owned())
        };
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
        let length: usize = header("content-length").and_then(|v| v.parse().ok()).expect("a content-length");
        while buf.len() < head_end + length {
            let n = reader.read(&mut chunk).await.expect("chatedge answers");
            assert!(n > 0, "chatedge closed the connection in the middle of its answer");
            buf.extend_from_slice(&chunk[..n]);
        }
        writing.abort();
        let raw = &buf[head_end..head_end + length];
        let body = serde_json::from_slice(raw).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(raw).into()));
        Answer { status, body, retry_after: header("retry-after") }
    }
}

/// Posts `{"phone": phone, <field>: "data:<mime>;base64,<blob>"}` to `url` (streamed).
pub async fn send_base64(url: &str, field: &str, mime: &str, phone: &str, blob: &Blob) -> Answer {
    RawPost::start(url, upload(field, mime, phone, blob)).await.answer().await
}

/// The JSON body `{"phone": phone, <field>: "data:<mime>;base64,<blob>"}`, streamed.
pub fn upload(field: &str, mime: &str, phone: &str, blob: &Blob) -> BlobBody {
    let prefix = format!(r#"{{"phone":"{phone}","{field}":"data:{mime};base64,"#);
    BlobBody::base64(prefix, blob, &b"\"}"[..])
}
