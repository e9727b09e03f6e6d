//! `Phone`: a chat id a message can be sent to. Z-API's `phone` field is either a contact
//! number (country code + area code + number, digits only: "5511999999999") or a group id
//! ("120363019502650977-group"; older groups "5511999999999-1623281429-group"). A value of this
//! type is one of those; nothing else parses.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Shortest and longest contact number (E.164 allows at most 15 digits).
const CONTACT_DIGITS: std::ops::RangeInclusive<usize> = 8..=15;
/// Bounds of each numeric part of a group id.
const GROUP_PART_DIGITS: std::ops::RangeInclusive<usize> = 5..=30;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("phone is empty")]
    Empty,
    #[error(
        "phone must be digits only (country code, area code and number, 8 to 15 digits, \
         no '+', spaces or dashes) or a group id ending in '-group'"
    )]
    Malformed,
}

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Phone(Box<str>);

impl Phone {
    pub fn parse(s: &str) -> Result<Self, PhoneError> {
        if s.is_empty() {
            return Err(PhoneError::Empty);
        }
        if is_contact(s) || is_group(s) {
            Ok(Phone(s.into()))
        } else {
            Err(PhoneError::Malformed)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_group(&self) -> bool {
        self.0.ends_with("-group")
    }

    /// The last four characters, which the sim network reads to decide reachability.
    pub fn ends_with(&self, suffix: &str) -> bool {
        self.0.ends_with(suffix)
    }
}

fn all_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

fn is_contact(s: &str) -> bool {
    all_digits(s) && CONTACT_DIGITS.contains(&s.len())
}

fn is_group(s: &str) -> bool {
    let Some(body) = s.strip_suffix("-group") else { return false };
    let mut parts = body.split('-');
    let (Some(first), second, None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let part_ok = |p: &str| all_digits(p) && GROUP_PART_DIGITS.contains(&p.len());
    part_ok(first) && second.is_none_or(part_ok)
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
    fn contact_numbers_are_8_to_15_digits() {
        assert!(Phone::parse("5511999999999").is_ok());
        assert!(Phone::parse("12345678").is_ok());
        assert!(Phone::parse("123456789012345").is_ok());
        assert_eq!(Phone::parse("1234567"), Err(PhoneError::Malformed));
        assert_eq!(Phone::parse("1234567890123456"), Err(PhoneError::Malformed));
    }

    #[test]
    fn formatting_characters_are_refused() {
        for bad in ["+5511999999999", "55 11 99999 9999", "55-11-999999999", "551199999999a"] {
            assert_eq!(Phone::parse(bad), Err(PhoneError::Malformed), "{bad}");
        }
        assert_eq!(Phone::parse(""), Err(PhoneError::Empty));
    }

    #[test]
    fn group_ids_are_accepted() {
        assert!(Phone::parse("120363019502650977-group").unwrap().is_group());
        assert!(Phone::parse("5511999999999-1623281429-group").is_ok());
        assert!(Phone::parse("-group").is_err());
        assert!(Phone::parse("1-2-3-group").is_err());
        assert!(Phone::parse("120363019502650977-grp").is_err());
    }
}
