//! `Phone`: a chat id a message can be sent to, in the forms seed 001 shows: a contact number
//! (country code + area code + number, digits only: "5511999999999"), a group id
//! ("120363019502650977-group"; groups made before November 2021 are the founder's number and a
//! timestamp, "5511999999999-1623281429", also written with "-group" appended), a WhatsApp
//! contact id ("81896604192873@lid"), a channel id ("120363166555745933@newsletter") or the
//! status broadcast list ("status@broadcast", where status posts go).
//!
//! [`Phone::parse`] is strict — the value is one of those forms exactly — and is what stored
//! values (queue keys, records) and admin query parameters use. [`Phone::normalize`] reads a
//! recipient as client code writes it (a leading `+`, spaces, dashes, dots, parentheses around
//! the area code) and turns it into digits; anything else is refused. Pure functions, no I/O.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Shortest and longest contact number (E.164 allows at most 15 digits).
const CONTACT_DIGITS: std::ops::RangeInclusive<usize> = 8..=15;
/// Bounds of each numeric part of a group id.
const GROUP_PART_DIGITS: std::ops::RangeInclusive<usize> = 5..=30;
/// The timestamp of an old group id ("5511999999999-1623281429") is a Unix time in seconds.
const OLD_GROUP_TIMESTAMP_DIGITS: usize = 10;
/// Bounds of the number before `@lid` (seed 001: "81896604192873@lid").
const LID_DIGITS: std::ops::RangeInclusive<usize> = 5..=24;
/// Bounds of the number before `@newsletter` (seed 001: "120363166555745933@newsletter").
const NEWSLETTER_DIGITS: std::ops::RangeInclusive<usize> = 5..=30;
/// The id status posts are addressed to (WhatsApp's own id for the status broadcast list).
pub const STATUS_BROADCAST: &str = "status@broadcast";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone is empty")]
    Empty,
    #[error(
        "phone must be digits only (country code, area code and number, 8 to 15 digits), a group id \
         ending in '-group', or an id ending in '@lid' or '@newsletter'"
    )]
    Malformed,
    #[error(
        "phone must be a number with country and area code (8 to 15 digits; a leading '+', spaces, \
         dashes, dots and parentheses are allowed), a group id ending in '-group', or an id ending \
         in '@lid' or '@newsletter'"
    )]
    NotAPhone,
}

/// Which kind of chat a [`Phone`] names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhoneKind {
    Contact,
    Group,
    /// A contact by its WhatsApp id rather than its number (`…@lid`).
    Lid,
    /// A channel (`…@newsletter`).
    Newsletter,
    /// The account's status (stories): `status@broadcast`, what a status post is sent to.
    StatusBroadcast,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(Box<str>);

impl Phone {
    /// The value exactly as one of the accepted forms, nothing stripped.
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        match kind_of(s) {
            Some(_) => Ok(Phone(s.into())),
            None => Err(PhoneError::Malformed),
        }
    }

    /// A recipient as client code writes it: an id in one of the accepted forms, or a contact
    /// number with a leading `+`, spaces, dashes, dots or one pair of parentheses, which become
    /// digits only ("+55 (11) 99999-9999" → "5511999999999").
    pub fn normalize(input: &str) -> Result<Self, PhoneError> {
        let s = input.trim();
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        if let Ok(p) = Phone::parse(s) {
            return Ok(p);
        }
        let body = s.strip_prefix('+').unwrap_or(s);
        let mut digits = String::with_capacity(body.len());
        let (mut open, mut pairs) = (false, 0);
        for c in body.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '-' | '.' => {}
                '(' if !open && pairs == 0 => open = true,
                ')' if open => (open, pairs) = (false, 1),
                _ => return Err(PhoneError::NotAPhone),
            }
        }
        if open || !is_contact(&digits) {
            return Err(PhoneError::NotAPhone);
        }
        Ok(Phone(digits.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn kind(&self) -> PhoneKind {
        // A `Phone` only holds values `kind_of` recognised.
        kind_of(&self.0).unwrap_or(PhoneKind::Contact)
    }

    pub fn is_group(&self) -> bool {
        self.kind() == PhoneKind::Group
    }

    /// The id as a WhatsApp JID: a group as `…@g.us` (without the `-group` chatedge writes), a
    /// number as `…@s.whatsapp.net`, an id that is already a JID (`…@lid`, `…@newsletter`) as
    /// it is.
    pub fn jid(&self) -> String {
        let p: &str = &self.0;
        match (self.is_group(), p.strip_suffix("-group")) {
            (true, Some(group)) => format!("{group}@g.us"),
            (true, None) => format!("{p}@g.us"),
            (false, _) if p.contains('@') => p.to_owned(),
            (false, _) => format!("{p}@s.whatsapp.net"),
        }
    }

    /// The last four characters, which the sim network reads to decide reachability.
    pub fn ends_with(&self, suffix: &str) -> bool {
        self.0.ends_with(suffix)
    }
}

fn kind_of(s: &str) -> Option<PhoneKind> {
    if is_contact(s) {
        Some(PhoneKind::Contact)
    } else if is_group(s) {
        Some(PhoneKind::Group)
    } else if s.strip_suffix("@lid").is_some_and(|n| digits_within(n, &LID_DIGITS)) {
        Some(PhoneKind::Lid)
    } else if s.strip_suffix("@newsletter").is_some_and(|n| digits_within(n, &NEWSLETTER_DIGITS)) {
        Some(PhoneKind::Newsletter)
    } else if s == STATUS_BROADCAST {
        Some(PhoneKind::StatusBroadcast)
    } else {
        None
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn digits_within(s: &str, range: &std::ops::RangeInclusive<usize>) -> bool {
    all_digits(s) && range.contains(&s.len())
}

fn is_contact(s: &str) -> bool {
    digits_within(s, &CONTACT_DIGITS)
}

fn is_group(s: &str) -> bool {
    let Some(body) = s.strip_suffix("-group") else { return is_old_group(s) };
    let mut parts = body.split('-');
    let (Some(first), second, None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let part_ok = |p: &str| digits_within(p, &GROUP_PART_DIGITS);
    part_ok(first) && second.is_none_or(part_ok)
}

/// "5511999999999-1623281429": the founder's number and a 10-digit timestamp (seed 001, groups).
/// Narrower than the "-group" forms so that a number written with one dash ("5511-99998888")
/// is read as a number, not a group.
fn is_old_group(s: &str) -> bool {
    let Some((founder, time)) = s.split_once('-') else { return false };
    is_contact(founder) && all_digits(time) && time.len() == OLD_GROUP_TIMESTAMP_DIGITS
}

impl fmt::Display for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({})", self.0)
    }
}

impl Serialize for Phone {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Phone {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Phone::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_accepts_exactly_the_id_forms_of_seed_001() {
        let cases: &[(&str, Option<PhoneKind>)] = &[
            ("5511999999999", Some(PhoneKind::Contact)),
            ("12345678", Some(PhoneKind::Contact)),
            ("123456789012345", Some(PhoneKind::Contact)),
            ("1234567", None),
            ("1234567890123456", None),
            ("120363019502650977-group", Some(PhoneKind::Group)),
            ("5511999999999-1623281429-group", Some(PhoneKind::Group)),
            ("5511999999999-1623281429", Some(PhoneKind::Group)),
            ("342532456234453-group", Some(PhoneKind::Group)),
            ("81896604192873@lid", Some(PhoneKind::Lid)),
            ("120363166555745933@newsletter", Some(PhoneKind::Newsletter)),
            ("5544999999999@newsletter", Some(PhoneKind::Newsletter)),
            ("status@broadcast", Some(PhoneKind::StatusBroadcast)),
            ("Status@broadcast", None),
            ("5511999999999@broadcast", None),
            ("status@broadcast ", None),
            ("-group", None),
            ("1-2-3-group", None),
            ("120363019502650977-grp", None),
            ("5511-99998888", None),
            ("@lid", None),
            ("abc@lid", None),
            ("5511999999999@s.whatsapp.net", None),
            ("@newsletter", None),
            ("+5511999999999", None),
            ("55 11 99999 9999", None),
            ("55-11-999999999", None),
            ("551199999999a", None),
        ];
        for (input, kind) in cases {
            let parsed = Phone::parse(input);
            assert_eq!(parsed.as_ref().ok().map(Phone::kind), *kind, "{input}");
            if kind.is_none() {
                assert_eq!(parsed, Err(PhoneError::Malformed), "{input}");
            }
        }
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
    }

    #[test]
    fn normalize_turns_numbers_written_by_client_code_into_digits() {
        let cases: &[(&str, Result<&str, PhoneError>)] = &[
            ("5511999999999", Ok("5511999999999")),
            ("+5511999999999", Ok("5511999999999")),
            ("+55 11 99999-9999", Ok("5511999999999")),
            ("+55 (11) 99999-9999", Ok("5511999999999")),
            ("55.11.99999.9999", Ok("5511999999999")),
            ("  5511999999999 ", Ok("5511999999999")),
            ("5511-99998888", Ok("551199998888")),
            ("120363019502650977-group", Ok("120363019502650977-group")),
            ("5511999999999-1623281429", Ok("5511999999999-1623281429")),
            ("81896604192873@lid", Ok("81896604192873@lid")),
            ("120363166555745933@newsletter", Ok("120363166555745933@newsletter")),
            (" status@broadcast ", Ok("status@broadcast")),
            ("", Err(PhoneError::Empty)),
            ("   ", Err(PhoneError::Empty)),
            ("++5511999999999", Err(PhoneError::NotAPhone)),
            ("55+11999999999", Err(PhoneError::NotAPhone)),
            ("+55 (11 99999-9999", Err(PhoneError::NotAPhone)),
            ("+55 11) 99999-9999", Err(PhoneError::NotAPhone)),
            ("(55) (11) 99999-9999", Err(PhoneError::NotAPhone)),
            ("+55 11 999", Err(PhoneError::NotAPhone)),
            ("+55 11 99999-9999 1234", Err(PhoneError::NotAPhone)),
            ("5511999999999a", Err(PhoneError::NotAPhone)),
            ("55_11_999999999", Err(PhoneError::NotAPhone)),
            ("+5511999999999-group", Err(PhoneError::NotAPhone)),
            ("5511999999999@c.us", Err(PhoneError::NotAPhone)),
            ("PHONE DO CHAT", Err(PhoneError::NotAPhone)),
        ];
        for (input, want) in cases {
            let got = Phone::normalize(input);
            assert_eq!(got.as_ref().map(Phone::as_str).map_err(Clone::clone), want.clone(), "{input:?}");
        }
    }

    #[test]
    fn a_normalized_phone_reads_back_strictly() {
        for input in ["+55 (11) 99999-9999", "81896604192873@lid", "5511999999999-1623281429"] {
            let p = Phone::normalize(input).unwrap();
            assert_eq!(Phone::parse(p.as_str()).unwrap(), p);
            let json = serde_json::to_string(&p).unwrap();
            assert_eq!(serde_json::from_str::<Phone>(&json).unwrap(), p);
        }
        assert!(serde_json::from_str::<Phone>("\"+5511999999999\"").is_err());
    }

    #[test]
    fn only_group_ids_are_groups() {
        assert!(Phone::parse("120363019502650977-group").unwrap().is_group());
        assert!(Phone::parse("5511999999999-1623281429").unwrap().is_group());
        assert!(!Phone::parse("5511999999999").unwrap().is_group());
        assert!(!Phone::parse("81896604192873@lid").unwrap().is_group());
        assert!(!Phone::parse("120363166555745933@newsletter").unwrap().is_group());
    }
}
