//! `ControlClient`: this data plane's HTTP client for its control plane — the config stream,
//! acknowledgements, forwarded settings changes and forwarded integrator calls. HTTP/2 (prior
//! knowledge on http://, ALPN on https://), authenticated with the node token. On https:// the
//! control plane's certificate is pinned when a fingerprint is configured ([`super::pin`]),
//! else checked against the web PKI roots; plain http:// is refused unless the control plane is
//! on loopback ([`ControlClient::new`]).

use std::time::Duration;

use bytes::Bytes;
use chatedge_config::placement::{PeerKey, ADVERTISE_KEY_HASH_HEADER, ADVERTISE_URL_HEADER};
use chatedge_config::settings::{SettingsApplied, SettingsPatch};
use chatedge_config::snapshot::ReportAnswer;
use chatedge_config::{CertFingerprint, InstanceId, NodeId, Secret, SessionReport, UpdateAck};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::HeaderValue;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};

/// Largest control-plane answer read into memory (the stream is read frame by frame instead).
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// Time allowed for one control-plane call (not the stream).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the client cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum LinkSetupError {
    #[error("control plane URL (--control-plane or [dataplane] control_plane): {0}")]
    Url(#[from] chatedge_config::link::LinkError),
    #[error("control plane TLS: {0}")]
    Tls(#[from] rustls::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("control plane unreachable: {0}")]
    Unreachable(String),
    #[error("control plane answered {status}")]
    Refused { status: StatusCode, body: Bytes },
    #[error("control plane answer not understood: {0}")]
    BadAnswer(String),
}

pub struct ControlClient {
    base: String,
    token: Secret,
    pub node: NodeId,
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
    /// What this node advertises to the others with each stream it opens: its URL and its
    /// peer key's hash (`chatedge_config::placement`).
    advert: Option<(HeaderValue, HeaderValue)>,
}

/// An integrator call forwarded as it came.
pub struct Forwarded {
    pub method: Method,
    pub path_and_query: String,
    pub authorization: Option<hyper::header::HeaderValue>,
    /// This data plane's public base URL, passed on in
    /// [`chatedge_config::snapshot::PUBLIC_BASE_HEADER`].
    pub public_base: Option<String>,
    pub body: Bytes,
}

impl ControlClient {
    /// A client for the control plane at `base`, pinning its certificate to `pin` when set.
    /// Refuses plain http:// to a host that is not loopback: the node token and every
    /// instance's secrets would cross the network in the clear.
    pub fn new(base: &str, token: Secret, node: NodeId, pin: Option<CertFingerprint>) -> Result<Self, LinkSetupError> {
        chatedge_config::link::check_control_plane_url(base)?;
        let builder = match pin {
            Some(pin) => hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(super::pin::pinned_config(pin)?),
            None => hyper_rustls::HttpsConnectorBuilder::new()
                .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())?,
        };
        let https = builder.https_or_http().enable_http2().build();
        let client = Client::builder(TokioExecutor::new())
            .timer(TokioTimer::new())
            .http2_only(true)
            .http2_keep_alive_interval(Duration::from_secs(10))
            .http2_keep_alive_timeout(Duration::from_secs(10))
            .build(https);
        Ok(ControlClient { base: base.trim_end_matches('/').to_owned(), token, node, client, advert: None })
    }

    /// Advertises `url` (checked by `chatedge_config::link::check_advertise_url`) and `key`'s
    /// hash with every stream this client opens.
    pub fn advertising(mut self, url: &str, key: &PeerKey) -> Self {
        let hash = serde_json::to_value(key.hash()).ok().and_then(|v| v.as_str().map(str::to_owned));
        let url = HeaderValue::from_str(url).ok();
        self.advert = url.zip(hash.and_then(|h| HeaderValue::from_str(&h).ok()));
        self
    }

    fn request(&self, method: Method, path: &str, body: Bytes) -> Result<Request<Full<Bytes>>, ControlError> {
        Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base, path))
            .header(hyper::header::AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .body(Full::new(body))
            .map_err(|e| ControlError::Unreachable(format!("bad control plane URL: {e}")))
    }

    async fn call(&self, req: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), ControlError> {
        let exchange = async {
            let res = self.client.request(req).await.map_err(|e| ControlError::Unreachable(e.to_string()))?;
            let status = res.status();
            let body = Limited::new(res.into_body(), MAX_ANSWER_BYTES)
                .collect()
                .await
                .map_err(|e| ControlError::BadAnswer(e.to_string()))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(CALL_TIMEOUT, exchange)
            .await
            .unwrap_or_else(|_| Err(ControlError::Unreachable("timed out".into())))
    }

    /// Opens the config stream, starting after `version`.
    pub async fn stream(&self, version: u64) -> Result<Response<Incoming>, ControlError> {
        let path = format!("/dataplane/v1/config/stream?node={}&version={version}", self.node);
        let mut req = self.request(Method::GET, &path, Bytes::new())?;
        if let Some((url, hash)) = &self.advert {
            req.headers_mut().insert(ADVERTISE_URL_HEADER, url.clone());
            req.headers_mut().insert(ADVERTISE_KEY_HASH_HEADER, hash.clone());
        }
        let res = tokio::time::timeout(CALL_TIMEOUT, self.client.request(req))
            .await
            .map_err(|_| ControlError::Unreachable("timed out".into()))?
            .map_err(|e| ControlError::Unreachable(e.to_string()))?;
        if !res.status().is_success() {
            return Err(ControlError::Refused { status: res.status(), body: Bytes::new() });
        }
        Ok(res)
    }

    pub async fn ack(&self, ack: &UpdateAck) -> Result<(), ControlError> {
        let body = Bytes::from(serde_json::to_vec(ack).unwrap_or_default());
        let (status, body) = self.call(self.request(Method::POST, "/dataplane/v1/config/ack", body)?).await?;
        if status.is_success() {
            Ok(())
        } else {
            Err(ControlError::Refused { status, body })
        }
    }

    /// Sends the session report (see [`SessionReport`]); answers what the control plane said
    /// back (the node's accounts' sends on other data planes).
    pub async fn report(&self, report: &SessionReport) -> Result<ReportAnswer, ControlError> {
        let body = Bytes::from(serde_json::to_vec(report).unwrap_or_default());
        let (status, body) = self.call(self.request(Method::POST, "/dataplane/v1/report", body)?).await?;
        if !status.is_success() {
            return Err(ControlError::Refused { status, body });
        }
        serde_json::from_slice(&body).map_err(|e| ControlError::BadAnswer(e.to_string()))
    }

    /// Forwards a settings change; answers with the config version that carries it.
    pub async fn change_settings(
        &self,
        id: &InstanceId,
        patch: &SettingsPatch,
    ) -> Result<SettingsApplied, ControlError> {
        let path = format!("/dataplane/v1/instances/{id}/settings");
        let body = Bytes::from(serde_json::to_vec(patch).unwrap_or_default());
        let (status, body) = self.call(self.request(Method::POST, &path, body)?).await?;
        if !status.is_success() {
            return Err(ControlError::Refused { status, body });
        }
        serde_json::from_slice(&body).map_err(|e| ControlError::BadAnswer(e.to_string()))
    }

    /// Passes an integrator API call (`/instances/integrator/...`, `GET /instances`) to the
    /// control plane with the caller's own credentials, so one base URL serves a Z-API client.
    pub async fn forward(&self, f: Forwarded) -> Result<(StatusCode, Bytes), ControlError> {
        let mut req = Request::builder()
            .method(f.method)
            .uri(format!("{}{}", self.base, f.path_and_query))
            .header(hyper::header::CONTENT_TYPE, "application/json");
        if let Some(auth) = f.authorization {
            req = req.header(hyper::header::AUTHORIZATION, auth);
        }
        if let Some(base) = f.public_base {
            req = req.header(chatedge_config::snapshot::PUBLIC_BASE_HEADER, base);
        }
        let req = req.body(Full::new(f.body)).map_err(|e| ControlError::Unreachable(e.to_string()))?;
        self.call(req).await
    }
}

/// Reads the next frame of a streaming body.
pub async fn next_chunk(body: &mut Incoming) -> Option<Result<Bytes, hyper::Error>> {
    loop {
        match body.frame().await? {
            Ok(frame) => match frame.into_data() {
                Ok(data) => return Some(Ok(data)),
                Err(_) => continue, // trailers
            },
            Err(e) => return Some(Err(e)),
        }
    }
}
