//! Reading the server's Prometheus text exposition (`GET /metrics`) the way any scraper does:
//! one family's samples, summed over their labels. Used for the backlog between rounds
//! ([`crate::backlog`]), the group commits of each round ([`crate::commits`]) and the
//! `webhooks --backlog` progress lines. Reads only; the tool
//! never depends on a metric being there — an absent family is reported, not guessed.

use thiserror::Error;

use crate::client::{uri, Http};

/// Why a family could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ScrapeError {
    /// `/metrics` did not answer 2xx (e.g. chatedge runs with `[metrics] listen` elsewhere).
    #[error("GET {url}: {reason}")]
    Unreachable { url: String, reason: String },
    /// `/metrics` answered, without a sample of the family.
    #[error("{url} has no `{family}` samples")]
    NotExported { url: String, family: String },
}

/// Where `/metrics` is: `explicit` when given, else the data plane's own `/metrics`.
pub fn metrics_url(data_plane: &str, explicit: Option<&str>) -> String {
    match explicit {
        Some(url) => url.to_owned(),
        None => format!("{}/metrics", data_plane.trim_end_matches('/')),
    }
}

/// The whole exposition at `url`.
pub async fn text(http: &Http, url: &str) -> Result<String, ScrapeError> {
    let unreachable = |reason: String| ScrapeError::Unreachable { url: url.to_owned(), reason };
    let target = uri(url, "").map_err(|e| unreachable(e.to_string()))?;
    let reply = http.get(target, None).await.map_err(|e| unreachable(e.to_string()))?;
    Ok(String::from_utf8_lossy(&reply.body).into_owned())
}

/// The sum of `family`'s samples at `url`.
pub async fn family(http: &Http, url: &str, family: &str) -> Result<f64, ScrapeError> {
    parse_family(&text(http, url).await?, family)
        .ok_or_else(|| ScrapeError::NotExported { url: url.to_owned(), family: family.to_owned() })
}

/// The sum of `family`'s samples in an exposition, if it has any. Matches the family name
/// exactly (`x` is not `x_total`).
pub fn parse_family(text: &str, family: &str) -> Option<f64> {
    let values: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (name_labels, value) = l.rsplit_once(' ')?;
            let name = name_labels.split('{').next()?;
            (name == family).then(|| value.parse().ok()).flatten()
        })
        .collect();
    (!values.is_empty()).then(|| values.iter().sum())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_metric_family_is_summed_over_its_labels_and_absent_when_not_exported() {
        let text = "# TYPE x gauge\nx{a=\"1\"} 2\nx{a=\"2\"} 3\nxy 7\ny 1\n";
        assert_eq!(parse_family(text, "x"), Some(5.0));
        assert_eq!(parse_family(text, "xy"), Some(7.0));
        assert_eq!(parse_family(text, "z"), None);
    }

    #[test]
    fn metrics_are_on_the_data_plane_unless_told_otherwise() {
        assert_eq!(metrics_url("http://127.0.0.1:8080/", None), "http://127.0.0.1:8080/metrics");
        assert_eq!(
            metrics_url("http://127.0.0.1:8080", Some("http://127.0.0.1:9090/metrics")),
            "http://127.0.0.1:9090/metrics"
        );
    }
}
