//! Payloads shaped as in Meta's "messages webhook reference" examples (ids and numbers from
//! there: phone number id 106540352242922, customer 16505551234).

use serde_json::{json, Value};

use super::*;
use crate::network::incoming::{IncomingContent, NotificationParameter};

const NUMBER: &str = "106540352242922";
const CUSTOMER: &str = "16505551234";

fn envelope(value: Value) -> Vec<u8> {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({"display_phone_number": "15550783881", "phone_number_id": NUMBER});
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"value": value, "field": "messages"}]}]
    }))
    .unwrap()
}

fn one_message(message: Value) -> Received {
    let mut message = message;
    message["from"] = json!(CUSTOMER);
    message["timestamp"] = json!("1749416383");
    if message.get("id").is_none() {
        message["id"] = json!("wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    }
    let body = envelope(json!({
        "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": CUSTOMER}],
        "messages": [message],
    }));
    let mut parsed = parse(&body, NUMBER).unwrap();
    assert_eq!(parsed.messages.len(), 1, "{parsed:?}");
    parsed.messages.remove(0)
}

#[test]
fn a_text_message_names_its_sender_time_and_id() {
    let r = one_message(json!({"type": "text", "text": {"body": "Does it come in another color?"}}));
    let m = r.message;
    assert_eq!(m.from.as_str(), CUSTOMER);
    assert_eq!(m.sender_name.as_deref(), Some("Sheena Nelson"));
    assert_eq!(m.at_ms, 1_749_416_383_000);
    assert_eq!(m.id, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=");
    match m.content {
        IncomingContent::Text(t) => assert_eq!(t.message, "Does it come in another color?"),
        other => panic!("{other:?}"),
    }
    assert!(r.media.is_none());
}

#[test]
fn media_messages_carry_the_media_id_to_fetch() {
    let image = one_message(json!({"type": "image", "image": {
        "caption": "Hot pink?", "mime_type": "image/jpeg",
        "sha256": "3ZqHOILoT7YvS3kXGEbrp1pNLTGoGRzn4Y1kQ0B0E8k=", "id": "1003383421387256"}}));
    assert_eq!(image.media.as_ref().map(|m| m.id.as_str()), Some("1003383421387256"));
    match image.message.content {
        IncomingContent::Image(i) => {
            assert_eq!(i.caption, "Hot pink?");
            assert_eq!(i.mime_type.as_deref(), Some("image/jpeg"));
        }
        other => panic!("{other:?}"),
    }
    let voice = one_message(json!({"type": "audio", "audio": {
        "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "id": "2", "voice": true}}));
    assert!(matches!(voice.message.content, IncomingContent::Audio(ref a) if a.ptt));
    let doc = one_message(json!({"type": "document", "document": {
        "caption": "Lucky Shrub Invoice", "filename": "lucky-shrub-invoice.pdf",
        "mime_type": "application/pdf", "sha256": "x", "id": "3"}}));
    match doc.message.content {
        IncomingContent::Document(d) => {
            assert_eq!(d.file_name, "lucky-shrub-invoice.pdf");
            assert_eq!(d.caption.as_deref(), Some("Lucky Shrub Invoice"));
        }
        other => panic!("{other:?}"),
    }
    let sticker = one_message(json!({"type": "sticker", "sticker": {
        "mime_type": "image/webp", "sha256": "x", "id": "4", "animated": false}}));
    assert!(matches!(sticker.message.content, IncomingContent::Sticker(_)));
    assert_eq!(sticker.media.map(|m| m.id), Some("4".to_owned()));
    let video = one_message(json!({"type": "video", "video": {"mime_type": "video/mp4", "sha256": "x", "id": "5"}}));
    assert!(matches!(video.message.content, IncomingContent::Video(_)));
}

#[test]
fn location_contacts_and_reaction_messages_map_to_their_kinds() {
    let loc = one_message(json!({"type": "location", "location": {
        "address": "1 Hacker Way, Menlo Park, CA 94025", "latitude": 37.483307, "longitude": -122.148981,
        "name": "Philz Coffee", "url": "https://philzcoffee.com"}}));
    match loc.message.content {
        IncomingContent::Location(l) => {
            assert_eq!(l.name.as_deref(), Some("Philz Coffee"));
            assert!((l.latitude - 37.483307).abs() < 1e-9);
        }
        other => panic!("{other:?}"),
    }
    let card = one_message(json!({"type": "contacts", "contacts": [{
        "name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara", "last_name": "Johnson"},
        "phones": [{"phone": "+1 (940) 555-1234", "type": "HOME", "wa_id": "19405551234"}],
        "emails": [{"email": "bjohnson@luckyshrub.com", "type": "WORK"}]}]}));
    match card.message.content {
        IncomingContent::Contact(c) => {
            assert_eq!(c.display_name, "Barbara J. Johnson");
            assert_eq!(c.phones, vec!["19405551234".to_owned()]);
            assert!(c.v_card.contains("waid=19405551234"), "{}", c.v_card);
            assert!(c.v_card.starts_with("BEGIN:VCARD") && c.v_card.ends_with("END:VCARD"));
        }
        other => panic!("{other:?}"),
    }
    let reaction = one_message(json!({"type": "reaction", "reaction": {
        "message_id": "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=", "emoji": "\u{1F44D}"}}));
    match reaction.message.content {
        IncomingContent::Reaction(r) => {
            assert_eq!(r.value, "\u{1F44D}");
            assert_eq!(r.referenced_message.message_id, "wamid.HBgLMTY0NjcwNDM1OTUVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=");
            assert_eq!(r.reaction_by, CUSTOMER);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn button_and_list_replies_and_template_quick_replies_are_responses() {
    let button = one_message(json!({"type": "interactive", "interactive": {
        "type": "button_reply", "button_reply": {"id": "cancel-button", "title": "Cancel"}},
        "context": {"from": "15550783881", "id": "wamid.ORIGINAL"}}));
    assert_eq!(button.message.reference_message_id.as_deref(), Some("wamid.ORIGINAL"));
    match button.message.content {
        IncomingContent::ButtonResponse(b) => assert_eq!((b.button_id.as_str(), b.message.as_str()), ("cancel-button", "Cancel")),
        other => panic!("{other:?}"),
    }
    let list = one_message(json!({"type": "interactive", "interactive": {
        "type": "list_reply", "list_reply": {"id": "priority_express", "title": "Express Shipping",
        "description": "Next Day to 2 Days"}}}));
    match list.message.content {
        IncomingContent::ListResponse(l) => {
            assert_eq!(l.selected_row_id, "priority_express");
            assert_eq!(l.title, "Express Shipping");
            assert_eq!(l.message, "Next Day to 2 Days");
        }
        other => panic!("{other:?}"),
    }
    let quick = one_message(json!({"type": "button", "button": {"payload": "Unsubscribe", "text": "Stop promotions"}}));
    assert!(matches!(quick.message.content, IncomingContent::ButtonResponse(ref b) if b.button_id == "Unsubscribe"));
}

#[test]
fn orders_system_and_unknown_messages_are_kept_not_dropped() {
    let order = one_message(json!({"type": "order", "order": {"catalog_id": "194836987003835",
        "text": "Thanks!", "product_items": [
            {"product_retailer_id": "di9ozbzfi4", "quantity": 2, "item_price": 30, "currency": "USD"},
            {"product_retailer_id": "nqryix03ez", "quantity": 1, "item_price": 25.5, "currency": "USD"}]}}));
    match order.message.content {
        IncomingContent::Order(o) => {
            assert_eq!(o.item_count, 3);
            assert_eq!(o.total, 85_500);
            assert_eq!(o.seller_id, "194836987003835");
        }
        other => panic!("{other:?}"),
    }
    let system = one_message(json!({"type": "system", "system": {
        "body": "User A changed from 16505551234 to 16505550000", "new_wa_id": "16505550000",
        "type": "user_changed_number"}}));
    match system.message.content {
        IncomingContent::Notification(n) => {
            assert_eq!(n.notification, "USER_CHANGED_NUMBER");
            assert_eq!(n.notification_parameters.unwrap()[1], NotificationParameter::Text("16505550000".into()));
        }
        other => panic!("{other:?}"),
    }
    let odd = one_message(json!({"type": "unsupported", "errors": [{"code": 131051, "title": "Message type unknown"}]}));
    assert!(matches!(odd.message.content, IncomingContent::Notification(ref n) if n.notification == "UNSUPPORTED_MESSAGE"));
}

#[test]
fn statuses_name_the_wamid_recipient_and_callback_data() {
    let body = envelope(json!({"statuses": [
        {"id": "wamid.A", "status": "sent", "timestamp": "1750263773", "recipient_id": CUSTOMER,
         "biz_opaque_callback_data": "our-id", "conversation": {"id": "c"}, "pricing": {"billable": true}},
        {"id": "wamid.A", "status": "delivered", "timestamp": "1750263774", "recipient_id": CUSTOMER},
        {"id": "wamid.A", "status": "read", "timestamp": "1750263775", "recipient_id": CUSTOMER},
        {"id": "wamid.B", "status": "failed", "timestamp": "1750263776", "recipient_id": CUSTOMER,
         "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message",
                     "error_data": {"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]},
        {"id": "wamid.C", "status": "deleted", "timestamp": "1", "recipient_id": CUSTOMER}
    ]}));
    let p = parse(&body, NUMBER).unwrap();
    let labels: Vec<_> = p.statuses.iter().map(|s| s.status.label()).collect();
    assert_eq!(labels, ["sent", "delivered", "read", "failed"]);
    assert_eq!(p.skipped, 1, "an unknown status is skipped");
    assert_eq!(p.statuses[0].callback_data.as_deref(), Some("our-id"));
    assert_eq!(p.statuses[0].at_ms, 1_750_263_773_000);
    assert_eq!(p.statuses[0].recipient.as_str(), CUSTOMER);
    match &p.statuses[3].status {
        StatusKind::Failed { code, title, details } => {
            assert_eq!(*code, 131047);
            assert_eq!(title, "Re-engagement message");
            assert!(details.as_deref().unwrap().contains("24 hours"));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn another_numbers_changes_and_other_fields_are_skipped() {
    let body = envelope(json!({"messages": [{"from": CUSTOMER, "id": "wamid.X", "timestamp": "1", "type": "text", "text": {"body": "hi"}}]}));
    let p = parse(&body, "999").unwrap();
    assert!(p.messages.is_empty());
    assert_eq!(p.skipped, 1);
    let other = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "1",
        "changes": [{"field": "message_template_status_update", "value": {"event": "APPROVED"}}]}]}))
    .unwrap();
    assert_eq!(parse(&other, NUMBER).unwrap().skipped, 1);
}

#[test]
fn a_body_that_is_not_a_cloud_api_notification_is_refused() {
    assert!(matches!(parse(b"not json", NUMBER), Err(NotificationError::Malformed(_))));
    let page = serde_json::to_vec(&json!({"object": "page", "entry": []})).unwrap();
    assert!(matches!(parse(&page, NUMBER), Err(NotificationError::WrongObject(_))));
}
