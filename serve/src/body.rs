//! body: the request body a handler receives, whichever protocol carried it — hyper's
//! `Incoming` for HTTP/1.1 and h2, the receive half of an HTTP/3 request stream — and bounded
//! reading of a whole body. It never reads ahead: a handler that refuses a request before
//! reading its body (credentials first) leaves it unread on every protocol. Polled on the
//! task serving the request.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Buf, Bytes};
use http_body_util::{BodyExt, Limited};
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{HeaderMap, CONTENT_LENGTH};

/// The receive half of an HTTP/3 request stream.
pub type H3Recv = h3::server::RequestStream<h3_quinn::RecvStream, Bytes>;

/// A request body from any of the protocols a plane serves.
pub enum Body {
    /// HTTP/1.1 or HTTP/2 (with or without TLS): no extra allocation on this path.
    Http(Incoming),
    /// HTTP/3.
    H3(Box<H3Body>),
}

/// An HTTP/3 request body: the stream's receive half, and whether the client's FIN was read.
pub struct H3Body {
    stream: H3Recv,
    ended: bool,
}

impl H3Body {
    pub fn new(stream: H3Recv) -> Self {
        H3Body { stream, ended: false }
    }
}

impl Drop for H3Body {
    /// A body left unread (a refusal before the body, a GET) asks the client to stop sending
    /// with H3_NO_ERROR, as RFC 9114 §4.1 says; quinn alone would send error code 0, which
    /// h3 clients take as the response's stream being aborted.
    fn drop(&mut self) {
        if !self.ended {
            self.stream.stop_sending(h3::error::Code::H3_NO_ERROR);
        }
    }
}

impl From<Incoming> for Body {
    fn from(b: Incoming) -> Self {
        Body::Http(b)
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyStreamError {
    #[error(transparent)]
    Http(#[from] hyper::Error),
    #[error("HTTP/3 stream: {0}")]
    H3(String),
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = BodyStreamError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        match self.get_mut() {
            Body::Http(b) => Pin::new(b).poll_frame(cx).map_err(BodyStreamError::Http),
            Body::H3(s) => match s.stream.poll_recv_data(cx) {
                Poll::Pending => Poll::Pending,
                Poll::Ready(Ok(None)) => {
                    s.ended = true;
                    Poll::Ready(None)
                }
                Poll::Ready(Ok(Some(mut buf))) => {
                    Poll::Ready(Some(Ok(Frame::data(buf.copy_to_bytes(buf.remaining())))))
                }
                Poll::Ready(Err(e)) => Poll::Ready(Some(Err(BodyStreamError::H3(e.to_string())))),
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Http(b) => b.is_end_stream(),
            Body::H3(s) => s.ended,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Http(b) => b.size_hint(),
            Body::H3(_) => SizeHint::default(),
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    TooLarge { limit: usize },
    Broken(String),
}

/// Reads a whole body of at most `limit` bytes.
pub async fn read_body<B>(headers: &HeaderMap, body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let declared = declared_length(headers);
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    if let Some(n) = declared.filter(|n| *n > LARGE_BODY) {
        return read_large(body, n as usize, limit).await;
    }
    match Limited::new(body, limit).collect().await {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge { limit }),
        Err(e) => Err(BodyError::Broken(e.to_string())),
    }
}

/// The `Content-Length` a request declares, when it declares a valid one.
pub fn declared_length(headers: &HeaderMap) -> Option<u64> {
    headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok())
}

/// Bodies announced larger than this are read into one buffer of their announced size, so
/// they are never held twice (frames, then their concatenation).
const LARGE_BODY: u64 = 256 * 1024;

async fn read_large<B>(mut body: B, declared: usize, limit: usize) -> Result<Bytes, BodyError>
where
    B: hyper::body::Body<Data = Bytes> + Unpin,
    B::Error: std::error::Error,
{
    let mut buf = bytes::BytesMut::with_capacity(declared);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Broken(e.to_string()))?;
        if let Ok(data) = frame.into_data() {
            if buf.len() + data.len() > limit {
                return Err(BodyError::TooLarge { limit });
            }
            buf.extend_from_slice(&data);
        }
    }
    Ok(buf.freeze())
}
