//! Results per recipient (`POST /v1/retrieve/campaign`): one row per recipient of a run —
//! number, status, error, the last button pressed, the message id — as JSON values or CSV
//! (`csv` crate), a bounded page at a time in number order (`after` continues a page).

use chatedge_config::InstanceId;
use serde::Serialize;

use super::catalog::scan;
use super::model::Row;
use super::{keys, CampaignError, Campaigns};

/// Rows per page by default and at most.
pub const PAGE: usize = 10_000;
pub const MAX_PAGE: usize = 100_000;

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExportRow {
    pub number: String,
    pub status: &'static str,
    pub error: String,
    pub action: String,
    pub message_id: String,
}

impl Campaigns {
    /// Rows of run `run` of campaign `id` after number `after`, at most `limit`; and whether
    /// more follow.
    pub fn rows(
        &self,
        instance: &InstanceId,
        id: &str,
        run: u32,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<ExportRow>, bool), CampaignError> {
        let prefix = keys::run_rows(instance, id, run);
        let (mut from, to) = keys::under(&prefix);
        if let Some(a) = after {
            from = keys::recipient(instance, id, run, a);
            from.push(0);
        }
        let mut out = Vec::with_capacity(limit.min(PAGE));
        let mut bad = None;
        scan(&self.store, &from, &to, limit + 1, |k, v| {
            let row: Row = match serde_json::from_slice(v) {
                Ok(r) => r,
                Err(e) => {
                    bad = Some(e.to_string());
                    return false;
                }
            };
            out.push(ExportRow {
                number: String::from_utf8_lossy(keys::last_part(k)).into_owned(),
                status: row.status().as_str(),
                error: row.error.unwrap_or_default(),
                action: row.action.unwrap_or_default(),
                message_id: row.message_id.unwrap_or_default(),
            });
            true
        })?;
        if let Some(e) = bad {
            return Err(crate::store::StoreError::Corrupt(e).into());
        }
        let more = out.len() > limit;
        out.truncate(limit);
        Ok((out, more))
    }
}

/// The rows as CSV with a header line.
pub fn csv(rows: &[ExportRow]) -> Result<Vec<u8>, CampaignError> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 64));
    let fail = |e: csv::Error| CampaignError::Unavailable(format!("CSV export: {e}"));
    w.write_record(["number", "status", "error", "action", "messageId"]).map_err(fail)?;
    for r in rows {
        w.write_record([r.number.as_str(), r.status, &r.error, &r.action, &r.message_id]).map_err(fail)?;
    }
    w.into_inner().map_err(|e| CampaignError::Unavailable(format!("CSV export: {e}")))
}
