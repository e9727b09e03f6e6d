//! Card routes as specifications: Z-API's own example bodies (shared/zapi-har) become the
//! expected cards, and each invalid field is refused by name.

use bytes::Bytes;
use chatedge_config::{InstanceId, Phone};
use serde_json::{json, Value};

use super::*;

fn parse_json(route: CardRoute, body: &Value) -> Result<OutboundMessage, ZapiError> {
    parse(&Bytes::from(body.to_string()), InstanceId::generate(), route)
}

fn card(route: CardRoute, body: Value) -> Card {
    match parse_json(route, &body).unwrap_or_else(|e| panic!("{body}: {e:?}")).content {
        Content::Card(c) => *c,
        other => panic!("{other:?}"),
    }
}

fn phone(s: &str) -> Phone {
    Phone::parse(s).unwrap()
}

const LINK_HAR: &str = r#"{"phone": "5511999998888","message": "Aqui você coloca um texto sobre o site, atenção esse texto preciso ter o link que será enviado no final da mensagem! Assim: https://z-api.io","image": "https://firebasestorage.googleapis.com/v0/b/zaap-messenger-web.appspot.com/o/logo.png?alt=media","linkUrl": "https://z-api.io","title": "Z-API","linkDescription": "Integração com o whatsapp"}"#;

fn har(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

#[test]
fn the_seed_examples_become_the_cards_they_describe() {
    let Card::Link { message, preview, link_type } = card(CardRoute::Link, har(LINK_HAR)) else { panic!() };
    assert!(message.ends_with("https://z-api.io"));
    assert_eq!(preview.url, "https://z-api.io");
    assert_eq!(preview.title.as_deref(), Some("Z-API"));
    assert_eq!(preview.description.as_deref(), Some("Integração com o whatsapp"));
    assert!(preview.image.unwrap().starts_with("https://firebasestorage"));
    assert_eq!(link_type, LinkType::Small);
    let mut large = har(LINK_HAR);
    large["linkType"] = json!("LARGE");
    let Card::Link { link_type, .. } = card(CardRoute::Link, large) else { panic!() };
    assert_eq!(link_type, LinkType::Large);

    let location = har(
        r#"{"phone": "5511999998888","title": "Google Brasil","address": "Av. Brg. Faria Lima, 3477 - Itaim Bibi, São Paulo - SP, 04538-133","latitude": "-23.0696347","longitude": "-50.4357913"}"#,
    );
    assert_eq!(
        card(CardRoute::Location, location),
        Card::Location {
            latitude: -23.0696347,
            longitude: -50.4357913,
            title: "Google Brasil".into(),
            address: "Av. Brg. Faria Lima, 3477 - Itaim Bibi, São Paulo - SP, 04538-133".into(),
        }
    );

    let contact = har(
        r#"{"phone": "5511999998888", "contactName": "Nome do contato", "contactPhone": "5511999999999", "contactBusinessDescription": "Breve descricao do contato"}"#,
    );
    assert_eq!(
        card(CardRoute::Contact, contact),
        Card::Contact(ContactCard {
            name: "Nome do contato".into(),
            phones: vec![phone("5511999999999")],
            business_description: Some("Breve descricao do contato".into()),
        })
    );

    let contacts = har(
        r#"{"phone": "5511999998888", "contacts": [{"name": "Nome do contato" , "phones": ["5544999999999","5544999999999"], "businessDescription": "Descrição do contato"}, {"name": "B", "phones": [5544988888888]}]}"#,
    );
    let Card::Contacts { contacts } = card(CardRoute::Contacts, contacts) else { panic!() };
    assert_eq!(contacts.len(), 2);
    assert_eq!(contacts[0].phones, vec![phone("5544999999999"), phone("5544999999999")]);
    assert_eq!(contacts[0].business_description.as_deref(), Some("Descrição do contato"));
    assert_eq!(contacts[1].phones, vec![phone("5544988888888")]);

    let invite = har(
        r#"{"phone": "5511999998888", "adminInviteMessage": {"newsletterId": "120363166555745933@newsletter", "caption": "Message text"}}"#,
    );
    assert_eq!(
        card(CardRoute::NewsletterAdminInvite, invite),
        Card::NewsletterAdminInvite {
            newsletter_id: phone("120363166555745933@newsletter"),
            caption: "Message text".into()
        }
    );
}

#[test]
fn shared_options_ride_along_with_cards() {
    let mut body = json!({"phone": "+55 (11) 99999-8888", "contactName": "n", "contactPhone": "5511999999999"});
    body["messageId"] = json!("3EB0ABC");
    body["delayMessage"] = json!(4);
    let m = parse_json(CardRoute::Contact, &body).unwrap();
    assert_eq!(m.phone.as_str(), "5511999998888");
    assert_eq!(m.reply_to.as_deref(), Some("3EB0ABC"));
    assert_eq!(m.delay_message_s, Some(4));
}

/// Applies `change` (a JSON merge: null deletes) to `base`.
fn with(base: &Value, change: Value) -> Value {
    let mut v = base.clone();
    for (k, x) in change.as_object().unwrap() {
        match x {
            Value::Null => {
                v.as_object_mut().unwrap().remove(k);
            }
            x => v[k] = x.clone(),
        }
    }
    v
}

#[test]
fn each_invalid_field_is_refused_by_name() {
    let link = har(LINK_HAR);
    let location = json!({"phone":"5511999998888","title":"t","address":"a","latitude":"-23.06","longitude":"-50.43"});
    let contact = json!({"phone":"5511999998888","contactName":"n","contactPhone":"5511999999999"});
    let contacts = json!({"phone":"5511999998888","contacts":[{"name":"n","phones":["5544999999999"]}]});
    let invite = json!({"phone":"5511999998888","adminInviteMessage":{"newsletterId":"120363166555745933@newsletter","caption":"c"}});
    let too_many: Vec<Value> = (0..=MAX_CONTACTS).map(|_| json!({"name":"n","phones":["5544999999999"]})).collect();
    let cases: Vec<(CardRoute, Value, &str)> = vec![
        (CardRoute::Link, with(&link, json!({"phone": null})), "phone"),
        (CardRoute::Link, with(&link, json!({"phone": "PHONE DO CHAT"})), "phone"),
        (CardRoute::Link, with(&link, json!({"message": null})), "message"),
        (CardRoute::Link, with(&link, json!({"message": "no link here"})), "message"),
        (CardRoute::Link, with(&link, json!({"image": null})), "image"),
        (CardRoute::Link, with(&link, json!({"image": "logo.png"})), "image"),
        (CardRoute::Link, with(&link, json!({"linkUrl": null})), "linkUrl"),
        (CardRoute::Link, with(&link, json!({"linkUrl": "z-api.io"})), "linkUrl"),
        (CardRoute::Link, with(&link, json!({"title": null})), "title"),
        (CardRoute::Link, with(&link, json!({"title": 5})), "title"),
        (CardRoute::Link, with(&link, json!({"linkDescription": null})), "linkDescription"),
        (CardRoute::Link, with(&link, json!({"linkType": "HUGE"})), "linkType"),
        (CardRoute::Link, with(&link, json!({"delayTyping": 0})), "delayTyping"),
        (CardRoute::Location, with(&location, json!({"title": null})), "title"),
        (CardRoute::Location, with(&location, json!({"address": ""})), "address"),
        (CardRoute::Location, with(&location, json!({"latitude": null})), "latitude"),
        (CardRoute::Location, with(&location, json!({"latitude": "-90.1"})), "latitude"),
        (CardRoute::Location, with(&location, json!({"latitude": "north"})), "latitude"),
        (CardRoute::Location, with(&location, json!({"longitude": 180.5})), "longitude"),
        (CardRoute::Location, with(&location, json!({"longitude": [1]})), "longitude"),
        (CardRoute::Location, with(&location, json!({"messageId": 7})), "messageId"),
        (CardRoute::Contact, with(&contact, json!({"contactName": null})), "contactName"),
        (CardRoute::Contact, with(&contact, json!({"contactPhone": null})), "contactPhone"),
        (CardRoute::Contact, with(&contact, json!({"contactPhone": "call me"})), "contactPhone"),
        (CardRoute::Contact, with(&contact, json!({"contactPhone": "120363019502650977-group"})), "contactPhone"),
        (CardRoute::Contact, with(&contact, json!({"contactBusinessDescription": 1})), "contactBusinessDescription"),
        (CardRoute::Contacts, with(&contacts, json!({"contacts": null})), "contacts"),
        (CardRoute::Contacts, with(&contacts, json!({"contacts": []})), "contacts"),
        (CardRoute::Contacts, with(&contacts, json!({"contacts": too_many})), "contacts"),
        (CardRoute::Contacts, with(&contacts, json!({"contacts": ["n"]})), "contacts[0]"),
        (CardRoute::Contacts, with(&contacts, json!({"contacts": [{"phones":["5544999999999"]}]})), "contacts[0].name"),
        (CardRoute::Contacts, with(&contacts, json!({"contacts": [{"name":"n"}]})), "contacts[0].phones"),
        (CardRoute::Contacts, with(&contacts, json!({"contacts": [{"name":"n","phones":[]}]})), "contacts[0].phones"),
        (
            CardRoute::Contacts,
            with(&contacts, json!({"contacts": [{"name":"n","phones":["5544999999999","x"]}]})),
            "contacts[0].phones[1]",
        ),
        (
            CardRoute::Contacts,
            with(&contacts, json!({"contacts": [{"name":"n","phones":["5544999999999"],"businessDescription":{}}]})),
            "contacts[0].businessDescription",
        ),
        (CardRoute::NewsletterAdminInvite, with(&invite, json!({"phone": "120363019502650977-group"})), "phone"),
        (CardRoute::NewsletterAdminInvite, with(&invite, json!({"adminInviteMessage": null})), "adminInviteMessage"),
        (CardRoute::NewsletterAdminInvite, with(&invite, json!({"adminInviteMessage": "x"})), "adminInviteMessage"),
        (
            CardRoute::NewsletterAdminInvite,
            with(&invite, json!({"adminInviteMessage": {"caption":"c"}})),
            "adminInviteMessage.newsletterId",
        ),
        (
            CardRoute::NewsletterAdminInvite,
            with(&invite, json!({"adminInviteMessage": {"newsletterId":"5511999999999","caption":"c"}})),
            "adminInviteMessage.newsletterId",
        ),
        (
            CardRoute::NewsletterAdminInvite,
            with(&invite, json!({"adminInviteMessage": {"newsletterId":"120363166555745933@newsletter"}})),
            "adminInviteMessage.caption",
        ),
    ];
    for (route, body, field) in cases {
        match parse_json(route, &body) {
            Err(ZapiError::Invalid { message, .. }) => {
                let named = message.strip_prefix(field).is_some_and(|rest| rest.starts_with([' ', ':']));
                assert!(named, "{route:?} {body}: {message:?} should name {field}");
            }
            other => panic!("{route:?} {body}: expected a refusal naming {field}, got {other:?}"),
        }
    }
}
