//! Business and catalog routes (seed 001, rows 119–138, and the HAR's `DELETE /product/{id}`)
//! against the real binary, on a WhatsApp Business instance: products get ids the network
//! mints and are listed, read, updated by retailer id and deleted; collections are made of
//! them, listed, renamed, changed (which gives them a new id, as WhatsApp does) and deleted;
//! the business profile keeps what is set. Everything survives a restart. A normal instance is
//! refused; bad fields get a 400 naming them. Any instance reads the business profile another
//! number shows (`business/profile?phone=`, from Z-API's documentation after seed 001).

use crate::common;

use common::*;
use serde_json::{json, Value};

const ME: &str = "5511999990001";

async fn call(p: &Paired, method: &str, route: &str, body: Value) -> (u16, Value) {
    let url = p.ce.instance_url(&p.inst, route);
    match method {
        "GET" => p.http.get(&url, None).await,
        "DELETE" => p.http.delete(&url).await,
        _ => p.http.post(&url, None, &body).await,
    }
}

async fn ok(p: &Paired, method: &str, route: &str, body: Value) -> Value {
    let (status, v) = call(p, method, route, body).await;
    assert_eq!(status, 200, "{method} {route}: {v}");
    v
}

fn product(name: &str, retailer: &str, price: u64) -> Value {
    json!({"currency": "BRL", "description": format!("{name} description"), "images": [format!("https://x.test/{retailer}.png")],
        "isHidden": false, "name": name, "price": price, "salePrice": price - 1, "retailerId": retailer, "url": "https://z-api.io"})
}

async fn save(p: &Paired, body: Value) -> String {
    ok(p, "POST", "products", body).await["id"].as_str().expect("a product id").to_owned()
}

fn names(products: &Value) -> Vec<String> {
    let mut n: Vec<String> =
        products.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap().to_owned()).collect();
    n.sort();
    n
}

async fn collection_names(p: &Paired, id: &str) -> Vec<String> {
    let v = ok(p, "GET", &format!("catalogs/collection-products/{ME}?collectionId={id}"), json!(null)).await;
    assert_eq!(v["nextCursor"], Value::Null);
    names(&v["products"])
}

#[tokio::test]
async fn a_catalog_grows_into_collections_and_survives_a_restart() {
    let mut p = paired_business(FAST).await;
    let mouse = save(&p, product("Mouse", "001", 100_000)).await;
    // Z-API's own example body: prices and flags as strings, one image, integrationId.
    let har = json!({"currency": "BRL", "description": "Uma descricao do produto*",
        "images": "https://avatars.githubusercontent.com/u/60630101?s=200&v=4", "isHidden": "false",
        "name": "Meu primeiro produto", "price": "20", "integrationId": "002", "url": "https://z-api.io"});
    let first = save(&p, har).await;
    let keyboard = save(&p, product("Keyboard", "003", 5_000)).await;
    assert!(mouse.len() >= 15 && mouse.bytes().all(|b| b.is_ascii_digit()), "{mouse}");
    assert_eq!(save(&p, product("Mouse Pro", "001", 120_000)).await, mouse, "a known retailerId updates");

    let catalog = ok(&p, "GET", "catalogs", json!(null)).await;
    assert_eq!(catalog["cartEnabled"], true);
    assert_eq!(names(&catalog["products"]), ["Keyboard", "Meu primeiro produto", "Mouse Pro"]);
    let listed = catalog["products"].as_array().unwrap().iter().find(|x| x["id"] == mouse.as_str()).unwrap().clone();
    assert_eq!(listed["price"], "120000");
    assert_eq!(listed["salePrice"], "119999");
    assert_eq!(listed["retailerId"], "001");
    assert_eq!(ok(&p, "GET", &format!("catalogs/{ME}"), json!(null)).await["products"], catalog["products"]);
    let other = ok(&p, "GET", "catalogs/5544999999999", json!(null)).await;
    assert_eq!((other["products"].clone(), other["nextCursor"].clone()), (json!([]), Value::Null));

    let one = ok(&p, "GET", &format!("products/{first}"), json!(null)).await;
    assert_eq!(one["product"]["name"], "Meu primeiro produto");
    assert_eq!(one["product"]["price"], "20");
    let catalog_id = one["catalogId"].as_str().unwrap().to_owned();
    assert!(!catalog_id.is_empty());
    assert_eq!(ok(&p, "POST", "catalogs/config", json!({"cartEnabled": false})).await, json!({"success": true}));
    assert_eq!(ok(&p, "GET", "catalogs", json!(null)).await["cartEnabled"], false);

    let created =
        ok(&p, "POST", "catalogs/collection", json!({"name": "Peripherals", "productIds": [mouse, keyboard]})).await;
    let col = created["collectionId"].as_str().unwrap().to_owned();
    assert_eq!(collection_names(&p, &col).await, ["Keyboard", "Mouse Pro"]);
    let added =
        ok(&p, "POST", "catalogs/collection/add-product", json!({"collectionId": col, "productIds": [first]})).await;
    assert_eq!(added["success"], true);
    let col2 = added["collectionId"].as_str().unwrap().to_owned();
    assert_ne!(col2, col, "WhatsApp gives a changed collection a new id");
    let (_, stale) =
        call(&p, "POST", "catalogs/collection/add-product", json!({"collectionId": col, "productIds": [first]})).await;
    assert_eq!(stale, json!({"success": false}), "the old id no longer works");
    let removed =
        ok(&p, "POST", "catalogs/collection/remove-product", json!({"collectionId": col2, "productIds": [keyboard]}))
            .await;
    let col3 = removed["collectionId"].as_str().unwrap().to_owned();
    assert_eq!(collection_names(&p, &col3).await, ["Meu primeiro produto", "Mouse Pro"]);
    let renamed = ok(&p, "POST", &format!("catalogs/collection-edit/{col3}"), json!({"name": "Best sellers"})).await;
    assert_eq!(renamed, json!({"success": true, "collectionId": col3}));
    let list = ok(&p, "GET", "catalogs/collection", json!(null)).await;
    assert_eq!(list["nextCursor"], Value::Null);
    assert_eq!(list["collections"].as_array().unwrap().len(), 1);
    assert_eq!(list["collections"][0]["name"], "Best sellers");
    assert!(["PENDING", "APPROVED"].contains(&list["collections"][0]["status"].as_str().unwrap()));

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let after = ok(&p, "GET", "catalogs", json!(null)).await;
    assert_eq!(names(&after["products"]), ["Keyboard", "Meu primeiro produto", "Mouse Pro"], "kept across a restart");
    assert_eq!(after["cartEnabled"], false);
    assert_eq!(ok(&p, "GET", &format!("products/{first}"), json!(null)).await["catalogId"], catalog_id.as_str());
    assert_eq!(collection_names(&p, &col3).await, ["Meu primeiro produto", "Mouse Pro"]);

    // Z-API's HAR deletes at /product/{id}; the seed at /products/{id}: both work.
    assert_eq!(ok(&p, "DELETE", &format!("product/{first}"), json!(null)).await, json!({"success": true}));
    assert_eq!(ok(&p, "DELETE", &format!("products/{first}"), json!(null)).await, json!({"success": false}));
    assert_eq!(collection_names(&p, &col3).await, ["Mouse Pro"], "a deleted product leaves its collections");
    let (status, _) = call(&p, "GET", &format!("products/{first}"), json!(null)).await;
    assert_eq!(status, 404);
    assert_eq!(ok(&p, "DELETE", &format!("catalogs/collection/{col3}"), json!(null)).await, json!({"success": true}));
    assert_eq!(ok(&p, "GET", "catalogs/collection", json!(null)).await["collections"], json!([]));
}

#[tokio::test]
async fn catalogs_are_paged_by_next_cursor() {
    let p = paired_business(FAST).await;
    for i in 0..25u64 {
        save(&p, product(&format!("p{i:02}"), &format!("r{i}"), 100 + i)).await;
    }
    let first = ok(&p, "GET", &format!("catalogs/{ME}"), json!(null)).await;
    let cursor = first["nextCursor"].as_str().expect("a next page").to_owned();
    let second = ok(&p, "GET", &format!("catalogs/{ME}?nextCursor={cursor}"), json!(null)).await;
    assert_eq!(second["nextCursor"], Value::Null);
    let mut all = names(&first["products"]);
    all.extend(names(&second["products"]));
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 25, "every product once, over two pages");

    // Z-API's "V2" (2026-03): POST, the cursor in the body; the same pages.
    for route in ["catalogs".to_owned(), format!("catalogs/{ME}")] {
        let (status, v) = p.http.raw(hyper::Method::POST, &p.ce.instance_url(&p.inst, &route), None, &[], vec![]).await;
        assert_eq!((status, &v["products"]), (200, &first["products"]), "{route} with an empty body: {v}");
        let posted = ok(&p, "POST", &route, json!({"nextCursor": cursor})).await;
        assert_eq!(posted["products"], second["products"], "{route}");
        assert_eq!(posted["nextCursor"], Value::Null);
    }
}

#[tokio::test]
async fn the_business_profile_keeps_what_is_set_across_a_restart() {
    let mut p = paired_business(FAST).await;
    let changes = [
        ("business/company-description", json!({"value": "Text description"})),
        ("business/company-email", json!({"value": "email@example.com"})),
        ("business/company-address", json!({"value": "Company address"})),
        ("business/company-websites", json!({"websites": ["https://example.com", "https://example2.org"]})),
        (
            "business/hours",
            json!({"timezone": "America/Sao_Paulo", "mode": "specificHours", "days": [
                {"dayOfWeek": "MONDAY", "openTime": "08:00", "closeTime": "12:00"},
                {"dayOfWeek": "MONDAY", "openTime": "14:00", "closeTime": "18:00"}]}),
        ),
        ("business/categories", json!({"categories": ["RESTAURANT", "629412378414563"]})),
    ];
    for (route, body) in &changes {
        let (status, v) = call(&p, "POST", route, body.clone()).await;
        assert_eq!((status, v), (201, json!({"success": true})), "{route}");
    }
    let found = ok(&p, "GET", "business/available-categories?query=auto", json!(null)).await;
    assert!(found.as_array().unwrap().iter().any(|c| c["displayName"] == "Automotive Service"), "{found}");
    assert!(found.as_array().unwrap().iter().all(|c| c["displayName"]
        .as_str()
        .unwrap()
        .to_lowercase()
        .contains("auto")));

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let (status, profile) = p
        .http
        .post(&format!("{}/sim/business-profile", p.ce.dp), Some(&p.ce.admin_token), &json!({"instanceId": p.inst.id}))
        .await;
    assert_eq!(status, 200, "{profile}");
    assert_eq!(profile["description"], "Text description");
    assert_eq!(profile["email"], "email@example.com");
    assert_eq!(profile["address"], "Company address");
    assert_eq!(profile["websites"], json!(["https://example.com", "https://example2.org"]));
    assert_eq!(profile["hours"]["timezone"], "America/Sao_Paulo");
    assert_eq!(profile["hours"]["days"].as_array().unwrap().len(), 2);
    let labels: Vec<&str> =
        profile["categories"].as_array().unwrap().iter().map(|c| c["id"].as_str().unwrap()).collect();
    assert_eq!(labels, ["273819889462351", "629412378414563"]);

    let (status, _) = call(&p, "POST", "business/company-email", json!({"value": ""})).await;
    assert_eq!(status, 201, "an empty value removes it");
    let (_, profile) = p
        .http
        .post(&format!("{}/sim/business-profile", p.ce.dp), Some(&p.ce.admin_token), &json!({"instanceId": p.inst.id}))
        .await;
    assert_eq!(profile["email"], "");
}

#[tokio::test]
async fn business_routes_need_a_business_account_and_name_bad_fields() {
    let p = paired(FAST).await;
    for (method, route, body) in [
        ("GET", "catalogs", json!(null)),
        ("POST", "products", product("Mouse", "001", 10)),
        ("POST", "business/company-description", json!({"value": "x"})),
    ] {
        let (status, v) = call(&p, method, route, body).await;
        assert_eq!(status, 400, "{route}: {v}");
        assert_eq!(v["error"], "Business account required", "{route}");
    }

    let p = paired_business(FAST).await;
    let cases: &[(&str, &str, Value, &str)] = &[
        (
            "POST",
            "products",
            json!({"currency": "BRL", "images": ["https://x.test/a.png"], "price": 1}),
            "name is required",
        ),
        (
            "POST",
            "products",
            json!({"name": "x", "currency": "BRL", "images": ["https://x.test/a.png"], "price": "cheap"}),
            "price must be",
        ),
        ("POST", "products", json!({"name": "x", "currency": "BRL", "price": 1}), "images is required"),
        ("GET", "products/abc", json!(null), "productId must be"),
        ("POST", "catalogs/config", json!({}), "cartEnabled is required"),
        ("GET", "catalogs/collection?nextCursor=CURSOR_VALUE", json!(null), "nextCursor must be"),
        ("POST", "catalogs", json!({"nextCursor": "eyJwbHVnaW5fbmFtZSI6"}), "nextCursor must be"),
        ("POST", "catalogs", json!({"nextCursor": 7}), "nextCursor must be"),
        ("POST", "catalogs/collection", json!({"name": "x"}), "productIds is required"),
        ("GET", &format!("catalogs/collection-products/{ME}"), json!(null), "collectionId is required"),
        ("POST", "catalogs/collection/add-product", json!({"productIds": ["1"]}), "collectionId is required"),
        ("POST", "business/company-email", json!({"value": "not an email"}), "value must be an e-mail"),
        (
            "POST",
            "business/company-websites",
            json!({"websites": ["https://a.b", "https://c.d", "https://e.f"]}),
            "websites must have",
        ),
        ("POST", "business/hours", json!({"days": []}), "timezone is required"),
        ("POST", "business/categories", json!({"categories": []}), "categories must have"),
    ];
    for (method, route, body, want) in cases {
        let (status, v) = call(&p, method, route, body.clone()).await;
        assert_eq!(status, 400, "{route} {body}: {v}");
        assert!(v["message"].as_str().unwrap_or("").contains(want), "{route} {body}: {v}");
    }
    let (status, v) = call(&p, "POST", "catalogs/collection", json!({"name": "x", "productIds": ["123"]})).await;
    assert_eq!(status, 404, "a collection of unknown products: {v}");
    let (status, v) = call(&p, "POST", "business/categories", json!({"categories": ["NOT_A_CATEGORY"]})).await;
    assert_eq!(status, 404, "{v}");
    assert_eq!(ok(&p, "GET", "catalogs", json!(null)).await["products"], json!([]), "nothing was made");
}

#[tokio::test]
async fn any_instance_reads_the_business_profile_a_number_shows_and_a_restart_keeps_it() {
    let mut p = paired(FAST).await;
    let shop = "5544988887777";
    let business = json!({"description": "Padaria do bairro", "address": "Rua A, 1", "email": "pao@example.com",
        "websites": ["https://padaria.example"], "categories": ["RESTAURANT"],
        "hours": {"timezone": "America/Sao_Paulo", "days": [{"dayOfWeek": "MONDAY", "openTime": "06:00", "closeTime": "20:00"}]}});
    let record = |body: Value| {
        let url = format!("{}/sim/contact-profile", p.ce.dp);
        let body = json!({"instanceId": p.inst.id, "phone": shop, "business": body});
        let (http, token) = (p.http.clone(), p.ce.admin_token.clone());
        async move { http.post(&url, Some(&token), &body).await }
    };
    let (status, v) = record(json!({"categories": ["NOT_A_CATEGORY"]})).await;
    assert_eq!(status, 400, "an unknown category is named: {v}");
    let (status, v) = record(business.clone()).await;
    assert_eq!(status, 200, "{v}");

    p.ce.terminate();
    p.ce = Chatedge::up(p.dir.path(), FAST);
    wait_connected(&p.http, &p.ce, &p.inst).await;
    let profile = ok(&p, "GET", &format!("business/profile?phone={shop}"), json!(null)).await;
    assert_eq!(
        profile,
        json!({"description": "Padaria do bairro", "address": "Rua A, 1", "email": "pao@example.com",
            "websites": ["https://padaria.example"],
            "categories": [{"displayName": "Restaurant", "label": "RESTAURANT", "id": "273819889462351"}],
            "businessHours": {"timezone": "America/Sao_Paulo", "mode": "specificHours",
                "days": [{"dayOfWeek": "MONDAY", "openTime": "06:00", "closeTime": "20:00"}]},
            "hasCoverPhoto": false}),
        "a normal instance reads it, and the sim kept it across a restart"
    );
    for (route, want) in [
        ("business/profile?phone=5544911112222", 404),
        (&format!("business/profile?phone={ME}"), 404),
        ("business/profile", 400),
        ("business/profile?phone=55ab", 400),
    ] {
        let (status, v) = call(&p, "GET", route, json!(null)).await;
        assert_eq!(status, want, "{route}: {v}");
    }

    let b = paired_business(FAST).await;
    call(&b, "POST", "business/company-description", json!({"value": "Our own shop"})).await;
    let own = ok(&b, "GET", &format!("business/profile?phone={ME}"), json!(null)).await;
    assert_eq!((own["description"].clone(), own["businessHours"].clone()), (json!("Our own shop"), Value::Null));
}
