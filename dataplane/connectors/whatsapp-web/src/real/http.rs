//! The engine's HTTP client (media transfers, version lookups) on chatedge's hyper + rustls
//! stack, so the engine brings no second HTTP client. Bodies are bounded.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::net::{HttpClient, HttpRequest, HttpResponse};

/// Largest answer read (media downloads included).
const MAX_BODY: usize = 64 * 1024 * 1024;
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Clone)]
pub struct HyperHttp {
    client: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HyperHttp {
    pub fn new() -> Result<HyperHttp, String> {
        let mut http = HttpConnector::new();
        http.enforce_http(false);
        http.set_connect_timeout(Some(Duration::from_secs(10)));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(rustls::crypto::ring::default_provider())
            .map_err(|e| e.to_string())?
            .https_only()
            .enable_http1()
            .enable_http2()
            .wrap_connector(http);
        Ok(HyperHttp { client: Client::builder(TokioExecutor::new()).build(https) })
    }
}

#[async_trait]
impl HttpClient for HyperHttp {
    async fn execute(&self, request: HttpRequest) -> whatsapp_rust::anyhow::Result<HttpResponse> {
        let mut builder = hyper::Request::builder().method(request.method.as_str()).uri(&request.url);
        for (k, v) in &request.headers {
            builder = builder.header(k, v);
        }
        let body = Full::new(request.body.map(|b| Bytes::from(b.to_vec())).unwrap_or_default());
        let req = builder.body(body)?;
        let answer = tokio::time::timeout(TIMEOUT, async {
            let resp = self.client.request(req).await?;
            let status_code = resp.status().as_u16();
            let body = Limited::new(resp.into_body(), MAX_BODY)
                .collect()
                .await
                .map_err(|e| whatsapp_rust::anyhow::anyhow!(e))?;
            Ok::<_, whatsapp_rust::anyhow::Error>(HttpResponse { status_code, body: body.to_bytes().to_vec() })
        })
        .await
        .map_err(|_| whatsapp_rust::anyhow::anyhow!("no answer within {} s", TIMEOUT.as_secs()))??;
        Ok(answer)
    }
}
