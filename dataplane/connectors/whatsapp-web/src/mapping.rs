//! Event mapping: one engine event, in the state the line is in, becomes what the data plane
//! hears ([`WaEvent`]), the state `status` shows ([`LineState`]) and what the line does next
//! ([`Next`]). Pure: no I/O, no clock but the `now_ms` given, so the whole table is tested.

use std::time::Duration;

use chatedge_config::{InstanceId, Phone};

use crate::engine::{EngineEvent, LogoutKind, ReceiptKind};
use crate::ids::WireId;
use crate::{LineState, Receipt, Settings, WaEvent};

/// What the line does after an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    Continue,
    /// Connected: show unavailable so the phone keeps its notifications.
    GoUnavailable,
    /// Stop this client; `cooldown_until_ms`: do not connect again before then.
    Stop {
        cooldown_until_ms: Option<u64>,
        wipe: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub events: Vec<WaEvent>,
    pub state: Option<LineState>,
    pub next: Next,
}

impl Mapped {
    fn nothing() -> Mapped {
        Mapped { events: vec![], state: None, next: Next::Continue }
    }
}

/// Who a line is.
#[derive(Debug, Clone, Copy)]
pub struct LineId {
    pub instance: InstanceId,
    pub generation: u64,
}

/// `phone` as the data plane's [`Phone`] (a JID's user part or a number), if it is one.
pub fn phone_of(jid_or_number: &str) -> Option<Phone> {
    let user = jid_or_number.split(['@', ':']).next().unwrap_or_default();
    Phone::parse(user).ok()
}

fn hours(d: Duration) -> u64 {
    d.as_secs().div_ceil(3600)
}

/// `after_pair`: the phone accepted the pairing and the server's expected restart (515) is
/// under way, so a disconnect now is not a loss.
pub fn map(line: LineId, event: EngineEvent, after_pair: bool, settings: &Settings, now_ms: u64) -> Mapped {
    let LineId { instance, generation } = line;
    match event {
        EngineEvent::Qr { code, valid_for } | EngineEvent::PairCode { code, valid_for } => Mapped {
            events: vec![WaEvent::PairingCode { instance, generation, code, valid_for }],
            state: Some(LineState::Pairing),
            next: Next::Continue,
        },
        EngineEvent::QrExhausted => Mapped {
            events: vec![WaEvent::PairingExpired { instance, generation }],
            state: Some(LineState::Offline),
            next: Next::Stop { cooldown_until_ms: None, wipe: false },
        },
        // Pairing success: the server drops the socket (515) and the engine reconnects;
        // `Connected` follows.
        EngineEvent::Paired { .. } => Mapped { state: Some(LineState::Connecting), ..Mapped::nothing() },
        EngineEvent::Connected { phone } => match phone.as_deref().and_then(phone_of) {
            Some(phone) => Mapped {
                events: vec![WaEvent::Connected { instance, generation, phone }],
                state: Some(LineState::Online),
                next: Next::GoUnavailable,
            },
            None => lost(line, "connected without a phone number".to_owned()),
        },
        // Unavailable again, so the phone keeps showing notifications.
        EngineEvent::NameSynced => Mapped { next: Next::GoUnavailable, ..Mapped::nothing() },
        EngineEvent::Disconnected { .. } if after_pair => {
            Mapped { state: Some(LineState::Connecting), ..Mapped::nothing() }
        }
        EngineEvent::Disconnected { reason } => lost(line, reason),
        EngineEvent::ConnectFailed { reason } => lost(line, format!("cannot reach WhatsApp: {reason}")),
        EngineEvent::LoggedOut(kind) => {
            let (reason, cooldown) = match kind {
                LogoutKind::Unlinked => ("the phone unlinked this device".to_owned(), None),
                LogoutKind::Replaced => ("another client took over this session".to_owned(), None),
                LogoutKind::Locked => {
                    let d = settings.lock_backoff;
                    (format!("the account is locked; not reconnecting for {} h", hours(d)), Some(d))
                }
                LogoutKind::TempBanned { expire } => {
                    let d = expire.unwrap_or(settings.temp_ban_backoff).max(settings.temp_ban_backoff);
                    (format!("the account is temporarily banned; not reconnecting for {} h", hours(d)), Some(d))
                }
            };
            match cooldown {
                Some(d) => {
                    let until_ms = now_ms.saturating_add(d.as_millis() as u64);
                    Mapped {
                        events: vec![WaEvent::Disconnected {
                            instance,
                            generation,
                            reason: reason.clone(),
                            logged_out: false,
                        }],
                        state: Some(LineState::CoolingDown { until_ms, reason }),
                        next: Next::Stop { cooldown_until_ms: Some(until_ms), wipe: false },
                    }
                }
                None => Mapped {
                    events: vec![WaEvent::Disconnected { instance, generation, reason, logged_out: true }],
                    state: Some(LineState::Offline),
                    next: Next::Stop { cooldown_until_ms: None, wipe: true },
                },
            }
        }
        EngineEvent::ServerAck { id, error } => {
            let Some(message_id) = WireId::ours(&id) else { return Mapped::nothing() };
            let event = match error {
                None => WaEvent::Accepted { instance, generation, message_id, at_ms: now_ms },
                Some(code) => WaEvent::Rejected { instance, generation, message_id, reason: nack_reason(&code) },
            };
            Mapped { events: vec![event], ..Mapped::nothing() }
        }
        EngineEvent::Receipt { ids, from, kind, at_ms } => {
            let Some(phone) = phone_of(&from) else { return Mapped::nothing() };
            let status = match kind {
                ReceiptKind::Delivered => Receipt::Delivered,
                ReceiptKind::Read => Receipt::Read,
                ReceiptKind::Played => Receipt::Played,
            };
            let events = ids
                .iter()
                .filter_map(|id| WireId::ours(id))
                .map(|message_id| WaEvent::Status { instance, message_id, phone: phone.clone(), status, at_ms })
                .collect();
            Mapped { events, ..Mapped::nothing() }
        }
        EngineEvent::Call { id, from, video, missed, at_ms } => {
            // A caller WhatsApp names only by a private id (`…@lid`) has no Z-API chat.
            let private = from.split_once('@').is_some_and(|(_, server)| server != "s.whatsapp.net");
            let Some(phone) = phone_of(&from).filter(|_| !private) else { return Mapped::nothing() };
            let event = WaEvent::Call { instance, call_id: id, phone, video, missed, at_ms };
            Mapped { events: vec![event], ..Mapped::nothing() }
        }
    }
}

fn lost(line: LineId, reason: String) -> Mapped {
    Mapped {
        events: vec![WaEvent::Disconnected {
            instance: line.instance,
            generation: line.generation,
            reason: reason.clone(),
            logged_out: false,
        }],
        state: Some(LineState::Unreachable { reason }),
        next: Next::Stop { cooldown_until_ms: None, wipe: false },
    }
}

/// The integrator's words for a server nack code.
pub fn nack_reason(code: &str) -> String {
    match code {
        "463" => "WhatsApp refused the message (463): this number may not message that contact yet".to_owned(),
        "479" => "WhatsApp refused the message (479): invalid message".to_owned(),
        "421" => "WhatsApp refused the message (421): rate limited".to_owned(),
        other => format!("WhatsApp refused the message ({other})"),
    }
}

#[cfg(test)]
mod tests {
    use chatedge_config::MessageId;

    use super::*;

    const NOW: u64 = 1_000_000;
    const H: u64 = 3_600_000;

    fn line() -> LineId {
        LineId { instance: InstanceId::from_bytes([7; 16]), generation: 3 }
    }

    fn phone(s: &str) -> Phone {
        Phone::parse(s).unwrap()
    }

    /// Each engine event, in each relevant line situation, and exactly what comes of it.
    #[test]
    fn every_engine_event_maps_to_its_event_state_and_next_step() {
        let LineId { instance, generation } = line();
        let ours = MessageId::generate();
        let wire = WireId::of(&ours).as_str().to_owned();
        let secs = Duration::from_secs;
        let disconnected = |reason: &str, logged_out| WaEvent::Disconnected {
            instance,
            generation,
            reason: reason.to_owned(),
            logged_out,
        };
        let unreachable = |reason: &str| Some(LineState::Unreachable { reason: reason.to_owned() });
        let stop = Next::Stop { cooldown_until_ms: None, wipe: false };
        // (what, event, after the pairing, events, state, next step)
        type Case = (&'static str, EngineEvent, bool, Vec<WaEvent>, Option<LineState>, Next);
        let cases: Vec<Case> = vec![
            (
                "a QR code becomes the current pairing code",
                EngineEvent::Qr { code: "2@ref,noise,id,adv,1".into(), valid_for: secs(60) },
                false,
                vec![WaEvent::PairingCode {
                    instance,
                    generation,
                    code: "2@ref,noise,id,adv,1".into(),
                    valid_for: secs(60),
                }],
                Some(LineState::Pairing),
                Next::Continue,
            ),
            (
                "a phone pairing code too",
                EngineEvent::PairCode { code: "K7QM2XPD".into(), valid_for: secs(180) },
                false,
                vec![WaEvent::PairingCode { instance, generation, code: "K7QM2XPD".into(), valid_for: secs(180) }],
                Some(LineState::Pairing),
                Next::Continue,
            ),
            (
                "codes exhausted end the pairing",
                EngineEvent::QrExhausted,
                false,
                vec![WaEvent::PairingExpired { instance, generation }],
                Some(LineState::Offline),
                stop.clone(),
            ),
            (
                "pairing success waits for the connection",
                EngineEvent::Paired { phone: "5511999990000@s.whatsapp.net".into() },
                false,
                vec![],
                Some(LineState::Connecting),
                Next::Continue,
            ),
            (
                "the restart after pairing is not a loss",
                EngineEvent::Disconnected { reason: "515".into() },
                true,
                vec![],
                Some(LineState::Connecting),
                Next::Continue,
            ),
            (
                "connected (ConnectedCallback) goes unavailable",
                EngineEvent::Connected { phone: Some("5511999990000:12@s.whatsapp.net".into()) },
                false,
                vec![WaEvent::Connected { instance, generation, phone: phone("5511999990000") }],
                Some(LineState::Online),
                Next::GoUnavailable,
            ),
            (
                "the account's name arriving after connecting goes unavailable again",
                EngineEvent::NameSynced,
                false,
                vec![],
                None,
                Next::GoUnavailable,
            ),
            (
                "a lost connection is retried by the data plane",
                EngineEvent::Disconnected { reason: "socket closed".into() },
                false,
                vec![disconnected("socket closed", false)],
                unreachable("socket closed"),
                stop.clone(),
            ),
            (
                "a failed connect says WhatsApp cannot be reached",
                EngineEvent::ConnectFailed { reason: "503".into() },
                false,
                vec![disconnected("cannot reach WhatsApp: 503", false)],
                unreachable("cannot reach WhatsApp: 503"),
                stop.clone(),
            ),
            (
                "the phone unlinking the device is a logout and forgets the keys",
                EngineEvent::LoggedOut(LogoutKind::Unlinked),
                false,
                vec![disconnected("the phone unlinked this device", true)],
                Some(LineState::Offline),
                Next::Stop { cooldown_until_ms: None, wipe: true },
            ),
            (
                "a lock backs off for hours, keeping the keys",
                EngineEvent::LoggedOut(LogoutKind::Locked),
                false,
                vec![disconnected("the account is locked; not reconnecting for 12 h", false)],
                Some(LineState::CoolingDown {
                    until_ms: NOW + 12 * H,
                    reason: "the account is locked; not reconnecting for 12 h".into(),
                }),
                Next::Stop { cooldown_until_ms: Some(NOW + 12 * H), wipe: false },
            ),
            (
                "a temporary ban backs off for what WhatsApp says, when longer",
                EngineEvent::LoggedOut(LogoutKind::TempBanned { expire: Some(secs(24 * 3600)) }),
                false,
                vec![disconnected("the account is temporarily banned; not reconnecting for 24 h", false)],
                Some(LineState::CoolingDown {
                    until_ms: NOW + 24 * H,
                    reason: "the account is temporarily banned; not reconnecting for 24 h".into(),
                }),
                Next::Stop { cooldown_until_ms: Some(NOW + 24 * H), wipe: false },
            ),
            (
                "a temporary ban backs off at least the configured hours",
                EngineEvent::LoggedOut(LogoutKind::TempBanned { expire: Some(secs(60)) }),
                false,
                vec![disconnected("the account is temporarily banned; not reconnecting for 6 h", false)],
                Some(LineState::CoolingDown {
                    until_ms: NOW + 6 * H,
                    reason: "the account is temporarily banned; not reconnecting for 6 h".into(),
                }),
                Next::Stop { cooldown_until_ms: Some(NOW + 6 * H), wipe: false },
            ),
            (
                "another client taking over is a logout",
                EngineEvent::LoggedOut(LogoutKind::Replaced),
                false,
                vec![disconnected("another client took over this session", true)],
                Some(LineState::Offline),
                Next::Stop { cooldown_until_ms: None, wipe: true },
            ),
            (
                "the server's ack of our message accepts it (SENT)",
                EngineEvent::ServerAck { id: wire.clone(), error: None },
                false,
                vec![WaEvent::Accepted { instance, generation, message_id: ours, at_ms: NOW }],
                None,
                Next::Continue,
            ),
            (
                "a nack refuses it with the code explained",
                EngineEvent::ServerAck { id: wire.clone(), error: Some("463".into()) },
                false,
                vec![WaEvent::Rejected { instance, generation, message_id: ours, reason: nack_reason("463") }],
                None,
                Next::Continue,
            ),
            (
                "an ack of a message that is not ours is ignored",
                EngineEvent::ServerAck { id: "3EB0ABCDEF0123456789AB".into(), error: None },
                false,
                vec![],
                None,
                Next::Continue,
            ),
            (
                "a delivery receipt is RECEIVED for our messages only",
                EngineEvent::Receipt {
                    ids: vec![wire.clone(), "BAE5F2".into()],
                    from: "5511988887777@s.whatsapp.net".into(),
                    kind: ReceiptKind::Delivered,
                    at_ms: 5,
                },
                false,
                vec![WaEvent::Status {
                    instance,
                    message_id: ours,
                    phone: phone("5511988887777"),
                    status: Receipt::Delivered,
                    at_ms: 5,
                }],
                None,
                Next::Continue,
            ),
            (
                "a read receipt is READ",
                EngineEvent::Receipt {
                    ids: vec![wire.clone()],
                    from: "5511988887777".into(),
                    kind: ReceiptKind::Read,
                    at_ms: 6,
                },
                false,
                vec![WaEvent::Status {
                    instance,
                    message_id: ours,
                    phone: phone("5511988887777"),
                    status: Receipt::Read,
                    at_ms: 6,
                }],
                None,
                Next::Continue,
            ),
            (
                "a played receipt is PLAYED",
                EngineEvent::Receipt {
                    ids: vec![wire.clone()],
                    from: "5511988887777".into(),
                    kind: ReceiptKind::Played,
                    at_ms: 7,
                },
                false,
                vec![WaEvent::Status {
                    instance,
                    message_id: ours,
                    phone: phone("5511988887777"),
                    status: Receipt::Played,
                    at_ms: 7,
                }],
                None,
                Next::Continue,
            ),
            (
                "a call offered is announced with its caller's number",
                EngineEvent::Call {
                    id: "F44E0E20".into(),
                    from: "5511988887777@s.whatsapp.net".into(),
                    video: false,
                    missed: false,
                    at_ms: 8,
                },
                false,
                vec![WaEvent::Call {
                    instance,
                    call_id: "F44E0E20".into(),
                    phone: phone("5511988887777"),
                    video: false,
                    missed: false,
                    at_ms: 8,
                }],
                None,
                Next::Continue,
            ),
            (
                "a missed video call says so",
                EngineEvent::Call {
                    id: "F44E0E21".into(),
                    from: "5511988887777".into(),
                    video: true,
                    missed: true,
                    at_ms: 9,
                },
                false,
                vec![WaEvent::Call {
                    instance,
                    call_id: "F44E0E21".into(),
                    phone: phone("5511988887777"),
                    video: true,
                    missed: true,
                    at_ms: 9,
                }],
                None,
                Next::Continue,
            ),
            (
                "a caller known only by a private id is not announced",
                EngineEvent::Call {
                    id: "F44E0E22".into(),
                    from: "81896604192873@lid".into(),
                    video: false,
                    missed: false,
                    at_ms: 9,
                },
                false,
                vec![],
                None,
                Next::Continue,
            ),
        ];
        for (what, event, after_pair, events, state, next) in cases {
            let got = map(line(), event, after_pair, &Settings::default(), NOW);
            assert_eq!(got, Mapped { events, state, next }, "{what}");
        }
    }
}
