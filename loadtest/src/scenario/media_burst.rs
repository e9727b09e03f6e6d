//! The `media-burst` scenario (issue 6: "measure peak RSS with 50 concurrent 16 MB base64
//! images"): provisions instances, builds one PNG of --image-bytes, then releases --requests
//! `POST send-image` uploads at the same moment (a barrier), each a different image unless
//! --repeat-image, and reports how many were accepted (2xx with `{zaapId, messageId, id}`),
//! the refusals by status, the upload latencies, and the server's resident memory before,
//! at its peak during, and after the burst. The uploads run on the loadtest runtime; the
//! memory sampler on its own thread. Nothing here needs the server to be on this machine
//! except --server-pid, which reads its /proc.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use tokio::sync::Barrier;
use tokio::task::JoinSet;

use crate::cli::MediaBurstArgs;
use crate::client::CallError;
use crate::media::{noise_png, ImageUpload};
use crate::report::media::memory_line;
use crate::rss::{self, Memory, Sampler, Summary};
use crate::scenario::media::route::{image_heads, Route};
use crate::scenario::media::PIXEL_SEED;
use crate::stats::{self, Percentiles};

/// The server's memory around the burst, in KiB.
#[derive(Debug, Clone, Serialize)]
pub struct BurstMemory {
    pub before: Memory,
    /// Highest VmRSS sampled from the release of the burst to its last answer.
    pub peak_sampled_during_kib: u64,
    /// VmHWM right after the last answer: the exact peak when it rose during the burst.
    pub hwm_after_burst_kib: u64,
    /// The peak during the burst: VmHWM when the burst raised it, else the sampled peak.
    pub peak_during_kib: u64,
    /// `peak_during_kib` minus VmRSS before.
    pub growth_kib: u64,
    /// `growth` over the bytes of all request bodies together.
    pub growth_per_body_byte: f64,
    /// After --settle.
    pub after: Option<Memory>,
    pub sampler: Summary,
}

#[derive(Debug, Clone, Serialize)]
pub struct BurstReport {
    pub scenario: &'static str,
    pub data_plane: String,
    pub requests: u32,
    pub image_bytes: u64,
    pub body_bytes: u64,
    pub unique_images: bool,
    pub accepted: u64,
    pub non_2xx_by_status: BTreeMap<u16, u64>,
    /// Failures without a status, by kind (timeout, io, bad_response, ...).
    pub other_errors: BTreeMap<String, u64>,
    pub error_samples: BTreeMap<String, String>,
    /// From the release of the burst to its last answer.
    pub burst_s: f64,
    /// Each upload from its release to its answer (accepted ones).
    pub latency_ms: Percentiles,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_memory: Option<BurstMemory>,
}

/// Sends every upload at once and collects (outcome, latency) per request.
async fn burst(route: Arc<Route>, n: u32) -> Vec<(Result<(), CallError>, Duration)> {
    let gate = Arc::new(Barrier::new(n as usize));
    let mut tasks = JoinSet::new();
    for seq in 0..u64::from(n) {
        let (route, gate) = (route.clone(), gate.clone());
        // Joined below; each ends with its request (bounded by --upload-timeout).
        tasks.spawn(async move {
            gate.wait().await;
            let start = Instant::now();
            let result = route.send(seq).await.map(|_| ());
            (result, start.elapsed())
        });
    }
    let mut outcomes = Vec::with_capacity(n as usize);
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(outcome) => outcomes.push(outcome),
            Err(e) => outcomes.push((Err(CallError::Io(format!("upload task failed: {e}"))), Duration::ZERO)),
        }
    }
    outcomes
}

fn tally(outcomes: &[(Result<(), CallError>, Duration)], report: &mut BurstReport) {
    let mut hist = stats::histogram();
    for (result, latency) in outcomes {
        match result {
            Ok(()) => {
                report.accepted += 1;
                hist.saturating_record(stats::micros(*latency));
            }
            Err(CallError::Status { status, .. }) => *report.non_2xx_by_status.entry(*status).or_insert(0) += 1,
            Err(e) => *report.other_errors.entry(e.kind()).or_insert(0) += 1,
        }
        if let Err(e) = result {
            report.error_samples.entry(e.kind()).or_insert_with(|| e.to_string());
        }
    }
    report.latency_ms = Percentiles::of(&hist);
}

/// The burst's memory figures from the readings around it.
pub fn burst_memory(before: Memory, sampled_peak: u64, after_burst: Memory, total_body_bytes: u64) -> (u64, u64, f64) {
    let peak = if after_burst.hwm_kib > before.hwm_kib { after_burst.hwm_kib } else { sampled_peak };
    let peak = peak.max(sampled_peak);
    let growth = peak.saturating_sub(before.rss_kib);
    let per_byte = if total_body_bytes > 0 { growth as f64 * 1024.0 / total_body_bytes as f64 } else { 0.0 };
    (peak, growth, per_byte)
}

pub async fn run(args: MediaBurstArgs) -> Result<()> {
    let quiet = args.quiet;
    let (http, provisioner) = super::connect(&args.target, 8)?;
    let instances = super::provision(&provisioner, args.instances, None, quiet).await?;
    let png = noise_png(args.image_bytes, PIXEL_SEED).context("generating the image")?;
    let upload = Arc::new(ImageUpload::new(&png, !args.repeat_image)?);
    drop(png);
    let uploads = super::client(&args.target, args.requests as usize, args.upload_timeout)?;
    let base = &args.target.data_plane;
    let route = Arc::new(Route::image(uploads, base, &instances, image_heads(), upload.clone())?);
    let body_bytes = route.body(0).len();
    drop(http);

    let sampler = args.rss.server_pid.map(|pid| Sampler::start(pid, args.rss.rss_every)).transpose()?;
    let before = match (&sampler, args.rss.server_pid) {
        (Some(s), Some(pid)) => {
            s.take_window_peak();
            Some(rss::read(pid)?)
        }
        _ => None,
    };
    if !quiet {
        eprintln!(
            "releasing {} send-image uploads at once: {} byte PNGs, {body_bytes} byte bodies ({:.1} MiB in all)",
            args.requests,
            upload.png_len(),
            (body_bytes * u64::from(args.requests)) as f64 / 1048576.0
        );
    }
    let released = Instant::now();
    let outcomes = burst(route, args.requests).await;
    let burst_s = released.elapsed().as_secs_f64();

    let mut report = BurstReport {
        scenario: "media-burst",
        data_plane: base.clone(),
        requests: args.requests,
        image_bytes: upload.png_len() as u64,
        body_bytes,
        unique_images: !args.repeat_image,
        accepted: 0,
        non_2xx_by_status: BTreeMap::new(),
        other_errors: BTreeMap::new(),
        error_samples: BTreeMap::new(),
        burst_s,
        latency_ms: Percentiles::default(),
        server_memory: None,
    };
    tally(&outcomes, &mut report);
    if let (Some(sampler), Some(before), Some(pid)) = (sampler, before, args.rss.server_pid) {
        let sampled = sampler.take_window_peak();
        let after_burst = rss::read(pid)?;
        tokio::time::sleep(args.settle).await;
        let after = rss::read(pid).ok();
        let total = body_bytes * u64::from(args.requests);
        let (peak, growth, per_byte) = burst_memory(before, sampled, after_burst, total);
        report.server_memory = Some(BurstMemory {
            before,
            peak_sampled_during_kib: sampled,
            hwm_after_burst_kib: after_burst.hwm_kib,
            peak_during_kib: peak,
            growth_kib: growth,
            growth_per_body_byte: per_byte,
            after,
            sampler: sampler.stop(),
        });
    }
    emit(&report, args.json)
}

fn emit(report: &BurstReport, json: bool) -> Result<()> {
    let text = render(report);
    if json {
        eprint!("{text}");
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", serde_json::to_string(report)?)?;
        out.flush()?;
    } else {
        print!("{text}");
    }
    Ok(())
}

/// The report for people.
pub fn render(r: &BurstReport) -> String {
    let mib = |kib: u64| rss::mib(kib);
    let mut lines = vec![
        String::new(),
        format!("chatedge-loadtest media-burst against {}", r.data_plane),
        format!(
            "{} concurrent send-image uploads of {} byte PNGs ({}), {} byte bodies",
            r.requests,
            r.image_bytes,
            if r.unique_images { "each different" } else { "all the same bytes" },
            r.body_bytes
        ),
        format!("accepted {} of {} in {:.2} s", r.accepted, r.requests, r.burst_s),
    ];
    let p = &r.latency_ms;
    lines.push(format!(
        "accepted upload latency: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        p.p50, p.p90, p.p99, p.max
    ));
    for (status, n) in &r.non_2xx_by_status {
        let sample = r.error_samples.get(&format!("http_{status}")).map(String::as_str).unwrap_or_default();
        lines.push(format!("  HTTP {status}: {n}   e.g. {sample}"));
    }
    for (kind, n) in &r.other_errors {
        let sample = r.error_samples.get(kind).map(String::as_str).unwrap_or_default();
        lines.push(format!("  {kind}: {n}   e.g. {sample}"));
    }
    match &r.server_memory {
        Some(m) => {
            lines.push(format!(
                "server VmRSS: before {:.1} MiB, peak during {:.1} MiB (sampled {:.1} MiB, VmHWM after the burst \
                 {:.1} MiB), after {} -> growth {:.1} MiB = {:.2}x the {:.1} MiB of request bodies",
                mib(m.before.rss_kib),
                mib(m.peak_during_kib),
                mib(m.peak_sampled_during_kib),
                mib(m.hwm_after_burst_kib),
                m.after.map_or("gone".to_owned(), |a| format!("{:.1} MiB", mib(a.rss_kib))),
                mib(m.growth_kib),
                m.growth_per_body_byte,
                (r.body_bytes * u64::from(r.requests)) as f64 / 1048576.0
            ));
            lines.push(memory_line(&m.sampler));
        }
        None => lines.push("server memory: not measured (pass --server-pid)".into()),
    }
    lines.push(String::new());
    lines.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory(rss_kib: u64, hwm_kib: u64) -> Memory {
        Memory { rss_kib, hwm_kib }
    }

    #[test]
    fn a_raised_high_water_mark_is_the_exact_peak() {
        let (peak, growth, per_byte) =
            burst_memory(memory(100_000, 150_000), 390_000, memory(120_000, 400_000), 1 << 30);
        assert_eq!((peak, growth), (400_000, 300_000));
        assert!((per_byte - 300_000.0 * 1024.0 / (1u64 << 30) as f64).abs() < 1e-12);
    }

    #[test]
    fn below_an_earlier_high_water_mark_the_sampled_peak_counts() {
        let (peak, growth, _) = burst_memory(memory(100_000, 900_000), 180_000, memory(110_000, 900_000), 1000);
        assert_eq!((peak, growth), (180_000, 80_000));
    }

    #[test]
    fn the_report_counts_accepted_and_refused_uploads() {
        let outcomes = vec![
            (Ok(()), Duration::from_millis(800)),
            (Ok(()), Duration::from_millis(1200)),
            (Err(CallError::Status { status: 413, body: "image too large".into() }), Duration::from_millis(5)),
            (Err(CallError::Status { status: 429, body: "queue full".into() }), Duration::from_millis(5)),
            (Err(CallError::Timeout), Duration::from_secs(120)),
        ];
        let mut r = BurstReport {
            scenario: "media-burst",
            data_plane: "http://127.0.0.1:18080".into(),
            requests: 5,
            image_bytes: 16 << 20,
            body_bytes: 22_369_700,
            unique_images: true,
            accepted: 0,
            non_2xx_by_status: BTreeMap::new(),
            other_errors: BTreeMap::new(),
            error_samples: BTreeMap::new(),
            burst_s: 120.0,
            latency_ms: Percentiles::default(),
            server_memory: None,
        };
        tally(&outcomes, &mut r);
        assert_eq!(r.accepted, 2);
        assert_eq!(r.non_2xx_by_status, BTreeMap::from([(413, 1), (429, 1)]));
        assert_eq!(r.other_errors, BTreeMap::from([("timeout".to_owned(), 1)]));
        assert!(r.latency_ms.max >= 1199.0 && r.latency_ms.max <= 1202.0, "only accepted uploads: {:?}", r.latency_ms);
        let text = render(&r);
        assert!(text.contains("accepted 2 of 5"), "{text}");
        assert!(text.contains("HTTP 413: 1   e.g. HTTP 413: image too large"), "{text}");
        assert!(text.contains("not measured (pass --server-pid)"), "{text}");
        let v: serde_json::Value = serde_json::to_value(&r).unwrap();
        assert_eq!(v["non_2xx_by_status"]["413"], 1);
    }
}
