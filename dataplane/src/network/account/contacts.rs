//! contacts: the account's address book (contacts saved on the phone), the network's directory
//! (which numbers are on the network, their public name, photo and about text), blocking and
//! reporting. Blocked numbers cannot be sent to nor call the account.

use chatedge_config::Phone;

/// A contact to save in the address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewContact {
    pub phone: Phone,
    pub first_name: String,
    pub last_name: Option<String>,
}

/// What the account knows of a number: its saved name (if it is a contact) and what the
/// network's directory shows of it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ContactInfo {
    pub phone: Option<Phone>,
    /// First and last name as saved in the address book.
    pub name: Option<String>,
    /// First name as saved.
    pub short: Option<String>,
    /// The name the number's owner set on the network.
    pub notify: Option<String>,
    /// The owner's profile photo, if visible.
    pub img_url: Option<String>,
    /// The owner's about text.
    pub about: Option<String>,
}

/// One number of a directory lookup.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existence {
    /// The number as the network registered it (a Brazilian number asked without its ninth
    /// digit may come back with it); the number asked when it is not on the network.
    pub phone: Phone,
    pub exists: bool,
    /// The number's private WhatsApp id (`…@lid`), when it exists and the network says.
    pub lid: Option<String>,
}

#[derive(Debug, Clone)]
pub enum Call {
    /// The address book, ordered by number: page `page` (from 1) of `page_size` entries.
    List {
        page: usize,
        page_size: usize,
    },
    /// Saves contacts (a number already saved is renamed).
    Add(Vec<NewContact>),
    /// Removes contacts from the address book (numbers not saved are reported as errors).
    Remove(Vec<Phone>),
    /// What the account knows of one number.
    Get(Phone),
    /// Which of the numbers are on the network.
    Exists(Vec<Phone>),
    SetBlocked {
        phone: Phone,
        blocked: bool,
    },
    Report(Phone),
}

#[derive(Debug, Clone)]
pub enum Reply {
    Contacts(Vec<ContactInfo>),
    /// The numbers a batch change could not apply to, with the reason.
    Changed {
        errors: Vec<(Phone, String)>,
    },
    Contact(ContactInfo),
    Exists(Vec<Existence>),
    Done,
}
