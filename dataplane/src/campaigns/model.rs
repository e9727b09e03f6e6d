//! The records the campaigns room keeps, as stored (JSON values in the `campaigns` family):
//! audiences, variable groups, campaign definitions with their runs, each run's cursor and
//! counters, one row per recipient, the message-id index and the suppression list. Names and
//! bounds of ids live here too. No I/O.

use serde::{Deserialize, Serialize};

/// Longest id of an audience, variable group or campaign.
pub const MAX_ID_CHARS: usize = 64;
/// Longest name or description.
pub const MAX_NAME_CHARS: usize = 256;
pub const MAX_DESCRIPTION_CHARS: usize = 1_024;
/// Longest campaign title (it names the campaign's input group too).
pub const MAX_TITLE_CHARS: usize = 128;
/// Longest campaign message, before and after its variables are filled in.
pub const MAX_MESSAGE_CHARS: usize = 4_096;
/// Fields of one variable group, and the longest name and value of one.
pub const MAX_FIELDS: usize = 32;
pub const MAX_FIELD_CHARS: usize = 64;
pub const MAX_VALUE_CHARS: usize = 1_024;
/// Buttons of one campaign (WhatsApp shows at most three).
pub const MAX_BUTTONS: usize = 3;
pub const MAX_BUTTON_TEXT_CHARS: usize = 25;
/// Audiences one run may target.
pub const MAX_RUN_AUDIENCES: usize = 16;
/// Runs kept per campaign.
pub const MAX_RUNS: usize = 100;
/// The audience id that means every contact of the instance.
pub const ALL: &str = "all";

/// Checks an id given by the client (audience, variable group): 1 to 64 characters, none a
/// control character; a group id has no `.`, `{` or `}` (it is written as `{group.field}`).
pub fn valid_id(id: &str, for_group: bool) -> bool {
    let n = id.chars().count();
    (1..=MAX_ID_CHARS).contains(&n)
        && !id.chars().any(|c| c.is_control())
        && !(for_group && id.contains(['.', '{', '}']))
}

/// A field name: letters, digits and `_`, 1 to 64 of them.
pub fn valid_field(name: &str) -> bool {
    (1..=MAX_FIELD_CHARS).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Audience {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Distinct numbers in it.
    pub contacts: u64,
    pub created_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VariableGroup {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    pub fields: Vec<String>,
    /// Numbers with values.
    pub numbers: u64,
    /// Made by a campaign's input buttons (its InputGroup), not by the client.
    #[serde(default)]
    pub input: bool,
    pub created_ms: u64,
}

/// A button kind (seed 003): `input` and `journey` answer in the chat; `phone` and `url` act
/// on the phone, and may only be combined with each other.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Button {
    Input {
        text: String,
        input: String,
    },
    Journey {
        text: String,
        #[serde(rename = "journeyId")]
        journey_id: String,
    },
    Phone {
        text: String,
        #[serde(rename = "phoneNumber")]
        phone_number: String,
    },
    Url {
        text: String,
        url: String,
    },
}

impl Button {
    pub fn text(&self) -> &str {
        match self {
            Button::Input { text, .. }
            | Button::Journey { text, .. }
            | Button::Phone { text, .. }
            | Button::Url { text, .. } => text,
        }
    }

    /// Whether a press comes back as a message (input, journey).
    pub fn answers_in_chat(&self) -> bool {
        matches!(self, Button::Input { .. } | Button::Journey { .. })
    }

    /// What a press stores in the campaign's input group.
    pub fn action(&self) -> &str {
        match self {
            Button::Input { input, .. } => input,
            Button::Journey { journey_id, .. } => journey_id,
            Button::Phone { phone_number, .. } => phone_number,
            Button::Url { url, .. } => url,
        }
    }
}

/// Where a campaign stands: the state of its latest run, or `draft` before the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum RunState {
    Scheduled,
    Running,
    Paused,
    Done,
    Cancelled,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Scheduled => "scheduled",
            RunState::Running => "running",
            RunState::Paused => "paused",
            RunState::Done => "done",
            RunState::Cancelled => "cancelled",
        }
    }

    /// Still to send something (what `active` lists).
    pub fn active(self) -> bool {
        matches!(self, RunState::Scheduled | RunState::Running | RunState::Paused)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    /// 1 for the first run of the campaign.
    pub number: u32,
    pub audiences: Vec<String>,
    pub state: RunState,
    /// When it is due (scheduled runs), Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_to_run_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    pub id: String,
    pub title: String,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub img_url: Option<String>,
    #[serde(default)]
    pub buttons: Vec<Button>,
    /// The `{group.field}` variables of the message, in order of appearance, once each.
    #[serde(default)]
    pub variables: Vec<(String, String)>,
    /// `MARKETING` (seed 003's only type) and the locale, e.g. `en_US`.
    pub template_type: String,
    pub language_code: String,
    /// On a Cloud API instance: the approved template sent instead of the text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_name: Option<String>,
    /// The campaign's own cap on recipients queued per second (`None`: as fast as the queue
    /// window allows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_per_second: Option<u32>,
    pub created_ms: u64,
    #[serde(default)]
    pub runs: Vec<Run>,
}

impl Campaign {
    pub fn latest(&self) -> Option<&Run> {
        self.runs.last()
    }

    pub fn latest_mut(&mut self) -> Option<&mut Run> {
        self.runs.last_mut()
    }

    /// `draft` before the first run, else the latest run's state.
    pub fn state(&self) -> &'static str {
        self.latest().map(|r| r.state.as_str()).unwrap_or("draft")
    }

    /// Whether presses of its buttons come back (it has an input group).
    pub fn has_input(&self) -> bool {
        self.buttons.iter().any(Button::answers_in_chat)
    }
}

/// Where a run is: the last number it wrote to the queue (numbers go in byte order), and
/// whether it reached the end. Written in the same batch as the queue entries it covers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cursor {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(default)]
    pub done: bool,
}

/// What became of one recipient, as the results count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Queued,
    Sent,
    Delivered,
    Read,
    SendError,
    DeliveryError,
    NotOnWhatsapp,
    OptedOut,
    ButtonPress,
}

impl Outcome {
    pub const ALL: [Outcome; 9] = [
        Outcome::Queued,
        Outcome::Sent,
        Outcome::Delivered,
        Outcome::Read,
        Outcome::SendError,
        Outcome::DeliveryError,
        Outcome::NotOnWhatsapp,
        Outcome::OptedOut,
        Outcome::ButtonPress,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Queued => "queued",
            Outcome::Sent => "sent",
            Outcome::Delivered => "delivered",
            Outcome::Read => "read",
            Outcome::SendError => "send_error",
            Outcome::DeliveryError => "delivery_error",
            Outcome::NotOnWhatsapp => "not_on_whatsapp",
            Outcome::OptedOut => "opted_out",
            Outcome::ButtonPress => "button_press",
        }
    }

    /// One bit per outcome in a recipient row.
    pub fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

/// A run's results so far; written only by the shard that owns the instance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counters {
    pub queued: u64,
    pub sent: u64,
    pub delivered: u64,
    pub read: u64,
    pub send_errors: u64,
    pub delivery_errors: u64,
    pub not_on_whatsapp: u64,
    pub opted_out: u64,
    pub button_presses: u64,
}

impl Counters {
    pub fn add(&mut self, outcome: Outcome, n: u64) {
        let slot = match outcome {
            Outcome::Queued => &mut self.queued,
            Outcome::Sent => &mut self.sent,
            Outcome::Delivered => &mut self.delivered,
            Outcome::Read => &mut self.read,
            Outcome::SendError => &mut self.send_errors,
            Outcome::DeliveryError => &mut self.delivery_errors,
            Outcome::NotOnWhatsapp => &mut self.not_on_whatsapp,
            Outcome::OptedOut => &mut self.opted_out,
            Outcome::ButtonPress => &mut self.button_presses,
        };
        *slot = slot.saturating_add(n);
    }

    pub fn sum(&mut self, other: &Counters) {
        for (o, n) in other.each() {
            self.add(o, n);
        }
    }

    pub fn each(&self) -> [(Outcome, u64); 9] {
        [
            (Outcome::Queued, self.queued),
            (Outcome::Sent, self.sent),
            (Outcome::Delivered, self.delivered),
            (Outcome::Read, self.read),
            (Outcome::SendError, self.send_errors),
            (Outcome::DeliveryError, self.delivery_errors),
            (Outcome::NotOnWhatsapp, self.not_on_whatsapp),
            (Outcome::OptedOut, self.opted_out),
            (Outcome::ButtonPress, self.button_presses),
        ]
    }

    /// Delivered ÷ sent, in percent (0 before anything was sent).
    pub fn delivery_rate(&self) -> f64 {
        percent(self.delivered, self.sent)
    }

    /// Read ÷ delivered, in percent.
    pub fn read_rate(&self) -> f64 {
        percent(self.read, self.delivered)
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    match whole {
        0 => 0.0,
        w => ((part as f64 / w as f64) * 10_000.0).round() / 100.0,
    }
}

/// One recipient of one run.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Outcomes reached (`Outcome::bit`).
    #[serde(rename = "o")]
    pub outcomes: u16,
    /// The message's id, when one was queued.
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The last button pressed.
    #[serde(rename = "a", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
}

impl Row {
    pub fn has(&self, o: Outcome) -> bool {
        self.outcomes & o.bit() != 0
    }

    /// The furthest outcome, as the export shows it.
    pub fn status(&self) -> Outcome {
        const ORDER: [Outcome; 8] = [
            Outcome::OptedOut,
            Outcome::NotOnWhatsapp,
            Outcome::SendError,
            Outcome::DeliveryError,
            Outcome::Read,
            Outcome::Delivered,
            Outcome::Sent,
            Outcome::Queued,
        ];
        ORDER.into_iter().find(|o| self.has(*o)).unwrap_or(Outcome::Queued)
    }
}

/// The message-id index: which run and recipient a queued message is for. An entry lives for
/// `[store] message_index_retention` (like the message index of `message_index`), then a
/// compaction filter drops it ([`droppable`]): statuses and presses of a message older than
/// that no longer change its run's results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MessageRef {
    #[serde(rename = "c")]
    pub campaign: String,
    #[serde(rename = "r")]
    pub run: u32,
    #[serde(rename = "p")]
    pub phone: String,
    /// When the entry may go (Unix ms); entries written before it was kept have none and stay.
    #[serde(rename = "e", default, skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

/// For the compaction filter of the campaigns family: whether a row is a message-id index
/// entry past its expiry. Every other row stays.
pub fn droppable(key: &[u8], value: &[u8], now_ms: u64) -> bool {
    #[derive(Deserialize)]
    struct Expiry {
        #[serde(rename = "e", default)]
        expires_ms: Option<u64>,
    }
    super::keys::is_message(key)
        && serde_json::from_slice::<Expiry>(value).ok().and_then(|e| e.expires_ms).is_some_and(|e| e <= now_ms)
}

/// A number on the suppression list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Suppression {
    pub at_ms: u64,
    pub reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_shows_its_furthest_outcome() {
        let cases: &[(&[Outcome], Outcome)] = &[
            (&[Outcome::Queued], Outcome::Queued),
            (&[Outcome::Queued, Outcome::Sent], Outcome::Sent),
            (&[Outcome::Queued, Outcome::Sent, Outcome::Delivered, Outcome::Read], Outcome::Read),
            (&[Outcome::Queued, Outcome::NotOnWhatsapp], Outcome::NotOnWhatsapp),
            (&[Outcome::OptedOut], Outcome::OptedOut),
        ];
        for (reached, shown) in cases {
            let row = Row { outcomes: reached.iter().fold(0, |b, o| b | o.bit()), ..Row::default() };
            assert_eq!(row.status(), *shown, "{reached:?}");
        }
    }

    #[test]
    fn rates_are_percentages_of_what_came_before() {
        let c = Counters { sent: 8, delivered: 6, read: 3, ..Counters::default() };
        assert_eq!(c.delivery_rate(), 75.0);
        assert_eq!(c.read_rate(), 50.0);
        assert_eq!(Counters::default().delivery_rate(), 0.0);
    }

    #[test]
    fn ids_and_fields_are_checked() {
        let cases: &[(&str, bool, bool)] = &[
            ("Frequent Shoppers", false, true),
            ("", false, false),
            ("users", true, true),
            ("users.v2", true, false),
            ("a\nb", false, false),
        ];
        for (id, group, ok) in cases {
            assert_eq!(valid_id(id, *group), *ok, "{id:?}");
        }
        assert!(valid_field("first_name"));
        assert!(!valid_field("first name"));
    }

    #[test]
    fn only_an_expired_message_index_entry_is_droppable() {
        let instance = chatedge_config::InstanceId::random();
        let id = chatedge_config::MessageId::random();
        let entry = |e: Option<u64>| {
            let at = MessageRef { campaign: "c_1".into(), run: 1, phone: "5511".into(), expires_ms: e };
            serde_json::to_vec(&at).unwrap()
        };
        let key = super::super::keys::message(&instance, &id);
        assert!(droppable(&key, &entry(Some(1_000)), 1_000));
        assert!(!droppable(&key, &entry(Some(1_001)), 1_000), "not yet");
        assert!(!droppable(&key, &entry(None), u64::MAX), "written before entries expired");
        assert!(!droppable(&key, b"not json", u64::MAX));
        let row = super::super::keys::recipient(&instance, "c_1", 1, "5511");
        assert!(!droppable(&row, &entry(Some(1)), 1_000), "a recipient row is results, kept");
    }
}
