//! loopback: WhatsApp's side of a linked device — its server and the account's phone — on
//! 127.0.0.1, for tests and measurements (cargo feature `loopback-whatsapp`). It speaks what the
//! engine speaks to WhatsApp: a WebSocket, the Noise handshake (XX for a first connection, IK once
//! the engine has kept the server's certificate), then encrypted binary stanzas. It goes as far as
//! a device's life needs: the phone links the device by the QR code the engine shows or by the
//! code its owner types ([`LoopbackWhatsApp::scan`], [`LoopbackWhatsApp::enter_code`]); the
//! device logs in and stays connected (pings, passive mode, the offline queue, app state answered
//! as nothing to sync); its messages get the server's ack, or wait for it
//! ([`LoopbackWhatsApp::hold_acks`]), and are kept for the test to read
//! ([`LoopbackWhatsApp::sent`]); the recipient's phone sends receipts; a contact writes to the
//! device with a Signal pre-key message ([`LoopbackWhatsApp::write`]); the phone can unlink the
//! device and the server can refuse its account ([`LoopbackWhatsApp::unlink`],
//! [`LoopbackWhatsApp::ban`]).
//!
//! It must never face a network: it binds loopback only. The peer cannot sign as WhatsApp, so
//! the feature also turns off the engine's check of WhatsApp's certificate chain; for that reason
//! the same feature makes the real engine refuse any address but loopback (`real::RealFactory`).
//! Not here: reading what a device sends (its messages are recorded by stanza, not decrypted),
//! app state and history, groups, media, calls.

mod contact;
mod directory;
mod line;
mod phone;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::mpsc;
use whatsapp_rust::wacore::libsignal::protocol::KeyPair;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::Node;

pub use contact::WriteError;
pub use phone::ScanError;

/// How many of the devices' last stanzas the server keeps for [`LoopbackWhatsApp::stanzas`].
const KEPT_STANZAS: usize = 256;

/// A linked device as the server knows it: the account's number and the device's number.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Device {
    pub phone: String,
    pub device: u32,
}

impl Device {
    /// The device's private id, derived from the number (the server invents one per account).
    pub fn lid(&self) -> String {
        format!("9{}:{}@lid", self.phone, self.device)
    }

    pub fn jid(&self) -> String {
        format!("{}:{}@s.whatsapp.net", self.phone, self.device)
    }
}

/// A message a device put on the wire, as the server saw its stanza.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    /// The stanza's id: the message's id on WhatsApp.
    pub id: String,
    pub to: String,
    /// The stanza's `type` (`text`, `media`, `reaction`, …).
    pub kind: String,
    pub from: Device,
}

/// Why the server refuses an account's devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ban {
    /// The account is locked (403): its devices are logged out.
    Locked,
    /// A temporary ban (402) for this many seconds.
    Temporary { seconds: u64 },
}

impl Ban {
    /// The `<failure>` a login gets.
    fn failure(self) -> Node {
        match self {
            Ban::Locked => NodeBuilder::new("failure").attr("reason", "403").build(),
            Ban::Temporary { seconds } => NodeBuilder::new("failure")
                .attr("reason", "402")
                .attr("code", "101")
                .attr("expire", seconds.to_string())
                .build(),
        }
    }
}

/// A WhatsApp server and phone on a loopback port.
pub struct LoopbackWhatsApp {
    addr: SocketAddr,
    shared: Arc<Shared>,
    accept: tokio::task::JoinHandle<()>,
}

impl LoopbackWhatsApp {
    /// Listens on a free loopback port.
    pub async fn start() -> std::io::Result<LoopbackWhatsApp> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::new());
        let accept = tokio::spawn(line::accept(listener, shared.clone()));
        Ok(LoopbackWhatsApp { addr, shared, accept })
    }

    /// The URL to give the engine (`[network.whatsapp_web] ws_url`).
    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws/chat", self.addr)
    }

    /// The phone of `phone` scans `qr` (the text of a QR code the engine showed): the server
    /// tells the device that showed it that it is paired, as a new device of that number.
    pub fn scan(&self, qr: &str, phone: &str) -> Result<Device, ScanError> {
        phone::scan(&self.shared, qr, phone)
    }

    /// Makes `phone` a business account named `name`: devices linked to it from now on learn
    /// the name at pairing (a personal account's name only comes with app state, which this
    /// server does not send), so they can announce their presence.
    pub fn business(&self, phone: &str, name: &str) {
        self.shared.lock().business_names.insert(phone.to_owned(), name.to_owned());
    }

    /// The presence stanzas devices sent (`available`, `unavailable`), oldest first, among the
    /// last stanzas kept.
    pub fn presences(&self) -> Vec<String> {
        let state = self.shared.lock();
        state.stanzas.iter().filter(|s| s.starts_with("<presence")).cloned().collect()
    }

    /// The owner of `phone` types `code` (what `phone-code` answered) into the phone, for the
    /// device that asked to be linked to that number; the device then finishes the link itself.
    pub fn enter_code(&self, phone: &str, code: &str) -> Result<(), ScanError> {
        phone::enter_code(&self.shared, phone, &code.replace('-', ""))
    }

    /// The phone removes `device` from its linked devices: a connected device is told at once
    /// (stream error 401); a later login is refused.
    pub fn unlink(&self, device: &Device) {
        let mut state = self.shared.lock();
        state.linked.remove(device);
        if let Some(line) = state.line_of(device) {
            let _ = line.out.send(Outbound::Node(line::stream_error("401")));
            let _ = line.out.send(Outbound::Close);
        }
    }

    /// The recipient's phone tells the sender's device that `message` arrived (`read`: that it
    /// was read); nothing happens while that device is not connected.
    pub fn receipt(&self, message: &SentMessage, read: bool) {
        let mut receipt = NodeBuilder::new("receipt")
            .attr("id", message.id.clone())
            .attr("from", message.to.clone())
            .attr("t", line::now().to_string());
        if read {
            receipt = receipt.attr("type", "read");
        }
        self.send_to(&message.from, receipt.build());
    }

    fn send_to(&self, device: &Device, node: Node) {
        if let Some(line) = self.shared.lock().line_of(device) {
            let _ = line.out.send(Outbound::Node(node.clone()));
        }
    }

    /// `from` (a number) writes `text` to `to`, which must be connected; answers the message's id.
    pub async fn write(&self, from: &str, to: &Device, text: &str) -> Result<String, WriteError> {
        contact::write(&self.shared, from, to, text).await
    }

    /// Ids of the messages devices confirmed to the server (a delivery receipt, or an ack when a
    /// message carried nothing to show), oldest first. Until then the server keeps a message
    /// for redelivery.
    pub fn confirmed(&self) -> Vec<String> {
        self.shared.lock().confirmed.clone()
    }

    /// The last stanzas devices sent (at most 256), each as its tag and attributes, for a test
    /// that fails to say what the device did.
    pub fn stanzas(&self) -> Vec<String> {
        self.shared.lock().stanzas.iter().cloned().collect()
    }

    /// From now on the server refuses every device of `phone` with `ban`; connected ones are
    /// cut off and meet it when they log in again.
    pub fn ban(&self, phone: &str, ban: Ban) {
        let mut state = self.shared.lock();
        state.banned.insert(phone.to_owned(), ban);
        for line in state.lines.values().filter(|line| line.device.as_ref().is_some_and(|d| d.phone == phone)) {
            let _ = line.out.send(Outbound::Close);
        }
    }

    /// While on, the server takes messages without acknowledging them (a device then holds
    /// them as not yet sent); turned off, it acknowledges every message it held to the device
    /// that is connected now.
    pub fn hold_acks(&self, on: bool) {
        let mut state = self.shared.lock();
        state.holding_acks = on;
        if on {
            return;
        }
        let held = std::mem::take(&mut state.held);
        for (id, to) in held {
            let from = state.sent.iter().rev().find(|m| m.id == id).map(|m| m.from.clone());
            if let Some(line) = from.and_then(|from| state.line_of(&from)) {
                let _ = line.out.send(Outbound::Node(line::ack("message", &id, &to)));
            }
        }
    }

    /// Connections the server accepted so far (each connect attempt of a device is one).
    pub fn connections(&self) -> u64 {
        self.shared.lock().connections
    }

    /// Drops every open connection, as a network failure would; devices stay linked.
    pub fn drop_connections(&self) {
        for line in self.shared.lock().lines.values() {
            let _ = line.out.send(Outbound::Close);
        }
    }

    /// The devices logged in right now.
    pub fn connected(&self) -> Vec<Device> {
        self.shared.lock().lines.values().filter_map(|line| line.device.clone()).collect()
    }

    /// How many times any device logged in.
    pub fn logins(&self) -> u64 {
        self.shared.lock().logins
    }

    /// Every message put on the wire so far, oldest first.
    pub fn sent(&self) -> Vec<SentMessage> {
        self.shared.lock().sent.clone()
    }
}

impl Drop for LoopbackWhatsApp {
    fn drop(&mut self) {
        self.accept.abort();
        self.drop_connections();
    }
}

/// What the server's connections share.
struct Shared {
    /// The server's static Noise key, the leaf of its certificate chain.
    server_key: KeyPair,
    state: Mutex<State>,
}

impl Shared {
    fn new() -> Shared {
        Shared { server_key: KeyPair::generate(&mut rand10::rng()), state: Mutex::new(State::default()) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[derive(Default)]
struct State {
    next_line: u64,
    lines: HashMap<u64, Line>,
    /// Devices the phone linked and has not unlinked.
    linked: HashSet<Device>,
    /// Device numbers given out per account.
    last_device: HashMap<String, u32>,
    /// Each account's identity key, which vouches for its devices.
    accounts: HashMap<String, KeyPair>,
    logins: u64,
    sent: Vec<SentMessage>,
    /// Other people's devices' keys, by device jid.
    bundles: HashMap<String, directory::Bundle>,
    /// Business accounts' names, by number: a device linked to one learns it at pairing.
    business_names: HashMap<String, String>,
    /// Accounts the server refuses, by number.
    banned: HashMap<String, Ban>,
    /// Whether messages wait for their ack ([`LoopbackWhatsApp::hold_acks`]), and those waiting:
    /// id and recipient.
    holding_acks: bool,
    held: Vec<(String, String)>,
    /// Connections accepted so far.
    connections: u64,
    /// The keys each device uploaded.
    uploaded: HashMap<Device, contact::Uploaded>,
    /// Ids of the messages devices confirmed (delivery receipt or ack), oldest first.
    confirmed: Vec<String>,
    /// The last stanzas devices sent, as their tag and attributes (at most [`KEPT_STANZAS`]).
    stanzas: std::collections::VecDeque<String>,
}

impl State {
    /// The connection `device` is logged in on.
    fn line_of(&self, device: &Device) -> Option<&Line> {
        self.lines.values().find(|line| line.device.as_ref() == Some(device))
    }
}

/// One open connection.
struct Line {
    out: mpsc::UnboundedSender<Outbound>,
    /// The pairing refs it was given (a device that is not paired yet).
    refs: Vec<String>,
    /// The device logged in on it.
    device: Option<Device>,
    /// The device the phone has just linked on it, until the device signs its identity.
    pairing: Option<Device>,
    /// A link by code the device asked for.
    code: Option<phone::CodeLink>,
}

/// What the server puts on a connection besides its answers.
enum Outbound {
    Node(Node),
    Close,
}
