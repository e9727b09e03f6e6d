//! Business and catalog routes (seed 001, lines 9548–9850 and 10194–11100): products, the
//! catalog's cart setting, collections, and the business profile (description, e-mail,
//! address, websites, opening hours, categories). Lists are paged with `nextCursor` as the
//! seed describes. Deleting or changing a product or collection that does not exist answers
//! `{"success": false}`; profile changes answer 201 `{"success": true}` as the seed shows.
//! From Z-API's documentation after seed 001: `GET business/profile?phone=`, the business
//! profile another number (or the instance's own) shows — any instance may ask; a number that
//! is not a business is a 404.
//! Bodies are read in [`read`]; this module maps routes to calls and renders replies.

mod read;

use chatedge_serve::Resp;
use hyper::{Method, StatusCode};
use serde_json::{json, Value};

use super::{ask, ok};
use crate::api::zapi::fields;
use crate::api::zapi::routes::{Params, Route};
use crate::api::zapi::{Call, ZapiError};
use crate::network::account::business::{Call as Net, HoursMode, ListedCategory, Product, PublicProfile, Reply};
use crate::network::account::AccountError;

#[derive(Debug, Clone, Copy)]
pub enum Op {
    SaveProduct,
    OwnCatalog,
    Catalog,
    /// GET reads, DELETE deletes.
    Product,
    DeleteProduct,
    CatalogConfig,
    /// GET lists, POST creates.
    Collections,
    DeleteCollection,
    EditCollection,
    CollectionProducts,
    /// Add (`true`) or remove products.
    ChangeCollection(bool),
    Description,
    Email,
    Address,
    Websites,
    Hours,
    AvailableCategories,
    Categories,
    PublicProfile,
}

/// More specific paths first: a pattern matches whatever the method.
pub static ROUTES: &[Route<Op>] = &[
    Route { path: "products", methods: "POST", label: "zapi.products", op: Op::SaveProduct },
    Route { path: "products/{productId}", methods: "GET, DELETE", label: "zapi.product", op: Op::Product },
    Route { path: "product/{productId}", methods: "DELETE", label: "zapi.product-delete", op: Op::DeleteProduct },
    Route { path: "catalogs", methods: "GET, POST", label: "zapi.catalogs", op: Op::OwnCatalog },
    Route { path: "catalogs/config", methods: "POST", label: "zapi.catalogs-config", op: Op::CatalogConfig },
    Route { path: "catalogs/collection", methods: "GET, POST", label: "zapi.collections", op: Op::Collections },
    Route {
        path: "catalogs/collection/add-product",
        methods: "POST",
        label: "zapi.collection-add-product",
        op: Op::ChangeCollection(true),
    },
    Route {
        path: "catalogs/collection/remove-product",
        methods: "POST",
        label: "zapi.collection-remove-product",
        op: Op::ChangeCollection(false),
    },
    Route {
        path: "catalogs/collection/{collectionId}",
        methods: "DELETE",
        label: "zapi.collection-delete",
        op: Op::DeleteCollection,
    },
    Route {
        path: "catalogs/collection-edit/{collectionId}",
        methods: "POST",
        label: "zapi.collection-edit",
        op: Op::EditCollection,
    },
    Route {
        path: "catalogs/collection-products/{phone}",
        methods: "GET",
        label: "zapi.collection-products",
        op: Op::CollectionProducts,
    },
    Route { path: "catalogs/{phone}", methods: "GET, POST", label: "zapi.catalogs-phone", op: Op::Catalog },
    Route {
        path: "business/company-description",
        methods: "POST",
        label: "zapi.business-description",
        op: Op::Description,
    },
    Route { path: "business/company-email", methods: "POST", label: "zapi.business-email", op: Op::Email },
    Route { path: "business/company-address", methods: "POST", label: "zapi.business-address", op: Op::Address },
    Route { path: "business/company-websites", methods: "POST", label: "zapi.business-websites", op: Op::Websites },
    Route { path: "business/hours", methods: "POST", label: "zapi.business-hours", op: Op::Hours },
    Route {
        path: "business/available-categories",
        methods: "GET",
        label: "zapi.business-available-categories",
        op: Op::AvailableCategories,
    },
    Route { path: "business/categories", methods: "POST", label: "zapi.business-categories", op: Op::Categories },
    Route { path: "business/profile", methods: "GET", label: "zapi.business-profile", op: Op::PublicProfile },
];

pub async fn handle(call: &Call<'_>, method: &Method, op: Op, params: &Params) -> Result<Resp, ZapiError> {
    let q = call.query.as_deref();
    let cursor = || read::cursor(fields::query(q, "nextCursor"));
    let body = || fields::object(&call.body);
    match op {
        Op::SaveProduct => match ask(call, Net::SaveProduct(read::product(&body()?)?)).await? {
            Reply::ProductId(id) => ok(&json!({"id": id})),
            _ => Err(unexpected()),
        },
        Op::OwnCatalog | Op::Catalog => {
            let owner = match op {
                Op::Catalog => Some(fields::phone_value(&json!(params.get(0)), "phone")?),
                _ => None,
            };
            // Z-API's "V2" (2026-03): POST with the cursor in the body, as long cursors made
            // URLs too long; GET with it in the query as seed 001 has it.
            let cursor = match *method == Method::POST {
                true => read::cursor(posted_cursor(&call.body)?)?,
                false => cursor()?,
            };
            let Reply::Products { cart_enabled, products, next_cursor } =
                ask(call, Net::Catalog { owner, cursor }).await?
            else {
                return Err(unexpected());
            };
            let products: Vec<Value> = products.iter().map(listed).collect();
            let mut v = json!({"cartEnabled": cart_enabled, "products": products});
            if matches!(op, Op::Catalog) || next_cursor.is_some() {
                v["nextCursor"] = json!(next_cursor);
            }
            ok(&v)
        }
        Op::Product if method == Method::GET => {
            let id = read::id(params.get(0), "productId")?;
            let Reply::Product { cart_enabled, catalog_id, product } = ask(call, Net::Product(id)).await? else {
                return Err(unexpected());
            };
            let mut p = listed(&product);
            if let Value::Object(o) = &mut p {
                o.remove("quantity");
            }
            ok(&json!({"cartEnabled": cart_enabled, "catalogId": catalog_id, "product": p}))
        }
        Op::Product | Op::DeleteProduct => {
            let id = read::id(params.get(0), "productId")?;
            success(ask(call, Net::DeleteProduct(id)).await, StatusCode::OK)
        }
        Op::CatalogConfig => {
            let on = fields::boolean(&body()?, "cartEnabled")?;
            success(ask(call, Net::SetCartEnabled(on)).await, StatusCode::OK)
        }
        Op::Collections if method == Method::POST => {
            let (name, product_ids) = read::new_collection(&body()?)?;
            match ask(call, Net::CreateCollection { name, product_ids }).await? {
                Reply::CollectionId(id) => ok(&json!({"collectionId": id})),
                _ => Err(unexpected()),
            }
        }
        Op::Collections => {
            let Reply::Collections { collections, next_cursor } =
                ask(call, Net::Collections { cursor: cursor()? }).await?
            else {
                return Err(unexpected());
            };
            let list: Vec<Value> =
                collections.iter().map(|c| json!({"id": c.id, "name": c.name, "status": c.status})).collect();
            ok(&json!({"nextCursor": next_cursor, "collections": list}))
        }
        Op::DeleteCollection => {
            let id = read::id(params.get(0), "collectionId")?;
            success(ask(call, Net::DeleteCollection(id)).await, StatusCode::OK)
        }
        Op::EditCollection => {
            let id = read::id(params.get(0), "collectionId")?;
            let name = read::collection_name(&body()?)?;
            collection_id(ask(call, Net::RenameCollection { id, name }).await)
        }
        Op::CollectionProducts => {
            let owner = fields::phone_value(&json!(params.get(0)), "phone")?;
            let id = fields::query(q, "collectionId")
                .ok_or_else(|| ZapiError::invalid("Invalid field", "collectionId is required"))?;
            let id = read::id(&id, "collectionId")?;
            let Reply::Products { products, next_cursor, .. } =
                ask(call, Net::CollectionProducts { owner, id, cursor: cursor()? }).await?
            else {
                return Err(unexpected());
            };
            let products: Vec<Value> = products.iter().map(in_collection).collect();
            ok(&json!({"nextCursor": next_cursor, "products": products}))
        }
        Op::ChangeCollection(add) => {
            let (id, product_ids) = read::collection_change(&body()?)?;
            collection_id(ask(call, Net::ChangeCollection { id, product_ids, add }).await)
        }
        Op::Description => profile(call, Net::SetDescription(read::description(&body()?)?)).await,
        Op::Email => profile(call, Net::SetEmail(read::email(&body()?)?)).await,
        Op::Address => profile(call, Net::SetAddress(read::address(&body()?)?)).await,
        Op::Websites => profile(call, Net::SetWebsites(read::websites(&body()?)?)).await,
        Op::Hours => profile(call, Net::SetHours(read::hours(&body()?)?)).await,
        Op::Categories => profile(call, Net::SetCategories(read::categories(&body()?)?)).await,
        Op::PublicProfile => {
            let phone = fields::query(q, "phone").ok_or_else(|| ZapiError::invalid("Invalid field", "phone is required"))?;
            let Reply::Profile(profile) = ask(call, Net::Profile(fields::phone_value(&json!(phone), "phone")?)).await?
            else {
                return Err(unexpected());
            };
            ok(&public_profile(&profile))
        }
        Op::AvailableCategories => {
            let query = fields::query(q, "query").map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
            let query = query.map(|s| s.chars().take(read::MAX_QUERY_CHARS).collect());
            let Reply::Categories(found) = ask(call, Net::Categories { query }).await? else {
                return Err(unexpected());
            };
            ok(&found.iter().map(|c| category(&ListedCategory::from(c))).collect::<Vec<_>>())
        }
    }
}

/// Longer than any cursor this server gives; what is not one of them is refused by
/// [`read::cursor`] with its own message.
const MAX_POSTED_CURSOR_CHARS: usize = 4096;

/// `nextCursor` of a `POST catalogs` body; an empty body asks for the first page.
fn posted_cursor(body: &bytes::Bytes) -> Result<Option<String>, ZapiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    fields::text(&fields::object(body)?, "nextCursor", MAX_POSTED_CURSOR_CHARS, false)
}

/// A product as catalog lists show it (seed 001 line 9640): prices as strings.
fn listed(p: &Product) -> Value {
    let d = &p.draft;
    json!({
        "availability": "in stock", "id": p.id, "retailerId": d.retailer_id, "description": d.description,
        "price": d.price.to_string(), "salePrice": d.sale_price.map(|s| s.to_string()), "currency": d.currency,
        "name": d.name, "quantity": null, "images": d.images,
    })
}

/// A product as a collection's list shows it (seed 001 line 10500).
fn in_collection(p: &Product) -> Value {
    let d = &p.draft;
    json!({
        "id": p.id, "name": d.name, "description": d.description, "url": d.url, "price": d.price.to_string(),
        "currency": d.currency, "isHidden": d.is_hidden, "availability": "in stock", "retailerId": d.retailer_id,
        "images": d.images, "quantity": null,
    })
}

/// A business profile as Z-API's documentation shows it (2026): `businessHours` is `null`
/// when the business set none, and its `mode` `specificHours` unless it said otherwise.
fn public_profile(p: &PublicProfile) -> Value {
    let hours = p.hours.as_ref().map(|h| {
        json!({"timezone": h.timezone, "days": h.days, "mode": h.mode.unwrap_or(HoursMode::SpecificHours)})
    });
    json!({
        "description": p.description, "address": p.address, "email": p.email, "websites": p.websites,
        "categories": p.categories.iter().map(category).collect::<Vec<_>>(), "businessHours": hours,
        "hasCoverPhoto": p.has_cover_photo,
    })
}

fn category(c: &ListedCategory) -> Value {
    let mut v = json!({"displayName": c.display_name, "id": c.id});
    if let Some(label) = &c.label {
        v["label"] = json!(label);
    }
    v
}

/// `{"success": true}` with `status`, or `{"success": false}` when the thing does not exist.
fn success(r: Result<Reply, ZapiError>, status: StatusCode) -> Result<Resp, ZapiError> {
    match r {
        Ok(_) => Ok(chatedge_serve::json(status, &json!({"success": true}))),
        Err(ZapiError::Account(AccountError::NotFound(_))) => ok(&json!({"success": false})),
        Err(e) => Err(e),
    }
}

/// `{"success": true, "collectionId"}` (the collection's id after the change).
fn collection_id(r: Result<Reply, ZapiError>) -> Result<Resp, ZapiError> {
    match r {
        Ok(Reply::CollectionId(id)) => ok(&json!({"success": true, "collectionId": id})),
        Ok(_) => Err(unexpected()),
        Err(ZapiError::Account(AccountError::NotFound(_))) => ok(&json!({"success": false})),
        Err(e) => Err(e),
    }
}

/// A business profile change: 201 `{"success": true}` (seed 001 line 10690).
async fn profile(call: &Call<'_>, net: Net) -> Result<Resp, ZapiError> {
    let r = ask(call, net).await?;
    success(Ok(r), StatusCode::CREATED)
}

fn unexpected() -> ZapiError {
    ZapiError::Account(AccountError::Unavailable("unexpected reply".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::account::business::{Hours, OpenInterval, Weekday, CATEGORIES};

    #[test]
    fn a_business_profile_has_the_shape_z_apis_documentation_shows() {
        let monday = OpenInterval { day_of_week: Weekday::Monday, open_time: "08:00".into(), close_time: "18:00".into() };
        let mut p = PublicProfile {
            description: "Z API - Asas para sua imaginação".into(),
            address: "Maringá".into(),
            email: "zapi@example.com".into(),
            websites: vec!["https://www.z-api.io".into()],
            categories: vec![ListedCategory::from(&CATEGORIES[0])],
            hours: Some(Hours { timezone: "America/Sao_Paulo".into(), mode: None, days: vec![monday] }),
            has_cover_photo: false,
        };
        assert_eq!(
            public_profile(&p),
            json!({"description": "Z API - Asas para sua imaginação", "address": "Maringá", "email": "zapi@example.com",
                "websites": ["https://www.z-api.io"],
                "categories": [{"displayName": "Other Companies", "label": "OTHER_COMPANIES", "id": "629412378414563"}],
                "businessHours": {"timezone": "America/Sao_Paulo", "mode": "specificHours",
                    "days": [{"dayOfWeek": "MONDAY", "openTime": "08:00", "closeTime": "18:00"}]},
                "hasCoverPhoto": false})
        );
        p.hours = None;
        assert_eq!(public_profile(&p)["businessHours"], Value::Null);
    }
}
