//! media: the bytes of media messages. Owns the content-addressed media store under the data
//! dir, fetching media by URL for sending, checking that content fits the route that sent it,
//! and the signed public URLs of received media. It never decides what a message is (that is
//! the dialect's and the queue's job).

pub mod fetch;
pub mod kind;
pub mod sniff;

pub use kind::MediaKind;
