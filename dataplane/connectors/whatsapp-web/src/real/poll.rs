//! Polls we send and the votes they get. A poll's votes are encrypted with a secret the poll
//! carries (its `messageSecret`): the secret is made once per poll, kept in the instance's store
//! with the poll's options before the poll first reaches the wire, and used again when a resend
//! after a crash carries the same wire id, so every vote can be read. A vote names its options
//! by their SHA-256: the kept options turn them back into names. Votes on polls this instance
//! did not send are not read (their secret is the engine's, not kept here).

use std::sync::Arc;

use chatedge_connector::{KvBatch, KvStore};
use serde::{Deserialize, Serialize};
use whatsapp_rust::wacore::poll::{compute_option_hash, decrypt_poll_vote_with_secret, PollVoteCiphertext};
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

use crate::engine::EngineError;

/// Where poll records live in the engine's part of the instance's store (the engine's own
/// tables are a two-letter tag and a 0 byte: no clash).
const PREFIX: &[u8] = b"cp/";
/// WhatsApp's bounds on a poll's options.
pub const MIN_OPTIONS: usize = 2;
pub const MAX_OPTIONS: usize = 12;

/// A poll of ours: its secret and its options, in order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PollRecord {
    pub secret: Vec<u8>,
    pub options: Vec<String>,
}

fn key(wire_id: &str) -> Vec<u8> {
    [PREFIX, wire_id.as_bytes()].concat()
}

/// The record of the poll sent as `wire_id`: the kept one (a resend), or a new secret written
/// durably before it is returned.
pub async fn record_for(
    store: &Arc<dyn KvStore>,
    wire_id: &str,
    options: &[String],
) -> Result<PollRecord, EngineError> {
    if let Some(kept) = load(store, wire_id)? {
        return Ok(kept);
    }
    let mut secret = vec![0u8; 32];
    rand::Rng::fill(&mut rand::rng(), &mut secret[..]);
    let record = PollRecord { secret, options: options.to_vec() };
    let value = serde_json::to_vec(&record).map_err(|e| EngineError::Store(e.to_string()))?;
    let mut batch = KvBatch::new();
    batch.put(key(wire_id), value);
    store.write(batch).await.map_err(|e| EngineError::Store(e.to_string()))?;
    Ok(record)
}

/// The kept record of our poll `wire_id`, if any.
pub fn load(store: &Arc<dyn KvStore>, wire_id: &str) -> Result<Option<PollRecord>, EngineError> {
    let Some(bytes) = store.get(&key(wire_id)).map_err(|e| EngineError::Store(e.to_string()))? else {
        return Ok(None);
    };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| EngineError::Store(format!("poll record {wire_id}: {e}")))
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
