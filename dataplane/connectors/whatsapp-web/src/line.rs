//! A line: the task that owns one instance's client for one connection generation. It takes the
//! lease, opens the engine on the instance's part of the store, connects, watches the connect
//! (no event comes when a connect never succeeds), maps the engine's events, carries out the
//! connector's commands, renews the lease, and on the way out shuts the client down before it
//! gives the lease back. It never reconnects by itself: a lost connection ends the line and the
//! data plane calls `resume` after its back-off (a cooling-down instance is answered at once).

use std::sync::Arc;
use std::time::Duration;

use chatedge_config::{InstanceId, MessageId, Phone};
use chatedge_connector::{KvBatch, KvStore, Scoped};
use tokio::sync::{mpsc, oneshot};

use crate::engine::{
    Answer, BoxFuture, ChatPresence, Engine, EngineError, EventTx, FileData, InboundMessage, InboundSink, OpenArgs,
    Outgoing, Query, WithFiles,
};
use crate::ids::WireId;
use crate::lease::{self, Owner};
use crate::mapping::{self, LineId, Next};
use crate::{cooldown, LineState, Shared, Start, WaEvent, MAX_PENDING_ACKS};

/// Commands a line may have waiting; beyond, a send is refused (the session retries it).
const COMMAND_CAPACITY: usize = 256;
/// Account queries a line may have waiting, and asked at once; beyond, a query is refused.
const ASK_CAPACITY: usize = 64;
const ASKS_AT_ONCE: usize = 8;
/// Engine events a line may have waiting.
const EVENT_CAPACITY: usize = 1024;
/// How often a line waiting for the lease looks again.
const LEASE_POLL: Duration = Duration::from_millis(500);
/// Where the engine's own tables live in the instance's part of the store.
pub const ENGINE_PREFIX: &[u8] = b"wa/";

pub enum Command {
    Send {
        id: WireId,
        to: Phone,
        body: Outgoing,
    },
    /// A message with files: they are read first (events keep being handled meanwhile; later
    /// commands wait, so messages keep their order), then it is sent like `Send`.
    SendWithFiles {
        id: WireId,
        to: Phone,
        message: WithFiles,
    },
    /// An act (read receipts, a pin, a delete for this account only); `for_message` is the
    /// act's own queued message, `Accepted` once the act is on the wire (the server acknowledges
    /// such acts with nothing that names them).
    Act {
        for_message: MessageId,
        act: crate::engine::Act,
    },
    Presence {
        to: Phone,
        presence: ChatPresence,
    },
    Close {
        logout: bool,
    },
}

/// An account query and where its answer goes. Queries have a channel of their own: they
/// neither wait behind messages (a media file being read) nor hold them up.
pub struct Asked {
    pub query: Query,
    pub reply: oneshot::Sender<Result<Answer, EngineError>>,
}

/// The connector's hold on a running line.
pub struct Handle {
    pub generation: u64,
    commands: mpsc::Sender<Command>,
    asks: mpsc::Sender<Asked>,
    #[cfg(test)]
    pub(crate) task: tokio::task::AbortHandle,
}

impl Handle {
    /// Hands `command` to the line; false when the line is gone or too far behind.
    pub fn command(&self, command: Command) -> bool {
        self.commands.try_send(command).is_ok()
    }

    /// Asks account queries on this line.
    pub fn asker(&self) -> crate::Asker {
        crate::Asker(self.asks.clone())
    }

    /// Ends the line; with `logout`, the session is forgotten whether the line still runs
    /// (it unlinks the device first) or has already ended.
    pub fn close(self, shared: &Arc<Shared>, instance: InstanceId, logout: bool) {
        use mpsc::error::TrySendError;
        match self.commands.try_send(Command::Close { logout }) {
            Ok(()) => {}
            Err(TrySendError::Closed(_)) if logout => forget(shared.clone(), instance),
            Err(TrySendError::Full(_)) if logout => {
                let shared = shared.clone();
                tokio::spawn(async move {
                    if self.commands.send(Command::Close { logout }).await.is_err() {
                        forget(shared, instance);
                    }
                });
            }
            // Without a logout, dropping the sender is enough: the line ends once it has read
            // what is queued.
            Err(_) => {}
        }
    }
}

/// The instance's part of the shared store.
pub fn instance_store(shared: &Shared, instance: &InstanceId) -> Arc<dyn KvStore> {
    let mut prefix = instance.as_bytes().to_vec();
    prefix.push(b'/');
    Arc::new(Scoped::new(shared.store.clone(), prefix))
}

pub fn spawn(shared: Arc<Shared>, instance: InstanceId, generation: u64, start: Start) -> Handle {
    let (tx, rx) = mpsc::channel(COMMAND_CAPACITY);
    let (asks, mut asked) = mpsc::channel(ASK_CAPACITY);
    let _task = tokio::spawn(async move {
        let mut commands = rx;
        let line = LineId { instance, generation };
        run(shared.clone(), line, start, &mut commands, &mut asked).await;
        closed_after_the_end(shared, line, commands);
    });
    Handle {
        generation,
        commands: tx,
        asks,
        #[cfg(test)]
        task: _task.abort_handle(),
    }
}

/// Forgets an instance with no line (logged out while offline): its keys and cool-down go.
pub fn forget(shared: Arc<Shared>, instance: InstanceId) {
    tokio::spawn(async move {
        let kv = instance_store(&shared, &instance);
        let mut batch = KvBatch::new();
        batch.delete_prefix(ENGINE_PREFIX.to_vec());
        batch.delete(b"cooldown".to_vec());
        if let Err(e) = kv.write(batch).await {
            tracing::warn!(%instance, error = %e, "whatsapp-web: forgetting the session failed");
        }
        shared.clear_state(&instance);
    });
}

/// Commands that reached the line after it ended: a logout among them still forgets the
/// session (the connector cannot tell a line that just ended from a live one).
fn closed_after_the_end(shared: Arc<Shared>, line: LineId, mut commands: mpsc::Receiver<Command>) {
    commands.close();
    let mut logout = false;
    while let Ok(command) = commands.try_recv() {
        logout |= matches!(command, Command::Close { logout: true });
    }
    if logout {
        forget(shared, line.instance);
    }
}

async fn run(
    shared: Arc<Shared>,
    line: LineId,
    start: Start,
    commands: &mut mpsc::Receiver<Command>,
    asks: &mut mpsc::Receiver<Asked>,
) {
    let kv = instance_store(&shared, &line.instance);
    let owner = Owner::random();
    let disconnected = |reason: String, logged_out: bool| WaEvent::Disconnected {
        instance: line.instance,
        generation: line.generation,
        reason,
        logged_out,
    };

    // A cooling-down instance is not connected again before its time; pairing anew is the
    // operator's decision and clears it.
    match (&start, cooldown::load(kv.as_ref())) {
        (Start::Resume, Ok(Some(c))) if c.until_ms > (shared.clock)() => {
            shared.set_state(line.instance, LineState::CoolingDown { until_ms: c.until_ms, reason: c.reason.clone() });
            shared.sink.deliver(disconnected(c.reason, false)).await;
            return;
        }
        (Start::PairQr | Start::PairCode(_), Ok(Some(_))) => {
            if let Err(e) = cooldown::clear(kv.as_ref()).await {
                return fail(&shared, line, format!("store: {e}")).await;
            }
        }
        _ => {}
    }

    shared.set_state(line.instance, LineState::Connecting);
    // One live client per instance: wait for the previous line to let go (or its lease to run
    // out after a crash), but not forever.
    let ttl = shared.settings.lease_ttl.as_millis() as u64;
    let waited = tokio::time::Instant::now();
    loop {
        tokio::select! {
            got = lease::acquire(kv.as_ref(), owner, (shared.clock)(), ttl) => match got {
                Ok(_) => break,
                Err(lease::LeaseError::Held { .. }) if waited.elapsed() < shared.settings.lease_ttl * 2 => {}
                Err(e) => return fail(&shared, line, format!("cannot take the session: {e}")).await,
            },
            command = commands.recv() => match command {
                // Closed while waiting: nothing was opened.
                None | Some(Command::Close { .. }) => return,
                // Nothing is sent before the line is online (the session waits for Connected).
                Some(_) => continue,
            },
        }
        tokio::time::sleep(LEASE_POLL).await;
    }

    let outcome = connected_life(&shared, line, &start, &kv, owner, commands, asks).await;
    if let Err(e) = lease::release(kv.as_ref(), owner).await {
        tracing::warn!(instance = %line.instance, error = %e, "whatsapp-web: releasing the lease failed");
    }
    if let Some(event) = outcome {
        shared.sink.deliver(event).await;
    }
}

/// A failed start: reported as a lost connection the data plane retries.
async fn fail(shared: &Shared, line: LineId, reason: String) {
    shared.set_state(line.instance, LineState::Unreachable { reason: reason.clone() });
    let event =
        WaEvent::Disconnected { instance: line.instance, generation: line.generation, reason, logged_out: false };
    shared.sink.deliver(event).await;
}

/// The life of the client, from opening to shutdown. Returns the event to deliver once the
/// lease is released (the end of the line), if any.
async fn connected_life(
    shared: &Arc<Shared>,
    line: LineId,
    start: &Start,
    kv: &Arc<dyn KvStore>,
    owner: Owner,
    commands: &mut mpsc::Receiver<Command>,
    asks: &mut mpsc::Receiver<Asked>,
) -> Option<WaEvent> {
    let lost = |reason: String| {
        shared.set_state(line.instance, LineState::Unreachable { reason: reason.clone() });
        Some(WaEvent::Disconnected { instance: line.instance, generation: line.generation, reason, logged_out: false })
    };
    let engine_kv: Arc<dyn KvStore> = Arc::new(Scoped::new(kv.clone(), ENGINE_PREFIX.to_vec()));
    if matches!(start, Start::PairQr | Start::PairCode(_)) {
        // A new pairing is a new device: nothing of an earlier session may be reused.
        let mut wipe = KvBatch::new();
        wipe.delete_prefix(ENGINE_PREFIX.to_vec());
        if let Err(e) = kv.write(wipe).await {
            return lost(format!("store: {e}"));
        }
    }
    let (events, mut event_rx) = EventTx::channel(EVENT_CAPACITY);
    let inbound = Arc::new(Inbound { shared: shared.clone(), line });
    let args = OpenArgs {
        instance: line.instance,
        store: engine_kv,
        device_name: shared.settings.device_name.clone(),
        events,
        inbound,
        media: shared.settings.media,
    };
    let engine = match shared.factory.open(args).await {
        Ok(engine) => engine,
        Err(e) => return lost(e.to_string()),
    };
    let result = drive(shared, line, start, kv, owner, &engine, commands, asks, &mut event_rx).await;
    engine.shutdown().await;
    result
}

#[allow(clippy::too_many_arguments)]
async fn drive(
    shared: &Arc<Shared>,
    line: LineId,
    start: &Start,
    kv: &Arc<dyn KvStore>,
    owner: Owner,
    engine: &Arc<dyn Engine>,
    commands: &mut mpsc::Receiver<Command>,
    asks: &mut mpsc::Receiver<Asked>,
    events: &mut mpsc::Receiver<crate::engine::EngineEvent>,
) -> Option<WaEvent> {
    let lost = |reason: String| {
        shared.set_state(line.instance, LineState::Unreachable { reason: reason.clone() });
        Some(WaEvent::Disconnected { instance: line.instance, generation: line.generation, reason, logged_out: false })
    };
    if let Err(e) = engine.connect().await {
        return lost(e.to_string());
    }
    if let Start::PairCode(phone) = start {
        match engine.pair_code(phone).await {
            Ok(code) => {
                shared.set_state(line.instance, LineState::Pairing);
                let event = WaEvent::PairingCode {
                    instance: line.instance,
                    generation: line.generation,
                    code,
                    valid_for: Duration::from_secs(180),
                };
                shared.sink.deliver(event).await;
            }
            Err(e) => return lost(e.to_string()),
        }
    }
    let timeout = shared.settings.connect_timeout;
    let watchdog = tokio::time::sleep(timeout);
    tokio::pin!(watchdog);
    let mut answered = false;
    let mut after_pair = false;
    let mut renew = tokio::time::interval(shared.settings.lease_ttl / 3);
    renew.tick().await;
    // The file of the media message being read (at most one; dropped with the line, which
    // stops the read).
    let mut reading: tokio::task::JoinSet<ReadFiles> = tokio::task::JoinSet::new();
    // Account queries being asked (dropped with the line: their callers hear it has gone).
    let mut asking: tokio::task::JoinSet<()> = tokio::task::JoinSet::new();
    loop {
        tokio::select! {
            () = &mut watchdog, if !answered => {
                return lost(format!("cannot reach WhatsApp: no answer within {} s", timeout.as_secs()));
            }
            _ = renew.tick() => {
                let ttl = shared.settings.lease_ttl.as_millis() as u64;
                if let Err(e) = lease::acquire(kv.as_ref(), owner, (shared.clock)(), ttl).await {
                    return lost(format!("lost the session lease: {e}"));
                }
            }
            event = events.recv() => {
                // The engine dropped its end: it stopped.
                let Some(mut event) = event else { return lost("the WhatsApp client stopped".to_owned()) };
                if let crate::engine::EngineEvent::Connected { phone: phone @ None } = &mut event {
                    *phone = engine.own_phone();
                }
                after_pair |= matches!(event, crate::engine::EngineEvent::Paired { .. });
                let mapped = mapping::map(line, event, after_pair, &shared.settings, (shared.clock)());
                if let Some(state) = mapped.state {
                    answered |= matches!(state, LineState::Pairing | LineState::Online);
                    if state == LineState::Online {
                        after_pair = false;
                    }
                    shared.set_state(line.instance, state);
                }
                let mut events = mapped.events.into_iter();
                match mapped.next {
                    Next::Continue => {}
                    Next::GoUnavailable => {
                        if let Err(e) = engine.set_unavailable().await {
                            tracing::debug!(instance = %line.instance, error = %e, "whatsapp-web: presence unavailable failed");
                        }
                    }
                    Next::Stop { cooldown_until_ms, wipe } => {
                        if let Some(until_ms) = cooldown_until_ms {
                            let reason = match shared.state(&line.instance) {
                                LineState::CoolingDown { reason, .. } => reason,
                                _ => String::new(),
                            };
                            if let Err(e) = cooldown::save(kv.as_ref(), &cooldown::Cooldown { until_ms, reason }).await {
                                tracing::warn!(instance = %line.instance, error = %e, "whatsapp-web: saving the cool-down failed");
                            }
                        }
                        if wipe {
                            let mut batch = KvBatch::new();
                            batch.delete_prefix(ENGINE_PREFIX.to_vec());
                            if let Err(e) = kv.write(batch).await {
                                tracing::warn!(instance = %line.instance, error = %e, "whatsapp-web: wiping the session failed");
                            }
                        }
                        // The last event goes out once the lease is released.
                        let last = events.next_back();
                        for event in events {
                            shared.sink.deliver(event).await;
                        }
                        return last;
                    }
                }
                for event in events {
                    shared.sink.deliver(event).await;
                }
            }
            Some(Asked { query, reply }) = asks.recv(), if asking.len() < ASKS_AT_ONCE => {
                let engine = engine.clone();
                asking.spawn(async move {
                    let _ = reply.send(engine.ask(&query).await);
                });
            }
            _ = asking.join_next(), if !asking.is_empty() => {}
            read = reading.join_next(), if !reading.is_empty() => {
                let Some(Ok(ReadFiles { id, to, message, files })) = read else { continue };
                let Some(message_id) = WireId::ours(id.as_str()) else { continue };
                let sent = match files {
                    Ok(files) => engine.send(to.as_str(), &id, &message.with(files)).await,
                    Err(reason) => Err(EngineError::Refused(format!("the media file cannot be sent: {reason}"))),
                };
                if let Err(e) = put_on_the_wire(shared, line, message_id, sent).await {
                    return lost(e.to_string());
                }
            }
            command = commands.recv(), if reading.is_empty() => match command {
                Some(Command::Send { id, to, body }) => {
                    let Some(message_id) = WireId::ours(id.as_str()) else { continue };
                    if let Err(e) = put_on_the_wire(shared, line, message_id, engine.send(to.as_str(), &id, &body).await).await {
                        return lost(e.to_string());
                    }
                }
                Some(Command::SendWithFiles { id, to, message }) => {
                    reading.spawn(async move {
                        let files = message.read().await;
                        ReadFiles { id, to, message, files }
                    });
                }
                Some(Command::Act { for_message: message_id, act }) => {
                    let done = engine.act(&act).await;
                    if done.is_ok() {
                        let at_ms = (shared.clock)();
                        let event = WaEvent::Accepted { instance: line.instance, generation: line.generation, message_id, at_ms };
                        shared.sink.deliver(event).await;
                    }
                    if let Err(e) = put_on_the_wire(shared, line, message_id, done).await {
                        return lost(e.to_string());
                    }
                }
                Some(Command::Presence { to, presence }) => {
                    if let Err(e) = engine.chat_presence(to.as_str(), presence).await {
                        tracing::debug!(instance = %line.instance, error = %e, "whatsapp-web: chat presence failed");
                    }
                }
                Some(Command::Close { logout: true }) => {
                    if let Err(e) = engine.logout().await {
                        tracing::warn!(instance = %line.instance, error = %e, "whatsapp-web: logout failed");
                    }
                    let mut batch = KvBatch::new();
                    batch.delete_prefix(ENGINE_PREFIX.to_vec());
                    batch.delete(b"cooldown".to_vec());
                    if let Err(e) = kv.write(batch).await {
                        tracing::warn!(instance = %line.instance, error = %e, "whatsapp-web: wiping the session failed");
                    }
                    shared.set_state(line.instance, LineState::Offline);
                    return None;
                }
                Some(Command::Close { logout: false }) | None => {
                    shared.set_state(line.instance, LineState::Offline);
                    return None;
                }
            }
        }
    }
}

/// A message whose files were read (or one could not be).
struct ReadFiles {
    id: WireId,
    to: Phone,
    message: WithFiles,
    files: Result<Vec<FileData>, String>,
}

/// What a send's answer means: on the wire (the server's ack follows as an event), refused
/// (`Rejected` now), or not on the wire because the connection is gone (`Err`: the line ends
/// and the session sends the message again).
async fn put_on_the_wire(
    shared: &Shared,
    line: LineId,
    message_id: MessageId,
    sent: Result<(), EngineError>,
) -> Result<(), EngineError> {
    match sent {
        Ok(()) => Ok(()),
        Err(EngineError::Refused(reason)) => {
            let event = WaEvent::Rejected { instance: line.instance, generation: line.generation, message_id, reason };
            shared.sink.deliver(event).await;
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The engine's way to hand received messages to the data plane: each becomes an `Incoming`
/// event, and the commit returns only once the data plane acknowledged them all (so the engine
/// acks the server only for what is durable here).
struct Inbound {
    shared: Arc<Shared>,
    line: LineId,
}

impl InboundSink for Inbound {
    fn commit(&self, batch: Vec<InboundMessage>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(async move {
            let mut waits = Vec::with_capacity(batch.len());
            for message in batch {
                if chatedge_config::Phone::parse(&message.chat).is_err() {
                    // No Z-API chat to put it in (a broadcast, a channel): acknowledged unseen.
                    tracing::warn!(instance = %self.line.instance, chat = %message.chat, "whatsapp-web: message in an unsupported chat skipped");
                    continue;
                }
                let (tx, rx) = oneshot::channel();
                let ack = {
                    let mut acks = self.shared.lock_acks();
                    if acks.len() >= MAX_PENDING_ACKS {
                        return Err("too many received messages wait for their commit".to_owned());
                    }
                    let ack = self.shared.next_ack();
                    acks.insert(ack, tx);
                    ack
                };
                waits.push((ack, rx));
                self.shared
                    .sink
                    .deliver(WaEvent::Incoming { instance: self.line.instance, message: Box::new(message), ack })
                    .await;
            }
            let deadline = tokio::time::Instant::now() + self.shared.settings.inbound_commit_timeout;
            let mut result = Ok(());
            for (ack, rx) in waits {
                if tokio::time::timeout_at(deadline, rx).await.map_or(true, |r| r.is_err()) {
                    self.shared.lock_acks().remove(&ack);
                    result = Err("the data plane did not commit the received messages in time".to_owned());
                }
            }
            result
        })
    }
}
