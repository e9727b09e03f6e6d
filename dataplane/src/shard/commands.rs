//! Commands from the edge to the shard that owns an instance, and how the shard carries them
//! out. Each command carries its reply channel; a reply that finds its requester gone (timed
//! out) is dropped.

use chatedge_config::{InstanceId, Phone, Snapshot, TenantId, ZaapId};
use tokio::sync::oneshot;

use super::account_quota;
use super::daily_quota::{self, Allowance, Counted};
use super::{Shard, Then};
use crate::error::CoreError;
use crate::idempotency::{Accepted, Admission, Claim, Finished, Record, Waiter};
use crate::network::account::{self, Account, AccountCall, AccountError};
use crate::network::PairingMethod;
use crate::outbox::{payload, Events};
use crate::queue::{Cleared, OutboundMessage, Removal, Removed, Slice, MAX_REMOVE_PER_CALL};
use crate::session::{Link, QrWaiter};
use crate::store::{keys, Batch, Cf};
use chatedge_config::snapshot::{WebhookDialect, WebhookKind};
use chatedge_config::zapini_webhook::ZapiniEvent;

pub type Reply<T> = oneshot::Sender<Result<T, CoreError>>;

/// What the edge can ask a shard.
// Enqueue is both the largest and by far the most common command: boxing it would add an
// allocation per send without making the channel any smaller in practice.
#[allow(clippy::large_enum_variant)]
pub enum Command {
    /// Queue a message durably; the reply comes once it is fsync'd. With an Idempotency-Key
    /// (`idempotency`), its record is written in the same batch, and a key seen before is
    /// answered from its record instead (nothing queued).
    Enqueue {
        message: OutboundMessage,
        reply: Reply<Accepted>,
        idempotency: Option<Claim>,
    },
    Status {
        instance: InstanceId,
        reply: oneshot::Sender<SessionStatus>,
    },
    /// The current pairing code (starting pairing if needed).
    QrCode {
        instance: InstanceId,
        reply: QrWaiter,
    },
    /// The current 8-character code with which the owner of `phone` links the instance
    /// ("Link with phone number"), starting pairing by code if needed.
    PhoneCode {
        instance: InstanceId,
        phone: Phone,
        reply: QrWaiter,
    },
    /// Reconnect with the saved session (no new scan needed).
    Restart {
        instance: InstanceId,
        reply: Reply<()>,
    },
    /// Log out: the session is forgotten and a new scan is needed.
    Disconnect {
        instance: InstanceId,
        reply: Reply<()>,
    },
    QueuePage {
        instance: InstanceId,
        page: usize,
        size: usize,
        reply: Reply<Vec<OutboundMessage>>,
    },
    /// A cursor page: up to `size` messages from seq `from` on.
    QueueFrom {
        instance: InstanceId,
        from: u64,
        size: usize,
        reply: Reply<Slice>,
    },
    /// Messages in the queue, the one on the wire counted once.
    QueueCount {
        instance: InstanceId,
        reply: oneshot::Sender<u64>,
    },
    /// Remove every waiting message (the one on the wire stays: it cannot be recalled).
    QueueClear {
        instance: InstanceId,
        reply: Reply<Cleared>,
    },
    QueueRemove {
        instance: InstanceId,
        target: QueueTarget,
        reply: Reply<Removed>,
    },
    /// The instance was removed from the configuration: close its session and delete its
    /// queue, saved session and removal marker in one batch (`shard::teardown`).
    Teardown {
        instance: InstanceId,
        reply: Reply<()>,
    },
    /// An account call (contacts, groups, privacy, …), carried out by the instance's
    /// connector; refused at once when it needs a connection the instance does not have.
    Account {
        instance: InstanceId,
        call: AccountCall,
        reply: account::ReplyTx,
    },
    /// A campaign run's next recipients (issue 14): their messages, the recipients skipped
    /// and the run's cursor go into one batch; the reply (the instance's queue length) comes
    /// once it is durable. Refused whole when the queue cannot take them all, or the day's
    /// limits (`dailyQuota`, `daily_limit`) cannot.
    CampaignFeed {
        instance: InstanceId,
        feed: Box<crate::campaigns::Feed>,
        reply: Reply<u64>,
    },
    /// Delete a finished campaign's rows (`campaigns::deletion`) in one batch; the ledger
    /// forgets the campaign first, so no later event writes its rows back.
    CampaignDelete {
        instance: InstanceId,
        deletion: Box<crate::campaigns::Deletion>,
        reply: Reply<()>,
    },
    /// What today's daily limits still allow the instance (a campaign feed asks before it
    /// builds its next batch); `None` when it has none.
    DailyAllowance {
        instance: InstanceId,
        reply: Reply<Option<Allowance>>,
    },
    /// The instances whose session is connected (the session report to the control plane).
    Online {
        reply: oneshot::Sender<Vec<InstanceId>>,
    },
    /// Leave the event loop (shutdown).
    Stop,
}

impl Command {
    pub fn instance(&self) -> Option<InstanceId> {
        match self {
            Command::Enqueue { message, .. } => Some(message.instance),
            Command::Status { instance, .. }
            | Command::QrCode { instance, .. }
            | Command::PhoneCode { instance, .. }
            | Command::Restart { instance, .. }
            | Command::Disconnect { instance, .. }
            | Command::QueuePage { instance, .. }
            | Command::QueueFrom { instance, .. }
            | Command::QueueCount { instance, .. }
            | Command::QueueClear { instance, .. }
            | Command::QueueRemove { instance, .. }
            | Command::Teardown { instance, .. }
            | Command::Account { instance, .. }
            | Command::CampaignFeed { instance, .. }
            | Command::CampaignDelete { instance, .. }
            | Command::DailyAllowance { instance, .. } => Some(*instance),
            Command::Online { .. } | Command::Stop => None,
        }
    }
}

/// What `DELETE queue/{x}` removes (see the `queue` module doc).
#[derive(Debug, Clone)]
pub enum QueueTarget {
    /// The message with this zaapId.
    Zaap(ZaapId),
    /// The waiting messages to this recipient, at most `MAX_REMOVE_PER_CALL` per call.
    Phone(Phone),
}

/// The instance's link as the status routes report it.
#[derive(Debug, Clone)]
pub struct SessionStatus {
    pub connected: bool,
    pub phone: Option<Phone>,
    pub state: &'static str,
}

impl Shard {
    pub(super) fn on_command(&mut self, command: Command) {
        match command {
            Command::Enqueue { message, reply, idempotency } => self.enqueue(message, reply, idempotency),
            Command::Status { instance, reply } => {
                let s = self.session(instance);
                let status =
                    SessionStatus { connected: s.is_online(), phone: s.phone().cloned(), state: s.link.label() };
                let _ = reply.send(status);
            }
            Command::QrCode { instance, reply } => self.qr_code(instance, PairingMethod::Qr, Some(reply)),
            Command::PhoneCode { instance, phone, reply } => {
                self.qr_code(instance, PairingMethod::PhoneCode(phone), Some(reply))
            }
            Command::Restart { instance, reply } => self.restart(instance, reply),
            Command::Disconnect { instance, reply } => self.disconnect(instance, reply),
            Command::QueuePage { instance, page, size, reply } => {
                let store = self.deps.store.clone();
                let result = self.session(instance).queue.page(&store, page, size).map_err(CoreError::from);
                let _ = reply.send(result);
            }
            Command::QueueFrom { instance, from, size, reply } => {
                let store = self.deps.store.clone();
                let result = self.session(instance).queue.page_from(&store, from, size).map_err(CoreError::from);
                let _ = reply.send(result);
            }
            Command::QueueCount { instance, reply } => {
                // `len` already counts the message on the wire: it stays queued until answered.
                let _ = reply.send(self.session(instance).queue.len());
            }
            Command::QueueClear { instance, reply } => {
                let store = self.deps.store.clone();
                let mut batch = Batch::new();
                let cleared = self.session(instance).queue.clear(&mut batch, &store);
                self.counters.deleted.inc_by(cleared.removed);
                self.commit_then_reply(instance, batch, cleared, reply);
            }
            Command::QueueRemove { instance, target, reply } => self.remove_queued(instance, target, reply),
            Command::Teardown { instance, reply } => self.teardown(instance, Then::Reply(reply), "on_update"),
            Command::Account { instance, call, reply } => self.account(instance, call, reply),
            Command::CampaignFeed { instance, feed, reply } => self.campaign_feed(instance, *feed, reply),
            Command::CampaignDelete { instance, deletion, reply } => self.campaign_delete(instance, *deletion, reply),
            Command::DailyAllowance { instance, reply } => {
                let _ = reply.send(self.daily_allowance(instance));
            }
            Command::Online { reply } => {
                let online = self.sessions.iter().filter(|(_, s)| s.is_online()).map(|(id, _)| *id).collect();
                let _ = reply.send(online);
            }
            Command::Stop => {}
        }
    }

    pub(super) fn enqueue(&mut self, message: OutboundMessage, reply: Reply<Accepted>, claim: Option<Claim>) {
        let id = message.instance;
        let queues_disconnected = match self.deps.config.load().instances.get(&id) {
            Some(instance) => !instance.disable_enqueue_when_disconnected,
            None => {
                // Removed (and torn down) while this send waited for room in the shard's channel.
                let _ = reply.send(Err(CoreError::UnknownInstance));
                return;
            }
        };
        let (message, reply) = match &claim {
            None => (message, reply),
            Some(c) => match self.admit_key(c, message, reply) {
                Some(fresh) => fresh,
                None => return, // answered, or waiting for the first request with the key
            },
        };
        let limits = self.deps.queue;
        let s = self.session(id);
        let connected = s.is_online();
        if !connected && !queues_disconnected {
            self.counters.not_connected.inc();
            let _ = reply.send(Err(CoreError::NotConnected));
            return;
        }
        let limit = if connected { limits.max_waiting_connected } else { limits.max_waiting_disconnected };
        if s.queue.len() >= limit {
            self.counters.queue_full.inc();
            let _ = reply.send(Err(CoreError::QueueFull { limit, connected }));
            return;
        }
        // A failing disk is said as such (it also fills the budget with retried batches).
        if let Some(reason) = self.deps.store.health().reason() {
            self.counters.store_failing.inc();
            let _ = reply.send(Err(CoreError::StoreFailing(reason)));
            return;
        }
        if self.budget.exhausted() {
            self.counters.store_busy.inc();
            let _ = reply.send(Err(CoreError::StoreBusy));
            return;
        }
        let mut batch = Batch::new();
        let counted = match self.count_daily(id, 1, &mut batch) {
            Ok(counted) => counted,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        crate::message_index::record_sent(&mut batch, &message, self.deps.store_limits.message_index_retention);
        let s = self.session(id);
        let seq = s.queue.push(message, &mut batch);
        let key = claim.map(|c| {
            let record = Record {
                fingerprint: c.fingerprint,
                created_ms: chatedge_config::time::unix_ms(),
                status: 200,
                answer: c.answer.clone(),
            };
            batch.put(Cf::Idempotency, c.store_key.clone(), record.encode());
            self.idempotency.begin(&c);
            c.store_key
        });
        self.counters.accepted.inc();
        self.commit(id, batch, Events::new(), Then::Enqueued { seq, reply, key, counted });
    }

    /// Counts `sends` sends for the day (the new count goes in `batch`), or refuses them all
    /// when they do not fit in their account's daily quota (over all the account's instances
    /// on this node) or their instance's own daily limit.
    pub(super) fn count_daily(
        &mut self,
        id: InstanceId,
        sends: u64,
        batch: &mut Batch,
    ) -> Result<Option<Counted>, CoreError> {
        let config = self.deps.config.load();
        let Some((account, quota, own)) = daily_limits(&config, &id) else { return Ok(None) };
        let now = self.deps.clock.now_ms();
        let day = daily_quota::day_of(now);
        let retry_after_s = daily_quota::seconds_to_midnight(now);
        let mine = || instances_of(&config, account);
        match self.deps.accounts.take(&self.deps.store, account, mine, quota, day, sends) {
            Ok(()) => {}
            Err(account_quota::Refusal::Quota(limit)) => {
                self.counters.daily_quota.inc();
                return Err(CoreError::DailyQuota { limit, retry_after_s });
            }
            Err(account_quota::Refusal::Store(e)) => return Err(e.into()),
        }
        match self.daily.take(&self.deps.store, id, own, now, sends, batch) {
            Ok(counted) => Ok(Some(Counted { account: Some(account), ..counted })),
            Err(refusal) => {
                self.deps.accounts.give_back(account, day, sends);
                match refusal {
                    daily_quota::Refusal::Limit(limit) => {
                        self.counters.daily_quota.inc();
                        Err(CoreError::DailyLimit { limit, retry_after_s })
                    }
                    daily_quota::Refusal::Store(e) => Err(e.into()),
                }
            }
        }
    }

    /// What today's limits still allow `id` (the tighter of its account's quota and its own
    /// daily limit; `None` when neither is set).
    fn daily_allowance(&mut self, id: InstanceId) -> Result<Option<Allowance>, CoreError> {
        let config = self.deps.config.load();
        let (account, quota, own) = daily_limits(&config, &id).ok_or(CoreError::UnknownInstance)?;
        let now = self.deps.clock.now_ms();
        let mine = || instances_of(&config, account);
        let by_account = self.deps.accounts.left(&self.deps.store, account, mine, quota, now)?;
        let by_instance = self.daily.left(&self.deps.store, id, own, now)?;
        Ok(Allowance::tighter(by_account, by_instance))
    }

    /// Where a keyed send stands: `Some` to write it now; `None` once it was answered from the
    /// key's record (or refused), or parked behind the first request with its key.
    fn admit_key(
        &mut self,
        claim: &Claim,
        message: OutboundMessage,
        reply: Reply<Accepted>,
    ) -> Option<(OutboundMessage, Reply<Accepted>)> {
        let store = self.deps.store.clone();
        let read = || {
            let stored = store.db().get_cf(store.cf(Cf::Idempotency), &claim.store_key)?;
            Ok::<_, crate::store::StoreError>(stored.and_then(|v| Record::decode(&v)))
        };
        let admission = match self.idempotency.admit(claim, read, chatedge_config::time::unix_ms()) {
            Ok(a) => a,
            Err(e) => {
                let _ = reply.send(Err(e.into()));
                return None;
            }
        };
        self.counters.idempotency(&admission);
        match admission {
            Admission::Fresh => return Some((message, reply)),
            Admission::Replay(answer) => drop(reply.send(Ok(Accepted::Replayed(answer)))),
            Admission::Conflict => drop(reply.send(Ok(Accepted::Conflict))),
            Admission::Busy => drop(reply.send(Err(CoreError::StoreBusy))),
            Admission::Wait => {
                let waiter = Waiter { message, reply, claim: claim.clone() };
                if let Err(w) = self.idempotency.wait(waiter) {
                    let _ = w.reply.send(Err(CoreError::StoreBusy)); // cannot happen: just admitted
                }
            }
        }
        None
    }

    /// The first request with `key` is settled: its waiters hear its answer (`succeeded`) or
    /// are sent again as new requests (it left no record).
    pub(super) fn settle_key(&mut self, key: Option<Vec<u8>>, succeeded: bool) {
        let Some(key) = key else { return };
        match self.idempotency.finish(&key, succeeded) {
            Finished::Replay(replies, answer) => {
                for r in replies {
                    let _ = r.send(Ok(Accepted::Replayed(answer.clone())));
                }
            }
            Finished::Retry(waiters) => {
                for w in waiters {
                    self.enqueue(w.message, w.reply, Some(w.claim));
                }
            }
        }
    }

    fn account(&mut self, id: InstanceId, call: AccountCall, reply: account::ReplyTx) {
        let business = self.deps.config.load().instances.get(&id).is_some_and(|c| c.business_device);
        let s = self.session(id);
        if call.needs_connection() && !s.is_online() {
            let _ = reply.send(Err(AccountError::NotConnected));
            return;
        }
        let account = Account { phone: s.phone().cloned(), business };
        // The registration step that may connect the number completes a pairing run (the
        // network answers `Connected` for it, as for a scanned code): the run under way if
        // there is one — a wrong code must not end a QR or phone-code run — or one of its own,
        // which expires like any other if the code never comes right.
        let completes = matches!(&call, AccountCall::Registration(c) if c.completes_pairing());
        if completes && matches!(s.link, Link::Offline) {
            self.qr_code(id, PairingMethod::Registration, None);
        }
        self.deps.metrics.account_calls.with_label_values(&[call.family()]).inc();
        self.connector.account(id, account, call, reply);
    }

    /// Answers `reply` with the current code of a pairing run by `method`, starting one (and
    /// ending a run by another method: its waiters hear it expired) when needed. Without
    /// `reply`, only makes sure such a run is under way.
    fn qr_code(&mut self, id: InstanceId, method: PairingMethod, reply: Option<QrWaiter>) {
        let s = self.session(id);
        match &mut s.link {
            Link::Online { .. } => drop(reply.map(|r| r.send(Err(CoreError::AlreadyConnected)))),
            Link::Connecting { .. } => drop(reply.map(|r| r.send(Err(CoreError::Reconnecting)))),
            Link::Pairing { method: m, code: Some(code), .. } if *m == method => {
                drop(reply.map(|r| r.send(Ok(code.clone()))))
            }
            Link::Pairing { method: m, code: None, waiters } if *m == method => waiters.extend(reply),
            Link::Pairing { .. } | Link::Offline => {
                if matches!(s.link, Link::Pairing { .. }) {
                    s.answer_qr_waiters(|| Err(CoreError::PairingExpired));
                    self.connector.close(id, false);
                }
                let s = self.session(id);
                s.link = Link::Pairing { method: method.clone(), code: None, waiters: reply.into_iter().collect() };
                let generation = s.next_generation();
                self.connector.start_pairing(id, generation, method);
            }
        }
    }

    fn restart(&mut self, id: InstanceId, reply: Reply<()>) {
        // A Cloud API instance reconnects on restart even with no saved session (after a
        // logout: its credentials are in its configuration).
        let cloud = self.is_cloud_api(&id);
        let s = self.session(id);
        if s.record.is_some() || cloud {
            s.answer_qr_waiters(|| Err(CoreError::Reconnecting));
            s.requeue_in_flight();
            self.connector.close(id, false);
            self.connect(id);
        }
        let _ = reply.send(Ok(()));
    }

    fn disconnect(&mut self, id: InstanceId, reply: Reply<()>) {
        self.connector.close(id, true);
        let s = self.session(id);
        s.requeue_in_flight();
        s.next_generation(); // whatever the closed connection still says is stale
        s.answer_qr_waiters(|| Err(CoreError::NotConnected));
        let was_paired = s.record.take().is_some();
        s.link = Link::Offline;
        let mut batch = Batch::new();
        batch.delete(Cf::Sessions, keys::session(&id));
        let mut events = Events::new();
        if was_paired {
            if let Some(cfg) = self.deps.config.load().instances.get(&id) {
                let now = chatedge_config::time::unix_ms();
                let reason = "Logged out by request (disconnect): scan a new QR code to connect";
                let kind = WebhookKind::Disconnected;
                events
                    .add(&mut batch, cfg, WebhookDialect::Zapi, kind, None, || payload::disconnected(&id, reason, now));
                if cfg.webhooks.zapini.as_ref().is_some_and(|z| z.sends(ZapiniEvent::InstanceDisconnected)) {
                    events.add(&mut batch, cfg, WebhookDialect::Zapini, kind, None, || {
                        payload::zapini::disconnected(&id, reason, true, now)
                    });
                }
            }
        }
        self.commit(id, batch, events, Then::Reply(reply));
    }

    fn remove_queued(&mut self, id: InstanceId, target: QueueTarget, reply: Reply<Removed>) {
        let store = self.deps.store.clone();
        let mut batch = Batch::new();
        let queue = &mut self.session(id).queue;
        let result = match &target {
            QueueTarget::Zaap(zaap) => queue.remove(zaap, &mut batch, &store).map(|r| match r {
                Removal::Removed => Removed { removed: 1, in_flight: false, more: false },
                Removal::InFlight => Removed { removed: 0, in_flight: true, more: false },
                Removal::NotQueued => Removed { removed: 0, in_flight: false, more: false },
            }),
            QueueTarget::Phone(phone) => queue.remove_phone(phone, MAX_REMOVE_PER_CALL, &mut batch, &store),
        };
        match result {
            Ok(r) if r.removed > 0 => {
                self.counters.deleted.inc_by(r.removed);
                self.commit_then_reply(id, batch, r, reply);
            }
            Ok(r) if r.in_flight => drop(reply.send(Err(CoreError::InFlight))),
            Ok(_) => drop(reply.send(Err(CoreError::NotInQueue))),
            Err(e) => drop(reply.send(Err(e.into()))),
        }
    }

    /// Commits `batch` and answers `value` once it is durable (or the failure).
    pub(super) fn commit_then_reply<T: Send + 'static>(
        &mut self,
        id: InstanceId,
        batch: Batch,
        value: T,
        reply: Reply<T>,
    ) {
        let (tx, rx) = oneshot::channel();
        self.commit(id, batch, Events::new(), Then::Reply(tx));
        // Ends when the commit completes or the shard drops the sender at shutdown.
        tokio::task::spawn_local(async move {
            let r = rx.await.unwrap_or(Err(CoreError::ShuttingDown));
            let _ = reply.send(r.map(|()| value));
        });
    }
}

/// `id`'s account, the account's `dailyQuota` and the instance's own daily limit, as the live
/// configuration sets them; `None` for an instance it does not name.
fn daily_limits(config: &Snapshot, id: &InstanceId) -> Option<(TenantId, Option<u64>, Option<u64>)> {
    let instance = config.instances.get(id)?;
    let quota = config.tenants.get(&instance.tenant).and_then(|t| t.limits).and_then(|l| l.daily_quota);
    Some((instance.tenant, quota, instance.daily_limit))
}

/// The account's instances on this node (read only the first time the account sends on a day).
fn instances_of(config: &Snapshot, account: TenantId) -> Vec<InstanceId> {
    config.instances.values().filter(|i| i.tenant == account).map(|i| i.id).collect()
}
