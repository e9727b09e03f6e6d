//! The ReceivedCallback for a message the instance itself sent (notify-sent-by-me), rendered
//! by the same code as incoming messages: texts (with their link preview), media, locations
//! and reactions show as those kinds; every other kind shows as a text holding its queue
//! preview. Pure: the caller passes the media link it made.

use chatedge_config::{InstanceId, Phone};
use serde_json::Value;

use crate::media::MediaKind;
use crate::network::incoming::{
    Contact, IncomingContent, Location, Reaction, ReceivedAudio, ReceivedDocument, ReceivedImage, ReceivedSticker,
    ReceivedVideo, ReferencedMessage, Text,
};
use crate::network::IncomingMessage;
use crate::queue::content::card::ContactCard;
use crate::queue::content::{Action, Card, Content, Media, MediaSource};
use crate::queue::OutboundMessage;

/// `media_url`: the link to the sent file (a signed chatedge link when it was sent as base64,
/// the original URL otherwise).
pub fn sent_by_me(
    instance: InstanceId,
    connected: Option<&Phone>,
    m: &OutboundMessage,
    at_ms: u64,
    media_url: Option<&str>,
) -> Value {
    let reacting = connected.map(Phone::as_str).unwrap_or_default();
    let message = IncomingMessage {
        id: m.message_id.to_string(),
        from: m.phone.clone(),
        participant: None,
        sender_name: None,
        sender_lid: None,
        reference_message_id: m.reply_to.clone(),
        forwarded: false,
        status_reply: false,
        expiration_seconds: 0,
        external_ad_reply: None,
        content: content_of(&m.content, &m.phone, reacting, at_ms),
        at_ms,
    };
    super::received(&instance, connected, &message, true, media_url)
}

fn content_of(content: &Content, chat: &Phone, reacting: &str, at_ms: u64) -> IncomingContent {
    match content {
        Content::Text { message, preview } => IncomingContent::Text(Text {
            message: message.clone(),
            description: preview.as_ref().and_then(|p| p.description.clone()),
            title: preview.as_ref().and_then(|p| p.title.clone()),
            url: preview.as_ref().map(|p| p.url.clone()),
            thumbnail_url: preview.as_ref().and_then(|p| p.image.clone()),
        }),
        Content::Media(media) => media_of(media),
        Content::Card(card) => match card.as_ref() {
            Card::Location { latitude, longitude, title, address } => IncomingContent::Location(Location {
                longitude: *longitude,
                latitude: *latitude,
                name: Some(title.clone()),
                address: address.clone(),
                url: String::new(),
                thumbnail_url: None,
            }),
            Card::Contact(c) => IncomingContent::Contact(contact_of(c)),
            other => preview_text(other.preview().into_owned()),
        },
        Content::Action(action) => match action.as_ref() {
            Action::Reaction { message_id, reaction } => IncomingContent::Reaction(Reaction {
                value: reaction.clone(),
                time: at_ms,
                reaction_by: reacting.to_owned(),
                referenced_message: ReferencedMessage {
                    message_id: message_id.clone(),
                    from_me: false,
                    phone: chat.as_str().to_owned(),
                    participant: None,
                },
            }),
            other => preview_text(other.preview().into_owned()),
        },
        // Interactive messages (and kinds added later) show as their queue preview.
        other => preview_text(other.preview().into_owned()),
    }
}

fn preview_text(message: String) -> IncomingContent {
    IncomingContent::Text(Text { message, description: None, title: None, url: None, thumbnail_url: None })
}

/// A shared contact card as WhatsApp carries it: a name and a vCard with its numbers.
fn contact_of(card: &ContactCard) -> Contact {
    let phones: Vec<String> = card.phones.iter().map(|p| p.as_str().to_owned()).collect();
    Contact { display_name: card.name.clone(), v_card: card.vcard(), phones }
}

fn media_of(media: &Media) -> IncomingContent {
    let stored = match &media.source {
        MediaSource::Stored(s) => Some(s.clone()),
        MediaSource::Url { .. } => None,
    };
    let caption = media.caption.clone().unwrap_or_default();
    let view_once = media.view_once;
    let video =
        || ReceivedVideo { stored: stored.clone(), mime_type: None, caption: caption.clone(), seconds: 0, view_once };
    match media.kind {
        MediaKind::Image => {
            IncomingContent::Image(ReceivedImage { stored, mime_type: None, caption, width: 0, height: 0, view_once })
        }
        MediaKind::Sticker => IncomingContent::Sticker(ReceivedSticker { stored, mime_type: None }),
        MediaKind::Audio => {
            IncomingContent::Audio(ReceivedAudio { stored, mime_type: None, ptt: true, seconds: 0, view_once })
        }
        MediaKind::Video => IncomingContent::Video(video()),
        MediaKind::Ptv => IncomingContent::Ptv(video()),
        MediaKind::Gif => IncomingContent::Gif(video()),
        MediaKind::Document => IncomingContent::Document(ReceivedDocument {
            stored,
            mime_type: None,
            file_name: media.file_name.clone().unwrap_or_default(),
            title: media.file_name.clone().unwrap_or_default(),
            page_count: 0,
            caption: media.caption.clone(),
        }),
    }
}
