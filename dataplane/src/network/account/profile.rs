//! profile: the account's own public profile — its name, about text and photo — and the
//! profile photo the network shows for any number.

use chatedge_config::Phone;

#[derive(Debug, Clone)]
pub enum Call {
    SetName(String),
    SetDescription(String),
    /// The photo, by the URL it is published at.
    SetPicture(String),
    /// The photo the network shows for `phone` (the account's own number included).
    Picture(Phone),
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// `None`: the number has no visible photo.
    Picture(Option<String>),
    Done,
}
