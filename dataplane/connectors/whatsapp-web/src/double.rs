//! The scripted engine double: an [`Engine`] whose connects, codes and events a test decides,
//! and which records what the connector asked of it (sends with their ids, logouts, presence,
//! shutdowns) and how many clients were live at once. It writes a device record into its store
//! at open, as a real engine does, so tests can see a session kept or wiped.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chatedge_connector::KvStore;

use crate::engine::{
    Act, BoxFuture, ChatPresence, Engine, EngineError, EngineEvent, EngineFactory, EventTx, InboundMessage,
    InboundSink, OpenArgs, Outgoing,
};
use crate::ids::WireId;

/// What a connect does.
#[derive(Debug, Clone)]
pub enum OnConnect {
    /// Succeeds and emits these events.
    Emit(Vec<EngineEvent>),
    /// Succeeds and nothing ever comes (no network).
    Silent,
    Fail(EngineError),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Connect,
    PairCode(String),
    Send { to: String, id: WireId, body: Outgoing },
    Act(Act),
    Presence(String, ChatPresence),
    Unavailable,
    Logout,
    Shutdown,
}

struct State {
    on_connect: OnConnect,
    pair_code: String,
    send_error: Option<EngineError>,
    own_phone: Option<String>,
    opened: usize,
    live: usize,
    max_live: usize,
    calls: Vec<Call>,
    current: Option<Current>,
}

/// The live client's event channel, inbound sink and store.
type Current = (EventTx, Arc<dyn InboundSink>, Arc<dyn KvStore>);

/// The test's handle on the double (cheap to clone; all clones see the same engine).
#[derive(Clone)]
pub struct Double {
    state: Arc<Mutex<State>>,
}

impl Default for Double {
    fn default() -> Double {
        Double::new(OnConnect::Silent)
    }
}

impl Double {
    pub fn new(on_connect: OnConnect) -> Double {
        let state = State {
            on_connect,
            pair_code: "K7QM2XPD".to_owned(),
            send_error: None,
            own_phone: None,
            opened: 0,
            live: 0,
            max_live: 0,
            calls: vec![],
            current: None,
        };
        Double { state: Arc::new(Mutex::new(state)) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn factory(&self) -> Arc<dyn EngineFactory> {
        Arc::new(self.clone())
    }

    /// What the next connects do.
    pub fn on_connect(&self, on_connect: OnConnect) {
        self.lock().on_connect = on_connect;
    }

    /// What the next sends answer (`None`: they go on the wire).
    pub fn send_error(&self, error: Option<EngineError>) {
        self.lock().send_error = error;
    }

    /// The number the client says it is logged in as.
    pub fn own_phone(&self, phone: Option<&str>) {
        self.lock().own_phone = phone.map(str::to_owned);
    }

    /// Emits `event` from the current client, as the network would.
    pub fn emit(&self, event: EngineEvent) {
        if let Some((tx, _, _)) = &self.lock().current {
            tx.emit(event);
        }
    }

    /// Hands `batch` to the connector as received messages; resolves with its commit.
    pub async fn receive(&self, batch: Vec<InboundMessage>) -> Result<(), String> {
        let sink = self.lock().current.as_ref().map(|(_, sink, _)| sink.clone());
        match sink {
            Some(sink) => sink.commit(batch).await,
            None => Err("no client".to_owned()),
        }
    }

    /// The current client's store.
    pub fn store(&self) -> Option<Arc<dyn KvStore>> {
        self.lock().current.as_ref().map(|(_, _, kv)| kv.clone())
    }

    pub fn calls(&self) -> Vec<Call> {
        self.lock().calls.clone()
    }

    pub fn sends(&self) -> Vec<WireId> {
        self.calls()
            .into_iter()
            .filter_map(|c| match c {
                Call::Send { id, .. } => Some(id),
                _ => None,
            })
            .collect()
    }

    /// Clients opened so far.
    pub fn opened(&self) -> usize {
        self.lock().opened
    }

    /// Clients live now (opened, not shut down).
    pub fn live(&self) -> usize {
        self.lock().live
    }

    /// The most clients ever live at once.
    pub fn max_live(&self) -> usize {
        self.lock().max_live
    }

    /// Waits (in the test's time) until `n` clients were opened and the last one connected.
    pub async fn wait_opened(&self, n: usize) {
        for _ in 0..10_000 {
            if self.opened() >= n && self.calls().iter().filter(|c| **c == Call::Connect).count() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{n} clients were never opened (opened {})", self.opened());
    }

    /// The live client dies with its process: no shutdown, nothing flushed; the double lets go
    /// of its event channel, inbound sink and store (which would otherwise keep the crashed
    /// connector, and the store under it, alive).
    pub fn crash(&self) {
        let mut s = self.lock();
        if s.current.take().is_some() {
            s.live = s.live.saturating_sub(1);
        }
    }

    /// Waits until no client is live.
    pub async fn wait_idle(&self) {
        for _ in 0..10_000 {
            if self.live() == 0 {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("a client stayed live");
    }
}

impl EngineFactory for Double {
    fn open(&self, args: OpenArgs) -> BoxFuture<'_, Result<Arc<dyn Engine>, EngineError>> {
        Box::pin(async move {
            if args.store.get(b"device").map_err(|e| EngineError::Store(e.to_string()))?.is_none() {
                args.store.put(b"device", b"keys").await.map_err(|e| EngineError::Store(e.to_string()))?;
            }
            let mut s = self.lock();
            s.opened += 1;
            s.live += 1;
            s.max_live = s.max_live.max(s.live);
            s.current = Some((args.events.clone(), args.inbound, args.store));
            Ok(Arc::new(Client { double: self.clone(), events: args.events }) as Arc<dyn Engine>)
        })
    }
}

struct Client {
    double: Double,
    events: EventTx,
}

impl Client {
    fn record(&self, call: Call) {
        self.double.lock().calls.push(call);
    }

    fn ok<'a, T: Send + 'a>(&self, call: Call, value: T) -> BoxFuture<'a, Result<T, EngineError>> {
        self.record(call);
        Box::pin(std::future::ready(Ok(value)))
    }
}

impl Engine for Client {
    fn connect(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        self.record(Call::Connect);
        let on_connect = self.double.lock().on_connect.clone();
        let result = match on_connect {
            OnConnect::Emit(events) => {
                for e in events {
                    self.events.emit(e);
                }
                Ok(())
            }
            OnConnect::Silent => Ok(()),
            OnConnect::Fail(e) => Err(e),
        };
        Box::pin(std::future::ready(result))
    }

    fn pair_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<String, EngineError>> {
        let code = self.double.lock().pair_code.clone();
        self.ok(Call::PairCode(phone.to_owned()), code)
    }

    fn send<'a>(&'a self, to: &'a str, id: &'a WireId, body: &'a Outgoing) -> BoxFuture<'a, Result<(), EngineError>> {
        self.record(Call::Send { to: to.to_owned(), id: id.clone(), body: body.clone() });
        let result = self.double.lock().send_error.clone().map_or(Ok(()), Err);
        Box::pin(std::future::ready(result))
    }

    fn act<'a>(&'a self, act: &'a Act) -> BoxFuture<'a, Result<(), EngineError>> {
        self.record(Call::Act(act.clone()));
        // Acts go out on the same socket as messages: they fail as a send would.
        let result = self.double.lock().send_error.clone().map_or(Ok(()), Err);
        Box::pin(std::future::ready(result))
    }

    fn chat_presence<'a>(&'a self, to: &'a str, presence: ChatPresence) -> BoxFuture<'a, Result<(), EngineError>> {
        self.ok(Call::Presence(to.to_owned(), presence), ())
    }

    fn own_phone(&self) -> Option<String> {
        self.double.lock().own_phone.clone()
    }

    fn set_unavailable(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        self.ok(Call::Unavailable, ())
    }

    fn logout(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        self.ok(Call::Logout, ())
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        self.record(Call::Shutdown);
        let mut s = self.double.lock();
        s.live = s.live.saturating_sub(1);
        s.current = None;
        Box::pin(std::future::ready(()))
    }
}
