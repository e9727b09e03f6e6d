//! registration: putting a number on this device as its primary one (mobile registration: is
//! the number free, send a code by SMS, voice call or app pop-up, captcha, confirm the code,
//! the two-step PIN, unbanning a banned number) and the account's security settings once
//! registered (recovery e-mail, two-step PIN). The step that completes a registration
//! connects the instance as that number: the connector answers it, then `Connected` follows
//! for the session's registration pairing run.

use chatedge_config::Phone;

/// How the registration code reaches the number's owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CodeMethod {
    Sms,
    Voice,
    /// A pop-up in the WhatsApp app where the number is in use now.
    WaOld,
}

impl CodeMethod {
    pub fn as_str(self) -> &'static str {
        match self {
            CodeMethod::Sms => "sms",
            CodeMethod::Voice => "voice",
            CodeMethod::WaOld => "wa_old",
        }
    }
}

/// Seconds to wait before a code may be asked for by each method (0: now).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Waits {
    pub sms: u64,
    pub voice: u64,
    pub wa_old: u64,
}

#[derive(Debug, Clone)]
pub enum Call {
    /// Whether `phone` may be registered here; starts its onboarding.
    Available {
        phone: Phone,
    },
    /// Sends a registration code to `phone` (checked by `Available` first).
    RequestCode {
        phone: Phone,
        method: CodeMethod,
    },
    /// The answer to the captcha a code request showed.
    RespondCaptcha {
        answer: String,
    },
    /// The code the owner received: registers the number (or asks for the PIN next).
    ConfirmCode {
        code: String,
    },
    /// Asks for a banned number to be reviewed.
    RequestUnban {
        appeal_token: String,
        description: String,
    },
    /// The two-step verification PIN, when `ConfirmCode` asked for it: registers the number.
    ConfirmPin {
        code: String,
    },
    /// Sends the PIN reset link to the account's verified e-mail.
    RecoverPin,
    /// The account's recovery e-mail.
    Email,
    SetEmail {
        email: String,
    },
    VerifyEmail {
        code: String,
    },
    RemoveEmail,
    /// Whether a two-step PIN is set.
    HasPin,
    SetPin {
        code: String,
    },
    RemovePin,
}

impl Call {
    /// Whether this step may complete a registration (and so connect the instance).
    pub fn completes_pairing(&self) -> bool {
        matches!(self, Call::ConfirmCode { .. } | Call::ConfirmPin { .. })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// `Available`: free to register, or banned (`appeal_token` to ask for a review).
    Availability {
        available: bool,
        blocked: bool,
        appeal_token: Option<String>,
        waits: Waits,
    },
    /// `RequestCode`: sent, or held behind a captcha (`captcha`: a PNG data URL).
    CodeRequested {
        method: CodeMethod,
        retry_after: u64,
        waits: Waits,
        captcha: Option<String>,
    },
    /// `RequestCode`: the number is banned.
    Blocked,
    /// `RequestCode`: asked again too soon.
    TooSoon {
        retry_after: u64,
        waits: Waits,
    },
    /// The number is registered: the instance connects as it.
    Registered {
        phone: Phone,
    },
    /// `ConfirmCode`: right code, but the account's two-step PIN must be confirmed next.
    NeedsPin,
    /// `RequestUnban`: the review's state.
    Unban {
        unbanned: bool,
    },
    Email {
        email: Option<String>,
        verified: bool,
    },
    /// `SetEmail`: a verification code was sent to it.
    VerifyEmail,
    HasPin(bool),
    Done,
}
