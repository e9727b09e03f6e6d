//! Results per recipient (`POST /v1/retrieve/campaign`): one row per recipient of a run —
//! number, status, error, the last button pressed, the message id — as JSON values or CSV
//! (`csv` crate), in number order: a bounded page at a time (`after` continues a page), or a
//! whole run as one streamed CSV answer read a chunk at a time, so memory stays at a few
//! chunks whatever the run's size. Store reads run on the blocking pool, never on an event
//! loop.

use std::sync::Arc;

use bytes::Bytes;
use chatedge_config::InstanceId;
use chatedge_serve::{StreamError, StreamSender};
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

/// Rows read and written per chunk of a streamed whole-run CSV.
pub const STREAM_CHUNK: usize = 2_000;
/// Chunks a streamed answer holds before its reader waits for the client.
const STREAM_BUFFER: usize = 4;
/// Whole-run CSV answers streaming at once on this node; one more is refused as busy.
pub const MAX_STREAMS: usize = 32;

/// One read of the export: rows after `after`, at most `limit`, and whether more follow.
pub struct Page {
    pub rows: Vec<ExportRow>,
    pub more: bool,
}

/// Which rows of which run an export reads.
#[derive(Debug, Clone)]
pub struct RunRows {
    pub instance: InstanceId,
    pub campaign: String,
    pub run: u32,
}

impl RunRows {
    /// Rows after `after`, at most `limit`, read on the blocking pool.
    pub async fn read(&self, c: &Arc<Campaigns>, after: Option<String>, limit: usize) -> Result<Page, CampaignError> {
        let (c, me) = (c.clone(), self.clone());
        let read = move || c.rows(&me.instance, &me.campaign, me.run, after.as_deref(), limit);
        match tokio::task::spawn_blocking(read).await {
            Ok(r) => r.map(|(rows, more)| Page { rows, more }),
            Err(e) => Err(CampaignError::Unavailable(format!("export read stopped: {e}"))),
        }
    }
}

/// A whole run as one CSV answer: `first` (already read, so a failing store is an error
/// status, not a cut answer) is written at once, the rest a chunk at a time as the client
/// reads. Returns the sender's task; the answer is cut (never complete-looking) if a later
/// read fails, and the task stops when the client goes away.
pub fn stream_csv(
    c: Arc<Campaigns>,
    rows: RunRows,
    first: Page,
    permit: tokio::sync::OwnedSemaphorePermit,
) -> Result<chatedge_serve::Resp, CampaignError> {
    let head = csv(&first.rows)?;
    let (mut tx, res) = chatedge_serve::streamed(hyper::StatusCode::OK, CSV_TYPE, STREAM_BUFFER);
    let metrics = c.metrics.clone();
    metrics.campaign_exports.with_label_values(&["streamed"]).inc();
    metrics.campaign_export_rows.inc_by(first.rows.len() as u64);
    tokio::spawn(async move {
        let _permit = permit;
        let outcome = follow(&c, &rows, first, head, &mut tx).await;
        c.metrics.campaign_exports.with_label_values(&[outcome.word()]).inc();
        if let Outcome::Failed(e) = outcome {
            tracing::warn!(instance = %rows.instance, campaign = %rows.campaign, "CSV export cut: {e}");
            tx.abort(StreamError(e));
        }
    });
    Ok(res)
}

/// The content type of CSV answers.
pub const CSV_TYPE: &str = "text/csv; charset=utf-8";

enum Outcome {
    Complete,
    ClientLeft,
    Failed(String),
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Complete => "stream_complete",
            Outcome::ClientLeft => "stream_client_left",
            Outcome::Failed(_) => "stream_cut",
        }
    }
}

async fn follow(c: &Arc<Campaigns>, rows: &RunRows, first: Page, head: Vec<u8>, tx: &mut StreamSender) -> Outcome {
    let (mut more, mut after) = (first.more, first.rows.last().map(|r| r.number.clone()));
    if tx.send_data(Bytes::from(head)).await.is_err() {
        return Outcome::ClientLeft;
    }
    while more {
        let page = match rows.read(c, after.take(), STREAM_CHUNK).await {
            Ok(p) => p,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let chunk = match records(&page.rows, Vec::with_capacity(page.rows.len() * 64)) {
            Ok(b) => b,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        c.metrics.campaign_export_rows.inc_by(page.rows.len() as u64);
        (more, after) = (page.more, page.rows.last().map(|r| r.number.clone()));
        if tx.send_data(Bytes::from(chunk)).await.is_err() {
            return Outcome::ClientLeft;
        }
    }
    Outcome::Complete
}

/// The rows as CSV with a header line.
pub fn csv(rows: &[ExportRow]) -> Result<Vec<u8>, CampaignError> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(rows.len() * 64 + 64));
    w.write_record(["number", "status", "error", "action", "messageId"]).map_err(csv_failed)?;
    let head = w.into_inner().map_err(|e| CampaignError::Unavailable(format!("CSV export: {e}")))?;
    records(rows, head)
}

fn csv_failed(e: csv::Error) -> CampaignError {
    CampaignError::Unavailable(format!("CSV export: {e}"))
}

/// The rows as CSV records (no header line), appended to `out`.
fn records(rows: &[ExportRow], out: Vec<u8>) -> Result<Vec<u8>, CampaignError> {
    let mut w = csv::Writer::from_writer(out);
    for r in rows {
        w.write_record([r.number.as_str(), r.status, &r.error, &r.action, &r.message_id]).map_err(csv_failed)?;
    }
    w.into_inner().map_err(|e| CampaignError::Unavailable(format!("CSV export: {e}")))
}
