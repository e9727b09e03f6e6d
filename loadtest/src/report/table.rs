//! The summary table for people: per-round figures, medians, the ratio to the baseline,
//! per-operation figures, errors by kind and the webhook accounting, as aligned plain text.

use std::fmt::Write;

use super::Report;
use crate::stats::Percentiles;

const HEADER: [&str; 10] = ["", "round", "req/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "ok", "errors"];

fn row(label: &str, round: &str, rps: f64, p: &Percentiles, ok: u64, errors: u64) -> Vec<String> {
    vec![
        label.to_owned(),
        round.to_owned(),
        format!("{rps:.1}"),
        format!("{:.3}", p.p50),
        format!("{:.3}", p.p90),
        format!("{:.3}", p.p99),
        format!("{:.3}", p.p999),
        format!("{:.3}", p.max),
        ok.to_string(),
        errors.to_string(),
    ]
}

/// Left-aligns the first column, right-aligns the rest.
fn aligned(rows: &[Vec<String>]) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let width: Vec<usize> = (0..columns)
        .map(|c| rows.iter().filter_map(|r| r.get(c)).map(|s| s.chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c == 0 {
                let _ = write!(line, "{cell:<w$}", w = width[c]);
            } else {
                let _ = write!(line, "  {cell:>w$}", w = width[c]);
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

pub fn render(r: &Report) -> String {
    let mut out = String::new();
    let m = &r.meta;
    let _ = writeln!(out, "\nchatedge-loadtest {}: {} against {}", m.scenario, m.description, m.data_plane);
    let _ = writeln!(out, "protocol: {} ({}), the baseline's too", m.protocol, m.transport);
    let _ = writeln!(out, "coordinated omission: {}\n", m.coordinated_omission);

    let extras = r.round_extras();
    let mut header = HEADER.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    header.extend(extras.header());
    let mut rows = vec![header];
    for x in &r.round_results {
        let mut line = row(x.target.name(), &x.round.to_string(), x.throughput_rps, &x.latency_ms, x.ok, x.errors);
        line.extend(extras.cells(x));
        rows.push(line);
    }
    let mut median = row("median chatedge", "", r.throughput_rps, &r.latency_ms, 0, 0);
    median.truncate(HEADER.len() - 2);
    rows.push(median);
    if let (Some(rps), Some(p)) = (r.baseline_rps, r.baseline_latency_ms.as_ref()) {
        let mut median = row("median baseline", "", rps, p, 0, 0);
        median.truncate(HEADER.len() - 2);
        rows.push(median);
    }
    out.push_str(&aligned(&rows));
    if extras.backlogs {
        let _ = writeln!(
            out,
            "(after each chatedge round the tool waited for the server's queue to empty: \"queued at end\" is what \
             the round left, \"drain s\" how long the network took to send it; the notes say when it could not)"
        );
    }
    if extras.commits {
        let _ = writeln!(
            out,
            "(the server's group commits during each chatedge round, from its /metrics: how many, batches — one per \
             send — per commit, wall time per commit, and the share of the round the committer spent committing)"
        );
    }
    let _ = writeln!(out, "\nchatedge, all rounds: {} requests, {} ok, {} errors", r.requests, r.ok, r.errors);
    if let (Some(ratio), Some(lat)) = (r.ratio, r.latency_ratio) {
        let _ = writeln!(
            out,
            "\nchatedge / baseline: throughput {ratio:.3}, p50 latency {:.2}x, p99 latency {:.2}x",
            lat.p50, lat.p99
        );
    }

    if r.operations.len() > 1 {
        let _ = writeln!(out, "\noperations (all chatedge rounds):");
        let mut header: Vec<String> = HEADER.iter().map(|s| s.to_string()).collect();
        header.remove(1);
        header[0] = "operation".into();
        let mut rows = vec![header];
        for (op, s) in &r.operations {
            let mut line = row(op, "", s.throughput_rps, &s.latency_ms, s.ok, s.errors);
            line.remove(1);
            rows.push(line);
        }
        out.push_str(&aligned(&rows));
    }

    if let Some(m) = &r.media {
        m.render_text(&mut out, aligned);
    }

    if !r.errors_by_kind.is_empty() {
        let _ = writeln!(out, "\nerrors by kind:");
        let rows: Vec<Vec<String>> = r
            .errors_by_kind
            .iter()
            .map(|(kind, n)| {
                let sample = r.error_samples.get(kind).map(String::as_str).unwrap_or_default();
                vec![format!("  {kind}"), n.to_string(), format!("e.g. {sample}")]
            })
            .collect();
        out.push_str(&aligned(&rows));
    }

    if let Some(w) = &r.webhooks {
        let _ = writeln!(out, "\nwebhooks:");
        let _ = writeln!(
            out,
            "  published {} = delivered {} + missing {}   (delivered with error: {})",
            w.published, w.delivered, w.missing, w.delivery_errors
        );
        let statuses: Vec<String> = w.statuses.iter().map(|(s, n)| format!("{s} {n}")).collect();
        let _ = writeln!(
            out,
            "  READ statuses for published messages: {}   (all statuses: {})",
            w.read,
            statuses.join(", ")
        );
        let other: Vec<String> = w.other_events.iter().map(|(s, n)| format!("{s} {n}")).collect();
        let _ = writeln!(
            out,
            "  events received {}: duplicates (same webhook-id) {}, unmatched deliveries {}, repeated deliveries {}, \
             repeated statuses {}, malformed {}, other [{}]",
            w.events_received,
            w.duplicates,
            w.unmatched_deliveries,
            w.repeated_deliveries,
            w.repeated_statuses,
            w.malformed,
            other.join(", ")
        );
        let _ = writeln!(out, "  bad signatures: {}", w.bad_signatures);
        let rows = vec![
            vec!["".into(), "p50 ms".into(), "p90 ms".into(), "p99 ms".into(), "p99.9 ms".into(), "max ms".into()],
            latency_row("  send -> DeliveryCallback", &w.delivery_latency_ms),
            latency_row("  send -> READ", &w.read_latency_ms),
        ];
        out.push_str(&aligned(&rows));
    }
    match r.defects.as_deref() {
        Some([]) => {
            let _ = writeln!(out, "verdict: pass (no missing, repeated, malformed or badly signed events)");
        }
        Some(defects) => {
            let _ = writeln!(out, "verdict: FAIL");
            for d in defects {
                let _ = writeln!(out, "  - {d}");
            }
        }
        None => {}
    }
    if let Some(q) = r.queued_after_run {
        let _ = writeln!(
            out,
            "queued after the run: {q} accepted messages not yet sent to the network (send-text \
             measures durable acceptance; the network takes messages at its own pace)"
        );
    }
    for n in &r.notes {
        let _ = writeln!(out, "note: {n}");
    }
    out.push('\n');
    out
}

fn latency_row(label: &str, p: &Percentiles) -> Vec<String> {
    vec![
        label.to_owned(),
        format!("{:.3}", p.p50),
        format!("{:.3}", p.p90),
        format!("{:.3}", p.p99),
        format!("{:.3}", p.p999),
        format!("{:.3}", p.max),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_has_rounds_medians_ratio_and_errors() {
        let text = render(&crate::report::tests::sample());
        assert!(text.contains("median chatedge"));
        assert!(text.contains("median baseline"));
        assert!(text.contains("chatedge / baseline: throughput 0.44"));
        assert!(text.contains("http_429"));
        assert_eq!(text.lines().filter(|l| l.starts_with("baseline")).count(), 3);
        assert!(text.contains("protocol: h2 (HTTP/2 (h2c, prior knowledge), 4 connections), the baseline's too"));
    }

    #[test]
    fn chatedge_rounds_show_the_backlog_they_left_and_its_drain() {
        let text = render(&crate::report::tests::sample());
        let header = text.lines().find(|l| l.contains("p50 ms")).expect("header");
        assert!(header.ends_with("queued at end  drain s"), "{header}");
        let first = text.lines().find(|l| l.starts_with("chatedge ")).expect("a chatedge round");
        assert!(first.ends_with("100     1.30"), "{first}");
        let baseline = text.lines().find(|l| l.starts_with("baseline")).expect("a baseline round");
        assert_eq!(baseline.split_whitespace().count(), 10, "no backlog cells for a baseline round: {baseline}");
        assert_eq!(first.split_whitespace().count(), 12, "{first}");
    }

    #[test]
    fn chatedge_rounds_show_the_servers_group_commits_after_the_backlog() {
        let text = render(&crate::report::tests::sample_with_commits());
        let header = text.lines().find(|l| l.contains("p50 ms")).expect("header");
        assert!(header.ends_with("drain s  commits  batches/commit  ms/commit  committer busy"), "{header}");
        let first = text.lines().find(|l| l.starts_with("chatedge ")).expect("a chatedge round");
        assert!(first.ends_with("1.30        8            25.0       0.60            90 %"), "{first}");
        let baseline = text.lines().find(|l| l.starts_with("baseline")).expect("a baseline round");
        assert_eq!(baseline.split_whitespace().count(), 10, "no commit cells for a baseline round: {baseline}");
        assert!(text.contains("(the server's group commits during each chatedge round"), "{text}");
        assert!(!render(&crate::report::tests::sample()).contains("committer busy"));
    }

    #[test]
    fn webhook_runs_end_with_a_verdict() {
        let pass = crate::report::tests::sample().with_defects(Vec::new());
        assert!(render(&pass).contains("verdict: pass"));
        let fail =
            crate::report::tests::sample().with_defects(vec!["1 webhooks failed the webhook-signature check".into()]);
        let text = render(&fail);
        assert!(text.contains("verdict: FAIL\n  - 1 webhooks failed the webhook-signature check"), "{text}");
        assert!(!render(&crate::report::tests::sample()).contains("verdict"));
    }

    #[test]
    fn columns_line_up() {
        let t = aligned(&[vec!["a".into(), "1".into()], vec!["long".into(), "1000".into()]]);
        assert_eq!(t, "a        1\nlong  1000\n");
    }
}
