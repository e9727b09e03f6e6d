//! communities: what an instance asks the network about the communities it runs — create one
//! (with its announcement group), link and unlink groups, describe it, change who may add
//! groups, and deactivate it. Members are managed through the announcement group (`groups`).

use chatedge_config::Phone;

use super::groups::Picture;

/// Who may add groups to a community.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WhoCanAddGroups {
    #[default]
    Admins,
    All,
}

#[derive(Debug, Clone)]
pub enum Call {
    Create {
        name: String,
        description: Option<String>,
    },
    /// The account's communities, `page` (from 1) of `page_size`.
    List {
        page: usize,
        page_size: usize,
    },
    Link {
        community: String,
        groups: Vec<Phone>,
    },
    Unlink {
        community: String,
        groups: Vec<Phone>,
    },
    Metadata {
        community: String,
    },
    Configure {
        community: String,
        who_can_add_groups: WhoCanAddGroups,
    },
    Describe {
        community: String,
        description: String,
    },
    SetPicture {
        community: String,
        picture: Picture,
    },
    /// Ends the community: its groups stay, unlinked; its announcement group is emptied.
    Deactivate {
        community: String,
    },
}

/// A group of a community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubGroup {
    pub phone: Phone,
    pub name: String,
    pub announcement: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Community {
    pub id: String,
    pub name: String,
    pub description: String,
    /// The announcement group first, then the linked groups.
    pub sub_groups: Vec<SubGroup>,
}

/// A group a link or unlink left as it was, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unchanged {
    pub phone: Phone,
    pub reason: String,
}

#[derive(Debug, Clone)]
pub enum Reply {
    Community(Community),
    List(Vec<Community>),
    /// Groups linked or unlinked, and those left as they were.
    Linked {
        changed: usize,
        unchanged: Vec<Unchanged>,
    },
    Done,
}
