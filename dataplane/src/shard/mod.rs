//! shard: the thread-per-core runtime. Each shard is one OS thread pinned to a core (unless
//! `[dataplane] pin_shards = false`), running a current-thread Tokio runtime with a
//! `LocalSet`; it exclusively owns the sessions of the instances that hash to it
//! (`InstanceId::shard`), so session state needs no locks. Work
//! reaches a shard as [`Command`]s from the edge (bounded channel), [`NetworkEvent`]s from its
//! connector (bounded channel) and commit completions from the store committer. Blocking I/O
//! never happens here: writes go to the committer; reads are bounded cursor reads. The same
//! runtime also runs HTTP connections the edge places on it (`[dataplane]
//! connections_on_shards`): they reach the shard only through `Shards`, like any other caller.

pub mod account_quota;
mod budget;
mod campaign;
mod commands;
pub mod daily_quota;
mod events;
mod handle;
mod link;
pub mod recovery;
mod teardown;

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use chatedge_config::file::{QueueConfig, SessionConfig, StoreConfig};
use chatedge_config::snapshot::Pacing;
use chatedge_config::{InstanceId, Snapshot};
use prometheus::IntCounter;
use tokio::sync::{mpsc, oneshot};

use crate::error::CoreError;
use crate::idempotency::{Accepted, Admission, InFlight};
use crate::metrics::Metrics;
use crate::network::{AckId, Connector, NetworkEvent};
use crate::outbox::{Events, Notifier};
use crate::queue::InstanceQueue;
use crate::session::{Session, Step};
use crate::store::{Batch, Completion, Done, Store, StoreError};
use budget::CommitBudget;

pub use commands::{Command, QueueTarget, SessionStatus};
pub use handle::Shards;

/// Commands that may wait for one shard before senders wait (backpressure on the edge).
const COMMAND_CAPACITY: usize = 4096;
/// Network events that may wait for one shard before the connector waits.
pub const EVENT_CAPACITY: usize = 8192;
/// Due timers handled per loop turn before the loop looks at its channels again.
const TIMERS_PER_TURN: usize = 1024;

/// What a shard needs from the rest of the data plane.
#[derive(Clone)]
pub struct ShardDeps {
    pub store: Arc<Store>,
    pub config: Arc<ArcSwap<Snapshot>>,
    pub notifier: Notifier,
    pub metrics: Arc<Metrics>,
    /// Pacing for instances whose tenant sets none.
    pub pacing: Pacing,
    pub queue: QueueConfig,
    pub session: SessionConfig,
    /// Bounds on the work each shard may have waiting for the committer.
    pub store_limits: StoreConfig,
    /// Received media: `media_hold` retention and the signed links in ReceivedCallbacks.
    pub media: Arc<crate::media::Media>,
    /// Incoming words that put their sender on the campaigns' suppression list (upper case),
    /// for accounts without words of their own (`Tenant::opt_out_keywords`).
    pub opt_out_keywords: Vec<String>,
    /// The data plane's clock: which UTC day a send or a received message counts on.
    pub clock: Arc<crate::campaigns::Clock>,
    /// Each account's sends today on this node, shared by the shards (`account_quota`).
    pub accounts: Arc<account_quota::AccountCounts>,
    /// Pin each shard thread to a core (`[dataplane] pin_shards`).
    pub pin_to_cores: bool,
}

type Reply = oneshot::Sender<Result<Accepted, CoreError>>;

/// What happens on the shard once a batch is durable.
enum Then {
    Nothing,
    Enqueued {
        seq: u64,
        reply: Reply,
        /// The send's Idempotency-Key record, written in the same batch.
        key: Option<Vec<u8>>,
        /// Counted against a daily quota (given back if the batch fails).
        counted: Option<daily_quota::Counted>,
    },
    /// A withdrawn message's key record is deleted: duplicates waiting on it may go.
    KeyReleased(Vec<u8>),
    /// Acknowledge the network event to the network.
    Ack(AckId),
    Reply(oneshot::Sender<Result<(), CoreError>>),
    /// A campaign feed's batch: the messages `seqs` (first, last) become sendable.
    Fed {
        seqs: Option<(u64, u64)>,
        run: (String, u32),
        reply: oneshot::Sender<Result<u64, CoreError>>,
        /// Its messages, counted against the daily limits (given back if the batch fails).
        counted: Option<daily_quota::Counted>,
    },
}

/// A shard batch's completion, run on the committer thread: gives the budget back, hands the
/// webhook events to the dispatcher and sends the outcome back to the shard.
struct ShardDone {
    instance: InstanceId,
    then: Then,
    /// This batch's place among the shard's submissions (see `Shard::submitted`).
    number: u64,
    bytes: usize,
    budget: Arc<CommitBudget>,
    notifier: Notifier,
    keys: Vec<crate::outbox::OutboxKey>,
    tx: Option<mpsc::UnboundedSender<Committed>>,
}

impl Done for ShardDone {
    /// A send whose client stopped waiting (request timeout, disconnect) is not written.
    fn abandoned(&self) -> bool {
        matches!(&self.then, Then::Enqueued { reply, .. } if reply.is_closed())
    }

    fn done(self: Box<Self>, result: Result<(), StoreError>) {
        let ShardDone { instance, then, number, bytes, budget, notifier, keys, tx } = *self;
        // An abandoned batch is completed early, out of order, and wrote nothing: it does not
        // move the in-order completion mark.
        let in_order = !matches!(result, Err(StoreError::Abandoned));
        budget.give_back(bytes, in_order.then_some(number));
        if result.is_ok() {
            notifier.notify(keys);
        }
        if let Some(tx) = tx {
            let _ = tx.send(Committed { instance, result, then }); // shard gone: shutting down
        }
    }
}

struct Committed {
    instance: InstanceId,
    result: Result<(), StoreError>,
    then: Then,
}

/// Metric handles resolved once per shard: a labelled lookup costs a hash and a lock per call,
/// which showed in profiles of the send path.
struct Counters {
    accepted: IntCounter,
    sent: IntCounter,
    /// Left the queue to wait inside the connector (a deferred message; its outcome counts later).
    deferred: IntCounter,
    failed: IntCounter,
    deleted: IntCounter,
    withdrawn: IntCounter,
    queue_full: IntCounter,
    /// Sends refused while disconnected (`disable_enqueue_when_disconnected`).
    not_connected: IntCounter,
    store_busy: IntCounter,
    store_failing: IntCounter,
    daily_quota: IntCounter,
    calls_declined: IntCounter,
    /// Sends with an Idempotency-Key, by what became of the key.
    keys_fresh: IntCounter,
    keys_replayed: IntCounter,
    keys_conflicting: IntCounter,
    keys_waiting: IntCounter,
    keys_busy: IntCounter,
    network_events: HashMap<&'static str, IntCounter>,
    link_events: HashMap<&'static str, IntCounter>,
    metrics: Arc<Metrics>,
}

impl Counters {
    fn new(metrics: Arc<Metrics>) -> Self {
        let outcome = |o: &str| metrics.messages.with_label_values(&[o]);
        Counters {
            accepted: outcome("accepted"),
            sent: outcome("sent"),
            deferred: outcome("deferred"),
            failed: outcome("failed"),
            deleted: outcome("deleted"),
            withdrawn: outcome("withdrawn"),
            queue_full: metrics.refusals.with_label_values(&["queue_full"]),
            not_connected: metrics.refusals.with_label_values(&["not_connected"]),
            store_busy: metrics.refusals.with_label_values(&["store_busy"]),
            store_failing: metrics.refusals.with_label_values(&["store_failing"]),
            daily_quota: metrics.refusals.with_label_values(&["daily_quota"]),
            calls_declined: metrics.calls_declined.clone(),
            keys_fresh: metrics.idempotency_keys.with_label_values(&["fresh"]),
            keys_replayed: metrics.idempotency_keys.with_label_values(&["replayed"]),
            keys_conflicting: metrics.idempotency_keys.with_label_values(&["conflict"]),
            keys_waiting: metrics.idempotency_keys.with_label_values(&["waited"]),
            keys_busy: metrics.refusals.with_label_values(&["idempotency_busy"]),
            network_events: HashMap::new(),
            link_events: HashMap::new(),
            metrics,
        }
    }

    fn network_event(&mut self, event: &NetworkEvent) {
        let kind = event.kind();
        let metrics = &self.metrics;
        self.network_events.entry(kind).or_insert_with(|| metrics.network_events.with_label_values(&[kind])).inc();
    }

    /// Counts what became of a send's Idempotency-Key.
    fn idempotency(&self, admission: &Admission) {
        match admission {
            Admission::Fresh => self.keys_fresh.inc(),
            Admission::Replay(_) => self.keys_replayed.inc(),
            Admission::Conflict => self.keys_conflicting.inc(),
            Admission::Wait => self.keys_waiting.inc(),
            Admission::Busy => self.keys_busy.inc(),
        }
    }

    /// Counts a session connection change (`event` from a fixed set of words).
    fn link(&mut self, event: &'static str) {
        let metrics = &self.metrics;
        self.link_events.entry(event).or_insert_with(|| metrics.session_link_events.with_label_values(&[event])).inc();
    }
}

struct Shard {
    index: usize,
    /// How many shards there are (an instance's owner is `InstanceId::shard(count)`).
    count: usize,
    /// The configuration version `autoconnect` last looked at.
    config_seen: u64,
    label: String,
    deps: ShardDeps,
    counters: Counters,
    sessions: HashMap<InstanceId, Session>,
    connector: Box<dyn Connector + Send>,
    timers: BTreeSet<(Instant, InstanceId)>,
    /// Commit completions; unbounded because each entry stands for a batch that the commit
    /// budget already admitted.
    committed_tx: mpsc::UnboundedSender<Committed>,
    budget: Arc<CommitBudget>,
    /// Batches submitted to the committer so far; each gets the next number.
    submitted: u64,
    /// Acknowledgements of events that wrote nothing, each waiting for the batches submitted
    /// before it (by number) to complete; released at every loop turn.
    deferred_acks: std::collections::VecDeque<(u64, InstanceId, AckId)>,
    /// Idempotency-Keys whose batch is not durable yet, and the duplicates waiting on them.
    idempotency: InFlight<crate::queue::OutboundMessage, Reply>,
    /// Messages each instance queued and received today.
    daily: daily_quota::DailyCounts,
    /// Campaign runs' counters and recipient rows (issue 14).
    campaigns: crate::campaigns::Ledger,
}

/// Starts `connectors.len()` shard threads. `events[i]` and `recovered[i]` belong to shard i.
pub fn start(
    deps: ShardDeps,
    connectors: Vec<Box<dyn Connector + Send>>,
    events: Vec<mpsc::Receiver<NetworkEvent>>,
    recovered: Vec<recovery::ShardRecovery>,
) -> std::io::Result<(Shards, Vec<JoinHandle<()>>)> {
    let cores = if deps.pin_to_cores { core_affinity::get_core_ids().unwrap_or_default() } else { Vec::new() };
    let mut senders = Vec::new();
    let mut threads = Vec::new();
    let count = connectors.len();
    // Each thread hands its runtime back before it starts its loop.
    let (runtime_tx, runtime_rx) = std::sync::mpsc::channel();
    for (index, ((connector, events), recovered)) in connectors.into_iter().zip(events).zip(recovered).enumerate() {
        let (tx, commands) = mpsc::channel(COMMAND_CAPACITY);
        senders.push(tx);
        let deps = deps.clone();
        let runtime_tx = runtime_tx.clone();
        let core = (!cores.is_empty()).then(|| cores[index % cores.len()]);
        let thread = std::thread::Builder::new().name(format!("shard-{index}")).spawn(move || {
            if let Some(core) = core {
                core_affinity::set_for_current(core);
            }
            let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(rt) => rt,
                Err(e) => return tracing::error!(error = %e, shard = index, "cannot build shard runtime"),
            };
            let _ = runtime_tx.send((index, rt.handle().clone()));
            drop(runtime_tx); // `start` waits until every thread has sent or given up
            let (committed_tx, committed_rx) = mpsc::unbounded_channel();
            let shard = Shard {
                index,
                count,
                config_seen: 0,
                label: index.to_string(),
                counters: Counters::new(deps.metrics.clone()),
                sessions: HashMap::new(),
                connector,
                timers: BTreeSet::new(),
                committed_tx,
                budget: Arc::new(CommitBudget::new(&deps.store_limits)),
                submitted: 0,
                deferred_acks: std::collections::VecDeque::new(),
                idempotency: InFlight::default(),
                daily: daily_quota::DailyCounts::default(),
                campaigns: crate::campaigns::Ledger::new(
                    deps.opt_out_keywords.clone(),
                    deps.config.clone(),
                    &deps.metrics,
                ),
                deps,
            };
            let local = tokio::task::LocalSet::new();
            local.block_on(&rt, shard.run(commands, events, committed_rx, recovered));
        })?;
        threads.push(thread);
    }
    drop(runtime_tx);
    let mut runtimes: Vec<_> = runtime_rx.iter().collect();
    if runtimes.len() != count {
        return Err(std::io::Error::other("a shard thread could not build its runtime"));
    }
    runtimes.sort_by_key(|(index, _)| *index);
    Ok((Shards::new(senders, runtimes.into_iter().map(|(_, rt)| rt).collect()), threads))
}

impl Shard {
    async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut events: mpsc::Receiver<NetworkEvent>,
        mut committed: mpsc::UnboundedReceiver<Committed>,
        recovered: recovery::ShardRecovery,
    ) {
        self.recover(recovered);
        self.autoconnect();
        let mut report = tokio::time::interval(Duration::from_secs(1));
        let turns = self.deps.metrics.shard_loop_turns.with_label_values(&[&self.label]);
        loop {
            turns.inc();
            // Due timers (pacing, reconnects) run first on every turn, so no flood of commands
            // or events can starve them; the branches below are polled in random order, so no
            // source starves another either.
            self.fire_timers();
            self.release_acks();
            let next_timer = self.timers.first().map(|(t, _)| *t);
            tokio::select! {
                Some(done) = committed.recv() => self.on_committed(done),
                // Past the commit budget, network events wait in their bounded channel (and
                // the connector behind it) until the committer catches up.
                Some(event) = events.recv(), if !self.budget.exhausted() => self.on_event(event),
                // Wakes the loop when the committer gives budget back, so held events resume.
                _ = self.budget.freed(), if self.budget.exhausted() => {}
                command = commands.recv() => match command {
                    Some(Command::Stop) | None => break,
                    Some(c) => self.on_command(c),
                },
                _ = sleep_until(next_timer), if next_timer.is_some() => self.fire_timers(),
                _ = report.tick() => {
                    self.report(&commands);
                    self.autoconnect();
                }
            }
        }
        tracing::debug!(shard = self.index, "shard stopped");
    }

    fn recover(&mut self, recovered: recovery::ShardRecovery) {
        let recovered = self.finish_teardowns(recovered);
        for (id, r) in recovered.queues {
            self.sessions.insert(id, Session::new(id, InstanceQueue::recovered(id, r)));
        }
        for (id, record) in recovered.sessions {
            self.session(id).record = Some(record);
            self.connect(id);
        }
    }

    fn session(&mut self, id: InstanceId) -> &mut Session {
        self.sessions.entry(id).or_insert_with(|| Session::new(id, InstanceQueue::new(id)))
    }

    /// Hands `batch` to the committer; once durable, the events go to the dispatcher and
    /// `then` runs on this shard.
    fn commit(&mut self, instance: InstanceId, batch: Batch, events: Events, then: Then) {
        if batch.is_empty() {
            // An acknowledgement must not overtake this shard's earlier writes (a redelivered
            // event that changes nothing would otherwise be acked before the original's batch
            // is durable): it waits until every batch submitted before it has completed.
            if let Then::Ack(ack) = then {
                if self.budget.completed() < self.submitted {
                    return self.deferred_acks.push_back((self.submitted, instance, ack));
                }
            }
            return self.on_committed(Committed { instance, result: Ok(()), then });
        }
        let bytes = batch.bytes();
        self.budget.take(bytes);
        self.submitted += 1;
        let done = ShardDone {
            number: self.submitted,
            instance,
            bytes,
            budget: self.budget.clone(),
            notifier: self.deps.notifier.clone(),
            keys: events.into_keys(),
            tx: (!matches!(then, Then::Nothing)).then(|| self.committed_tx.clone()),
            then,
        };
        self.deps.store.submit(batch, Completion::custom(done));
    }

    /// Acknowledges the deferred events whose preceding batches have all completed.
    fn release_acks(&mut self) {
        let completed = self.budget.completed();
        while let Some(&(after, instance, ack)) = self.deferred_acks.front() {
            if after > completed {
                break;
            }
            self.deferred_acks.pop_front();
            self.connector.ack(instance, ack);
        }
    }

    fn on_committed(&mut self, done: Committed) {
        let Committed { instance, result, then } = done;
        match then {
            Then::Nothing => {}
            Then::Enqueued { seq, reply, key, counted } => {
                if result.is_err() {
                    self.give_back_daily(instance, counted);
                }
                self.enqueued(instance, seq, result, reply, key)
            }
            Then::KeyReleased(key) => self.settle_key(Some(key), false),
            Then::Ack(ack) => match result.is_ok() {
                true => self.connector.ack(instance, ack),
                // Delivered again by the network: its count must not have moved.
                false => self.daily.reread_received(&instance),
            },
            Then::Reply(reply) => {
                let _ = reply.send(result.map_err(CoreError::from));
            }
            Then::Fed { seqs, run, reply, counted } => {
                if result.is_err() {
                    self.give_back_daily(instance, counted);
                }
                self.fed(instance, seqs, run, result, reply)
            }
        }
    }

    /// Sends counted for the day whose batch failed: they do not count.
    fn give_back_daily(&mut self, instance: InstanceId, counted: Option<daily_quota::Counted>) {
        let Some(c) = counted else { return };
        self.daily.give_back(instance, c);
        if let Some(account) = c.account {
            self.deps.accounts.give_back(account, c.day, c.sends);
        }
    }

    /// The batch holding message `seq` is durable (or failed). The client hears first; only a
    /// message whose client is still there to hear it becomes sendable. One whose client left
    /// after the write (request timeout, disconnect) is taken back, so an error answer never
    /// hides a message that is sent later; what remains is a crash before that delete commits.
    ///
    /// A send's Idempotency-Key (`key`) settles with it: kept when the client heard 200,
    /// deleted with a withdrawn message (its duplicates wait until that delete is durable).
    fn enqueued(
        &mut self,
        instance: InstanceId,
        seq: u64,
        result: Result<(), StoreError>,
        reply: Reply,
        key: Option<Vec<u8>>,
    ) {
        let store = self.deps.store.clone();
        let Some(s) = self.sessions.get_mut(&instance) else {
            let _ = reply.send(Err(CoreError::UnknownInstance)); // torn down meanwhile
            return self.settle_key(key, false);
        };
        if let Err(e) = result {
            s.queue.abandon(seq);
            let _ = reply.send(Err(e.into()));
            return self.settle_key(key, false);
        }
        if reply.send(Ok(Accepted::Queued)).is_ok() {
            s.queue.mark_committed(seq);
            self.settle_key(key, true);
            return self.pump(instance);
        }
        let mut batch = Batch::new();
        s.queue.withdraw(seq, &mut batch, &store);
        self.counters.withdrawn.inc();
        let then = match key {
            Some(key) => {
                batch.delete(crate::store::Cf::Idempotency, key.clone());
                Then::KeyReleased(key)
            }
            None => Then::Nothing,
        };
        self.commit(instance, batch, Events::new(), then);
    }

    /// The pacing of `id`'s account, or `None` while the account holds its messages: disabled
    /// by the operator or stopped for non-payment, its instances stop sending — what they had
    /// queued included — until it is enabled or paid (issue 10 §1, §3). Held messages stay in
    /// the queue; [`Shard::release_held`] lets them go when the configuration changes.
    fn pacing_for(&self, id: &InstanceId) -> Option<Pacing> {
        let config = self.deps.config.load();
        let tenant = config.instances.get(id).and_then(|i| config.tenants.get(&i.tenant));
        if tenant.is_some_and(|t| t.disabled || t.payment_overdue) {
            return None;
        }
        Some(tenant.and_then(|t| t.pacing).unwrap_or(self.deps.pacing))
    }

    /// Lets the session's next message leave if it may, or sets a timer for when it may.
    fn pump(&mut self, id: InstanceId) {
        let Some(pacing) = self.pacing_for(&id) else { return }; // held: see `pacing_for`
        let now = Instant::now();
        let Some(session) = self.sessions.get_mut(&id) else { return };
        match session.next_step(now, &self.deps.store, pacing) {
            Ok(Step::Idle) => {}
            Ok(Step::WaitUntil(at)) => self.schedule(id, at),
            Ok(Step::Type { to, until, presence }) => {
                self.connector.send_presence(id, &to, presence);
                self.schedule(id, until);
            }
            Ok(Step::Send(queued)) => match self.connector.send(&queued.message, session.generation) {
                Ok(()) => session.in_flight = Some(queued),
                Err(e) => {
                    tracing::warn!(instance = %id, error = %e, "send refused by connector; retrying in 1 s");
                    session.queue.put_back(queued);
                    self.schedule(id, now + Duration::from_secs(1));
                }
            },
            Err(e) => {
                tracing::error!(instance = %id, error = %e, "cannot read queue; retrying in 1 s");
                self.schedule(id, now + Duration::from_secs(1));
            }
        }
    }

    /// The configuration changed (an account enabled or paid again, its pacing changed, among
    /// others): every session with messages waiting and nothing on the wire or scheduled gets
    /// its turn, and one waiting out a pause its account's new pacing would not draw draws
    /// again and is looked at now (an operator who fixes a mistaken hour-long pacing does not
    /// wait out the hour). One walk over the shard's sessions per new configuration version.
    pub(super) fn release_held(&mut self) {
        let waiting: Vec<(InstanceId, bool)> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.queue.is_empty() && s.in_flight.is_none())
            .map(|(id, s)| (*id, s.wake_at.is_none()))
            .collect();
        for (id, idle) in waiting {
            let pacing = self.pacing_for(&id);
            let repaced = match (pacing, self.sessions.get_mut(&id)) {
                (Some(p), Some(s)) => s.repace(p),
                _ => false,
            };
            if idle || repaced {
                self.pump(id);
            }
        }
    }

    fn schedule(&mut self, id: InstanceId, at: Instant) {
        let Some(session) = self.sessions.get_mut(&id) else { return };
        if session.wake_at.is_some_and(|w| w <= at) {
            return; // an earlier wake-up re-evaluates anyway
        }
        if let Some(old) = session.wake_at.replace(at) {
            self.timers.remove(&(old, id));
        }
        self.timers.insert((at, id));
    }

    /// Runs the due timers, at most [`TIMERS_PER_TURN`] of them, so a burst of due timers
    /// cannot hold the loop either.
    fn fire_timers(&mut self) {
        let now = Instant::now();
        for _ in 0..TIMERS_PER_TURN {
            let Some(&(at, id)) = self.timers.first() else { break };
            if at > now {
                break;
            }
            self.timers.pop_first();
            if let Some(s) = self.sessions.get_mut(&id) {
                s.wake_at = None;
            }
            self.tick(id);
        }
    }

    /// Publishes this shard's gauges.
    fn report(&self, commands: &mpsc::Receiver<Command>) {
        let m = &self.deps.metrics;
        let mut by_state: HashMap<&'static str, i64> = HashMap::new();
        let (mut depth, mut oldest) = (0u64, None::<u64>);
        for s in self.sessions.values() {
            *by_state.entry(s.link.label()).or_default() += 1;
            depth += s.queue.len(); // the message on the wire is still in the queue: counted once
            oldest = match (oldest, s.queue.oldest_created_ms()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
        }
        for state in ["disconnected", "qr_ready", "connecting", "connected"] {
            m.sessions.with_label_values(&[&self.label, state]).set(*by_state.get(state).unwrap_or(&0));
        }
        m.queue_depth.with_label_values(&[&self.label]).set(depth as i64);
        let age = oldest.map(|t| chatedge_config::time::unix_ms().saturating_sub(t) / 1000).unwrap_or(0);
        m.queue_oldest_age_seconds.with_label_values(&[&self.label]).set(age as i64);
        m.shard_commands_pending.with_label_values(&[&self.label]).set(commands.len() as i64);
        m.shard_commit_pending_bytes.with_label_values(&[&self.label]).set(self.budget.bytes() as i64);
    }
}

async fn sleep_until(at: Option<Instant>) {
    if let Some(at) = at {
        tokio::time::sleep_until(at.into()).await;
    }
}
