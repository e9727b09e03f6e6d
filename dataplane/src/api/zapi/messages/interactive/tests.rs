//! Every interactive route, table-driven: Z-API's own example bodies (the HAR files of
//! ENDPOINTS.md rows 44–65, and the seed's) read into the expected content; each invalid
//! field is refused naming its path; the combinations the seed forbids are refused.

use serde_json::{json, Value};

use super::*;
use crate::api::zapi::routes::find;
use crate::media::Digest;
use crate::queue::content::interactive::*;

use InteractiveRoute as R;

/// A 1×1 PNG and its SHA-256.
const PNG_BASE64: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR4nGP4z8AAAAMBAQDJ/pLvAAAAAElFTkSuQmCC";
const PNG_SHA256: &str = "b1ff9c8ea3a780bad09b346c423d2d0e46815926879b18e841d928376a946640";
/// A PDF's first bytes.
const PDF_BASE64: &str = "JVBERi0xLjQKJXRlc3QK";

async fn parse_with(media: &Arc<Media>, route: InteractiveRoute, body: &Value) -> Result<Interactive, String> {
    let Value::Object(o) = body else { panic!("not an object: {body}") };
    let uploads = Uploads { media };
    parse(route, o, &uploads).await.map_err(|e| match e {
        ZapiError::Invalid { message, .. } => message,
        other => format!("{other:?}"),
    })
}

async fn parse_body(route: InteractiveRoute, body: &Value) -> Result<Interactive, String> {
    parse_with(&Media::temporary(), route, body).await
}

/// `base` with the value at JSON pointer `at` replaced (`Some`) or removed (`None`).
fn with(base: &Value, at: &str, value: Option<Value>) -> Value {
    let mut v = base.clone();
    let (parent, key) = at.rsplit_once('/').unwrap();
    let parent = v.pointer_mut(parent).unwrap_or_else(|| panic!("no {parent} in {base}"));
    match (parent, value) {
        (Value::Object(o), Some(x)) => {
            o.insert(key.to_owned(), x);
        }
        (Value::Object(o), None) => {
            o.remove(key);
        }
        (Value::Array(a), Some(x)) => {
            let i: usize = key.parse().unwrap();
            if i == a.len() {
                a.push(x);
            } else {
                a[i] = x;
            }
        }
        (Value::Array(a), None) => {
            a.remove(key.parse::<usize>().unwrap());
        }
        (other, _) => panic!("{at}: {other} is not a container"),
    }
    v
}

fn button_actions() -> Value {
    json!({"phone": "554499999999","message": "uma mensagem","title": "se quiser vincular um titulo","footer": "se quiser vincular um rodape top","buttonActions": [{"id": "1","type": "CALL","phone": "+554498398733","label": "Fale conosco"},{"id": "2","type": "URL","url": "https://z-api.io","label": "Visite nosso site"}]})
}

fn button_list() -> Value {
    json!({"phone": "5511999998888", "message": "*Z-API* é Bom ?","buttonList": { "buttons": [ { "id": "1", "label": "Ótimo" }, { "id": "2", "label": "Excelênte" } ] }})
}

fn option_list() -> Value {
    json!({"phone": "5511999998888", "message": "Selecione e melhor opção:","optionList": { "title": "Opções disponíveis", "buttonLabel": "Abrir lista de opções", "options": [ { "id": "1", "description": "Z-API Asas para sua imaginação", "title": "Z-API" }, { "id": "2", "description": "Não funcionam", "title": "Outros" } ] }})
}

fn carousel_body() -> Value {
    let image = "https://firebasestorage.googleapis.com/v0/b/zaap-messenger-web.appspot.com/o/logo.png?alt=media";
    let card = json!({"text":"Texto do cartão","image": image,"buttons":[{"id":"1","label":"Nome do botão","url":"https://z-api.io","type":"URL"},{"id":"2","label":"Nome do botão","type":"REPLY"}]});
    json!({"phone":"551199999999","message":"Texto da mensagem","carousel":[card.clone(), card]})
}

fn poll_body() -> Value {
    json!({"phone": "5511999998888", "message": "Qual a melhor API para WhatsApp?", "poll": [ {  "name": "Z-API" }, { "name": "Outros" } ] })
}

fn order_body() -> Value {
    json!({"phone": "554499999999","order": {"currency": "BRL","products": [{"name": "Order name","value": 150,"quantity": 1}]}})
}

fn full_order_body() -> Value {
    json!({
        "phone": "554499999999",
        "order": {"currency": "BRL", "discount": 10, "tax": 10, "shipping": 5,
                  "products": [{"productId": "23940797548900636", "name": "Product Name", "value": 10, "quantity": 2}]},
        "paymentSettings": {"pix": {"key": "PIX Key", "keyType": "randomKey", "name": "Key name"}, "card": {"enabled": true}}
    })
}

fn order_update(payment: &str) -> Value {
    json!({"phone": "554498161272","messageId": "3EB0F91BBA791BB0A787FC","referenceId": "4N8FCTW1WM6","orderRequestId": "4N8FCTW22W4","orderStatus": "processing","paymentStatus": payment,"order": {"currency": "BRL","discount": 10,"tax": 10,"shipping": 5,"products": [{"value": 150,"quantity": 2,"name": "order 1","isCustomItem": true,"productId": "custom-item-4N8FCTW23N7"},{"productId": "23940797548900636","value": 150,"quantity": 2,"name": "order 2","isCustomItem": false}]}})
}

fn event_body() -> Value {
    json!({"phone": "5511999998888", "event": { "name": "Example event", "description": "Example description", "dateTime": "2024-04-29T08:30:53.309Z", "location": { "name": "Location name" }, "callLinkType": "voice", "canceled": false } })
}

fn edit_event_body() -> Value {
    json!({"phone": "5511999998888", "eventMessageId": "3EB05669C7C3B9B27A6595", "event": { "name": "Example event", "description": "Example description", "dateTime": "2024-04-29T08:30:53.309Z", "location": { "name": "Location name" }, "canceled": false } })
}

fn event_response_body() -> Value {
    json!({"phone": "5511999998888", "eventMessageId": "3EB05669C7C3B9B27A6595", "eventResponse": "GOING" })
}

fn example_event(call_link_type: Option<CallLinkType>) -> Event {
    Event {
        name: "Example event".into(),
        description: Some("Example description".into()),
        date_time: "2024-04-29T08:30:53.309Z".into(),
        time_zone: None,
        location: Some(EventLocation { name: "Location name".into() }),
        call_link_type,
        canceled: false,
    }
}

fn example_order(update: bool) -> Order {
    let product = |id: &str, name: &str, custom: bool| OrderProduct {
        product_id: Some(id.into()),
        name: name.into(),
        value: 150.0,
        quantity: 2,
        is_custom_item: update.then_some(custom),
    };
    Order {
        currency: "BRL".into(),
        products: vec![
            product("custom-item-4N8FCTW23N7", "order 1", true),
            product("23940797548900636", "order 2", false),
        ],
        discount: Some(10.0),
        tax: Some(10.0),
        shipping: Some(5.0),
    }
}

fn example_update(payment_status: PaymentStatus) -> OrderUpdate {
    OrderUpdate {
        order_message_id: "3EB0F91BBA791BB0A787FC".into(),
        reference_id: "4N8FCTW1WM6".into(),
        order_request_id: "4N8FCTW22W4".into(),
        order_status: OrderStatus::Processing,
        payment_status,
        order: example_order(true),
        message: None,
    }
}

#[tokio::test]
async fn z_api_example_bodies_read_into_the_content_they_describe() {
    let url = |u: &str| MediaSource::Url { url: u.into() };
    let logo = "https://firebasestorage.googleapis.com/v0/b/zaap-messenger-web.appspot.com/o/logo.png?alt=media";
    let card_buttons = vec![
        ActionButton::Url { id: Some("1".into()), label: "Nome do botão".into(), url: "https://z-api.io".into() },
        ActionButton::Reply { id: Some("2".into()), label: "Nome do botão".into() },
    ];
    let reply_buttons = vec![
        ReplyButton { id: Some("1".into()), label: "Ótimo".into() },
        ReplyButton { id: Some("2".into()), label: "Excelênte".into() },
    ];
    let cases: Vec<(InteractiveRoute, Value, Interactive)> = vec![
        (
            R::ButtonActions,
            button_actions(),
            Interactive::ButtonActions {
                message: "uma mensagem".into(),
                title: Some("se quiser vincular um titulo".into()),
                footer: Some("se quiser vincular um rodape top".into()),
                buttons: vec![
                    ActionButton::Call {
                        id: Some("1".into()),
                        label: "Fale conosco".into(),
                        phone: "554498398733".into(),
                    },
                    ActionButton::Url {
                        id: Some("2".into()),
                        label: "Visite nosso site".into(),
                        url: "https://z-api.io".into(),
                    },
                ],
            },
        ),
        (
            R::ButtonActions,
            json!({"phone":"551199999999","message":"a message","buttonActions":[{"id":"3","type":"REPLY","label":"Talk to attendant"}]}),
            Interactive::ButtonActions {
                message: "a message".into(),
                title: None,
                footer: None,
                buttons: vec![ActionButton::Reply { id: Some("3".into()), label: "Talk to attendant".into() }],
            },
        ),
        (
            R::ButtonList,
            button_list(),
            Interactive::ButtonList { message: "*Z-API* é Bom ?".into(), media: None, buttons: reply_buttons.clone() },
        ),
        (
            R::ButtonList,
            with(
                &button_list(),
                "/buttonList/image",
                Some(json!("https://avatars.githubusercontent.com/u/60630101?s=280&v=4")),
            ),
            Interactive::ButtonList {
                message: "*Z-API* é Bom ?".into(),
                media: Some(ButtonMedia {
                    kind: MediaKind::Image,
                    source: url("https://avatars.githubusercontent.com/u/60630101?s=280&v=4"),
                }),
                buttons: reply_buttons.clone(),
            },
        ),
        (
            R::ButtonList,
            with(&button_list(), "/buttonList/video", Some(json!("http://127.0.0.1:9/video.mp4"))),
            Interactive::ButtonList {
                message: "*Z-API* é Bom ?".into(),
                media: Some(ButtonMedia { kind: MediaKind::Video, source: url("http://127.0.0.1:9/video.mp4") }),
                buttons: reply_buttons,
            },
        ),
        (
            R::OptionList,
            option_list(),
            Interactive::OptionList {
                message: "Selecione e melhor opção:".into(),
                title: "Opções disponíveis".into(),
                button_label: "Abrir lista de opções".into(),
                options: vec![
                    ListOption {
                        id: Some("1".into()),
                        title: "Z-API".into(),
                        description: "Z-API Asas para sua imaginação".into(),
                    },
                    ListOption { id: Some("2".into()), title: "Outros".into(), description: "Não funcionam".into() },
                ],
            },
        ),
        (
            R::ButtonOtp,
            json!({"phone": "554499999999","message": "Message","code": "123"}),
            Interactive::ButtonOtp {
                message: "Message".into(),
                code: "123".into(),
                image: None,
                button_text: "Copy code".into(),
            },
        ),
        (
            R::ButtonOtp,
            json!({"phone":"551199999999","message":"Message text","code":"Value to be copied","image":"https://x.test/i.png","buttonText":"Button Text"}),
            Interactive::ButtonOtp {
                message: "Message text".into(),
                code: "Value to be copied".into(),
                image: Some(url("https://x.test/i.png")),
                button_text: "Button Text".into(),
            },
        ),
        (
            R::ButtonPix,
            json!({"phone": "554499999999","pixKey": "pix key","type": "EVP"}),
            Interactive::ButtonPix {
                pix_key: "pix key".into(),
                key_type: PixKeyType::Evp,
                merchant_name: "Pix".into(),
            },
        ),
        (
            R::ButtonPix,
            json!({"phone": "554499999999","pixKey": "a@b.test","type": "email","merchantName": "Loja"}),
            Interactive::ButtonPix {
                pix_key: "a@b.test".into(),
                key_type: PixKeyType::Email,
                merchant_name: "Loja".into(),
            },
        ),
        (
            R::Carousel,
            carousel_body(),
            Interactive::Carousel {
                message: "Texto da mensagem".into(),
                cards: vec![
                    CarouselCard { text: "Texto do cartão".into(), image: url(logo), buttons: card_buttons.clone() },
                    CarouselCard { text: "Texto do cartão".into(), image: url(logo), buttons: card_buttons },
                ],
            },
        ),
        (
            R::Carousel,
            json!({"phone":"551199999999","message":"Message text","carousel":[{"text":"Card text","image":logo},{"text":"Card text","image":logo}]}),
            Interactive::Carousel {
                message: "Message text".into(),
                cards: vec![
                    CarouselCard { text: "Card text".into(), image: url(logo), buttons: vec![] },
                    CarouselCard { text: "Card text".into(), image: url(logo), buttons: vec![] },
                ],
            },
        ),
        (
            R::Poll,
            poll_body(),
            Interactive::Poll {
                message: "Qual a melhor API para WhatsApp?".into(),
                options: vec!["Z-API".into(), "Outros".into()],
                max_options: None,
            },
        ),
        (
            R::Poll,
            with(&poll_body(), "/pollMaxOptions", Some(json!(1))),
            Interactive::Poll {
                message: "Qual a melhor API para WhatsApp?".into(),
                options: vec!["Z-API".into(), "Outros".into()],
                max_options: Some(1),
            },
        ),
        (
            R::PollVote,
            json!({"phone": "5511999998888", "pollMessageId": "id da mensagem de enquete", "pollVote": [ {  "name": "Z-API" } ] }),
            Interactive::PollVote { poll_message_id: "id da mensagem de enquete".into(), votes: vec!["Z-API".into()] },
        ),
        (
            R::Order,
            order_body(),
            Interactive::Order {
                order: Order {
                    currency: "BRL".into(),
                    products: vec![OrderProduct {
                        product_id: None,
                        name: "Order name".into(),
                        value: 150.0,
                        quantity: 1,
                        is_custom_item: None,
                    }],
                    discount: None,
                    tax: None,
                    shipping: None,
                },
                payment: None,
            },
        ),
        (
            R::Order,
            full_order_body(),
            Interactive::Order {
                order: Order {
                    currency: "BRL".into(),
                    products: vec![OrderProduct {
                        product_id: Some("23940797548900636".into()),
                        name: "Product Name".into(),
                        value: 10.0,
                        quantity: 2,
                        is_custom_item: None,
                    }],
                    discount: Some(10.0),
                    tax: Some(10.0),
                    shipping: Some(5.0),
                },
                payment: Some(Box::new(PaymentSettings {
                    pix: Some(PixPayment {
                        key: "PIX Key".into(),
                        key_type: PaymentKeyType::RandomKey,
                        name: "Key name".into(),
                    }),
                    card: Some(CardPayment { enabled: true }),
                })),
            },
        ),
        (
            R::OrderStatusUpdate,
            order_update("pending"),
            Interactive::OrderStatusUpdate(Box::new(example_update(PaymentStatus::Pending))),
        ),
        (
            R::OrderPaymentUpdate,
            order_update("paid"),
            Interactive::OrderPaymentUpdate(Box::new(example_update(PaymentStatus::Paid))),
        ),
        (
            R::OrderStatusUpdate,
            with(&order_update("pending"), "/message", Some(json!("Order update text message"))),
            Interactive::OrderStatusUpdate(Box::new(OrderUpdate {
                message: Some("Order update text message".into()),
                ..example_update(PaymentStatus::Pending)
            })),
        ),
        (R::Event, event_body(), Interactive::Event { event: example_event(Some(CallLinkType::Voice)) }),
        (
            R::Event,
            json!({"phone": "120363019502650977-group", "event": {"name": "n", "dateTime": "2024-04-29T09:30:53", "canceled": true}}),
            Interactive::Event {
                event: Event {
                    name: "n".into(),
                    description: None,
                    date_time: "2024-04-29T09:30:53".into(),
                    time_zone: None,
                    location: None,
                    call_link_type: None,
                    canceled: true,
                },
            },
        ),
        (
            R::Event,
            json!({"phone": "120363019502650977-group", "event": {"name": "n", "dateTime": "2024-04-29T09:30:53.309Z",
                "timeZone": "UTC-3", "canceled": false}}),
            Interactive::Event {
                event: Event {
                    name: "n".into(),
                    description: None,
                    date_time: "2024-04-29T09:30:53.309Z".into(),
                    time_zone: Some("UTC-3".into()),
                    location: None,
                    call_link_type: None,
                    canceled: false,
                },
            },
        ),
        (
            R::EditEvent,
            edit_event_body(),
            Interactive::EditEvent { event_message_id: "3EB05669C7C3B9B27A6595".into(), event: example_event(None) },
        ),
        (
            R::EventResponse,
            event_response_body(),
            Interactive::EventResponse {
                event_message_id: "3EB05669C7C3B9B27A6595".into(),
                response: EventAnswer::Going,
            },
        ),
        (
            R::EventResponse,
            with(&event_response_body(), "/eventResponse", Some(json!("not_going"))),
            Interactive::EventResponse {
                event_message_id: "3EB05669C7C3B9B27A6595".into(),
                response: EventAnswer::NotGoing,
            },
        ),
        (
            R::Product,
            json!({"phone": "5511999998888", "catalogPhone": "5511999998888", "productId": "7190654897637620"}),
            Interactive::Product { catalog_phone: "5511999998888".into(), product_id: "7190654897637620".into() },
        ),
        (
            R::Catalog,
            json!({"phone": "5511999998888", "catalogPhone": "5511999998888"}),
            Interactive::Catalog {
                catalog_phone: "5511999998888".into(),
                translation: None,
                message: None,
                title: None,
                description: None,
            },
        ),
        (
            R::Catalog,
            json!({"phone":"5511999999999","catalogPhone":"5511999999999","translation":"PT","message":"Access this link to view our catalog on Whatsapp:","title":"See the product catalog on Whatsapp.","catalogDescription":"Learn more about this company's products and services."}),
            Interactive::Catalog {
                catalog_phone: "5511999999999".into(),
                translation: Some(CatalogLanguage::Pt),
                message: Some("Access this link to view our catalog on Whatsapp:".into()),
                title: Some("See the product catalog on Whatsapp.".into()),
                description: Some("Learn more about this company's products and services.".into()),
            },
        ),
    ];
    for (route, body, want) in cases {
        let got = parse_body(route, &body).await.unwrap_or_else(|e| panic!("{route:?} {body}: {e}"));
        assert_eq!(got, want, "{route:?} {body}");
        let back: Interactive = serde_json::from_value(serde_json::to_value(&got).unwrap()).unwrap();
        assert_eq!(back, got, "{route:?} reads back from the queue");
    }
}

#[tokio::test]
async fn each_invalid_field_is_refused_by_its_full_path() {
    let three = |b: Value| json!([b.clone(), b.clone(), b]);
    let reply = json!({"type": "REPLY", "label": "ok"});
    let big = |n: usize, item: Value| {
        Value::Array(
            (0..n)
                .map(|i| {
                    let mut x = item.clone();
                    x["id"] = json!(i.to_string());
                    x
                })
                .collect(),
        )
    };
    let many_names = |n: usize| Value::Array((0..n).map(|i| json!({"name": format!("option {i}")})).collect());
    let cases: Vec<(InteractiveRoute, Value, &str)> = vec![
        // send-button-actions
        (R::ButtonActions, with(&button_actions(), "/message", None), "message is required"),
        (R::ButtonActions, with(&button_actions(), "/message", Some(json!("  "))), "message must not be empty"),
        (R::ButtonActions, with(&button_actions(), "/title", Some(json!(5))), "title must be a string"),
        (
            R::ButtonActions,
            with(&button_actions(), "/footer", Some(json!("x".repeat(201)))),
            "footer is longer than 200 characters",
        ),
        (R::ButtonActions, with(&button_actions(), "/buttonActions", None), "buttonActions is required"),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions", Some(json!([]))),
            "buttonActions must have from 1 to 3 items, not 0",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions", Some(big(4, reply.clone()))),
            "buttonActions must have from 1 to 3 items, not 4",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions", Some(json!({"type": "REPLY"}))),
            "buttonActions must be an array of objects",
        ),
        (R::ButtonActions, with(&button_actions(), "/buttonActions/0/type", None), "buttonActions[0].type is required"),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/0/type", Some(json!("SMS"))),
            "buttonActions[0].type must be one of CALL, URL, REPLY",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/1/label", None),
            "buttonActions[1].label is required",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/1/label", Some(json!("x".repeat(61)))),
            "buttonActions[1].label is longer than 60 characters",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/0/phone", None),
            "buttonActions[0].phone is required",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/0/phone", Some(json!("call me"))),
            "buttonActions[0].phone must be a phone number",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/0/url", Some(json!("https://x.test"))),
            "buttonActions[0].url is only for URL buttons, not CALL",
        ),
        (R::ButtonActions, with(&button_actions(), "/buttonActions/1/url", None), "buttonActions[1].url is required"),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/1/url", Some(json!("ftp://z-api.io"))),
            "buttonActions[1].url must be an http(s) URL",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/1/phone", Some(json!("5511999999999"))),
            "buttonActions[1].phone is only for CALL buttons, not URL",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/1/id", Some(json!("1"))),
            "buttonActions[1].id repeats \"1\"",
        ),
        (
            R::ButtonActions,
            with(&button_actions(), "/buttonActions/1/id", Some(json!(["1"]))),
            "buttonActions[1].id must be a string",
        ),
        // send-button-list
        (R::ButtonList, with(&button_list(), "/message", Some(json!(""))), "message must not be empty"),
        (R::ButtonList, with(&button_list(), "/buttonList", None), "buttonList is required"),
        (R::ButtonList, with(&button_list(), "/buttonList", Some(json!([]))), "buttonList must be an object"),
        (R::ButtonList, with(&button_list(), "/buttonList/buttons", None), "buttonList.buttons is required"),
        (
            R::ButtonList,
            with(&button_list(), "/buttonList/buttons", Some(json!([]))),
            "buttonList.buttons must have from 1 to 3 items",
        ),
        (
            R::ButtonList,
            with(&button_list(), "/buttonList/buttons", Some(big(4, json!({"label": "x"})))),
            "buttonList.buttons must have from 1 to 3 items, not 4",
        ),
        (
            R::ButtonList,
            with(&button_list(), "/buttonList/buttons/0/label", None),
            "buttonList.buttons[0].label is required",
        ),
        (
            R::ButtonList,
            with(&button_list(), "/buttonList/buttons/1/id", Some(json!("1"))),
            "buttonList.buttons[1].id repeats",
        ),
        (
            R::ButtonList,
            with(&button_list(), "/buttonList/image", Some(json!("ftp://x.test/a.png"))),
            "buttonList.image must be an http(s) URL or base64",
        ),
        (R::ButtonList, with(&button_list(), "/buttonList/video", Some(json!(7))), "buttonList.video must be a string"),
        (
            R::ButtonList,
            with(&button_list(), "/buttonList/image", Some(json!(format!("data:application/pdf;base64,{PDF_BASE64}")))),
            "buttonList.image: ",
        ),
        // send-option-list
        (R::OptionList, with(&option_list(), "/message", None), "message is required"),
        (R::OptionList, with(&option_list(), "/optionList", None), "optionList is required"),
        (R::OptionList, with(&option_list(), "/optionList/title", None), "optionList.title is required"),
        (R::OptionList, with(&option_list(), "/optionList/buttonLabel", None), "optionList.buttonLabel is required"),
        (
            R::OptionList,
            with(&option_list(), "/optionList/options", Some(json!([]))),
            "optionList.options must have from 1 to 10 items",
        ),
        (
            R::OptionList,
            with(&option_list(), "/optionList/options", Some(big(11, json!({"title": "t", "description": "d"})))),
            "optionList.options must have from 1 to 10 items, not 11",
        ),
        (
            R::OptionList,
            with(&option_list(), "/optionList/options/1/description", None),
            "optionList.options[1].description is required",
        ),
        (
            R::OptionList,
            with(&option_list(), "/optionList/options/0/title", Some(json!(""))),
            "optionList.options[0].title must not be empty",
        ),
        (
            R::OptionList,
            with(&option_list(), "/optionList/options/1/id", Some(json!(1))),
            "optionList.options[1].id repeats",
        ),
        // send-button-otp
        (R::ButtonOtp, json!({"phone": "554499999999", "code": "1"}), "message is required"),
        (R::ButtonOtp, json!({"phone": "554499999999", "message": "m"}), "code is required"),
        (
            R::ButtonOtp,
            json!({"phone": "554499999999", "message": "m", "code": "1", "buttonText": 5}),
            "buttonText must be a string",
        ),
        (R::ButtonOtp, json!({"phone": "554499999999", "message": "m", "code": "1", "image": "Image URL"}), "image: "),
        // send-button-pix
        (R::ButtonPix, json!({"phone": "554499999999", "type": "EVP"}), "pixKey is required"),
        (R::ButtonPix, json!({"phone": "554499999999", "pixKey": "k"}), "type is required"),
        (
            R::ButtonPix,
            json!({"phone": "554499999999", "pixKey": "k", "type": "IBAN"}),
            "type must be one of CPF, CNPJ, PHONE, EMAIL, EVP",
        ),
        (
            R::ButtonPix,
            json!({"phone": "554499999999", "pixKey": "k", "type": "EVP", "merchantName": false}),
            "merchantName must be a string",
        ),
        // send-carousel
        (R::Carousel, with(&carousel_body(), "/message", None), "message is required"),
        (R::Carousel, with(&carousel_body(), "/carousel", None), "carousel is required"),
        (
            R::Carousel,
            with(&carousel_body(), "/carousel", Some(json!([]))),
            "carousel must have from 1 to 10 items, not 0",
        ),
        (
            R::Carousel,
            with(&carousel_body(), "/carousel", Some(big(11, json!({"text": "t", "image": "https://x.test/i.png"})))),
            "carousel must have from 1 to 10 items, not 11",
        ),
        (R::Carousel, with(&carousel_body(), "/carousel/1", Some(json!("card"))), "carousel[1] must be an object"),
        (R::Carousel, with(&carousel_body(), "/carousel/0/text", None), "carousel[0].text is required"),
        (R::Carousel, with(&carousel_body(), "/carousel/1/image", None), "carousel[1].image is required"),
        (
            R::Carousel,
            with(&carousel_body(), "/carousel/1/image", Some(json!("file:///etc/passwd"))),
            "carousel[1].image must be an http(s) URL or base64",
        ),
        (
            R::Carousel,
            with(&carousel_body(), "/carousel/1/buttons/0/label", None),
            "carousel[1].buttons[0].label is required",
        ),
        (
            R::Carousel,
            with(&carousel_body(), "/carousel/0/buttons/1/type", Some(json!("X"))),
            "carousel[0].buttons[1].type must be one of CALL, URL, REPLY",
        ),
        (
            R::Carousel,
            with(&carousel_body(), "/carousel/0/buttons/0/url", None),
            "carousel[0].buttons[0].url is required",
        ),
        (
            R::Carousel,
            with(&carousel_body(), "/carousel/1/buttons", Some(big(4, reply.clone()))),
            "carousel[1].buttons must have from 0 to 3 items, not 4",
        ),
        (
            R::Carousel,
            with(
                &carousel_body(),
                "/carousel/1/buttons",
                Some(three(json!({"id": "x", "type": "REPLY", "label": "ok"}))),
            ),
            "carousel[1].buttons[1].id repeats \"x\"",
        ),
        // send-poll
        (R::Poll, with(&poll_body(), "/message", None), "message is required"),
        (
            R::Poll,
            with(&poll_body(), "/message", Some(json!("?".repeat(256)))),
            "message is longer than 255 characters",
        ),
        (R::Poll, with(&poll_body(), "/poll", None), "poll is required"),
        (R::Poll, with(&poll_body(), "/poll", Some(many_names(1))), "poll must have from 2 to 12 items, not 1"),
        (R::Poll, with(&poll_body(), "/poll", Some(many_names(13))), "poll must have from 2 to 12 items, not 13"),
        (R::Poll, with(&poll_body(), "/poll/1/name", Some(json!("z-api"))), "poll[1].name repeats \"z-api\""),
        (R::Poll, with(&poll_body(), "/poll/0/name", None), "poll[0].name is required"),
        (R::Poll, with(&poll_body(), "/poll/0", Some(json!("Z-API"))), "poll[0] must be an object"),
        (
            R::Poll,
            with(&poll_body(), "/pollMaxOptions", Some(json!(3))),
            "pollMaxOptions must be a whole number from 1 to 2",
        ),
        (
            R::Poll,
            with(&poll_body(), "/pollMaxOptions", Some(json!(0))),
            "pollMaxOptions must be a whole number from 1 to 2",
        ),
        // send-poll-vote
        (R::PollVote, json!({"phone": "5511999998888", "pollVote": [{"name": "a"}]}), "pollMessageId is required"),
        (R::PollVote, json!({"phone": "5511999998888", "pollMessageId": "P"}), "pollVote is required"),
        (
            R::PollVote,
            json!({"phone": "5511999998888", "pollMessageId": "P", "pollVote": []}),
            "pollVote must have from 1 to 12 items, not 0",
        ),
        (
            R::PollVote,
            json!({"phone": "5511999998888", "pollMessageId": "P", "pollVote": [{"name": ""}]}),
            "pollVote[0].name must not be empty",
        ),
        (
            R::PollVote,
            json!({"phone": "5511999998888", "pollMessageId": "P", "pollVote": [{"name": "a"}, {"name": "a"}]}),
            "pollVote[1].name repeats",
        ),
        // send-order
        (R::Order, with(&order_body(), "/order", None), "order is required"),
        (R::Order, with(&order_body(), "/order/currency", None), "order.currency is required"),
        (
            R::Order,
            with(&order_body(), "/order/currency", Some(json!("R$"))),
            "order.currency must be a 3-letter ISO 4217 currency code",
        ),
        (
            R::Order,
            with(&order_body(), "/order/products", Some(json!([]))),
            "order.products must have from 1 to 100 items, not 0",
        ),
        (R::Order, with(&order_body(), "/order/products/0/name", None), "order.products[0].name is required"),
        (R::Order, with(&order_body(), "/order/products/0/value", None), "order.products[0].value is required"),
        (
            R::Order,
            with(&order_body(), "/order/products/0/value", Some(json!(-1))),
            "order.products[0].value must be a number from 0",
        ),
        (
            R::Order,
            with(&order_body(), "/order/products/0/value", Some(json!("ten"))),
            "order.products[0].value must be a number from 0",
        ),
        (
            R::Order,
            with(&order_body(), "/order/products/0/quantity", Some(json!(0))),
            "order.products[0].quantity must be a whole number from 1 to 1000000",
        ),
        (
            R::Order,
            with(&order_body(), "/order/products/0/quantity", Some(json!(1.5))),
            "order.products[0].quantity must be a whole number",
        ),
        (
            R::Order,
            with(&order_body(), "/order/discount", Some(json!(151))),
            "order.discount (151) is more than the products cost (150)",
        ),
        (R::Order, with(&order_body(), "/order/tax", Some(json!(true))), "order.tax must be a number"),
        (
            R::Order,
            with(
                &full_order_body(),
                "/paymentSettings/pix/keyType",
                Some(json!("Key type (cpf | cnpj | phone | email | randomKey)")),
            ),
            "paymentSettings.pix.keyType must be one of cpf, cnpj, phone, email, randomKey",
        ),
        (R::Order, with(&full_order_body(), "/paymentSettings/pix/key", None), "paymentSettings.pix.key is required"),
        (R::Order, with(&full_order_body(), "/paymentSettings/pix/name", None), "paymentSettings.pix.name is required"),
        (
            R::Order,
            with(&full_order_body(), "/paymentSettings/card/enabled", Some(json!("yes"))),
            "paymentSettings.card.enabled must be true or false",
        ),
        (
            R::Order,
            with(&full_order_body(), "/paymentSettings", Some(json!("pix"))),
            "paymentSettings must be an object",
        ),
        // order-status-update, order-payment-update
        (R::OrderStatusUpdate, with(&order_update("pending"), "/messageId", None), "messageId is required"),
        (R::OrderStatusUpdate, with(&order_update("pending"), "/referenceId", None), "referenceId is required"),
        (R::OrderPaymentUpdate, with(&order_update("paid"), "/orderRequestId", None), "orderRequestId is required"),
        (
            R::OrderStatusUpdate,
            with(&order_update("pending"), "/orderStatus", Some(json!("lost"))),
            "orderStatus must be one of pending, processing, shipped, completed, canceled",
        ),
        (R::OrderPaymentUpdate, with(&order_update("paid"), "/orderStatus", None), "orderStatus is required"),
        (
            R::OrderPaymentUpdate,
            with(&order_update("refunded"), "/phone", Some(json!("554498161272"))),
            "paymentStatus must be one of pending, paid",
        ),
        (R::OrderStatusUpdate, with(&order_update("pending"), "/paymentStatus", None), "paymentStatus is required"),
        (R::OrderStatusUpdate, with(&order_update("pending"), "/order", None), "order is required"),
        (
            R::OrderStatusUpdate,
            with(&order_update("pending"), "/order/products/0/productId", None),
            "order.products[0].productId is required",
        ),
        (
            R::OrderPaymentUpdate,
            with(&order_update("paid"), "/order/products/1/isCustomItem", None),
            "order.products[1].isCustomItem is required",
        ),
        (R::OrderStatusUpdate, with(&order_update("pending"), "/message", Some(json!({}))), "message must be a string"),
        // send-event, send-edit-event, send-event-response
        (R::Event, with(&event_body(), "/event", None), "event is required"),
        (R::Event, with(&event_body(), "/event/name", None), "event.name is required"),
        (R::Event, with(&event_body(), "/event/dateTime", None), "event.dateTime is required"),
        (
            R::Event,
            with(&event_body(), "/event/dateTime", Some(json!("tomorrow at 9"))),
            "event.dateTime must be an ISO 8601 date and time",
        ),
        (
            R::Event,
            with(&event_body(), "/event/dateTime", Some(json!("2024-02-30T10:00:00Z"))),
            "event.dateTime must be an ISO 8601 date and time",
        ),
        (
            R::Event,
            with(&event_body(), "/event/callLinkType", Some(json!("voice | video"))),
            "event.callLinkType must be one of voice, video",
        ),
        (
            R::Event,
            with(&event_body(), "/event/timeZone", Some(json!("America/Sao_Paulo"))),
            "event.timeZone must be an offset from UTC",
        ),
        (R::Event, with(&event_body(), "/event/timeZone", Some(json!(-3))), "event.timeZone must be a string"),
        (R::Event, with(&event_body(), "/event/canceled", None), "event.canceled is required"),
        (R::Event, with(&event_body(), "/event/canceled", Some(json!("no"))), "event.canceled must be true or false"),
        (
            R::Event,
            with(&event_body(), "/event/location", Some(json!("Name of place"))),
            "event.location must be an object",
        ),
        (R::Event, with(&event_body(), "/event/location/name", None), "event.location.name is required"),
        (R::Event, with(&event_body(), "/event/description", Some(json!(1))), "event.description must be a string"),
        (R::EditEvent, with(&edit_event_body(), "/eventMessageId", None), "eventMessageId is required"),
        (R::EditEvent, with(&edit_event_body(), "/event/name", Some(json!(""))), "event.name must not be empty"),
        (
            R::EventResponse,
            with(&event_response_body(), "/eventResponse", Some(json!("MAYBE"))),
            "eventResponse must be one of GOING, NOT_GOING",
        ),
        (R::EventResponse, with(&event_response_body(), "/eventResponse", None), "eventResponse is required"),
        (R::EventResponse, with(&event_response_body(), "/eventMessageId", None), "eventMessageId is required"),
        // send-product, send-catalog
        (R::Product, json!({"phone": "5511999998888", "productId": "1"}), "catalogPhone is required"),
        (
            R::Product,
            json!({"phone": "5511999998888", "catalogPhone": "shop", "productId": "1"}),
            "catalogPhone must be a phone number",
        ),
        (R::Product, json!({"phone": "5511999998888", "catalogPhone": "5511999998888"}), "productId is required"),
        (R::Catalog, json!({"phone": "5511999998888"}), "catalogPhone is required"),
        (
            R::Catalog,
            json!({"phone": "5511999998888", "catalogPhone": "5511999998888", "translation": "ES"}),
            "translation must be one of EN, PT",
        ),
        (
            R::Catalog,
            json!({"phone": "5511999998888", "catalogPhone": "5511999998888", "title": 1}),
            "title must be a string",
        ),
        (
            R::Catalog,
            json!({"phone": "5511999998888", "catalogPhone": "5511999998888", "catalogDescription": []}),
            "catalogDescription must be a string",
        ),
    ];
    for (route, body, want) in cases {
        match parse_body(route, &body).await {
            Ok(got) => panic!("{route:?} accepted {body}: {got:?}"),
            Err(e) => assert!(e.contains(want), "{route:?} {body}\n  said: {e}\n  want: {want}"),
        }
    }
}

#[tokio::test]
async fn reply_buttons_never_go_with_call_or_url_buttons_in_one_message() {
    let reply = json!({"id": "3", "type": "REPLY", "label": "Talk to attendant"});
    let all_three = with(&button_actions(), "/buttonActions/2", Some(reply.clone()));
    let e = parse_body(R::ButtonActions, &all_three).await.unwrap_err();
    assert!(e.contains("buttonActions[2].type REPLY cannot be sent with CALL buttons (buttonActions[0])"), "{e}");
    let url_and_reply =
        with(&with(&button_actions(), "/buttonActions/0", None), "/buttonActions/1", Some(reply.clone()));
    assert!(parse_body(R::ButtonActions, &url_and_reply).await.unwrap_err().contains("REPLY cannot be sent with URL"));
    // CALL with URL, and REPLY buttons alone, are what the seed recommends.
    assert!(parse_body(R::ButtonActions, &button_actions()).await.is_ok());
    let replies = with(&button_actions(), "/buttonActions", Some(json!([reply, {"type": "reply", "label": "No"}])));
    assert!(parse_body(R::ButtonActions, &replies).await.is_ok());
    // An empty string in a field of another button type says nothing and is not refused.
    let blank = with(&button_actions(), "/buttonActions/1/phone", Some(json!("")));
    assert!(parse_body(R::ButtonActions, &blank).await.is_ok());
}

#[tokio::test]
async fn a_button_list_shows_an_image_or_a_video_never_both() {
    let both = with(
        &with(&button_list(), "/buttonList/image", Some(json!("https://x.test/a.png"))),
        "/buttonList/video",
        Some(json!("https://x.test/a.mp4")),
    );
    let e = parse_body(R::ButtonList, &both).await.unwrap_err();
    assert!(e.contains("buttonList.image and buttonList.video cannot be sent together"), "{e}");
}

#[tokio::test]
async fn base64_images_are_stored_and_named_by_the_content_only_once_every_field_passed() {
    let media = Media::temporary();
    let png = format!("data:image/png;base64,{PNG_BASE64}");
    let body = with(&button_list(), "/buttonList/image", Some(json!(png)));
    let got = parse_with(&media, R::ButtonList, &body).await.unwrap();
    let digest = Digest::parse_hex(PNG_SHA256).unwrap();
    assert_eq!(got.stored_media(), vec![digest]);
    let Interactive::ButtonList { media: Some(ButtonMedia { source: MediaSource::Stored(s), .. }), .. } = &got else {
        panic!("{got:?}")
    };
    assert_eq!((s.mime.as_str(), s.digest), ("image/png", digest));
    assert!(media.store.contains(&digest));

    // OTP images and carousel cards (bare base64 too) are stored the same way.
    let otp = json!({"phone": "5511999998888", "message": "m", "code": "1", "image": PNG_BASE64});
    assert_eq!(parse_with(&media, R::ButtonOtp, &otp).await.unwrap().stored_media(), vec![digest]);
    let cards = with(&carousel_body(), "/carousel/1/image", Some(json!(png)));
    assert_eq!(parse_with(&media, R::Carousel, &cards).await.unwrap().stored_media(), vec![digest]);

    // A refused request stores nothing: the card's image is not written when a later card
    // is invalid.
    let fresh = Media::temporary();
    let refused = with(&with(&carousel_body(), "/carousel/0/image", Some(json!(png))), "/carousel/1/text", None);
    assert!(parse_with(&fresh, R::Carousel, &refused).await.unwrap_err().contains("carousel[1].text is required"));
    assert!(!fresh.store.contains(&digest));
    let refused =
        with(&with(&button_list(), "/buttonList/image", Some(json!(png))), "/buttonList/buttons/0/label", None);
    assert!(parse_with(&fresh, R::ButtonList, &refused).await.is_err());
    assert!(!fresh.store.contains(&digest));
}

#[test]
fn order_updates_keep_their_message_id_from_the_reply_option() {
    let Value::Object(o) = order_update("paid") else { unreachable!() };
    let reply_to = |route| {
        let phone = chatedge_config::Phone::parse("5511999998888").unwrap();
        let mut m = OutboundMessage::new(chatedge_config::InstanceId::generate(), phone, Content::text(""));
        read_envelope(route, &o, &mut m).unwrap();
        m.reply_to
    };
    assert_eq!(reply_to(R::OrderPaymentUpdate), None);
    assert_eq!(reply_to(R::OrderStatusUpdate), None);
    assert!(reply_to(R::Poll).is_some(), "a reply elsewhere");
}

#[test]
fn every_seed_route_is_mapped_with_post_and_nothing_else() {
    for name in [
        "send-button-actions",
        "send-button-list",
        "send-option-list",
        "send-button-otp",
        "send-button-pix",
        "send-carousel",
        "send-poll",
        "send-poll-vote",
        "send-order",
        "order-status-update",
        "order-payment-update",
        "send-event",
        "send-edit-event",
        "send-event-response",
        "send-product",
        "send-catalog",
    ] {
        let (r, _) = find(ROUTES, &[name]).unwrap_or_else(|| panic!("{name} is not routed"));
        assert_eq!(r.label, format!("zapi.{name}"));
        assert_eq!(r.methods, "POST");
    }
    assert!(find(ROUTES, &["send-poll", "x"]).is_none());
    assert!(find(ROUTES, &["send-text"]).is_none());
}
