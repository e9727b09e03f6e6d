//! send-carousel (seed 001, line 3785): a text followed by 1–10 cards, each with a text, an
//! image (a URL, or base64 data stored before the message is queued) and up to 3 CALL / URL
//! / REPLY buttons. Unlike send-button-actions, a card may mix URL and REPLY buttons (the
//! seed's own example does).

use super::buttons::action_buttons;
use super::read::{invalid, At};
use super::{pending_media, Uploads, MAX_DESCRIPTION_CHARS, MAX_MESSAGE_CHARS};
use crate::api::zapi::ZapiError;
use crate::media::MediaKind;
use crate::queue::content::interactive::CarouselCard;
use crate::queue::content::Interactive;

/// Cards of one carousel (WhatsApp shows 10).
const MAX_CARDS: usize = 10;
/// Buttons of one card.
const MAX_CARD_BUTTONS: usize = 3;

pub async fn parse(at: At<'_>, uploads: &Uploads<'_>) -> Result<Interactive, ZapiError> {
    let message = at.required_text("message", MAX_MESSAGE_CHARS)?;
    let items = at.objects("carousel", 1..=MAX_CARDS, true)?.unwrap_or_default();
    let mut drafts = Vec::with_capacity(items.len());
    for item in &items {
        let card = item.at();
        let text = card.required_text("text", MAX_DESCRIPTION_CHARS)?;
        let image = pending_media(card, "image", MediaKind::Image, true)?
            .ok_or_else(|| invalid(format!("{} is required", card.name("image"))))?;
        let buttons = action_buttons(&card.objects("buttons", 0..=MAX_CARD_BUTTONS, false)?.unwrap_or_default())?;
        drafts.push((text, image, buttons));
    }
    // Every field passed: only now is base64 data stored.
    let mut cards = Vec::with_capacity(drafts.len());
    for (text, image, buttons) in drafts {
        let image = uploads.source(image).await?;
        cards.push(CarouselCard { text, image, buttons });
    }
    Ok(Interactive::Carousel { message, cards })
}
