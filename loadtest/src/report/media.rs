//! The media section of a report: per route (send-text, send-image) the requests, req/s,
//! accepted request-body bytes/s, merged latency percentiles and the non-2xx answers by
//! status; the image that was uploaded; and the server's resident memory when sampled. Built
//! from each round's per-stream results; rendered as text and HTML here, as JSON by serde.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde::Serialize;

use crate::rss::{self, Summary};
use crate::stats::{self, median, Percentiles, RunStats};

/// One route of one round: what the driver measured and the bytes it accepted.
pub struct StreamRound<'a> {
    pub stats: &'a RunStats,
    pub ok_bytes: u64,
}

/// One route over every round.
#[derive(Debug, Clone, Serialize)]
pub struct RouteFigures {
    pub requests: u64,
    pub ok: u64,
    pub errors: u64,
    /// Median across rounds.
    pub throughput_rps: f64,
    /// Request-body bytes of accepted requests per second, median across rounds.
    pub bytes_per_s: f64,
    /// All rounds' latencies merged.
    pub latency_ms: Percentiles,
    /// Non-2xx answers by HTTP status.
    pub non_2xx_by_status: BTreeMap<u16, u64>,
    /// Failures without a status (timeouts, connection errors, wrong answer shapes), by kind.
    pub other_errors: BTreeMap<String, u64>,
}

impl RouteFigures {
    pub fn of(rounds: &[StreamRound<'_>]) -> RouteFigures {
        let mut hist = stats::histogram();
        let (mut non_2xx, mut other) = (BTreeMap::new(), BTreeMap::new());
        for r in rounds {
            // Same bounds and precision on both sides, so adding cannot fail.
            let _ = hist.add(&r.stats.latency);
            for (kind, n) in &r.stats.errors {
                match kind.strip_prefix("http_").and_then(|s| s.parse::<u16>().ok()) {
                    Some(status) => *non_2xx.entry(status).or_insert(0) += n,
                    None => *other.entry(kind.clone()).or_insert(0) += n,
                }
            }
        }
        let ok: u64 = rounds.iter().map(|r| r.stats.ok).sum();
        let errors: u64 = rounds.iter().map(|r| r.stats.error_count()).sum();
        let per_second = |f: &dyn Fn(&StreamRound<'_>) -> f64| {
            median(&rounds.iter().map(|r| f(r) / r.stats.elapsed.as_secs_f64().max(1e-9)).collect::<Vec<_>>())
        };
        RouteFigures {
            requests: ok + errors,
            ok,
            errors,
            throughput_rps: per_second(&|r| r.stats.ok as f64),
            bytes_per_s: per_second(&|r| r.ok_bytes as f64),
            latency_ms: Percentiles::of(&hist),
            non_2xx_by_status: non_2xx,
            other_errors: other,
        }
    }
}

/// What the media scenario adds to a report.
#[derive(Debug, Clone, Serialize)]
pub struct MediaSummary {
    /// Size of each uploaded PNG.
    pub image_bytes: u64,
    /// Size of each send-image request body (base64 data URI in JSON).
    pub image_body_bytes: u64,
    /// Mean size of a send-text request body.
    pub text_body_bytes: f64,
    /// Whether every request uploaded different bytes (no server-side deduplication).
    pub unique_images: bool,
    /// `send-text` and `send-image`.
    pub routes: BTreeMap<&'static str, RouteFigures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub server_memory: Option<Summary>,
}

fn mb(bytes: f64) -> f64 {
    bytes / 1e6
}

impl MediaSummary {
    /// Rows of the text table: route, req/s, MB/s, percentiles, ok, errors.
    pub fn rows(&self) -> Vec<Vec<String>> {
        let mut rows =
            vec![["route", "req/s", "MB/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "ok", "errors"]
                .map(String::from)
                .to_vec()];
        for (route, f) in &self.routes {
            let p = &f.latency_ms;
            rows.push(vec![
                (*route).to_owned(),
                format!("{:.1}", f.throughput_rps),
                format!("{:.2}", mb(f.bytes_per_s)),
                format!("{:.3}", p.p50),
                format!("{:.3}", p.p90),
                format!("{:.3}", p.p99),
                format!("{:.3}", p.p999),
                format!("{:.3}", p.max),
                f.ok.to_string(),
                f.errors.to_string(),
            ]);
        }
        rows
    }

    /// The lines under the table: the image, refusals by status, the server's memory.
    pub fn lines(&self) -> Vec<String> {
        let mut lines = vec![format!(
            "image: {} byte PNG per request ({}), send-image body {} bytes, send-text body {:.0} bytes",
            self.image_bytes,
            if self.unique_images { "different bytes each request" } else { "the same bytes every request" },
            self.image_body_bytes,
            self.text_body_bytes
        )];
        for (route, f) in &self.routes {
            if !f.non_2xx_by_status.is_empty() || !f.other_errors.is_empty() {
                let statuses = f.non_2xx_by_status.iter().map(|(s, n)| format!("HTTP {s}: {n}"));
                let other = f.other_errors.iter().map(|(k, n)| format!("{k}: {n}"));
                lines.push(format!("{route} failures: {}", statuses.chain(other).collect::<Vec<_>>().join(", ")));
            }
        }
        if let Some(m) = &self.server_memory {
            lines.push(memory_line(m));
        }
        lines
    }

    pub fn render_text(&self, out: &mut String, aligned: fn(&[Vec<String>]) -> String) {
        let _ = writeln!(out, "\nmedia routes side by side (all rounds; MB/s = accepted request bodies):");
        out.push_str(&aligned(&self.rows()));
        for line in self.lines() {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// The server's memory over the run, in one line.
pub fn memory_line(m: &Summary) -> String {
    let end = m.end.map_or("gone".to_owned(), |e| {
        format!("{:.1} MiB (VmHWM {:.1} MiB)", rss::mib(e.rss_kib), rss::mib(e.hwm_kib))
    });
    format!(
        "server memory (pid {}, {} samples every {:.0} ms): VmRSS at start {:.1} MiB (VmHWM {:.1} MiB), \
         peak sampled {:.1} MiB, at end {end}",
        m.pid,
        m.samples,
        m.every_ms,
        rss::mib(m.start.rss_kib),
        rss::mib(m.start.hwm_kib),
        rss::mib(m.peak_sampled_rss_kib)
    )
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::client::CallError;
    use crate::stats::Recorder;

    fn round(ok: u64, ms: u64, refused: &[u16]) -> RunStats {
        let start = Instant::now();
        let mut r = Recorder::new(start);
        for i in 0..ok {
            r.ok("send-image", start + Duration::from_millis(i), Duration::from_millis(ms), None);
        }
        for &status in refused {
            r.error("send-image", start, &CallError::Status { status, body: String::new() });
        }
        r.error("send-image", start, &CallError::Timeout);
        r.finish(Duration::from_secs(2))
    }

    #[test]
    fn route_figures_count_refusals_by_status_and_bytes_per_second() {
        let (a, b, c) = (round(100, 10, &[413, 413]), round(300, 20, &[507]), round(200, 30, &[]));
        let rounds = [
            StreamRound { stats: &a, ok_bytes: 100 * 1000 },
            StreamRound { stats: &b, ok_bytes: 300 * 1000 },
            StreamRound { stats: &c, ok_bytes: 200 * 1000 },
        ];
        let f = RouteFigures::of(&rounds);
        assert_eq!((f.ok, f.errors, f.requests), (600, 6, 606));
        assert_eq!(f.non_2xx_by_status, BTreeMap::from([(413, 2), (507, 1)]));
        assert_eq!(f.other_errors, BTreeMap::from([("timeout".to_owned(), 3)]));
        assert!((f.throughput_rps - 100.0).abs() < 1e-9, "median of 50, 150, 100 req/s");
        assert!((f.bytes_per_s - 100_000.0).abs() < 1e-6, "median of the rounds' bytes/s");
        assert!(f.latency_ms.p50 >= 19.0 && f.latency_ms.p50 <= 21.0, "{:?}", f.latency_ms);
        let summary = MediaSummary {
            image_bytes: 102_400,
            image_body_bytes: 136_600,
            text_body_bytes: 60.0,
            unique_images: true,
            routes: BTreeMap::from([("send-image", f)]),
            server_memory: None,
        };
        let lines = summary.lines().join("\n");
        assert!(lines.contains("send-image failures: HTTP 413: 2, HTTP 507: 1, timeout: 3"), "{lines}");
        assert_eq!(summary.rows()[1][2], "0.10", "MB/s");

        let report = crate::report::tests::sample().with_media(summary);
        let text = crate::report::table::render(&report);
        assert!(text.contains("media routes side by side") && text.contains("HTTP 507: 1"), "{text}");
        let html = crate::report::html::render(&report);
        assert!(html.contains("Media routes side by side") && html.contains("<td>send-image</td>"));
        let json: serde_json::Value = serde_json::from_str(&crate::report::json::render(&report).unwrap()).unwrap();
        assert_eq!(json["media"]["routes"]["send-image"]["non_2xx_by_status"]["413"], 2);
        assert!(json["media"]["routes"]["send-image"]["bytes_per_s"].is_number());
    }
}
