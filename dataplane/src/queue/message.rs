//! `OutboundMessage`: one accepted message as it waits in the queue and as it is handed to the
//! network. Its ids are chosen by chatedge at acceptance, so a resend after a crash is the same
//! message to the network, not a second one.

use chatedge_config::{InstanceId, MessageId, Phone, ZaapId};
use serde::{Deserialize, Serialize};

use super::Content;
use crate::store::StoreError;

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
    /// The network id of the message this one replies to (Z-API `messageId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<String>,
    /// A reply to a group message goes to its sender privately (Z-API `privateAnswer`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub private_answer: bool,
    /// Group participants mentioned in the text (Z-API `mentioned`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mentioned: Vec<Phone>,
    /// Community groups mentioned in the text (Z-API `groupMentioned`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub group_mentioned: Vec<GroupMention>,
    pub created_ms: u64,
}

/// A group mentioned in a message to another group of its community.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupMention {
    pub phone: Phone,
    pub subject: String,
}

impl OutboundMessage {
    /// A new message to `phone` with fresh ids and no options.
    pub fn new(instance: InstanceId, phone: Phone, content: Content) -> OutboundMessage {
        OutboundMessage {
            instance,
            zaap_id: ZaapId::generate(),
            message_id: MessageId::random(),
            phone,
            content,
            delay_message_s: None,
            delay_typing_s: None,
            edit_message_id: None,
            reply_to: None,
            private_answer: false,
            mentioned: Vec::new(),
            group_mentioned: Vec::new(),
            created_ms: chatedge_config::time::unix_ms(),
        }
    }

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
        let phone = Phone::parse("5511999999999").unwrap();
        let mut m = OutboundMessage::new(InstanceId::generate(), phone.clone(), Content::text("olá \"mundo\" \u{1F92A}\n"));
        m.delay_message_s = Some(5);
        m.edit_message_id = Some("3EB0ABC".into());
        m.reply_to = Some("3EB0DEF".into());
        m.mentioned = vec![phone.clone()];
        m.group_mentioned = vec![GroupMention { phone: Phone::parse("120363019502650977-group").unwrap(), subject: "s".into() }];
        assert_eq!(OutboundMessage::decode(&m.encode()).unwrap(), m);
        assert!(OutboundMessage::decode(b"{not json").is_err());
    }

    #[test]
    fn a_text_queued_before_other_kinds_existed_still_reads() {
        let m = OutboundMessage::new(InstanceId::generate(), Phone::parse("5511999999999").unwrap(), Content::text("hi"));
        let old = format!(
            r#"{{"instance":"{}","zaapId":"{}","messageId":"{}","phone":"5511999999999","content":{{"kind":"text","message":"hi"}},"createdMs":{}}}"#,
            m.instance, m.zaap_id, m.message_id, m.created_ms
        );
        assert_eq!(OutboundMessage::decode(old.as_bytes()).unwrap(), m);
    }
}
