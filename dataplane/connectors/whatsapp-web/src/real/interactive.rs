//! interactive: buttons (under a text or a picture), carousels, option lists and PIX keys as
//! WhatsApp's interactive message (native flow buttons, the form WhatsApp's own clients send
//! today), and the answers they bring back.
//! whatsapp-rust adds the `<biz>` stanza node a handset needs to show such a message (its
//! `infer_biz_node`: `payment_info` for a PIX key, `mixed` for everything else); this module
//! only builds and reads protobufs. It must not send.

use serde_json::json;
use whatsapp_rust::waproto::buffa::MessageField;
use whatsapp_rust::waproto::whatsapp as wa;

use super::Uploaded;
use crate::engine::{Button, Card, FileData, InboundContent, ListRow, MediaKind, OutgoingMedia, Picture};

use wa::message::interactive_message::header::Media;
use wa::message::interactive_message::native_flow_message::NativeFlowButton;
use wa::message::interactive_message::{
    Body, CarouselMessage, Footer, Header, InteractiveMessage as Payload, NativeFlowMessage,
};
use wa::message::InteractiveMessage;

/// `text` with `buttons` under it, `picture` (uploaded) or `title` above and `footer` below.
pub fn buttons(
    picture: Option<Media>,
    title: &Option<String>,
    text: &str,
    footer: &Option<String>,
    buttons: &[Button],
) -> wa::Message {
    let head = Head { picture, title: title.as_deref() };
    message(interactive(head, Some(text), footer.as_deref(), native_flow(buttons)))
}

/// `text` followed by `cards`, each with its (uploaded) picture above its text and buttons.
pub fn carousel(text: &str, cards: Vec<(Media, &Card)>) -> wa::Message {
    let cards = cards
        .into_iter()
        .map(|(picture, card)| {
            let head = Head { picture: Some(picture), title: None };
            interactive(head, Some(&card.text), None, native_flow(&card.buttons))
        })
        .collect();
    let payload =
        Payload::CarouselMessage(Box::new(CarouselMessage { cards, message_version: Some(1), ..Default::default() }));
    message(interactive(Head::default(), Some(text), None, payload))
}

/// An uploaded image or video as an interactive message's header.
pub fn picture(upload: Uploaded, picture: &Picture) -> Media {
    let kind = match picture.kind {
        MediaKind::Image => MediaKind::Image,
        _ => MediaKind::Video,
    };
    let file = FileData { mime: picture.file.mime.clone(), bytes: Vec::new() };
    let media = OutgoingMedia { kind, file, caption: None, file_name: None, view_once: false };
    let mut named = super::uploaded(upload, &media);
    match named.image_message.take() {
        Some(image) => Media::ImageMessage(Box::new(image)),
        None => Media::VideoMessage(Box::new(named.video_message.take().unwrap_or_default())),
    }
}

/// `text` with a button labelled `button` that opens `options` under `title` (one section).
pub fn list(text: &str, title: &str, button: &str, options: &[ListRow]) -> wa::Message {
    let rows: Vec<_> = options
        .iter()
        .map(|o| json!({"header": "", "title": o.title, "description": o.description, "id": o.id}))
        .collect();
    let params = json!({"title": button, "sections": [{"title": title, "rows": rows}]});
    let flow = native_flow_of(vec![flow_button("single_select", params)]);
    message(interactive(Head::default(), Some(text), None, flow))
}

/// A PIX key with `merchant`'s name and a copy button: the zero-amount `payment_info` flow a
/// Brazilian business account sends for "pay me with this key".
pub fn pix(key: &str, key_type: &str, merchant: &str, reference: &str) -> wa::Message {
    let zero = json!({"value": 0, "offset": 100});
    let params = json!({
        "currency": "BRL",
        "total_amount": zero,
        "reference_id": reference,
        "type": "physical-goods",
        "order": {
            "status": "pending",
            "subtotal": zero,
            "order_type": "ORDER",
            "items": [{"name": "", "amount": zero, "quantity": 0, "sale_amount": zero}],
        },
        "payment_settings": [{
            "type": "pix_static_code",
            "pix_static_code": {"merchant_name": merchant, "key": key, "key_type": key_type},
        }],
        "share_payment_status": false,
    });
    message(interactive(Head::default(), None, None, native_flow_of(vec![flow_button("payment_info", params)])))
}

fn native_button(button: &Button) -> NativeFlowButton {
    match button {
        Button::Reply { id, label } => flow_button("quick_reply", json!({"display_text": label, "id": id})),
        Button::Url { label, url } => {
            flow_button("cta_url", json!({"display_text": label, "url": url, "merchant_url": url}))
        }
        Button::Call { label, phone } => {
            let number = if phone.starts_with('+') { phone.clone() } else { format!("+{phone}") };
            flow_button("cta_call", json!({"display_text": label, "phone_number": number}))
        }
        Button::Copy { label, code } => flow_button("cta_copy", json!({"display_text": label, "copy_code": code})),
    }
}

fn flow_button(name: &str, params: serde_json::Value) -> NativeFlowButton {
    NativeFlowButton { name: Some(name.to_owned()), button_params_json: Some(params.to_string()) }
}

/// What an interactive message shows above its text: a picture, a title, or both.
#[derive(Default)]
struct Head<'a> {
    picture: Option<Media>,
    title: Option<&'a str>,
}

fn native_flow(buttons: &[Button]) -> Payload {
    native_flow_of(buttons.iter().map(native_button).collect())
}

fn native_flow_of(buttons: Vec<NativeFlowButton>) -> Payload {
    Payload::NativeFlowMessage(Box::new(NativeFlowMessage { buttons, message_version: Some(1), ..Default::default() }))
}

fn interactive(head: Head<'_>, text: Option<&str>, footer: Option<&str>, payload: Payload) -> InteractiveMessage {
    // An empty title, text or footer is left out: a handset would draw an empty box.
    fn part<T: Default>(s: Option<&str>, make: impl FnOnce(String) -> T) -> MessageField<T> {
        s.filter(|s| !s.is_empty()).map_or(MessageField::none(), |s| MessageField::some(make(s.to_owned())))
    }
    let title = head.title.filter(|t| !t.is_empty()).map(str::to_owned);
    let header = match (title, head.picture) {
        (None, None) => MessageField::none(),
        (title, media) => MessageField::some(Header {
            title,
            has_media_attachment: Some(media.is_some()),
            media,
            ..Default::default()
        }),
    };
    InteractiveMessage {
        header,
        body: part(text, |text| Body { text: Some(text) }),
        footer: part(footer, |text| Footer { text: Some(text), ..Default::default() }),
        interactive_message: Some(payload),
        ..Default::default()
    }
}

fn message(interactive: InteractiveMessage) -> wa::Message {
    wa::Message { interactive_message: MessageField::some(interactive), ..Default::default() }
}

/// The answer `m` carries to buttons or a list, in any of the forms handsets send: a native
/// flow response (to what [`buttons`] and [`list`] build), or the older buttons, template-button
/// and list responses.
pub fn answer(m: &wa::Message) -> Option<InboundContent> {
    if let Some(r) = m.interactive_response_message.as_option() {
        return native_answer(r);
    }
    if let Some(b) = m.buttons_response_message.as_option() {
        use wa::message::buttons_response_message::Response;
        let text = match &b.response {
            Some(Response::SelectedDisplayText(text)) => text.clone(),
            None => String::new(),
        };
        return Some(InboundContent::ButtonReply { id: b.selected_button_id.clone().unwrap_or_default(), text });
    }
    if let Some(t) = m.template_button_reply_message.as_option() {
        return Some(InboundContent::ButtonReply {
            id: t.selected_id.clone().unwrap_or_default(),
            text: t.selected_display_text.clone().unwrap_or_default(),
        });
    }
    if let Some(l) = m.list_response_message.as_option() {
        let id = l.single_select_reply.as_option().and_then(|r| r.selected_row_id.clone());
        return Some(InboundContent::ListReply {
            id: id.unwrap_or_default(),
            title: l.title.clone().unwrap_or_default(),
            description: l.description.clone().unwrap_or_default(),
        });
    }
    None
}

/// A native flow response: a picked list row (`single_select`'s answer, which carries the
/// row's description) or a tapped reply button. The text shown is the response's body.
fn native_answer(r: &wa::message::InteractiveResponseMessage) -> Option<InboundContent> {
    use wa::message::interactive_response_message::InteractiveResponseMessage as Response;
    let Some(Response::NativeFlowResponseMessage(flow)) = &r.interactive_response_message else { return None };
    let params: serde_json::Value = serde_json::from_str(flow.params_json.as_deref()?).ok()?;
    let field = |name: &str| params.get(name).and_then(|v| v.as_str()).map(str::to_owned);
    let text = r.body.as_option().and_then(|b| b.text.clone()).unwrap_or_default();
    let id = field("id")?;
    let picked = flow.name.as_deref() == Some("single_select") || params.get("description").is_some();
    Some(match picked {
        true => InboundContent::ListReply {
            id,
            title: field("title").unwrap_or(text),
            description: field("description").unwrap_or_default(),
        },
        false => InboundContent::ButtonReply { id, text },
    })
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};
    use whatsapp_rust::waproto::buffa::{Message as _, MessageField};

    use super::*;

    /// The interactive part of `m` after a trip through protobuf bytes, as a handset gets it.
    fn on_the_wire(m: &wa::Message) -> wa::message::InteractiveMessage {
        let decoded = wa::Message::decode_from_slice(&m.encode_to_vec()).expect("decodes");
        decoded.interactive_message.as_option().cloned().expect("an interactive message")
    }

    fn flow_buttons(im: &wa::message::InteractiveMessage) -> Vec<(String, Value)> {
        let Some(Payload::NativeFlowMessage(flow)) = &im.interactive_message else { panic!("not a native flow") };
        flow.buttons
            .iter()
            .map(|b| {
                let params = serde_json::from_str(b.button_params_json.as_deref().unwrap_or("")).expect("JSON params");
                (b.name.clone().unwrap_or_default(), params)
            })
            .collect()
    }

    #[test]
    fn buttons_become_native_flow_buttons_carrying_their_ids_links_numbers_and_codes() {
        let cases = [
            (
                Button::Reply { id: "yes".into(), label: "Sim".into() },
                "quick_reply",
                json!({"display_text": "Sim", "id": "yes"}),
            ),
            (
                Button::Url { label: "Site".into(), url: "https://z-api.io".into() },
                "cta_url",
                json!({"display_text": "Site", "url": "https://z-api.io", "merchant_url": "https://z-api.io"}),
            ),
            (
                Button::Call { label: "Ligar".into(), phone: "5511999999999".into() },
                "cta_call",
                json!({"display_text": "Ligar", "phone_number": "+5511999999999"}),
            ),
            (
                Button::Call { label: "Ligar".into(), phone: "+5511999999999".into() },
                "cta_call",
                json!({"display_text": "Ligar", "phone_number": "+5511999999999"}),
            ),
            (
                Button::Copy { label: "Copiar código".into(), code: "482913".into() },
                "cta_copy",
                json!({"display_text": "Copiar código", "copy_code": "482913"}),
            ),
        ];
        for (button, name, params) in cases {
            let m = buttons(None, &None, "Escolha", &None, std::slice::from_ref(&button));
            assert_eq!(flow_buttons(&on_the_wire(&m)), vec![(name.to_owned(), params)], "{button:?}");
        }

        let m = buttons(
            None,
            &Some("Pedido 42".into()),
            "Confirma?",
            &Some("Loja".into()),
            &[
                Button::Reply { id: "1".into(), label: "Sim".into() },
                Button::Reply { id: "2".into(), label: "Não".into() },
            ],
        );
        let im = on_the_wire(&m);
        assert_eq!(im.header.as_option().and_then(|h| h.title.clone()).as_deref(), Some("Pedido 42"));
        assert_eq!(im.body.as_option().and_then(|b| b.text.clone()).as_deref(), Some("Confirma?"));
        assert_eq!(im.footer.as_option().and_then(|f| f.text.clone()).as_deref(), Some("Loja"));
        let ids: Vec<_> = flow_buttons(&im).into_iter().map(|(_, p)| p["id"].clone()).collect();
        assert_eq!(ids, [json!("1"), json!("2")], "buttons keep their order");

        // No title, no footer: no empty header or footer for a handset to draw.
        let im = on_the_wire(&buttons(None, &Some(String::new()), "Oi", &None, &[]));
        assert!(!im.header.is_set() && !im.footer.is_set());
    }

    fn header_url(im: &InteractiveMessage) -> Option<(&'static str, String, Option<String>)> {
        let header = im.header.as_option()?;
        assert_eq!(header.has_media_attachment, Some(true), "a pictured header says it has an attachment");
        match header.media.as_ref()? {
            Media::ImageMessage(i) => Some(("image", i.url.clone()?, i.mimetype.clone())),
            Media::VideoMessage(v) => Some(("video", v.url.clone()?, v.mimetype.clone())),
            _ => None,
        }
    }

    #[test]
    fn a_picture_heads_buttons_and_each_carousel_card_shows_its_own_picture_text_and_buttons() {
        let photo =
            Picture { kind: MediaKind::Image, file: FileData { mime: "image/png".into(), bytes: vec![1, 2, 3] } };
        let clip = Picture { kind: MediaKind::Video, file: FileData { mime: "video/mp4".into(), bytes: vec![4] } };
        let yes = Button::Reply { id: "yes".into(), label: "Sim".into() };

        let im = on_the_wire(&buttons(
            Some(picture(Uploaded::at("https://mmg/a"), &photo)),
            &None,
            "Gostou?",
            &None,
            std::slice::from_ref(&yes),
        ));
        assert_eq!(header_url(&im), Some(("image", "https://mmg/a".into(), Some("image/png".into()))));
        assert_eq!(im.body.as_option().and_then(|b| b.text.clone()).as_deref(), Some("Gostou?"));
        assert_eq!(flow_buttons(&im).len(), 1);
        let key = match im.header.as_option().and_then(|h| h.media.as_ref()) {
            Some(Media::ImageMessage(i)) => i.media_key.clone(),
            _ => None,
        };
        assert_eq!(key, Some(vec![1; 32]), "the header names the upload and its key");

        let im = on_the_wire(&buttons(Some(picture(Uploaded::at("https://mmg/v"), &clip)), &None, "Veja", &None, &[]));
        assert_eq!(header_url(&im), Some(("video", "https://mmg/v".into(), Some("video/mp4".into()))));

        let cards = [
            Card { picture: photo.clone(), text: "Plano A".into(), buttons: vec![yes.clone()] },
            Card {
                picture: photo,
                text: "Plano B".into(),
                buttons: vec![Button::Url { label: "Site".into(), url: "https://z-api.io".into() }],
            },
        ];
        let pictured =
            cards.iter().enumerate().map(|(n, c)| (picture(Uploaded::at(&format!("https://mmg/{n}")), &c.picture), c));
        let im = on_the_wire(&carousel("Nossos planos", pictured.collect()));
        assert_eq!(im.body.as_option().and_then(|b| b.text.clone()).as_deref(), Some("Nossos planos"));
        assert!(!im.header.is_set(), "the carousel's own text has no header");
        let Some(Payload::CarouselMessage(carousel)) = &im.interactive_message else { panic!("not a carousel") };
        assert_eq!(carousel.message_version, Some(1));
        let shown: Vec<_> = carousel
            .cards
            .iter()
            .map(|card| {
                let text = card.body.as_option().and_then(|b| b.text.clone()).unwrap_or_default();
                let names: Vec<_> = flow_buttons(card).into_iter().map(|(name, _)| name).collect();
                (header_url(card).map(|(_, url, _)| url), text, names)
            })
            .collect();
        assert_eq!(
            shown,
            vec![
                (Some("https://mmg/0".into()), "Plano A".into(), vec!["quick_reply".to_owned()]),
                (Some("https://mmg/1".into()), "Plano B".into(), vec!["cta_url".to_owned()]),
            ],
            "each card keeps its own picture, text and buttons, in order"
        );
    }

    #[test]
    fn an_option_list_is_a_single_select_whose_rows_carry_their_ids_titles_and_descriptions() {
        let rows = [
            ListRow { id: "1".into(), title: "Suporte".into(), description: "Falar com o suporte".into() },
            ListRow { id: "vendas".into(), title: "Vendas".into(), description: String::new() },
        ];
        let im = on_the_wire(&list("Como podemos ajudar?", "Departamentos", "Abrir", &rows));
        assert_eq!(im.body.as_option().and_then(|b| b.text.clone()).as_deref(), Some("Como podemos ajudar?"));
        let expected = json!({
            "title": "Abrir",
            "sections": [{"title": "Departamentos", "rows": [
                {"header": "", "title": "Suporte", "description": "Falar com o suporte", "id": "1"},
                {"header": "", "title": "Vendas", "description": "", "id": "vendas"},
            ]}],
        });
        assert_eq!(flow_buttons(&im), vec![("single_select".to_owned(), expected)]);
    }

    #[test]
    fn a_pix_key_is_a_zero_amount_payment_info_naming_the_key_its_type_and_the_merchant() {
        let im = on_the_wire(&pix("chave@example.com", "EMAIL", "Loja da Ana", "3EB0A1"));
        let [(name, params)] = <[_; 1]>::try_from(flow_buttons(&im)).expect("one button");
        assert_eq!(name, "payment_info", "whatsapp-rust announces it with <biz native_flow_name=payment_info>");
        assert_eq!(
            params["payment_settings"],
            json!([{"type": "pix_static_code", "pix_static_code":
                {"merchant_name": "Loja da Ana", "key": "chave@example.com", "key_type": "EMAIL"}}])
        );
        assert_eq!((params["currency"].clone(), params["total_amount"]["value"].clone()), (json!("BRL"), json!(0)));
        assert_eq!(params["reference_id"], "3EB0A1");
    }

    #[test]
    fn answers_to_buttons_and_lists_name_what_was_picked_in_every_form_handsets_send() {
        use wa::message::interactive_response_message::{Body as ResponseBody, NativeFlowResponseMessage};
        let native = |name: &str, params: &str, text: &str| wa::Message {
            interactive_response_message: MessageField::some(wa::message::InteractiveResponseMessage {
                body: MessageField::some(ResponseBody { text: Some(text.into()), ..Default::default() }),
                interactive_response_message: Some(
                    wa::message::interactive_response_message::InteractiveResponseMessage::NativeFlowResponseMessage(
                        Box::new(NativeFlowResponseMessage {
                            name: Some(name.into()),
                            params_json: Some(params.into()),
                            ..Default::default()
                        }),
                    ),
                ),
                ..Default::default()
            }),
            ..Default::default()
        };
        let button = |id: &str, text: &str| Some(InboundContent::ButtonReply { id: id.into(), text: text.into() });
        let row = |id: &str, title: &str, description: &str| {
            Some(InboundContent::ListReply { id: id.into(), title: title.into(), description: description.into() })
        };
        let cases = [
            ("a tapped reply button", native("quick_reply", r#"{"id":"yes"}"#, "Sim"), button("yes", "Sim")),
            (
                "a picked list row",
                native(
                    "single_select",
                    r#"{"id":"1","title":"Suporte","description":"Falar com o suporte"}"#,
                    "Suporte",
                ),
                row("1", "Suporte", "Falar com o suporte"),
            ),
            (
                "a picked row answered under another flow name",
                native("menu_options", r#"{"id":"2","description":"Comprar"}"#, "Vendas"),
                row("2", "Vendas", "Comprar"),
            ),
            ("a native answer without an id", native("quick_reply", r#"{"x":1}"#, "Sim"), None),
            ("a native answer whose params are not JSON", native("quick_reply", "{", "Sim"), None),
            (
                "the older buttons response",
                wa::Message {
                    buttons_response_message: MessageField::some(wa::message::ButtonsResponseMessage {
                        selected_button_id: Some("b2".into()),
                        response: Some(wa::message::buttons_response_message::Response::SelectedDisplayText(
                            "Não".into(),
                        )),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                button("b2", "Não"),
            ),
            (
                "a template button",
                wa::Message {
                    template_button_reply_message: MessageField::some(wa::message::TemplateButtonReplyMessage {
                        selected_id: Some("t1".into()),
                        selected_display_text: Some("Quero".into()),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                button("t1", "Quero"),
            ),
            (
                "the older list response",
                wa::Message {
                    list_response_message: MessageField::some(wa::message::ListResponseMessage {
                        title: Some("Suporte".into()),
                        description: Some("Falar com o suporte".into()),
                        single_select_reply: MessageField::some(
                            wa::message::list_response_message::SingleSelectReply { selected_row_id: Some("1".into()) },
                        ),
                        ..Default::default()
                    }),
                    ..Default::default()
                },
                row("1", "Suporte", "Falar com o suporte"),
            ),
            ("a text", wa::Message { conversation: Some("oi".into()), ..Default::default() }, None),
        ];
        for (case, message, expected) in cases {
            assert_eq!(answer(&message), expected, "{case}");
        }
    }
}
