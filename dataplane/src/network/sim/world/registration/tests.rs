use super::*;
use crate::network::account::Account;

fn cx(phone: Option<&str>) -> Cx {
    let account = Account { phone: phone.map(|p| Phone::parse(p).unwrap()), business: false };
    Cx::new(chatedge_config::InstanceId::generate(), account, "0000".into())
}

fn world() -> World {
    let mut w = World::default();
    w.registration.bans = Table::new("registration.bans", 10);
    w.registration.captcha_next = Table::new("registration.captcha", 10);
    w
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

fn run(w: &mut World, call: Call) -> Result<Reply, AccountError> {
    apply(w, call, &mut cx(None))
}

#[test]
fn a_number_registers_after_availability_code_and_confirmation() {
    let mut w = world();
    let n = phone("554499999999");
    let r = run(&mut w, Call::RequestCode { phone: n.clone(), method: CodeMethod::Sms });
    assert!(matches!(r, Err(AccountError::Refused(_))), "availability first: {r:?}");
    assert!(matches!(
        run(&mut w, Call::Available { phone: n.clone() }),
        Ok(Reply::Availability { available: true, .. })
    ));
    let r = run(&mut w, Call::RequestCode { phone: n.clone(), method: CodeMethod::Voice }).unwrap();
    assert!(matches!(r, Reply::CodeRequested { method: CodeMethod::Voice, captcha: None, .. }), "{r:?}");
    assert!(matches!(
        run(&mut w, Call::RequestCode { phone: n.clone(), method: CodeMethod::Sms }),
        Ok(Reply::TooSoon { .. })
    ));
    let code = sent(&w).code.clone().unwrap();
    let mut c = cx(None);
    assert!(matches!(
        apply(&mut w, Call::ConfirmCode { code: "000000x".into() }, &mut c),
        Err(AccountError::Refused(_))
    ));
    assert!(c.into_parts().0.is_empty(), "a wrong code writes nothing");
    assert_eq!(run(&mut w, Call::ConfirmCode { code }).unwrap(), Reply::Registered { phone: n.clone() });
    assert_eq!(registered(&Ok(AccountReply::Registration(Reply::Registered { phone: n.clone() }))), Some(n.clone()));
    assert_eq!(sent(&w).registered, Some(n));
}

#[test]
fn a_pin_is_asked_after_the_code_when_the_account_has_one() {
    let mut w = world();
    let n = phone("554499999999");
    w.registration.progress.update(&mut cx(None), |s| (s.pin, s.registered) = (Some("123456".into()), Some(n.clone())));
    run(&mut w, Call::Available { phone: n.clone() }).unwrap();
    run(&mut w, Call::RequestCode { phone: n.clone(), method: CodeMethod::Sms }).unwrap();
    let code = sent(&w).code.clone().unwrap();
    assert!(matches!(run(&mut w, Call::ConfirmPin { code: "123456".into() }), Err(AccountError::Refused(_))));
    assert_eq!(run(&mut w, Call::ConfirmCode { code }).unwrap(), Reply::NeedsPin);
    assert!(matches!(run(&mut w, Call::RecoverPin), Err(AccountError::Refused(_))), "no verified e-mail");
    assert!(matches!(run(&mut w, Call::ConfirmPin { code: "654321".into() }), Err(AccountError::Refused(_))));
    assert_eq!(run(&mut w, Call::ConfirmPin { code: "123456".into() }).unwrap(), Reply::Registered { phone: n });
}

#[test]
fn a_captcha_holds_the_code_until_answered() {
    let mut w = world();
    let n = phone("554499999999");
    require_captcha(&mut w, &n, &mut cx(None)).unwrap();
    run(&mut w, Call::Available { phone: n.clone() }).unwrap();
    let Reply::CodeRequested { captcha: Some(answer), .. } =
        run(&mut w, Call::RequestCode { phone: n.clone(), method: CodeMethod::Sms }).unwrap()
    else {
        panic!("a captcha is shown")
    };
    assert_eq!(sent(&w).code, None, "no code before the captcha is answered");
    assert!(run(&mut w, Call::RespondCaptcha { answer: "x".into() }).is_err());
    assert_eq!(run(&mut w, Call::RespondCaptcha { answer }).unwrap(), Reply::Done);
    assert!(sent(&w).code.is_some());
}

#[test]
fn a_banned_number_is_blocked_until_its_appeal_is_reviewed() {
    let mut w = world();
    let n = phone("554499999999");
    let token = ban(&mut w, &n, &mut cx(None)).unwrap();
    let r = run(&mut w, Call::Available { phone: n.clone() }).unwrap();
    assert!(
        matches!(r, Reply::Availability { available: false, blocked: true, appeal_token: Some(ref t), .. } if *t == token)
    );
    let appeal = |t: &str| Call::RequestUnban { appeal_token: t.into(), description: "d".into() };
    assert!(matches!(run(&mut w, appeal("nope")), Err(AccountError::NotFound(_))));
    assert_eq!(run(&mut w, appeal(&token)).unwrap(), Reply::Unban { unbanned: false });
    assert!(w.registration.bans.get(n.as_str()).unwrap().in_review);
    lift_ban(&mut w, &n, &mut cx(None)).unwrap();
    assert_eq!(run(&mut w, appeal(&token)).unwrap(), Reply::Unban { unbanned: true });
    assert!(matches!(run(&mut w, Call::Available { phone: n }), Ok(Reply::Availability { available: true, .. })));
}

#[test]
fn security_settings_need_a_mobile_instance_and_verify_the_email() {
    let mut w = world();
    let me = "554499999999";
    assert_eq!(apply(&mut w, Call::HasPin, &mut cx(None)), Err(AccountError::NotConnected));
    assert!(matches!(apply(&mut w, Call::HasPin, &mut cx(Some(me))), Err(AccountError::Refused(_))), "not mobile");
    w.registration.progress.update(&mut cx(None), |s| s.registered = Some(phone(me)));
    let mut on = |call| apply(&mut w, call, &mut cx(Some(me)));
    assert_eq!(on(Call::SetEmail { email: "a@b.c".into() }).unwrap(), Reply::VerifyEmail);
    assert_eq!(on(Call::Email).unwrap(), Reply::Email { email: Some("a@b.c".into()), verified: false });
    assert!(on(Call::VerifyEmail { code: "x".into() }).is_err());
    let code = sent(&w).email_code.clone().unwrap();
    let mut on = |call| apply(&mut w, call, &mut cx(Some(me)));
    assert_eq!(on(Call::VerifyEmail { code }).unwrap(), Reply::Done);
    assert_eq!(on(Call::Email).unwrap(), Reply::Email { email: Some("a@b.c".into()), verified: true });
    assert_eq!(on(Call::SetPin { code: "111111".into() }).unwrap(), Reply::Done);
    assert_eq!(on(Call::HasPin).unwrap(), Reply::HasPin(true));
    assert_eq!(on(Call::RemovePin).unwrap(), Reply::Done);
    assert!(on(Call::RemovePin).is_err());
    assert_eq!(on(Call::RemoveEmail).unwrap(), Reply::Done);
    assert_eq!(on(Call::Email).unwrap(), Reply::Email { email: None, verified: false });
    assert_eq!(on(Call::Available { phone: phone(me) }), Err(AccountError::AlreadyConnected));
}
