use super::*;
use crate::ledger::{Ledger, Received};
use crate::report::tests::sample;

#[test]
fn report_is_self_contained_html_with_inline_svg() {
    let html = render(&sample());
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.trim_end().ends_with("</html>"));
    assert_eq!(
        html.matches("<svg").count(),
        5,
        "latency and throughput over time, every round, histogram, percentiles"
    );
    assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
    assert!(html.contains("over <strong>h2</strong> (HTTP/2 (h2c, prior knowledge), 4 connections)"));
    for banned in ["<script", "<link", "src=", "href=", "@import", "url(", "cdn"] {
        assert!(!html.to_lowercase().contains(banned), "found {banned}");
    }
    // The only URL is the target's, shown as text.
    assert_eq!(html.matches("://").count(), 1);
    assert!(html.contains("Latency over time") && html.contains("Throughput over time"));
    assert!(html.contains("Latency histogram"));
}

#[test]
fn webhook_section_shows_the_accounting() {
    let ledger = Ledger::default();
    let t = std::time::Instant::now();
    ledger.publish("m".into(), t);
    ledger.receive(Received {
        webhook_id: "e".into(),
        at: t,
        body: serde_json::json!({"type": "DeliveryCallback", "messageId": "m"}),
        body_hash: 0,
        signature_ok: true,
    });
    let (a, l) = ledger.account();
    let html = render(&sample().with_webhooks(a, l));
    assert!(html.contains("published 1 = delivered 1 + missing 0"));
    assert_eq!(html.matches("<svg").count(), 7);
}

#[test]
fn histogram_helpers() {
    let mut h = crate::stats::histogram();
    for us in [100, 200, 400, 800, 1600, 3200, 6400, 12800] {
        h.saturating_record(us);
    }
    let bars = histogram_bars(&h);
    assert!(!bars.is_empty() && bars.len() <= 60, "{}", bars.len());
    assert_eq!(bars.iter().map(|b| b.value).sum::<f64>(), 8.0);
    let curve = percentile_curve(&h);
    assert!(curve.windows(2).all(|w| w[0].0 <= w[1].0 && w[0].1 <= w[1].1));
    assert_eq!(format_ms(1500), "1.5ms");
}
