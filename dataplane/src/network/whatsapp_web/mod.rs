//! whatsapp_web: the data plane's side of the WhatsApp Web connector (issue 13, crate
//! `chatedge-whatsapp-web`). [`adapter`] puts the connector behind the [`super::Connector`] seam,
//! turns its events into network events and the account calls into engine queries. It is built
//! in every binary and tested against the connector's scripted engine double; only the real
//! engine (whatsapp-rust) needs the cargo feature `whatsapp-web`, without which instances on this
//! network are served by [`Unbuilt`]. It must not decide about sessions: the shard does.

pub mod account;
pub mod adapter;
pub mod business;
pub mod media;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use chatedge_config::InstanceId;

use crate::queue::content::{Action, Card, Interactive};
use crate::queue::Content;

/// What `status` adds about a WhatsApp Web instance's line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReport {
    /// `offline`, `connecting`, `pairing`, `online`, `unreachable` or `cooling_down`.
    pub state: &'static str,
    /// Why the last attempt failed, or why the line is cooling down.
    pub error: Option<String>,
    /// A cooling-down line's next attempt (unix ms).
    pub retry_at_ms: Option<u64>,
}

/// Reads an instance's line report (`None`: this data plane has no WhatsApp Web connector).
pub type Reports = Arc<dyn Fn(&InstanceId) -> LineReport + Send + Sync>;

/// Whether the connector puts `content` on the wire; if not, why (the edges refuse such a
/// message before queueing it, with this reason).
pub fn carries(content: &Content) -> Result<(), &'static str> {
    match content {
        Content::Text { .. } => Ok(()),
        Content::Action(action) => match action.as_ref() {
            Action::Read { .. } | Action::Reaction { .. } | Action::RemoveReaction { .. } => Ok(()),
            Action::Delete { .. } | Action::Pin { .. } | Action::Forward { .. } => Ok(()),
        },
        Content::Card(card) => match card.as_ref() {
            Card::Link { .. }
            | Card::Location { .. }
            | Card::Contact(_)
            | Card::Contacts { .. }
            | Card::NewsletterAdminInvite { .. } => Ok(()),
        },
        Content::Media(_) => Ok(()),
        Content::Interactive(interactive) => match interactive.as_ref() {
            Interactive::Poll { options, .. } if (2..=12).contains(&options.len()) => Ok(()),
            Interactive::Poll { .. } => Err("a poll on WhatsApp Web has 2 to 12 options"),
            Interactive::PollVote { .. } => Ok(()),
            Interactive::ButtonActions { .. }
            | Interactive::ButtonList { .. }
            | Interactive::ButtonOtp { .. }
            | Interactive::OptionList { .. }
            | Interactive::ButtonPix { .. }
            | Interactive::Carousel { .. } => Ok(()),
            Interactive::Event { event } | Interactive::EditEvent { event, .. } if event.call_link_type.is_some() => {
                Err("events on a WhatsApp call (callLinkType) are not available on WhatsApp Web yet")
            }
            Interactive::Event { .. } | Interactive::EditEvent { .. } | Interactive::EventResponse { .. } => Ok(()),
            _ => Err("orders, products and catalogs are not available on WhatsApp Web yet"),
        },
        Content::Template(_) => Err("message templates are the Cloud API's: WhatsApp Web has none"),
    }
}

/// Whether this data plane includes the connector.
pub const BUILT: bool = cfg!(feature = "whatsapp-web");

/// The acknowledgement numbers the WhatsApp Web connector hands out (its crate's `FIRST_ACK`
/// range; the Cloud API's start at 1 << 63, the sim's are small).
pub fn owns(ack: super::AckId) -> bool {
    (1u64 << 62..1u64 << 63).contains(&ack.0)
}

/// The connector of a data plane built without the feature: instances on this network never
/// connect (each attempt times out in the session and is retried with its back-off) and say
/// why in the log; account calls are refused.
pub struct Unbuilt;

impl super::Connector for Unbuilt {
    fn resume(&mut self, instance: InstanceId, _: &super::Credentials, _: super::Generation) {
        tracing::warn!(%instance, "whatsapp-web instance, but this binary was built without the whatsapp-web feature");
    }

    fn start_pairing(&mut self, instance: InstanceId, _: super::Generation, _: super::PairingMethod) {
        tracing::warn!(%instance, "whatsapp-web instance, but this binary was built without the whatsapp-web feature");
    }

    fn close(&mut self, _: InstanceId, _: bool) {}

    fn send(&mut self, _: &crate::queue::OutboundMessage, _: super::Generation) -> Result<(), super::NetworkError> {
        Err(super::NetworkError::NotConnected)
    }

    fn account(
        &mut self,
        _: InstanceId,
        _: super::account::Account,
        _: super::account::AccountCall,
        reply: super::account::ReplyTx,
    ) {
        let _ = reply.send(Err(super::account::AccountError::Unsupported(
            "this chatedge binary was built without the whatsapp-web feature".to_owned(),
        )));
    }

    fn send_presence(&mut self, _: InstanceId, _: &chatedge_config::Phone, _: super::Presence) {}

    fn reject_call(&mut self, _: InstanceId, _: &str) {}

    fn ack(&mut self, _: InstanceId, _: super::AckId) {}
}
