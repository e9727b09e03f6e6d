//! [`CallError`]: why a request did not produce the answer a scenario wanted, sorted into a
//! stable kind for the errors-by-kind table whatever protocol carried it, and the functions
//! that sort hyper's, h2's, rustls' and quinn/h3's errors into it.

use std::error::Error;

/// Why a request did not produce the answer the scenario wanted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// No answer within the timeout.
    Timeout,
    /// The connection could not be made (TCP or QUIC), or the HTTP/2 or HTTP/3 session on it
    /// could not start.
    Connect(String),
    /// The TLS handshake failed: an untrusted certificate (pass --ca or --insecure), no
    /// common protocol by ALPN (a server without h2), a TLS alert.
    Tls(String),
    /// The connection broke mid-request (reset, closed, GOAWAY, QUIC connection lost).
    Io(String),
    /// The server reset this one stream (HTTP/2 RST_STREAM, HTTP/3 stream reset or
    /// STOP_SENDING with an error code), e.g. REFUSED_STREAM past its stream limit.
    Reset(String),
    /// A non-2xx answer, with the start of its body.
    Status { status: u16, body: String },
    /// A 2xx answer that is not what the route promises.
    BadResponse(String),
    /// A multi-step operation (pairing) that did not finish in time.
    Stalled(String),
}

impl CallError {
    /// Stable label for counting errors by kind.
    pub fn kind(&self) -> String {
        match self {
            CallError::Timeout => "timeout".into(),
            CallError::Connect(_) => "connect".into(),
            CallError::Tls(_) => "tls".into(),
            CallError::Io(_) => "io".into(),
            CallError::Reset(_) => "stream_reset".into(),
            CallError::Status { status, .. } => format!("http_{status}"),
            CallError::BadResponse(_) => "bad_response".into(),
            CallError::Stalled(_) => "stalled".into(),
        }
    }
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallError::Timeout => write!(f, "timed out"),
            CallError::Connect(e) => write!(f, "cannot connect: {e}"),
            CallError::Tls(e) => write!(f, "TLS: {e}"),
            CallError::Io(e) => write!(f, "connection error: {e}"),
            CallError::Reset(e) => write!(f, "stream reset by the server: {e}"),
            CallError::Status { status, body } => write!(f, "HTTP {status}: {body}"),
            CallError::BadResponse(e) => write!(f, "unexpected response: {e}"),
            CallError::Stalled(e) => write!(f, "gave up: {e}"),
        }
    }
}

impl Error for CallError {}

/// `e` and its sources, joined with `: `.
pub fn source_chain(e: &dyn Error) -> String {
    let mut text = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        text.push_str(": ");
        text.push_str(&s.to_string());
        next = s.source();
    }
    text
}

/// The rustls error somewhere in `e`'s chain. tokio-rustls wraps it in an `io::Error` (and
/// hyper-rustls may wrap that in another), whose `source()` skips its payload, so an
/// `io::Error`'s payload is the next link looked at.
fn rustls_error<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a rustls::Error> {
    let mut next = Some(e);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }
        next = match e.downcast_ref::<std::io::Error>().and_then(|io| io.get_ref()) {
            Some(payload) => Some(payload as &(dyn Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// A connection-stage failure: TLS when rustls refused, else `Connect`.
pub fn connect(e: &(dyn Error + 'static)) -> CallError {
    match rustls_error(e) {
        Some(tls) => CallError::Tls(tls_text(tls)),
        None => CallError::Connect(source_chain(e)),
    }
}

/// What a TLS failure says, with the flag that fixes an untrusted certificate.
fn tls_text(e: &rustls::Error) -> String {
    match e {
        rustls::Error::InvalidCertificate(_) => {
            format!("{e} (trust the server's certificate with --ca FILE, or accept any with --insecure)")
        }
        _ => e.to_string(),
    }
}

/// An HTTP/1.1 failure from hyper-util's pooled client.
pub fn http1(e: &hyper_util::client::legacy::Error) -> CallError {
    if e.is_connect() {
        connect(e)
    } else {
        CallError::Io(source_chain(e))
    }
}

/// An HTTP/2 request failure: a reset stream is told apart from a broken connection.
pub fn h2_request(e: &hyper::Error) -> CallError {
    let mut next: Option<&(dyn Error + 'static)> = Some(e);
    while let Some(err) = next {
        if let Some(h2) = err.downcast_ref::<h2::Error>() {
            if h2.is_reset() && !h2.is_go_away() {
                let reason = h2.reason().map(|r| r.to_string()).unwrap_or_else(|| h2.to_string());
                return CallError::Reset(reason);
            }
        }
        next = err.source();
    }
    CallError::Io(source_chain(e))
}

/// A QUIC connection that failed to establish: TLS alerts (QUIC error codes 0x100–0x1ff,
/// RFC 9001 §4.8) and rustls' own refusals are TLS failures.
pub fn quic_connect(e: &quinn::ConnectionError) -> CallError {
    let alert = |code: quinn::TransportErrorCode| (0x100..0x200).contains(&u64::from(code));
    match e {
        quinn::ConnectionError::TransportError(t) if alert(t.code) => CallError::Tls(with_hint(&t.reason, e)),
        quinn::ConnectionError::ConnectionClosed(c) if alert(c.error_code) => CallError::Tls(e.to_string()),
        _ => CallError::Connect(format!("QUIC: {e}")),
    }
}

fn with_hint(reason: &str, e: &quinn::ConnectionError) -> String {
    if reason.contains("certificate") {
        format!("{e} (trust the server's certificate with --ca FILE, or accept any with --insecure)")
    } else {
        e.to_string()
    }
}

/// An HTTP/3 request failure.
pub fn h3_stream(e: &h3::error::StreamError) -> CallError {
    match e {
        h3::error::StreamError::RemoteTerminate { code, .. } => CallError::Reset(code.to_string()),
        _ => CallError::Io(format!("HTTP/3: {e}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_kinds_are_stable_labels() {
        assert_eq!(CallError::Status { status: 429, body: String::new() }.kind(), "http_429");
        assert_eq!(CallError::Timeout.kind(), "timeout");
        assert_eq!(CallError::BadResponse("x".into()).kind(), "bad_response");
        assert_eq!(CallError::Tls("x".into()).kind(), "tls");
        assert_eq!(CallError::Reset("x".into()).kind(), "stream_reset");
    }

    #[test]
    fn a_refused_certificate_inside_an_io_error_is_a_tls_failure_with_the_fix() {
        let refused = rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer);
        let wrapped = std::io::Error::new(std::io::ErrorKind::InvalidData, refused);
        let err = connect(&wrapped);
        assert_eq!(err.kind(), "tls");
        assert!(err.to_string().contains("--insecure"), "{err}");
        let twice = std::io::Error::other(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(rustls::CertificateError::UnknownIssuer),
        ));
        assert_eq!(connect(&twice).kind(), "tls", "wrapped twice, as hyper-rustls may");
        let refused_tcp = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused");
        assert_eq!(connect(&refused_tcp).kind(), "connect");
    }
}
