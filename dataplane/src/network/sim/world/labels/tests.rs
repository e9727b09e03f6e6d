use super::*;
use crate::network::account::Account;

fn cx(business: bool) -> Cx {
    let account = Account { phone: Phone::parse("5511999990001").ok(), business };
    Cx::new(chatedge_config::InstanceId::generate(), account, "0000".into())
}

fn world() -> World {
    let mut w = World::default();
    w.labels.labels = Table::new("labels", MAX_LABELS);
    w.labels.chats = Table::new("labels.chats", 10);
    w
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn create(w: &mut World, name: &str, color: Option<u8>) -> String {
    match apply(w, Call::Create { name: name.into(), color }, &mut cx(true)).unwrap() {
        Reply::Created(id) => id,
        r => panic!("{r:?}"),
    }
}

fn assign(w: &mut World, chat: &str, label: &str, assigned: bool) -> Result<Reply, AccountError> {
    apply(w, Call::Assign { chat: phone(chat), label: label.into(), assigned }, &mut cx(true))
}

#[test]
fn labels_get_fresh_ids_and_are_never_reused() {
    let mut w = world();
    assert_eq!(create(&mut w, "New customer", None), "1");
    assert_eq!(create(&mut w, "New order", Some(7)), "2");
    apply(&mut w, Call::Delete { id: "2".into() }, &mut cx(true)).unwrap();
    assert_eq!(create(&mut w, "Paid", None), "3", "a deleted label's id is not minted again");
    match apply(&mut w, Call::List, &mut cx(true)).unwrap() {
        Reply::Labels(l) => {
            let got: Vec<_> = l.iter().map(|l| (l.id.as_str(), l.name.as_str(), l.color)).collect();
            assert_eq!(got, [("1", "New customer", 0), ("3", "Paid", 2)]);
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn a_normal_account_has_no_labels() {
    let mut w = world();
    let mut c = cx(false);
    assert_eq!(apply(&mut w, Call::List, &mut c).unwrap_err(), AccountError::NotBusiness);
    assert!(apply(&mut w, Call::Create { name: "x".into(), color: None }, &mut c).is_err());
    assert!(c.into_parts().0.is_empty());
}

#[test]
fn chats_carry_labels_until_taken_off_or_the_label_is_deleted() {
    let mut w = world();
    let (a, b) = (create(&mut w, "a", None), create(&mut w, "b", None));
    assign(&mut w, "5544977777777", &b, true).unwrap();
    assign(&mut w, "5544977777777", &a, true).unwrap();
    assign(&mut w, "5544988888888", &a, true).unwrap();
    assert_eq!(w.labels.labels_of("5544977777777"), [a.clone(), b.clone()]);
    assign(&mut w, "5544977777777", &b, false).unwrap();
    assert_eq!(w.labels.labels_of("5544977777777"), std::slice::from_ref(&a));
    apply(&mut w, Call::Delete { id: a.clone() }, &mut cx(true)).unwrap();
    assert!(w.labels.labels_of("5544977777777").is_empty());
    assert!(w.labels.labels_of("5544988888888").is_empty());
    assert!(w.labels.chats.is_empty(), "chats without labels keep no row");
}

#[test]
fn refused_label_changes_change_nothing() {
    let mut w = world();
    let a = create(&mut w, "a", None);
    let cases: Vec<(Call, &str)> = vec![
        (Call::Assign { chat: phone("5544977777777"), label: "9".into(), assigned: true }, "unknown label"),
        (Call::Assign { chat: phone("5544970000000"), label: a.clone(), assigned: true }, "not on the network"),
        (Call::Edit { id: a.clone(), name: "b".into(), color: Some(20) }, "no such color"),
        (Call::Edit { id: "7".into(), name: "b".into(), color: None }, "unknown label"),
        (Call::Create { name: "c".into(), color: Some(99) }, "no such color"),
    ];
    for (call, why) in cases {
        let mut c = cx(true);
        assert!(apply(&mut w, call, &mut c).is_err(), "{why}");
        assert!(c.into_parts().0.is_empty(), "{why}: a refused call writes nothing");
    }
    assert_eq!(w.labels.list()[0].name, "a");
    for i in 0..MAX_LABELS - 1 {
        create(&mut w, &format!("l{i}"), None);
    }
    let full = apply(&mut w, Call::Create { name: "one too many".into(), color: None }, &mut cx(true));
    assert!(matches!(full, Err(AccountError::Limit(_))));
}

#[test]
fn labelling_on_the_phone_is_announced_as_one_notice() {
    let mut w = world();
    let (a, b) = (create(&mut w, "a", None), create(&mut w, "b", None));
    assign(&mut w, "5544988888888", &b, true).unwrap();
    let changes = vec![
        PhoneLabelChange { phone: phone("5544977777777"), label: a.clone(), assigned: true },
        PhoneLabelChange { phone: phone("5544988888888"), label: b.clone(), assigned: false },
    ];
    let mut c = cx(false);
    label_chats(&mut w, changes, &mut c).unwrap();
    assert_eq!(w.labels.labels_of("5544977777777"), std::slice::from_ref(&a));
    assert!(w.labels.labels_of("5544988888888").is_empty());
    let (_, notices) = c.into_parts();
    assert_eq!(notices.len(), 1);
    assert_eq!(notices[0].from.as_str(), "5511999990001", "in the account's own chat");
    let crate::network::incoming::IncomingContent::Notification(n) = &notices[0].content else { panic!() };
    assert_eq!(n.notification, "CHAT_LABEL_ASSOCIATION");
    let params = n.notification_parameters.as_ref().unwrap();
    assert_eq!(params.len(), 2);
    let bad = vec![
        PhoneLabelChange { phone: phone("5544966666666"), label: a.clone(), assigned: true },
        PhoneLabelChange { phone: phone("5544955555555"), label: "99".into(), assigned: true },
    ];
    let mut c = cx(false);
    assert!(label_chats(&mut w, bad, &mut c).is_err());
    let (batch, notices) = c.into_parts();
    assert!(batch.is_empty() && notices.is_empty(), "all or nothing");
    assert!(w.labels.labels_of("5544966666666").is_empty());
}
