//! Fetches from a real hyper file server on 127.0.0.1:0. Nothing here contacts any other
//! address: refused addresses are refused before a socket is opened.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use http_body_util::combinators::BoxBody;
use hyper::body::Frame;
use hyper::service::service_fn;
use hyper::Response;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use super::error::{duration, size};
use super::*;
use crate::egress::{self, AddressPolicy, EgressError};
use crate::media::sniff::tests::sample;
use crate::media::sniff::MediaTypeError;

/// Bytes of the PNG and PDF the server serves: large enough to take several chunks.
const FILE_LEN: usize = 300_000;
const MB: u64 = 1024 * 1024;

fn file(format: &str) -> Bytes {
    let mut bytes = sample(format);
    bytes.extend((0..FILE_LEN - bytes.len()).map(|i| (i * 7 % 251) as u8));
    Bytes::from(bytes)
}

/// A body that sends `first`, then either stalls forever or repeats 64 KiB chunks forever,
/// without a Content-Length.
struct Endless {
    first: Option<Bytes>,
    repeat: bool,
}

impl hyper::body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.first.take() {
            Some(first) => Poll::Ready(Some(Ok(Frame::data(first)))),
            None if self.repeat => Poll::Ready(Some(Ok(Frame::data(Bytes::from(vec![0x55; 64 * 1024]))))),
            // Never woken: the client's timeout is the only way out.
            None => Poll::Pending,
        }
    }
}

type Body = BoxBody<Bytes, Infallible>;

fn full(bytes: Bytes) -> Body {
    Full::new(bytes).boxed()
}

fn answer(path_and_query: &str) -> Response<Body> {
    let redirect = |to: &str| Response::builder().status(302).header(LOCATION, to).body(full(Bytes::new()));
    let response = match path_and_query {
        "/photo.png" => Response::builder().body(full(file("png"))),
        "/report.pdf" => Response::builder().body(full(file("pdf"))),
        "/big.png" => Response::builder().body(full(Bytes::from(vec![0x89; 2 * MB as usize]))),
        "/endless.png" => Response::builder().body(Endless { first: Some(file("png")), repeat: true }.boxed()),
        "/stalls.png" => Response::builder().body(Endless { first: Some(file("png")), repeat: false }.boxed()),
        "/empty.png" => Response::builder().body(full(Bytes::new())),
        "/hop/0" => redirect("/photo.png"),
        p if p.starts_with("/hop/") => {
            let n: u32 = p["/hop/".len()..].parse().unwrap_or(0);
            redirect(&format!("{}", n.saturating_sub(1)))
        }
        p if p.starts_with("/to?") => redirect(&p["/to?".len()..]),
        "/no-location" => Response::builder().status(301).body(full(Bytes::new())),
        _ => Response::builder().status(404).body(full(Bytes::from_static(b"not found"))),
    };
    response.unwrap()
}

/// The file server; counts the requests it answered. Its accept task ends with the test's
/// runtime.
struct Server {
    addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl Server {
    async fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let requests = Arc::new(AtomicUsize::new(0));
        let counted = requests.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let counted = counted.clone();
                let service = service_fn(move |req: hyper::Request<Incoming>| {
                    counted.fetch_add(1, Ordering::SeqCst);
                    let path = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
                    async move { Ok::<_, Infallible>(answer(&path)) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        Server { addr, requests }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

fn client(policy: AddressPolicy) -> EgressClient {
    egress::client(policy, Duration::from_secs(5)).unwrap()
}

fn loopback_allowed() -> EgressClient {
    client(AddressPolicy::new(true, Vec::new()))
}

fn limits() -> FetchLimits {
    FetchLimits::new(16 * MB, Duration::from_secs(20), 3)
}

/// Fetches into a buffer; answers the result and what the sink received.
async fn fetch_into(
    client: &EgressClient,
    url: &str,
    limits: FetchLimits,
    kind: MediaKind,
) -> (Result<Fetched, FetchError>, Vec<u8>) {
    let mut got = Vec::new();
    let result = fetch(client, url, limits, kind, |chunk| {
        got.extend_from_slice(chunk);
        Ok(())
    })
    .await;
    (result, got)
}

#[tokio::test]
async fn a_png_arrives_whole_with_its_sha256_size_and_sniffed_type() {
    let server = Server::start().await;
    let (result, got) = fetch_into(&loopback_allowed(), &server.url("/photo.png"), limits(), MediaKind::Image).await;
    let served = file("png");
    let fetched = result.unwrap();
    assert_eq!(got, served);
    assert_eq!(fetched.sha256, <[u8; 32]>::from(Sha256::digest(&served)));
    assert_eq!(fetched.size, FILE_LEN as u64);
    assert_eq!(fetched.mime, "image/png");
    assert_eq!(outcome(&Ok(fetched)), "ok");
}

#[tokio::test]
async fn a_public_only_client_refuses_loopback_by_address_and_by_name_without_connecting() {
    let server = Server::start().await;
    let strict = client(AddressPolicy::public_only());
    let port = server.addr.port();
    for url in [server.url("/photo.png"), format!("http://localhost:{port}/photo.png"), format!("http://[::1]:{port}/")]
    {
        let (result, got) = fetch_into(&strict, &url, limits(), MediaKind::Image).await;
        let err = result.unwrap_err();
        assert!(matches!(err, FetchError::Refused { .. }), "{url}: {err}");
        assert_eq!(err.outcome(), "refused_address");
        assert!(err.to_string().contains("which this server does not contact"), "{err}");
        assert!(got.is_empty());
    }
    assert_eq!(server.requests(), 0, "a refused address is never contacted");
    let (err, _) = fetch_into(&strict, &format!("http://localhost:{port}/x"), limits(), MediaKind::Image).await;
    let text = err.unwrap_err().to_string();
    assert!(text.starts_with(&format!("media fetch failed: http://localhost:{port}/x: localhost resolves only to")));
    assert!(text.contains("127.0.0.1 loopback"), "{text}");
}

#[tokio::test]
async fn a_404_becomes_an_error_naming_the_url_and_status() {
    let server = Server::start().await;
    let (result, _) = fetch_into(&loopback_allowed(), &server.url("/gone.png"), limits(), MediaKind::Image).await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), format!("media fetch failed: {} answered 404", server.url("/gone.png")));
    assert_eq!(err.outcome(), "bad_status");
}

#[tokio::test]
async fn query_strings_never_appear_in_errors() {
    let server = Server::start().await;
    let (result, _) =
        fetch_into(&loopback_allowed(), &server.url("/gone.png?X-Amz-Signature=s3cr3t"), limits(), MediaKind::Image)
            .await;
    let text = result.unwrap_err().to_string();
    assert!(!text.contains("s3cr3t"), "{text}");
    assert!(text.contains("/gone.png?…"), "{text}");
}

#[tokio::test]
async fn redirects_are_followed_up_to_the_limit_and_no_further() {
    let server = Server::start().await;
    let client = loopback_allowed();
    // /hop/3 → 2 → 1 → 0 → /photo.png: four redirects.
    let four = FetchLimits { max_redirects: 4, ..limits() };
    let (result, got) = fetch_into(&client, &server.url("/hop/3"), four, MediaKind::Image).await;
    assert_eq!(result.unwrap().mime, "image/png");
    assert_eq!(got, file("png"));

    let three = FetchLimits { max_redirects: 3, ..limits() };
    let (result, got) = fetch_into(&client, &server.url("/hop/3"), three, MediaKind::Image).await;
    let err = result.unwrap_err();
    assert!(matches!(err, FetchError::TooManyRedirects { max: 3, .. }), "{err}");
    assert_eq!(err.outcome(), "bad_status");
    assert!(got.is_empty());
}

#[tokio::test]
async fn every_redirect_is_checked_against_the_address_policy() {
    let server = Server::start().await;
    // Only 127.0.0.1 itself is trusted; 127.0.0.2 is loopback like any other.
    let client = client(AddressPolicy::new(false, vec!["127.0.0.1/32".parse().unwrap()]));
    let elsewhere = format!("http://127.0.0.2:{}/photo.png", server.addr.port());
    let (result, _) = fetch_into(&client, &server.url(&format!("/to?{elsewhere}")), limits(), MediaKind::Image).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, FetchError::Refused { reason: EgressError::RefusedAddress { addr }, .. } if addr.to_string() == "127.0.0.2"),
        "{err}"
    );
    assert!(
        err.to_string().ends_with(": 127.0.0.2 is not a public address (loopback), which this server does not contact"),
        "{err}"
    );
    assert_eq!(server.requests(), 1, "only the redirecting request reached the server");
    let (result, _) = fetch_into(&client, &server.url("/to?/photo.png"), limits(), MediaKind::Image).await;
    assert!(result.is_ok(), "the trusted address stays reachable");
}

#[tokio::test]
async fn a_redirect_without_location_or_to_another_scheme_is_an_error() {
    let server = Server::start().await;
    for path in ["/no-location", "/to?ftp://127.0.0.1/photo.png"] {
        let (result, _) = fetch_into(&loopback_allowed(), &server.url(path), limits(), MediaKind::Image).await;
        let err = result.unwrap_err();
        assert!(matches!(err, FetchError::BadRedirect { .. }), "{path}: {err}");
    }
}

#[tokio::test]
async fn a_declared_length_over_the_limit_is_refused_before_any_byte_is_read() {
    let server = Server::start().await;
    let one_mb = FetchLimits { max_bytes: MB, ..limits() };
    let (result, got) = fetch_into(&loopback_allowed(), &server.url("/big.png"), one_mb, MediaKind::Image).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("media fetch failed: {} is larger than the 1 MB limit for images", server.url("/big.png"))
    );
    assert_eq!(err.outcome(), "too_large");
    assert!(got.is_empty());
}

#[tokio::test]
async fn an_endless_body_is_cut_at_the_limit() {
    let server = Server::start().await;
    let one_mb = FetchLimits { max_bytes: MB, ..limits() };
    let (result, got) = fetch_into(&loopback_allowed(), &server.url("/endless.png"), one_mb, MediaKind::Image).await;
    assert!(matches!(result, Err(FetchError::TooLarge { limit, .. }) if limit == MB));
    assert!(got.len() as u64 <= MB, "the sink got {} bytes", got.len());
}

#[tokio::test]
async fn a_stalled_body_times_out() {
    let server = Server::start().await;
    let short = FetchLimits { timeout: Duration::from_millis(300), ..limits() };
    let (result, _) = fetch_into(&loopback_allowed(), &server.url("/stalls.png"), short, MediaKind::Image).await;
    let err = result.unwrap_err();
    assert_eq!(err.to_string(), format!("media fetch failed: {} timed out after 300 ms", server.url("/stalls.png")));
    assert_eq!(err.outcome(), "timeout");
}

#[tokio::test]
async fn content_of_the_wrong_type_is_refused_before_it_reaches_the_sink() {
    let server = Server::start().await;
    let (result, got) = fetch_into(&loopback_allowed(), &server.url("/report.pdf"), limits(), MediaKind::Image).await;
    let err = result.unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "media fetch failed: {}: the image is application/pdf; send-image accepts image/jpeg, image/png, \
             image/gif, image/webp, image/svg+xml",
            server.url("/report.pdf")
        )
    );
    assert_eq!(err.outcome(), "wrong_type");
    assert!(got.is_empty());

    let (result, got) =
        fetch_into(&loopback_allowed(), &server.url("/report.pdf"), limits(), MediaKind::Document).await;
    assert_eq!(result.unwrap().mime, "application/pdf");
    assert_eq!(got, file("pdf"));
}

#[tokio::test]
async fn an_empty_body_is_no_media() {
    let server = Server::start().await;
    let (result, _) = fetch_into(&loopback_allowed(), &server.url("/empty.png"), limits(), MediaKind::Document).await;
    assert!(matches!(result, Err(FetchError::WrongType { reason: MediaTypeError::Empty { .. }, .. })));
}

#[tokio::test]
async fn only_http_and_https_urls_are_fetched() {
    let client = loopback_allowed();
    for url in ["ftp://127.0.0.1/photo.png", "file:///etc/passwd", "/photo.png", "not a url", ""] {
        let (result, _) = fetch_into(&client, url, limits(), MediaKind::Image).await;
        let err = result.unwrap_err();
        assert!(matches!(err, FetchError::BadUrl { .. }), "{url}: {err}");
        assert_eq!(err.outcome(), "error");
    }
}

#[tokio::test]
async fn a_sink_that_fails_fails_the_fetch() {
    let server = Server::start().await;
    let result = fetch(&loopback_allowed(), &server.url("/photo.png"), limits(), MediaKind::Image, |_| {
        Err(io::Error::other("disk full"))
    })
    .await;
    let err = result.unwrap_err();
    let expected = format!("media fetch failed: cannot store the media from {}: disk full", server.url("/photo.png"));
    assert_eq!(err.to_string(), expected);
    assert_eq!(err.outcome(), "error");
}

#[test]
fn relative_locations_resolve_against_the_redirecting_url() {
    let base: Uri = "https://cdn.example/a/b/photo.png?v=1".parse().unwrap();
    let table = [
        ("other.png", "https://cdn.example/a/b/other.png"),
        ("/root.png", "https://cdn.example/root.png"),
        ("?v=2", "https://cdn.example/a/b/photo.png?v=2"),
        ("//mirror.example/x.png", "https://mirror.example/x.png"),
        ("http://plain.example/y.png#frag", "http://plain.example/y.png"),
        ("/go?to=http://x.example/", "https://cdn.example/go?to=http://x.example/"),
    ];
    for (location, expected) in table {
        assert_eq!(join(&base, location).map(|u| u.to_string()), Some(expected.to_owned()), "{location}");
    }
    assert_eq!(join(&base, "ftp://x.example/"), None);
}

#[test]
fn limits_and_durations_read_the_way_people_write_them() {
    assert_eq!(size(16 * MB), "16 MB");
    assert_eq!(size(512 * 1024), "512 KB");
    assert_eq!(size(1000), "1000 bytes");
    assert_eq!(duration(Duration::from_secs(30)), "30 s");
    assert_eq!(duration(Duration::from_millis(1500)), "1500 ms");
}

#[test]
fn a_fetch_can_run_on_a_spawned_task() {
    fn send<T: Send>(_: &T) {}
    let client = loopback_allowed();
    let fetching = fetch(&client, "http://127.0.0.1/", limits(), MediaKind::Video, |_| Ok(()));
    send(&fetching);
}
