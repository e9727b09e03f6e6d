//! labels: WhatsApp Business's chat labels — the account's labels (name and one of the
//! network's colors) and which chats carry which label. Only a WhatsApp Business account
//! keeps labels.

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

/// One label of the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// Minted by the network: a small number, never reused (WhatsApp counts them up).
    pub id: String,
    pub name: String,
    /// Index into [`COLORS`].
    pub color: u8,
}

/// WhatsApp Business's label colors, by index (seed 001 line 9910 shows the first three;
/// the rest are WhatsApp's palette in the same order).
pub const COLORS: [&str; 20] = [
    "#FF9485", "#64C4FF", "#FFD429", "#DFAEF0", "#99B6C1", "#55CCB3", "#FF9DFF", "#D3A91D", "#6D7CCE", "#D7E752",
    "#00D0E2", "#FFC5C7", "#93CEAC", "#F74848", "#00A0F2", "#83E422", "#FFAF04", "#B5EBFF", "#9BA6FF", "#9368CF",
];

/// The colors a label may take, by index ([`Call::Colors`]).
pub fn palette() -> Vec<(u8, &'static str)> {
    (0u8..).zip(COLORS).collect()
}

#[derive(Debug, Clone)]
pub enum Call {
    /// Every label of the account.
    List,
    /// The colors a label may take, by index.
    Colors,
    /// A new label; without a color, the network picks the next one in turn.
    Create { name: String, color: Option<u8> },
    /// Renames a label (and recolors it when `color` is given).
    Edit { id: String, name: String, color: Option<u8> },
    /// Deletes a label and takes it off every chat.
    Delete { id: String },
    /// Puts the label `label` on `chat` (`assigned`) or takes it off.
    Assign { chat: Phone, label: String, assigned: bool },
}

#[derive(Debug, Clone)]
pub enum Reply {
    Labels(Vec<Label>),
    Colors(Vec<(u8, &'static str)>),
    /// The new label's id.
    Created(String),
    Done,
}
