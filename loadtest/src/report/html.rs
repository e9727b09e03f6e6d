//! The HTML report for people: one self-contained page (inline CSS and inline SVG; no
//! scripts, no external fonts, stylesheets or images) with the summary tables, latency over
//! time, throughput over time, the latency histogram and percentile distribution, and the
//! webhook latencies and accounting.

use std::fmt::Write;

use hdrhistogram::Histogram;

use super::svg::{self, Bar, LineChart, Series};
use super::Report;
use crate::rounds::Target;
use crate::stats::{Percentiles, SecondPoint};

const CHATEDGE: &str = "#1f6feb";
const CHATEDGE_LIGHT: &str = "#7fb2ff";
const CHATEDGE_DARK: &str = "#0b3d91";
const BASELINE: &str = "#8a8a8a";
const ERRORS: &str = "#d1242f";
const WEBHOOK: &str = "#1a7f37";

const STYLE: &str = "\
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#1f2328;max-width:960px}
h1{font-size:22px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #d0d7de;text-align:right}
td:first-child,th:first-child{text-align:left}
.chart{display:block;margin:12px 0;background:#fff}
.chart .title{font-weight:600;font-size:13px}.chart .axis{font-size:12px;fill:#57606a}
.chart .tick{font-size:11px;fill:#57606a}.chart .grid{stroke:#eaeef2}.chart .plot{fill:none;stroke:#d0d7de}
.ok{color:#1a7f37}.bad{color:#d1242f}.muted{color:#57606a}";

fn esc(s: &str) -> String {
    svg::escape(s)
}

fn cells(out: &mut String, tag: &str, values: &[String]) {
    out.push_str("<tr>");
    for v in values {
        let _ = write!(out, "<{tag}>{}</{tag}>", esc(v));
    }
    out.push_str("</tr>");
}

fn latency_cells(p: &Percentiles) -> Vec<String> {
    [p.p50, p.p90, p.p99, p.p999, p.max].iter().map(|v| format!("{v:.3}")).collect()
}

fn summary(out: &mut String, r: &Report) {
    out.push_str("<table>");
    let extras = r.round_extras();
    let mut head = ["", "round", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "ok", "errors"]
        .map(String::from)
        .to_vec();
    head.extend(extras.header());
    cells(out, "th", &head);
    for x in &r.round_results {
        let mut row = vec![x.target.name().to_owned(), x.round.to_string(), format!("{:.1}", x.throughput_rps)];
        row.extend(latency_cells(&x.latency_ms));
        row.extend([x.ok.to_string(), x.errors.to_string()]);
        row.extend(extras.cells(x));
        cells(out, "td", &row);
    }
    let mut row = vec!["median chatedge".to_owned(), String::new(), format!("{:.1}", r.throughput_rps)];
    row.extend(latency_cells(&r.latency_ms));
    row.extend([String::new(), String::new()]);
    cells(out, "td", &row);
    if let (Some(rps), Some(p)) = (r.baseline_rps, &r.baseline_latency_ms) {
        let mut row = vec!["median baseline".to_owned(), String::new(), format!("{rps:.1}")];
        row.extend(latency_cells(p));
        row.extend([String::new(), String::new()]);
        cells(out, "td", &row);
    }
    out.push_str("</table>");
    if extras.backlogs {
        out.push_str(
            "<p class=\"muted\">After each chatedge round the tool waited for the server's queue to empty: \
             “queued at end” is what the round left, “drain s” how long the network took to send it; the notes \
             say when it could not.</p>",
        );
    }
    if extras.commits {
        out.push_str(
            "<p class=\"muted\">The server's group commits during each chatedge round, from its /metrics: how \
             many, batches (one per send) per commit, wall time per commit, and the share of the round the committer \
             spent committing.</p>",
        );
    }
    let _ = write!(out, "<p>chatedge, all rounds: {} requests, {} ok, {} errors.</p>", r.requests, r.ok, r.errors);
    if let Some(q) = r.queued_after_run {
        let _ = write!(
            out,
            "<p>Queued after the run: {q} accepted messages not yet sent to the network \
             <span class=\"muted\">(send-text measures durable acceptance)</span>.</p>"
        );
    }
    if let (Some(ratio), Some(l)) = (r.ratio, r.latency_ratio) {
        let _ = write!(
            out,
            "<p><b>chatedge / baseline</b>: throughput {ratio:.3}, p50 latency {:.2}×, p99 latency {:.2}× \
             <span class=\"muted\">(baseline: a minimal hyper endpoint on this machine, same requests)</span></p>",
            l.p50, l.p99
        );
    }
}

fn operations(out: &mut String, r: &Report) {
    if r.operations.len() < 2 {
        return;
    }
    out.push_str("<h2>Operations</h2><table>");
    let head = ["operation", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "ok", "errors"];
    cells(out, "th", &head.map(String::from));
    for (op, s) in &r.operations {
        let mut row = vec![op.clone(), format!("{:.1}", s.throughput_rps)];
        row.extend(latency_cells(&s.latency_ms));
        row.extend([s.ok.to_string(), s.errors.to_string()]);
        cells(out, "td", &row);
    }
    out.push_str("</table>");
}

fn media(out: &mut String, r: &Report) {
    let Some(m) = &r.media else { return };
    out.push_str("<h2>Media routes side by side</h2><table>");
    let rows = m.rows();
    for (i, row) in rows.iter().enumerate() {
        cells(out, if i == 0 { "th" } else { "td" }, row);
    }
    out.push_str("</table><p class=\"muted\">MB/s counts the request bodies of accepted requests.</p>");
    for line in m.lines() {
        let _ = write!(out, "<p>{}</p>", esc(&line));
    }
}

fn errors(out: &mut String, r: &Report) {
    if r.errors_by_kind.is_empty() {
        out.push_str("<p class=\"ok\">No errors.</p>");
        return;
    }
    out.push_str("<h2>Errors by kind</h2><table>");
    cells(out, "th", &["kind".into(), "count".into(), "example".into()]);
    for (kind, n) in &r.errors_by_kind {
        let sample = r.error_samples.get(kind).cloned().unwrap_or_default();
        cells(out, "td", &[kind.clone(), n.to_string(), sample]);
    }
    out.push_str("</table>");
}

fn webhooks(out: &mut String, r: &Report) {
    let Some(w) = &r.webhooks else { return };
    out.push_str("<h2>Webhooks</h2>");
    match r.defects.as_deref() {
        Some([]) => out.push_str("<p class=\"ok\">Verdict: pass.</p>"),
        Some(defects) => {
            out.push_str("<p class=\"bad\">Verdict: FAIL</p><ul>");
            for d in defects {
                let _ = write!(out, "<li class=\"bad\">{}</li>", esc(d));
            }
            out.push_str("</ul>");
        }
        None => {}
    }
    let class = if w.missing == 0 { "ok" } else { "bad" };
    let _ = write!(
        out,
        "<p class=\"{class}\">published {} = delivered {} + missing {}</p>",
        w.published, w.delivered, w.missing
    );
    out.push_str("<table>");
    let rows: Vec<(String, u64)> = vec![
        ("delivered with error".into(), w.delivery_errors),
        ("READ statuses (published messages)".into(), w.read),
        ("events received".into(), w.events_received),
        ("duplicates (same webhook-id)".into(), w.duplicates),
        ("unmatched deliveries".into(), w.unmatched_deliveries),
        ("repeated deliveries (new webhook-id)".into(), w.repeated_deliveries),
        ("repeated statuses (new webhook-id)".into(), w.repeated_statuses),
        ("malformed".into(), w.malformed),
        ("bad signatures".into(), w.bad_signatures),
    ];
    let statuses = w.statuses.iter().map(|(k, v)| (format!("status {k}"), *v));
    let other = w.other_events.iter().map(|(k, v)| (format!("other: {k}"), *v));
    for (label, n) in rows.into_iter().chain(statuses).chain(other) {
        cells(out, "td", &[label, n.to_string()]);
    }
    out.push_str("</table><table>");
    let head = ["", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms"];
    cells(out, "th", &head.map(String::from));
    for (label, p) in [("send → DeliveryCallback", &w.delivery_latency_ms), ("send → READ", &w.read_latency_ms)] {
        let mut row = vec![label.to_owned()];
        row.extend(latency_cells(p));
        cells(out, "td", &row);
    }
    out.push_str("</table>");
    if let Some(l) = &r.charts.webhooks {
        out.push_str(&histogram_chart("send → DeliveryCallback latency histogram", &l.delivery, WEBHOOK, "messages"));
        out.push_str(&histogram_chart("send → READ latency histogram", &l.read, WEBHOOK, "messages"));
    }
}

fn series(name: &str, color: &'static str, dashed: bool, points: Vec<(f64, f64)>) -> Series {
    Series { name: name.to_owned(), color, dashed, points }
}

/// Per-second points, at the middle of each second.
fn per_second(series: &[SecondPoint], f: fn(&SecondPoint) -> f64) -> Vec<(f64, f64)> {
    series.iter().map(|p| (f64::from(p.t_s) + 0.5, f(p))).collect()
}

/// Per-second counts, only for whole seconds of the schedule: the tail after it holds just
/// the last requests in flight and would read as a drop in throughput.
fn per_whole_second(series: &[SecondPoint], scheduled_s: f64, f: fn(&SecondPoint) -> f64) -> Vec<(f64, f64)> {
    let whole = series.iter().take_while(|p| f64::from(p.t_s) + 1.0 <= scheduled_s.max(1.0)).count();
    per_second(&series[..whole], f)
}

/// p99 per second of every round, so a disturbed round stands out.
fn every_round(r: &Report) -> String {
    const SHADES: [&str; 4] = [CHATEDGE, CHATEDGE_DARK, CHATEDGE_LIGHT, WEBHOOK];
    let lines = r
        .charts
        .rounds
        .iter()
        .map(|(target, n, points)| {
            let color = match target {
                Target::Baseline => BASELINE,
                Target::Chatedge => SHADES[(*n as usize).saturating_sub(1) % SHADES.len()],
            };
            let name = format!("{} {n}", target.name());
            series(&name, color, *target == Target::Baseline, per_second(points, |p| p.p99_ms))
        })
        .collect();
    svg::line_chart(&LineChart {
        title: "p99 latency per second, every round".into(),
        x_label: "seconds since the round started".into(),
        y_label: "p99 latency (ms)".into(),
        series: lines,
        x_ticks: None,
    })
}

fn over_time(r: &Report) -> String {
    let mut out = String::new();
    let Some(c) = &r.charts.chatedge else {
        return out;
    };
    let secs = r.meta.duration_s;
    let mut latency = vec![
        series("chatedge p50", CHATEDGE_LIGHT, false, per_second(&c.series, |p| p.p50_ms)),
        series("chatedge p99", CHATEDGE, false, per_second(&c.series, |p| p.p99_ms)),
        series("chatedge max", CHATEDGE_DARK, true, per_second(&c.series, |p| p.max_ms)),
    ];
    let mut throughput = vec![
        series("chatedge ok/s", CHATEDGE, false, per_whole_second(&c.series, secs, |p| p.ok as f64)),
        series("chatedge errors/s", ERRORS, false, per_whole_second(&c.series, secs, |p| p.errors as f64)),
    ];
    if let Some(b) = &r.charts.baseline {
        latency.push(series("baseline p99", BASELINE, true, per_second(&b.series, |p| p.p99_ms)));
        throughput.push(series("baseline ok/s", BASELINE, true, per_whole_second(&b.series, secs, |p| p.ok as f64)));
    }
    out.push_str(&svg::line_chart(&LineChart {
        title: "Latency over time (median round, by completion second)".into(),
        x_label: "seconds since start".into(),
        y_label: "latency (ms)".into(),
        series: latency,
        x_ticks: None,
    }));
    out.push_str(&svg::line_chart(&LineChart {
        title: "Throughput over time (median round)".into(),
        x_label: "seconds since start".into(),
        y_label: "responses per second".into(),
        series: throughput,
        x_ticks: None,
    }));
    if r.charts.rounds.len() > 1 {
        out.push_str(&every_round(r));
    }
    out.push_str(&histogram_chart("Latency histogram (median chatedge round)", &c.latency, CHATEDGE, "requests"));
    let mut dist = vec![series("chatedge", CHATEDGE, false, percentile_curve(&c.latency))];
    if let Some(b) = &r.charts.baseline {
        dist.push(series("baseline", BASELINE, true, percentile_curve(&b.latency)));
    }
    out.push_str(&svg::line_chart(&LineChart {
        title: "Latency by percentile".into(),
        x_label: "percentile".into(),
        y_label: "latency (ms)".into(),
        series: dist,
        x_ticks: Some(
            [(0.0, "0%"), (1.0, "90%"), (2.0, "99%"), (3.0, "99.9%"), (4.0, "99.99%"), (5.0, "99.999%")]
                .iter()
                .map(|(v, l)| (*v, (*l).to_owned()))
                .collect(),
        ),
    }));
    out
}

/// (−log10(1 − q), latency ms) for the classic HDR percentile plot, capped at 99.999%.
pub fn percentile_curve(h: &Histogram<u64>) -> Vec<(f64, f64)> {
    if h.is_empty() {
        return Vec::new();
    }
    h.iter_quantiles(4)
        .map(|v| {
            let q = v.quantile_iterated_to();
            let x = if q >= 1.0 { 5.0 } else { (-(1.0 - q).log10()).min(5.0) };
            (x, v.value_iterated_to() as f64 / 1000.0)
        })
        .collect()
}

/// About 40 log-spaced buckets between the smallest and largest latency.
pub fn histogram_bars(h: &Histogram<u64>) -> Vec<Bar> {
    if h.is_empty() {
        return Vec::new();
    }
    let low = h.min_nz().max(1);
    let high = h.max().max(low + 1);
    let factor = ((high as f64 / low as f64).powf(1.0 / 40.0)).max(1.05);
    h.iter_log(low, factor)
        .map(|v| Bar { label: format_ms(v.value_iterated_to()), value: v.count_since_last_iteration() as f64 })
        .collect()
}

fn format_ms(us: u64) -> String {
    let ms = us as f64 / 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0}ms")
    } else if ms >= 1.0 {
        format!("{ms:.1}ms")
    } else {
        format!("{ms:.2}ms")
    }
}

fn histogram_chart(title: &str, h: &Histogram<u64>, color: &'static str, y_label: &str) -> String {
    svg::bar_chart(title, "latency (bucket upper bound, log scale)", y_label, &histogram_bars(h), color)
}

pub fn render(r: &Report) -> String {
    let m = &r.meta;
    let mut out = String::new();
    let title = format!("chatedge-loadtest {}", m.scenario);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&title)
    );
    let _ = write!(out, "<h1>{}</h1>", esc(&title));
    let _ = write!(
        out,
        "<p>{} against <code>{}</code> over <strong>{}</strong> ({}), the baseline too.<br>\
         <span class=\"muted\">Coordinated omission: {}</span></p>",
        esc(&m.description),
        esc(&m.data_plane),
        esc(m.protocol.name()),
        esc(&m.transport),
        esc(&m.coordinated_omission)
    );
    out.push_str("<h2>Summary</h2>");
    summary(&mut out, r);
    operations(&mut out, r);
    media(&mut out, r);
    errors(&mut out, r);
    out.push_str("<h2>Charts</h2>");
    out.push_str(&over_time(r));
    webhooks(&mut out, r);
    for n in &r.notes {
        let _ = write!(out, "<p class=\"muted\">Note: {}</p>", esc(n));
    }
    out.push_str("</body></html>\n");
    out
}

#[cfg(test)]
mod tests;
