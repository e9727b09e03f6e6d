//! send-option-list (seed 001, line 3536): a text with a button (`buttonLabel`) that opens a
//! titled list of options, each with a title, a description and an optional id.

use super::read::{self, invalid, At};
use super::{MAX_DESCRIPTION_CHARS, MAX_ID_CHARS, MAX_LABEL_CHARS, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS};
use crate::api::zapi::ZapiError;
use crate::queue::content::interactive::ListOption;
use crate::queue::content::Interactive;

/// Options of one list (WhatsApp shows 10).
const MAX_OPTIONS: usize = 10;

pub fn options(at: At<'_>) -> Result<Interactive, ZapiError> {
    let message = at.required_text("message", MAX_MESSAGE_CHARS)?;
    let list = at.object("optionList", true)?.ok_or_else(|| invalid("optionList is required".into()))?;
    let list = list.at();
    let title = list.required_text("title", MAX_TITLE_CHARS)?;
    let button_label = list.required_text("buttonLabel", MAX_LABEL_CHARS)?;
    let items = list.objects("options", 1..=MAX_OPTIONS, true)?.unwrap_or_default();
    let options = items
        .iter()
        .map(|item| {
            let o = item.at();
            Ok(ListOption {
                id: o.id("id", MAX_ID_CHARS, false)?,
                title: o.required_text("title", MAX_TITLE_CHARS)?,
                description: o.required_text("description", MAX_DESCRIPTION_CHARS)?,
            })
        })
        .collect::<Result<Vec<_>, ZapiError>>()?;
    read::distinct(
        items.iter().zip(&options).filter_map(|(item, o)| o.id.as_deref().map(|id| (item.at().name("id"), id))),
    )?;
    Ok(Interactive::OptionList { message, title, button_label, options })
}
