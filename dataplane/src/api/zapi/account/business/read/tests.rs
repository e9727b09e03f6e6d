use serde_json::json;

use super::*;

fn body(v: Value) -> Object {
    v.as_object().unwrap().clone()
}

fn message(r: Result<impl std::fmt::Debug, ZapiError>) -> String {
    match r {
        Err(ZapiError::Invalid { message, .. }) => message,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn the_seed_and_har_product_bodies_both_read() {
    let seed = json!({"currency": "BRL", "description": "Uma descricao do produto",
        "images": ["https://avatars.githubusercontent.com/u/60630101?s=200&v=4"], "isHidden": false,
        "name": "Meu primeiro produto", "price": 20, "salePrice": 18, "retailerId": "002", "url": "https://z-api.io"});
    let p = product(&body(seed)).unwrap();
    assert_eq!((p.price, p.sale_price, p.retailer_id.as_deref()), (20, Some(18), Some("002")));
    let har = json!({"currency": "BRL", "description": "Uma descricao do produto*",
        "images": "https://avatars.githubusercontent.com/u/60630101?s=200&v=4", "isHidden": "false",
        "name": "Meu primeiro produto", "price": "20", "integrationId": "002", "url": "https://z-api.io"});
    let h = product(&body(har)).unwrap();
    assert_eq!((h.price, h.images.len(), h.is_hidden, h.retailer_id.as_deref()), (20, 1, false, Some("002")));
}

#[test]
fn each_bad_product_field_is_named() {
    let good = json!({"currency": "BRL", "images": ["https://x.test/a.png"], "name": "n", "price": 20});
    let cases = [
        ("name", Value::Null, "name is required"),
        ("price", Value::Null, "price is required"),
        ("price", json!(-1), "price must be"),
        ("price", json!("20.5"), "price must be"),
        ("salePrice", json!(21), "salePrice must not be above price"),
        ("currency", json!("R$"), "currency must be"),
        ("currency", json!("REAL"), "currency is longer"),
        ("images", Value::Null, "images is required"),
        ("images", json!([]), "images must have from 1"),
        ("images", json!(["ftp://x"]), "images[0] must be"),
        ("images", json!(5), "images must be"),
        ("isHidden", json!("maybe"), "isHidden must be"),
        ("url", json!("z-api.io"), "url must be"),
    ];
    for (field, value, want) in cases {
        let mut b = good.clone();
        match value {
            Value::Null => drop(b.as_object_mut().unwrap().remove(field)),
            v => b[field] = v,
        }
        let got = message(product(&body(b.clone())));
        assert!(got.contains(want), "{b}: {got}");
    }
}

#[test]
fn collection_bodies_need_their_ids() {
    let (name, ids_) =
        new_collection(&body(json!({"name": "Collection name", "productIds": ["121212121212", 232323232323u64]})))
            .unwrap();
    assert_eq!((name.as_str(), ids_.len()), ("Collection name", 2));
    let (id_, ids_) =
        collection_change(&body(json!({"collectionId": "658387616418640", "productIds": ["1"]}))).unwrap();
    assert_eq!((id_.as_str(), ids_), ("658387616418640", vec!["1".to_owned()]));
    assert!(message(new_collection(&body(json!({"name": "x"})))).contains("productIds is required"));
    assert!(message(new_collection(&body(json!({"name": "x", "productIds": ["a"]})))).contains("productIds[0]"));
    assert!(message(collection_change(&body(json!({"productIds": ["1"]})))).contains("collectionId is required"));
    assert!(
        message(collection_change(&body(json!({"collectionId": "x1", "productIds": ["1"]})))).contains("collectionId")
    );
    assert!(id("{{id-do-produto}}", "productId").is_err());
    assert_eq!(cursor(Some("4741575945866725".into())).unwrap().as_deref(), Some("4741575945866725"));
    assert_eq!(cursor(Some(String::new())).unwrap(), None);
    assert!(message(cursor(Some("CURSOR_VALUE".into()))).contains("nextCursor"));
}

#[test]
fn profile_fields_are_checked_and_may_be_emptied() {
    assert_eq!(description(&body(json!({"value": "Text description"}))).unwrap(), "Text description");
    assert_eq!(description(&body(json!({"value": ""}))).unwrap(), "");
    assert!(message(description(&body(json!({})))).contains("value is required"));
    assert!(message(description(&body(json!({"value": "x".repeat(513)})))).contains("value is longer"));
    assert_eq!(email(&body(json!({"value": "email@example.com"}))).unwrap(), "email@example.com");
    assert_eq!(email(&body(json!({"value": ""}))).unwrap(), "");
    for bad in ["email", "a@b", "@x.com", "a b@x.com", "a@.com", "a@x.com."] {
        assert!(message(email(&body(json!({"value": bad})))).contains("value must be an e-mail"), "{bad}");
    }
    let w = websites(&body(json!({"websites": ["https://example.com", "https://example2.org"]}))).unwrap();
    assert_eq!(w.len(), 2);
    assert!(websites(&body(json!({"websites": []}))).unwrap().is_empty());
    assert!(message(websites(&body(json!({"websites": ["https://a.b", "https://c.d", "https://e.f"]}))))
        .contains("websites"));
    assert!(message(websites(&body(json!({"websites": ["example.com"]})))).contains("websites[0]"));
    assert_eq!(
        categories(&body(json!({"categories": ["RESTAURANT", "FINANCE", "629412378414563"]}))).unwrap().len(),
        3
    );
    assert!(message(categories(&body(json!({"categories": []})))).contains("categories must have from 1 to 3"));
    assert!(message(categories(&body(json!({"categories": [5]})))).contains("categories[0]"));
}

#[test]
fn opening_hours_read_as_the_seed_writes_them() {
    let seed = json!({"timezone": "America/Sao_Paulo", "days": [
        {"dayOfWeek": "MONDAY", "openTime": "08:00", "closeTime": "12:00"},
        {"dayOfWeek": "MONDAY", "openTime": "14:00", "closeTime": "18:00"}], "mode": "specificHours"});
    let h = hours(&body(seed)).unwrap();
    assert_eq!((h.days.len(), h.mode), (2, Some(HoursMode::SpecificHours)));
    assert!(hours(&body(json!({"timezone": "America/Sao_Paulo", "days": []}))).unwrap().days.is_empty());
    let cases = [
        (json!({}), "timezone is required"),
        (json!({"timezone": "Sao Paulo"}), "timezone must be"),
        (json!({"timezone": "UTC", "mode": "always"}), "mode must be one of"),
        (json!({"timezone": "UTC", "days": [{"openTime": "08:00", "closeTime": "09:00"}]}), "days[0].dayOfWeek"),
        (
            json!({"timezone": "UTC", "days": [{"dayOfWeek": "MONDAY", "openTime": "8h", "closeTime": "09:00"}]}),
            "days[0].openTime",
        ),
        (
            json!({"timezone": "UTC", "days": [{"dayOfWeek": "MONDAY", "openTime": "10:00", "closeTime": "09:00"}]}),
            "days[0].closeTime must be after",
        ),
        (json!({"timezone": "UTC", "days": ["x"]}), "days[0] must be an object"),
    ];
    for (b, want) in cases {
        let got = message(hours(&body(b.clone())));
        assert!(got.contains(want), "{b}: {got}");
    }
}
