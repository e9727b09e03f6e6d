//! chatedge-whatsapp-web: the WhatsApp Web (multi-device) connector (issue 13). An instance is a
//! linked device of the customer's phone, paired by QR code or phone code; its keys and sessions
//! live in chatedge's store through [`chatedge_connector::KvStore`].
//!
//! It owns the life of each instance's client ([`line`](mod@line)): the lease that keeps one live client
//! per instance ([`lease`]), the connect watchdog (an engine reports nothing when a connect never
//! succeeds), the hours-long cool-down after a lock or temporary ban ([`cooldown`]), our message
//! ids on the wire ([`ids`]) and the translation of engine events into [`WaEvent`]s
//! ([`mapping`]). It must not know Z-API, the queue or RocksDB: the data plane turns
//! [`WaEvent`]s into its network events and decides about reconnecting (it calls
//! [`WhatsappWeb::start`] again after its back-off).
//!
//! The engine is behind the [`engine::Engine`] trait: the real one on whatsapp-rust
//! (`real`, cargo feature `engine`) and a scripted double ([`double`]) for tests.

#![forbid(unsafe_code)]

pub mod cooldown;
pub mod double;
pub mod engine;
pub mod ids;
pub mod lease;
pub mod line;
#[cfg(feature = "loopback-whatsapp")]
pub mod loopback;
pub mod mapping;
pub mod numbers;
#[cfg(feature = "engine")]
pub mod real;
#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatedge_config::{InstanceId, MessageId, Phone};
use chatedge_connector::KvStore;
use tokio::sync::{mpsc, oneshot};

pub use engine::{
    Act, AdminChange, Answer, Audience, BoxFuture, BusinessInfo, Button, Card, ChannelInfo, ChannelRole, ChatChange,
    ChatEntry, ChatPresence, CommunityGroup, CommunityInfo, DirectoryView, EngineError, EngineFactory, EventDetails,
    FileData, GroupInfo, GroupMember, GroupSetting, InboundContent, InboundMessage, LabelInfo, ListRow, MediaFile,
    MediaKind, MediaLimits, MediaToSend, MemberChange, MemberResult, MessageContext, MessageRef, Opening, OpeningHours,
    Outgoing, OutgoingMedia, Picture, PinFor, PrivacyChange, ProfileChange, Query, SavedContact, Seen, SharedContact,
    WithFiles,
};
pub use ids::WireId;

/// How the connector behaves (the data plane fills it from `[network.whatsapp_web]`).
#[derive(Debug, Clone)]
pub struct Settings {
    /// The name the phone shows for the linked device.
    pub device_name: String,
    /// A connect that produced neither a code nor a connection by then counts as failed.
    pub connect_timeout: Duration,
    /// Lease length; renewed every third of it while the client lives.
    pub lease_ttl: Duration,
    /// Back-off after the account was locked (403).
    pub lock_backoff: Duration,
    /// Back-off after a temporary ban (402), at least this even when WhatsApp names a shorter one.
    pub temp_ban_backoff: Duration,
    /// How long a received message waits for the data plane's commit before the server is left
    /// unacknowledged (it will redeliver).
    pub inbound_commit_timeout: Duration,
    /// How received files are downloaded (their size bound and time).
    pub media: MediaLimits,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            device_name: "chatedge".to_owned(),
            connect_timeout: Duration::from_secs(30),
            lease_ttl: Duration::from_secs(30),
            lock_backoff: Duration::from_secs(12 * 3600),
            temp_ban_backoff: Duration::from_secs(6 * 3600),
            inbound_commit_timeout: Duration::from_secs(10),
            media: MediaLimits { max_bytes: 64 << 20, timeout: Duration::from_secs(60) },
        }
    }
}

/// Delivery progress of a message of ours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Receipt {
    Delivered,
    Read,
    Played,
}

/// What the connector tells the data plane (mirrors the data plane's network events).
#[derive(Debug, Clone, PartialEq)]
pub enum WaEvent {
    PairingCode {
        instance: InstanceId,
        generation: u64,
        code: String,
        valid_for: Duration,
    },
    /// Nobody scanned the codes in time; pairing stopped.
    PairingExpired {
        instance: InstanceId,
        generation: u64,
    },
    Connected {
        instance: InstanceId,
        generation: u64,
        phone: Phone,
    },
    /// `logged_out`: a new pairing is needed; otherwise the data plane may `resume` later (a
    /// cooling-down instance answers that at once, without connecting).
    Disconnected {
        instance: InstanceId,
        generation: u64,
        reason: String,
        logged_out: bool,
    },
    Accepted {
        instance: InstanceId,
        generation: u64,
        message_id: MessageId,
        at_ms: u64,
    },
    Rejected {
        instance: InstanceId,
        generation: u64,
        message_id: MessageId,
        reason: String,
    },
    Status {
        instance: InstanceId,
        message_id: MessageId,
        phone: Phone,
        status: Receipt,
        at_ms: u64,
    },
    /// A received message; the server is acknowledged only after [`WhatsappWeb::ack`]`(ack)`.
    Incoming {
        instance: InstanceId,
        message: Box<InboundMessage>,
        ack: u64,
    },
    /// `phone` calls the account, or (`missed`) the call rang out unanswered. The engine
    /// acknowledges call stanzas itself: nothing waits for the data plane.
    Call {
        instance: InstanceId,
        call_id: String,
        phone: Phone,
        video: bool,
        missed: bool,
        at_ms: u64,
    },
}

/// Where the connector delivers its events (the shard's event channel, translated).
pub trait WaSink: Send + Sync {
    fn deliver(&self, event: WaEvent) -> BoxFuture<'_, ()>;
}

/// What `status` shows about an instance's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineState {
    Offline,
    Connecting,
    Pairing,
    Online,
    /// The last attempt failed (no network, no answer, refused); the data plane retries.
    Unreachable {
        reason: String,
    },
    /// Locked or banned: no attempt before `until_ms`.
    CoolingDown {
        until_ms: u64,
        reason: String,
    },
}

impl LineState {
    /// Bounded label for metrics and `status`.
    pub fn label(&self) -> &'static str {
        match self {
            LineState::Offline => "offline",
            LineState::Connecting => "connecting",
            LineState::Pairing => "pairing",
            LineState::Online => "online",
            LineState::Unreachable { .. } => "unreachable",
            LineState::CoolingDown { .. } => "cooling_down",
        }
    }
}

/// How a line starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Resume,
    PairQr,
    /// Pair by an 8-character code typed on the phone of this number (digits).
    PairCode(String),
}

/// The wall clock in unix milliseconds (tests drive their own).
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// Received messages waiting for the data plane's commit, by ack number.
pub(crate) type PendingAcks = Mutex<HashMap<u64, oneshot::Sender<()>>>;

/// Most received messages that may wait for their commit at once (beyond, a batch is left
/// unacknowledged and the server redelivers it).
pub const MAX_PENDING_ACKS: usize = 4096;

/// The ack numbers of this connector: the data plane tells them from other networks' by
/// this range.
pub const FIRST_ACK: u64 = 1 << 62;

/// What every line shares.
pub struct Shared {
    pub factory: Arc<dyn EngineFactory>,
    pub store: Arc<dyn KvStore>,
    pub settings: Settings,
    pub sink: Arc<dyn WaSink>,
    pub clock: Clock,
    states: Mutex<HashMap<InstanceId, LineState>>,
    acks: PendingAcks,
    next_ack: std::sync::atomic::AtomicU64,
}

impl Shared {
    pub fn new(
        factory: Arc<dyn EngineFactory>,
        store: Arc<dyn KvStore>,
        settings: Settings,
        sink: Arc<dyn WaSink>,
        clock: Clock,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            factory,
            store,
            settings,
            sink,
            clock,
            states: Mutex::default(),
            acks: Mutex::default(),
            next_ack: std::sync::atomic::AtomicU64::new(FIRST_ACK),
        })
    }

    /// The wall clock.
    pub fn wall_clock() -> Clock {
        Arc::new(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as u64)
                .unwrap_or(0)
        })
    }

    /// The instance's line state as `status` shows it.
    pub fn state(&self, instance: &InstanceId) -> LineState {
        self.lock_states().get(instance).cloned().unwrap_or(LineState::Offline)
    }

    pub(crate) fn set_state(&self, instance: InstanceId, state: LineState) {
        self.lock_states().insert(instance, state);
    }

    /// Forgets the instance's line state (it reads `Offline` again).
    pub(crate) fn clear_state(&self, instance: &InstanceId) {
        self.lock_states().remove(instance);
    }

    fn lock_states(&self) -> std::sync::MutexGuard<'_, HashMap<InstanceId, LineState>> {
        // Each critical section is one map operation: a panic elsewhere cannot leave it half done.
        self.states.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn lock_acks(&self) -> std::sync::MutexGuard<'_, HashMap<u64, oneshot::Sender<()>>> {
        self.acks.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn next_ack(&self) -> u64 {
        self.next_ack.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    }

    /// Received messages waiting for their commit (for metrics).
    pub fn pending_acks(&self) -> usize {
        self.lock_acks().len()
    }
}

/// One shard's WhatsApp Web connector: one line (task) per instance with a live client.
pub struct WhatsappWeb {
    shared: Arc<Shared>,
    lines: HashMap<InstanceId, line::Handle>,
}

impl WhatsappWeb {
    pub fn new(shared: Arc<Shared>) -> WhatsappWeb {
        WhatsappWeb { shared, lines: HashMap::new() }
    }

    pub fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Starts connection `generation` of `instance` (replacing any earlier one: its client is
    /// shut down first, the lease makes the new one wait for that).
    pub fn start(&mut self, instance: InstanceId, generation: u64, start: Start) {
        self.close(instance, false);
        let handle = line::spawn(self.shared.clone(), instance, generation, start);
        self.lines.insert(instance, handle);
    }

    /// Closes the instance's client; `logout` unlinks it from the phone and forgets its keys.
    /// No event follows.
    pub fn close(&mut self, instance: InstanceId, logout: bool) {
        match self.lines.remove(&instance) {
            Some(line) => line.close(&self.shared, instance, logout),
            None if logout => line::forget(self.shared.clone(), instance),
            None => {}
        }
    }

    /// Puts a message on the wire of connection `generation`: `Accepted` or `Rejected` follows
    /// (or `Disconnected`, when the connection is gone).
    pub fn send(
        &mut self,
        instance: InstanceId,
        generation: u64,
        message_id: MessageId,
        to: Phone,
        body: Outgoing,
    ) -> bool {
        self.command(instance, generation, line::Command::Send { id: WireId::of(&message_id), to, body })
    }

    /// Puts a message with files (a media message, buttons under a picture, a carousel) on
    /// the wire of connection `generation` once its files are read (messages behind it on the
    /// line wait for it, so the order holds): `Accepted` or `Rejected` follows — `Rejected`
    /// naming the reason when a file cannot be read (or `Disconnected`, when the connection is
    /// gone).
    pub fn send_with_files(
        &mut self,
        instance: InstanceId,
        generation: u64,
        message_id: MessageId,
        to: Phone,
        message: impl Into<WithFiles>,
    ) -> bool {
        let (id, message) = (WireId::of(&message_id), message.into());
        self.command(instance, generation, line::Command::SendWithFiles { id, to, message })
    }

    /// Carries out `act` (read receipts, a pin, a delete for this account only) on connection
    /// `generation`, as the queued message `message_id`: `Accepted` once it is on the wire, or
    /// `Rejected` (or `Disconnected`, when the connection is gone).
    pub fn act(&mut self, instance: InstanceId, generation: u64, message_id: MessageId, act: Act) -> bool {
        self.command(instance, generation, line::Command::Act { for_message: message_id, act })
    }

    /// Hands `command` to the instance's line of connection `generation`; false when there is
    /// no such line (another connection, or none) or it is too far behind.
    fn command(&self, instance: InstanceId, generation: u64, command: line::Command) -> bool {
        self.lines.get(&instance).filter(|l| l.generation == generation).is_some_and(|line| line.command(command))
    }

    /// Who asks WhatsApp account queries on the instance's current line (`None`: it has none).
    /// The asker may be kept: a query asked after the line ended is answered `NotLoggedIn`.
    pub fn asker(&self, instance: &InstanceId) -> Option<Asker> {
        self.lines.get(instance).map(line::Handle::asker)
    }

    pub fn chat_presence(&mut self, instance: InstanceId, to: Phone, presence: ChatPresence) {
        if let Some(line) = self.lines.get(&instance) {
            line.command(line::Command::Presence { to, presence });
        }
    }

    /// The received message behind `ack` is durable: the server may forget it.
    pub fn ack(&mut self, ack: u64) {
        if let Some(tx) = self.shared.lock_acks().remove(&ack) {
            let _ = tx.send(());
        }
    }

    /// Kills the instance's line as a crash would: no shutdown, no lease released.
    #[cfg(test)]
    pub(crate) fn crash(&mut self, instance: InstanceId) {
        if let Some(line) = self.lines.remove(&instance) {
            line.task.abort();
        }
    }

    /// Whether `ack` is one of this connector's (see [`FIRST_ACK`]).
    pub fn owns(ack: u64) -> bool {
        (FIRST_ACK..FIRST_ACK << 1).contains(&ack)
    }
}

/// The invitation link of a group invitation code or link (WhatsApp answers the bare code).
pub fn invite_link(code: &str) -> String {
    match code.starts_with("https://") {
        true => code.to_owned(),
        false => format!("https://chat.whatsapp.com/{code}"),
    }
}

/// Asks account queries on one line (several in turn, for a call that needs more than one).
#[derive(Clone)]
pub struct Asker(mpsc::Sender<line::Asked>);

impl Asker {
    /// Asks `query` and waits for WhatsApp's answer (the line bounds the queries in flight).
    pub async fn ask(&self, query: Query) -> Result<Answer, EngineError> {
        use mpsc::error::TrySendError;
        let (reply, answer) = oneshot::channel();
        match self.0.try_send(line::Asked { query, reply }) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(EngineError::Unreachable("too many account calls wait for this instance".to_owned()))
            }
            Err(TrySendError::Closed(_)) => return Err(EngineError::NotLoggedIn),
        }
        // A dropped reply: the line ended before WhatsApp answered.
        answer.await.unwrap_or(Err(EngineError::NotLoggedIn))
    }
}

/// A sink into a channel (tests, and the data plane's translation task).
pub struct ChannelSink(pub mpsc::Sender<WaEvent>);

impl WaSink for ChannelSink {
    fn deliver(&self, event: WaEvent) -> BoxFuture<'_, ()> {
        Box::pin(async move {
            let _ = self.0.send(event).await;
        })
    }
}
