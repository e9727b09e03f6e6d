//! The options every send route shares (seed 001): `delayMessage` and `delayTyping` (1–15 s),
//! `editMessageId`, `messageId` (reply, line 4044), `privateAnswer` (a group reply sent to the
//! sender privately), `mentioned` (participants, line 7397; numbers or strings) and
//! `groupMentioned` (community groups, line 7473). Routes whose `messageId` names the message
//! they act on (reactions, deletes, pins…) read only [`read_delays`].

use serde_json::Value;

use super::super::fields::{self, Object};
use super::super::ZapiError;
use crate::queue::{GroupMention, OutboundMessage};

/// Longest message id accepted where one names an earlier message.
pub const MAX_MESSAGE_ID_CHARS: usize = 128;
/// A group has at most 1024 participants; more mentions than that cannot all be members.
pub const MAX_MENTIONED: usize = 1024;
/// A community holds at most 100 groups.
pub const MAX_GROUP_MENTIONED: usize = 100;
/// WhatsApp's limit on a group's subject.
pub const MAX_SUBJECT_CHARS: usize = 100;

/// Reads the shared options of `o` into `m` (whose `phone` is already set).
pub fn read(o: &Object, m: &mut OutboundMessage) -> Result<(), ZapiError> {
    read_delays(o, m)?;
    m.edit_message_id = fields::text(o, "editMessageId", MAX_MESSAGE_ID_CHARS, false)?;
    // An empty `messageId` is what many clients send when they do not reply.
    m.reply_to = fields::text(o, "messageId", MAX_MESSAGE_ID_CHARS, false)?.filter(|id| !id.trim().is_empty());
    m.private_answer = fields::optional_boolean(o, "privateAnswer")?.unwrap_or(false);
    if m.private_answer && m.reply_to.is_none() {
        return Err(ZapiError::invalid(
            "Invalid field",
            "privateAnswer answers a group message privately: it needs messageId (the message replied to)",
        ));
    }
    m.mentioned = mentioned(o, m)?;
    m.group_mentioned = group_mentioned(o, m)?;
    Ok(())
}

/// `delayMessage` and `delayTyping` only.
pub fn read_delays(o: &Object, m: &mut OutboundMessage) -> Result<(), ZapiError> {
    m.delay_message_s = fields::seconds(o, "delayMessage", 1..=15)?;
    m.delay_typing_s = fields::seconds(o, "delayTyping", 1..=15)?;
    Ok(())
}

/// Mentions are made in groups (seed 001: "phone: Group ID where participants will be
/// mentioned").
fn in_group(field: &str, m: &OutboundMessage) -> Result<(), ZapiError> {
    match m.phone.is_group() {
        true => Ok(()),
        false => Err(ZapiError::invalid(
            "Invalid field",
            format!("{field} mentions are made in groups: phone must be a group id (…-group)"),
        )),
    }
}

fn mentioned(o: &Object, m: &OutboundMessage) -> Result<Vec<chatedge_config::Phone>, ZapiError> {
    use chatedge_config::phone::PhoneKind;
    let Some(items) = fields::array(o, "mentioned", 0, MAX_MENTIONED)? else { return Ok(Vec::new()) };
    if !items.is_empty() {
        in_group("mentioned", m)?;
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        let name = format!("mentioned[{i}]");
        let p = fields::phone_value(v, &name)?;
        if !matches!(p.kind(), PhoneKind::Contact | PhoneKind::Lid) {
            return Err(ZapiError::invalid(
                "Invalid phone",
                format!("{name} must be a participant's number (groups go in groupMentioned)"),
            ));
        }
        out.push(p);
    }
    Ok(out)
}

fn group_mentioned(o: &Object, m: &OutboundMessage) -> Result<Vec<GroupMention>, ZapiError> {
    let Some(items) = fields::array(o, "groupMentioned", 0, MAX_GROUP_MENTIONED)? else { return Ok(Vec::new()) };
    if !items.is_empty() {
        in_group("groupMentioned", m)?;
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, v) in items.iter().enumerate() {
        let path = format!("groupMentioned[{i}]");
        let Value::Object(g) = v else {
            return Err(ZapiError::invalid("Invalid field", format!("{path} must be an object")));
        };
        let phone = fields::phone_value(g.get("phone").unwrap_or(&Value::Null), &format!("{path}.phone"))?;
        if !phone.is_group() {
            return Err(ZapiError::invalid("Invalid phone", format!("{path}.phone must be a group id (…-group)")));
        }
        let subject = fields::within(&path, fields::text(g, "subject", MAX_SUBJECT_CHARS, true))?.unwrap_or_default();
        out.push(GroupMention { phone, subject });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;
    use chatedge_config::{InstanceId, Phone};

    use super::*;
    use crate::queue::Content;

    fn parse(phone: &str, body: &str) -> Result<OutboundMessage, ZapiError> {
        let o = fields::object(&Bytes::from(body.to_owned())).unwrap();
        let mut m = OutboundMessage::new(InstanceId::generate(), Phone::parse(phone).unwrap(), Content::text("x"));
        read(&o, &mut m).map(|()| m)
    }

    const GROUP: &str = "120363019502650977-group";

    #[test]
    fn replies_private_answers_and_mentions_are_stored() {
        let m = parse("5511999999999", r#"{"messageId":"Welcome to *Z-API*"}"#).unwrap();
        assert_eq!(m.reply_to.as_deref(), Some("Welcome to *Z-API*"));
        let m =
            parse("342532456234453-group", r#"{"messageId":"3999984263738042930CD6ECDE9VDWSA","privateAnswer":true}"#)
                .unwrap();
        assert!(m.private_answer);
        let m = parse(GROUP, r#"{"mentioned":[13135550002,"+55 11 99999-9999","81896604192873@lid"]}"#).unwrap();
        let got: Vec<_> = m.mentioned.iter().map(Phone::as_str).collect();
        assert_eq!(got, ["13135550002", "5511999999999", "81896604192873@lid"]);
        let m = parse(GROUP, r#"{"groupMentioned":[{"phone":"1203634230225498-group","subject":"Z-API subgroup"}]}"#)
            .unwrap();
        assert_eq!(m.group_mentioned[0].phone.as_str(), "1203634230225498-group");
        assert_eq!(m.group_mentioned[0].subject, "Z-API subgroup");
        let m = parse("5511999999999", r#"{"messageId":"","delayMessage":3,"delayTyping":2}"#).unwrap();
        assert_eq!((m.reply_to, m.delay_message_s, m.delay_typing_s), (None, Some(3), Some(2)));
    }

    #[test]
    fn each_invalid_option_is_refused_by_name() {
        let cases: &[(&str, &str, &str)] = &[
            ("5511999999999", r#"{"messageId":5}"#, "messageId"),
            ("5511999999999", r#"{"privateAnswer":true}"#, "privateAnswer"),
            ("5511999999999", r#"{"messageId":"x","privateAnswer":"maybe"}"#, "privateAnswer"),
            ("5511999999999", r#"{"mentioned":[5511999999999]}"#, "mentioned"),
            (GROUP, r#"{"mentioned":5511999999999}"#, "mentioned"),
            (GROUP, r#"{"mentioned":["abc"]}"#, "mentioned[0]"),
            (GROUP, r#"{"mentioned":[5511999999999,true]}"#, "mentioned[1]"),
            (GROUP, r#"{"mentioned":["120363019502650977-group"]}"#, "mentioned[0]"),
            ("5511999999999", r#"{"groupMentioned":[{"phone":"1-group","subject":"s"}]}"#, "groupMentioned"),
            (GROUP, r#"{"groupMentioned":{"phone":"1203634230225498-group"}}"#, "groupMentioned"),
            (GROUP, r#"{"groupMentioned":["x"]}"#, "groupMentioned[0]"),
            (GROUP, r#"{"groupMentioned":[{"subject":"s"}]}"#, "groupMentioned[0].phone"),
            (GROUP, r#"{"groupMentioned":[{"phone":"5511999999999","subject":"s"}]}"#, "groupMentioned[0].phone"),
            (GROUP, r#"{"groupMentioned":[{"phone":"1203634230225498-group"}]}"#, "groupMentioned[0].subject"),
            ("5511999999999", r#"{"delayMessage":16}"#, "delayMessage"),
            ("5511999999999", r#"{"editMessageId":[]}"#, "editMessageId"),
        ];
        for (phone, body, field) in cases {
            match parse(phone, body) {
                Err(ZapiError::Invalid { message, .. }) => {
                    assert!(message.starts_with(field), "{body}: {message:?} should name {field}")
                }
                other => panic!("{body}: {other:?}"),
            }
        }
    }
}
