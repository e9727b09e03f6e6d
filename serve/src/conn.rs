//! conn: one HTTP/1.1 or HTTP/2 connection from its first byte to its close, on the task its
//! listener spawned for it. It owns the connection's timers — idle (no request in flight),
//! write (a client that never reads), request head (an HTTP/1 head begun but not finished) — and
//! closes the connection gracefully when one fires or the plane shuts down. It never reads
//! request bodies: the handler does.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use hyper_util::server::graceful::GracefulConnection;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::watch;
use tokio::time::Sleep;

use crate::shutdown::stopped;

/// What a connection is doing, shared by its driver, its service and its I/O.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    in_flight: AtomicUsize,
    /// Requests begun so far: a head timer armed before the latest one began is stale.
    begun: AtomicU64,
    /// Milliseconds since [`epoch`] when the last request began or ended.
    last_ms: AtomicU64,
    pub(crate) write_timed_out: AtomicBool,
    pub(crate) head_timed_out: AtomicBool,
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now_ms() -> u64 {
    epoch().elapsed().as_millis() as u64
}

impl Activity {
    pub(crate) fn new() -> Arc<Activity> {
        let a = Activity::default();
        a.last_ms.store(now_ms(), Ordering::Relaxed);
        Arc::new(a)
    }

    /// Marks a request in flight until the returned guard drops.
    pub(crate) fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        self.begun.fetch_add(1, Ordering::Relaxed);
        InFlight(self.clone())
    }

    /// When the connection becomes idle for `idle` if nothing happens meanwhile.
    pub(crate) fn idle_deadline(&self, idle: Duration) -> tokio::time::Instant {
        let last = Duration::from_millis(self.last_ms.load(Ordering::Relaxed));
        tokio::time::Instant::from_std(epoch() + last + idle)
    }

    /// Whether no request is in flight and none began or ended for `idle`.
    pub(crate) fn is_idle(&self, idle: Duration) -> bool {
        self.in_flight.load(Ordering::Relaxed) == 0
            && now_ms().saturating_sub(self.last_ms.load(Ordering::Relaxed)) >= idle.as_millis() as u64
    }
}

/// One request in flight on a connection.
pub(crate) struct InFlight(Arc<Activity>);

impl InFlight {
    /// The client did not read this request's answer within the write timeout.
    pub(crate) fn write_timed_out(&self) {
        self.0.write_timed_out.store(true, Ordering::Relaxed);
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last_ms.store(now_ms(), Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How a connection ended, when a limit ended it: a `refusals` label.
pub(crate) fn limit_hit(
    activity: &Activity,
    error: Option<&(dyn std::error::Error + 'static)>,
) -> Option<&'static str> {
    if activity.write_timed_out.load(Ordering::Relaxed) {
        return Some("write_timeout");
    }
    if activity.head_timed_out.load(Ordering::Relaxed) {
        return Some("header_timeout");
    }
    let e = error?.downcast_ref::<hyper::Error>()?;
    if e.is_timeout() {
        Some("header_timeout")
    } else if e.is_parse_too_large() {
        Some("header_too_large")
    } else {
        None
    }
}

/// Drives `conn` to its end, closing it gracefully when it has been idle for `idle` or when
/// the plane shuts down; `on_idle` runs when the idle timer closes it.
pub(crate) async fn drive<C>(
    conn: C,
    activity: &Activity,
    idle: Duration,
    mut shutdown: watch::Receiver<bool>,
    on_idle: impl FnOnce(),
) -> Result<(), C::Error>
where
    C: GracefulConnection,
{
    tokio::pin!(conn);
    let mut on_idle = Some(on_idle);
    loop {
        let deadline = activity.idle_deadline(idle);
        tokio::select! {
            r = conn.as_mut() => return r,
            _ = tokio::time::sleep_until(deadline), if on_idle.is_some() => {
                if activity.is_idle(idle) {
                    if let Some(f) = on_idle.take() {
                        f();
                    }
                    conn.as_mut().graceful_shutdown();
                }
            }
            _ = stopped(&mut shutdown), if on_idle.is_some() => {
                on_idle = None;
                conn.as_mut().graceful_shutdown();
            }
        }
        if on_idle.is_none() {
            return conn.await;
        }
    }
}

/// The HTTP/2 connection preface's first bytes: an h2 connection has no HTTP/1 heads to time.
const H2_PREFACE_START: &[u8; 4] = b"PRI ";

/// A stream whose writes fail with `TimedOut` when the peer accepts no byte for `timeout`: a
/// client that never reads cannot hold its connection (and the response it pins) for ever. Its
/// reads fail the same way when an HTTP/1 request head, from its first byte, is not complete
/// (no request has begun) within `header_timeout`: one byte a second cannot hold a connection
/// either. The head timer starts at a head's first byte, not when the previous answer ends (as
/// hyper's own does), so an idle kept-alive connection stays open until the idle timer
/// (`drive`) closes it.
pub(crate) struct TimedIo<T> {
    inner: T,
    timeout: Duration,
    /// Running while a write is blocked; allocated only then.
    stall: Option<Pin<Box<Sleep>>>,
    header_timeout: Duration,
    /// While a head is being read: the requests begun when it started (its deadline is
    /// `head_deadline`).
    head: Option<u64>,
    /// The head's deadline: allocated at the first head, reset for each later one.
    head_deadline: Option<Pin<Box<Sleep>>>,
    /// The connection's first bytes, until there are enough to tell HTTP/2 from HTTP/1.
    start: ([u8; 4], usize),
    activity: Arc<Activity>,
}

impl<T> TimedIo<T> {
    pub(crate) fn new(inner: T, timeout: Duration, header_timeout: Duration, activity: Arc<Activity>) -> Self {
        TimedIo {
            inner,
            timeout,
            stall: None,
            header_timeout,
            head: None,
            head_deadline: None,
            start: ([0; 4], 0),
            activity,
        }
    }

    fn blocked(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        let timeout = self.timeout;
        let stall = self.stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(timeout)));
        ready!(stall.as_mut().poll(cx));
        self.activity.write_timed_out.store(true, Ordering::Relaxed);
        Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "the client read nothing within the write timeout"))
    }

    fn watch<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        match r {
            Poll::Ready(r) => {
                self.stall = None;
                Poll::Ready(r)
            }
            Poll::Pending => self.blocked(cx).map(Err),
        }
    }

    fn is_h2(&self) -> bool {
        self.start.1 == H2_PREFACE_START.len() && &self.start.0 == H2_PREFACE_START
    }

    /// `bytes` arrived: between requests, they begin a head, whose timer starts.
    fn arrived(&mut self, bytes: &[u8]) {
        let (start, seen) = &mut self.start;
        let take = bytes.len().min(start.len() - *seen);
        start[*seen..*seen + take].copy_from_slice(&bytes[..take]);
        *seen += take;
        let between = self.activity.in_flight.load(Ordering::Relaxed) == 0;
        if between && self.head.is_none() && !self.is_h2() {
            let deadline = tokio::time::Instant::now() + self.header_timeout;
            match &mut self.head_deadline {
                Some(sleep) => sleep.as_mut().reset(deadline),
                None => self.head_deadline = Some(Box::pin(tokio::time::sleep_until(deadline))),
            }
            self.head = Some(self.activity.begun.load(Ordering::Relaxed));
        }
    }

    /// Whether the head being read has run out of time; forgets a head whose request began.
    fn head_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(begun) = self.head else { return false };
        if begun != self.activity.begun.load(Ordering::Relaxed) || self.is_h2() {
            self.head = None;
            return false;
        }
        if self.head_deadline.as_mut().is_some_and(|d| d.as_mut().poll(cx).is_pending()) {
            return false;
        }
        self.head = None;
        self.activity.head_timed_out.store(true, Ordering::Relaxed);
        true
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = r {
            if buf.filled().len() > before {
                self.arrived(&buf.filled()[before..]);
            }
        }
        if self.head_expired(cx) {
            let e = io::Error::new(
                io::ErrorKind::TimedOut,
                "the request head was not complete within the header read timeout",
            );
            return Poll::Ready(Err(e));
        }
        r
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.watch(cx, r)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.watch(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.watch(cx, r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
