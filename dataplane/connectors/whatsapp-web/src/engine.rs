//! The `Engine` seam: what the connector needs from a WhatsApp Web client, in the connector's
//! own words. Two implementations: the real one on whatsapp-rust (`real`, feature `engine`) and
//! the scripted double the tests drive ([`crate::double`]). An engine never decides about
//! reconnects, leases or ids: the connector does. It must not block the caller: every method
//! returns a future; events arrive on the [`EventTx`] it was opened with.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chatedge_config::InstanceId;
use chatedge_connector::KvStore;
use tokio::sync::mpsc;

use crate::ids::WireId;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("cannot reach WhatsApp: {0}")]
    Unreachable(String),
    #[error("the session is not logged in")]
    NotLoggedIn,
    #[error("WhatsApp refused: {0}")]
    Refused(String),
    #[error("the engine's store failed: {0}")]
    Store(String),
    /// What a query names does not exist (a group, an invitation).
    #[error("{0} not found")]
    NotFound(String),
}

/// What we send.
#[derive(Debug, Clone, PartialEq)]
pub enum Outgoing {
    Text(String),
    /// A text with a link in it, shown with the link's preview.
    Link {
        text: String,
        url: String,
        title: Option<String>,
        description: Option<String>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: String,
        address: String,
    },
    /// One or more contact cards.
    Contacts(Vec<SharedContact>),
    /// A reaction to `target`; an empty `emoji` takes the reaction back.
    Reaction {
        target: MessageRef,
        emoji: String,
    },
    /// Deletes a message this account sent, for everyone in the chat.
    Revoke {
        target: MessageRef,
    },
    /// A file, read and ready to upload.
    Media(OutgoingMedia),
    /// A poll: its question, 2 to 12 options, and how many one voter may choose (0, or as many
    /// as there are options: any number).
    Poll {
        question: String,
        options: Vec<String>,
        max_options: u32,
    },
    /// A vote on the poll `poll` (one this instance sent, or received since it was paired): the
    /// options chosen, by name; none withdraws an earlier vote.
    PollVote {
        poll: MessageRef,
        options: Vec<String>,
    },
    /// `message` (one this instance sent or received lately: the engine keeps their bodies)
    /// sent again, marked forwarded.
    Forward {
        message: MessageRef,
    },
    /// `text` with buttons under it (WhatsApp's interactive message), `title` (or a picture)
    /// above and `footer` below.
    Buttons {
        picture: Option<Picture>,
        title: Option<String>,
        text: String,
        footer: Option<String>,
        buttons: Vec<Button>,
    },
    /// `text` with a button labelled `button` that opens a list, headed `title`, of `options`
    /// to pick one from.
    List {
        text: String,
        title: String,
        button: String,
        options: Vec<ListRow>,
    },
    /// `text` followed by cards side by side, each with a picture, a text and buttons.
    Carousel {
        text: String,
        cards: Vec<Card>,
    },
    /// An event (WhatsApp's "event" message) with its secret: those invited answer going or
    /// not going.
    Event(EventDetails),
    /// The event `event` (one this instance sent), as it is now.
    EventEdit {
        event: MessageRef,
        details: EventDetails,
    },
    /// This instance's answer to the event `event` (one it sent, or received since it was
    /// paired).
    EventAnswer {
        event: MessageRef,
        going: bool,
    },
    /// A PIX key (Brazil's instant payments: `key_type` is `CPF`, `CNPJ`, `PHONE`, `EMAIL` or
    /// `EVP`) shown with `merchant`'s name and a button that copies it.
    Pix {
        key: String,
        key_type: String,
        merchant: String,
    },
    /// An invitation to administer `channel` (one the account owns), shown with `caption`:
    /// WhatsApp records the invitation, then the message carries it to the recipient.
    ChannelAdminInvite {
        channel: String,
        caption: String,
    },
    /// `body` with what WhatsApp carries beside it: the message it replies to, who it
    /// mentions, the message of ours it replaces.
    InContext {
        context: MessageContext,
        body: Box<Outgoing>,
    },
}

/// What a message carries beside its body ([`Outgoing::InContext`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MessageContext {
    /// The message it replies to: shown quoted above it (its body, when the engine kept it).
    pub quoted: Option<MessageRef>,
    /// Members it mentions (numbers): WhatsApp highlights their `@number` and notifies them.
    pub mentioned: Vec<String>,
    /// Groups of the community it mentions: each group (`…-group`) and its subject.
    pub groups_mentioned: Vec<(String, String)>,
    /// A message of ours this one replaces: an edit (its body becomes the message's new one).
    pub edits: Option<MessageRef>,
}

impl MessageContext {
    pub fn is_empty(&self) -> bool {
        self == &MessageContext::default()
    }
}

/// A button of [`Outgoing::Buttons`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Button {
    /// Answers with `label`; the answer names `id` ([`InboundContent::ButtonReply`]).
    Reply { id: String, label: String },
    /// Opens `url`.
    Url { label: String, url: String },
    /// Calls `phone` (digits, with the country code).
    Call { label: String, phone: String },
    /// Copies `code` (a one-time password, say).
    Copy { label: String, code: String },
}

/// What an event says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventDetails {
    pub name: String,
    pub description: Option<String>,
    /// When it starts (unix seconds).
    pub start_s: i64,
    /// Where, by name.
    pub place: Option<String>,
    pub canceled: bool,
}

/// An image or a video shown above buttons (uploaded first, as the message's header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Picture {
    /// `Image` or `Video`.
    pub kind: MediaKind,
    pub file: FileData,
}

/// A card of [`Outgoing::Carousel`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub picture: Picture,
    pub text: String,
    pub buttons: Vec<Button>,
}

/// An option of [`Outgoing::List`]; picking it answers with its `id` ([`InboundContent::ListReply`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListRow {
    pub id: String,
    pub title: String,
    pub description: String,
}

impl Outgoing {
    /// This message with `context` (as it is, when the context is empty).
    pub fn in_context(self, context: MessageContext) -> Outgoing {
        match context.is_empty() {
            true => self,
            false => Outgoing::InContext { context, body: Box::new(self) },
        }
    }

    /// Whether WhatsApp can forward this message later (content, not an act on another one).
    pub fn forwardable(&self) -> bool {
        if let Outgoing::InContext { body, .. } = self {
            return body.forwardable();
        }
        !self.acts_on_another()
            && !matches!(
                self,
                Outgoing::Buttons { .. }
                    | Outgoing::List { .. }
                    | Outgoing::Carousel { .. }
                    | Outgoing::Pix { .. }
                    | Outgoing::ChannelAdminInvite { .. }
            )
    }

    /// Whether this is an act on another message (a reaction, a delete, a vote, an answer to an
    /// event, an event's edit) rather than a message of its own in the chat.
    pub fn acts_on_another(&self) -> bool {
        match self {
            Outgoing::InContext { body, .. } => body.acts_on_another(),
            _ => matches!(
                self,
                Outgoing::Reaction { .. }
                    | Outgoing::Revoke { .. }
                    | Outgoing::PollVote { .. }
                    | Outgoing::EventEdit { .. }
                    | Outgoing::EventAnswer { .. }
            ),
        }
    }
}

/// A media message whose file has been read: the engine uploads it (encrypted) and sends the
/// message that names the upload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMedia {
    pub kind: MediaKind,
    pub file: FileData,
    pub caption: Option<String>,
    /// Documents: the name the recipient sees.
    pub file_name: Option<String>,
    pub view_once: bool,
}

/// A media message as the data plane hands it over: its file is read (from the media store, or
/// fetched from its URL) only when the message's turn on the line comes.
#[derive(Clone)]
pub struct MediaToSend {
    pub kind: MediaKind,
    pub file: Arc<dyn MediaFile>,
    pub caption: Option<String>,
    pub file_name: Option<String>,
    pub view_once: bool,
}

impl MediaToSend {
    /// The message with its file read.
    pub fn with(self, file: FileData) -> OutgoingMedia {
        OutgoingMedia {
            kind: self.kind,
            file,
            caption: self.caption,
            file_name: self.file_name,
            view_once: self.view_once,
        }
    }
}

impl From<MediaToSend> for WithFiles {
    fn from(media: MediaToSend) -> WithFiles {
        let files = vec![media.file.clone()];
        WithFiles::new(files, move |read| Outgoing::Media(media.with(read.next().unwrap_or_default())))
    }
}

/// A message with files (a media message, buttons under a picture, a carousel) as the data
/// plane hands it over: its files are read only when the message's turn on the line comes,
/// then the message is made from what they hold.
pub struct WithFiles {
    files: Vec<Arc<dyn MediaFile>>,
    make: Box<MakeWithFiles>,
}

/// Makes a message from its files' contents, in order.
type MakeWithFiles = dyn FnOnce(&mut dyn Iterator<Item = FileData>) -> Outgoing + Send + Sync;

impl WithFiles {
    /// The message `make` builds from `files`' contents, given in the same order (as many as
    /// there are files).
    pub fn new(
        files: Vec<Arc<dyn MediaFile>>,
        make: impl FnOnce(&mut dyn Iterator<Item = FileData>) -> Outgoing + Send + Sync + 'static,
    ) -> WithFiles {
        WithFiles { files, make: Box::new(make) }
    }

    /// Reads every file, in order; the first that cannot be read says why.
    pub async fn read(&self) -> Result<Vec<FileData>, String> {
        let mut read = Vec::with_capacity(self.files.len());
        for file in &self.files {
            read.push(file.read().await?);
        }
        Ok(read)
    }

    /// This message with `context` (as it is, when the context is empty).
    pub fn in_context(self, context: MessageContext) -> WithFiles {
        if context.is_empty() {
            return self;
        }
        let make = self.make;
        WithFiles { files: self.files, make: Box::new(move |read| make(read).in_context(context)) }
    }

    /// The message, made from what [`read`](Self::read) returned.
    pub fn with(self, files: Vec<FileData>) -> Outgoing {
        (self.make)(&mut files.into_iter())
    }
}

/// Where a file to send is read from; `Err` says why it cannot be (the message is refused with
/// that reason).
pub trait MediaFile: Send + Sync {
    fn read(&self) -> BoxFuture<'_, Result<FileData, String>>;
}

/// A file's bytes and their type.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct FileData {
    /// Its MIME type (`image/jpeg`, `audio/ogg; codecs=opus`).
    pub mime: String,
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for FileData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileData({}, {} bytes)", self.mime, self.bytes.len())
    }
}

/// A contact card as WhatsApp carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharedContact {
    pub display_name: String,
    pub vcard: String,
}

/// The message an act is about, as the wire names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRef {
    /// Its chat: a number, or a group (`…-group`).
    pub chat: String,
    /// Its id on the wire.
    pub id: String,
    /// Whether this account sent it.
    pub from_me: bool,
    /// Someone else's message in a group: the member who wrote it (a number), without which
    /// WhatsApp cannot tell whose message a reaction or pin is about.
    pub participant: Option<String>,
}

/// An act on a message that WhatsApp acknowledges with nothing naming it: done once it is on
/// the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// Read receipts for the messages `ids` (wire ids) of `chat`.
    Read { chat: String, ids: Vec<String> },
    /// Pins `target` for everyone in its chat for `duration`; `None` unpins it.
    Pin { target: MessageRef, duration: Option<PinFor> },
    /// Deletes `target` on this account's devices only.
    DeleteForMe { target: MessageRef },
}

/// How long a pin lasts (WhatsApp's three choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinFor {
    Day,
    Week,
    Month,
}

/// A question to WhatsApp about the account, or a change to it, answered once WhatsApp has
/// answered. Numbers are digits; groups are named `…-group`, as chats are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Query {
    /// Which of the numbers have WhatsApp.
    OnWhatsapp(Vec<String>),
    /// What WhatsApp shows of a number (its about text, its business name).
    User(String),
    /// The business profile a number shows (`None` in the answer: it is not a business).
    BusinessOf(String),
    /// The profile photo's link of a number or group.
    Picture(String),
    Block {
        phone: String,
        blocked: bool,
    },
    /// The account's own name, as others see it.
    SetName(String),
    /// The account's own about text.
    SetAbout(String),
    /// A new photo for the account (`group: None`) or a group: the image as the integrator gave
    /// it (JPEG, PNG or WebP); the engine makes it the square JPEG WhatsApp takes.
    SetPicture {
        group: Option<String>,
        image: Vec<u8>,
    },
    /// The groups the account is a member of.
    Groups,
    CreateGroup {
        subject: String,
        participants: Vec<String>,
    },
    Group(String),
    SetSubject {
        group: String,
        subject: String,
    },
    SetDescription {
        group: String,
        description: String,
    },
    GroupSetting {
        group: String,
        setting: GroupSetting,
        on: bool,
    },
    Members {
        group: String,
        change: MemberChange,
        phones: Vec<String>,
    },
    Leave(String),
    /// The group's invitation link; `reset` revokes the old one first.
    InviteLink {
        group: String,
        reset: bool,
    },
    /// The group an invitation code (or link) leads to.
    InviteInfo(String),
    /// Joins the group of an invitation code (or link).
    Join(String),
    Chat {
        chat: String,
        change: ChatChange,
    },
    /// The communities the account is a member of. A community is a parent group, named
    /// `…-group` as groups are.
    Communities,
    /// A new community (WhatsApp creates its announcement group with it).
    CreateCommunity {
        name: String,
        description: Option<String>,
    },
    /// One community: its name, description and groups.
    Community(String),
    /// Links `groups` to the community (`link`) or unlinks them from it.
    LinkGroups {
        community: String,
        groups: Vec<String>,
        link: bool,
    },
    /// Whether any member (`anyone`) or only admins may add groups to the community.
    SubGroupCreation {
        community: String,
        anyone: bool,
    },
    /// Ends the community: its groups stay, unlinked.
    DeactivateCommunity(String),
    /// Declines the call that rings here (reported by [`EngineEvent::Call`]); it is then not
    /// reported missed. Not found: it no longer rings.
    RejectCall(String),
    /// One of the account's privacy settings.
    Privacy(PrivacyChange),
    /// How long new chats keep their messages, in seconds (0: kept).
    DefaultDisappearing(u32),
    /// How long one chat (a number or a group) keeps its messages, in seconds (0: kept).
    ChatDisappearing {
        chat: String,
        seconds: u32,
    },
    /// The channels the account follows (its own included). A channel is `…@newsletter`.
    Channels,
    Channel(String),
    CreateChannel {
        name: String,
        description: Option<String>,
    },
    /// Follows the channel, or (`follow: false`) stops following it.
    FollowChannel {
        channel: String,
        follow: bool,
    },
    /// A new name and/or description for a channel the account owns or administers.
    UpdateChannel {
        channel: String,
        name: Option<String>,
        description: Option<String>,
    },
    /// Ends a channel the account owns.
    DeleteChannel(String),
    /// A new picture for a channel the account owns or administers: the image as the
    /// integrator gave it (JPEG, PNG or WebP); the engine makes it the square JPEG WhatsApp takes.
    ChannelPicture {
        channel: String,
        image: Vec<u8>,
    },
    /// Which reactions followers may send: any emoji (`any`), or WhatsApp's basic set.
    ChannelReactions {
        channel: String,
        any: bool,
    },
    /// A change to who administers a channel the account owns.
    ChannelAdmin {
        channel: String,
        phone: String,
        change: AdminChange,
    },
    /// Accepts an invitation to administer a channel.
    AcceptChannelAdmin(String),
    /// Public channels: those whose name matches `text`, or (no text) WhatsApp's directory in
    /// `view`'s order, of `countries` (ISO codes; any when empty); at most `limit`.
    SearchChannels {
        text: Option<String>,
        view: DirectoryView,
        countries: Vec<String>,
        limit: usize,
    },
    /// A change to the account's business profile (WhatsApp Business): only what it names.
    BusinessProfile(ProfileChange),
    /// The account's labels (WhatsApp Business), as its devices last synced them.
    Labels,
    /// A new label (`id: None`: the engine picks the next id) or a changed one; `color` is an
    /// index into WhatsApp's label colors (`None`: the next in turn, or the label's own).
    SaveLabel {
        id: Option<String>,
        name: String,
        color: Option<u8>,
    },
    DeleteLabel(String),
    /// Puts `label` on `chat` (`on`) or takes it off.
    LabelChat {
        chat: String,
        label: String,
        on: bool,
    },
    /// The account's address book as its devices last synced it, ordered by number: page `page`
    /// (from 1) of `page_size` contacts.
    AddressBook {
        page: usize,
        page_size: usize,
    },
    /// One number's entry in the address book, if it is saved.
    SavedContact(String),
    /// Saves a number (as WhatsApp registered it) in the address book, on the phone too; a
    /// number already saved is renamed.
    SaveContact(SavedContact),
    /// The account's chats as this device has seen them (the phone's history at pairing, the
    /// changes its devices synced since, the messages sent and received here), pinned first,
    /// then most recent first: page `page` (from 1) of `page_size` chats.
    ChatList {
        page: usize,
        page_size: usize,
    },
    /// One chat as the list shows it.
    ChatEntry(String),
    /// Reports a number to WhatsApp (spam, abuse).
    Report(String),
}

/// A chat as the account's chat list shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChatEntry {
    /// A number, or a group (`…-group`).
    pub chat: String,
    pub name: Option<String>,
    pub archived: bool,
    pub pinned: bool,
    /// Messages received and not read (at least 1 when marked unread).
    pub unread: u32,
    /// The last message in or out (Unix ms; 0: none seen).
    pub last_message_ms: u64,
    /// `Some(-1)`: muted for ever; `Some(ms)`: muted until then.
    pub mute_end_ms: Option<i64>,
    /// How long new messages in it last (seconds; 0: kept).
    pub expiration_s: u32,
}

/// A contact saved in the account's address book.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedContact {
    /// Digits.
    pub phone: String,
    /// The name as saved: first and last.
    pub full_name: String,
    /// The first name alone, when the phone keeps one.
    pub first_name: Option<String>,
}

impl ChatEntry {
    /// Page `page` (from 1) of `page_size` of `chats` in the list's order: pinned first, then
    /// the most recent.
    pub fn page(mut chats: Vec<ChatEntry>, page: usize, page_size: usize) -> Vec<ChatEntry> {
        chats.sort_by_key(|c| std::cmp::Reverse((c.pinned, c.last_message_ms)));
        let skip = page.saturating_sub(1).saturating_mul(page_size);
        chats.into_iter().skip(skip).take(page_size).collect()
    }
}

/// A change to a business profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProfileChange {
    Description(String),
    Email(String),
    Address(String),
    /// The websites (WhatsApp shows two; none clears them).
    Websites(Vec<String>),
    /// Opening hours in `timezone` (an IANA name): a line per opening (none: closed every day).
    Hours {
        timezone: String,
        days: Vec<Opening>,
    },
    /// Category ids, as WhatsApp's directory numbers them.
    Categories(Vec<String>),
}

/// What a business shows anyone of its profile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BusinessInfo {
    pub description: String,
    pub address: String,
    pub email: String,
    pub websites: Vec<String>,
    /// Each category's id and name, as WhatsApp's directory gives them.
    pub categories: Vec<(String, String)>,
    /// The IANA time zone of the opening hours, when the business set them.
    pub timezone: Option<String>,
    pub hours: Vec<Opening>,
}

/// When a business opens on one day of the week.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    /// `sun`, `mon`, … `sat`, as WhatsApp names them.
    pub day: &'static str,
    pub hours: OpeningHours,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpeningHours {
    /// From `open` to `close`, minutes after midnight.
    Between {
        open: u16,
        close: u16,
    },
    AllDay,
    ByAppointment,
}

/// A change to a channel's admins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AdminChange {
    /// The admin is one no longer.
    Remove,
    /// The invitation to administer it, not yet answered, is taken back.
    RevokeInvite,
    /// The admin becomes the owner; the account stays an admin unless `stay_admin` is false.
    MakeOwner { stay_admin: bool },
}

/// The order WhatsApp's channel directory lists channels in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DirectoryView {
    Recommended,
    Trending,
    Popular,
    New,
}

/// A label of the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelInfo {
    pub id: String,
    pub name: String,
    pub color: u8,
}

/// How many colors WhatsApp's labels take (an index below it).
pub const LABEL_COLORS: u8 = 20;

/// A privacy setting and its new value; only the values WhatsApp takes for each setting can be
/// written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrivacyChange {
    /// Who sees the account's last seen, photo or about text, or may add it to groups.
    Visibility {
        of: Seen,
        who: Audience,
    },
    /// Who sees the account online: everyone, or whoever sees its last seen.
    Online {
        same_as_last_seen: bool,
    },
    ReadReceipts(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    LastSeen,
    Photo,
    About,
    GroupAdd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    Everyone,
    Contacts,
    /// Contacts except the setting's own list (kept as it is).
    ContactsExcept,
    Nobody,
}

impl Query {
    /// Bounded label (metrics, logs).
    pub fn label(&self) -> &'static str {
        match self {
            Query::OnWhatsapp(_) => "on_whatsapp",
            Query::User(_) => "user",
            Query::BusinessOf(_) => "business_of",
            Query::Picture(_) => "picture",
            Query::Block { .. } => "block",
            Query::SetName(_) => "set_name",
            Query::SetAbout(_) => "set_about",
            Query::SetPicture { .. } => "set_picture",
            Query::Groups => "groups",
            Query::CreateGroup { .. } => "create_group",
            Query::Group(_) => "group",
            Query::SetSubject { .. } => "set_subject",
            Query::SetDescription { .. } => "set_description",
            Query::GroupSetting { .. } => "group_setting",
            Query::Members { .. } => "members",
            Query::Leave(_) => "leave",
            Query::InviteLink { .. } => "invite_link",
            Query::InviteInfo(_) => "invite_info",
            Query::Join(_) => "join",
            Query::Chat { .. } => "chat",
            Query::Communities => "communities",
            Query::CreateCommunity { .. } => "create_community",
            Query::Community(_) => "community",
            Query::LinkGroups { .. } => "link_groups",
            Query::SubGroupCreation { .. } => "sub_group_creation",
            Query::DeactivateCommunity(_) => "deactivate_community",
            Query::RejectCall(_) => "reject_call",
            Query::Privacy(_) => "privacy",
            Query::DefaultDisappearing(_) => "default_disappearing",
            Query::ChatDisappearing { .. } => "chat_disappearing",
            Query::Channels => "channels",
            Query::Channel(_) => "channel",
            Query::CreateChannel { .. } => "create_channel",
            Query::FollowChannel { .. } => "follow_channel",
            Query::UpdateChannel { .. } => "update_channel",
            Query::DeleteChannel(_) => "delete_channel",
            Query::ChannelPicture { .. } => "channel_picture",
            Query::ChannelReactions { .. } => "channel_reactions",
            Query::ChannelAdmin { .. } => "channel_admin",
            Query::AcceptChannelAdmin(_) => "accept_channel_admin",
            Query::SearchChannels { .. } => "search_channels",
            Query::BusinessProfile(_) => "business_profile",
            Query::Labels => "labels",
            Query::SaveLabel { .. } => "save_label",
            Query::DeleteLabel(_) => "delete_label",
            Query::LabelChat { .. } => "label_chat",
            Query::AddressBook { .. } => "address_book",
            Query::SavedContact(_) => "saved_contact",
            Query::SaveContact(_) => "save_contact",
            Query::ChatList { .. } => "chat_list",
            Query::ChatEntry(_) => "chat_entry",
            Query::Report(_) => "report",
        }
    }
}

/// A group setting WhatsApp switches on or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupSetting {
    /// Only admins send messages (announcement group).
    AdminsOnlySend,
    /// Only admins edit the group's subject, photo and description.
    AdminsOnlyEdit,
    /// Admins approve who joins.
    ApproveJoins,
    /// Only admins add members.
    AdminsOnlyAdd,
}

/// What a member change did to one number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberResult {
    Applied,
    /// Not added: the number's privacy settings let only people it chose add it to groups
    /// (WhatsApp answers 403 and offers an invitation instead).
    NeedsInvite,
    NotApplied,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemberChange {
    Add,
    Remove,
    Promote,
    Demote,
    /// Let in someone who asked to join.
    Approve,
    /// Turn down someone who asked to join.
    Reject,
}

/// A change to one chat, synced to the account's other devices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatChange {
    Read,
    Unread,
    Archive,
    Unarchive,
    Pin,
    Unpin,
    Mute,
    Unmute,
    Clear,
    Delete,
}

/// WhatsApp's answer to a [`Query`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    Done,
    /// Each number asked about, and the number WhatsApp knows it by when it has WhatsApp (the
    /// same digits, or the country's other form of them: see [`crate::numbers`]).
    OnWhatsapp(Vec<(String, Option<String>)>),
    User {
        about: Option<String>,
        business_name: Option<String>,
    },
    /// `None`: the number is not a business.
    Business(Option<BusinessInfo>),
    /// `None`: no photo visible to this account.
    Picture(Option<String>),
    Groups(Vec<GroupInfo>),
    Group(GroupInfo),
    /// Each number of a member change, and what became of it.
    Members(Vec<(String, MemberResult)>),
    Link(String),
    /// Joined `group`, or (`pending`) asked to join it.
    Joined {
        group: String,
        pending: bool,
    },
    Communities(Vec<CommunityInfo>),
    Community(CommunityInfo),
    /// Each group of a link or unlink, and why WhatsApp left it as it was (`None`: changed).
    Linked(Vec<(String, Option<String>)>),
    Channels(Vec<ChannelInfo>),
    Channel(ChannelInfo),
    Labels(Vec<LabelInfo>),
    /// The label saved (its id, new or as given).
    Label(LabelInfo),
    AddressBook(Vec<SavedContact>),
    SavedContact(Option<SavedContact>),
    ChatList(Vec<ChatEntry>),
    /// `None`: a chat this device has not seen.
    ChatEntry(Option<ChatEntry>),
}

/// A channel as WhatsApp describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelInfo {
    /// `…@newsletter`.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub picture: Option<String>,
    pub created_s: u64,
    /// The code of `https://whatsapp.com/channel/<code>`.
    pub invite_code: Option<String>,
    pub followers: u64,
    pub role: ChannelRole,
}

/// The account's relation to a channel.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ChannelRole {
    Owner,
    Admin,
    Subscriber,
    #[default]
    Guest,
}

/// A community as WhatsApp describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommunityInfo {
    /// The parent group, `…-group`.
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    /// Its announcement group first, then its other groups.
    pub groups: Vec<CommunityGroup>,
}

/// A group of a community.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommunityGroup {
    /// `…-group`.
    pub id: String,
    pub subject: String,
    /// The community's announcement group (only admins write in it; every member is in it).
    pub announcement: bool,
}

/// A group as WhatsApp describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupInfo {
    /// `…-group`.
    pub id: String,
    pub subject: String,
    pub description: Option<String>,
    pub owner: Option<String>,
    pub created_s: u64,
    pub subject_owner: Option<String>,
    pub subject_s: u64,
    pub admins_only_send: bool,
    pub admins_only_edit: bool,
    pub approve_joins: bool,
    pub admins_only_add: bool,
    /// The community it belongs to (`…-group`).
    pub community: Option<String>,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    /// Digits; members WhatsApp names only by a private id are left out.
    pub phone: String,
    pub admin: bool,
    pub super_admin: bool,
}

/// A contact's chat presence we show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatPresence {
    Composing,
    Recording,
    Paused,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReceiptKind {
    Delivered,
    Read,
    Played,
}

/// Why the session ended for good (a new pairing, or hours of waiting, is needed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogoutKind {
    /// The phone removed the linked device (or the server said 401).
    Unlinked,
    /// The account is locked (403): reconnecting prolongs the lock.
    Locked,
    /// Temporarily banned (402), for `expire` if the server said.
    TempBanned { expire: Option<Duration> },
    /// Another client took over the session (409).
    Replaced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    Image,
    Video,
    /// A video that plays in a loop without sound, as a GIF.
    Gif,
    /// A round video note.
    Ptv,
    /// An audio file.
    Audio,
    /// A recorded voice message (push to talk).
    Voice,
    Document,
    Sticker,
}

#[derive(Debug, Clone, PartialEq)]
pub enum InboundContent {
    Text(String),
    /// A media message with its file, downloaded (and decrypted) before the message is handed
    /// over; `file` is `None` when it could not be (too large, gone from WhatsApp's servers):
    /// the message is delivered without it rather than lost.
    Media {
        kind: MediaKind,
        mime: String,
        caption: Option<String>,
        file_name: Option<String>,
        seconds: u32,
        view_once: bool,
        file: Option<FileData>,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: String,
    },
    /// One contact card (several at once arrive as `Other`).
    Contact(SharedContact),
    /// A reaction to the message `target` of this chat (`from_me`: one this account sent); an
    /// empty `emoji` takes it back.
    Reaction {
        target: String,
        from_me: bool,
        emoji: String,
    },
    /// A poll: its question, how many options one voter may choose (0: any) and the options.
    Poll {
        question: String,
        max_options: u32,
        options: Vec<String>,
    },
    /// The message `target` of this chat pinned (`pinned`, for `seconds`; 0 when WhatsApp did
    /// not say) or unpinned for everyone.
    Pin {
        target: String,
        from_me: bool,
        pinned: bool,
        seconds: u64,
    },
    /// A vote on our poll `poll` (its wire id): the options chosen now (none: the vote was
    /// taken back).
    PollVote {
        poll: String,
        options: Vec<String>,
    },
    /// An event someone created in this chat.
    Event {
        details: EventDetails,
        /// The call it takes place on, if any.
        join_link: Option<String>,
    },
    /// An answer to the event `event` (its wire id; one this instance sent or received since
    /// it was paired), read with the event's secret.
    EventAnswer {
        event: String,
        going: bool,
        at_ms: u64,
    },
    /// A tap on a reply button of a message this account sent: the button's `id` and the text
    /// it showed.
    ButtonReply {
        id: String,
        text: String,
    },
    /// An option picked from a list this account sent: its `id`, `title` and `description`.
    ListReply {
        id: String,
        title: String,
        description: String,
    },
    /// A message type the connector does not translate yet (named, for the integrator).
    Other(String),
}

/// A message someone sent to the instance's number.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub id: String,
    /// The chat: the sender's number, or the group's id.
    pub chat: String,
    /// In a group: the member who wrote.
    pub participant: Option<String>,
    pub push_name: Option<String>,
    pub from_me: bool,
    pub content: InboundContent,
    pub at_ms: u64,
    /// The wire id of the message this one replies to (quotes, or answers with a button).
    pub quoted: Option<String>,
    /// Marked forwarded by its sender.
    pub forwarded: bool,
    /// It answers a status post (the message it quotes is in `status@broadcast`).
    pub status_reply: bool,
}

/// What an engine reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    Qr {
        code: String,
        valid_for: Duration,
    },
    QrExhausted,
    PairCode {
        code: String,
        valid_for: Duration,
    },
    /// The phone accepted the pairing; `phone` is the paired number.
    Paired {
        phone: String,
    },
    Connected {
        phone: Option<String>,
    },
    /// The account's name arrived from the phone (app state) while connected, after the line
    /// went unavailable: the engine then announces itself available, as WhatsApp Web does.
    NameSynced,
    /// The connection dropped; the saved session is still good.
    Disconnected {
        reason: String,
    },
    /// A connection attempt failed with a reason the server gave.
    ConnectFailed {
        reason: String,
    },
    LoggedOut(LogoutKind),
    /// The server's ack (`error: None`) or nack (`error: Some(code)`) of a message we sent.
    ServerAck {
        id: String,
        error: Option<String>,
    },
    Receipt {
        ids: Vec<String>,
        from: String,
        kind: ReceiptKind,
        at_ms: u64,
    },
    /// Someone calls the account (`missed: false`), or a call that rang here ended with nobody
    /// answering or rejecting it on any device (`missed: true`; also a call offered while the
    /// line was offline). `from` is the caller's number or phone JID.
    Call {
        id: String,
        from: String,
        video: bool,
        missed: bool,
        at_ms: u64,
    },
}

/// Where an engine reports; bounded, never waits (a full channel drops and counts).
#[derive(Clone)]
pub struct EventTx {
    tx: mpsc::Sender<EngineEvent>,
    dropped: Arc<std::sync::atomic::AtomicU64>,
}

impl EventTx {
    pub fn channel(capacity: usize) -> (EventTx, mpsc::Receiver<EngineEvent>) {
        let (tx, rx) = mpsc::channel(capacity);
        (EventTx { tx, dropped: Arc::default() }, rx)
    }

    pub fn emit(&self, event: EngineEvent) {
        if self.tx.try_send(event).is_err() {
            self.dropped.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Events dropped because the channel was full or closed.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Where an engine hands received messages; the engine acknowledges them to the server only
/// after `commit` returned `Ok` (so a crash before the commit means a redelivery, not a loss).
pub trait InboundSink: Send + Sync {
    fn commit(&self, batch: Vec<InboundMessage>) -> BoxFuture<'_, Result<(), String>>;
}

/// One live client of one instance.
pub trait Engine: Send + Sync {
    /// Starts connecting; returns once the attempt is under way. Outcomes come as events.
    fn connect(&self) -> BoxFuture<'_, Result<(), EngineError>>;
    /// Asks for an 8-character code to type on the phone of `phone` (digits only).
    fn pair_code<'a>(&'a self, phone: &'a str) -> BoxFuture<'a, Result<String, EngineError>>;
    /// Puts a message on the wire under `id`; `Ok` is not the server's ack (that is an event).
    fn send<'a>(&'a self, to: &'a str, id: &'a WireId, body: &'a Outgoing) -> BoxFuture<'a, Result<(), EngineError>>;
    /// Carries out `act`; `Ok` once it is on the wire.
    fn act<'a>(&'a self, act: &'a Act) -> BoxFuture<'a, Result<(), EngineError>>;
    fn chat_presence<'a>(&'a self, to: &'a str, presence: ChatPresence) -> BoxFuture<'a, Result<(), EngineError>>;
    /// Asks WhatsApp `query` (a question about the account or a change to it).
    fn ask<'a>(&'a self, query: &'a Query) -> BoxFuture<'a, Result<Answer, EngineError>>;
    /// The paired number (digits), once logged in.
    fn own_phone(&self) -> Option<String>;
    /// Shows the account unavailable (so the phone keeps its notifications).
    fn set_unavailable(&self) -> BoxFuture<'_, Result<(), EngineError>>;
    /// Unlinks the device from the phone.
    fn logout(&self) -> BoxFuture<'_, Result<(), EngineError>>;
    /// Stops the client after flushing its state; nothing is emitted afterwards.
    fn shutdown(&self) -> BoxFuture<'_, ()>;
}

/// How received files are downloaded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// A received file larger than this is not downloaded (its message arrives without it).
    pub max_bytes: u64,
    /// One download's time, retries included; past it the message arrives without its file.
    pub timeout: Duration,
}

/// What opening an engine needs.
pub struct OpenArgs {
    pub instance: InstanceId,
    /// The instance's part of the store (keys already scoped to it).
    pub store: Arc<dyn KvStore>,
    pub device_name: String,
    pub media: MediaLimits,
    pub events: EventTx,
    pub inbound: Arc<dyn InboundSink>,
}

/// Builds engines; one per connection attempt.
pub trait EngineFactory: Send + Sync {
    fn open(&self, args: OpenArgs) -> BoxFuture<'_, Result<Arc<dyn Engine>, EngineError>>;
}
