use super::*;

/// What the parsed call must look like.
type Check<'a> = Box<dyn Fn(&Net) -> bool + 'a>;

fn body(v: Value) -> Object {
    v.as_object().unwrap().clone()
}

#[test]
fn registration_requests_read_as_the_seed_describes() {
    let n = Phone::parse("554499999999").unwrap();
    let cases: Vec<(Op, Value, Check<'_>)> = vec![
        (
            Op::Available,
            json!({"ddi": "55", "phone": "4499999999"}),
            Box::new(|c| matches!(c, Net::Available { phone } if *phone == n)),
        ),
        (
            Op::RequestCode,
            json!({"ddi": 55, "phone": "4499999999", "method": "VOICE"}),
            Box::new(|c| matches!(c, Net::RequestCode { method: CodeMethod::Voice, .. })),
        ),
        (
            Op::RespondCaptcha,
            json!({"captcha": "123456"}),
            Box::new(|c| matches!(c, Net::RespondCaptcha { answer } if answer == "123456")),
        ),
        (
            Op::ConfirmCode,
            json!({"code": " 123456 "}),
            Box::new(|c| matches!(c, Net::ConfirmCode { code } if code == "123456")),
        ),
        (Op::ConfirmPin, json!({"code": "123456"}), Box::new(|c| matches!(c, Net::ConfirmPin { .. }))),
        (
            Op::RequestUnban,
            json!({"appealToken": "Ae0B", "description": "I was chatting"}),
            Box::new(|c| matches!(c, Net::RequestUnban { appeal_token, .. } if appeal_token == "Ae0B")),
        ),
        (Op::Email, json!({"email": "example@email.com"}), Box::new(|c| matches!(c, Net::SetEmail { .. }))),
        (Op::VerifyEmail, json!({"verificationCode": "123456"}), Box::new(|c| matches!(c, Net::VerifyEmail { .. }))),
        (Op::Pin, json!({"code": "123456"}), Box::new(|c| matches!(c, Net::SetPin { code } if code == "123456"))),
    ];
    for (op, b, want) in cases {
        let got = parse(op, &body(b.clone())).unwrap_or_else(|e| panic!("{b}: {e:?}"));
        assert!(want(&got), "{b}: {got:?}");
    }
}

#[test]
fn each_bad_registration_field_is_named() {
    let cases = [
        (Op::Available, json!({"phone": "4499999999"}), "ddi is required"),
        (Op::Available, json!({"ddi": "5a", "phone": "4499999999"}), "ddi must be"),
        (Op::Available, json!({"ddi": "55"}), "phone is required"),
        (Op::Available, json!({"ddi": "55", "phone": "44-9999"}), "phone must be"),
        (Op::RequestCode, json!({"ddi": "55", "phone": "4499999999"}), "method is required"),
        (
            Op::RequestCode,
            json!({"ddi": "55", "phone": "4499999999", "method": "sms | voice | wa_old"}),
            "method must be one of",
        ),
        (Op::RespondCaptcha, json!({}), "captcha is required"),
        (Op::ConfirmCode, json!({"code": 123456}), "code must be a string"),
        (Op::ConfirmCode, json!({"code": "12 34"}), "code must be letters and digits"),
        (Op::RequestUnban, json!({"appealToken": "x"}), "description is required"),
        (Op::Email, json!({"email": "not-an-address"}), "email must be an e-mail address"),
        (Op::VerifyEmail, json!({"code": "1"}), "verificationCode is required"),
        (Op::Pin, json!({"code": "12345"}), "code must be 6 digits"),
    ];
    for (op, b, want) in cases {
        match parse(op, &body(b.clone())) {
            Err(ZapiError::Invalid { message, .. }) => assert!(message.contains(want), "{b}: {message}"),
            other => panic!("{b}: {other:?}"),
        }
    }
}

#[test]
fn replies_render_in_the_seeds_shapes() {
    let w = Waits { sms: 0, voice: 0, wa_old: 0 };
    assert_eq!(
        render(Reply::Availability { available: true, blocked: false, appeal_token: None, waits: w }),
        json!({"available": true, "smsWaitSeconds": 0, "voiceWaitSeconds": 0, "waOldWaitSeconds": 0, "waOldEligible": true})
    );
    assert_eq!(
        render(Reply::Availability { available: false, blocked: true, appeal_token: Some("T".into()), waits: w }),
        json!({"available": false, "blocked": true, "appealToken": "T"})
    );
    let w = Waits { sms: 125, voice: 125, wa_old: 125 };
    assert_eq!(
        render(Reply::CodeRequested { method: CodeMethod::Sms, retry_after: 165, waits: w, captcha: None }),
        json!({"success": true, "retryAfter": 165, "smsWaitSeconds": 125, "voiceWaitSeconds": 125, "waOldWaitSeconds": 125, "method": "sms"})
    );
    assert_eq!(render(Reply::Blocked), json!({"success": false, "blocked": true}));
    assert_eq!(render(Reply::NeedsPin), json!({"success": false, "confirmSecurityCode": true}));
    assert_eq!(render(Reply::Unban { unbanned: false }), json!({"success": true, "status": "IN_REVIEW"}));
    assert_eq!(
        render(Reply::Email { email: Some("example@email.com".into()), verified: true }),
        json!({"success": true, "hasEmail": true, "email": "example@email.com", "verified": true})
    );
    assert_eq!(render(Reply::VerifyEmail), json!({"success": true, "message": "VERIFY_EMAIL"}));
    assert_eq!(render(Reply::HasPin(true)), json!({"success": true, "hasCode": true}));
}
