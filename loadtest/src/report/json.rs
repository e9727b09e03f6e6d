//! The machine-readable report: one JSON object on one line, with at least `throughput_rps`,
//! `latency_ms` (`p50`, `p90`, `p99`, `p999`, `max`), `errors` and, with a baseline,
//! `baseline_rps` and `ratio`.

use anyhow::Result;

use super::Report;

pub fn render(report: &Report) -> Result<String> {
    Ok(serde_json::to_string(report)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_with_the_promised_fields() {
        let line = render(&crate::report::tests::sample()).expect("json");
        assert!(!line.contains('\n'));
        let v: serde_json::Value = serde_json::from_str(&line).expect("parses");
        for key in ["throughput_rps", "errors", "baseline_rps", "ratio", "errors_by_kind", "scenario"] {
            assert!(v.get(key).is_some(), "missing {key}: {line}");
        }
        for key in ["p50", "p90", "p99", "p999", "max"] {
            assert!(v["latency_ms"][key].is_number(), "missing latency_ms.{key}");
        }
        assert!(v["errors"].is_u64());
        assert_eq!(v["protocol"], "h2", "the protocol is named");
        assert!(v["transport"].as_str().is_some_and(|t| t.contains("HTTP/2")));
    }
}
