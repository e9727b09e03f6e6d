//! The shard's side of campaigns (issue 14): a run's feed goes into the instance's queue in one
//! batch with its recipient rows, message-id index entries, cursor and the day's send counts
//! (a feed counts against its account's `dailyQuota` and its instance's daily limit like any
//! send, and is refused whole when it does not fit), so a crash leaves either all of it or
//! none; the ledger (`campaigns::Ledger`) counts what the network then says about those
//! messages. Runs on the shard thread; no reads but the ledger's point reads.

use chatedge_config::InstanceId;
use tokio::sync::oneshot;

use super::commands::Reply;
use super::{Shard, Then};
use crate::campaigns::{Deletion, Feed, MessageRef};
use crate::error::CoreError;
use crate::outbox::Events;
use crate::store::{Batch, Cf, StoreError};

impl Shard {
    pub(super) fn campaign_feed(&mut self, id: InstanceId, feed: Feed, reply: oneshot::Sender<Result<u64, CoreError>>) {
        if !self.deps.config.load().instances.contains_key(&id) {
            let _ = reply.send(Err(CoreError::UnknownInstance));
            return;
        }
        let limits = self.deps.queue;
        let s = self.session(id);
        let connected = s.is_online();
        let limit = if connected { limits.max_waiting_connected } else { limits.max_waiting_disconnected };
        if s.queue.len() + feed.sends.len() as u64 > limit {
            let _ = reply.send(Err(CoreError::QueueFull { limit, connected }));
            return;
        }
        if let Some(reason) = self.deps.store.health().reason() {
            let _ = reply.send(Err(CoreError::StoreFailing(reason)));
            return;
        }
        if self.budget.exhausted() {
            let _ = reply.send(Err(CoreError::StoreBusy));
            return;
        }
        let store = self.deps.store.clone();
        let mut batch = Batch::new();
        let mut seqs: Option<(u64, u64)> = None;
        let queued = feed.sends.len() as u64;
        let counted = match queued {
            0 => None,
            n => match self.count_daily(id, n, &mut batch) {
                Ok(counted) => counted,
                Err(e) => {
                    let _ = reply.send(Err(e));
                    return;
                }
            },
        };
        let retention = self.deps.store_limits.message_index_retention;
        let expires_ms = chatedge_config::time::unix_ms().saturating_add(retention.as_millis() as u64);
        for m in feed.sends {
            let phone = m.phone.as_str().to_owned();
            let at = MessageRef { campaign: feed.campaign.clone(), run: feed.run, phone, expires_ms: Some(expires_ms) };
            self.campaigns.queued(&store, &id, &at, &m.message_id, &mut batch);
            crate::message_index::record_sent(&mut batch, &m, retention);
            let seq = self.session(id).queue.push(m, &mut batch);
            seqs = Some((seqs.map_or(seq, |(first, _)| first), seq));
        }
        for skip in &feed.skips {
            self.campaigns.skipped(&store, &id, &feed.campaign, feed.run, skip, &mut batch);
        }
        self.campaigns.cursor(&id, &feed.campaign, feed.run, &feed.cursor, &mut batch);
        self.campaigns.flush(&id, &mut batch);
        self.counters.accepted.inc_by(queued);
        self.commit(id, batch, Events::new(), Then::Fed { seqs, run: (feed.campaign, feed.run), reply, counted });
    }

    /// Deletes a campaign's rows; the ledger forgets it first (rows and counters it remembers
    /// would otherwise be written back by the next event of one of its messages).
    pub(super) fn campaign_delete(&mut self, id: InstanceId, deletion: Deletion, reply: Reply<()>) {
        self.campaigns.forget_campaign(&id, &deletion.campaign);
        let mut batch = Batch::new();
        for k in deletion.keys {
            batch.delete(Cf::Campaigns, k);
        }
        for (from, to) in deletion.ranges {
            batch.delete_range(Cf::Campaigns, from, to);
        }
        self.commit_then_reply(id, batch, (), reply);
    }

    /// A feed's batch is durable (or failed): its messages become sendable, or are taken back
    /// and the run's counters reread from the store (the feeder sends the recipients again).
    pub(super) fn fed(
        &mut self,
        id: InstanceId,
        seqs: Option<(u64, u64)>,
        run: (String, u32),
        result: Result<(), StoreError>,
        reply: oneshot::Sender<Result<u64, CoreError>>,
    ) {
        let Some(s) = self.sessions.get_mut(&id) else {
            let _ = reply.send(Err(CoreError::UnknownInstance));
            return;
        };
        match result {
            Ok(()) => {
                if let Some((_, last)) = seqs {
                    s.queue.mark_committed(last);
                }
                let _ = reply.send(Ok(s.queue.len()));
                self.pump(id);
            }
            Err(e) => {
                if let Some((first, last)) = seqs {
                    for seq in first..=last {
                        s.queue.abandon(seq);
                    }
                }
                self.campaigns.forget(&id, &run.0, run.1);
                let _ = reply.send(Err(e.into()));
            }
        }
    }
}
