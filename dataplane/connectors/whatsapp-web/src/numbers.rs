//! Phone numbers as WhatsApp tells them apart. In a few countries one mobile number is written
//! two ways and WhatsApp registers it under only one of them: Brazil's ninth digit (55 DD 9XXXX
//! XXXX beside the older 55 DD XXXX XXXX), Mexico's mobile "1" (52 1 …) and Argentina's mobile
//! "9" (54 9 …). A lookup answers with the form WhatsApp knows, not the one asked, so answers
//! are matched to questions by [`subscriber`], and a send to such a number goes to the form
//! WhatsApp answered (`real`). It keeps nothing and asks nothing.

use std::borrow::Cow;

/// The digits that name one subscriber whichever way the number was written: the variant digit
/// taken out where the country has one. Two numbers with the same subscriber are one account.
pub fn subscriber(digits: &str) -> Cow<'_, str> {
    match variant_digit(digits) {
        Some(at) => Cow::Owned(format!("{}{}", &digits[..at], &digits[at + 1..])),
        None => Cow::Borrowed(digits),
    }
}

/// Whether WhatsApp may know `digits` under another form (so a send should ask which first).
pub fn has_variant(digits: &str) -> bool {
    variant_digit(digits).is_some() || short_form(digits)
}

/// Where the variant digit of a long-form number sits, if it has one.
fn variant_digit(digits: &str) -> Option<usize> {
    let b = digits.as_bytes();
    if !b.iter().all(u8::is_ascii_digit) || b.len() != 13 {
        return None;
    }
    match (&b[..2], b[2], b[4]) {
        // Brazil: 55, area code, then 9 before an eight-digit mobile number (starting 6–9).
        (b"55", _, b'9') if (b'6'..=b'9').contains(&b[5]) => Some(4),
        // Mexico: 52 1 and ten digits.
        (b"52", b'1', _) => Some(2),
        // Argentina: 54 9 and ten digits.
        (b"54", b'9', _) => Some(2),
        _ => None,
    }
}

/// A short form that has a long one: a Brazilian mobile without its ninth digit, a Mexican or
/// Argentine number without its mobile digit.
fn short_form(digits: &str) -> bool {
    let b = digits.as_bytes();
    if !b.iter().all(u8::is_ascii_digit) || b.len() != 12 {
        return false;
    }
    match &b[..2] {
        b"55" => (b'6'..=b'9').contains(&b[4]),
        b"52" | b"54" => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_country_with_two_forms_matches_them_as_one_subscriber_and_no_other_country_does() {
        // (asked, answered, same subscriber)
        let cases = [
            ("5511988887777", "551188887777", true), // Brazil: ninth digit asked, not registered
            ("551188887777", "5511988887777", true), // Brazil: the other way round
            ("5511988887777", "5511988887777", true),
            ("551133334444", "5511933334444", false), // a Brazilian landline has no ninth digit
            ("5511988887777", "5511988887778", false),
            ("5215512345678", "525512345678", true), // Mexico's mobile 1
            ("5491112345678", "541112345678", true), // Argentina's mobile 9
            ("14155550123", "14155550123", true),
            ("4915123456789", "491512345678", false), // Germany: no variant digit
            ("447911123456", "4479111234567", false),
        ];
        for (asked, answered, same) in cases {
            assert_eq!(subscriber(asked) == subscriber(answered), same, "{asked} / {answered}");
        }
    }

    #[test]
    fn only_numbers_written_in_a_countrys_two_ways_need_asking_before_a_send() {
        let cases = [
            ("5511988887777", true),
            ("551188887777", true),
            ("551133334444", false), // landline
            ("5215512345678", true),
            ("525512345678", true),
            ("5491112345678", true),
            ("541112345678", true),
            ("14155550123", false),
            ("4915123456789", false),
            ("120363025246125888", false), // a group's digits
            ("55119888x7777", false),
        ];
        for (number, expected) in cases {
            assert_eq!(has_variant(number), expected, "{number}");
        }
    }
}
