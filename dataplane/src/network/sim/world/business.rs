//! business: a WhatsApp Business account's catalog and business profile on the sim — products
//! (at most [`MAX_PRODUCTS`]), collections (at most [`MAX_COLLECTIONS`], each of at most
//! [`MAX_COLLECTION_PRODUCTS`]), the catalog's settings and the profile, each durable. The
//! network mints product, collection and catalog ids (random digits, as WhatsApp's). Like
//! WhatsApp, adding or removing products gives a collection a new id, and a collection stays
//! `PENDING` review for [`REVIEW_MS`] after each change. Lists are in id order, paged by
//! [`PAGE`] with the last id of a page as the next page's cursor. Other numbers' catalogs are
//! empty on the sim (it keeps no other businesses' catalogs); their business profiles are what
//! `/sim/contact-profile` recorded of them (`PublicProfile::business`). Every call but reading
//! a business profile is refused on a normal account.

use chatedge_config::Phone;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{Cell, Cx, Loader, Table, World};
use crate::network::account::business::{
    category_id, Call, Collection, Cursor, Hours, ListedCategory, Product, ProductDraft, PublicProfile, Reply,
    CATEGORIES,
};
use crate::network::account::AccountError;
use crate::store::StoreError;

/// WhatsApp's catalog holds at most 500 products.
pub const MAX_PRODUCTS: usize = 500;
pub const MAX_COLLECTIONS: usize = 100;
pub const MAX_COLLECTION_PRODUCTS: usize = 100;
/// Items per page of the paged lists (products, collections).
pub const PAGE: usize = 20;
/// How long a new or changed collection waits for WhatsApp's review.
pub const REVIEW_MS: u64 = 60_000;

/// Catalog settings: minted on first use.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Catalog {
    pub catalog_id: String,
    /// `None` until set: WhatsApp enables the cart by default.
    pub cart_enabled: Option<bool>,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Profile {
    pub description: String,
    pub email: String,
    pub address: String,
    pub websites: Vec<String>,
    pub hours: Option<Hours>,
    /// Category ids.
    pub categories: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CollectionRow {
    pub name: String,
    pub product_ids: Vec<String>,
    pub changed_ms: u64,
}

#[derive(Debug, Default)]
pub struct State {
    products: Table<ProductDraft>,
    collections: Table<CollectionRow>,
    catalog: Cell<Catalog>,
    profile: Cell<Profile>,
}

impl State {
    pub fn load(l: &Loader<'_>) -> Result<State, StoreError> {
        Ok(State {
            products: l.table("business.products", MAX_PRODUCTS)?,
            collections: l.table("business.collections", MAX_COLLECTIONS)?,
            catalog: l.cell("business.catalog")?,
            profile: l.cell("business.profile")?,
        })
    }

    /// The business profile as the phone shows it (`/sim/business-profile`).
    pub fn profile_json(&self) -> serde_json::Value {
        let p = self.profile.get();
        let categories: Vec<_> = p
            .categories
            .iter()
            .filter_map(|id| CATEGORIES.iter().find(|c| c.id == id))
            .map(|c| json!({"id": c.id, "label": c.label, "displayName": c.display_name}))
            .collect();
        json!({
            "description": p.description, "email": p.email, "address": p.address, "websites": p.websites,
            "hours": p.hours, "categories": categories,
            "cartEnabled": self.cart_enabled(), "products": self.products.len(), "collections": self.collections.len(),
        })
    }

    fn cart_enabled(&self) -> bool {
        self.catalog.get().cart_enabled.unwrap_or(true)
    }

    fn product(&self, id: &str) -> Result<Product, AccountError> {
        let draft = self.products.get(id).ok_or_else(|| AccountError::NotFound(format!("product {id}")))?;
        Ok(Product { id: id.to_owned(), draft: draft.clone() })
    }

    fn collection(&self, id: &str) -> Result<&CollectionRow, AccountError> {
        self.collections.get(id).ok_or_else(|| AccountError::NotFound(format!("collection {id}")))
    }

    fn all_exist(&self, ids: &[String]) -> Result<(), AccountError> {
        ids.iter().try_for_each(|id| self.product(id).map(drop))
    }
}

impl Profile {
    /// The profile as anyone sees it (categories the directory no longer lists are left out).
    pub fn public(&self) -> PublicProfile {
        PublicProfile {
            description: self.description.clone(),
            address: self.address.clone(),
            email: self.email.clone(),
            websites: self.websites.clone(),
            categories: self
                .categories
                .iter()
                .filter_map(|id| CATEGORIES.iter().find(|c| c.id == id))
                .map(ListedCategory::from)
                .collect(),
            hours: self.hours.clone(),
            // The sim's businesses have no cover photo.
            has_cover_photo: false,
        }
    }
}

pub fn apply(world: &mut World, call: Call, cx: &mut Cx) -> Result<Reply, AccountError> {
    // Anyone may look at a business's profile; everything else is the business's own.
    if !matches!(call, Call::Profile(_)) {
        cx.business_only()?;
    }
    let s = &mut world.business;
    match call {
        Call::SaveProduct(draft) => save_product(s, draft, cx),
        Call::Catalog { owner, cursor } => {
            let own = match &owner {
                Some(owner) => is_me(cx, owner)?,
                None => true,
            };
            let products: Vec<Product> = match own {
                true => s.products.iter().map(|(id, d)| Product { id: id.clone(), draft: d.clone() }).collect(),
                false => Vec::new(),
            };
            let (products, next_cursor) = page(products, cursor, |p| &p.id);
            Ok(Reply::Products { cart_enabled: own && s.cart_enabled(), products, next_cursor })
        }
        Call::Product(id) => {
            let product = s.product(&id)?;
            let catalog_id = s.catalog.get().catalog_id.clone();
            Ok(Reply::Product { cart_enabled: s.cart_enabled(), catalog_id, product })
        }
        Call::DeleteProduct(id) => {
            s.product(&id)?;
            let holding: Vec<String> =
                s.collections.iter().filter(|(_, c)| c.product_ids.contains(&id)).map(|(k, _)| k.clone()).collect();
            for c in holding {
                s.collections.update(&c, cx, |c| c.product_ids.retain(|p| *p != id));
            }
            s.products.remove(&id, cx);
            Ok(Reply::Done)
        }
        Call::SetCartEnabled(on) => {
            mint_catalog(s, cx);
            s.catalog.update(cx, |c| c.cart_enabled = Some(on));
            Ok(Reply::Done)
        }
        Call::CreateCollection { name, product_ids } => {
            s.all_exist(&product_ids)?;
            check_collection_size(product_ids.len())?;
            let id = fresh_id(15, |id| s.collections.contains(id));
            let row = CollectionRow { name, product_ids: dedup(product_ids), changed_ms: cx.now_ms };
            s.collections.insert(id.clone(), row, cx)?;
            Ok(Reply::CollectionId(id))
        }
        Call::Collections { cursor } => {
            let all: Vec<Collection> = s.collections.iter().map(|(id, c)| collection(id, c, cx.now_ms)).collect();
            let (collections, next_cursor) = page(all, cursor, |c| &c.id);
            Ok(Reply::Collections { collections, next_cursor })
        }
        Call::DeleteCollection(id) => {
            s.collection(&id)?;
            s.collections.remove(&id, cx);
            Ok(Reply::Done)
        }
        Call::RenameCollection { id, name } => {
            s.collection(&id)?;
            let now = cx.now_ms;
            s.collections.update(&id, cx, |c| {
                c.name = name;
                c.changed_ms = now;
            });
            Ok(Reply::CollectionId(id))
        }
        Call::CollectionProducts { owner, id, cursor } => {
            if !is_me(cx, &owner)? {
                return Err(AccountError::NotFound(format!("collection {id} of {owner}")));
            }
            let ids = s.collection(&id)?.product_ids.clone();
            let products: Vec<Product> = ids.iter().filter_map(|p| s.product(p).ok()).collect();
            let (products, next_cursor) = page(products, cursor, |p| &p.id);
            Ok(Reply::Products { cart_enabled: s.cart_enabled(), products, next_cursor })
        }
        Call::ChangeCollection { id, product_ids, add } => change_collection(s, id, product_ids, add, cx),
        Call::SetDescription(v) => profile(s, cx, |p| p.description = v),
        Call::SetEmail(v) => profile(s, cx, |p| p.email = v),
        Call::SetAddress(v) => profile(s, cx, |p| p.address = v),
        Call::SetWebsites(v) => profile(s, cx, |p| p.websites = v),
        Call::SetHours(h) => profile(s, cx, |p| p.hours = Some(h)),
        Call::SetCategories(wanted) => {
            let mut ids = Vec::with_capacity(wanted.len());
            for w in &wanted {
                let id = category_id(w).ok_or_else(|| AccountError::NotFound(format!("category {w}")))?;
                if !ids.iter().any(|known| known == id) {
                    ids.push(id.to_owned());
                }
            }
            profile(s, cx, |p| p.categories = ids)
        }
        Call::Profile(phone) => public_profile(s, &world.contacts, &phone, cx).map(Reply::Profile),
        Call::Categories { query } => {
            let q = query.map(|q| q.to_lowercase());
            let found = CATEGORIES
                .iter()
                .filter(|c| q.as_ref().is_none_or(|q| c.display_name.to_lowercase().contains(q.as_str())))
                .cloned()
                .collect();
            Ok(Reply::Categories(found))
        }
    }
}

/// The business profile `phone` shows: the account's own when it is a business, another
/// number's as the directory records it.
fn public_profile(
    own: &State,
    directory: &super::contacts::State,
    phone: &Phone,
    cx: &Cx,
) -> Result<PublicProfile, AccountError> {
    let not_a_business = || AccountError::NotFound(format!("a business profile of {phone}"));
    if !cx.on_network(phone) {
        return Err(not_a_business());
    }
    if cx.account.phone.as_ref() == Some(phone) {
        return match cx.account.business {
            true => Ok(own.profile.get().public()),
            false => Err(not_a_business()),
        };
    }
    let recorded = directory.public(phone).and_then(|p| p.business.as_ref());
    recorded.map(Profile::public).ok_or_else(not_a_business)
}

fn profile(s: &mut State, cx: &mut Cx, change: impl FnOnce(&mut Profile)) -> Result<Reply, AccountError> {
    s.profile.update(cx, change);
    Ok(Reply::Done)
}

/// Whether `owner` is the account itself; a number not on the network has no catalog.
fn is_me(cx: &Cx, owner: &Phone) -> Result<bool, AccountError> {
    if !cx.on_network(owner) {
        return Err(AccountError::NotFound(format!("catalog of {owner}")));
    }
    Ok(cx.account.phone.as_ref() == Some(owner))
}

fn save_product(s: &mut State, draft: ProductDraft, cx: &mut Cx) -> Result<Reply, AccountError> {
    let existing = draft
        .retailer_id
        .as_ref()
        .and_then(|r| s.products.iter().find(|(_, p)| p.retailer_id.as_ref() == Some(r)).map(|(id, _)| id.clone()));
    let id = match existing {
        Some(id) => id,
        None if s.products.room() == 0 => {
            return Err(AccountError::Limit(format!("at most {MAX_PRODUCTS} products per catalog")))
        }
        None => fresh_id(16, |id| s.products.contains(id)),
    };
    mint_catalog(s, cx);
    s.products.insert(id.clone(), draft, cx)?;
    Ok(Reply::ProductId(id))
}

fn change_collection(
    s: &mut State,
    id: String,
    product_ids: Vec<String>,
    add: bool,
    cx: &mut Cx,
) -> Result<Reply, AccountError> {
    let mut row = s.collection(&id)?.clone();
    match add {
        true => {
            s.all_exist(&product_ids)?;
            row.product_ids.extend(product_ids);
            row.product_ids = dedup(std::mem::take(&mut row.product_ids));
            check_collection_size(row.product_ids.len())?;
        }
        false => {
            if let Some(missing) = product_ids.iter().find(|p| !row.product_ids.contains(p)) {
                return Err(AccountError::NotFound(format!("product {missing} in collection {id}")));
            }
            row.product_ids.retain(|p| !product_ids.contains(p));
        }
    }
    row.changed_ms = cx.now_ms;
    // WhatsApp gives the changed collection a new id (seed 001 line 10551).
    let new_id = fresh_id(15, |candidate| s.collections.contains(candidate));
    s.collections.remove(&id, cx);
    s.collections.insert(new_id.clone(), row, cx)?;
    Ok(Reply::CollectionId(new_id))
}

fn check_collection_size(n: usize) -> Result<(), AccountError> {
    match n <= MAX_COLLECTION_PRODUCTS {
        true => Ok(()),
        false => Err(AccountError::Limit(format!("at most {MAX_COLLECTION_PRODUCTS} products per collection"))),
    }
}

fn collection(id: &str, c: &CollectionRow, now_ms: u64) -> Collection {
    let status = match now_ms.saturating_sub(c.changed_ms) >= REVIEW_MS {
        true => "APPROVED",
        false => "PENDING",
    };
    Collection { id: id.to_owned(), name: c.name.clone(), status, product_ids: c.product_ids.clone() }
}

fn mint_catalog(s: &mut State, cx: &mut Cx) {
    if s.catalog.get().catalog_id.is_empty() {
        let id = fresh_id(16, |_| false);
        s.catalog.update(cx, |c| c.catalog_id = id);
    }
}

fn dedup(ids: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// `digits` random digits (no leading zero) not yet `taken`.
fn fresh_id(digits: u32, taken: impl Fn(&str) -> bool) -> String {
    let mut rng = rand::rng();
    loop {
        let id = rng.random_range(10u64.pow(digits - 1)..10u64.pow(digits)).to_string();
        if !taken(&id) {
            return id;
        }
    }
}

/// The page after `cursor` (the id of the last item of the previous page; lists are in id
/// order, so a cursor whose item was deleted meanwhile still finds its place), and the cursor
/// of the next page.
fn page<T>(mut all: Vec<T>, cursor: Cursor, id: impl Fn(&T) -> &String) -> (Vec<T>, Cursor) {
    all.sort_by(|a, b| id(a).cmp(id(b)));
    let mut rest: Vec<T> = all.into_iter().filter(|x| cursor.as_ref().is_none_or(|c| id(x) > c)).collect();
    let more = rest.len() > PAGE;
    rest.truncate(PAGE);
    let next = match more {
        true => rest.last().map(|x| id(x).clone()),
        false => None,
    };
    (rest, next)
}

#[cfg(test)]
mod tests;
