//! A small HTTP client for tests (hyper, HTTP/1.1), answering (status, JSON body). It speaks
//! https:// too, trusting only the certificates it is given ([`Http::trusting`]).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;

#[derive(Clone)]
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl Default for Http {
    fn default() -> Self {
        Http::new()
    }
}

impl Http {
    pub fn new() -> Self {
        Http::trusting(b"")
    }

    /// A client whose https:// requests trust only the certificates in `pem` (plain http://
    /// works as with [`Http::new`]).
    pub fn trusting(pem: &[u8]) -> Self {
        use rustls::pki_types::pem::PemObject;
        let mut roots = rustls::RootCertStore::empty();
        for cert in rustls::pki_types::CertificateDer::pem_slice_iter(pem) {
            roots.add(cert.expect("a PEM certificate")).expect("a usable root");
        }
        let tls =
            rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .unwrap()
                .with_root_certificates(roots)
                .with_no_client_auth();
        let https =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls).https_or_http().enable_http1().build();
        Http { client: Client::builder(TokioExecutor::new()).pool_max_idle_per_host(64).build(https) }
    }

    /// Any request; the body is sent as is. Non-JSON answers come back as a JSON string.
    pub async fn raw(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        headers: &[(&str, &str)],
        body: Vec<u8>,
    ) -> (u16, Value) {
        let mut req = Request::builder().method(method).uri(url);
        if let Some(t) = bearer {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let res = self
            .client
            .request(req.body(Full::new(Bytes::from(body))).unwrap())
            .await
            .expect("request reaches chatedge");
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await.unwrap().to_bytes();
        let value =
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
        (status, value)
    }

    /// A POST whose connection may fail (shutdown races): the status, or `None`.
    pub async fn try_raw(&self, method: Method, url: &str, body: Vec<u8>) -> Option<u16> {
        let req = Request::builder().method(method).uri(url).header("content-type", "application/json");
        let res = self.client.request(req.body(Full::new(Bytes::from(body))).ok()?).await.ok()?;
        Some(res.status().as_u16())
    }

    pub async fn get(&self, url: &str, bearer: Option<&str>) -> (u16, Value) {
        self.raw(Method::GET, url, bearer, &[], Vec::new()).await
    }

    pub async fn delete(&self, url: &str) -> (u16, Value) {
        self.raw(Method::DELETE, url, None, &[], Vec::new()).await
    }

    pub async fn post(&self, url: &str, bearer: Option<&str>, body: &Value) -> (u16, Value) {
        self.raw(Method::POST, url, bearer, &[("content-type", "application/json")], body.to_string().into_bytes())
            .await
    }

    pub async fn put(&self, url: &str, body: &Value) -> (u16, Value) {
        self.raw(Method::PUT, url, None, &[("content-type", "application/json")], body.to_string().into_bytes()).await
    }
}
