//! The nested-field readers: paths in errors, enums, amounts, phone numbers, URLs, dates.

use super::*;

fn obj(s: &str) -> Object {
    match serde_json::from_str(s).unwrap() {
        Value::Object(o) => o,
        _ => panic!("not an object"),
    }
}

fn message(e: ZapiError) -> String {
    match e {
        ZapiError::Invalid { message, .. } => message,
        other => panic!("{other:?}"),
    }
}

#[test]
fn nested_fields_are_named_by_their_full_path() {
    let o = obj(r#"{"carousel":[{"text":"a"},{"buttons":[{"label":""}]}]}"#);
    let cards = At::root(&o).objects("carousel", 1..=10, true).unwrap().unwrap();
    assert_eq!(message(cards[1].at().required_text("text", 10).unwrap_err()), "carousel[1].text is required");
    let buttons = cards[1].at().objects("buttons", 0..=3, false).unwrap().unwrap();
    assert_eq!(
        message(buttons[0].at().required_text("label", 10).unwrap_err()),
        "carousel[1].buttons[0].label must not be empty"
    );
    assert_eq!(
        message(At::root(&o).objects("carousel", 3..=10, true).unwrap_err()),
        "carousel must have from 3 to 10 items, not 2"
    );
    let o = obj(r#"{"list":[1]}"#);
    assert_eq!(message(At::root(&o).objects("list", 0..=3, true).unwrap_err()), "list[0] must be an object");
}

#[test]
fn enums_numbers_and_amounts_are_checked() {
    let o = obj(r#"{"t":"going","n":"3","big":4,"neg":-1,"a":"10.5","x":[]}"#);
    let at = At::root(&o);
    assert_eq!(at.one_of("t", &["GOING", "NOT_GOING"], &[1, 2], true).unwrap(), Some(1));
    assert!(message(at.one_of("n", &["GOING"], &[1], true).unwrap_err()).contains("n must be one of GOING"));
    assert_eq!(at.count("n", 1..=3, true).unwrap(), Some(3));
    assert!(at.count("big", 1..=3, true).is_err());
    assert!(at.amount("neg", true).is_err());
    assert_eq!(at.amount("a", true).unwrap(), Some(10.5));
    assert!(at.amount("x", true).is_err());
    assert_eq!(at.amount("missing", false).unwrap(), None);
}

#[test]
fn phone_numbers_on_buttons_may_be_written_as_people_write_them() {
    for (raw, want) in [
        (r#""+554498398733""#, "554498398733"),
        (r#""+55 (44) 9839-8733""#, "554498398733"),
        ("554498398733", "554498398733"),
    ] {
        let o = obj(&format!(r#"{{"p":{raw}}}"#));
        assert_eq!(At::root(&o).phone_number("p", true).unwrap().as_deref(), Some(want), "{raw}");
    }
    for raw in [r#""12""#, r#""55a4498398733""#, r#""++5544983987""#, "true", r#""1234567890123456""#] {
        let o = obj(&format!(r#"{{"p":{raw}}}"#));
        assert!(At::root(&o).phone_number("p", true).is_err(), "{raw}");
    }
}

#[test]
fn urls_must_be_http_or_https_with_a_host() {
    let o = obj(r#"{"a":"https://z-api.io","b":"ftp://x","c":"https://","d":"http://a b"}"#);
    assert_eq!(At::root(&o).url("a", 100, true).unwrap().as_deref(), Some("https://z-api.io"));
    for f in ["b", "c", "d"] {
        assert!(At::root(&o).url(f, 100, true).is_err(), "{f}");
    }
}

#[test]
fn event_date_times_are_iso_8601() {
    for ok in [
        "2024-04-29T09:30:53.309Z",
        "2024-04-29T09:30:53",
        "2024-04-29T09:30",
        "2024-02-29T00:00:00-03:00",
        "2024-12-31 23:59:59+14:00",
    ] {
        assert!(is_date_time(ok), "{ok}");
    }
    for bad in [
        "",
        "2024-04-29",
        "2023-02-29T10:00",
        "2024-13-01T10:00",
        "2024-04-31T10:00",
        "2024-04-29T24:00",
        "2024-04-29T10:60",
        "2024-04-29T10:00:61",
        "2024-04-29T10:00:00.Z",
        "2024-04-29T10:00:00+3",
        "29/04/2024 10:00",
        "2024-04-29T10:00:00Zjunk",
    ] {
        assert!(!is_date_time(bad), "{bad}");
    }
}

#[test]
fn repeated_texts_are_named() {
    let items = [("poll[0].name".to_owned(), "A"), ("poll[1].name".to_owned(), "a ")];
    assert_eq!(message(distinct(items).unwrap_err()), "poll[1].name repeats \"a \"; each must be different");
}
