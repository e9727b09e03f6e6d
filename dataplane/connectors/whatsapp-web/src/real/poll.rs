//! Polls and their votes. A poll's votes are encrypted with a secret the poll carries (its
//! `messageSecret`), keyed also by the poll's creator and the voter. Our polls: the secret is
//! made once per poll, kept in the instance's store with the poll's options before the poll
//! first reaches the wire, and used again when a resend after a crash carries the same wire id.
//! Polls received: their secret, options and creator are kept before the server's ack, so
//! votes on them can be read and this instance can vote too. Records are kept [`POLL_DAYS`]
//! after the poll was sent or received (kept by day, `real::by_day`); a vote on an older poll
//! arrives unread. A vote names its options by their SHA-256: the kept options turn them back
//! into names, and names into hashes.

use std::sync::Arc;

use chatedge_connector::KvStore;
use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::poll::{
    compute_option_hash, decrypt_poll_vote_with_secret, encrypt_poll_vote_with_secret, PollVoteCiphertext,
};
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

use super::by_day::ByDay;
use crate::engine::EngineError;

/// Where poll records live in the engine's part of the instance's store, by the day they were
/// kept (the engine's own tables are a two-letter tag and a 0 byte: no clash): ours, and those
/// received, apart, so a received poll can never replace the record of one of ours.
const OURS: &[u8] = b"po/";
const RECEIVED: &[u8] = b"pr/";
/// Where records were kept, under the wire id alone, before they aged out: still read.
const OURS_UNDATED: &[u8] = b"cp/";
const RECEIVED_UNDATED: &[u8] = b"cr/";
/// How long after a poll was sent or received its votes can be read and cast.
pub const POLL_DAYS: u32 = 90;
/// WhatsApp's bounds on a poll's options.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 12;

/// A poll: its secret and its options, in order, and for a poll received, who created it
/// (their JIDs as text, without device: phone and private id as WhatsApp named them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRecord {
    pub secret: Vec<u8>,
    pub options: Vec<String>,
    /// Empty for our polls.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub creators: Vec<String>,
}

/// One instance's poll records, kept [`POLL_DAYS`]. Events carry a secret the same way and
/// keep theirs here too, with no options ([`super::event`]).
pub struct Polls {
    store: Arc<dyn KvStore>,
    ours: ByDay,
    received: ByDay,
}

impl Polls {
    pub fn new(store: Arc<dyn KvStore>) -> Polls {
        let ours = ByDay::new(store.clone(), OURS, POLL_DAYS);
        let received = ByDay::new(store.clone(), RECEIVED, POLL_DAYS);
        Polls { store, ours, received }
    }

    /// The record of the poll sent as `wire_id`: the kept one (a resend), or a new secret
    /// written durably before it is returned.
    pub async fn record_for(&self, wire_id: &str, options: &[String], now_ms: u64) -> Result<PollRecord, EngineError> {
        if let Some(kept) = self.ours(wire_id, now_ms)? {
            return Ok(kept);
        }
        let mut secret = vec![0u8; 32];
        rand::Rng::fill(&mut rand::rng(), &mut secret[..]);
        let record = PollRecord { secret, options: options.to_vec(), creators: Vec::new() };
        self.ours.write(&[(wire_id, encode(&record)?)], now_ms).await?;
        Ok(record)
    }

    /// The kept record of our poll `wire_id`, if any.
    pub fn ours(&self, wire_id: &str, now_ms: u64) -> Result<Option<PollRecord>, EngineError> {
        match self.ours.find(wire_id, now_ms)? {
            Some(value) => decode(&value, wire_id).map(Some),
            None => self.undated(OURS_UNDATED, wire_id),
        }
    }

    /// The kept record of the poll `wire_id`: ours, or else one received.
    pub fn known(&self, wire_id: &str, now_ms: u64) -> Result<Option<PollRecord>, EngineError> {
        if let Some(ours) = self.ours(wire_id, now_ms)? {
            return Ok(Some(ours));
        }
        self.received(wire_id, now_ms)
    }

    fn received(&self, wire_id: &str, now_ms: u64) -> Result<Option<PollRecord>, EngineError> {
        match self.received.find(wire_id, now_ms)? {
            Some(value) => decode(&value, wire_id).map(Some),
            None => self.undated(RECEIVED_UNDATED, wire_id),
        }
    }

    fn undated(&self, prefix: &[u8], wire_id: &str) -> Result<Option<PollRecord>, EngineError> {
        let key = [prefix, wire_id.as_bytes()].concat();
        let Some(value) = self.store.get(&key).map_err(|e| EngineError::Store(e.to_string()))? else {
            return Ok(None);
        };
        decode(&value, wire_id).map(Some)
    }

    /// Keeps a received poll's secret, options and creator (durably: before the server's ack),
    /// so votes on it can be read and cast. The first poll received under a wire id keeps it.
    pub async fn keep_received(&self, wire_id: &str, record: &PollRecord, now_ms: u64) -> Result<(), EngineError> {
        self.keep_all_received(&[(wire_id.to_owned(), record.clone())], now_ms).await
    }

    /// [`keep_received`](Self::keep_received) for many, in one write.
    pub async fn keep_all_received(&self, polls: &[(String, PollRecord)], now_ms: u64) -> Result<(), EngineError> {
        let mut new = Vec::with_capacity(polls.len());
        let mut seen = std::collections::HashSet::with_capacity(polls.len());
        for (wire_id, record) in polls {
            if seen.insert(wire_id.as_str()) && self.received(wire_id, now_ms)?.is_none() {
                new.push((wire_id.as_str(), encode(record)?));
            }
        }
        match new.is_empty() {
            true => Ok(()),
            false => self.received.write(&new, now_ms).await,
        }
    }
}

fn encode(record: &PollRecord) -> Result<Vec<u8>, EngineError> {
    serde_json::to_vec(record).map_err(|e| EngineError::Store(e.to_string()))
}

fn decode(value: &[u8], wire_id: &str) -> Result<PollRecord, EngineError> {
    serde_json::from_slice(value).map_err(|e| EngineError::Store(format!("poll record {wire_id}: {e}")))
}

/// The secret a received poll carries, with its options and its `creators` (asked only for a
/// poll), if it is a poll that can be voted on.
pub fn received(message: &wa::Message, creators: impl FnOnce() -> Vec<String>) -> Option<PollRecord> {
    use whatsapp_rust::proto_helpers::MessageExt;
    let m = message.get_base_message();
    let poll = question(m)?;
    let secret = secret_of(message)?;
    let options = poll.options.iter().map(|o| o.option_name.clone().unwrap_or_default()).collect();
    Some(PollRecord { secret, options, creators: creators() })
}

/// The `messageSecret` a received message carries (a poll's, an event's), in its own context
/// info or in that of the message inside its wrapper.
pub fn secret_of(message: &wa::Message) -> Option<Vec<u8>> {
    use whatsapp_rust::proto_helpers::MessageExt;
    let m = message.get_base_message();
    let context = [message.message_context_info.as_option(), m.message_context_info.as_option()];
    context.into_iter().flatten().find_map(|c| c.message_secret.clone())
}

/// The poll as WhatsApp Web sends it: one choice per voter in a v3 poll, several (`0`: any) in
/// a v1 poll; its secret in the message's context info.
pub fn creation(question: &str, record: &PollRecord, max_options: u32) -> Result<wa::Message, EngineError> {
    let n = record.options.len();
    if !(MIN_OPTIONS..=MAX_OPTIONS).contains(&n) {
        return Err(EngineError::Refused(format!("a poll has {MIN_OPTIONS} to {MAX_OPTIONS} options, not {n}")));
    }
    let poll = wa::message::PollCreationMessage {
        name: Some(question.to_owned()),
        options: record
            .options
            .iter()
            .map(|name| wa::message::poll_creation_message::Option {
                option_name: Some(name.clone()),
                ..Default::default()
            })
            .collect(),
        selectable_options_count: Some(if max_options as usize >= n { 0 } else { max_options }),
        ..Default::default()
    };
    let context = wa::MessageContextInfo { message_secret: Some(record.secret.clone()), ..Default::default() };
    let mut message = wa::Message { message_context_info: MessageField::some(context), ..Default::default() };
    match max_options {
        1 => message.poll_creation_message_v3 = MessageField::some(poll),
        _ => message.poll_creation_message = MessageField::some(poll),
    }
    Ok(message)
}

/// The options a vote on our poll chose, read with the poll's secret. WhatsApp names the poll's
/// creator and the voter by phone or by private id (LID): each pairing of `creators` and
/// `voters` (their JIDs as text, without device) is tried. `None`: the vote cannot be read.
pub fn chosen(
    record: &PollRecord,
    update: &wa::message::PollUpdateMessage,
    poll_id: &str,
    creators: &[String],
    voters: &[String],
) -> Option<Vec<String>> {
    let vote = update.vote.as_option()?;
    let ciphertext = PollVoteCiphertext { enc_payload: vote.enc_payload.as_deref()?, enc_iv: vote.enc_iv.as_deref()? };
    let hashes = creators.iter().find_map(|creator| {
        voters
            .iter()
            .find_map(|voter| decrypt_poll_vote_with_secret(ciphertext, &record.secret, poll_id, creator, voter).ok())
    })?;
    let names = record
        .options
        .iter()
        .filter(|name| hashes.iter().any(|h| h.as_slice() == compute_option_hash(name)))
        .cloned()
        .collect();
    Some(names)
}

/// The poll a message (its base, unwrapped) carries, in whichever version WhatsApp sent it.
pub fn question(m: &wa::Message) -> Option<&wa::message::PollCreationMessage> {
    [
        &m.poll_creation_message,
        &m.poll_creation_message_v2,
        &m.poll_creation_message_v3,
        &m.poll_creation_message_v5,
        &m.poll_creation_message_v6,
    ]
    .into_iter()
    .find_map(|p| p.as_option())
}

/// Our vote on a kept poll: the options chosen (by name, each one of the poll's) encrypted for
/// the poll's creator, `key` naming the poll as seen from this account. `voter` is our JID in
/// the creator's namespace (private id for a poll addressed by private id, phone otherwise).
pub fn vote(
    record: &PollRecord,
    key: wa::MessageKey,
    creator: &str,
    voter: &str,
    chosen: &[String],
    now_ms: i64,
) -> Result<wa::Message, EngineError> {
    if let Some(unknown) = chosen.iter().find(|c| !record.options.contains(c)) {
        let options = record.options.join(", ");
        return Err(EngineError::Refused(format!("the poll has no option {unknown:?} (its options: {options})")));
    }
    let poll_id = key.id.clone().unwrap_or_default();
    let hashes: Vec<Vec<u8>> = chosen.iter().map(|name| compute_option_hash(name).to_vec()).collect();
    let (payload, iv) = encrypt_poll_vote_with_secret(&hashes, &record.secret, &poll_id, creator, voter)
        .map_err(|e| EngineError::Refused(format!("the vote cannot be encrypted: {e}")))?;
    let update = wa::message::PollUpdateMessage {
        poll_creation_message_key: MessageField::some(key),
        vote: MessageField::some(wa::message::PollEncValue { enc_payload: Some(payload), enc_iv: Some(iv.to_vec()) }),
        sender_timestamp_ms: Some(now_ms),
        ..Default::default()
    };
    Ok(wa::Message { poll_update_message: MessageField::some(update), ..Default::default() })
}
