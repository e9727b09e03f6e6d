//! The baseline: this machine's HTTP ceiling, measured with the same load against a minimal
//! hyper endpoint. [`serve`] is that endpoint (`chatedge-loadtest baseline-server`): it parses
//! the JSON body with serde and answers a small JSON shaped like chatedge's answers, with no
//! auth and no storage. [`BaselineProcess`] starts it as a child process for
//! `--compare-baseline`, so it gets its own runtime like chatedge does, and stops it on drop.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use anyhow::{anyhow, bail, Context, Result};
use bytes::Bytes;
use hyper::http::request::Parts;
use hyper::StatusCode;
use serde::Deserialize;
use tokio::net::TcpListener;

use crate::cli::BaselineServerArgs;
use crate::server;

/// What the endpoint prints first, followed by its URL.
const READY: &str = "baseline-server listening on ";

/// The send-text body, parsed the way chatedge must at least parse it.
#[derive(Deserialize)]
struct SendText {
    phone: String,
    message: String,
}

/// The answer for one request: 400 for a body that does not parse, else a small JSON.
fn answer(parts: &Parts, body: &Bytes, counter: &AtomicU64) -> (StatusCode, String) {
    if !body.is_empty() {
        let parsed = if parts.uri.path().ends_with("/send-text") {
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

/// Runs the endpoint until the process is stopped.
pub async fn serve(args: &BaselineServerArgs) -> Result<()> {
    let listener = TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
    let addr = listener.local_addr()?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "{READY}http://{addr}")?;
        out.flush()?;
    }
    let counter = Arc::new(AtomicU64::new(0));
    let handler: server::Handler = Arc::new(move |parts: Parts, body: Bytes| {
        let (status, json) = answer(&parts, &body, &counter);
        server::json(status, json)
    });
    tokio::select! {
        _ = server::serve(listener, handler) => Ok(()),
        _ = tokio::signal::ctrl_c() => Ok(()),
    }
}

/// A `chatedge-loadtest baseline-server` child process on 127.0.0.1.
pub struct BaselineProcess {
    child: Child,
    url: String,
}

impl BaselineProcess {
    pub async fn start() -> Result<BaselineProcess> {
        let exe = std::env::current_exe().context("finding this executable to start the baseline server")?;
        let mut child = Command::new(exe)
            .args(["baseline-server", "--listen", "127.0.0.1:0"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .context("starting the baseline server")?;
        let stdout = child.stdout.take().ok_or_else(|| anyhow!("baseline server has no stdout"))?;
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).map(|_| line)
        })
        .await??;
        let mut process = BaselineProcess { child, url: String::new() };
        match line.trim().strip_prefix(READY) {
            Some(url) => process.url = url.to_owned(),
            None => bail!("baseline server did not start (said {line:?})"),
        }
        Ok(process)
    }

    /// Base URL, e.g. `http://127.0.0.1:40123`.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for BaselineProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use hyper::Request;

    use super::*;

    fn parts(path: &str) -> Parts {
        Request::post(path).body(()).expect("request").into_parts().0
    }

    #[test]
    fn answers_like_send_text_and_refuses_bad_json() {
        let counter = AtomicU64::new(0);
        let body = Bytes::from_static(br#"{"phone":"5511999990001","message":"hi"}"#);
        let (status, json) = answer(&parts("/instances/a/token/b/send-text"), &body, &counter);
        assert_eq!(status, StatusCode::OK);
        let v: serde_json::Value = serde_json::from_str(&json).expect("json");
        assert!(v["messageId"].as_str().is_some_and(|id| id.len() == 32));
        let (status, _) = answer(&parts("/instances/a/token/b/send-text"), &Bytes::from_static(b"{"), &counter);
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = answer(&parts("/instances/a/token/b/send-text"), &Bytes::from_static(b"{}"), &counter);
        assert_eq!(status, StatusCode::BAD_REQUEST, "missing fields");
        let (status, _) = answer(&parts("/instances/a/token/b/status"), &Bytes::new(), &counter);
        assert_eq!(status, StatusCode::OK);
    }
}
