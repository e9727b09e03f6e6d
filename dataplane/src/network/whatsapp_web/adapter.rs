//! The WhatsApp Web connector behind the [`Connector`] seam: calls become line commands of
//! [`chatedge_whatsapp_web::WhatsappWeb`], its events become [`NetworkEvent`]s on the shard that
//! owns the instance. The engine's credentials never leave its part of the store, so the
//! session record's [`Credentials`] only mark the network. Texts, media ([`super::media`]),
//! links, locations, contact cards, reactions, deletes, pins, read receipts, polls, votes,
//! forwards, buttons (under a text or a picture), carousels, option lists, PIX keys, events
//! and answers to them are sent (the edges refuse other contents for this network before
//! queueing, [`super::carries`]); received texts, media, locations, contact cards, reactions,
//! polls, votes on polls and answers to events whose secret the engine kept, events, pins, and
//! answers to buttons and lists become received messages; other received types arrive as "waiting for this message". Account
//! calls are asked on the instance's line ([`super::account`]).

use std::sync::Arc;

use chatedge_config::file::WhatsappWebConfig;
use chatedge_config::{InstanceId, Phone};
use chatedge_whatsapp_web as wa;
use tokio::sync::mpsc;

use super::{LineReport, Reports};
use crate::media::{Media, MediaKind};
use crate::network::account::{Account, AccountCall, AccountError, ReplyTx};
use crate::network::incoming::{
    ButtonResponse, Contact, Event, EventPlace, EventResponse, IncomingContent, ListResponse, Location, PinMessage,
    Poll, PollOption, PollVote, Reaction, ReferencedMessage, WaitingMessage,
};
use crate::network::{
    AckId, Connector, Credentials, Generation, IncomingMessage, MessageStatus, NetworkError, NetworkEvent,
    PairingMethod, Presence,
};
use crate::queue::content::action::{PinAction, PinDuration};
use crate::queue::content::card::{ContactCard, LinkPreview};
use crate::queue::content::interactive::{answer_id, ActionButton, Event as QueuedEvent, EventAnswer};
use crate::queue::content::{Action, Card, Interactive};
use crate::queue::{Content, OutboundMessage};

/// What the session record keeps for a WhatsApp Web instance (the keys stay in the engine's store).
pub const CREDENTIALS: &str = "whatsapp-web";

/// The connector settings from `[network.whatsapp_web]`; a received file larger than the
/// largest `[media]` limit is not downloaded (the media store would refuse it).
pub fn settings(c: &WhatsappWebConfig, media: &Media) -> wa::Settings {
    let largest = MediaKind::ALL.iter().map(|kind| media.limit(*kind)).max().unwrap_or(0);
    wa::Settings {
        device_name: c.device_name.clone(),
        connect_timeout: c.connect_timeout,
        lease_ttl: c.lease_ttl,
        lock_backoff: c.lock_backoff,
        temp_ban_backoff: c.temp_ban_backoff,
        inbound_commit_timeout: c.inbound_commit_timeout,
        media: wa::MediaLimits { max_bytes: largest, timeout: c.media_download_timeout },
    }
}

/// The engine's endpoint from `[network.whatsapp_web]` (empty: WhatsApp's own).
#[cfg(feature = "whatsapp-web")]
pub fn endpoint(c: &WhatsappWebConfig) -> wa::real::Endpoint {
    wa::real::Endpoint { ws_url: c.ws_url.clone(), version: c.version }
}

/// Delivers the connector's events to the shard that owns each instance; a received file is
/// put in the media store first.
pub struct ShardSink {
    shards: Vec<mpsc::Sender<NetworkEvent>>,
    metrics: Arc<crate::metrics::Metrics>,
    media: Arc<Media>,
}

impl ShardSink {
    pub fn new(
        shards: Vec<mpsc::Sender<NetworkEvent>>,
        metrics: Arc<crate::metrics::Metrics>,
        media: Arc<Media>,
    ) -> ShardSink {
        ShardSink { shards, metrics, media }
    }
}

impl wa::WaSink for ShardSink {
    fn deliver(&self, mut event: wa::WaEvent) -> wa::BoxFuture<'_, ()> {
        Box::pin(async move {
            let file = take_file(&mut event);
            // The connector only hands over messages whose chat is a phone (see its line).
            let Some((instance, mut event)) = translate(event) else { return };
            if let NetworkEvent::Incoming { message, .. } = &mut event {
                match file {
                    Some(Some(file)) => super::media::keep(&self.media, message, file).await,
                    Some(None) => self.metrics.whatsapp_web_media.with_label_values(&["received", "missing"]).inc(),
                    None => {}
                }
            }
            self.metrics.whatsapp_web_events.with_label_values(&[event.kind()]).inc();
            if let Some(tx) = self.shards.get(instance.shard(self.shards.len())) {
                // A closed channel is a shard that stopped: the data plane is shutting down.
                let _ = tx.send(event).await;
            }
        })
    }
}

/// The file a received media message brought, taken out of it (the event goes on without the
/// bytes): `None` for any other event, `Some(None)` for media whose file the engine could not
/// download.
fn take_file(event: &mut wa::WaEvent) -> Option<Option<wa::FileData>> {
    match event {
        wa::WaEvent::Incoming { message, .. } => match &mut message.content {
            wa::InboundContent::Media { file, .. } => Some(file.take()),
            _ => None,
        },
        _ => None,
    }
}

/// A connector event as the shard's network event (`None`: a received message whose chat is
/// not a phone, which the connector never hands over).
pub fn translate(event: wa::WaEvent) -> Option<(InstanceId, NetworkEvent)> {
    use wa::WaEvent as W;
    let e = match event {
        W::PairingCode { instance, generation, code, valid_for } => {
            NetworkEvent::PairingCode { instance, generation: Generation(generation), code, valid_for }
        }
        W::PairingExpired { instance, generation } => {
            NetworkEvent::PairingExpired { instance, generation: Generation(generation) }
        }
        W::Connected { instance, generation, phone } => NetworkEvent::Connected {
            instance,
            generation: Generation(generation),
            phone,
            credentials: Credentials(CREDENTIALS.to_owned()),
            ack: None,
        },
        W::Disconnected { instance, generation, reason, logged_out } => {
            NetworkEvent::Disconnected { instance, generation: Generation(generation), reason, logged_out, ack: None }
        }
        W::Accepted { instance, generation, message_id, at_ms } => {
            NetworkEvent::Accepted { instance, generation: Generation(generation), message_id, at_ms, ack: None }
        }
        W::Rejected { instance, generation, message_id, reason } => {
            NetworkEvent::Rejected { instance, generation: Generation(generation), message_id, reason, ack: None }
        }
        W::Status { instance, message_id, phone, status, at_ms } => {
            let status = match status {
                wa::Receipt::Delivered => MessageStatus::Received,
                wa::Receipt::Read => MessageStatus::Read,
                wa::Receipt::Played => MessageStatus::Played,
            };
            NetworkEvent::Status { instance, message_id, phone, status, at_ms, ack: None }
        }
        W::Incoming { instance, message, ack } => {
            let m = incoming(*message)?;
            NetworkEvent::Incoming { instance, message: Box::new(m), ack: Some(AckId(ack)) }
        }
        W::Call { instance, call_id, phone, video, missed, at_ms } => {
            NetworkEvent::Call { instance, call_id, from: phone, video, missed, at_ms }
        }
    };
    Some((e.instance(), e))
}

/// Buttons, an option list or a PIX key as the engine sends them (`None`: not carried, see
/// [`super::carries`]). Reply buttons and options without an id are answered with their
/// position (from 1), as on the Cloud API ([`answer_id`]).
fn buttons_or_list(content: &Interactive) -> Option<wa::Outgoing> {
    Some(match content {
        Interactive::ButtonActions { message, title, footer, buttons } => wa::Outgoing::Buttons {
            picture: None,
            title: title.clone(),
            text: message.clone(),
            footer: footer.clone(),
            buttons: action_buttons(buttons),
        },
        Interactive::ButtonList { message, buttons, .. } => wa::Outgoing::Buttons {
            picture: None,
            title: None,
            text: message.clone(),
            footer: None,
            buttons: buttons
                .iter()
                .enumerate()
                .map(|(n, b)| wa::Button::Reply { id: answer_id(&b.id, n), label: b.label.clone() })
                .collect(),
        },
        Interactive::OptionList { message, title, button_label, options } => wa::Outgoing::List {
            text: message.clone(),
            title: title.clone(),
            button: button_label.clone(),
            options: options
                .iter()
                .enumerate()
                .map(|(n, o)| wa::ListRow {
                    id: answer_id(&o.id, n),
                    title: o.title.clone(),
                    description: o.description.clone(),
                })
                .collect(),
        },
        Interactive::ButtonOtp { message, code, button_text, .. } => wa::Outgoing::Buttons {
            picture: None,
            title: None,
            text: message.clone(),
            footer: None,
            buttons: vec![wa::Button::Copy { label: button_text.clone(), code: code.clone() }],
        },
        Interactive::ButtonPix { pix_key, key_type, merchant_name } => wa::Outgoing::Pix {
            key: pix_key.clone(),
            key_type: key_type.name().to_owned(),
            merchant: merchant_name.clone(),
        },
        _ => return None,
    })
}

/// Send-button-actions' and carousel cards' buttons as the engine's.
fn action_buttons(buttons: &[ActionButton]) -> Vec<wa::Button> {
    buttons
        .iter()
        .enumerate()
        .map(|(n, b)| match b {
            ActionButton::Reply { id, label } => wa::Button::Reply { id: answer_id(id, n), label: label.clone() },
            ActionButton::Url { label, url, .. } => wa::Button::Url { label: label.clone(), url: url.clone() },
            ActionButton::Call { label, phone, .. } => wa::Button::Call { label: label.clone(), phone: phone.clone() },
        })
        .collect()
}

/// Buttons under a picture, or a carousel, as the engine sends them once their pictures are
/// read (`None`: `content` shows no picture).
fn pictured(content: &Interactive, media: &Arc<Media>) -> Option<wa::WithFiles> {
    let pictures = content.media();
    if pictures.is_empty() {
        return None;
    }
    let kinds: Vec<_> = pictures.iter().map(|(kind, _)| super::media::wire_kind(*kind)).collect();
    let files = pictures.into_iter().map(|(kind, source)| super::media::queued_file(media, kind, source)).collect();
    let picture = |(file, kind)| wa::Picture { kind, file };
    let outgoing = match content {
        Interactive::Carousel { message, cards } => {
            let text = message.clone();
            let cards: Vec<_> = cards.iter().map(|c| (c.text.clone(), action_buttons(&c.buttons))).collect();
            wa::WithFiles::new(files, move |read| {
                let cards = cards
                    .into_iter()
                    .zip(read.zip(kinds))
                    .map(|((text, buttons), shown)| wa::Card { picture: picture(shown), text, buttons })
                    .collect();
                wa::Outgoing::Carousel { text, cards }
            })
        }
        other => {
            let wa::Outgoing::Buttons { title, text, footer, buttons, .. } = buttons_or_list(other)? else {
                return None;
            };
            wa::WithFiles::new(files, move |read| wa::Outgoing::Buttons {
                picture: read.zip(kinds).next().map(picture),
                title,
                text,
                footer,
                buttons,
            })
        }
    };
    Some(outgoing)
}

/// Message `id` (as the integrator knows it) of `chat`: ours by its wire id, others' by theirs.
/// Whose it is comes from `from_me` when the act says, else from the message index's `indexed`
/// entry (which also names who wrote it, in a group), else from the id's shape.
fn named(chat: &str, id: &str, from_me: Option<bool>, indexed: Option<crate::message_index::Entry>) -> wa::MessageRef {
    let (wire, shaped_ours) = wa::ids::named(id);
    let from_me = from_me.or(indexed.as_ref().map(|e| e.from_me)).unwrap_or(shaped_ours);
    let participant = indexed.and_then(|e| e.participant).map(|p| p.as_str().to_owned());
    let id = if from_me { wire } else { id.to_owned() };
    wa::MessageRef { chat: chat.to_owned(), id, from_me, participant }
}

/// A received message as the data plane's.
fn incoming(m: wa::InboundMessage) -> Option<IncomingMessage> {
    let from = Phone::parse(&m.chat).ok()?;
    let writer = m.participant.clone().unwrap_or_else(|| m.chat.clone());
    let content = match m.content {
        wa::InboundContent::Text(text) => IncomingMessage::text(from.clone(), text).content,
        wa::InboundContent::Media { kind, mime, caption, file_name, seconds, view_once, file: _ } => {
            super::media::received(kind, mime, caption, file_name, seconds, view_once)
        }
        wa::InboundContent::Location { latitude, longitude, name, address } => IncomingContent::Location(Location {
            latitude,
            longitude,
            name,
            address,
            url: String::new(),
            thumbnail_url: None,
        }),
        wa::InboundContent::Contact(card) => IncomingContent::Contact(Contact {
            phones: card_phones(&card.vcard),
            display_name: card.display_name,
            v_card: card.vcard,
        }),
        wa::InboundContent::Reaction { target, from_me, emoji } => IncomingContent::Reaction(Reaction {
            value: emoji,
            time: m.at_ms,
            reaction_by: m.participant.clone().unwrap_or_else(|| m.chat.clone()),
            referenced_message: referenced(target, from_me, &m.chat),
        }),
        wa::InboundContent::Poll { question, max_options, options } => IncomingContent::Poll(Poll {
            question,
            poll_max_options: max_options,
            options: options.into_iter().map(|name| PollOption { name }).collect(),
        }),
        wa::InboundContent::Pin { target, from_me, pinned, seconds } => IncomingContent::PinMessage(PinMessage {
            action: if pinned { "pin" } else { "unpin" }.to_owned(),
            pin_duration_in_secs: seconds,
            referenced_message: referenced(target, from_me, &m.chat),
        }),
        wa::InboundContent::PollVote { poll, options } => IncomingContent::PollVote(PollVote {
            poll_message_id: as_integrator_knows(poll),
            options: options.into_iter().map(|name| PollOption { name }).collect(),
        }),
        wa::InboundContent::Event { details, join_link } => IncomingContent::Event(Event {
            name: details.name,
            description: details.description.unwrap_or_default(),
            canceled: details.canceled,
            join_link: join_link.unwrap_or_default(),
            schedule_time: u64::try_from(details.start_s).unwrap_or(0),
            location: EventPlace { name: details.place, ..EventPlace::default() },
        }),
        wa::InboundContent::EventAnswer { event, going, at_ms } => IncomingContent::EventResponse(EventResponse {
            response: if going { EventAnswer::Going } else { EventAnswer::NotGoing }.as_str().to_owned(),
            response_from: writer,
            time: at_ms,
            referenced_message: referenced(event.clone(), wa::WireId::ours(&event).is_some(), &m.chat),
        }),
        wa::InboundContent::ButtonReply { id, text } => {
            IncomingContent::ButtonResponse(ButtonResponse { button_id: id, message: text })
        }
        // Z-API's `message` is the picked option's description, its `title` the option's title.
        wa::InboundContent::ListReply { id, title, description } => {
            IncomingContent::ListResponse(ListResponse { message: description, title, selected_row_id: id })
        }
        wa::InboundContent::Other(_) => IncomingContent::WaitingMessage(WaitingMessage { view_once: false }),
    };
    Some(IncomingMessage {
        id: m.id,
        participant: m.participant.as_deref().and_then(|p| Phone::parse(p).ok()),
        sender_name: m.push_name,
        // A reply to one of our messages names it by chatedge's id, as its DeliveryCallback did.
        reference_message_id: m.quoted.map(as_integrator_knows),
        forwarded: m.forwarded,
        status_reply: m.status_reply,
        at_ms: m.at_ms,
        content,
        ..IncomingMessage::text(from, String::new())
    })
}

/// A message's id as the integrator knows it: chatedge's `messageId` for one of ours (sent as
/// `3EB0` + that id), the wire's id for anyone else's.
fn as_integrator_knows(wire: String) -> String {
    wa::WireId::ours(&wire).map_or(wire, |ours| ours.to_string())
}

/// The earlier message of `chat` a reaction or pin is about.
fn referenced(target: String, from_me: bool, chat: &str) -> ReferencedMessage {
    ReferencedMessage { message_id: as_integrator_knows(target), from_me, phone: chat.to_owned(), participant: None }
}

/// The numbers a vCard names (`TEL…:+55 11 98888-7777` → `5511988887777`).
fn card_phones(vcard: &str) -> Vec<String> {
    vcard
        .lines()
        .filter(|line| line.to_ascii_uppercase().starts_with("TEL"))
        .filter_map(|line| line.rsplit_once(':'))
        .map(|(_, number)| number.chars().filter(char::is_ascii_digit).collect::<String>())
        .filter(|digits| !digits.is_empty())
        .collect()
}

/// One shard's connector.
pub struct WhatsappWebConnector {
    inner: wa::WhatsappWeb,
    events: mpsc::Sender<NetworkEvent>,
    /// Where the message index is read (whose message an act is about).
    store: Arc<crate::store::Store>,
    /// Where the files of media messages are read or fetched.
    media: Arc<Media>,
}

impl WhatsappWebConnector {
    pub fn new(
        shared: Arc<wa::Shared>,
        events: mpsc::Sender<NetworkEvent>,
        store: Arc<crate::store::Store>,
        media: Arc<Media>,
    ) -> Self {
        WhatsappWebConnector { inner: wa::WhatsappWeb::new(shared), events, store, media }
    }

    /// Whether `ack` was handed out by this connector.
    pub fn owns(ack: AckId) -> bool {
        wa::WhatsappWeb::owns(ack.0)
    }
}

/// The line reports `status` reads.
pub fn reports(shared: Arc<wa::Shared>) -> Reports {
    Arc::new(move |instance| match shared.state(instance) {
        wa::LineState::Unreachable { reason } => {
            LineReport { state: "unreachable", error: Some(reason), retry_at_ms: None }
        }
        wa::LineState::CoolingDown { until_ms, reason } => {
            LineReport { state: "cooling_down", error: Some(reason), retry_at_ms: Some(until_ms) }
        }
        other => LineReport { state: other.label(), error: None, retry_at_ms: None },
    })
}

impl WhatsappWebConnector {
    /// The message `message`'s act is about, named by `id` as the integrator knows it: our
    /// messages by their chatedge id, others' by the id WhatsApp gave them. Whose it is comes
    /// from `from_me` when the act says, else from the message index (what this instance sent
    /// or received: also who wrote it, in a group), else from the id's shape.
    fn target(&self, message: &OutboundMessage, id: &str, from_me: Option<bool>) -> wa::MessageRef {
        named(message.phone.as_str(), id, from_me, self.indexed(message, id))
    }

    /// What the message index says of message `id` of `message`'s instance, if anything.
    fn indexed(&self, message: &OutboundMessage, id: &str) -> Option<crate::message_index::Entry> {
        let rows = crate::message_index::find(&self.store, id, chatedge_config::time::unix_ms()).ok()?;
        rows.into_iter().find(|(i, _)| *i == message.instance).map(|(_, entry)| entry)
    }

    /// What `message` carries beside its body (the message it replies to, whom it mentions,
    /// the message of ours it edits), and the chat it goes to: a private answer to a group
    /// message goes to its author.
    fn context(&self, message: &OutboundMessage) -> (wa::MessageContext, Phone) {
        let quoted = message.reply_to.as_deref().map(|r| self.quoted(message, r));
        let privately = quoted.as_ref().filter(|_| message.private_answer).and_then(|q| q.participant.as_deref());
        let chat = privately.and_then(|p| Phone::parse(p).ok()).unwrap_or_else(|| message.phone.clone());
        let context = wa::MessageContext {
            quoted,
            mentioned: message.mentioned.iter().map(|p| p.as_str().to_owned()).collect(),
            groups_mentioned: message
                .group_mentioned
                .iter()
                .map(|g| (g.phone.as_str().to_owned(), g.subject.clone()))
                .collect(),
            edits: message.edit_message_id.as_deref().map(|e| self.target(message, e, None)),
        };
        (context, chat)
    }

    /// The message `id` a reply answers, in the chat it is in: the message index knows it when
    /// the instance sent or received it (a status: in `status@broadcast`, by its author);
    /// otherwise a message of this chat, ours when its id has our shape.
    fn quoted(&self, message: &OutboundMessage, id: &str) -> wa::MessageRef {
        let indexed = self.indexed(message, id);
        let chat = indexed.as_ref().map_or(&message.phone, |e| &e.chat).as_str().to_owned();
        named(&chat, id, None, indexed)
    }

    /// Refuses what the connector cannot put on the wire (the edges refuse it before queueing;
    /// this covers messages queued before a network change).
    fn refuse(&self, message: &OutboundMessage, generation: Generation) -> Result<(), NetworkError> {
        let reason = super::carries(&message.content).err().unwrap_or("not sent on WhatsApp Web");
        self.reject(message, generation, reason)
    }

    /// Fails `message` for good, naming `reason`.
    fn reject(&self, message: &OutboundMessage, generation: Generation, reason: &str) -> Result<(), NetworkError> {
        let _ = self.events.try_send(NetworkEvent::Rejected {
            instance: message.instance,
            generation,
            message_id: message.message_id,
            reason: reason.to_owned(),
            ack: None,
        });
        Ok(())
    }
}

const UNREADABLE_START: &str = "the event's dateTime is not an ISO 8601 date and time";

/// An event as the engine sends it (`None`: its start cannot be read).
fn event_details(event: &QueuedEvent) -> Option<wa::EventDetails> {
    Some(wa::EventDetails {
        name: event.name.clone(),
        description: event.description.clone(),
        start_s: event.start_s()?,
        place: event.location.as_ref().map(|l| l.name.clone()),
        canceled: event.canceled,
    })
}

/// A text with its link's preview (its picture is not sent).
fn link(text: &str, preview: &LinkPreview) -> wa::Outgoing {
    wa::Outgoing::Link {
        text: text.to_owned(),
        url: preview.url.clone(),
        title: preview.title.clone(),
        description: preview.description.clone(),
    }
}

fn contact(card: &ContactCard) -> wa::SharedContact {
    wa::SharedContact { display_name: card.name.clone(), vcard: card.vcard() }
}

/// A line command's fate: on the line, or no line of that connection.
fn on_the_line(taken: bool) -> Result<(), NetworkError> {
    match taken {
        true => Ok(()),
        false => Err(NetworkError::NotConnected),
    }
}

impl Connector for WhatsappWebConnector {
    fn resume(&mut self, instance: InstanceId, _credentials: &Credentials, generation: Generation) {
        self.inner.start(instance, generation.0, wa::Start::Resume);
    }

    fn start_pairing(&mut self, instance: InstanceId, generation: Generation, method: PairingMethod) {
        let start = match method {
            PairingMethod::Qr => wa::Start::PairQr,
            PairingMethod::PhoneCode(phone) => {
                wa::Start::PairCode(phone.as_str().chars().filter(char::is_ascii_digit).collect())
            }
            PairingMethod::Registration => {
                let _ = self.events.try_send(NetworkEvent::Disconnected {
                    instance,
                    generation,
                    reason: "registering a number is not available on the WhatsApp Web network".to_owned(),
                    logged_out: false,
                    ack: None,
                });
                return;
            }
        };
        self.inner.start(instance, generation.0, start);
    }

    fn close(&mut self, instance: InstanceId, logout: bool) {
        self.inner.close(instance, logout);
    }

    fn send(&mut self, message: &OutboundMessage, generation: Generation) -> Result<(), NetworkError> {
        if super::carries(&message.content).is_err() {
            return self.refuse(message, generation);
        }
        let (context, chat) = self.context(message);
        let (instance, g, id) = (message.instance, generation.0, message.message_id);
        let body = match &message.content {
            Content::Text { message: text, preview: None } => wa::Outgoing::Text(text.clone()),
            Content::Text { message: text, preview: Some(preview) } => link(text, preview),
            Content::Card(card) => match card.as_ref() {
                Card::Link { message: text, preview, .. } => link(text, preview),
                Card::Location { latitude, longitude, title, address } => wa::Outgoing::Location {
                    latitude: *latitude,
                    longitude: *longitude,
                    name: title.clone(),
                    address: address.clone(),
                },
                Card::Contact(card) => wa::Outgoing::Contacts(vec![contact(card)]),
                Card::Contacts { contacts } => wa::Outgoing::Contacts(contacts.iter().map(contact).collect()),
                Card::NewsletterAdminInvite { newsletter_id, caption } => wa::Outgoing::ChannelAdminInvite {
                    channel: newsletter_id.as_str().to_owned(),
                    caption: caption.clone(),
                },
            },
            Content::Interactive(interactive) => match interactive.as_ref() {
                Interactive::Poll { message: question, options, max_options } => wa::Outgoing::Poll {
                    question: question.clone(),
                    options: options.clone(),
                    max_options: max_options.unwrap_or(0),
                },
                // Our polls are named by chatedge's id, received ones by their wire id.
                Interactive::PollVote { poll_message_id, votes } => {
                    wa::Outgoing::PollVote { poll: self.target(message, poll_message_id, None), options: votes.clone() }
                }
                Interactive::Event { event } => match event_details(event) {
                    Some(details) => wa::Outgoing::Event(details),
                    None => return self.reject(message, generation, UNREADABLE_START),
                },
                Interactive::EditEvent { event_message_id, event } => match event_details(event) {
                    Some(details) => {
                        wa::Outgoing::EventEdit { event: self.target(message, event_message_id, None), details }
                    }
                    None => return self.reject(message, generation, UNREADABLE_START),
                },
                Interactive::EventResponse { event_message_id, response } => wa::Outgoing::EventAnswer {
                    event: self.target(message, event_message_id, None),
                    going: *response == EventAnswer::Going,
                },
                other => {
                    if let Some(with_pictures) = pictured(other, &self.media) {
                        let with_pictures = with_pictures.in_context(context);
                        return on_the_line(self.inner.send_with_files(instance, g, id, chat, with_pictures));
                    }
                    match buttons_or_list(other) {
                        Some(body) => body,
                        None => return self.refuse(message, generation),
                    }
                }
            },
            Content::Media(media) => {
                let media = wa::WithFiles::from(super::media::to_send(media, &self.media)).in_context(context);
                return on_the_line(self.inner.send_with_files(instance, g, id, chat, media));
            }
            Content::Action(action) => match action.as_ref() {
                Action::Read { message_id } => {
                    let target = self.target(message, message_id, None);
                    let act = wa::Act::Read { chat: target.chat, ids: vec![target.id] };
                    return on_the_line(self.inner.act(instance, g, id, act));
                }
                Action::Pin { message_id, action, duration } => {
                    let target = self.target(message, message_id, None);
                    let duration = match action {
                        PinAction::Pin => Some(match duration.unwrap_or(PinDuration::Days7) {
                            PinDuration::Hours24 => wa::PinFor::Day,
                            PinDuration::Days7 => wa::PinFor::Week,
                            PinDuration::Days30 => wa::PinFor::Month,
                        }),
                        PinAction::Unpin => None,
                    };
                    return on_the_line(self.inner.act(instance, g, id, wa::Act::Pin { target, duration }));
                }
                Action::Delete { message_id, owner: false } => {
                    let target = self.target(message, message_id, None);
                    return on_the_line(self.inner.act(instance, g, id, wa::Act::DeleteForMe { target }));
                }
                Action::Reaction { message_id, reaction } => {
                    wa::Outgoing::Reaction { target: self.target(message, message_id, None), emoji: reaction.clone() }
                }
                Action::RemoveReaction { message_id } => {
                    wa::Outgoing::Reaction { target: self.target(message, message_id, None), emoji: String::new() }
                }
                Action::Delete { message_id, owner: true } => {
                    wa::Outgoing::Revoke { target: self.target(message, message_id, Some(true)) }
                }
                // The message is named in the chat it is in; it goes to this message's chat.
                Action::Forward { message_id, message_phone } => wa::Outgoing::Forward {
                    message: wa::MessageRef {
                        chat: message_phone.as_str().to_owned(),
                        ..self.target(message, message_id, None)
                    },
                },
            },
            _ => return self.refuse(message, generation),
        };
        on_the_line(self.inner.send(instance, g, id, chat, body.in_context(context)))
    }

    fn account(&mut self, instance: InstanceId, account: Account, call: AccountCall, reply: ReplyTx) {
        let Some(asker) = self.inner.asker(&instance) else {
            let _ = reply.send(Err(AccountError::NotConnected));
            return;
        };
        // Owned by the shard's LocalSet; ends once WhatsApp answered (or the line ended).
        let media = self.media.clone();
        tokio::task::spawn_local(async move {
            let _ = reply.send(super::account::call(&asker, &media, &account, call).await);
        });
    }

    fn send_presence(&mut self, instance: InstanceId, to: &Phone, presence: Presence) {
        let presence = match presence {
            Presence::Composing => wa::ChatPresence::Composing,
            Presence::Recording => wa::ChatPresence::Recording,
            Presence::Paused => wa::ChatPresence::Paused,
            Presence::Available | Presence::Unavailable => return,
        };
        self.inner.chat_presence(instance, to.clone(), presence);
    }

    fn reject_call(&mut self, instance: InstanceId, call_id: &str) {
        let Some(asker) = self.inner.asker(&instance) else { return }; // no line: nothing rings
        let call_id = call_id.to_owned();
        // Owned by the shard's LocalSet; a call that stopped ringing meanwhile is left as it is.
        tokio::task::spawn_local(async move {
            if let Err(e) = asker.ask(wa::Query::RejectCall(call_id.clone())).await {
                tracing::info!(%instance, call = %call_id, error = %e, "whatsapp-web: the call was not rejected");
            }
        });
    }

    fn ack(&mut self, _instance: InstanceId, ack: AckId) {
        self.inner.ack(ack.0);
    }
}

/// What every shard's connector shares: the real engine factory, the store's
/// [`crate::store::Cf::WhatsappWeb`] family, the settings and the sink into the shards.
#[cfg(feature = "whatsapp-web")]
pub fn shared(
    config: &WhatsappWebConfig,
    store: Arc<crate::store::Store>,
    shards: Vec<mpsc::Sender<NetworkEvent>>,
    metrics: Arc<crate::metrics::Metrics>,
    media: Arc<Media>,
) -> Result<Arc<wa::Shared>, String> {
    let factory = wa::real::RealFactory::new(endpoint(config)).map_err(|e| e.to_string())?;
    Ok(wa::Shared::new(
        Arc::new(factory),
        Arc::new(crate::network::kv::StoreKv::new(store)),
        settings(config, &media),
        Arc::new(ShardSink::new(shards, metrics, media)),
        wa::Shared::wall_clock(),
    ))
}

#[cfg(test)]
mod tests {
    use chatedge_config::MessageId;

    use super::*;

    #[test]
    fn its_acknowledgements_are_told_apart_from_other_networks() {
        assert!(super::super::owns(AckId(wa::FIRST_ACK)));
        assert!(!super::super::owns(AckId(1 << 63)), "the Cloud API's");
        assert!(!super::super::owns(AckId(7)), "the sim's");
    }

    #[test]
    fn connector_events_become_the_shards_network_events() {
        let instance = InstanceId::from_bytes([9; 16]);
        let id = MessageId::generate();
        let phone = Phone::parse("5511988887777").unwrap();
        let status = |s| wa::WaEvent::Status { instance, message_id: id, phone: phone.clone(), status: s, at_ms: 1 };
        for (receipt, expected) in [
            (wa::Receipt::Delivered, MessageStatus::Received),
            (wa::Receipt::Read, MessageStatus::Read),
            (wa::Receipt::Played, MessageStatus::Played),
        ] {
            match translate(status(receipt)) {
                Some((i, NetworkEvent::Status { status, message_id, .. })) => {
                    assert_eq!((i, status, message_id), (instance, expected, id));
                }
                other => panic!("{other:?}"),
            }
        }
        let connected = wa::WaEvent::Connected { instance, generation: 4, phone: phone.clone() };
        match translate(connected) {
            Some((_, NetworkEvent::Connected { generation, credentials, .. })) => {
                assert_eq!(generation, Generation(4));
                assert_eq!(credentials, Credentials(CREDENTIALS.to_owned()));
            }
            other => panic!("{other:?}"),
        }
        let received = |content| wa::WaEvent::Incoming {
            instance,
            message: Box::new(wa::InboundMessage {
                quoted: None,
                forwarded: false,
                status_reply: false,
                id: "ABC".into(),
                chat: "5511988887777".into(),
                participant: None,
                push_name: Some("Ana".into()),
                from_me: false,
                content,
                at_ms: 3,
            }),
            ack: wa::FIRST_ACK + 1,
        };
        match translate(received(wa::InboundContent::Text("oi".into()))) {
            Some((_, NetworkEvent::Incoming { message, ack, .. })) => {
                assert_eq!(ack, Some(AckId(wa::FIRST_ACK + 1)), "held until the outbox commit");
                assert_eq!((message.id.as_str(), message.sender_name.as_deref()), ("ABC", Some("Ana")));
                assert_eq!(message.content, IncomingMessage::text(phone.clone(), "oi".into()).content);
            }
            other => panic!("{other:?}"),
        }
        let media = wa::InboundContent::Media {
            kind: wa::MediaKind::Image,
            mime: "image/jpeg".into(),
            caption: None,
            file_name: None,
            seconds: 0,
            view_once: true,
            file: None,
        };
        match translate(received(media)) {
            Some((_, NetworkEvent::Incoming { message, .. })) => {
                let image = crate::network::incoming::ReceivedImage {
                    mime_type: Some("image/jpeg".into()),
                    view_once: true,
                    ..Default::default()
                };
                assert_eq!(message.content, IncomingContent::Image(image));
            }
            other => panic!("{other:?}"),
        }
        // A reply to one of our status posts names it by chatedge's id and says so.
        let status = MessageId::generate();
        let mut reply = received(wa::InboundContent::Text("lindo!".into()));
        if let wa::WaEvent::Incoming { message, .. } = &mut reply {
            (message.quoted, message.status_reply) = (Some(wa::WireId::of(&status).as_str().to_owned()), true);
        }
        match translate(reply) {
            Some((_, NetworkEvent::Incoming { message, .. })) => {
                assert!(message.status_reply);
                assert_eq!(message.reference_message_id, Some(status.to_string()));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn received_locations_contacts_reactions_polls_and_pins_become_their_received_callbacks_content() {
        let instance = InstanceId::from_bytes([9; 16]);
        let ours = MessageId::generate();
        let received = |content| wa::WaEvent::Incoming {
            instance,
            message: Box::new(wa::InboundMessage {
                quoted: None,
                forwarded: false,
                status_reply: false,
                id: "XYZ".into(),
                chat: "5511988887777".into(),
                participant: None,
                push_name: None,
                from_me: false,
                content,
                at_ms: 42,
            }),
            ack: wa::FIRST_ACK,
        };
        let vcard = "BEGIN:VCARD\nVERSION:3.0\nFN:Ana\nTEL;type=CELL;waid=5511977776666:+55 11 97777-6666\nEND:VCARD";
        let bia = "BEGIN:VCARD\nVERSION:3.0\nFN:Bia\nTEL;type=CELL;waid=5511966665555:+55 11 96666-5555\nEND:VCARD";
        let cases = [
            (
                "a location",
                wa::InboundContent::Location {
                    latitude: -23.5,
                    longitude: -46.6,
                    name: Some("Sé".into()),
                    address: "Praça da Sé".into(),
                },
                IncomingContent::Location(Location {
                    latitude: -23.5,
                    longitude: -46.6,
                    name: Some("Sé".into()),
                    address: "Praça da Sé".into(),
                    url: String::new(),
                    thumbnail_url: None,
                }),
            ),
            (
                "a contact card, its numbers read from the vCard",
                wa::InboundContent::Contact(wa::SharedContact { display_name: "Ana".into(), vcard: vcard.into() }),
                IncomingContent::Contact(Contact {
                    display_name: "Ana".into(),
                    v_card: vcard.into(),
                    phones: vec!["5511977776666".into()],
                }),
            ),
            (
                "several cards in one, every card's numbers read",
                wa::InboundContent::Contact(wa::SharedContact {
                    display_name: "2 contacts".into(),
                    vcard: format!("{vcard}\n{bia}"),
                }),
                IncomingContent::Contact(Contact {
                    display_name: "2 contacts".into(),
                    v_card: format!("{vcard}\n{bia}"),
                    phones: vec!["5511977776666".into(), "5511966665555".into()],
                }),
            ),
            (
                "a reaction to one of ours, named by chatedge's id",
                wa::InboundContent::Reaction { target: wire_of(&ours), from_me: true, emoji: "👍".into() },
                IncomingContent::Reaction(Reaction {
                    value: "👍".into(),
                    time: 42,
                    reaction_by: "5511988887777".into(),
                    referenced_message: ReferencedMessage {
                        message_id: ours.to_string(),
                        from_me: true,
                        phone: "5511988887777".into(),
                        participant: None,
                    },
                }),
            ),
            (
                "a reaction taken back, on their own message",
                wa::InboundContent::Reaction {
                    target: "3AF8E0F2F4C1A3B5D6E7".into(),
                    from_me: false,
                    emoji: String::new(),
                },
                IncomingContent::Reaction(Reaction {
                    value: String::new(),
                    time: 42,
                    reaction_by: "5511988887777".into(),
                    referenced_message: ReferencedMessage {
                        message_id: "3AF8E0F2F4C1A3B5D6E7".into(),
                        from_me: false,
                        phone: "5511988887777".into(),
                        participant: None,
                    },
                }),
            ),
            (
                "an event on a call",
                wa::InboundContent::Event {
                    details: wa::EventDetails {
                        name: "Reunião".into(),
                        description: Some("Pauta".into()),
                        start_s: 1_716_915_653,
                        place: Some("Sala 2".into()),
                        canceled: false,
                    },
                    join_link: Some("https://call.whatsapp.com/video/v9123".into()),
                },
                IncomingContent::Event(Event {
                    name: "Reunião".into(),
                    description: "Pauta".into(),
                    canceled: false,
                    join_link: "https://call.whatsapp.com/video/v9123".into(),
                    schedule_time: 1_716_915_653,
                    location: EventPlace { name: Some("Sala 2".into()), ..EventPlace::default() },
                }),
            ),
            (
                "an answer to one of our events, named by chatedge's id",
                wa::InboundContent::EventAnswer { event: wire_of(&ours), going: false, at_ms: 1_714_423_417_000 },
                IncomingContent::EventResponse(EventResponse {
                    response: "NOT_GOING".into(),
                    response_from: "5511988887777".into(),
                    time: 1_714_423_417_000,
                    referenced_message: ReferencedMessage {
                        message_id: ours.to_string(),
                        from_me: true,
                        phone: "5511988887777".into(),
                        participant: None,
                    },
                }),
            ),
            (
                "a poll",
                wa::InboundContent::Poll {
                    question: "Which day?".into(),
                    max_options: 1,
                    options: vec!["Mon".into(), "Tue".into()],
                },
                IncomingContent::Poll(Poll {
                    question: "Which day?".into(),
                    poll_max_options: 1,
                    options: vec![PollOption { name: "Mon".into() }, PollOption { name: "Tue".into() }],
                }),
            ),
            (
                "one of ours pinned for a week, named by chatedge's id",
                wa::InboundContent::Pin { target: wire_of(&ours), from_me: true, pinned: true, seconds: 604_800 },
                IncomingContent::PinMessage(PinMessage {
                    action: "pin".into(),
                    pin_duration_in_secs: 604_800,
                    referenced_message: ReferencedMessage {
                        message_id: ours.to_string(),
                        from_me: true,
                        phone: "5511988887777".into(),
                        participant: None,
                    },
                }),
            ),
            (
                "an unpin of their own",
                wa::InboundContent::Pin { target: "ABCD".into(), from_me: false, pinned: false, seconds: 0 },
                IncomingContent::PinMessage(PinMessage {
                    action: "unpin".into(),
                    pin_duration_in_secs: 0,
                    referenced_message: ReferencedMessage {
                        message_id: "ABCD".into(),
                        from_me: false,
                        phone: "5511988887777".into(),
                        participant: None,
                    },
                }),
            ),
            (
                "a tap on one of our reply buttons",
                wa::InboundContent::ButtonReply { id: "yes".into(), text: "Sim".into() },
                IncomingContent::ButtonResponse(ButtonResponse { button_id: "yes".into(), message: "Sim".into() }),
            ),
            (
                "an option picked from one of our lists",
                wa::InboundContent::ListReply {
                    id: "1".into(),
                    title: "Suporte".into(),
                    description: "Falar com o suporte".into(),
                },
                IncomingContent::ListResponse(ListResponse {
                    message: "Falar com o suporte".into(),
                    title: "Suporte".into(),
                    selected_row_id: "1".into(),
                }),
            ),
            (
                "a type not translated yet",
                wa::InboundContent::Other("poll vote".into()),
                IncomingContent::WaitingMessage(WaitingMessage { view_once: false }),
            ),
        ];
        for (what, content, expected) in cases {
            match translate(received(content)) {
                Some((_, NetworkEvent::Incoming { message, .. })) => assert_eq!(message.content, expected, "{what}"),
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    fn wire_of(id: &MessageId) -> String {
        wa::WireId::of(id).as_str().to_owned()
    }
}
