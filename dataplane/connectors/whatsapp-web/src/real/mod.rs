//! The real engine on whatsapp-rust 0.7.0: a `Bot` per line, built on the instance's store
//! ([`store::KvBackend`]), chatedge's HTTP stack ([`http::HyperHttp`]), the Tokio runtime of the
//! shard it runs on, an event handler that only translates and enqueues ([`translate`]), and the
//! inbound durability hook (the server's ack waits for the data plane's commit). It reads the
//! phone's history sync for the chat list and poll secrets only ([`history`]), advertises the
//! configured device name, and sends with our wire ids.

pub mod account;
pub mod address_book;
pub mod business;
mod by_day;
mod calls;
pub mod channels;
pub mod chat_list;
pub mod community;
pub mod conformance;
pub mod event;
pub mod history;
pub mod http;
pub mod interactive;
pub mod kept;
pub mod labels;
pub mod picture;
pub mod poll;
mod records;
pub mod store;
#[cfg(test)]
mod tests;
mod voice;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use whatsapp_rust::bot::{Bot, BotHandle};
use whatsapp_rust::types::durability_hook::InboundDurabilityHook;
use whatsapp_rust::wacore::store::device::DevicePropsOverride;
use whatsapp_rust::wacore::types::events::{ConnectFailureReason, Event, EventHandler};
use whatsapp_rust::wacore::types::presence::ReceiptType;
use whatsapp_rust::wacore_binary::JidExt;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::{async_trait, Client, Jid};

use crate::engine::{
    Act, Answer, BoxFuture, ChatPresence, Engine, EngineError, EngineEvent, EngineFactory, EventTx, FileData,
    InboundContent, InboundMessage, InboundSink, LogoutKind, MediaKind, MediaLimits, MessageContext, MessageRef,
    OpenArgs, Outgoing, OutgoingMedia, PinFor, Query, ReceiptKind, SharedContact,
};
use crate::ids::WireId;

/// Names in `info` the members and community groups `context` mentions.
pub fn mention(info: &mut wa::ContextInfo, context: &MessageContext) {
    info.mentioned_jid = context.mentioned.iter().map(|p| Jid::pn(p.as_str()).to_string()).collect();
    info.group_mentions = context
        .groups_mentioned
        .iter()
        .map(|(group, subject)| wa::GroupMention {
            group_jid: Some(jid_of(group).to_string()),
            group_subject: Some(subject.clone()),
        })
        .collect();
}

/// WhatsApp's default background of a text status (its dark green), opaque.
const STATUS_BACKGROUND: u32 = 0xFF1E_6E4F;

/// A text status: WhatsApp shows it on a background, in its system font.
pub fn status_text(text: &str) -> wa::Message {
    use wa::message::extended_text_message::FontType;
    let text = wa::message::ExtendedTextMessage {
        text: Some(text.to_owned()),
        background_argb: Some(STATUS_BACKGROUND),
        font: Some(FontType::SYSTEM),
        ..Default::default()
    };
    wa::Message { extended_text_message: whatsapp_rust::waproto::buffa::MessageField::some(text), ..Default::default() }
}

/// The quote a reply to `quoted` carries, sent to `to` by `me`: who wrote the quoted message,
/// the chat it is in when that is another (a status, another chat), and its body when `kept`.
/// `None`: ours, but our own number is not known yet.
pub fn quote_context(
    quoted: &MessageRef,
    me: Option<Jid>,
    to: &str,
    kept: Option<&wa::Message>,
) -> Option<wa::ContextInfo> {
    use whatsapp_rust::wacore::proto_helpers::build_quote_context_with_info;
    let author = match (quoted.from_me, &quoted.participant) {
        (true, _) => me?,
        (false, Some(member)) => jid_of(member),
        (false, None) => jid_of(&quoted.chat),
    };
    let body = kept.cloned().unwrap_or_default();
    let mut context = build_quote_context_with_info(&quoted.id, &author, &jid_of(&quoted.chat), &jid_of(to), &body);
    if kept.is_none() {
        context.quoted_message = Default::default();
    }
    Some(context)
}

/// Where the real clients connect.
#[derive(Debug, Clone, Default)]
pub struct Endpoint {
    /// The WebSocket URL (`None`: WhatsApp's own). Tests and relays set it.
    pub ws_url: Option<String>,
    /// The WhatsApp Web version to announce (`None`: looked up at web.whatsapp.com once a day).
    pub version: Option<(u32, u32, u32)>,
}

/// Builds real clients.
pub struct RealFactory {
    http: http::HyperHttp,
    endpoint: Endpoint,
}

impl RealFactory {
    pub fn new(endpoint: Endpoint) -> Result<RealFactory, EngineError> {
        #[cfg(feature = "loopback-whatsapp")]
        loopback_only(&endpoint)?;
        Ok(RealFactory { http: http::HyperHttp::new().map_err(EngineError::Unreachable)?, endpoint })
    }
}

/// A build with `loopback-whatsapp` does not check WhatsApp's certificate chain, so it talks to
/// nothing but a server on this machine's loopback.
#[cfg(feature = "loopback-whatsapp")]
fn loopback_only(endpoint: &Endpoint) -> Result<(), EngineError> {
    let host =
        endpoint.ws_url.as_deref().and_then(|url| url.strip_prefix("ws://")).and_then(|rest| rest.split('/').next());
    let loopback =
        host.and_then(|host| host.parse::<std::net::SocketAddr>().ok()).is_some_and(|addr| addr.ip().is_loopback());
    match loopback {
        true => Ok(()),
        false => Err(EngineError::Unreachable(
            "this build of the WhatsApp Web connector (feature loopback-whatsapp, for tests) skips WhatsApp's \
             certificate check, so it connects only to a ws:// address on loopback (network.whatsapp_web.ws_url)"
                .into(),
        )),
    }
}

impl EngineFactory for RealFactory {
    fn open(&self, args: OpenArgs) -> BoxFuture<'_, Result<Arc<dyn Engine>, EngineError>> {
        Box::pin(async move {
            let polls = Arc::new(poll::Polls::new(args.store.clone()));
            let calls = Arc::new(calls::Ringing::default());
            let labels = Arc::new(labels::Labels::new(args.store.clone()));
            let address_book = Arc::new(address_book::AddressBook::new(args.store.clone()));
            let chat_list = Arc::new(chat_list::ChatList::new(args.store.clone()));
            let kept = Arc::new(kept::Kept::new(args.store.clone()));
            let backend = store::KvBackend::new(args.store);
            let props = DevicePropsOverride::new().with_os(args.device_name.clone());
            let mut transport = whatsapp_rust::transport::TokioWebSocketTransportFactory::new();
            if let Some(url) = &self.endpoint.ws_url {
                transport = transport.with_url(url.clone());
            }
            let mut builder = Bot::builder()
                .with_backend(backend)
                .with_transport_factory(transport)
                .with_http_client(self.http.clone())
                .with_event_handler(Forward {
                    events: args.events.clone(),
                    calls: calls.clone(),
                    labels: labels.clone(),
                    address_book: address_book.clone(),
                    chat_list: chat_list.clone(),
                    polls: polls.clone(),
                })
                .with_inbound_durability_hook(Hook {
                    sink: args.inbound,
                    media: args.media,
                    polls: polls.clone(),
                    kept: kept.clone(),
                    chat_list: chat_list.clone(),
                })
                .with_device_props(props);
            if let Some(version) = self.endpoint.version {
                builder = builder.with_version(version);
            }
            let bot = builder.build().await.map_err(|e| EngineError::Store(e.to_string()))?;
            Ok(Arc::new(RealEngine {
                bot: std::sync::Mutex::new(Some(bot)),
                handle: std::sync::Mutex::new(None),
                polls,
                kept,
                known_as: std::sync::Mutex::new(HashMap::new()),
                calls,
                labels,
                address_book,
                chat_list,
            }) as Arc<dyn Engine>)
        })
    }
}

/// One client. `connect` starts the bot's run loop (`spawn`); `shutdown` stops it after its
/// flush.
struct RealEngine {
    bot: std::sync::Mutex<Option<Bot>>,
    handle: std::sync::Mutex<Option<BotHandle>>,
    /// The secrets and options of polls sent and received ([`poll`]).
    polls: Arc<poll::Polls>,
    /// Bodies of messages sent and received, for forwarding ([`kept`]).
    kept: Arc<kept::Kept>,
    /// Numbers written in a form WhatsApp does not register them under, and the form it does
    /// ([`crate::numbers`]); at most [`KNOWN_AS`] of them, forgotten all at once when full.
    known_as: std::sync::Mutex<HashMap<String, String>>,
    /// The calls ringing here ([`calls`]), shared with the event handler.
    calls: Arc<calls::Ringing>,
    /// The account's labels as last synced ([`labels`]), shared with the event handler.
    labels: Arc<labels::Labels>,
    /// The account's address book as last synced ([`address_book`]), shared with the event
    /// handler.
    address_book: Arc<address_book::AddressBook>,
    /// The account's chats as this device has seen them ([`chat_list`]), shared with the event
    /// handler and the inbound hook.
    chat_list: Arc<chat_list::ChatList>,
}

/// How many numbers' registered forms one client remembers.
const KNOWN_AS: usize = 10_000;

impl RealEngine {
    fn client(&self) -> Result<Arc<Client>, EngineError> {
        let handle = self.handle.lock().unwrap_or_else(|p| p.into_inner());
        handle.as_ref().map(|h| h.client()).ok_or(EngineError::NotLoggedIn)
    }

    /// Puts `context` on `message` (to `to`, as registered): the quote of the message it
    /// replies to — WhatsApp shows its body, the kept one when the engine kept it (a message
    /// sent or received in the last 30 days), else none — and whom it mentions.
    async fn set_context(&self, client: &Client, message: &mut wa::Message, context: &MessageContext, to: &str) {
        use whatsapp_rust::wacore::proto_helpers::MessageExt;
        let mut info = match &context.quoted {
            Some(quoted) => {
                let quoted = self.in_chat(client, quoted).await;
                let me = client.pn().map(|me| me.to_non_ad());
                let kept = self.kept.find(&quoted.id, now_ms()).ok().flatten();
                quote_context(&quoted, me, to, kept.as_ref()).unwrap_or_default()
            }
            None => wa::ContextInfo::default(),
        };
        mention(&mut info, context);
        if info != wa::ContextInfo::default() {
            message.set_context_info(info);
        }
    }

    /// Sends `message` as the new body of `edited` (one of ours), under our wire id `id`.
    async fn edit(
        &self,
        client: &Client,
        id: &WireId,
        to: &str,
        edited: &MessageRef,
        message: wa::Message,
    ) -> Result<(), EngineError> {
        if !edited.from_me {
            return Err(EngineError::Refused(format!(
                "{} is not a message this instance sent: only those are edited",
                edited.id
            )));
        }
        let options = whatsapp_rust::send::EditOptions::default().with_stanza_id(id.as_str());
        client
            .edit_message_with_options(jid_of(to), edited.id.clone(), message, options)
            .await
            .map(|_| ())
            .map_err(send_error)
    }

    /// Reports `phone` to WhatsApp as its contact screen does: WhatsApp reports a number by a
    /// message it sent, so the last one received from it here is named (with its body, when
    /// kept); a number nothing was received from cannot be reported.
    async fn report(&self, client: &Client, phone: &str) -> Result<Answer, EngineError> {
        use whatsapp_rust::wacore::types::spam_report::{SpamFlow, SpamReportRequest};
        use whatsapp_rust::waproto::buffa::Message as _;
        let Some((id, at_ms)) = self.chat_list.last_received(phone)? else {
            return Err(EngineError::Refused(format!(
                "WhatsApp reports a number by a message it sent, and none from {phone} was received here"
            )));
        };
        let raw_message = self.kept.find(&id, now_ms()).ok().flatten().map(|m| m.encode_to_vec());
        let request = SpamReportRequest {
            message_id: id,
            message_timestamp: at_ms / 1_000,
            from_jid: Some(Jid::pn(phone)),
            spam_flow: SpamFlow::ContactInfo,
            raw_message,
            ..Default::default()
        };
        client.send_spam_report(request).await.map_err(|e| account::iq_error(&e))?;
        Ok(Answer::Done)
    }

    /// Posts `message` (`body` as built for a chat) to the account's status, seen by the
    /// contacts of the address book as last synced (WhatsApp's "my contacts"), under our wire
    /// id. A post is a text (on WhatsApp's default background), an image or a video.
    async fn post_status(
        &self,
        client: &Client,
        id: &WireId,
        body: &Outgoing,
        message: wa::Message,
    ) -> Result<(), EngineError> {
        use whatsapp_rust::features::StatusSendOptions;
        let message = match body {
            Outgoing::Text(text) => status_text(text),
            Outgoing::Media(m) if matches!(m.kind, MediaKind::Image | MediaKind::Video) => message,
            _ => return Err(EngineError::Refused("a status post is a text, an image or a video".into())),
        };
        let phones = self.address_book.phones()?;
        // A status goes out by private ids: asking WhatsApp about the numbers whose id the
        // engine does not know yet teaches it theirs (one it cannot learn is left out).
        let mut unknown = Vec::new();
        for phone in &phones {
            if !matches!(client.get_lid_pn_entry(&Jid::pn(phone.as_str())).await, Ok(Some(_))) {
                unknown.push(phone.clone());
            }
        }
        if let Err(e) = account::registered(client, &unknown).await {
            tracing::debug!(error = %e, "whatsapp-web: the status's recipients were not looked up");
        }
        let recipients: Vec<Jid> = phones.iter().map(|p| Jid::pn(p.as_str())).collect();
        if recipients.is_empty() {
            return Err(EngineError::Refused(
                "a status post goes to the contacts of the address book, and none have been synced".into(),
            ));
        }
        let options = StatusSendOptions { message_id: Some(id.as_str().to_owned()), ..Default::default() };
        client.status().send_raw(message, &recipients, options).await.map(|_| ()).map_err(send_error)
    }

    /// `target` named in the chat its messages went to ([`RealEngine::recipient`]), so an act on
    /// a message sent to a number's other form finds it.
    async fn in_chat(&self, client: &Client, target: &MessageRef) -> MessageRef {
        MessageRef { chat: self.recipient(client, &target.chat).await, ..target.clone() }
    }

    /// Where a message to `to` goes: a number a country writes two ways goes to the form WhatsApp
    /// registered (asked once, then remembered), as Z-API does; anything else as written. When
    /// WhatsApp cannot be asked or does not know the number, as written.
    async fn recipient(&self, client: &Client, to: &str) -> String {
        if !crate::numbers::has_variant(to) {
            return to.to_owned();
        }
        if let Some(known) = self.known_as.lock().unwrap_or_else(|p| p.into_inner()).get(to) {
            return known.clone();
        }
        let found = match account::registered(client, &[to.to_owned()]).await {
            Ok(found) => found,
            Err(e) => {
                tracing::debug!(error = %e, "whatsapp-web: cannot ask which form of a number is registered");
                return to.to_owned();
            }
        };
        let Some(known) = account::known_as(&found, to).cloned() else {
            return to.to_owned();
        };
        let mut remembered = self.known_as.lock().unwrap_or_else(|p| p.into_inner());
        if remembered.len() >= KNOWN_AS {
            remembered.clear();
        }
        remembered.insert(to.to_owned(), known.clone());
        known
    }
}

/// The key WhatsApp names `target` by; someone else's message in a group also by its author.
pub fn key_of(target: &MessageRef) -> wa::MessageKey {
    let in_group = target.chat.ends_with("-group") && !target.from_me;
    wa::MessageKey {
        remote_jid: Some(jid_of(&target.chat).to_string()),
        from_me: Some(target.from_me),
        id: Some(target.id.clone()),
        participant: target.participant.as_deref().filter(|_| in_group).map(|p| Jid::pn(p).to_string()),
    }
}

/// A delete-for-everyone of a message of ours, as WhatsApp Web sends it (the engine's send
/// path marks the stanza as a sender revoke from the protocol message).
fn revoke(target: &MessageRef) -> wa::Message {
    use whatsapp_rust::waproto::buffa::MessageField;
    wa::Message {
        protocol_message: MessageField::some(wa::message::ProtocolMessage {
            key: MessageField::some(key_of(target)),
            r#type: Some(wa::message::protocol_message::Type::Revoke),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A text whose link WhatsApp shows with a title and description (no picture: it would have to
/// be uploaded as an encrypted thumbnail first).
fn link(text: &str, url: &str, title: &Option<String>, description: &Option<String>) -> wa::Message {
    use whatsapp_rust::waproto::buffa::MessageField;
    wa::Message {
        extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
            text: Some(text.to_owned()),
            matched_text: Some(url.to_owned()),
            title: title.clone(),
            description: description.clone(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn location(latitude: f64, longitude: f64, name: &str, address: &str) -> wa::Message {
    use whatsapp_rust::waproto::buffa::MessageField;
    let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
    wa::Message {
        location_message: MessageField::some(wa::message::LocationMessage {
            degrees_latitude: Some(latitude),
            degrees_longitude: Some(longitude),
            name: given(name),
            address: given(address),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One card as a contact message, several as a contacts array (as the phone sends them).
fn shared_contacts(contacts: &[SharedContact]) -> wa::Message {
    use whatsapp_rust::waproto::buffa::MessageField;
    let card = |c: &SharedContact| wa::message::ContactMessage {
        display_name: Some(c.display_name.clone()),
        vcard: Some(c.vcard.clone()),
        ..Default::default()
    };
    match contacts {
        [one] => wa::Message { contact_message: MessageField::some(card(one)), ..Default::default() },
        many => wa::Message {
            contacts_array_message: MessageField::some(wa::message::ContactsArrayMessage {
                display_name: Some(format!("{} contacts", many.len())),
                contacts: many.iter().map(card).collect(),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

/// Uploads `media`'s file (encrypted, to WhatsApp's media servers) and builds the message that
/// names the upload.
async fn media_message(client: &Client, media: &OutgoingMedia) -> Result<wa::Message, EngineError> {
    Ok(uploaded(upload(client, media.kind, &media.file).await?, media))
}

/// Uploads `file` (encrypted, to WhatsApp's media servers) as a `kind`.
async fn upload(client: &Client, kind: MediaKind, file: &FileData) -> Result<Uploaded, EngineError> {
    let upload = client
        .upload(file.bytes.clone(), upload_type(kind), whatsapp_rust::UploadOptions::default())
        .await
        .map_err(|e| EngineError::Unreachable(format!("media upload failed: {e}")))?;
    Ok(Uploaded::from(upload))
}

/// The media key type a kind's file is encrypted under.
pub fn upload_type(kind: MediaKind) -> whatsapp_rust::wacore::download::MediaType {
    use whatsapp_rust::wacore::download::MediaType;
    match kind {
        MediaKind::Image => MediaType::Image,
        MediaKind::Video | MediaKind::Gif | MediaKind::Ptv => MediaType::Video,
        MediaKind::Audio | MediaKind::Voice => MediaType::Audio,
        MediaKind::Document => MediaType::Document,
        MediaKind::Sticker => MediaType::Sticker,
    }
}

/// Where an uploaded file lives and the keys to it: what every media message repeats.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub url: String,
    pub direct_path: String,
    pub media_key: Vec<u8>,
    pub file_sha256: Vec<u8>,
    pub file_enc_sha256: Vec<u8>,
    pub file_length: u64,
    pub media_key_timestamp: i64,
    /// Audio and video: the table for playing while downloading.
    pub streaming_sidecar: Option<Vec<u8>>,
}

#[cfg(test)]
impl Uploaded {
    /// An upload at `url` as the tests name it: path `/v/t62/u`, 4 bytes, key `[1; 32]`.
    pub fn at(url: &str) -> Uploaded {
        Uploaded {
            url: url.to_owned(),
            direct_path: "/v/t62/u".into(),
            media_key: vec![1; 32],
            file_enc_sha256: vec![2; 32],
            file_sha256: vec![3; 32],
            file_length: 4,
            media_key_timestamp: 1_700_000_000,
            streaming_sidecar: None,
        }
    }
}

impl From<whatsapp_rust::upload::UploadResponse> for Uploaded {
    fn from(u: whatsapp_rust::upload::UploadResponse) -> Uploaded {
        Uploaded {
            url: u.url,
            direct_path: u.direct_path,
            media_key: u.media_key.to_vec(),
            file_sha256: u.file_sha256.to_vec(),
            file_enc_sha256: u.file_enc_sha256.to_vec(),
            file_length: u.file_length,
            media_key_timestamp: u.media_key_timestamp,
            streaming_sidecar: u.streaming_sidecar,
        }
    }
}

/// A media message of type `$ty` naming upload `$u`, with the kind's own fields after.
macro_rules! naming {
    ($ty:ty, $u:expr, { $($field:ident: $value:expr),* $(,)? }) => {{
        let u = $u;
        <$ty>::from_upload(u, |m| { $(m.$field = $value;)* })
    }};
}

/// The CDN fields every media message type carries, filled from an upload.
trait FromUpload: Default {
    fn fill(&mut self, u: Uploaded);
    fn from_upload(u: Uploaded, more: impl FnOnce(&mut Self)) -> Self {
        let mut m = Self::default();
        m.fill(u);
        more(&mut m);
        m
    }
}

macro_rules! from_upload {
    ($($ty:ty),*) => {$(
        impl FromUpload for $ty {
            fn fill(&mut self, u: Uploaded) {
                self.url = Some(u.url);
                self.direct_path = Some(u.direct_path);
                self.media_key = Some(u.media_key);
                self.file_sha256 = Some(u.file_sha256);
                self.file_enc_sha256 = Some(u.file_enc_sha256);
                self.file_length = Some(u.file_length);
                self.media_key_timestamp = Some(u.media_key_timestamp);
            }
        }
    )*};
}

from_upload!(
    wa::message::ImageMessage,
    wa::message::VideoMessage,
    wa::message::AudioMessage,
    wa::message::DocumentMessage,
    wa::message::StickerMessage
);

/// The message naming an uploaded file, as WhatsApp Web builds it: a GIF is a video played in
/// a loop, a video note travels in its own field, a voice message is audio marked push-to-talk
/// (with its length when it is Ogg Opus: [`voice`]), a sticker is WebP unless its type says
/// otherwise.
pub fn uploaded(upload: Uploaded, media: &OutgoingMedia) -> wa::Message {
    use whatsapp_rust::waproto::buffa::MessageField;
    let given = |default: &str| Some(media.file.mime.clone()).filter(|m| !m.is_empty()).or(Some(default.to_owned()));
    let caption = media.caption.clone().filter(|c| !c.is_empty());
    let sidecar = upload.streaming_sidecar.clone();
    let mut message = wa::Message::default();
    match media.kind {
        MediaKind::Image => {
            let image = naming!(wa::message::ImageMessage, upload, { mimetype: given("image/jpeg"), caption: caption });
            message.image_message = MessageField::some(image);
        }
        MediaKind::Video | MediaKind::Gif | MediaKind::Ptv => {
            let gif = (media.kind == MediaKind::Gif).then_some(true);
            let video = naming!(wa::message::VideoMessage, upload, {
                mimetype: given("video/mp4"),
                caption: caption,
                gif_playback: gif,
                streaming_sidecar: sidecar,
            });
            match media.kind {
                MediaKind::Ptv => message.ptv_message = MessageField::some(video),
                _ => message.video_message = MessageField::some(video),
            }
        }
        MediaKind::Audio | MediaKind::Voice => {
            let audio = naming!(wa::message::AudioMessage, upload, {
                mimetype: given("audio/ogg; codecs=opus"),
                seconds: voice::seconds(&media.file.bytes),
                ptt: Some(media.kind == MediaKind::Voice),
                streaming_sidecar: sidecar,
            });
            message.audio_message = MessageField::some(audio);
        }
        MediaKind::Document => {
            let document = naming!(wa::message::DocumentMessage, upload, {
                mimetype: given("application/octet-stream"),
                file_name: media.file_name.clone(),
                title: media.file_name.clone(),
                caption: caption,
            });
            message.document_message = MessageField::some(document);
        }
        MediaKind::Sticker => {
            let sticker = naming!(wa::message::StickerMessage, upload, { mimetype: given("image/webp") });
            message.sticker_message = MessageField::some(sticker);
        }
    }
    match media.view_once {
        true => view_once(message),
        false => message,
    }
}

/// A view-once message: the media's own flag set, inside the view-once wrapper.
fn view_once(mut message: wa::Message) -> wa::Message {
    use whatsapp_rust::waproto::buffa::MessageField;
    if let Some(m) = message.image_message.as_option_mut() {
        m.view_once = Some(true);
    }
    if let Some(m) = message.video_message.as_option_mut() {
        m.view_once = Some(true);
    }
    if let Some(m) = message.audio_message.as_option_mut() {
        m.view_once = Some(true);
    }
    wa::Message {
        view_once_message: MessageField::some(wa::message::FutureProofMessage { message: MessageField::some(message) }),
        ..Default::default()
    }
}

/// A send's failure in the connector's words: a request WhatsApp would refuse is refused (the
/// message fails); anything else left it off the wire (the connection counts as lost).
fn send_error(e: whatsapp_rust::send::SendError) -> EngineError {
    use whatsapp_rust::send::SendError;
    match e {
        SendError::NotLoggedIn => EngineError::NotLoggedIn,
        SendError::InvalidRequest(e) => EngineError::Refused(e.to_string()),
        e => EngineError::Unreachable(e.to_string()),
    }
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
}

/// The JID of a chatedge phone: a number, a group (`…-group`, or an old group's
/// `founder-timestamp`), or an id WhatsApp wrote whole (`…@lid`, `…@newsletter`).
pub fn jid_of(phone: &str) -> Jid {
    if let Some(group) = phone.strip_suffix("-group") {
        return Jid::group(group);
    }
    if phone.contains('@') {
        if let Ok(jid) = phone.parse() {
            return jid;
        }
    }
    match phone.contains('-') {
        true => Jid::group(phone),
        false => Jid::pn(phone),
    }
}

impl Engine for RealEngine {
    fn connect(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        let bot = self.bot.lock().unwrap_or_else(|p| p.into_inner()).take();
        let result = match bot {
            Some(bot) => {
                *self.handle.lock().unwrap_or_else(|p| p.into_inner()) = Some(bot.spawn());
                Ok(())
            }
            None => Err(EngineError::Refused("this client was already started".to_owned())),
        };
        Box::pin(std::future::ready(result))
    }

    fn pair_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<String, EngineError>> {
        Box::pin(async move {
            let client = self.client()?;
            client
                .wait_for_socket(Duration::from_secs(30))
                .await
                .map_err(|e| EngineError::Unreachable(e.to_string()))?;
            let options =
                whatsapp_rust::pair_code::PairCodeOptions { phone_number: phone.to_owned(), ..Default::default() };
            client.pair_with_code(options).await.map_err(|e| EngineError::Refused(e.to_string()))
        })
    }

    fn send<'a>(&'a self, to: &'a str, id: &'a WireId, body: &'a Outgoing) -> BoxFuture<'a, Result<(), EngineError>> {
        Box::pin(async move {
            let client = self.client()?;
            let (body, context) = match body {
                Outgoing::InContext { context, body } => (&**body, Some(context)),
                body => (body, None),
            };
            // Where it goes: a number as WhatsApp registered it (`status@broadcast` as it is).
            let to = self.recipient(&client, to).await;
            let mut message = match body {
                Outgoing::Text(text) => wa::Message { conversation: Some(text.clone()), ..Default::default() },
                Outgoing::Reaction { target, emoji } => whatsapp_rust::wacore::proto_helpers::build_reaction_message(
                    key_of(&self.in_chat(&client, target).await),
                    emoji.as_str(),
                    now_ms() as i64,
                ),
                Outgoing::Revoke { target } => revoke(&self.in_chat(&client, target).await),
                Outgoing::Link { text, url, title, description } => link(text, url, title, description),
                Outgoing::Location { latitude, longitude, name, address } => {
                    location(*latitude, *longitude, name, address)
                }
                Outgoing::Contacts(contacts) => shared_contacts(contacts),
                Outgoing::Media(media) => media_message(&client, media).await?,
                Outgoing::Poll { question, options, max_options } => {
                    let record = self.polls.record_for(id.as_str(), options, now_ms()).await?;
                    poll::creation(question, &record, *max_options)?
                }
                Outgoing::Forward { message } => forwarded(&self.kept, message, now_ms())?,
                Outgoing::PollVote { poll, options } => {
                    let about = about(&client, &self.polls, &self.in_chat(&client, poll).await, "poll")?;
                    poll::vote(&about.record, about.key, &about.creator, &about.me, options, now_ms() as i64)?
                }
                Outgoing::Event(details) => {
                    let record = self.polls.record_for(id.as_str(), &[], now_ms()).await?;
                    event::creation(details, &record.secret)
                }
                Outgoing::EventEdit { event, details } => {
                    let about = about(&client, &self.polls, &self.in_chat(&client, event).await, "event")?;
                    if !about.record.creators.is_empty() {
                        return Err(EngineError::Refused(format!(
                            "the event {} was created by someone else: only its creator edits it",
                            event.id
                        )));
                    }
                    event::edit(details, &about.record, about.key, &about.creator)?
                }
                Outgoing::EventAnswer { event, going } => {
                    let about = about(&client, &self.polls, &self.in_chat(&client, event).await, "event")?;
                    event::answer(*going, &about.record, about.key, &about.creator, &about.me, now_ms() as i64)?
                }
                Outgoing::Buttons { picture, title, text, footer, buttons } => {
                    let picture = match picture {
                        Some(p) => Some(interactive::picture(upload(&client, p.kind, &p.file).await?, p)),
                        None => None,
                    };
                    interactive::buttons(picture, title, text, footer, buttons)
                }
                Outgoing::Carousel { text, cards } => {
                    let mut pictured = Vec::with_capacity(cards.len());
                    for card in cards {
                        let p = &card.picture;
                        pictured.push((interactive::picture(upload(&client, p.kind, &p.file).await?, p), card));
                    }
                    interactive::carousel(text, pictured)
                }
                Outgoing::List { text, title, button, options } => interactive::list(text, title, button, options),
                Outgoing::Pix { key, key_type, merchant } => interactive::pix(key, key_type, merchant, id.as_str()),
                Outgoing::ChannelAdminInvite { channel, caption } => {
                    channels::admin_invite(&client, channel, &to, caption).await?
                }
                Outgoing::InContext { .. } => return Err(EngineError::Refused("a message in two contexts".into())),
            };
            if to == chatedge_config::phone::STATUS_BROADCAST {
                return self.post_status(&client, id, body, message).await;
            }
            if let Some(context) = context {
                self.set_context(&client, &mut message, context, &to).await;
                if let Some(edited) = &context.edits {
                    return self.edit(&client, id, &to, edited, message).await;
                }
            }
            if body.forwardable() {
                // Kept for forwarding; a message that could not be kept is still sent.
                if let Err(e) = self.kept.keep(&[(id.as_str(), &message)], now_ms()).await {
                    tracing::warn!(error = %e, "whatsapp-web: a sent message not kept for forwarding");
                }
            }
            let options = whatsapp_rust::send::SendOptions::default().with_message_id(id.as_str());
            client.send_message_with_options(jid_of(&to), message, options).await.map_err(send_error)?;
            if !body.acts_on_another() {
                let seen = chat_list::Seen::Message { at_ms: now_ms(), incoming: false, name: None, id: None };
                if let Err(e) = self.chat_list.seen(vec![(to, seen)]).await {
                    tracing::warn!(error = %e, "whatsapp-web: a sent message not shown in the chat list");
                }
            }
            Ok(())
        })
    }

    fn act<'a>(&'a self, act: &'a Act) -> BoxFuture<'a, Result<(), EngineError>> {
        use whatsapp_rust::PinDuration;
        Box::pin(async move {
            let client = self.client()?;
            match act {
                Act::Read { chat, ids } => {
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    client
                        .mark_as_read(&jid_of(&self.recipient(&client, chat).await), None, &ids)
                        .await
                        .map_err(|e| EngineError::Unreachable(e.to_string()))
                }
                Act::Pin { target, duration: Some(duration) } => {
                    let target = &self.in_chat(&client, target).await;
                    let duration = match duration {
                        PinFor::Day => PinDuration::Hours24,
                        PinFor::Week => PinDuration::Days7,
                        PinFor::Month => PinDuration::Days30,
                    };
                    client.pin_message(jid_of(&target.chat), key_of(target), duration).await.map_err(send_error)
                }
                Act::Pin { target, duration: None } => {
                    let target = &self.in_chat(&client, target).await;
                    client.unpin_message(jid_of(&target.chat), key_of(target)).await.map_err(send_error)
                }
                Act::DeleteForMe { target } => {
                    let target = &self.in_chat(&client, target).await;
                    client
                        .chat_actions()
                        .delete_message_for_me(&jid_of(&target.chat), None, &target.id, target.from_me, false, None)
                        .await
                        .map_err(|e| EngineError::Unreachable(e.to_string()))
                }
            }
        })
    }

    fn chat_presence<'a>(&'a self, to: &'a str, presence: ChatPresence) -> BoxFuture<'a, Result<(), EngineError>> {
        use whatsapp_rust::ChatStateType;
        Box::pin(async move {
            let client = self.client()?;
            let state = match presence {
                ChatPresence::Composing => ChatStateType::Composing,
                ChatPresence::Recording => ChatStateType::Recording,
                ChatPresence::Paused => ChatStateType::Paused,
            };
            // "Typing…" shows in the chat the message will go to.
            let to = self.recipient(&client, to).await;
            client.chatstate().send(&jid_of(&to), state).await.map_err(|e| EngineError::Unreachable(e.to_string()))
        })
    }

    fn ask<'a>(&'a self, query: &'a Query) -> BoxFuture<'a, Result<Answer, EngineError>> {
        Box::pin(async move {
            let client = self.client()?;
            match query {
                Query::RejectCall(id) => self.calls.reject(&client, id).await.map(|()| Answer::Done),
                Query::Labels | Query::SaveLabel { .. } | Query::DeleteLabel(_) | Query::LabelChat { .. } => {
                    self.labels.ask(&client, query).await
                }
                Query::AddressBook { .. } | Query::SavedContact(_) | Query::SaveContact(_) => {
                    self.address_book.ask(&client, query).await
                }
                Query::ChatList { .. } | Query::ChatEntry(_) => self.chat_list.ask(query),
                Query::Report(phone) => self.report(&client, phone).await,
                Query::Chat { .. } | Query::ChatDisappearing { .. } => {
                    let answer = account::ask(&client, query).await?;
                    // What this device did shows in its list at once (WhatsApp does not echo it).
                    self.chat_list.seen(chat_list::changed(query, now_ms()).into_iter().collect()).await?;
                    Ok(answer)
                }
                query => account::ask(&client, query).await,
            }
        })
    }

    fn own_phone(&self) -> Option<String> {
        self.client().ok()?.pn().map(|jid| jid.user.to_string())
    }

    fn set_unavailable(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        Box::pin(async move {
            let client = self.client()?;
            client.presence().set_unavailable().await.map_err(|e| EngineError::Unreachable(e.to_string()))
        })
    }

    fn logout(&self) -> BoxFuture<'_, Result<(), EngineError>> {
        Box::pin(async move {
            self.client()?.logout().await;
            Ok(())
        })
    }

    fn shutdown(&self) -> BoxFuture<'_, ()> {
        let handle = self.handle.lock().unwrap_or_else(|p| p.into_inner()).take();
        Box::pin(async move {
            if let Some(handle) = handle {
                handle.shutdown().await;
            }
        })
    }
}

/// The engine's event handler: translate, enqueue, never block.
struct Forward {
    events: EventTx,
    calls: Arc<calls::Ringing>,
    labels: Arc<labels::Labels>,
    address_book: Arc<address_book::AddressBook>,
    chat_list: Arc<chat_list::ChatList>,
    polls: Arc<poll::Polls>,
}

impl EventHandler for Forward {
    fn handle_event(&self, event: Arc<Event>) {
        if self.keep_synced(&event) {
            return;
        }
        if let Some(e) = self.calls.follow(&event).or_else(|| translate(&event)) {
            self.events.emit(e);
        }
    }
}

impl Forward {
    /// Keeps what the account's devices synced (app state edits: labels, contacts, chat
    /// settings) and the phone's history (the chat list), off the event bus's thread, in the
    /// engine's part of the store; a newer edit always wins, whatever the order. False: not
    /// such an event.
    fn keep_synced(&self, event: &Arc<Event>) -> bool {
        let synced = matches!(&**event, Event::LabelEditUpdate(_) | Event::ContactUpdate(_) | Event::HistorySync(_));
        let chat_edit = chat_list::edited(event);
        if !synced && chat_edit.is_none() {
            return false;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return true };
        let (labels, book, chats, polls, event) =
            (self.labels.clone(), self.address_book.clone(), self.chat_list.clone(), self.polls.clone(), event.clone());
        runtime.spawn(async move {
            let kept = match &*event {
                Event::LabelEditUpdate(edit) => labels.synced(edit).await,
                Event::ContactUpdate(edit) => book.synced(edit).await,
                Event::HistorySync(history) => {
                    let chunk = history::read(history).await;
                    match polls.keep_all_received(&chunk.polls, now_ms()).await {
                        Ok(()) => chats.seen(chunk.chats).await,
                        Err(e) => Err(e),
                    }
                }
                _ => chats.seen(chat_edit.into_iter().collect()).await,
            };
            if let Err(e) = kept {
                tracing::warn!(error = %e, "whatsapp-web: a synced edit or the history was not kept");
            }
        });
        true
    }
}

fn ms(t: &whatsapp_rust::wacore::chrono::DateTime<whatsapp_rust::wacore::chrono::Utc>) -> u64 {
    t.timestamp_millis().max(0) as u64
}

/// One whatsapp-rust event in the connector's words (`None`: not the connector's concern).
pub fn translate(event: &Event) -> Option<EngineEvent> {
    Some(match event {
        Event::PairingQrCode(q) => EngineEvent::Qr { code: q.code.clone(), valid_for: q.timeout },
        Event::PairingQrCodesExhausted(_) => EngineEvent::QrExhausted,
        Event::PairingCode(c) => EngineEvent::PairCode { code: c.code.clone(), valid_for: c.timeout },
        Event::PairSuccess(p) => EngineEvent::Paired { phone: p.id.user.to_string() },
        Event::PairError(e) => EngineEvent::ConnectFailed { reason: format!("pairing failed: {e:?}") },
        Event::Connected(_) => EngineEvent::Connected { phone: None },
        // The engine announces itself available when the name first arrives.
        Event::SelfPushNameUpdated(u) if u.old_name.is_empty() && !u.new_name.is_empty() => EngineEvent::NameSynced,
        Event::Disconnected(d) => EngineEvent::Disconnected { reason: d.reason.to_string() },
        Event::StreamReplaced(_) => EngineEvent::LoggedOut(LogoutKind::Replaced),
        Event::TemporaryBan(b) => EngineEvent::LoggedOut(LogoutKind::TempBanned { expire: b.expire.to_std().ok() }),
        Event::LoggedOut(l) => EngineEvent::LoggedOut(logout_kind(&l.reason)),
        Event::ConnectFailure(f) => match f.reason {
            ConnectFailureReason::TempBanned
            | ConnectFailureReason::AccountLocked
            | ConnectFailureReason::LoggedOut => EngineEvent::LoggedOut(logout_kind(&f.reason)),
            ref other => EngineEvent::ConnectFailed {
                reason: match &f.message {
                    Some(m) => format!("{other:?}: {m}"),
                    None => format!("{other:?}"),
                },
            },
        },
        Event::ClientOutdated(_) => EngineEvent::ConnectFailed { reason: "this client version is outdated".to_owned() },
        Event::ServerAck(a) if a.class.as_deref() == Some("message") => {
            EngineEvent::ServerAck { id: a.id.clone(), error: a.error.clone() }
        }
        Event::Receipt(r) => {
            let kind = match r.r#type {
                ReceiptType::Delivered => ReceiptKind::Delivered,
                ReceiptType::Read => ReceiptKind::Read,
                ReceiptType::Played => ReceiptKind::Played,
                _ => return None,
            };
            let ids = r.message_ids.iter().map(|id| id.to_string()).collect();
            EngineEvent::Receipt { ids, from: r.source.chat.user.to_string(), kind, at_ms: ms(&r.timestamp) }
        }
        _ => return None,
    })
}

fn logout_kind(reason: &ConnectFailureReason) -> LogoutKind {
    match reason {
        ConnectFailureReason::AccountLocked => LogoutKind::Locked,
        ConnectFailureReason::TempBanned => LogoutKind::TempBanned { expire: None },
        _ => LogoutKind::Unlinked,
    }
}

/// A received message in the connector's words.
pub fn inbound(message: &wa::Message, info: &whatsapp_rust::wacore::types::message::MessageInfo) -> InboundMessage {
    let source = &info.source;
    // In a chat with one person, the other side's phone JID when WhatsApp addressed them by LID.
    let peer_alt = match source.is_from_me {
        true => source.recipient_alt.as_ref(),
        false => source.sender_alt.as_ref(),
    };
    let context = context_of(message);
    InboundMessage {
        quoted: context.and_then(|c| c.stanza_id.clone()).filter(|id| !id.is_empty()),
        forwarded: context.and_then(|c| c.is_forwarded).unwrap_or(false),
        status_reply: context.and_then(|c| c.remote_jid.as_deref()) == Some(chatedge_config::phone::STATUS_BROADCAST),
        id: info.id.to_string(),
        chat: match source.is_group {
            true => format!("{}-group", source.chat.user),
            false => number_of(&source.chat, peer_alt),
        },
        participant: source.is_group.then(|| number_of(&source.sender, source.sender_alt.as_ref())),
        push_name: Some(info.push_name.clone()).filter(|n| !n.is_empty()),
        from_me: source.is_from_me,
        content: content(message),
        at_ms: ms(&info.timestamp),
    }
}

/// The context (quote, forwarding) of a received message: that of its first part that has one,
/// as whatsapp-rust's own `is_forwarded` looks it up (its list is not exported).
fn context_of(message: &wa::Message) -> Option<&wa::ContextInfo> {
    use whatsapp_rust::proto_helpers::MessageExt;
    let m = message.get_base_message();
    macro_rules! first {
        ($($field:ident),+ $(,)?) => {
            None$(.or_else(|| m.$field.as_option().and_then(|x| x.context_info.as_option())))+
        };
    }
    first!(
        extended_text_message,
        image_message,
        video_message,
        ptv_message,
        audio_message,
        document_message,
        sticker_message,
        location_message,
        live_location_message,
        contact_message,
        contacts_array_message,
        buttons_response_message,
        list_response_message,
        template_button_reply_message,
        interactive_response_message,
        poll_creation_message,
        poll_creation_message_v2,
        poll_creation_message_v3,
        event_message,
    )
}

/// The phone number behind `jid`: its user part for a phone JID; for a LID (WhatsApp's privacy
/// id), the user part of its phone JID `alt` when the server sent one, else the LID whole (no
/// number known: the connector skips such a chat rather than invent one).
fn number_of(jid: &Jid, alt: Option<&Jid>) -> String {
    match alt {
        _ if !jid.is_lid() => jid.user.to_string(),
        Some(alt) if alt.is_pn() => alt.user.to_string(),
        _ => jid.to_string(),
    }
}

fn content(message: &wa::Message) -> InboundContent {
    use whatsapp_rust::proto_helpers::MessageExt;
    let view_once = message.is_view_once();
    // Disappearing, view-once and edited messages wrap the message itself.
    let m = message.get_base_message();
    if let Some(text) = &m.conversation {
        return InboundContent::Text(text.clone());
    }
    if let Some(t) = m.extended_text_message.as_option() {
        return InboundContent::Text(t.text.clone().unwrap_or_default());
    }
    let media = |kind, mime: &Option<String>, caption: &Option<String>, seconds: Option<u32>| InboundContent::Media {
        kind,
        mime: mime.clone().unwrap_or_default(),
        caption: caption.clone(),
        file_name: None,
        seconds: seconds.unwrap_or(0),
        view_once,
        file: None,
    };
    if let Some(i) = m.image_message.as_option() {
        return media(MediaKind::Image, &i.mimetype, &i.caption, None);
    }
    if let Some(v) = m.ptv_message.as_option() {
        return media(MediaKind::Ptv, &v.mimetype, &v.caption, v.seconds);
    }
    if let Some(v) = m.video_message.as_option() {
        let kind = if v.gif_playback == Some(true) { MediaKind::Gif } else { MediaKind::Video };
        return media(kind, &v.mimetype, &v.caption, v.seconds);
    }
    if let Some(a) = m.audio_message.as_option() {
        let kind = if a.ptt == Some(true) { MediaKind::Voice } else { MediaKind::Audio };
        return media(kind, &a.mimetype, &None, a.seconds);
    }
    if let Some(d) = m.document_message.as_option() {
        let mut content = media(MediaKind::Document, &d.mimetype, &d.caption, None);
        if let InboundContent::Media { file_name, .. } = &mut content {
            *file_name = d.file_name.clone();
        }
        return content;
    }
    if let Some(s) = m.sticker_message.as_option() {
        return media(MediaKind::Sticker, &s.mimetype, &None, None);
    }
    if let Some(l) = m.location_message.as_option() {
        return InboundContent::Location {
            latitude: l.degrees_latitude.unwrap_or_default(),
            longitude: l.degrees_longitude.unwrap_or_default(),
            name: l.name.clone(),
            address: l.address.clone().unwrap_or_default(),
        };
    }
    if let Some(c) = m.contact_message.as_option() {
        return InboundContent::Contact(SharedContact {
            display_name: c.display_name.clone().unwrap_or_default(),
            vcard: c.vcard.clone().unwrap_or_default(),
        });
    }
    // Z-API's callback has one contact: several arrive as one card holding every vCard (a
    // vCard file may hold several), named as the sender named them.
    if let Some(cards) = m.contacts_array_message.as_option() {
        let names = || cards.contacts.iter().filter_map(|c| c.display_name.clone()).collect::<Vec<_>>().join(", ");
        return InboundContent::Contact(SharedContact {
            display_name: cards.display_name.clone().unwrap_or_else(names),
            vcard: cards.contacts.iter().map(|c| c.vcard.clone().unwrap_or_default()).collect::<Vec<_>>().join("\n"),
        });
    }
    if let Some(r) = m.reaction_message.as_option() {
        if let Some(key) = r.key.as_option() {
            return InboundContent::Reaction {
                target: key.id.clone().unwrap_or_default(),
                from_me: key.from_me.unwrap_or(false),
                emoji: r.text.clone().unwrap_or_default(),
            };
        }
    }
    // A live location arrives as where the sender was when it started sharing.
    if let Some(l) = m.live_location_message.as_option() {
        return InboundContent::Location {
            latitude: l.degrees_latitude.unwrap_or_default(),
            longitude: l.degrees_longitude.unwrap_or_default(),
            name: l.caption.clone(),
            address: String::new(),
        };
    }
    if let Some(p) = poll::question(m) {
        return InboundContent::Poll {
            question: p.name.clone().unwrap_or_default(),
            max_options: p.selectable_options_count.unwrap_or(0),
            options: p.options.iter().map(|o| o.option_name.clone().unwrap_or_default()).collect(),
        };
    }
    if let Some(pin) = m.pin_in_chat_message.as_option() {
        if let Some(key) = pin.key.as_option() {
            use wa::message::pin_in_chat_message::Type;
            let seconds = message.message_context_info.as_option().and_then(|c| c.message_add_on_duration_in_secs);
            return InboundContent::Pin {
                target: key.id.clone().unwrap_or_default(),
                from_me: key.from_me.unwrap_or(false),
                pinned: !matches!(pin.r#type, Some(Type::UNPIN_FOR_ALL)),
                seconds: u64::from(seconds.unwrap_or(0)),
            };
        }
    }
    if let Some(answer) = interactive::answer(m) {
        return answer;
    }
    if let Some(e) = m.event_message.as_option() {
        return event::content(e);
    }
    // A vote on a poll or an answer to an event whose secret is kept is read by the durability
    // hook (`Hook::read_vote`, `Hook::read_event_answer`).
    let name = match () {
        _ if m.poll_update_message.is_set() => "poll vote",
        _ if m.enc_event_response_message.is_set() => "event answer",
        _ => "unsupported",
    };
    InboundContent::Other(name.to_owned())
}

/// The downloadable part of a received media message.
fn downloadable(message: &wa::Message) -> Option<&dyn whatsapp_rust::wacore::download::Downloadable> {
    use whatsapp_rust::proto_helpers::MessageExt;
    let m = message.get_base_message();
    type Source<'m> = &'m dyn whatsapp_rust::wacore::download::Downloadable;
    let sources: [Option<Source<'_>>; 6] = [
        m.image_message.as_option().map(|x| x as Source<'_>),
        m.ptv_message.as_option().map(|x| x as Source<'_>),
        m.video_message.as_option().map(|x| x as Source<'_>),
        m.audio_message.as_option().map(|x| x as Source<'_>),
        m.document_message.as_option().map(|x| x as Source<'_>),
        m.sticker_message.as_option().map(|x| x as Source<'_>),
    ];
    sources.into_iter().flatten().next()
}

/// Downloads (and decrypts) a received message's file into `content`, within `limits`; a file
/// too large, or that cannot be had in time, is left out and said in the log.
async fn download(client: &Client, message: &wa::Message, content: &mut InboundContent, limits: MediaLimits) {
    let (InboundContent::Media { mime, file, .. }, Some(source)) = (content, downloadable(message)) else { return };
    if let Some(size) = source.file_length().filter(|size| *size > limits.max_bytes) {
        tracing::warn!(size, limit = limits.max_bytes, "whatsapp-web: received file too large; delivered without it");
        return;
    }
    match tokio::time::timeout(limits.timeout, client.download(source)).await {
        Ok(Ok(bytes)) if bytes.len() as u64 <= limits.max_bytes => {
            *file = Some(FileData { mime: mime.clone(), bytes });
        }
        Ok(Ok(bytes)) => {
            tracing::warn!(size = bytes.len(), "whatsapp-web: received file too large; delivered without it");
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "whatsapp-web: received file unavailable; delivered without it"),
        Err(_) => tracing::warn!("whatsapp-web: received file download timed out; delivered without it"),
    }
}

/// Who sent a message, as WhatsApp named them (phone and private id), without device.
fn jids(source: &whatsapp_rust::wacore::types::message::MessageSource) -> Vec<String> {
    [Some(&source.sender), source.sender_alt.as_ref()].into_iter().flatten().map(|j| j.to_non_ad_string()).collect()
}

/// The kept body of `message`, marked forwarded as WhatsApp Web does (quote chain and mentions
/// dropped, forwarding score raised, a fresh message secret).
fn forwarded(kept: &kept::Kept, message: &MessageRef, now_ms: u64) -> Result<wa::Message, EngineError> {
    use whatsapp_rust::proto_helpers::MessageExt;
    let body = kept.find(&message.id, now_ms)?.ok_or_else(|| {
        EngineError::Refused(format!(
            "the message {} is not kept here: forwards take messages this instance sent or received in the last {} days",
            message.id,
            kept::KEPT_DAYS
        ))
    })?;
    Ok(*body.prepare_for_forward())
}

/// What a message about a kept poll or event (a vote, an answer, an edit) needs: the kept
/// record, the poll's or event's key as seen from this account, its creator's JID (us, for our
/// own), and our JID in the creator's namespace (LID for one addressed by LID, phone
/// otherwise), as WhatsApp Web does.
struct About {
    record: poll::PollRecord,
    key: wa::MessageKey,
    creator: String,
    me: String,
}

/// [`About`] the kept poll or event (`what`) `target`; one not kept is refused.
fn about(client: &Client, polls: &poll::Polls, target: &MessageRef, what: &str) -> Result<About, EngineError> {
    let record = polls.known(&target.id, now_ms())?.ok_or_else(|| {
        EngineError::Refused(format!(
            "the {what} {} is not known here: only {what}s this instance sent or received since it was paired, in the last {} days, can be answered",
            target.id,
            poll::POLL_DAYS
        ))
    })?;
    let own_pn = client.pn().map(|j| j.to_non_ad_string()).ok_or(EngineError::NotLoggedIn)?;
    let creator = record.creators.first().cloned().unwrap_or_else(|| own_pn.clone());
    let me = match creator.ends_with("@lid") {
        true => client.lid().map(|j| j.to_non_ad_string()).unwrap_or(own_pn),
        false => own_pn,
    };
    let chat = jid_of(&target.chat);
    let key = wa::MessageKey {
        participant: chat.is_group().then(|| creator.clone()),
        remote_jid: Some(chat.to_string()),
        from_me: Some(record.creators.is_empty()),
        id: Some(target.id.clone()),
    };
    Ok(About { record, key, creator, me })
}

/// The durability hook: the batch goes to the data plane; `Ok` (the server's ack) only once
/// it is committed there.
struct Hook {
    sink: Arc<dyn InboundSink>,
    media: MediaLimits,
    polls: Arc<poll::Polls>,
    kept: Arc<kept::Kept>,
    chat_list: Arc<chat_list::ChatList>,
}

#[async_trait]
impl InboundDurabilityHook for Hook {
    async fn on_messages(
        &self,
        client: Arc<Client>,
        batch: &[whatsapp_rust::wacore::types::events::InboundMessage],
    ) -> whatsapp_rust::anyhow::Result<()> {
        let mut messages = Vec::with_capacity(batch.len());
        let mut forwardable = Vec::new();
        for m in batch {
            // A poll's or an event's secret is kept before the ack: votes and answers on it can
            // be read and cast later.
            let creators = || jids(&m.info.source);
            if let Some(record) = poll::received(&m.message, creators).or_else(|| event::received(&m.message, creators))
            {
                let id = &m.info.id;
                self.polls.keep_received(id, &record, now_ms()).await.map_err(|e| whatsapp_rust::anyhow::anyhow!(e))?;
            }
            let mut message = inbound(&m.message, &m.info);
            download(&client, &m.message, &mut message.content, self.media).await;
            self.read_vote(&client, m, &mut message.content);
            self.read_event_answer(&client, m, &mut message.content);
            if matches!(
                message.content,
                InboundContent::Text(_)
                    | InboundContent::Media { .. }
                    | InboundContent::Location { .. }
                    | InboundContent::Contact(_)
                    | InboundContent::Poll { .. }
            ) {
                forwardable.push((m.info.id.as_str(), &*m.message));
            }
            messages.push(message);
        }
        // Kept for forwarding; a message that could not be kept is still delivered.
        if let Err(e) = self.kept.keep(&forwardable, now_ms()).await {
            tracing::warn!(error = %e, "whatsapp-web: received messages not kept for forwarding");
        }
        let seen = messages.iter().filter_map(chat_list::received).collect();
        self.sink.commit(messages).await.map_err(|e| whatsapp_rust::anyhow::anyhow!(e))?;
        if let Err(e) = self.chat_list.seen(seen).await {
            tracing::warn!(error = %e, "whatsapp-web: received messages not shown in the chat list");
        }
        Ok(())
    }
}

impl Hook {
    /// A vote on a poll whose secret is kept (ours, or one received since pairing), read with
    /// it; a vote on any other poll stays named `poll vote`.
    fn read_vote(
        &self,
        client: &Client,
        m: &whatsapp_rust::wacore::types::events::InboundMessage,
        content: &mut InboundContent,
    ) {
        use whatsapp_rust::proto_helpers::MessageExt;
        let Some(update) = m.message.get_base_message().poll_update_message.as_option() else { return };
        let Some(key) = update.poll_creation_message_key.as_option() else { return };
        // The key is the voter's view of the poll (its `fromMe` is theirs): the kept record is
        // what says the poll is ours.
        let Some(poll_id) = key.id.as_deref() else { return };
        let Some((record, creators)) = self.kept(client, poll_id) else { return };
        match poll::chosen(&record, update, poll_id, &creators, &jids(&m.info.source)) {
            Some(options) => *content = InboundContent::PollVote { poll: poll_id.to_owned(), options },
            None => tracing::warn!(poll = poll_id, "whatsapp-web: a vote on one of our polls could not be read"),
        }
    }

    /// An answer to an event whose secret is kept, read with it; an answer to any other event
    /// stays named `event answer`.
    fn read_event_answer(
        &self,
        client: &Client,
        m: &whatsapp_rust::wacore::types::events::InboundMessage,
        content: &mut InboundContent,
    ) {
        use whatsapp_rust::proto_helpers::MessageExt;
        let Some(sealed) = m.message.get_base_message().enc_event_response_message.as_option() else { return };
        let Some(event_id) = sealed.event_creation_message_key.as_option().and_then(|k| k.id.as_deref()) else {
            return;
        };
        let Some((record, creators)) = self.kept(client, event_id) else { return };
        match event::read_answer(&record, sealed, event_id, &creators, &jids(&m.info.source)) {
            Some((going, at_ms)) => *content = InboundContent::EventAnswer { event: event_id.to_owned(), going, at_ms },
            None => tracing::warn!(event = event_id, "whatsapp-web: an answer to an event could not be read"),
        }
    }

    /// The kept record of the poll or event `id`, with the JIDs its creator may be named by
    /// (this account's phone and LID, for ours).
    fn kept(&self, client: &Client, id: &str) -> Option<(poll::PollRecord, Vec<String>)> {
        let record = match self.polls.known(id, now_ms()) {
            Ok(Some(record)) => record,
            Ok(None) => return None,
            Err(e) => {
                tracing::warn!(error = %e, "whatsapp-web: poll or event record unreadable");
                return None;
            }
        };
        let creators = match record.creators.is_empty() {
            true => [client.pn(), client.lid()].into_iter().flatten().map(|j| j.to_non_ad_string()).collect(),
            false => record.creators.clone(),
        };
        Some((record, creators))
    }
}
