//! `OutboundMessage`: one accepted message as it waits in the queue and as it is handed to the
//! network. Its ids are chosen by chatedge at acceptance, so a resend after a crash is the same
//! message to the network, not a second one.

use chatedge_config::{InstanceId, MessageId, Phone, ZaapId};
use serde::{Deserialize, Serialize};

use crate::store::StoreError;

/// What is sent. New kinds (image, document, …) are new variants.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Content {
    Text { message: String },
}

impl Content {
    /// The text shown in the queue listing (Z-API `Message`).
    pub fn preview(&self) -> &str {
        match self {
            Content::Text { message } => message,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OutboundMessage {
    pub instance: InstanceId,
    pub zaap_id: ZaapId,
    pub message_id: MessageId,
    pub phone: Phone,
    pub content: Content,
    /// Seconds to wait before this message leaves (Z-API `delayMessage`, 1–15); `None` means
    /// the instance's pacing (random 1–3 s by default).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_message_s: Option<u8>,
    /// Seconds of "typing…" presence before sending (Z-API `delayTyping`, 1–15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_typing_s: Option<u8>,
    /// The network id of an earlier message this one edits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub edit_message_id: Option<String>,
    pub created_ms: u64,
}

impl OutboundMessage {
    pub fn encode(&self) -> Vec<u8> {
        // Serializing plain structs of strings and integers cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, StoreError> {
        serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(format!("queued message: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_survives_its_stored_form() {
        let m = OutboundMessage {
            instance: InstanceId::generate(),
            zaap_id: ZaapId::generate(),
            message_id: MessageId::generate(),
            phone: Phone::parse("5511999999999").unwrap(),
            content: Content::Text { message: "olá \"mundo\" \u{1F92A}\n".into() },
            delay_message_s: Some(5),
            delay_typing_s: None,
            edit_message_id: Some("3EB0ABC".into()),
            created_ms: 1_700_000_000_000,
        };
        assert_eq!(OutboundMessage::decode(&m.encode()).unwrap(), m);
        assert!(OutboundMessage::decode(b"{not json").is_err());
    }
}
