//! relocate: what lets a TLS connection change runtimes after its handshake. A plain
//! connection's first bytes can be `peek`ed and the socket moved before anything is read; a TLS
//! connection's first request is only readable once the handshake is done and its records
//! decrypted, which consumes them. So the handshake runs on a [`Portable`] socket — one that can
//! leave the runtime's reactor it was accepted on and join another's, the TLS state around it
//! moving along — and the bytes read to choose the runtime are served again first by
//! [`Rewound`]. It decides nothing: `tcp` chooses when and where to move.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP socket registered with one runtime's reactor at a time; between
/// [`detach`](Portable::detach) and [`attach`](Portable::attach) it has none, and I/O on it
/// fails (`NotConnected`) instead of touching the wrong reactor.
pub(crate) struct Portable(Option<TcpStream>);

impl Portable {
    pub(crate) fn new(stream: TcpStream) -> Self {
        Portable(Some(stream))
    }

    /// Leaves the current runtime's reactor: the socket, still open and non-blocking, to be
    /// handed to [`attach`](Portable::attach) on the runtime it moves to.
    pub(crate) fn detach(&mut self) -> io::Result<std::net::TcpStream> {
        self.0.take().ok_or_else(detached)?.into_std()
    }

    /// Joins the reactor of the runtime this is called on. Data that arrived while detached
    /// waits in the socket and is reported ready at once.
    pub(crate) fn attach(&mut self, socket: std::net::TcpStream) -> io::Result<()> {
        self.0 = Some(TcpStream::from_std(socket)?);
        Ok(())
    }

    fn stream(&mut self) -> io::Result<Pin<&mut TcpStream>> {
        self.0.as_mut().map(Pin::new).ok_or_else(detached)
    }
}

fn detached() -> io::Error {
    io::Error::new(io::ErrorKind::NotConnected, "connection between runtimes")
}

impl AsyncRead for Portable {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_read(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

impl AsyncWrite for Portable {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_write(cx, buf),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_write_vectored(cx, bufs),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_flush(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut().stream() {
            Ok(s) => s.poll_shutdown(cx),
            Err(e) => Poll::Ready(Err(e)),
        }
    }
}

/// A stream whose first bytes were already read: they are read again, then the stream's own.
pub(crate) struct Rewound<S> {
    head: Vec<u8>,
    /// How much of `head` has been read again.
    at: usize,
    inner: S,
}

impl<S> Rewound<S> {
    pub(crate) fn new(head: Vec<u8>, inner: S) -> Self {
        Rewound { head, at: 0, inner }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Rewound<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let rest = &this.head[this.at..];
        if rest.is_empty() {
            return Pin::new(&mut this.inner).poll_read(cx, buf);
        }
        let n = rest.len().min(buf.remaining());
        buf.put_slice(&rest[..n]);
        this.at += n;
        if this.at == this.head.len() {
            this.head = Vec::new(); // read again in full: its memory is not kept for the connection's life
            this.at = 0;
        }
        Poll::Ready(Ok(()))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Rewound<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn rewound_bytes_are_read_again_before_the_streams_own_in_any_read_size() {
        for size in [1, 3, 5, 64] {
            let (mut client, server) = tokio::io::duplex(64);
            client.write_all(b" world").await.unwrap();
            drop(client);
            let mut rewound = Rewound::new(b"hello".to_vec(), server);
            let (mut got, mut chunk) = (Vec::new(), vec![0u8; size]);
            loop {
                let n = rewound.read(&mut chunk).await.unwrap();
                if n == 0 {
                    break;
                }
                got.extend_from_slice(&chunk[..n]);
            }
            assert_eq!(got, b"hello world", "reads of {size} bytes");
        }
    }

    #[tokio::test]
    async fn a_portable_socket_moves_to_another_runtime_with_the_data_waiting_in_it() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = TcpStream::connect(listener.local_addr().unwrap()).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        let mut portable = Portable::new(accepted);
        client.write_all(b"ping").await.unwrap();
        let socket = portable.detach().unwrap();
        let mut buf = [0u8; 4];
        let read = portable.read(&mut buf).await;
        assert_eq!(read.unwrap_err().kind(), io::ErrorKind::NotConnected, "no I/O while between runtimes");

        let other = tokio::runtime::Builder::new_current_thread().enable_io().build().unwrap();
        let moved = std::thread::spawn(move || {
            other.block_on(async move {
                portable.attach(socket).unwrap();
                let mut buf = [0u8; 4];
                portable.read_exact(&mut buf).await.unwrap();
                portable.write_all(b"pong").await.unwrap();
                buf
            })
        });
        assert_eq!(&moved.join().unwrap(), b"ping", "what arrived before the move is read after it");
        let mut answer = [0u8; 4];
        client.read_exact(&mut answer).await.unwrap();
        assert_eq!(&answer, b"pong");
    }
}
