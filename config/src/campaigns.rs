//! `[campaigns]`: how bulk campaigns (issue 14) feed an instance's queue, what they may hold
//! and which incoming words opt a number out. Only describes and validates; the data plane's
//! `campaigns` room applies it.

use serde::Deserialize;

/// `[campaigns]` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RawCampaigns {
    /// A running campaign adds recipients to its instance's queue only while fewer than this
    /// many messages wait there, so an interactive send waits behind at most this many.
    pub queue_window: u64,
    /// Recipients written to the queue per batch (one fsync each).
    pub feed_batch: usize,
    /// Incoming texts (trimmed, any case) that put the sender on the suppression list.
    pub opt_out_keywords: Vec<String>,
    /// Largest CSV upload, in bytes.
    pub max_upload_bytes: u64,
    /// Rows one CSV upload may hold.
    pub max_csv_rows: u64,
    /// Audiences, variable groups and campaigns one instance may keep (each).
    pub max_per_instance: usize,
}

impl Default for RawCampaigns {
    fn default() -> Self {
        RawCampaigns {
            queue_window: 1_000,
            feed_batch: 500,
            opt_out_keywords: vec!["STOP".into(), "2".into()],
            max_upload_bytes: 256 * 1024 * 1024,
            max_csv_rows: 2_000_000,
            max_per_instance: 1_000,
        }
    }
}

/// `[campaigns]`, validated.
#[derive(Debug, Clone)]
pub struct CampaignsConfig {
    pub queue_window: u64,
    pub feed_batch: usize,
    /// Upper-cased and trimmed.
    pub opt_out_keywords: Vec<String>,
    pub max_upload_bytes: u64,
    pub max_csv_rows: u64,
    pub max_per_instance: usize,
}

impl RawCampaigns {
    /// The validated section, or every problem found, each naming its key.
    pub fn validate(&self) -> Result<CampaignsConfig, Vec<String>> {
        let mut problems = Vec::new();
        for (key, value) in [
            ("campaigns.queue_window", self.queue_window),
            ("campaigns.feed_batch", self.feed_batch as u64),
            ("campaigns.max_upload_bytes", self.max_upload_bytes),
            ("campaigns.max_csv_rows", self.max_csv_rows),
            ("campaigns.max_per_instance", self.max_per_instance as u64),
        ] {
            if value == 0 {
                problems.push(format!("{key}: must be greater than 0"));
            }
        }
        if self.feed_batch > 10_000 {
            problems.push("campaigns.feed_batch: at most 10000 recipients per batch".into());
        }
        let keywords: Vec<String> = self.opt_out_keywords.iter().map(|k| k.trim().to_uppercase()).collect();
        if keywords.iter().any(|k| k.is_empty() || k.chars().count() > 64) {
            problems.push("campaigns.opt_out_keywords: each keyword must be 1 to 64 characters".into());
        }
        if keywords.len() > 32 {
            problems.push("campaigns.opt_out_keywords: at most 32 keywords".into());
        }
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(CampaignsConfig {
            queue_window: self.queue_window,
            feed_batch: self.feed_batch,
            opt_out_keywords: keywords,
            max_upload_bytes: self.max_upload_bytes,
            max_csv_rows: self.max_csv_rows,
            max_per_instance: self.max_per_instance,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate_with_the_seed_opt_out_words() {
        let c = RawCampaigns::default().validate().unwrap();
        assert_eq!(c.opt_out_keywords, vec!["STOP".to_owned(), "2".to_owned()]);
    }

    #[test]
    fn each_bad_key_is_named() {
        let cases: &[(RawCampaigns, &str)] = &[
            (RawCampaigns { queue_window: 0, ..Default::default() }, "campaigns.queue_window"),
            (RawCampaigns { feed_batch: 0, ..Default::default() }, "campaigns.feed_batch"),
            (RawCampaigns { feed_batch: 20_000, ..Default::default() }, "campaigns.feed_batch"),
            (RawCampaigns { opt_out_keywords: vec![" ".into()], ..Default::default() }, "campaigns.opt_out_keywords"),
            (RawCampaigns { max_csv_rows: 0, ..Default::default() }, "campaigns.max_csv_rows"),
        ];
        for (raw, key) in cases {
            let problems = raw.validate().unwrap_err();
            assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
        }
    }
}
