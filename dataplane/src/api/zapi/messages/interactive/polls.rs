//! send-poll (seed 001, line 4122) and send-poll-vote (4211). A poll has 2–12 distinct
//! options and optionally how many one person may choose (`pollMaxOptions`, 1 to the number
//! of options); a vote names one or more options of the poll `pollMessageId`.

use super::read::{self, invalid, At};
use super::MAX_ID_CHARS;
use crate::api::zapi::ZapiError;
use crate::queue::content::Interactive;

/// Options of one poll (WhatsApp: 2 to 12).
const POLL_OPTIONS: std::ops::RangeInclusive<usize> = 2..=12;
/// Longest poll question (WhatsApp: 255).
const MAX_QUESTION_CHARS: usize = 255;
/// Longest option name (WhatsApp: 100).
const MAX_OPTION_CHARS: usize = 100;

pub fn poll(at: At<'_>) -> Result<Interactive, ZapiError> {
    let message = at.required_text("message", MAX_QUESTION_CHARS)?;
    let options = names(at, "poll", POLL_OPTIONS)?;
    let most = options.len() as u64;
    let max_options = at.count("pollMaxOptions", 1..=most, false)?.map(|n| n as u32);
    Ok(Interactive::Poll { message, options, max_options })
}

pub fn vote(at: At<'_>) -> Result<Interactive, ZapiError> {
    let poll_message_id = at.id("pollMessageId", MAX_ID_CHARS, true)?.unwrap_or_default();
    let votes = names(at, "pollVote", 1..=*POLL_OPTIONS.end())?;
    Ok(Interactive::PollVote { poll_message_id, votes })
}

/// The distinct `name`s of the objects in `field`.
fn names(at: At<'_>, field: &str, count: std::ops::RangeInclusive<usize>) -> Result<Vec<String>, ZapiError> {
    let items = at.objects(field, count, true)?.ok_or_else(|| invalid(format!("{field} is required")))?;
    let names =
        items.iter().map(|item| item.at().required_text("name", MAX_OPTION_CHARS)).collect::<Result<Vec<_>, _>>()?;
    read::distinct(items.iter().zip(&names).map(|(item, n)| (item.at().name("name"), n.as_str())))?;
    Ok(names)
}
