//! contact: someone writing to the account. The device uploaded its Signal keys to the server
//! when it logged in; the contact's phone starts a Signal session on them and sends a pre-key
//! message, as WhatsApp delivers a first message from a new chat. The device's confirmation of
//! each message is kept ([`super::LoopbackWhatsApp::confirmed`]): the engine sends it only once
//! chatedge has committed the message.

use std::collections::HashMap;

use rand10::Rng as _;
use whatsapp_rust::async_trait;
use whatsapp_rust::wacore::libsignal::protocol::{
    message_encrypt, process_prekey_bundle, DeviceId, Direction, IdentityChange, IdentityKey, IdentityKeyPair,
    IdentityKeyStore, PreKeyBundle, ProtocolAddress, PublicKey, SessionRecord, SessionStore, SignalProtocolError,
    UsePQRatchet,
};
use whatsapp_rust::wacore::messages::MessageUtils;
use whatsapp_rust::wacore_binary::builder::NodeBuilder;
use whatsapp_rust::wacore_binary::{Jid, Node};
use whatsapp_rust::waproto::buffa::Message as _;
use whatsapp_rust::waproto::whatsapp as wa;

use super::{directory, Device, Outbound, Shared};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    #[error("the device has not uploaded its keys (it never logged in)")]
    NoKeys,
    #[error("the device is not connected")]
    NotConnected,
    #[error("encryption failed: {0}")]
    Signal(String),
}

/// The keys a device published: what a contact needs to start a session with it.
#[derive(Clone)]
pub(super) struct Uploaded {
    registration: u32,
    identity: [u8; 32],
    signed: (u32, [u8; 32], Vec<u8>),
    one_time: Option<(u32, [u8; 32])>,
}

/// Keeps the keys a device uploads (`<iq xmlns="encrypt" type="set">`).
pub(super) fn keys_uploaded(shared: &Shared, line: u64, upload: &Node) {
    let bytes = super::line::bytes_of;
    let key = |node: Option<&Node>| bytes(node).and_then(|b| <[u8; 32]>::try_from(b).ok());
    let key_id = |node: Option<&Node>| bytes(node).map(|b| b.iter().fold(0u32, |id, byte| id << 8 | u32::from(*byte)));
    let child = |tag: &str| upload.get_optional_child(tag);
    let registration = bytes(child("registration")).map(|b| b.iter().fold(0u32, |id, byte| id << 8 | u32::from(*byte)));
    let skey = child("skey");
    let signed = skey.and_then(|s| {
        Some((
            key_id(s.get_optional_child("id"))?,
            key(s.get_optional_child("value"))?,
            bytes(s.get_optional_child("signature"))?,
        ))
    });
    let one_time = child("list")
        .and_then(Node::children)
        .and_then(|keys| keys.first())
        .and_then(|k| Some((key_id(k.get_optional_child("id"))?, key(k.get_optional_child("value"))?)));
    let (Some(registration), Some(identity), Some(signed)) = (registration, key(child("identity")), signed) else {
        return;
    };
    let mut state = shared.lock();
    if let Some(device) = state.lines.get(&line).and_then(|l| l.device.clone()) {
        state.uploaded.insert(device, Uploaded { registration, identity, signed, one_time });
    }
}

/// `from` (a number) writes `text` to `to`; answers the message's id.
pub(super) async fn write(shared: &Shared, from: &str, to: &Device, text: &str) -> Result<String, WriteError> {
    let (uploaded, sender) = {
        let mut state = shared.lock();
        let uploaded = state.uploaded.get(to).cloned().ok_or(WriteError::NoKeys)?;
        let sender = directory::identity_of(&mut state, &format!("{from}@s.whatsapp.net"));
        (uploaded, sender)
    };
    let signal = |e: SignalProtocolError| WriteError::Signal(e.to_string());
    let public =
        |key: &[u8; 32]| PublicKey::from_djb_public_key_bytes(key).map_err(|e| WriteError::Signal(e.to_string()));
    let one_time = match uploaded.one_time {
        Some((id, key)) => Some((id.into(), public(&key)?)),
        None => None,
    };
    let bundle = PreKeyBundle::new(
        uploaded.registration,
        DeviceId::from(to.device),
        one_time,
        uploaded.signed.0.into(),
        public(&uploaded.signed.1)?,
        uploaded.signed.2.clone(),
        IdentityKey::new(public(&uploaded.identity)?),
    )
    .map_err(signal)?;
    let address = ProtocolAddress::new(&to.phone, DeviceId::from(to.device));
    let mut sessions = Sessions::default();
    let mut identities = Identities { own: sender.0, registration: sender.1, known: HashMap::new() };
    let mut rng = rand10::rng();
    process_prekey_bundle(&address, &mut sessions, &mut identities, &bundle, &mut rng, UsePQRatchet::No)
        .await
        .map_err(signal)?;
    let message = wa::Message { conversation: Some(text.to_owned()), ..Default::default() }.encode_to_vec();
    let ciphertext = message_encrypt(&MessageUtils::pad_message_v2(message), &address, &mut sessions, &mut identities)
        .await
        .map_err(signal)?;
    let id = format!("3EB0{:016X}", rng.next_u64());
    let mut stanza = NodeBuilder::new("message")
        .attr("id", id.clone())
        .attr("type", "text")
        .attr("t", super::line::now().to_string())
        .attr("notify", format!("Contact {from}"));
    if let Ok(jid) = format!("{from}@s.whatsapp.net").parse::<Jid>() {
        stanza = stanza.attr("from", jid);
    }
    let enc =
        NodeBuilder::new("enc").attr("v", "2").attr("type", "pkmsg").bytes(ciphertext.serialize().to_vec()).build();
    let stanza = stanza.children([enc]).build();
    let state = shared.lock();
    let line = state.line_of(to).ok_or(WriteError::NotConnected)?;
    line.out.send(Outbound::Node(stanza)).map_err(|_| WriteError::NotConnected)?;
    Ok(id)
}

/// The contact's sessions, for one message.
#[derive(Default)]
struct Sessions(HashMap<String, SessionRecord>);

#[async_trait]
impl SessionStore for Sessions {
    async fn load_session(&self, address: &ProtocolAddress) -> Result<Option<SessionRecord>, SignalProtocolError> {
        Ok(self.0.get(&address.to_string()).cloned())
    }

    async fn has_session(&self, address: &ProtocolAddress) -> Result<bool, SignalProtocolError> {
        Ok(self.0.contains_key(&address.to_string()))
    }

    async fn store_session(
        &mut self,
        address: &ProtocolAddress,
        record: SessionRecord,
    ) -> Result<(), SignalProtocolError> {
        self.0.insert(address.to_string(), record);
        Ok(())
    }
}

/// The contact's identity, trusting whatever it meets first.
struct Identities {
    own: IdentityKeyPair,
    registration: u32,
    known: HashMap<String, IdentityKey>,
}

#[async_trait]
impl IdentityKeyStore for Identities {
    async fn get_identity_key_pair(&self) -> Result<IdentityKeyPair, SignalProtocolError> {
        Ok(self.own.clone())
    }

    async fn get_local_registration_id(&self) -> Result<u32, SignalProtocolError> {
        Ok(self.registration)
    }

    async fn save_identity(
        &mut self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
    ) -> Result<IdentityChange, SignalProtocolError> {
        let replaced = self.known.insert(address.to_string(), *identity).is_some_and(|old| old != *identity);
        Ok(if replaced { IdentityChange::ReplacedExisting } else { IdentityChange::NewOrUnchanged })
    }

    async fn is_trusted_identity(
        &self,
        address: &ProtocolAddress,
        identity: &IdentityKey,
        _direction: Direction,
    ) -> Result<bool, SignalProtocolError> {
        Ok(self.known.get(&address.to_string()).is_none_or(|known| known == identity))
    }

    async fn get_identity(&self, address: &ProtocolAddress) -> Result<Option<IdentityKey>, SignalProtocolError> {
        Ok(self.known.get(&address.to_string()).copied())
    }
}
