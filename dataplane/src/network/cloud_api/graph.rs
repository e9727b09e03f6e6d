//! graph: the HTTP client of Meta's Graph API, one per data plane (cheap to clone, shared by
//! every shard's connector and by the webhook route's media downloads). It owns the wire
//! details every Graph call shares: the base URL with its pinned version (`[network.cloud_api]
//! graph_base_url`, pointed at 127.0.0.1 in tests), the bearer token, bounded timeouts and
//! body sizes, and turning Meta's error envelope (`{"error": {"message", "type", "code",
//! "error_subcode", "error_data", "fbtrace_id"}}`) into a typed [`GraphError`]. It decides
//! nothing about retries or what a call means: callers classify the error
//! ([`GraphError::kind`]). Runs on whichever Tokio runtime awaits it (connection tasks go to
//! the runtime that opened them).

use std::time::Duration;

use bytes::Bytes;
use chatedge_config::file::CloudApiConfig;
use chatedge_config::token::Secret;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

/// Largest JSON answer read from the Graph API (template listings are the biggest).
const MAX_JSON_BYTES: usize = 4 * 1024 * 1024;

/// How a Graph API failure should be handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The access token is invalid or expired (code 190) or lacks a permission (10, 200–299):
    /// nothing works until the credentials change.
    Auth,
    /// Throttled as a whole (codes 4 "API too many calls", 80007 the account's rate limit,
    /// 130429 "Rate limit hit": the number's throughput was reached, 133016, or HTTP 429): try
    /// again later, more slowly.
    RateLimited,
    /// 131056, "(Business Account, Consumer Account) pair rate limit hit": too many messages to
    /// the same recipient in a short time. Only that recipient must wait ("wait and retry").
    PairRateLimited,
    /// The network could not be reached or failed on its side (transport errors, timeouts,
    /// 5xx, codes 1, 2, 131000, 131016): the same request may work later.
    Transient,
    /// The request itself was refused (bad parameter, outside the 24 h window, not a WhatsApp
    /// user, 131048 "spam rate limit hit": the number is restricted for its quality and
    /// retrying soon does not lift it…): sending it again changes nothing.
    Refused,
}

/// A failed Graph API call, with what Meta said about it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    /// Meta answered with its error envelope (or a non-2xx status without one).
    #[error("Cloud API error {code}{}: {title}", subcode.map(|s| format!(" ({s})")).unwrap_or_default())]
    Api {
        status: u16,
        code: i64,
        subcode: Option<i64>,
        /// `error_data.details`, else `error.message`: what went wrong, for people.
        title: String,
        message: String,
        fbtrace_id: Option<String>,
    },
    /// No answer: connect failure, reset, timeout.
    #[error("the Graph API could not be reached: {0}")]
    Transport(String),
    /// An answer that is not what the Graph API sends (not JSON, too large).
    #[error("unexpected answer from the Graph API: {0}")]
    Protocol(String),
    /// A client could not be built (TLS roots) or a request not formed (bad base URL).
    #[error("Graph API client: {0}")]
    Setup(String),
}

impl GraphError {
    /// How the caller should treat this failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            GraphError::Api { status, code, .. } => classify(*status, *code),
            GraphError::Transport(_) => ErrorKind::Transient,
            GraphError::Protocol(_) | GraphError::Setup(_) => ErrorKind::Refused,
        }
    }

    /// Meta's error code, when Meta answered.
    pub fn code(&self) -> Option<i64> {
        match self {
            GraphError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }
}

/// Meta's error codes (developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
fn classify(status: u16, code: i64) -> ErrorKind {
    match code {
        190 | 10 | 200..=299 => ErrorKind::Auth,
        131056 => ErrorKind::PairRateLimited,
        4 | 80007 | 130429 | 133016 => ErrorKind::RateLimited,
        1 | 2 | 131000 | 131016 => ErrorKind::Transient,
        _ if status == 429 => ErrorKind::RateLimited,
        _ if status >= 500 => ErrorKind::Transient,
        _ if status == 401 => ErrorKind::Auth,
        _ => ErrorKind::Refused,
    }
}

type HttpsClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The Graph API client. Clones share one connection pool.
#[derive(Clone)]
pub struct GraphClient {
    client: HttpsClient,
    base: String,
    request_timeout: Duration,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient").field("base", &self.base).finish()
    }
}

impl GraphClient {
    /// A client for `config.graph_base_url`: rustls with the ring provider and Mozilla's roots,
    /// plain HTTP allowed only because the base URL is the operator's choice (tests, sandboxes).
    pub fn new(config: &CloudApiConfig) -> Result<Self, GraphError> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(config.connect_timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| GraphError::Setup(e.to_string()))?
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_max_idle_per_host(32)
            .build(https);
        Ok(GraphClient {
            client,
            base: config.graph_base_url.trim_end_matches('/').to_owned(),
            request_timeout: config.request_timeout,
        })
    }

    /// The base URL (`https://graph.facebook.com/v23.0`).
    pub fn base(&self) -> &str {
        &self.base
    }

    fn url(&self, path_and_query: &str) -> String {
        format!("{}/{}", self.base, path_and_query.trim_start_matches('/'))
    }

    /// `GET {base}/{path_and_query}` with the bearer token; the JSON answer.
    pub async fn get_json(&self, token: &Secret, path_and_query: &str) -> Result<Value, GraphError> {
        let req = request(Method::GET, &self.url(path_and_query), token, None, Bytes::new())?;
        self.json(req).await
    }

    /// `POST {base}/{path}` with a JSON body; the JSON answer.
    pub async fn post_json(&self, token: &Secret, path: &str, body: &Value) -> Result<Value, GraphError> {
        let bytes = Bytes::from(serde_json::to_vec(body).map_err(|e| GraphError::Setup(e.to_string()))?);
        let req = request(Method::POST, &self.url(path), token, Some("application/json"), bytes)?;
        self.json(req).await
    }

    /// `POST {base}/{path}` with a `multipart/form-data` body of `fields` and one file part
    /// named `file` (the media upload).
    pub async fn post_multipart(
        &self,
        token: &Secret,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, Bytes),
    ) -> Result<Value, GraphError> {
        let boundary = format!("chatedge-{:016x}", rand::random::<u64>());
        let body = multipart(&boundary, fields, file);
        let content_type = format!("multipart/form-data; boundary={boundary}");
        let req = request(Method::POST, &self.url(path), token, Some(&content_type), body)?;
        self.json(req).await
    }

    /// `DELETE {base}/{path}`; the JSON answer.
    pub async fn delete(&self, token: &Secret, path: &str) -> Result<Value, GraphError> {
        let req = request(Method::DELETE, &self.url(path), token, None, Bytes::new())?;
        self.json(req).await
    }

    /// Downloads `url` (a media URL the Graph API gave, on Meta's CDN) with the bearer token,
    /// at most `max_bytes`; the bytes and the `Content-Type` the server named.
    pub async fn download(
        &self,
        token: &Secret,
        url: &str,
        max_bytes: u64,
    ) -> Result<(Bytes, Option<String>), GraphError> {
        let req = request(Method::GET, url, token, None, Bytes::new())?;
        let (status, mime, body) = self.exchange(req, max_bytes as usize).await?;
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        Ok((body, mime))
    }

    async fn json(&self, req: Request<Full<Bytes>>) -> Result<Value, GraphError> {
        let (status, _, body) = self.exchange(req, MAX_JSON_BYTES).await?;
        if !status.is_success() {
            return Err(api_error(status, &body));
        }
        serde_json::from_slice(&body).map_err(|e| GraphError::Protocol(format!("answer is not JSON: {e}")))
    }

    /// Sends `req` and reads the answer (at most `limit` bytes), all within the request timeout.
    async fn exchange(
        &self,
        req: Request<Full<Bytes>>,
        limit: usize,
    ) -> Result<(StatusCode, Option<String>, Bytes), GraphError> {
        let call = async {
            let resp = self.client.request(req).await.map_err(|e| GraphError::Transport(chain(&e)))?;
            let status = resp.status();
            let mime = resp.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = Limited::new(resp.into_body(), limit)
                .collect()
                .await
                .map_err(|e| GraphError::Protocol(format!("answer body: {e}")))?
                .to_bytes();
            Ok((status, mime, body))
        };
        tokio::time::timeout(self.request_timeout, call)
            .await
            .map_err(|_| GraphError::Transport(format!("no answer within {:?}", self.request_timeout)))?
    }
}

fn request(
    method: Method,
    url: &str,
    token: &Secret,
    content_type: Option<&str>,
    body: Bytes,
) -> Result<Request<Full<Bytes>>, GraphError> {
    let mut b = Request::builder()
        .method(method)
        .uri(url)
        .header(header::AUTHORIZATION, format!("Bearer {}", token.expose()))
        .header(header::USER_AGENT, "chatedge");
    if let Some(ct) = content_type {
        b = b.header(header::CONTENT_TYPE, ct);
    }
    b.body(Full::new(body)).map_err(|e| GraphError::Setup(format!("request to {url}: {e}")))
}

/// Meta's error envelope, or a plain description of a non-2xx answer without one.
fn api_error(status: StatusCode, body: &[u8]) -> GraphError {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let e = &v["error"];
    let message = e["message"].as_str().unwrap_or_default().to_owned();
    let details = e["error_data"]["details"].as_str().map(str::to_owned);
    let title = e["error_user_title"].as_str().map(str::to_owned);
    let fallback = || status.canonical_reason().unwrap_or("error").to_owned();
    let shown = details.or(title).filter(|t| !t.is_empty());
    GraphError::Api {
        status: status.as_u16(),
        code: e["code"].as_i64().unwrap_or(-i64::from(status.as_u16())),
        subcode: e["error_subcode"].as_i64(),
        title: shown.unwrap_or_else(|| if message.is_empty() { fallback() } else { message.clone() }),
        message,
        fbtrace_id: e["fbtrace_id"].as_str().map(str::to_owned),
    }
}

fn multipart(boundary: &str, fields: &[(&str, &str)], (name, mime, bytes): (&str, &str, Bytes)) -> Bytes {
    let mut body = Vec::with_capacity(bytes.len() + 512);
    for (k, v) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    let name = name.replace(['"', '\r', '\n'], "_");
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\nContent-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(&bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Bytes::from(body)
}

/// An error with its sources, for logs and reasons.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut next = e.source();
    while let Some(inner) = next {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        next = inner.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meta_error_envelopes_become_typed_errors_with_code_and_title() {
        let body = br#"{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
            "error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
            "error_subcode":2494010,"fbtrace_id":"Az8or2yhqkZfEZ-_4Qn_Bam"}}"#;
        let e = api_error(StatusCode::BAD_REQUEST, body);
        assert_eq!(e.code(), Some(131047));
        assert_eq!(e.kind(), ErrorKind::Refused);
        let GraphError::Api { title, subcode, fbtrace_id, .. } = &e else { panic!("{e:?}") };
        assert!(title.starts_with("Message failed to send because more than 24 hours"));
        assert_eq!(*subcode, Some(2494010));
        assert_eq!(fbtrace_id.as_deref(), Some("Az8or2yhqkZfEZ-_4Qn_Bam"));
    }

    #[test]
    fn throttling_auth_and_server_failures_are_told_apart() {
        let e = |status, code| classify(status, code);
        assert_eq!(e(400, 131056), ErrorKind::PairRateLimited);
        assert_eq!(e(400, 131048), ErrorKind::Refused, "a quality restriction is not lifted by retrying");
        assert_eq!(e(400, 130429), ErrorKind::RateLimited);
        assert_eq!(e(400, 80007), ErrorKind::RateLimited);
        assert_eq!(e(429, -429), ErrorKind::RateLimited);
        assert_eq!(e(401, 190), ErrorKind::Auth);
        assert_eq!(e(500, 131000), ErrorKind::Transient);
        assert_eq!(e(503, -503), ErrorKind::Transient);
        assert_eq!(e(400, 131026), ErrorKind::Refused);
        assert_eq!(e(400, 100), ErrorKind::Refused);
    }

    #[test]
    fn a_non_json_error_answer_still_names_its_status() {
        let e = api_error(StatusCode::BAD_GATEWAY, b"<html>bad gateway</html>");
        assert_eq!(e.code(), Some(-502));
        assert_eq!(e.kind(), ErrorKind::Transient);
        assert!(e.to_string().contains("Bad Gateway"));
    }
}
