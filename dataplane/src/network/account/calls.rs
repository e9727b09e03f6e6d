//! calls: voice calls the account places ("attention grabbing": it rings for a few seconds,
//! no audio) and the calls it received, as the network records them.

use chatedge_config::Phone;

#[derive(Debug, Clone)]
pub enum Call {
    /// Rings `phone` for `seconds`, then hangs up.
    Place { phone: Phone, seconds: u8 },
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// The call's id on the network.
    Placed { call_id: String },
}
