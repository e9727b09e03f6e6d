//! Dead letters: webhook events whose retries ran out or whose endpoint was disabled, kept in
//! the `dead_letter` column family for `[store] dead_letter_retention_ms`. Written in the same
//! batch that removes the event from the outbox; runs wherever that batch is built.

use super::StoredEvent;
use crate::store::{keys, Batch, Cf};

// seam: replaced at merge by C's version (issue 9 brief: `dead_letter::record`, re-keyed
// `instance ‖ dead_at_ms ‖ event_id` with the reason kept). This one keeps today's layout
// (`dead_at_ms ‖ event_id`, pruned by the compactor) and stores the reason in the event's
// `last_error`.
/// Adds `event` to `batch` as a dead letter that died now for `reason`.
pub fn record(batch: &mut Batch, event: &StoredEvent, reason: &str) {
    let mut dead = event.clone();
    dead.last_error = Some(reason.to_owned());
    let key = keys::dead_letter(chatedge_config::time::unix_ms(), &event.id);
    batch.put(Cf::DeadLetter, key.to_vec(), dead.encode());
}
