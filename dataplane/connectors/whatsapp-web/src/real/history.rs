//! The phone's history sync: at pairing (and now and then after) the phone sends chunks of its
//! history. The engine reads each chunk once, off the runtime (a chunk is megabytes), for two
//! things only: the chat list's conversations ([`super::chat_list`]) and the secrets of the
//! polls and events in it ([`super::poll`]), so votes and answers on a poll or an event
//! received before pairing can be read. The messages themselves are not kept, nor delivered as
//! webhooks. It must not know Z-API.

use whatsapp_rust::wacore::types::events::LazyHistorySync;
use whatsapp_rust::waproto::whatsapp as wa;
use whatsapp_rust::Jid;

use super::chat_list::{self, Seen, MAX_CHATS};
use super::poll::PollRecord;

/// Polls and events one chunk may hand over.
const MAX_POLLS: usize = 10_000;

/// What a chunk of history holds for the engine.
#[derive(Debug, Default)]
pub struct Chunk {
    pub chats: Vec<(String, Seen)>,
    /// Wire id and record of each poll or event.
    pub polls: Vec<(String, PollRecord)>,
}

/// Reads a chunk of the phone's history off the runtime; one that cannot be read holds nothing.
pub async fn read(history: &LazyHistorySync) -> Chunk {
    let history = history.clone(); // shares the compressed bytes
    let read = tokio::task::spawn_blocking(move || {
        let mut stream = history.stream();
        let mut chunk = Chunk::default();
        while let Ok(Some(conversation)) = stream.next_conversation() {
            if chunk.chats.len() < MAX_CHATS {
                chunk.chats.extend(chat_list::from_history(&conversation));
            }
            for poll in polls(&conversation) {
                if chunk.polls.len() < MAX_POLLS {
                    chunk.polls.push(poll);
                }
            }
        }
        chunk
    });
    read.await.unwrap_or_default()
}

/// The polls and events of one conversation, with the JIDs their creator may be named by: the
/// member who wrote it in a group; in a one-to-one chat, the chat in both its forms (number and
/// private id) as the history gives them; none for the account's own (read as ours).
pub fn polls(conversation: &wa::Conversation) -> Vec<(String, PollRecord)> {
    let chat_forms = || -> Vec<String> {
        [Some(conversation.id.as_str()), conversation.pn_jid.as_deref(), conversation.lid_jid.as_deref()]
            .into_iter()
            .flatten()
            .filter_map(|j| j.parse::<Jid>().ok())
            .map(|j| j.to_non_ad_string())
            .collect()
    };
    let group = conversation.id.ends_with("@g.us");
    conversation
        .messages
        .iter()
        .filter_map(|m| m.message.as_option())
        .filter_map(|info| {
            let key = info.key.as_option()?;
            let id = key.id.clone()?;
            let message = info.message.as_option()?;
            let creators = || match (key.from_me.unwrap_or(false), group) {
                (true, _) => Vec::new(),
                (false, true) => {
                    let member = key.participant.as_deref().or(info.participant.as_deref());
                    member.and_then(|m| m.parse::<Jid>().ok()).map(|j| j.to_non_ad_string()).into_iter().collect()
                }
                (false, false) => chat_forms(),
            };
            let record =
                super::poll::received(message, creators).or_else(|| super::event::received(message, creators))?;
            Some((id, record))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use whatsapp_rust::waproto::buffa::MessageField;

    use super::*;

    fn poll_message(id: &str, from_me: bool, participant: Option<&str>) -> wa::HistorySyncMsg {
        let poll = wa::message::PollCreationMessage {
            name: Some("Which day?".into()),
            options: vec![
                wa::message::poll_creation_message::Option { option_name: Some("Mon".into()), ..Default::default() },
                wa::message::poll_creation_message::Option { option_name: Some("Tue".into()), ..Default::default() },
            ],
            selectable_options_count: Some(1),
            ..Default::default()
        };
        let message = wa::Message {
            poll_creation_message_v3: MessageField::some(poll),
            message_context_info: MessageField::some(wa::MessageContextInfo {
                message_secret: Some(vec![7; 32]),
                ..Default::default()
            }),
            ..Default::default()
        };
        let info = wa::WebMessageInfo {
            key: MessageField::some(wa::MessageKey {
                id: Some(id.into()),
                from_me: Some(from_me),
                participant: participant.map(str::to_owned),
                ..Default::default()
            }),
            message: MessageField::some(message),
            ..Default::default()
        };
        wa::HistorySyncMsg { message: MessageField::some(info), ..Default::default() }
    }

    fn text_message(id: &str) -> wa::HistorySyncMsg {
        let info = wa::WebMessageInfo {
            key: MessageField::some(wa::MessageKey { id: Some(id.into()), ..Default::default() }),
            message: MessageField::some(wa::Message { conversation: Some("oi".into()), ..Default::default() }),
            ..Default::default()
        };
        wa::HistorySyncMsg { message: MessageField::some(info), ..Default::default() }
    }

    /// A chunk of history as the phone sends it: the proto, zlib-compressed.
    fn chunk_of(conversations: Vec<wa::Conversation>) -> LazyHistorySync {
        use std::io::Write as _;
        use whatsapp_rust::waproto::buffa::Message as _;
        let raw = wa::HistorySync { conversations, ..Default::default() }.encode_to_vec();
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(&raw).unwrap();
        let compressed = zlib.finish().unwrap();
        LazyHistorySync::new(compressed.into(), raw.len(), 0, None, None)
    }

    #[tokio::test]
    async fn a_chunk_of_history_is_read_for_its_chats_and_the_polls_in_them() {
        let chunk = chunk_of(vec![
            wa::Conversation {
                id: "5511988887777@s.whatsapp.net".into(),
                name: Some("Ana".into()),
                unread_count: Some(2),
                messages: vec![text_message("A1"), poll_message("P1", false, None)],
                ..Default::default()
            },
            wa::Conversation { id: "120363000000000001@g.us".into(), ..Default::default() },
            wa::Conversation {
                id: "status@broadcast".into(),
                messages: vec![text_message("S1")],
                ..Default::default()
            },
        ]);
        let read = read(&chunk).await;
        let chats: Vec<&str> = read.chats.iter().map(|(chat, _)| chat.as_str()).collect();
        assert_eq!(chats, ["5511988887777", "120363000000000001-group"], "the broadcast is not a chat");
        assert_eq!(read.polls.iter().map(|(id, _)| id.as_str()).collect::<Vec<_>>(), ["P1"]);
        let broken = LazyHistorySync::new(vec![1, 2, 3].into(), 100, 0, None, None);
        let nothing = super::read(&broken).await;
        assert!(nothing.chats.is_empty() && nothing.polls.is_empty(), "a chunk that cannot be read holds nothing");
    }

    #[test]
    fn polls_in_the_history_keep_their_secret_options_and_who_may_have_created_them() {
        let one_to_one = wa::Conversation {
            id: "123456789@lid".into(),
            pn_jid: Some("5511988887777@s.whatsapp.net".into()),
            messages: vec![text_message("A1"), poll_message("P1", false, None), poll_message("P2", true, None)],
            ..Default::default()
        };
        let found = polls(&one_to_one);
        let summary: Vec<(&str, Vec<String>, Vec<String>)> =
            found.iter().map(|(id, r)| (id.as_str(), r.options.clone(), r.creators.clone())).collect();
        assert_eq!(
            summary,
            [
                (
                    "P1",
                    vec!["Mon".into(), "Tue".into()],
                    vec!["123456789@lid".into(), "5511988887777@s.whatsapp.net".into()]
                ),
                ("P2", vec!["Mon".into(), "Tue".into()], vec![]),
            ],
            "texts are not polls; the account's own poll names no creator (read as ours)"
        );
        assert_eq!(found[0].1.secret, vec![7; 32]);

        let group = wa::Conversation {
            id: "120363000000000001@g.us".into(),
            messages: vec![poll_message("P3", false, Some("5521977776666@s.whatsapp.net"))],
            ..Default::default()
        };
        assert_eq!(polls(&group)[0].1.creators, ["5521977776666@s.whatsapp.net"], "a group's: the member who wrote it");
    }
}
