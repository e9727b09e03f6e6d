//! A bare HTTP/1.1 client on a raw TCP socket, for tests that must know how far a request got:
//! which bytes were written, whether any answer byte has arrived, and whether the answer was a
//! status or a broken connection. hyper's client hides exactly that, so this one exists.
//! Answers must carry `content-length` (chatedge's always do); keep-alive is used as offered.

use std::io;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest answer head read before giving up.
const MAX_HEAD: usize = 16 * 1024;

/// What came back for one request.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// A complete answer.
    Answered { status: u16, body: Value },
    /// The connection failed or closed before a complete answer: the request may or may not
    /// have taken effect.
    NoAnswer(String),
}

impl Outcome {
    pub fn status(&self) -> Option<u16> {
        match self {
            Outcome::Answered { status, .. } => Some(*status),
            Outcome::NoAnswer(_) => None,
        }
    }
}

/// One client connection.
pub struct Conn {
    stream: TcpStream,
    host: String,
    /// Bytes read past the previous answer.
    buf: Vec<u8>,
}

/// `http://127.0.0.1:port` → `127.0.0.1:port`.
pub fn host_of(base: &str) -> &str {
    base.trim_start_matches("http://").trim_end_matches('/')
}

impl Conn {
    pub async fn open(base: &str) -> io::Result<Conn> {
        let host = host_of(base).to_owned();
        let stream = TcpStream::connect(&host).await?;
        stream.set_nodelay(true)?;
        Ok(Conn { stream, host, buf: Vec::new() })
    }

    /// The request head for a JSON POST of `body_len` bytes to `path`.
    fn head(&self, path: &str, body_len: usize) -> String {
        format!(
            "POST {path} HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\ncontent-length: {body_len}\r\n\r\n",
            self.host
        )
    }

    /// Writes the head of a POST of `body` and the first `sent` bytes of `body`; the rest is
    /// for [`write_rest`](Self::write_rest). Returns once the bytes are in the kernel.
    pub async fn write_partial(&mut self, path: &str, body: &[u8], sent: usize) -> io::Result<()> {
        let mut bytes = self.head(path, body.len()).into_bytes();
        bytes.extend_from_slice(&body[..sent]);
        self.stream.write_all(&bytes).await?;
        self.stream.flush().await
    }

    /// Writes `bytes` as they are (a whole request of any kind).
    pub async fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await?;
        self.stream.flush().await
    }

    pub async fn write_rest(&mut self, body: &[u8], sent: usize) -> io::Result<()> {
        self.stream.write_all(&body[sent..]).await?;
        self.stream.flush().await
    }

    /// Whether any answer byte (or the peer's close) has arrived, without waiting or consuming.
    pub async fn answer_started(&mut self) -> bool {
        if !self.buf.is_empty() {
            return true;
        }
        let mut probe = [0u8; 1];
        // `timeout` polls the peek once before looking at the (already expired) deadline.
        tokio::time::timeout(Duration::ZERO, self.stream.peek(&mut probe)).await.is_ok()
    }

    /// A whole POST, then its answer.
    pub async fn post(&mut self, path: &str, body: &[u8]) -> Outcome {
        if let Err(e) = self.write_partial(path, body, body.len()).await {
            return Outcome::NoAnswer(format!("write: {e}"));
        }
        self.answer().await
    }

    /// Reads one answer.
    pub async fn answer(&mut self) -> Outcome {
        match self.read_answer().await {
            Ok((status, body)) => Outcome::Answered { status, body },
            Err(e) => Outcome::NoAnswer(e.to_string()),
        }
    }

    async fn read_answer(&mut self) -> io::Result<(u16, Value)> {
        let head_end = loop {
            if let Some(i) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD {
                return Err(invalid("answer head too long"));
            }
            self.fill().await?;
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status =
            head.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok()).ok_or_else(|| invalid("no status line"))?;
        let length = head
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok())
            .ok_or_else(|| invalid("no content-length"))?;
        while self.buf.len() < head_end + length {
            self.fill().await?;
        }
        let raw: Vec<u8> = self.buf.drain(..head_end + length).skip(head_end).collect();
        let body = serde_json::from_slice(&raw).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&raw).into()));
        Ok((status, body))
    }

    async fn fill(&mut self) -> io::Result<()> {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before a whole answer"));
        }
        self.buf.extend_from_slice(&chunk[..n]);
        Ok(())
    }
}

fn invalid(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.to_owned())
}
