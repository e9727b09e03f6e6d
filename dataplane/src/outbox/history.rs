//! History of delivered webhook events, kept for replay for `[webhooks] delivered_retention`.
//! Written in the same batch that deletes a delivered event from the outbox.

use super::StoredEvent;
use crate::store::Batch;

// seam: replaced at merge by C's version (issue 9 brief: `history::record` into
// `Cf::WebhookHistory`). Until then delivered events are not kept (as with
// `delivered_retention = 0`).
/// Adds the delivered `event` to the history in `batch`.
pub fn record(batch: &mut Batch, event: &StoredEvent) {
    let _ = (batch, event);
}
