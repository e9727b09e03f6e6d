//! Button messages: send-button-actions (CALL / URL / REPLY buttons; seed line 3135),
//! send-button-list (reply buttons under a text, an image or a video; 3249, 3344, 3440),
//! send-button-otp (a copy-code button; 3631) and send-button-pix (a PIX key; 3711). Also
//! the action buttons of carousel cards ([`action_buttons`]).

use super::read::{self, invalid, At, Nested};
use super::{pending_media, Uploads, MAX_ID_CHARS, MAX_LABEL_CHARS, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS};
use crate::api::zapi::ZapiError;
use crate::media::MediaKind;
use crate::queue::content::interactive::{ActionButton, ButtonMedia, PixKeyType, ReplyButton};
use crate::queue::content::Interactive;

/// Buttons of one send-button-actions or send-button-list message (WhatsApp shows 3).
const MAX_BUTTONS: usize = 3;
/// What an OTP button says unless told otherwise (seed 001, send-button-otp).
pub const DEFAULT_OTP_BUTTON: &str = "Copy code";
/// A PIX button's title when the request names none (seed 001, send-button-pix).
pub const DEFAULT_PIX_TITLE: &str = "Pix";
/// Longest PIX key or OTP code.
const MAX_CODE_CHARS: usize = 256;
/// Longest URL on a button.
const MAX_URL_CHARS: usize = 4_096;

/// send-button-actions.
pub fn actions(at: At<'_>) -> Result<Interactive, ZapiError> {
    let message = at.required_text("message", MAX_MESSAGE_CHARS)?;
    let title = at.text("title", MAX_TITLE_CHARS, false)?;
    let footer = at.text("footer", MAX_TITLE_CHARS, false)?;
    let items = at.objects("buttonActions", 1..=MAX_BUTTONS, true)?.unwrap_or_default();
    let buttons = action_buttons(&items)?;
    // Seed 001: the three types together fail on WhatsApp (and on Meta's API); REPLY buttons
    // go in a message of their own, CALL and URL may go together.
    let replies = buttons.iter().filter(|b| matches!(b, ActionButton::Reply { .. })).count();
    if replies > 0 && replies < buttons.len() {
        let first = buttons.iter().position(|b| !matches!(b, ActionButton::Reply { .. })).unwrap_or(0);
        let reply = buttons.iter().position(|b| matches!(b, ActionButton::Reply { .. })).unwrap_or(0);
        return Err(invalid(format!(
            "buttonActions[{reply}].type REPLY cannot be sent with {} buttons (buttonActions[{first}]): \
             send CALL and URL buttons together and REPLY buttons in a message of their own",
            buttons[first].kind()
        )));
    }
    Ok(Interactive::ButtonActions { message, title, footer, buttons })
}

/// Reads CALL / URL / REPLY buttons (send-button-actions, carousel cards); ids, where given,
/// differ.
pub fn action_buttons(items: &[Nested<'_>]) -> Result<Vec<ActionButton>, ZapiError> {
    let buttons = items.iter().map(|item| action_button(item.at())).collect::<Result<Vec<_>, _>>()?;
    read::distinct(items.iter().zip(&buttons).filter_map(|(item, b)| {
        let id = match b {
            ActionButton::Call { id, .. } | ActionButton::Url { id, .. } | ActionButton::Reply { id, .. } => id,
        };
        id.as_deref().map(|id| (item.at().name("id"), id))
    }))?;
    Ok(buttons)
}

fn action_button(at: At<'_>) -> Result<ActionButton, ZapiError> {
    const TYPES: [&str; 3] = ["CALL", "URL", "REPLY"];
    let kind = at.one_of("type", &TYPES, &TYPES, true)?.unwrap_or("REPLY");
    let id = at.id("id", MAX_ID_CHARS, false)?;
    let label = at.required_text("label", MAX_LABEL_CHARS)?;
    let refuse = |field: &str| {
        // An empty string says nothing; anything else would be dropped, so it is refused.
        let given = at.o.get(field).is_some_and(|v| !v.is_null() && v.as_str().is_none_or(|s| !s.trim().is_empty()));
        if given {
            Err(invalid(format!("{} is only for {} buttons, not {kind}", at.name(field), other(field))))
        } else {
            Ok(())
        }
    };
    match kind {
        "CALL" => {
            refuse("url")?;
            let phone = at.phone_number("phone", true)?.unwrap_or_default();
            Ok(ActionButton::Call { id, label, phone })
        }
        "URL" => {
            refuse("phone")?;
            let url = at.url("url", MAX_URL_CHARS, true)?.unwrap_or_default();
            Ok(ActionButton::Url { id, label, url })
        }
        _ => {
            refuse("phone")?;
            refuse("url")?;
            Ok(ActionButton::Reply { id, label })
        }
    }
}

/// The button type a field belongs to.
fn other(field: &str) -> &'static str {
    if field == "phone" {
        "CALL"
    } else {
        "URL"
    }
}

/// send-button-list (text, image and video variants).
pub async fn list(at: At<'_>, uploads: &Uploads<'_>) -> Result<Interactive, ZapiError> {
    let message = at.required_text("message", MAX_MESSAGE_CHARS)?;
    let list = at.object("buttonList", true)?.ok_or_else(|| invalid("buttonList is required".into()))?;
    let list = list.at();
    let items = list.objects("buttons", 1..=MAX_BUTTONS, true)?.unwrap_or_default();
    let buttons = items
        .iter()
        .map(|item| {
            let b = item.at();
            Ok(ReplyButton { id: b.id("id", MAX_ID_CHARS, false)?, label: b.required_text("label", MAX_LABEL_CHARS)? })
        })
        .collect::<Result<Vec<_>, ZapiError>>()?;
    read::distinct(
        items.iter().zip(&buttons).filter_map(|(item, b)| b.id.as_deref().map(|id| (item.at().name("id"), id))),
    )?;
    if list.has("image") && list.has("video") {
        return Err(invalid(
            "buttonList.image and buttonList.video cannot be sent together: send one of them or neither".into(),
        ));
    }
    let pending = match pending_media(list, "image", MediaKind::Image, false)? {
        Some(p) => Some((MediaKind::Image, p)),
        None => pending_media(list, "video", MediaKind::Video, false)?.map(|p| (MediaKind::Video, p)),
    };
    let media = match pending {
        Some((kind, p)) => Some(ButtonMedia { kind, source: uploads.source(p).await? }),
        None => None,
    };
    Ok(Interactive::ButtonList { message, media, buttons })
}

/// send-button-otp.
pub async fn otp(at: At<'_>, uploads: &Uploads<'_>) -> Result<Interactive, ZapiError> {
    let message = at.required_text("message", MAX_MESSAGE_CHARS)?;
    let code = at.required_text("code", MAX_CODE_CHARS)?;
    let button_text = at
        .text("buttonText", MAX_LABEL_CHARS, false)?
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_OTP_BUTTON.to_owned());
    let image = uploads.optional(pending_media(at, "image", MediaKind::Image, false)?).await?;
    Ok(Interactive::ButtonOtp { message, code, image, button_text })
}

/// send-button-pix.
pub fn pix(at: At<'_>) -> Result<Interactive, ZapiError> {
    let pix_key = at.required_text("pixKey", MAX_CODE_CHARS)?;
    let key_type = at.one_of("type", &PixKeyType::NAMES, &PixKeyType::ALL, true)?.unwrap_or(PixKeyType::Evp);
    let merchant_name = at
        .text("merchantName", MAX_TITLE_CHARS, false)?
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PIX_TITLE.to_owned());
    Ok(Interactive::ButtonPix { pix_key, key_type, merchant_name })
}
