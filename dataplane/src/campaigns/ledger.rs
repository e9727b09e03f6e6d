//! The ledger: what each campaign run's recipients became, kept by the shard that owns the
//! instance — the one writer of run counters and recipient rows, so no two threads ever
//! read-modify-write them. Feeds add recipients (queued or skipped) together with their queue
//! entries and the run's cursor; network events (sent, refused, failed, delivered, read) and
//! incoming messages (opt-out words — the account's own when the control plane pushed some,
//! else the node's — and button presses) update the rows of the messages a campaign sent,
//! found through the message-id index, in the same batch as the event's own state. A press
//! also stores the number's answer in the campaign's input group and counts the group's
//! numbers. Counters are kept in memory per active run and written whole in each batch that
//! changes them; rows changed by events are also kept in memory for a while, so an event that
//! arrives before the previous one's batch is durable still sees it. Reads are point reads;
//! never a scan. Must not send anything itself or touch the queue.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use std::sync::Arc;

use arc_swap::ArcSwap;
use chatedge_config::campaigns::opt_out_form;
use chatedge_config::{InstanceId, MessageId, Snapshot};
use prometheus::IntCounter;

use super::keys;
use super::model::{Campaign, Counters, Cursor, MessageRef, Outcome, Row, Suppression, VariableGroup};
use crate::metrics::Metrics;
use crate::network::incoming::IncomingContent;
use crate::network::{IncomingMessage, MessageStatus};
use crate::store::{Batch, Cf, Store, StoreError};

/// Runs whose counters are kept in memory at most (the idle ones are dropped past it).
const MAX_RUNS: usize = 16_384;
/// Rows changed by events kept in memory at most, and for how long (far longer than a
/// batch takes to become durable).
const MAX_ROWS: usize = 65_536;
const ROW_MEMORY: Duration = Duration::from_secs(30);
/// How long an idle run's counters stay in memory once there are more than `MAX_RUNS`.
const RUN_MEMORY: Duration = Duration::from_secs(600);

type RunKey = (InstanceId, String, u32);

/// A recipient a feed did not queue, and why.
#[derive(Debug, Clone)]
pub struct Skip {
    pub phone: String,
    pub outcome: Outcome,
    pub reason: String,
}

pub struct Ledger {
    runs: HashMap<RunKey, (Counters, Instant)>,
    dirty: HashSet<RunKey>,
    rows: HashMap<Vec<u8>, (Row, Instant)>,
    /// Input groups and the value keys of numbers in them that presses changed, for the same
    /// reason as `rows` (a press in a batch not yet durable still counts its number once).
    /// Same bounds as `rows`. After a failed batch memory is ahead of the store, so a group's
    /// count may end up one too high; it is never counted twice for one number.
    inputs: HashMap<Vec<u8>, (Option<VariableGroup>, Instant)>,
    /// Campaigns being deleted, and since when: their messages' events are ignored for
    /// `ROW_MEMORY` (the deletion's batch is durable long before), so an event handled between
    /// the deletion and its commit cannot write a row back behind it.
    deleted: HashMap<(InstanceId, String), Instant>,
    /// The node's opt-out words (upper case), for accounts with none of their own.
    keywords: Vec<String>,
    /// The live configuration: an account's own opt-out words (`Tenant::opt_out_keywords`).
    config: Arc<ArcSwap<Snapshot>>,
    outcomes: HashMap<Outcome, IntCounter>,
    opted_out: IntCounter,
}

impl Ledger {
    pub fn new(keywords: Vec<String>, config: Arc<ArcSwap<Snapshot>>, metrics: &Metrics) -> Ledger {
        let outcomes = Outcome::ALL
            .into_iter()
            .map(|o| (o, metrics.campaign_recipients.with_label_values(&[o.as_str()])))
            .collect();
        Ledger {
            runs: HashMap::new(),
            dirty: HashSet::new(),
            rows: HashMap::new(),
            inputs: HashMap::new(),
            deleted: HashMap::new(),
            keywords,
            config,
            outcomes,
            opted_out: metrics.campaign_suppressions.clone(),
        }
    }

    /// Records a queued recipient: its row, its message's index entry and the count.
    pub fn queued(&mut self, store: &Store, instance: &InstanceId, at: &MessageRef, id: &MessageId, batch: &mut Batch) {
        let row = Row { outcomes: Outcome::Queued.bit(), message_id: Some(id.to_string()), ..Row::default() };
        batch.put(Cf::Campaigns, keys::recipient(instance, &at.campaign, at.run, &at.phone), encode(&row));
        batch.put(Cf::Campaigns, keys::message(instance, id), encode(at));
        self.bump(store, instance, &at.campaign, at.run, Outcome::Queued);
    }

    /// Records a recipient a feed skipped (suppressed, a missing variable).
    pub fn skipped(
        &mut self,
        store: &Store,
        instance: &InstanceId,
        campaign: &str,
        run: u32,
        skip: &Skip,
        batch: &mut Batch,
    ) {
        let row = Row { outcomes: skip.outcome.bit(), error: Some(skip.reason.clone()), ..Row::default() };
        batch.put(Cf::Campaigns, keys::recipient(instance, campaign, run, &skip.phone), encode(&row));
        self.bump(store, instance, campaign, run, skip.outcome);
    }

    /// The run's new cursor, in the batch of the queue entries it covers.
    pub fn cursor(&self, instance: &InstanceId, campaign: &str, run: u32, cursor: &Cursor, batch: &mut Batch) {
        batch.put(Cf::Campaigns, keys::cursor(instance, campaign, run), encode(cursor));
    }

    /// The network took the message.
    pub fn sent(&mut self, store: &Store, instance: &InstanceId, id: &MessageId, batch: &mut Batch) {
        self.reach(store, instance, id, &[Outcome::Sent], None, batch);
    }

    /// The network refused the message: a number not on the network, or another error.
    pub fn refused(&mut self, store: &Store, instance: &InstanceId, id: &MessageId, reason: &str, batch: &mut Batch) {
        let outcome = if not_on_network(reason) { Outcome::NotOnWhatsapp } else { Outcome::SendError };
        self.reach(store, instance, id, &[outcome], Some(reason), batch);
    }

    /// The network took the message, then could not deliver it.
    pub fn failed(&mut self, store: &Store, instance: &InstanceId, id: &MessageId, reason: &str, batch: &mut Batch) {
        self.reach(store, instance, id, &[Outcome::DeliveryError], Some(reason), batch);
    }

    pub fn status(
        &mut self,
        store: &Store,
        instance: &InstanceId,
        id: &MessageId,
        status: MessageStatus,
        batch: &mut Batch,
    ) {
        let reached: &[Outcome] = match status {
            MessageStatus::Received => &[Outcome::Delivered],
            MessageStatus::Read | MessageStatus::Played => &[Outcome::Delivered, Outcome::Read],
            MessageStatus::Sent | MessageStatus::ReadByMe => return,
        };
        self.reach(store, instance, id, reached, None, batch);
    }

    /// An incoming message: an opt-out word puts its sender on the suppression list; a press
    /// of a campaign's button is stored in the campaign's input group and its recipient row.
    pub fn incoming(&mut self, store: &Store, instance: &InstanceId, m: &IncomingMessage, batch: &mut Batch) {
        if m.participant.is_some() {
            return; // a group message: not a recipient answering
        }
        let text = match &m.content {
            IncomingContent::Text(t) => Some(t.message.as_str()),
            IncomingContent::ButtonResponse(b) => Some(b.message.as_str()),
            _ => None,
        };
        if let Some(word) = text.map(opt_out_form).filter(|w| self.is_opt_out(instance, w)) {
            let s = Suppression { at_ms: m.at_ms, reason: format!("replied {word}") };
            batch.put(Cf::Campaigns, keys::suppressed(instance, m.from.as_str()), encode(&s));
            self.opted_out.inc();
        }
        if let IncomingContent::ButtonResponse(b) = &m.content {
            if let Err(e) = self.press(store, instance, m, &b.button_id, batch) {
                tracing::warn!(instance = %instance, error = %e, "campaign button press not recorded");
            }
        }
    }

    /// Whether `word` (in `opt_out_form`) is an opt-out word of `instance`'s account: its own
    /// words when it has some (they replace the node's), else the node's.
    fn is_opt_out(&self, instance: &InstanceId, word: &str) -> bool {
        let snapshot = self.config.load();
        let own = snapshot
            .instances
            .get(instance)
            .and_then(|i| snapshot.tenants.get(&i.tenant))
            .and_then(|t| t.opt_out_keywords.as_ref());
        own.unwrap_or(&self.keywords).iter().any(|k| k == word)
    }

    /// Drops what memory holds about a run (its batch failed): the next change rereads it.
    pub fn forget(&mut self, instance: &InstanceId, campaign: &str, run: u32) {
        let key = (*instance, campaign.to_owned(), run);
        self.runs.remove(&key);
        self.dirty.remove(&key);
    }

    /// Drops what memory holds about `campaign` of `instance` (it is being deleted): its runs'
    /// counters, its recipients' rows, its input group and the answers in it.
    pub fn forget_campaign(&mut self, instance: &InstanceId, campaign: &str) {
        let ours = |k: &RunKey| k.0 == *instance && k.1 == campaign;
        self.runs.retain(|k, _| !ours(k));
        self.dirty.retain(|k| !ours(k));
        let (rows_from, rows_to) = keys::rows_of(instance, keys::RECIPIENT, campaign);
        self.rows.retain(|k, _| !(rows_from <= *k && *k < rows_to));
        let group = keys::group(instance, campaign);
        let (values_from, values_to) = keys::rows_of(instance, keys::VALUES, campaign);
        self.inputs.retain(|k, _| *k != group && !(values_from <= *k && *k < values_to));
        let now = Instant::now();
        self.deleted.retain(|_, at| now.duration_since(*at) < ROW_MEMORY);
        self.deleted.insert((*instance, campaign.to_owned()), now);
    }

    /// Whether `campaign` of `instance` was deleted moments ago (see `deleted`).
    fn is_deleted(&self, instance: &InstanceId, campaign: &str) -> bool {
        !self.deleted.is_empty()
            && self.deleted.get(&(*instance, campaign.to_owned())).is_some_and(|at| at.elapsed() < ROW_MEMORY)
    }

    /// Writes the counters changed since the last flush into `batch`; drops idle entries.
    pub fn flush(&mut self, instance: &InstanceId, batch: &mut Batch) {
        let mut written = Vec::new();
        for key in self.dirty.iter().filter(|k| k.0 == *instance) {
            if let Some((c, _)) = self.runs.get(key) {
                batch.put(Cf::Campaigns, keys::counters(&key.0, &key.1, key.2), encode(c));
            }
            written.push(key.clone());
        }
        for k in written {
            self.dirty.remove(&k);
        }
        if self.runs.len() > MAX_RUNS {
            let (dirty, now) = (&self.dirty, Instant::now());
            self.runs.retain(|k, (_, at)| dirty.contains(k) || now.duration_since(*at) < RUN_MEMORY);
        }
        if self.rows.len() > MAX_ROWS {
            let now = Instant::now();
            self.rows.retain(|_, (_, at)| now.duration_since(*at) < ROW_MEMORY);
        }
        if self.inputs.len() > MAX_ROWS {
            let now = Instant::now();
            self.inputs.retain(|_, (_, at)| now.duration_since(*at) < ROW_MEMORY);
        }
    }

    fn bump(&mut self, store: &Store, instance: &InstanceId, campaign: &str, run: u32, outcome: Outcome) {
        let key = (*instance, campaign.to_owned(), run);
        let entry = self.runs.entry(key.clone()).or_insert_with(|| (load_counters(store, &key), Instant::now()));
        entry.0.add(outcome, 1);
        entry.1 = Instant::now();
        self.dirty.insert(key);
        if let Some(c) = self.outcomes.get(&outcome) {
            c.inc();
        }
    }

    /// Marks `reached` on the row of the campaign message `id` (if a campaign sent it),
    /// counting each outcome the first time only.
    fn reach(
        &mut self,
        store: &Store,
        instance: &InstanceId,
        id: &MessageId,
        reached: &[Outcome],
        error: Option<&str>,
        batch: &mut Batch,
    ) {
        let at = match read::<MessageRef>(store, &keys::message(instance, id)) {
            Ok(Some(at)) => at,
            Ok(None) => return, // not a campaign's message
            Err(e) => return tracing::warn!(instance = %instance, error = %e, "campaign index unreadable"),
        };
        if self.is_deleted(instance, &at.campaign) {
            return;
        }
        let key = keys::recipient(instance, &at.campaign, at.run, &at.phone);
        let mut row = match self.row(store, &key) {
            Ok(Some(row)) => row,
            Ok(None) => return, // every queued message has its row: its campaign was deleted
            Err(e) => return tracing::warn!(instance = %instance, error = %e, "campaign row unreadable"),
        };
        let mut changed = false;
        for o in reached {
            if !row.has(*o) {
                row.outcomes |= o.bit();
                changed = true;
                self.bump(store, instance, &at.campaign, at.run, *o);
            }
        }
        if let Some(e) = error.filter(|_| changed) {
            row.error = Some(e.chars().take(512).collect());
        }
        if changed {
            self.put_row(key, row, batch);
            self.flush(instance, batch);
        }
    }

    fn press(
        &mut self,
        store: &Store,
        instance: &InstanceId,
        m: &IncomingMessage,
        button_id: &str,
        batch: &mut Batch,
    ) -> Result<(), StoreError> {
        // Buttons a campaign sends are named `{campaignId}#{n}`.
        let Some((campaign_id, n)) = button_id.rsplit_once('#') else { return Ok(()) };
        let Ok(n) = n.parse::<usize>() else { return Ok(()) };
        if self.is_deleted(instance, campaign_id) {
            return Ok(());
        }
        let Some(campaign) = read::<Campaign>(store, &keys::campaign(instance, campaign_id))? else { return Ok(()) };
        let Some(button) = n.checked_sub(1).and_then(|i| campaign.buttons.get(i)) else { return Ok(()) };
        let phone = m.from.as_str();
        let value = serde_json::json!({"input": button.action(), "button": button.text(), "atMs": m.at_ms});
        self.answer(store, instance, &campaign.id, phone, &value, batch)?;
        // The row of the run that sent the pressed message, else of the latest run.
        let at = match m.reference_message_id.as_deref().and_then(|r| MessageId::parse(r).ok()) {
            Some(id) => read::<MessageRef>(store, &keys::message(instance, &id))?,
            None => None,
        };
        let run = match at {
            Some(at) if at.campaign == campaign.id => at.run,
            _ => campaign.latest().map(|r| r.number).unwrap_or(0),
        };
        let key = keys::recipient(instance, &campaign.id, run, phone);
        if let Some(mut row) = self.row(store, &key)?.filter(|_| run > 0) {
            row.action = Some(button.action().to_owned());
            row.outcomes |= Outcome::ButtonPress.bit();
            self.put_row(key, row, batch);
        }
        self.bump(store, instance, &campaign.id, run.max(1), Outcome::ButtonPress);
        self.flush(instance, batch);
        Ok(())
    }

    /// Stores `phone`'s answer in the input group `group` (named after the campaign), counting
    /// the number in the group's `numbers` the first time it answers.
    fn answer(
        &mut self,
        store: &Store,
        instance: &InstanceId,
        group: &str,
        phone: &str,
        value: &serde_json::Value,
        batch: &mut Batch,
    ) -> Result<(), StoreError> {
        let now = Instant::now();
        let value_key = keys::values(instance, group, phone);
        let new =
            !self.inputs.contains_key(&value_key) && store.db().get_cf(store.cf(Cf::Campaigns), &value_key)?.is_none();
        batch.put(Cf::Campaigns, value_key.clone(), encode(value));
        self.inputs.insert(value_key, (None, now));
        if !new {
            return Ok(());
        }
        let group_key = keys::group(instance, group);
        let stored = match self.inputs.get(&group_key) {
            Some((Some(g), _)) => Some(g.clone()),
            _ => read::<VariableGroup>(store, &group_key)?,
        };
        // A campaign stored before input groups were made has none: nothing to count.
        let Some(mut g) = stored.filter(|g| g.input) else { return Ok(()) };
        g.numbers += 1;
        batch.put(Cf::Campaigns, group_key.clone(), encode(&g));
        self.inputs.insert(group_key, (Some(g), now));
        Ok(())
    }

    /// A recipient's row: as an event not yet durable left it, else as stored.
    fn row(&self, store: &Store, key: &[u8]) -> Result<Option<Row>, StoreError> {
        if let Some((row, _)) = self.rows.get(key) {
            return Ok(Some(row.clone()));
        }
        read::<Row>(store, key)
    }

    fn put_row(&mut self, key: Vec<u8>, row: Row, batch: &mut Batch) {
        batch.put(Cf::Campaigns, key.clone(), encode(&row));
        self.rows.insert(key, (row, Instant::now()));
    }
}

/// Whether a refusal says the number is not on the network (the sim: "… is not on the
/// network"; WhatsApp Cloud API: error 131026, "message undeliverable" to a non-user).
pub fn not_on_network(reason: &str) -> bool {
    let r = reason.to_ascii_lowercase();
    r.contains("not on the network") || r.contains("not on whatsapp") || r.contains("131026")
}

fn load_counters(store: &Store, key: &RunKey) -> Counters {
    read::<Counters>(store, &keys::counters(&key.0, &key.1, key.2)).ok().flatten().unwrap_or_default()
}

pub fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    serde_json::to_vec(value).unwrap_or_default()
}

/// A JSON record of the `campaigns` family; a record that does not decode is an error.
pub fn read<T: serde::de::DeserializeOwned>(store: &Store, key: &[u8]) -> Result<Option<T>, StoreError> {
    match store.db().get_cf(store.cf(Cf::Campaigns), key)? {
        None => Ok(None),
        Some(v) => serde_json::from_slice(&v).map(Some).map_err(|e| StoreError::Corrupt(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_for_numbers_not_on_the_network_are_told_apart() {
        let cases = [
            ("5511999990000 is not on the network", true),
            ("(#131026) Message undeliverable", true),
            ("media could not be fetched: timeout", false),
        ];
        for (reason, not_on) in cases {
            assert_eq!(not_on_network(reason), not_on, "{reason}");
        }
    }

    #[tokio::test]
    async fn a_deleted_campaigns_messages_write_nothing_back_before_or_after_the_deletion_commits() {
        let dir = tempfile::tempdir().unwrap();
        let metrics = Metrics::new();
        let store = Store::open(dir.path(), 8, Arc::new(Metrics::new())).unwrap();
        let config = Arc::new(ArcSwap::from_pointee(Snapshot::default()));
        let mut ledger = Ledger::new(Vec::new(), config.clone(), &metrics);
        let instance = InstanceId::random();
        let (kept, gone) = (MessageId::random(), MessageId::random());
        let mut batch = Batch::new();
        for (id, campaign) in [(&kept, "c_kept"), (&gone, "c_gone")] {
            let at = MessageRef { campaign: campaign.into(), run: 1, phone: "5511970000001".into(), expires_ms: None };
            ledger.queued(&store, &instance, &at, id, &mut batch);
        }
        ledger.flush(&instance, &mut batch);
        store.commit(batch).await.unwrap();

        // The deletion as the shard makes it: the ledger forgets, then the rows go in a batch.
        ledger.forget_campaign(&instance, "c_gone");
        let mut deletion = Batch::new();
        for tag in [keys::COUNTERS, keys::RECIPIENT] {
            let (from, to) = keys::rows_of(&instance, tag, "c_gone");
            deletion.delete_range(Cf::Campaigns, from, to);
        }
        let mut event = Batch::new();
        ledger.sent(&store, &instance, &gone, &mut event);
        assert!(event.is_empty(), "an event before the deletion is durable writes nothing");
        store.commit(deletion).await.unwrap();
        ledger.status(&store, &instance, &gone, MessageStatus::Read, &mut event);
        assert!(event.is_empty());
        let mut later = Ledger::new(Vec::new(), config, &metrics);
        later.sent(&store, &instance, &gone, &mut event);
        assert!(event.is_empty(), "with the deletion forgotten, the missing row still stops it");
        ledger.sent(&store, &instance, &kept, &mut event);
        assert!(!event.is_empty(), "another campaign's message still counts");
        store.close();
    }
}
