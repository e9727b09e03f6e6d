//! registration: the sim's mobile registration and account security — one durable row of
//! progress (the number being registered, the code "sent" to it, a captcha standing in the
//! way, whether the two-step PIN is asked next, the number registered last, the recovery
//! e-mail and the PIN) and two bounded tables: banned numbers (with their appeal and its
//! review) and numbers whose next code request shows a captcha. What the sim "sends" (codes,
//! captcha answers, e-mails) is not shown to the instance: the admin reads it through `/sim`
//! ([`sent`]). A refused step changes nothing (wrong codes are not counted: the sim has no
//! lockout). The security settings need a connected instance registered here ("mobile").

use chatedge_config::Phone;
use rand::Rng;
use serde::{Deserialize, Serialize};

use super::{Cell, Cx, Loader, Table, World};
use crate::network::account::registration::{Call, CodeMethod, Reply, Waits};
use crate::network::account::{AccountError, AccountReply, AccountResult};
use crate::store::StoreError;

/// Banned numbers and numbers waiting for a captcha the sim keeps per instance.
const MAX_BANS: usize = 10_000;
const MAX_CAPTCHAS: usize = 10_000;
/// How long after a code request another may be made.
pub const RETRY_S: u64 = 60;

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Progress {
    /// The number `Available` checked: the one a code may be requested for.
    pub phone: Option<Phone>,
    pub method: Option<CodeMethod>,
    /// The registration code sent, until confirmed.
    pub code: Option<String>,
    pub requested_ms: u64,
    /// The captcha answer expected before the code is sent.
    pub captcha: Option<String>,
    /// The code was right; the two-step PIN is asked next.
    pub awaiting_pin: bool,
    /// The number registered here last (a "mobile instance" of that number).
    pub registered: Option<Phone>,
    pub email: Option<String>,
    pub email_verified: bool,
    /// The code sent to `email` to verify it.
    pub email_code: Option<String>,
    pub pin: Option<String>,
    /// Where the PIN reset link was sent last.
    pub pin_recovery_sent_to: Option<String>,
}

/// A banned number and its appeal.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ban {
    pub appeal_token: String,
    /// An unban was requested and waits for review.
    pub in_review: bool,
    /// The review lifted the ban (the row stays so the appeal reads UNBANNED).
    pub lifted: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub progress: Cell<Progress>,
    pub bans: Table<Ban>,
    /// Numbers whose next code request shows a captcha.
    pub captcha_next: Table<()>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State {
            progress: l.cell("registration")?,
            bans: l.table("registration.bans", MAX_BANS)?,
            captcha_next: l.table("registration.captcha", MAX_CAPTCHAS)?,
        })
    }

    fn banned(&self, phone: &Phone) -> Option<&Ban> {
        self.bans.get(phone.as_str()).filter(|b| !b.lifted)
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    let r = &mut world.registration;
    let p = r.progress.get().clone();
    match call {
        Call::Available { .. }
        | Call::RequestCode { .. }
        | Call::RespondCaptcha { .. }
        | Call::ConfirmCode { .. }
        | Call::ConfirmPin { .. }
        | Call::RecoverPin
            if cx.account.phone.is_some() =>
        {
            Err(AccountError::AlreadyConnected)
        }
        Call::Available { phone } => {
            let waits = waits(&p, &phone, cx.now_ms);
            if let Some(ban) = r.banned(&phone) {
                let appeal_token = Some(ban.appeal_token.clone());
                return Ok(Reply::Availability { available: false, blocked: true, appeal_token, waits });
            }
            if !cx.on_network(&phone) {
                return Err(AccountError::Refused(format!("{} is not a valid mobile number", phone.as_str())));
            }
            if p.phone.as_ref() != Some(&phone) {
                // A new number: the steps start over (the account's security settings stay).
                r.progress.update(cx, |s| {
                    (s.method, s.code, s.captcha, s.requested_ms, s.awaiting_pin) = (None, None, None, 0, false);
                    s.phone = Some(phone);
                });
            }
            Ok(Reply::Availability { available: true, blocked: false, appeal_token: None, waits })
        }
        Call::RequestCode { phone, method } => {
            if r.banned(&phone).is_some() {
                return Ok(Reply::Blocked);
            }
            if p.phone.as_ref() != Some(&phone) {
                return Err(refused("check the number with registration-available first"));
            }
            let left = waits(&p, &phone, cx.now_ms);
            if left.sms > 0 {
                return Ok(Reply::TooSoon { retry_after: left.sms, waits: left });
            }
            let captcha = r.captcha_next.contains(phone.as_str()).then(digits);
            if captcha.is_some() {
                r.captcha_next.remove(phone.as_str(), cx);
            }
            let now = cx.now_ms;
            let code = captcha.is_none().then(digits);
            r.progress.update(cx, |s| {
                (s.method, s.code, s.captcha, s.requested_ms) = (Some(method), code, captcha.clone(), now);
                s.awaiting_pin = false;
            });
            let waits = Waits { sms: RETRY_S, voice: RETRY_S, wa_old: RETRY_S };
            Ok(Reply::CodeRequested { method, retry_after: RETRY_S, waits, captcha })
        }
        Call::RespondCaptcha { answer } => match &p.captcha {
            None => Err(refused("no captcha is waiting for an answer; request a registration code")),
            Some(want) if *want != answer.trim() => Err(refused("the captcha answer is wrong")),
            Some(_) => {
                r.progress.update(cx, |s| (s.captcha, s.code) = (None, Some(digits())));
                Ok(Reply::Done)
            }
        },
        Call::ConfirmCode { code } => {
            let (Some(phone), Some(want)) = (&p.phone, &p.code) else {
                return Err(refused("request a registration code first"));
            };
            if *want != code.trim() {
                return Err(refused("the registration code is wrong"));
            }
            if p.pin.is_some() {
                r.progress.update(cx, |s| (s.code, s.awaiting_pin) = (None, true));
                return Ok(Reply::NeedsPin);
            }
            Ok(register(r, phone.clone(), cx))
        }
        Call::ConfirmPin { code } => match (&p.phone, &p.pin) {
            (Some(phone), Some(pin)) if p.awaiting_pin && *pin == code.trim() => Ok(register(r, phone.clone(), cx)),
            _ if p.awaiting_pin => Err(refused("the PIN is wrong")),
            _ => Err(refused("no PIN is being asked for: confirm the registration code first")),
        },
        Call::RecoverPin => match (&p.email, p.email_verified) {
            _ if !p.awaiting_pin => Err(refused("no PIN is being asked for: confirm the registration code first")),
            (Some(email), true) => {
                let email = email.clone();
                r.progress.update(cx, |s| s.pin_recovery_sent_to = Some(email));
                Ok(Reply::Done)
            }
            _ => Err(refused("the account has no verified e-mail to send the PIN reset link to")),
        },
        Call::RequestUnban { appeal_token, description: _ } => {
            let found = r.bans.iter().find(|(_, b)| b.appeal_token == appeal_token).map(|(k, b)| (k.clone(), b.lifted));
            match found {
                None => Err(AccountError::NotFound("appealToken".into())),
                Some((_, true)) => Ok(Reply::Unban { unbanned: true }),
                Some((phone, false)) => {
                    r.bans.update(&phone, cx, |b| b.in_review = true);
                    Ok(Reply::Unban { unbanned: false })
                }
            }
        }
        security => self::security(r, p, security, cx),
    }
}

/// The account's e-mail and PIN: only on a connected instance registered here.
fn security(r: &mut State, p: Progress, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    let Some(me) = &cx.account.phone else { return Err(AccountError::NotConnected) };
    if p.registered.as_ref() != Some(me) {
        return Err(refused("this is available only on mobile instances (numbers registered with mobile/…)"));
    }
    match call {
        Call::Email => Ok(Reply::Email { email: p.email, verified: p.email_verified }),
        Call::SetEmail { email } => {
            r.progress.update(cx, |s| (s.email, s.email_verified, s.email_code) = (Some(email), false, Some(digits())));
            Ok(Reply::VerifyEmail)
        }
        Call::VerifyEmail { code } => match &p.email_code {
            None => Err(refused("no e-mail is waiting for verification")),
            Some(want) if *want != code.trim() => Err(refused("the verification code is wrong")),
            Some(_) => {
                r.progress.update(cx, |s| (s.email_verified, s.email_code) = (true, None));
                Ok(Reply::Done)
            }
        },
        Call::RemoveEmail if p.email.is_none() => Err(refused("the account has no e-mail")),
        Call::RemoveEmail => {
            r.progress.update(cx, |s| (s.email, s.email_verified, s.email_code) = (None, false, None));
            Ok(Reply::Done)
        }
        Call::HasPin => Ok(Reply::HasPin(p.pin.is_some())),
        Call::SetPin { code } => {
            r.progress.update(cx, |s| s.pin = Some(code));
            Ok(Reply::Done)
        }
        Call::RemovePin if p.pin.is_none() => Err(refused("the account has no PIN")),
        Call::RemovePin => {
            r.progress.update(cx, |s| s.pin = None);
            Ok(Reply::Done)
        }
        _ => Err(refused("not a security call")),
    }
}

fn register(r: &mut State, phone: Phone, cx: &mut Cx) -> Reply {
    r.progress.update(cx, |s| {
        (s.phone, s.method, s.code, s.captcha, s.awaiting_pin) = (None, None, None, None, false);
        s.registered = Some(phone.clone());
    });
    Reply::Registered { phone }
}

/// Seconds before another code may be requested for `phone`.
fn waits(p: &Progress, phone: &Phone, now_ms: u64) -> Waits {
    let left = match p.phone.as_ref() == Some(phone) && p.method.is_some() {
        true => (p.requested_ms + RETRY_S * 1000).saturating_sub(now_ms).div_ceil(1000),
        false => 0,
    };
    Waits { sms: left, voice: left, wa_old: left }
}

fn refused(why: &str) -> AccountError {
    AccountError::Refused(why.to_owned())
}

/// Six random digits: a code sent by SMS, voice or e-mail, or a captcha's text.
fn digits() -> String {
    format!("{:06}", rand::rng().random_range(0..1_000_000u32))
}

/// The number a call's result registered, if it did (the sim then connects the instance).
pub fn registered(result: &AccountResult) -> Option<Phone> {
    match result {
        Ok(AccountReply::Registration(Reply::Registered { phone })) => Some(phone.clone()),
        _ => None,
    }
}

/// The phone-side facts: the admin marks a number banned (answers its appeal token), lifts
/// a ban after review, or makes the next code request for a number show a captcha.
pub fn ban(world: &mut World, phone: &Phone, cx: &mut Cx) -> Result<String, AccountError> {
    let b = &mut world.registration.bans;
    if let Some(ban) = b.get(phone.as_str()).filter(|b| !b.lifted) {
        return Ok(ban.appeal_token.clone());
    }
    let appeal_token = appeal_token();
    let ban = Ban { appeal_token: appeal_token.clone(), in_review: false, lifted: false };
    b.insert(phone.as_str(), ban, cx)?;
    Ok(appeal_token)
}

pub fn lift_ban(world: &mut World, phone: &Phone, cx: &mut Cx) -> Result<(), AccountError> {
    let lifted = world.registration.bans.update(phone.as_str(), cx, |b| (b.lifted, b.in_review) = (true, false));
    lifted.ok_or_else(|| AccountError::NotFound(format!("ban of {}", phone.as_str())))
}

pub fn require_captcha(world: &mut World, phone: &Phone, cx: &mut Cx) -> Result<(), AccountError> {
    world.registration.captcha_next.insert(phone.as_str(), (), cx)
}

/// What the sim "sent" lately: the registration code, the captcha's text, the e-mail
/// verification code and where the PIN reset link went.
pub fn sent(world: &World) -> &Progress {
    world.registration.progress.get()
}

fn appeal_token() -> String {
    use base64::Engine as _;
    let mut b = [0u8; 48];
    rand::rng().fill(&mut b[..]);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

#[cfg(test)]
mod tests;
