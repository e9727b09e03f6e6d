//! The baseline: this machine's HTTP ceiling, measured with the same load against a minimal
//! endpoint. [`serve`] is that endpoint (`chatedge-loadtest baseline-server`): chatedge's own
//! HTTP stack (chatedge-serve's accept loops, limits, TLS and HTTP/3, with their defaults)
//! around a handler that parses the JSON body with serde and answers a small JSON shaped like
//! chatedge's answers, with no auth and no storage — so on every protocol the ratio to it
//! measures chatedge's own work, not the HTTP plumbing both share. Plain, it speaks HTTP/1.1
//! and h2c; with `--tls-self-signed`, HTTP/1.1 and h2 over TLS and HTTP/3 on the same port
//! number over UDP, like chatedge's TLS port. [`BaselineProcess`] starts it as a child process
//! for `--compare-baseline`, so it gets its own runtime like chatedge does, learns its
//! certificate, and stops it on drop.

use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use chatedge_serve::tls::{CertSource, Tls};
use chatedge_serve::{Body, ServeOptions};
use hyper::{Request, StatusCode};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde::Deserialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::cli::BaselineServerArgs;

/// What the endpoint prints first, followed by its URL.
const READY: &str = "baseline-server listening on ";
/// The line that ends the certificate printed after the URL (TLS only).
const PEM_END: &str = "-----END CERTIFICATE-----";
/// Largest request body read: chatedge's default for JSON routes (`[limits] max_body_bytes`).
const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Tries at binding TCP and UDP on one port number when the port is picked by the system (a
/// free TCP port's UDP twin is almost always free too).
const BIND_TRIES: u32 = 8;

/// The send-text body, parsed the way chatedge must at least parse it.
#[derive(Deserialize)]
struct SendText {
    phone: String,
    message: String,
}

/// The answer for one request: 400 for a body that does not parse, else a small JSON.
fn answer(path: &str, body: &Bytes, counter: &AtomicU64) -> (StatusCode, String) {
    if !body.is_empty() {
        let parsed = if path.ends_with("/send-text") {
            serde_json::from_slice::<SendText>(body).map(|s| drop((s.phone, s.message)))
        } else {
            serde_json::from_slice::<serde_json::Value>(body).map(drop)
        };
        if let Err(e) = parsed {
            let message = serde_json::Value::String(e.to_string());
            return (StatusCode::BAD_REQUEST, format!(r#"{{"error":"Invalid body","message":{message}}}"#));
        }
    }
    let n = counter.fetch_add(1, Ordering::Relaxed);
    let id = format!("{n:032X}");
    let json = format!(r#"{{"zaapId":"{id}","messageId":"{id}","id":"{id}","value":true,"connected":true}}"#);
    (StatusCode::OK, json)
}

/// One request on any protocol: the body read in full (bounded), then [`answer`].
async fn respond(req: Request<Body>, counter: &AtomicU64) -> (StatusCode, String) {
    let (head, body) = req.into_parts();
    match chatedge_serve::read_body(&head.headers, body, MAX_BODY_BYTES).await {
        Ok(body) => answer(head.uri.path(), &body, counter),
        Err(e) => {
            let json = serde_json::json!({"error": "Invalid body", "message": format!("{e:?}")});
            (StatusCode::BAD_REQUEST, json.to_string())
        }
    }
}

/// Runs the endpoint until the process is stopped (Ctrl-C drains, a kill just ends it).
pub async fn serve(args: &BaselineServerArgs) -> Result<()> {
    let counter = Arc::new(AtomicU64::new(0));
    // The response is whatever chatedge-serve builds, so its body type is never named here.
    let handler = move |req: Request<Body>, _peer: SocketAddr| {
        let counter = counter.clone();
        async move {
            let (status, json) = respond(req, &counter).await;
            chatedge_serve::bytes(status, "application/json", json)
        }
    };
    let (stop, stopped) = watch::channel(false);
    let mut opts = ServeOptions::default();
    let mut serving: std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> = if args.tls_self_signed {
        let tls = Tls::load(CertSource::SelfSigned).context("generating the certificate")?;
        let (listener, port) = bind_tls(args.listen, &tls, &opts).await?;
        let addr = listener.local_addr()?;
        announce(&format!("https://{addr}"), tls.self_signed_pem())?;
        opts.alt_svc = Some(chatedge_serve::alt_svc_h3(addr.port())); // as chatedge announces it
        let tcp = chatedge_serve::serve_tls(listener, tls, handler.clone(), stopped.clone(), opts.clone());
        let h3 = chatedge_serve::h3::serve_h3(port, handler, stopped, opts);
        Box::pin(async move {
            tokio::join!(tcp, h3);
        })
    } else {
        let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        announce(&format!("http://{}", listener.local_addr()?), None)?;
        Box::pin(chatedge_serve::serve(listener, handler, stopped, opts))
    };
    tokio::select! {
        _ = &mut serving => {}
        _ = tokio::signal::ctrl_c() => {
            let _ = stop.send(true);
            serving.await;
        }
    }
    Ok(())
}

/// A TCP listener on `listen` and the HTTP/3 port on the same number over UDP.
async fn bind_tls(
    listen: SocketAddr,
    tls: &Tls,
    opts: &ServeOptions,
) -> Result<(TcpListener, chatedge_serve::h3::H3Port)> {
    let mut tries = 0;
    loop {
        tries += 1;
        let listener = TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr()?;
        match chatedge_serve::h3::bind(tls, addr, &opts.limits) {
            Ok(port) => return Ok((listener, port)),
            Err(_) if listen.port() == 0 && tries < BIND_TRIES => continue,
            Err(e) => return Err(e).with_context(|| format!("HTTP/3 on UDP {addr}")),
        }
    }
}

/// The listening line (and the certificate to trust), flushed so the parent can read it.
fn announce(url: &str, cert_pem: Option<&str>) -> Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{READY}{url}")?;
    if let Some(pem) = cert_pem {
        writeln!(out, "{}", pem.trim_end())?;
    }
    out.flush()?;
    Ok(())
}

/// A `chatedge-loadtest baseline-server` child process on 127.0.0.1.
pub struct BaselineProcess {
    child: Child,
    url: String,
    cert: Option<CertificateDer<'static>>,
}

impl BaselineProcess {
    /// Starts this executable's baseline server, with TLS and HTTP/3 when `tls`.
    pub async fn start(tls: bool) -> Result<BaselineProcess> {
        let exe = std::env::current_exe().context("finding this executable to start the baseline server")?;
        BaselineProcess::start_from(&exe, tls).await
    }

    /// Starts `exe baseline-server` (a `chatedge-loadtest` binary).
    pub async fn start_from(exe: &Path, tls: bool) -> Result<BaselineProcess> {
        let mut command = Command::new(exe);
        command.args(["baseline-server", "--listen", "127.0.0.1:0"]);
        if tls {
            command.arg("--tls-self-signed");
        }
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the baseline server")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("baseline server has no stdout"))?;
        let said = tokio::task::spawn_blocking(move || read_announcement(stdout)).await?;
        // Killed on drop, also when it did not start.
        let mut process = BaselineProcess { child, url: String::new(), cert: None };
        (process.url, process.cert) = said?;
        Ok(process)
    }

    /// Base URL, e.g. `http://127.0.0.1:40123` or `https://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its self-signed certificate (TLS only), for the client to trust.
    pub fn certificate(&self) -> Option<&CertificateDer<'static>> {
        self.cert.as_ref()
    }
}

/// The URL and, after an https:// URL, the certificate's PEM up to its END line.
fn read_announcement(stdout: impl std::io::Read) -> Result<(String, Option<CertificateDer<'static>>)> {
    let mut lines = BufReader::new(stdout).lines();
    let first = lines.next().transpose()?.unwrap_or_default();
    let Some(url) = first.trim().strip_prefix(READY) else {
        bail!("baseline server did not start (said {first:?})");
    };
    if !url.starts_with("https://") {
        return Ok((url.to_owned(), None));
    }
    let mut pem = String::new();
    for line in lines {
        let line = line?;
        pem.push_str(&line);
        pem.push('\n');
        if line.trim() == PEM_END {
            let cert = CertificateDer::from_pem_slice(pem.as_bytes()).context("the baseline's certificate")?;
            return Ok((url.to_owned(), Some(cert)));
        }
    }
    bail!("baseline server at {url} printed no certificate")
}

impl Drop for BaselineProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_like_send_text_and_refuses_bad_json() {
        let counter = AtomicU64::new(0);
        let path = "/instances/a/token/b/send-text";
        let body = Bytes::from_static(br#"{"phone":"5511999990001","message":"hi"}"#);
        let (status, json) = answer(path, &body, &counter);
        assert_eq!(status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert!(v["messageId"].as_str().is_some_and(|id| id.len() == 32));
        let (status, _) = answer(path, &Bytes::from_static(b"{"), &counter);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = answer(path, &Bytes::from_static(b"{}"), &counter);
        assert_eq!(status, StatusCode::BAD_REQUEST, "missing fields");
        let (status, _) = answer("/instances/a/token/b/status", &Bytes::new(), &counter);
        assert_eq!(status, StatusCode::OK);
    }

    #[test]
    fn the_announcement_gives_the_url_and_for_tls_the_certificate() {
        let (url, cert) = read_announcement(&b"baseline-server listening on http://127.0.0.1:9\n"[..]).expect("plain");
        assert_eq!((url.as_str(), cert.is_none()), ("http://127.0.0.1:9", true));
        let tls = Tls::load(CertSource::SelfSigned).expect("generated");
        let pem = tls.self_signed_pem().expect("pem");
        let said = format!("{READY}https://127.0.0.1:9\n{}\n", pem.trim_end());
        let (url, cert) = read_announcement(said.as_bytes()).expect("tls");
        assert_eq!(url, "https://127.0.0.1:9");
        assert_eq!(
            cert.expect("certificate").as_ref(),
            CertificateDer::from_pem_slice(pem.as_bytes()).expect("der").as_ref()
        );
        assert!(read_announcement(&b"baseline-server listening on https://127.0.0.1:9\n"[..]).is_err(), "no PEM");
        assert!(read_announcement(&b"error: address in use\n"[..]).is_err());
    }
}
