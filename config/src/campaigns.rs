//! `[campaigns]`: how bulk campaigns (issue 14) feed an instance's queue, what they may hold
//! and which incoming words opt a number out — the node's default words here, an account's own
//! in its `Tenant::opt_out_keywords` (pushed by the control plane), both checked by
//! [`opt_out_keywords`]. Only describes and validates; the data plane's `campaigns` room
//! applies it.

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

/// Most opt-out words one node or account may have, and the longest one.
pub const MAX_OPT_OUT_KEYWORDS: usize = 32;
pub const MAX_OPT_OUT_KEYWORD_CHARS: usize = 64;

/// An incoming text as opt-out words are compared: trimmed and upper-cased.
pub fn opt_out_form(text: &str) -> String {
    text.trim().to_uppercase()
}

/// `words` trimmed and upper-cased, or every problem, each naming `field` (and the word's
/// index): 1 to 32 words of 1 to 64 characters. The same check runs on `[campaigns]
/// opt_out_keywords`, in the control plane before it stores an account's words, and in the
/// data plane before it applies a snapshot carrying them.
pub fn opt_out_keywords(field: &str, words: &[String]) -> Result<Vec<String>, Vec<String>> {
    let mut problems = Vec::new();
    if words.is_empty() {
        problems.push(format!("{field}: at least one keyword"));
    }
    if words.len() > MAX_OPT_OUT_KEYWORDS {
        problems.push(format!("{field}: at most {MAX_OPT_OUT_KEYWORDS} keywords"));
    }
    let normal: Vec<String> = words.iter().map(|w| opt_out_form(w)).collect();
    for (i, w) in normal.iter().enumerate() {
        if w.is_empty() || w.chars().count() > MAX_OPT_OUT_KEYWORD_CHARS {
            problems.push(format!("{field}[{i}]: each keyword must be 1 to {MAX_OPT_OUT_KEYWORD_CHARS} characters"));
        }
    }
    match problems.is_empty() {
        true => Ok(normal),
        false => Err(problems),
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
        let keywords = opt_out_keywords("campaigns.opt_out_keywords", &self.opt_out_keywords).unwrap_or_else(|p| {
            problems.extend(p);
            Vec::new()
        });
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
            (RawCampaigns { opt_out_keywords: vec![], ..Default::default() }, "campaigns.opt_out_keywords"),
            (RawCampaigns { max_csv_rows: 0, ..Default::default() }, "campaigns.max_csv_rows"),
        ];
        for (raw, key) in cases {
            let problems = raw.validate().unwrap_err();
            assert!(problems.iter().any(|p| p.starts_with(key)), "{key}: {problems:?}");
        }
    }

    #[test]
    fn opt_out_words_are_compared_trimmed_and_upper_cased_and_each_bad_one_is_named() {
        let ok = opt_out_keywords("optOutKeywords", &[" sair ".into(), "Cancelar".into(), "ß".into()]);
        assert_eq!(ok, Ok(vec!["SAIR".to_owned(), "CANCELAR".to_owned(), "SS".to_owned()]));
        assert_eq!(opt_out_form("  Sair\n"), "SAIR");
        let bad = opt_out_keywords("optOutKeywords", &["STOP".into(), "  ".into(), "x".repeat(65)]).unwrap_err();
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad[0].starts_with("optOutKeywords[1]:") && bad[1].starts_with("optOutKeywords[2]:"), "{bad:?}");
        assert!(opt_out_keywords("k", &[]).unwrap_err()[0].starts_with("k: at least one"));
        let many: Vec<String> = (0..33).map(|i| format!("W{i}")).collect();
        assert!(opt_out_keywords("k", &many).unwrap_err()[0].contains("at most 32"));
    }
}
