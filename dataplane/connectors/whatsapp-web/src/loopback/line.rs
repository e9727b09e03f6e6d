//! line: one connection to the loopback server — the WebSocket, the server's half of the Noise
//! handshake, then stanzas both ways. What a device sends is answered the way WhatsApp's server
//! answers it, as far as a device needs to log in and stay connected; anything else gets an
//! empty result, which the engine takes as nothing to report.

use std::sync::Arc;

use base64::Engine as _;
use rand10::Rng as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_websockets::{Message, ServerBuilder, WebSocketStream};
use whatsapp_rust::futures::stream::{SplitSink, SplitStream};
use whatsapp_rust::futures::{SinkExt, StreamExt};
use whatsapp_rust::wacore::framing::{encode_frame, FrameDecoder};
use whatsapp_rust::wacore::libsignal::protocol::KeyPair;
use whatsapp_rust::wacore::noise::{NoiseCipher, NoiseHandshake};
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::consts::{NOISE_PATTERN_IK, NOISE_PATTERN_XX, WA_CONN_HEADER};
use whatsapp_rust::wacore_binary::marshal::{marshal, unmarshal_ref};
use whatsapp_rust::wacore_binary::{util::unpack, Jid, Node, NodeContent};
use whatsapp_rust::waproto::buffa::{Message as _, MessageField};
use whatsapp_rust::waproto::whatsapp as wa;

use super::{contact, directory, phone, Device, Line, Outbound, SentMessage, Shared};

pub(super) const SERVER: &str = "s.whatsapp.net";
/// Pairing refs handed to a device that is not paired yet (one QR code each).
const QR_REFS: usize = 6;

type Failure = String;

pub(super) async fn accept(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((tcp, _)) = listener.accept().await else {
            // Out of descriptors, say: wait rather than spin.
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let (out, outbound) = mpsc::unbounded_channel();
            let id = {
                let mut state = shared.lock();
                state.connections += 1;
                state.next_line += 1;
                let id = state.next_line;
                state.lines.insert(id, Line { out, refs: Vec::new(), device: None, pairing: None, code: None });
                id
            };
            if let Err(why) = serve(tcp, &shared, id, outbound).await {
                tracing::debug!(line = id, "loopback WhatsApp: connection ended: {why}");
            }
            shared.lock().lines.remove(&id);
        });
    }
}

async fn serve(
    tcp: TcpStream,
    shared: &Shared,
    id: u64,
    mut outbound: mpsc::UnboundedReceiver<Outbound>,
) -> Result<(), Failure> {
    let (_, ws) = ServerBuilder::new().accept(tcp).await.map_err(|e| format!("websocket: {e}"))?;
    let (sink, stream) = ws.split();
    let mut receiver = Receiver { stream, frames: FrameDecoder::new(), first: true, cipher: None, counter: 0 };
    let mut sender = Sender { sink, cipher: None, counter: 0 };
    let payload = handshake(&mut receiver, &mut sender, &shared.server_key).await?;
    let login = wa::ClientPayload::decode_from_slice(&payload).map_err(|e| format!("client payload: {e}"))?;
    match login.username {
        Some(user) => {
            let device = Device { phone: user.to_string(), device: login.device.unwrap_or(0) };
            if let Some(failure) = log_in(shared, id, &device) {
                sender.send(failure).await?;
                return Ok(());
            }
            sender.send(success(&device)).await?;
        }
        None => {
            let refs: Vec<String> = (0..QR_REFS).map(|_| pairing_ref()).collect();
            if let Some(line) = shared.lock().lines.get_mut(&id) {
                line.refs = refs.clone();
            }
            sender.send(pair_device(refs)).await?;
        }
    }
    loop {
        tokio::select! {
            node = receiver.next_node() => {
                let Some(node) = node? else { return Ok(()) };
                for step in answer(shared, id, &node) {
                    match step {
                        Step::Send(reply) => sender.send(reply).await?,
                        Step::Close => {
                            sender.close().await;
                            return Ok(());
                        }
                    }
                }
            }
            out = outbound.recv() => match out {
                Some(Outbound::Node(node)) => sender.send(node).await?,
                Some(Outbound::Close) | None => {
                    sender.close().await;
                    return Ok(());
                }
            }
        }
    }
}

/// Logs `device` in on line `id`; answers the server's refusal instead, if it refuses.
fn log_in(shared: &Shared, id: u64, device: &Device) -> Option<Node> {
    let mut state = shared.lock();
    if let Some(ban) = state.banned.get(&device.phone) {
        return Some(ban.failure());
    }
    if !state.linked.contains(device) {
        return Some(NodeBuilder::new("failure").attr("reason", "401").build());
    }
    state.logins += 1;
    if let Some(line) = state.lines.get_mut(&id) {
        line.device = Some(device.clone());
    }
    None
}

/// The server's half of the Noise handshake; answers the client's login payload.
async fn handshake(receiver: &mut Receiver, sender: &mut Sender, server: &KeyPair) -> Result<Vec<u8>, Failure> {
    let hello = receiver.next_frame().await?;
    let hello = wa::HandshakeMessage::decode_from_slice(&hello)
        .ok()
        .and_then(|m| m.client_hello.into_option())
        .ok_or("no client hello")?;
    let client_ephemeral = key(hello.ephemeral.as_deref())?;
    let server_static = key(Some(server.public_key.public_key_bytes()))?;
    let ephemeral = KeyPair::generate(&mut rand10::rng());
    let ephemeral_public = key(Some(ephemeral.public_key.public_key_bytes()))?;
    let server_private = server.private_key.serialize();
    let ephemeral_private = ephemeral.private_key.serialize();
    let dh = |noise: &mut NoiseHandshake, private: &[u8; 32], public: &[u8; 32]| {
        noise.mix_shared_secret(private, public).map_err(|e| e.to_string())
    };
    let (noise, payload) = match (hello.r#static, hello.payload) {
        // IK: the client knows our static key from an earlier connection.
        (Some(encrypted_static), Some(encrypted_payload)) => {
            let mut noise = NoiseHandshake::new(NOISE_PATTERN_IK, &WA_CONN_HEADER).map_err(|e| e.to_string())?;
            noise.authenticate(&server_static);
            noise.authenticate(&client_ephemeral);
            dh(&mut noise, server_private, &client_ephemeral)?;
            let client_static = key(Some(&noise.decrypt(&encrypted_static).map_err(|e| e.to_string())?))?;
            dh(&mut noise, server_private, &client_static)?;
            let payload = noise.decrypt(&encrypted_payload).map_err(|e| e.to_string())?;
            noise.authenticate(&ephemeral_public);
            dh(&mut noise, ephemeral_private, &client_ephemeral)?;
            dh(&mut noise, ephemeral_private, &client_static)?;
            let certificates = noise.encrypt(&cert_chain(&server_static)).map_err(|e| e.to_string())?;
            sender.send_frame(&server_hello(&ephemeral_public, None, certificates)).await?;
            (noise, payload)
        }
        // XX: a first connection; the client learns our static key and sends its own after.
        _ => {
            let mut noise = NoiseHandshake::new(NOISE_PATTERN_XX, &WA_CONN_HEADER).map_err(|e| e.to_string())?;
            noise.authenticate(&client_ephemeral);
            noise.authenticate(&ephemeral_public);
            dh(&mut noise, ephemeral_private, &client_ephemeral)?;
            let encrypted_static = noise.encrypt(&server_static).map_err(|e| e.to_string())?;
            dh(&mut noise, server_private, &client_ephemeral)?;
            let certificates = noise.encrypt(&cert_chain(&server_static)).map_err(|e| e.to_string())?;
            sender.send_frame(&server_hello(&ephemeral_public, Some(encrypted_static), certificates)).await?;
            let finish = receiver.next_frame().await?;
            let finish = wa::HandshakeMessage::decode_from_slice(&finish)
                .ok()
                .and_then(|m| m.client_finish.into_option())
                .ok_or("no client finish")?;
            let client_static =
                key(Some(&noise.decrypt(finish.r#static.as_deref().unwrap_or_default()).map_err(|e| e.to_string())?))?;
            dh(&mut noise, ephemeral_private, &client_static)?;
            let payload = noise.decrypt(finish.payload.as_deref().unwrap_or_default()).map_err(|e| e.to_string())?;
            (noise, payload)
        }
    };
    // The client writes with the first key of the split and reads with the second.
    let (client_writes, client_reads) = noise.finish().map_err(|e| e.to_string())?;
    receiver.cipher = Some(client_writes);
    sender.cipher = Some(client_reads);
    Ok(payload)
}

fn key(bytes: Option<&[u8]>) -> Result<[u8; 32], Failure> {
    bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()).ok_or_else(|| "a key is not 32 bytes".to_owned())
}

fn server_hello(ephemeral: &[u8; 32], encrypted_static: Option<Vec<u8>>, payload: Vec<u8>) -> Vec<u8> {
    wa::HandshakeMessage {
        server_hello: MessageField::some(wa::handshake_message::ServerHello {
            ephemeral: Some(ephemeral.to_vec()),
            r#static: encrypted_static,
            payload: Some(payload),
            ..Default::default()
        }),
        ..Default::default()
    }
    .encode_to_vec()
}

/// A certificate chain whose leaf is our static key. Its signatures are zeros: the engine built
/// with `loopback-whatsapp` does not check them (only WhatsApp could sign one it would accept).
fn cert_chain(leaf_key: &[u8; 32]) -> Vec<u8> {
    use wa::cert_chain::noise_certificate::Details;
    let certificate = |serial: u32, issuer: u32, key: Vec<u8>| wa::cert_chain::NoiseCertificate {
        details: Some(
            Details {
                serial: Some(serial),
                issuer_serial: Some(issuer),
                key: Some(key),
                not_before: Some(1_700_000_000),
                not_after: Some(1_900_000_000),
            }
            .encode_to_vec(),
        ),
        signature: Some(vec![0; 64]),
    };
    wa::CertChain {
        leaf: MessageField::some(certificate(2, 1, leaf_key.to_vec())),
        intermediate: MessageField::some(certificate(1, 0, vec![0xCC; 32])),
    }
    .encode_to_vec()
}

/// What to do after a device's stanza.
enum Step {
    Send(Node),
    Close,
}

/// The server's answer to one stanza.
fn answer(shared: &Shared, id: u64, node: &Node) -> Vec<Step> {
    {
        let mut state = shared.lock();
        if state.stanzas.len() == super::KEPT_STANZAS {
            state.stanzas.pop_front();
        }
        let attrs: Vec<String> = node.attrs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        state.stanzas.push_back(format!("<{} {}>", node.tag, attrs.join(" ")));
    }
    let mut attrs = node.attrs();
    let stanza_id = attrs.optional_string("id").map(|s| s.into_owned()).unwrap_or_default();
    let kind = attrs.optional_string("type").map(|s| s.into_owned()).unwrap_or_default();
    let to = attrs.optional_string("to").map(|s| s.into_owned());
    let xmlns = attrs.optional_string("xmlns").map(|s| s.into_owned()).unwrap_or_default();
    let child = |tag: &str| node.get_optional_child(tag).is_some();
    match (node.tag.as_ref(), kind.as_str()) {
        ("iq", "result") if child("pair-device-sign") => {
            linked(shared, id);
            // WhatsApp restarts the stream after a pairing; the device logs in anew.
            vec![Step::Send(stream_error("515")), Step::Close]
        }
        ("iq", "get" | "set") => {
            let children = match xmlns.as_str() {
                "md" if child("link_code_companion_reg") => node
                    .get_optional_child("link_code_companion_reg")
                    .map(|reg| phone::code_stage(shared, id, reg).unwrap_or_default())
                    .unwrap_or_default(),
                "w:sync:app:state" => vec![nothing_to_sync(node)],
                "encrypt" if child("registration") => {
                    contact::keys_uploaded(shared, id, node);
                    Vec::new()
                }
                "encrypt" if child("count") => vec![NodeBuilder::new("count").attr("value", "100").build()],
                "encrypt" if child("key") => vec![directory::bundles(shared, node)],
                "usync" => vec![directory::devices(node)],
                _ => Vec::new(),
            };
            let mut steps = vec![Step::Send(result(&stanza_id, to.as_deref(), children))];
            if xmlns == "passive" && child("active") {
                // Out of passive mode, the server delivers what waited: nothing here.
                let offline = NodeBuilder::new("offline").attr("count", "0").build();
                steps.push(Step::Send(NodeBuilder::new("ib").attr("from", SERVER).children([offline]).build()));
            }
            steps
        }
        ("message", _) => {
            let recipient = to.unwrap_or_default();
            let mut state = shared.lock();
            if let Some(from) = state.lines.get(&id).and_then(|line| line.device.clone()) {
                state.sent.push(SentMessage { id: stanza_id.clone(), to: recipient.clone(), kind, from });
            }
            if state.holding_acks {
                state.held.push((stanza_id, recipient));
                return Vec::new();
            }
            vec![Step::Send(ack("message", &stanza_id, &recipient))]
        }
        ("ack", _) => {
            if node.attrs().optional_string("class").as_deref() == Some("message") {
                shared.lock().confirmed.push(stanza_id);
            }
            Vec::new()
        }
        ("receipt", "" | "inactive") => {
            // A delivery receipt (`inactive` from a device that is not online): how a device
            // confirms a message it took.
            shared.lock().confirmed.push(stanza_id.clone());
            vec![Step::Send(ack("receipt", &stanza_id, to.as_deref().unwrap_or(SERVER)))]
        }
        ("receipt", _) => vec![Step::Send(ack("receipt", &stanza_id, to.as_deref().unwrap_or(SERVER)))],
        _ => Vec::new(),
    }
}

fn linked(shared: &Shared, id: u64) {
    let mut state = shared.lock();
    if let Some(device) = state.lines.get_mut(&id).and_then(|line| line.pairing.take()) {
        state.linked.insert(device);
    }
}

/// Each collection asked for, answered as in conflict with nothing more to fetch, which the
/// engine takes as synced (it never pushes app state of its own).
fn nothing_to_sync(request: &Node) -> Node {
    let collections = request
        .get_optional_child("sync")
        .and_then(Node::children)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.attrs().optional_string("name").map(|s| s.into_owned()))
        .map(|name| {
            NodeBuilder::new("collection")
                .attr("name", name)
                .attr("type", "error")
                .children([NodeBuilder::new("error").attr("code", "409").attr("text", "conflict").build()])
                .build()
        });
    NodeBuilder::new("sync").children(collections).build()
}

fn result(id: &str, to: Option<&str>, children: Vec<Node>) -> Node {
    let builder = NodeBuilder::new("iq")
        .attr("type", "result")
        .attr("id", id.to_owned())
        .attr("from", to.unwrap_or(SERVER).to_owned());
    if children.is_empty() {
        builder.build()
    } else {
        builder.children(children).build()
    }
}

pub(super) fn ack(class: &'static str, id: &str, from: &str) -> Node {
    NodeBuilder::new("ack")
        .attr("class", class)
        .attr("id", id.to_owned())
        .attr("from", from.to_owned())
        .attr("t", now().to_string())
        .build()
}

pub(super) fn stream_error(code: &'static str) -> Node {
    NodeBuilder::new("stream:error").attr("code", code).build()
}

fn success(device: &Device) -> Node {
    let mut success = NodeBuilder::new("success").attr("t", now().to_string()).attr("location", "loopback");
    if let Ok(lid) = device.lid().parse::<Jid>() {
        success = success.attr("lid", lid);
    }
    success.build()
}

fn pair_device(refs: Vec<String>) -> Node {
    let refs = refs.into_iter().map(|r| NodeBuilder::new("ref").bytes(r.into_bytes()).build());
    NodeBuilder::new("iq")
        .attr("from", SERVER)
        .attr("type", "set")
        .attr("id", "pair-device")
        .attr("xmlns", "md")
        .children([NodeBuilder::new("pair-device").children(refs).build()])
        .build()
}

pub(super) fn pairing_ref() -> String {
    let mut bytes = [0u8; 12];
    rand10::rng().fill_bytes(&mut bytes);
    format!("2@{}", base64::engine::general_purpose::STANDARD.encode(bytes))
}

/// The bytes a node carries, if that is what it carries.
pub(super) fn bytes_of(node: Option<&Node>) -> Option<Vec<u8>> {
    match node.and_then(|n| n.content.as_ref()) {
        Some(NodeContent::Bytes(bytes)) => Some(bytes.clone()),
        _ => None,
    }
}

pub(super) fn now() -> u64 {
    std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_secs())
}

/// The reading half: WebSocket messages into frames, frames into stanzas.
struct Receiver {
    stream: SplitStream<WebSocketStream<TcpStream>>,
    frames: FrameDecoder,
    /// The client's first message starts with WhatsApp's connection header.
    first: bool,
    cipher: Option<NoiseCipher>,
    counter: u32,
}

impl Receiver {
    /// The next frame as it came; cancel-safe (the only wait is for the next message).
    async fn next_frame(&mut self) -> Result<bytes::BytesMut, Failure> {
        loop {
            if let Some(frame) = self.frames.decode_frame() {
                return Ok(frame);
            }
            match self.stream.next().await {
                Some(Ok(message)) if message.is_binary() => {
                    let payload = message.as_payload();
                    let data: &[u8] = payload;
                    let data = match self.first && data.starts_with(&WA_CONN_HEADER) {
                        true => &data[WA_CONN_HEADER.len()..],
                        false => data,
                    };
                    self.first = false;
                    self.frames.feed(data);
                }
                Some(Ok(message)) if message.is_close() => return Err("closed by the device".into()),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(format!("websocket: {e}")),
                None => return Err("closed by the device".into()),
            }
        }
    }

    /// The next stanza, or `None` once the device closed the connection.
    async fn next_node(&mut self) -> Result<Option<Node>, Failure> {
        let mut frame = match self.next_frame().await {
            Ok(frame) => frame,
            Err(_) => return Ok(None),
        };
        let cipher = self.cipher.as_ref().ok_or("no keys yet")?;
        cipher.decrypt_in_place_with_counter(self.counter, &mut frame).map_err(|e| e.to_string())?;
        self.counter += 1;
        let data = unpack(&frame).map_err(|e| e.to_string())?;
        let node = unmarshal_ref(&data).map_err(|e| e.to_string())?;
        Ok(Some(node.to_owned()))
    }
}

/// The writing half.
struct Sender {
    sink: SplitSink<WebSocketStream<TcpStream>, Message>,
    cipher: Option<NoiseCipher>,
    counter: u32,
}

impl Sender {
    async fn send_frame(&mut self, payload: &[u8]) -> Result<(), Failure> {
        let frame = encode_frame(payload, None).map_err(|e| e.to_string())?;
        self.sink.send(Message::binary(frame)).await.map_err(|e| format!("websocket: {e}"))
    }

    async fn send(&mut self, node: Node) -> Result<(), Failure> {
        let mut data = marshal(&node).map_err(|e| e.to_string())?;
        let cipher = self.cipher.as_ref().ok_or("no keys yet")?;
        cipher.encrypt_in_place_with_counter(self.counter, &mut data).map_err(|e| e.to_string())?;
        self.counter += 1;
        self.send_frame(&data).await
    }

    async fn close(&mut self) {
        let _ = self.sink.close().await;
    }
}
