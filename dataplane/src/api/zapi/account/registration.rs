//! Registration routes (seed 001): pairing by phone number instead of QR (`phone-code/{phone}`,
//! line 758: answers `{"value": code}` like `qr-code`), mobile registration (lines
//! 1029–1425: availability, code by SMS / voice / app pop-up, captcha, code, unbanning, PIN,
//! PIN recovery; HAR variants `confirm-security-code`, `recovery-security-code`) and account
//! security (lines 1426–1760: e-mail, two-step PIN). Steps the network refuses (wrong code,
//! nothing to confirm) answer 200 `{"success": false, "message": why}` — the seed's `success`
//! field says whether a step worked (its banned case: `{"success": false, "blocked": true}`);
//! malformed fields answer 400 naming the field.

use chatedge_config::phone::PhoneKind;
use chatedge_config::Phone;
use chatedge_serve::Resp;
use hyper::Method;
use serde_json::{json, Value};

use super::{ask, ok};
use crate::api::zapi::fields::{self, Object};
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{qr_image, Call, ZapiError};
use crate::error::CoreError;
use crate::network::account::registration::{Call as Net, CodeMethod, Reply, Waits};
use crate::network::account::AccountError;
use crate::shard::Command;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    PhoneCode,
    Available,
    RequestCode,
    RespondCaptcha,
    ConfirmCode,
    RequestUnban,
    ConfirmPin,
    RecoverPin,
    /// GET reads, POST sets.
    Email,
    VerifyEmail,
    RemoveEmail,
    /// GET asks whether one is set, POST sets it.
    Pin,
    RemovePin,
}

pub static ROUTES: &[Route<Op>] = &[
    Route { path: "phone-code/{phone}", methods: "GET", label: "zapi.phone-code", op: Op::PhoneCode },
    Route {
        path: "mobile/registration-available",
        methods: "POST",
        label: "zapi.mobile-registration-available",
        op: Op::Available,
    },
    Route {
        path: "mobile/request-registration-code",
        methods: "POST",
        label: "zapi.mobile-request-registration-code",
        op: Op::RequestCode,
    },
    Route {
        path: "mobile/respond-captcha",
        methods: "POST",
        label: "zapi.mobile-respond-captcha",
        op: Op::RespondCaptcha,
    },
    Route {
        path: "mobile/confirm-registration-code",
        methods: "POST",
        label: "zapi.mobile-confirm-registration-code",
        op: Op::ConfirmCode,
    },
    Route {
        path: "mobile/request-unbanning",
        methods: "POST",
        label: "zapi.mobile-request-unbanning",
        op: Op::RequestUnban,
    },
    Route {
        path: "mobile/confirm-pin-code",
        methods: "POST",
        label: "zapi.mobile-confirm-pin-code",
        op: Op::ConfirmPin,
    },
    Route {
        path: "mobile/confirm-security-code",
        methods: "POST",
        label: "zapi.mobile-confirm-security-code",
        op: Op::ConfirmPin,
    },
    Route {
        path: "mobile/recovery-pin-code",
        methods: "POST",
        label: "zapi.mobile-recovery-pin-code",
        op: Op::RecoverPin,
    },
    Route {
        path: "mobile/recovery-security-code",
        methods: "POST",
        label: "zapi.mobile-recovery-security-code",
        op: Op::RecoverPin,
    },
    Route { path: "security/email", methods: "GET, POST", label: "zapi.security-email", op: Op::Email },
    Route { path: "security/verify-email", methods: "POST", label: "zapi.security-verify-email", op: Op::VerifyEmail },
    Route { path: "security/email/remove", methods: "POST", label: "zapi.security-email-remove", op: Op::RemoveEmail },
    Route { path: "security/two-fa-code", methods: "GET, POST", label: "zapi.security-two-fa-code", op: Op::Pin },
    Route {
        path: "security/two-fa-code/remove",
        methods: "POST",
        label: "zapi.security-two-fa-code-remove",
        op: Op::RemovePin,
    },
];

/// Longest e-mail address (RFC 5321), unban description and code accepted.
const MAX_EMAIL: usize = 254;
const MAX_DESCRIPTION: usize = 1000;
const MAX_CODE: usize = 16;
const MAX_TOKEN: usize = 1000;

pub async fn handle(call: &Call<'_>, method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    if let Op::PhoneCode = op {
        return phone_code(call, params.get(0)).await;
    }
    let body = || fields::object(&call.body);
    let net = match op {
        Op::Email | Op::Pin if *method == Method::GET => read_call(op),
        Op::RecoverPin | Op::RemoveEmail | Op::RemovePin => read_call(op),
        _ => parse(op, &body()?)?,
    };
    let reply = match ask(call, net).await {
        Ok(reply) => reply,
        Err(ZapiError::Account(AccountError::Refused(why) | AccountError::NotFound(why))) => {
            return refused(op, why);
        }
        Err(e) => return Err(e),
    };
    let mut v = render(reply);
    if let Op::RemoveEmail = op {
        v["message"] = json!("REMOVED"); // seed 001, line 1690
    }
    ok(&v)
}

/// `phone-code/{phone}`: the 8-character code to type in "Link with phone number".
async fn phone_code(call: &Call<'_>, raw: &str) -> Result<Resp, ZapiError> {
    crate::api::zapi::instance::no_pairing(&call.instance)?;
    let phone = Phone::normalize(raw).map_err(|e| ZapiError::invalid("Invalid phone", format!("phone: {e}")))?;
    if phone.kind() != PhoneKind::Contact {
        return Err(ZapiError::invalid("Invalid phone", "phone must be a phone number with its country code"));
    }
    let instance = call.instance.id;
    match call.app.shards.call(&instance, |reply| Command::PhoneCode { instance, phone, reply }).await {
        Ok(code) => ok(&json!({"value": code})),
        Err(CoreError::AlreadyConnected) => {
            ok(&json!({"connected": true, "value": null, "error": "You are already connected."}))
        }
        Err(e) => Err(e.into()),
    }
}

/// The calls that take no body.
fn read_call(op: Op) -> Net {
    match op {
        Op::Email => Net::Email,
        Op::Pin => Net::HasPin,
        Op::RecoverPin => Net::RecoverPin,
        Op::RemoveEmail => Net::RemoveEmail,
        _ => Net::RemovePin,
    }
}

/// The call a request with a body asks for.
fn parse(op: Op, o: &Object) -> Result<Net, ZapiError> {
    let code = |field: &str| -> Result<String, ZapiError> {
        let c = required_text(o, field, MAX_CODE)?;
        match c.trim().chars().all(|ch| ch.is_ascii_alphanumeric()) {
            true => Ok(c.trim().to_owned()),
            false => Err(ZapiError::invalid("Invalid field", format!("{field} must be letters and digits only"))),
        }
    };
    Ok(match op {
        Op::Available => Net::Available { phone: number(o)? },
        Op::RequestCode => {
            let phone = number(o)?;
            let method = match fields::one_of(o, "method", &["sms", "voice", "wa_old"])? {
                Some("sms") => CodeMethod::Sms,
                Some("voice") => CodeMethod::Voice,
                Some(_) => CodeMethod::WaOld,
                None => return Err(missing("method")),
            };
            Net::RequestCode { phone, method }
        }
        Op::RespondCaptcha => Net::RespondCaptcha { answer: code("captcha")? },
        Op::ConfirmCode => Net::ConfirmCode { code: code("code")? },
        Op::ConfirmPin => Net::ConfirmPin { code: code("code")? },
        Op::RequestUnban => Net::RequestUnban {
            appeal_token: required_text(o, "appealToken", MAX_TOKEN)?,
            description: required_text(o, "description", MAX_DESCRIPTION)?,
        },
        Op::Email => {
            let email = required_text(o, "email", MAX_EMAIL)?.trim().to_owned();
            let valid = matches!(email.split_once('@'), Some((user, host)) if !user.is_empty() && host.contains('.'));
            if !valid || email.chars().any(char::is_whitespace) {
                return Err(ZapiError::invalid("Invalid field", "email must be an e-mail address"));
            }
            Net::SetEmail { email }
        }
        Op::VerifyEmail => Net::VerifyEmail { code: code("verificationCode")? },
        Op::Pin => {
            let pin = code("code")?;
            if pin.len() != 6 || !pin.chars().all(|c| c.is_ascii_digit()) {
                return Err(ZapiError::invalid("Invalid field", "code must be 6 digits"));
            }
            Net::SetPin { code: pin }
        }
        Op::PhoneCode | Op::RecoverPin | Op::RemoveEmail | Op::RemovePin => read_call(op),
    })
}

/// `{ddi, phone}`: the country code and the number with its area code, digits only.
fn number(o: &Object) -> Result<Phone, ZapiError> {
    let digits = |field: &str, max: usize| -> Result<String, ZapiError> {
        let v = match o.get(field) {
            None | Some(Value::Null) => return Err(missing(field)),
            Some(Value::String(s)) => s.trim().to_owned(),
            Some(Value::Number(n)) if n.is_u64() => n.to_string(),
            Some(_) => return Err(ZapiError::invalid("Invalid field", format!("{field} must be a string of digits"))),
        };
        match !v.is_empty() && v.len() <= max && v.chars().all(|c| c.is_ascii_digit()) {
            true => Ok(v),
            false => Err(ZapiError::invalid("Invalid field", format!("{field} must be 1 to {max} digits"))),
        }
    };
    let (ddi, phone) = (digits("ddi", 3)?, digits("phone", 13)?);
    Phone::parse(&format!("{ddi}{phone}")).map_err(|e| ZapiError::invalid("Invalid phone", format!("phone: {e}")))
}

fn required_text(o: &Object, field: &str, max: usize) -> Result<String, ZapiError> {
    fields::text(o, field, max, true)?.ok_or_else(|| missing(field))
}

fn missing(field: &str) -> ZapiError {
    ZapiError::invalid("Invalid field", format!("{field} is required"))
}

fn waits(w: Waits) -> Value {
    json!({"smsWaitSeconds": w.sms, "voiceWaitSeconds": w.voice, "waOldWaitSeconds": w.wa_old})
}

fn merge(mut a: Value, b: Value) -> Value {
    if let (Value::Object(a), Value::Object(b)) = (&mut a, b) {
        a.extend(b);
    }
    a
}

/// A step the network refused, in the seed's failure form.
fn refused(op: Op, why: String) -> Result<Resp, ZapiError> {
    match op {
        Op::Available => ok(&json!({"available": false, "reason": why})),
        _ => ok(&json!({"success": false, "message": why})),
    }
}

fn render(reply: Reply) -> Value {
    match reply {
        Reply::Availability { available: true, waits: w, .. } => {
            merge(json!({"available": true, "waOldEligible": true}), waits(w))
        }
        Reply::Availability { blocked, appeal_token, .. } => {
            json!({"available": false, "blocked": blocked, "appealToken": appeal_token})
        }
        Reply::CodeRequested { method, retry_after, waits: w, captcha } => {
            let mut v = json!({"success": true, "retryAfter": retry_after, "method": method.as_str()});
            if let Some(text) = captcha {
                // The sim's captcha image: its text as a QR code (the admin reads the answer
                // through /sim/registration-code; a person could scan it).
                v["captcha"] = json!(qr_image::data_url(&text).unwrap_or_default());
            }
            merge(v, waits(w))
        }
        Reply::Blocked => json!({"success": false, "blocked": true}),
        Reply::TooSoon { retry_after, waits: w } => {
            merge(json!({"success": false, "retryAfter": retry_after, "message": "wait before asking again"}), waits(w))
        }
        Reply::Registered { .. } | Reply::Done => json!({"success": true}),
        Reply::NeedsPin => json!({"success": false, "confirmSecurityCode": true}),
        Reply::Unban { unbanned } => {
            json!({"success": true, "status": if unbanned { "UNBANNED" } else { "IN_REVIEW" }})
        }
        Reply::Email { email, verified } => {
            json!({"success": true, "hasEmail": email.is_some(), "email": email, "verified": verified})
        }
        Reply::VerifyEmail => json!({"success": true, "message": "VERIFY_EMAIL"}),
        Reply::HasPin(has) => json!({"success": true, "hasCode": has}),
    }
}

#[cfg(test)]
mod tests;
