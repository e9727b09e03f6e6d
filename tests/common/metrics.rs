//! Reads a plane's `/metrics` (Prometheus text) the way a scraper would: the sum of a family's
//! samples, optionally only those whose labels include a given `name="value"` pair.

use super::Http;

/// The sum of every sample of `family` at `base/metrics` whose label set contains `label`
/// (e.g. `when="on_update"`; empty for all samples). 0 when the family has no sample.
pub async fn sum(http: &Http, base: &str, family: &str, label: &str) -> f64 {
    let (status, text) = http.get(&format!("{base}/metrics"), None).await;
    assert_eq!(status, 200, "{base}/metrics");
    let text = text.as_str().unwrap_or_default().to_owned();
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name_labels, value) = l.rsplit_once(' ')?;
            let (name, labels) = name_labels.split_once('{').unwrap_or((name_labels, ""));
            (name == family && labels.contains(label)).then(|| value.parse::<f64>().ok()).flatten()
        })
        .sum()
}
