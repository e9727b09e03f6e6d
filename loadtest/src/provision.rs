//! Provisioning the way a customer does it: create an instance through the integrator API
//! (`POST /instances/integrator/on-demand`, optionally with every webhook URL pointing at the
//! embedded sink), then pair it through the sim network (`GET qr-code`, `POST /sim/scan` with
//! the admin token, poll `GET status` until `connected: true`). Also owns the phone numbers the
//! tool uses, none of which ends in `0000` (the sim network refuses those).

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{anyhow, Context, Result};
use bytes::Bytes;
use indicatif::ProgressBar;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use crate::client::{uri, CallError, Http};
use crate::credentials::Tokens;
use crate::sink::{HookUrls, Sink};

/// How often `status` is polled while waiting for a pairing to complete.
const PAIR_POLL: Duration = Duration::from_millis(10);
/// Fresh QR codes tried when the sim says the scanned one expired.
const SCAN_ATTEMPTS: u32 = 3;
/// How long a just-created instance may stay unknown to the data plane (401) before that
/// counts as a failure. chatedge answers the create before the data plane has the new config.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause between two tries while waiting for the data plane to know a new instance.
const VISIBLE_POLL: Duration = Duration::from_millis(2);

/// A created (and, once paired, connected) instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// Position in this run (0-based); names the sink URLs.
    pub index: u32,
    pub id: String,
    pub token: String,
    pub webhook_secret: Option<String>,
    /// The number the simulated phone pairs as.
    pub phone: String,
}

impl Instance {
    /// Path of a Z-API route of this instance, e.g. `send-text`.
    pub fn path(&self, route: &str) -> String {
        format!("/instances/{}/token/{}/{route}", self.id, self.token)
    }
}

/// A phone number with `prefix`, unique per `n`, whose last four digits are never `0000`.
pub fn phone_number(prefix: &str, n: u64) -> String {
    let (high, low) = (n / 9999, n % 9999 + 1);
    format!("{prefix}{high:05}{low:04}")
}

/// How long each step of one instance's provisioning took.
#[derive(Debug, Clone, Copy)]
pub struct Timings {
    pub create: Duration,
    /// From the create's answer until the data plane stopped answering 401 for the instance.
    pub visible: Duration,
    /// 401 answers seen meanwhile.
    pub unknown_answers: u32,
    pub qr_code: Duration,
    pub scan: Duration,
    /// From the scan's answer to `status` saying connected.
    pub connect: Duration,
}

impl Timings {
    pub fn total(&self) -> Duration {
        self.create + self.visible + self.qr_code + self.scan + self.connect
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Created {
    id: String,
    token: String,
    webhook_secret: Option<String>,
}

#[derive(Deserialize)]
struct QrCode {
    value: Option<String>,
    #[serde(default)]
    connected: bool,
}

#[derive(Deserialize)]
struct Status {
    connected: bool,
}

/// One entry of `GET queue` (Z-API's capitalised field names).
#[derive(Deserialize)]
struct QueueItem {
    #[serde(rename = "ZaapId")]
    zaap_id: String,
}

#[derive(Deserialize)]
struct QueueCount {
    count: u64,
}

/// Creates and pairs instances.
#[derive(Clone)]
pub struct Provisioner {
    pub http: Http,
    pub data_plane: String,
    pub control_plane: String,
    pub tokens: Tokens,
    /// Prefix of instance names, unique per run.
    pub run: String,
    pub pair_timeout: Duration,
}

impl Provisioner {
    pub fn new(http: Http, data_plane: &str, control_plane: &str, tokens: Tokens, pair_timeout: Duration) -> Self {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
        Provisioner {
            http,
            data_plane: data_plane.to_owned(),
            control_plane: control_plane.to_owned(),
            tokens,
            run: format!("loadtest-{secs}-{}", std::process::id()),
            pair_timeout,
        }
    }

    fn dp(&self, path: &str) -> Result<hyper::Uri, CallError> {
        uri(&self.data_plane, path).map_err(|e| CallError::BadResponse(e.to_string()))
    }

    /// `POST /instances/integrator/on-demand`.
    pub async fn create(&self, index: u32, hooks: Option<&HookUrls>) -> Result<Instance, CallError> {
        let mut body = json!({"name": format!("{}-{index}", self.run)});
        if let Some(h) = hooks {
            body["deliveryCallbackUrl"] = json!(h.delivery);
            body["receivedCallbackUrl"] = json!(h.received);
            body["messageStatusCallbackUrl"] = json!(h.message_status);
            body["connectedCallbackUrl"] = json!(h.connected);
            body["disconnectedCallbackUrl"] = json!(h.disconnected);
        }
        let target = uri(&self.control_plane, "/instances/integrator/on-demand")
            .map_err(|e| CallError::BadResponse(e.to_string()))?;
        let reply = self.http.post(target, Some(&self.tokens.integrator), Bytes::from(body.to_string())).await?;
        let created: Created = reply.json()?;
        Ok(Instance {
            index,
            id: created.id,
            token: created.token,
            webhook_secret: created.webhook_secret,
            phone: phone_number("5521", u64::from(index)),
        })
    }

    /// Waits until the data plane knows a just-created instance: `GET qr-code` until it stops
    /// answering 401. Returns the wait, the number of 401s and the first real answer.
    async fn wait_visible(&self, instance: &Instance) -> Result<(Duration, u32, QrCode), CallError> {
        let started = Instant::now();
        let mut unknown = 0;
        loop {
            let t0 = Instant::now();
            match self.http.get(self.dp(&instance.path("qr-code"))?, None).await {
                Ok(reply) => {
                    let waited = t0.saturating_duration_since(started);
                    return Ok((waited, unknown, reply.json()?));
                }
                Err(CallError::Status { status: 401, .. }) if started.elapsed() < VISIBLE_TIMEOUT => {
                    unknown += 1;
                    tokio::time::sleep(VISIBLE_POLL).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Pairs `instance` through the sim network; `first` is a `qr-code` answer already in
    /// hand. Returns the (qr-code, scan, connect) durations.
    async fn pair(&self, instance: &Instance, first: QrCode) -> Result<(Duration, Duration, Duration), CallError> {
        let mut qr_time = Duration::ZERO;
        let mut scan_time = Duration::ZERO;
        let mut first = Some(first);
        for attempt in 1..=SCAN_ATTEMPTS {
            let t0 = Instant::now();
            let qr = match first.take() {
                Some(qr) => qr,
                None => self.http.get(self.dp(&instance.path("qr-code"))?, None).await?.json()?,
            };
            qr_time += t0.elapsed();
            if qr.connected {
                return Ok((qr_time, scan_time, Duration::ZERO));
            }
            let code = qr.value.ok_or_else(|| CallError::BadResponse("qr-code answered no value".into()))?;
            let t1 = Instant::now();
            let body = json!({"qr": code, "phone": instance.phone}).to_string();
            let scanned = self.http.post(self.dp("/sim/scan")?, Some(&self.tokens.admin), Bytes::from(body)).await;
            scan_time += t1.elapsed();
            match scanned {
                Ok(_) => return Ok((qr_time, scan_time, self.wait_connected(instance).await?)),
                // The code rotated between reading and scanning it: read the new one.
                Err(CallError::Status { status: 410, .. }) if attempt < SCAN_ATTEMPTS => continue,
                Err(e) => return Err(e),
            }
        }
        Err(CallError::Stalled(format!("QR code expired {SCAN_ATTEMPTS} times in a row")))
    }

    async fn wait_connected(&self, instance: &Instance) -> Result<Duration, CallError> {
        let started = Instant::now();
        let status = self.dp(&instance.path("status"))?;
        loop {
            let s: Status = self.http.get(status.clone(), None).await?.json()?;
            if s.connected {
                return Ok(started.elapsed());
            }
            if started.elapsed() > self.pair_timeout {
                return Err(CallError::Stalled(format!(
                    "instance {} not connected {:?} after its scan",
                    instance.id, self.pair_timeout
                )));
            }
            tokio::time::sleep(PAIR_POLL).await;
        }
    }

    /// Creates and pairs one instance; registers its secret with `sink` before pairing.
    pub async fn create_and_pair(&self, index: u32, sink: Option<&Sink>) -> Result<(Instance, Timings), CallError> {
        let hooks = sink.map(|s| s.urls(index));
        let t0 = Instant::now();
        let instance = self.create(index, hooks.as_ref()).await?;
        let create = t0.elapsed();
        if let Some(s) = sink {
            let secret = instance.webhook_secret.as_deref().unwrap_or_default();
            s.register(index, secret).map_err(|e| CallError::BadResponse(format!("webhookSecret: {e}")))?;
        }
        let t1 = Instant::now();
        let (visible, unknown_answers, first) = self.wait_visible(&instance).await?;
        // The first real qr-code answer's own time counts as the qr-code step.
        let first_qr = t1.elapsed().saturating_sub(visible);
        let (qr_code, scan, connect) = self.pair(&instance, first).await?;
        let timings = Timings { create, visible, unknown_answers, qr_code: qr_code + first_qr, scan, connect };
        Ok((instance, timings))
    }

    /// Pairs an instance again (a new one whose first pairing failed, or one whose device was
    /// removed): `qr-code`, `/sim/scan`, `status` until connected. Returns the whole wait; an
    /// instance that is already connected returns at once.
    pub async fn pair_again(&self, instance: &Instance) -> Result<Duration, CallError> {
        let started = Instant::now();
        let first: QrCode = self.http.get(self.dp(&instance.path("qr-code"))?, None).await?.json()?;
        self.pair(instance, first).await?;
        Ok(started.elapsed())
    }

    /// `GET status`: whether the instance is connected.
    pub async fn connected(&self, instance: &Instance) -> Result<bool, CallError> {
        let s: Status = self.http.get(self.dp(&instance.path("status"))?, None).await?.json()?;
        Ok(s.connected)
    }

    /// The zaapIds in an instance's queue, page by page (`GET queue?page=&pageSize=`), at most
    /// `limit` of them.
    pub async fn queued_ids(&self, instance: &Instance, limit: usize) -> Result<Vec<String>, CallError> {
        const PAGE: usize = 1000;
        let mut ids = Vec::new();
        for page in 1.. {
            let path = format!("{}?page={page}&pageSize={PAGE}", instance.path("queue"));
            let items: Vec<QueueItem> = self.http.get(self.dp(&path)?, None).await?.json()?;
            let last = items.len() < PAGE;
            ids.extend(items.into_iter().map(|i| i.zaap_id));
            if last || ids.len() >= limit {
                break;
            }
        }
        Ok(ids)
    }

    /// Messages accepted but not yet sent, over `instances` (`GET queue/count`).
    pub async fn queued(&self, instances: &[Instance]) -> Result<u64, CallError> {
        let mut total = 0;
        for i in instances {
            let q: QueueCount = self.http.get(self.dp(&i.path("queue/count"))?, None).await?.json()?;
            total += q.count;
        }
        Ok(total)
    }

    /// Creates and pairs `n` instances, `concurrency` at a time; the first failure stops it.
    pub async fn provision_all(
        &self,
        n: u32,
        concurrency: u32,
        sink: Option<Arc<Sink>>,
        bar: &ProgressBar,
    ) -> Result<Vec<(Instance, Timings)>> {
        let permits = Arc::new(Semaphore::new(concurrency.max(1) as usize));
        let mut tasks = JoinSet::new();
        for index in 0..n {
            let (p, sink, permits) = (self.clone(), sink.clone(), permits.clone());
            tasks.spawn(async move {
                let _permit = permits.acquire_owned().await;
                p.create_and_pair(index, sink.as_deref()).await
            });
        }
        let mut instances = Vec::with_capacity(n as usize);
        while let Some(joined) = tasks.join_next().await {
            let instance = joined.context("provisioning task")?.map_err(|e| anyhow!(hint(&e)))?;
            instances.push(instance);
            bar.inc(1);
        }
        instances.sort_by_key(|(i, _)| i.index);
        Ok(instances)
    }
}

/// An error message with the likely cause of common provisioning failures.
pub fn hint(e: &CallError) -> String {
    let cause = match e {
        CallError::Connect(_) => " (is chatedge running? check --data-plane / --control-plane)",
        CallError::Status { status: 401, .. } => " (check the admin / integrator tokens)",
        CallError::Status { status: 400, body } if body.contains("url") || body.contains("URL") => {
            " (webhook scenarios need `[webhooks] allow_insecure_loopback = true` on the server)"
        }
        CallError::Status { status: 404, body } if body.contains("sim") => {
            " (the data plane does not run the sim network)"
        }
        _ => "",
    };
    format!("provisioning failed: {e}{cause}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_never_end_in_0000_and_are_unique() {
        let mut seen = std::collections::HashSet::new();
        for n in 0..30_000u64 {
            let p = phone_number("5511", n);
            assert!(!p.ends_with("0000"), "{p}");
            assert_eq!(p.len(), 13);
            assert!(p.bytes().all(|b| b.is_ascii_digit()));
            assert!(seen.insert(p));
        }
    }

    #[test]
    fn instance_paths_follow_the_zapi_layout() {
        let i = Instance { index: 0, id: "ID".into(), token: "TOK".into(), webhook_secret: None, phone: String::new() };
        assert_eq!(i.path("send-text"), "/instances/ID/token/TOK/send-text");
    }

    #[test]
    fn hints_name_the_likely_cause() {
        let e = CallError::Status { status: 400, body: "deliveryCallbackUrl: insecure URL".into() };
        assert!(hint(&e).contains("allow_insecure_loopback"));
        assert!(hint(&CallError::Connect("refused".into())).contains("running"));
    }
}
