use super::*;
use crate::network::account::Account;

fn cx(business: bool) -> Cx {
    let account = Account { phone: Phone::parse("5511999990001").ok(), business };
    Cx::new(chatedge_config::InstanceId::generate(), account, "0000".into())
}

fn world() -> World {
    let mut w = World::default();
    w.business.products = Table::new("business.products", MAX_PRODUCTS);
    w.business.collections = Table::new("business.collections", MAX_COLLECTIONS);
    w
}

fn draft(name: &str, retailer: Option<&str>) -> ProductDraft {
    ProductDraft {
        retailer_id: retailer.map(str::to_owned),
        name: name.into(),
        description: "d".into(),
        price: 20,
        sale_price: Some(18),
        currency: "BRL".into(),
        images: vec!["https://x.test/a.png".into()],
        is_hidden: false,
        url: None,
    }
}

fn ok(w: &mut World, call: Call) -> Reply {
    apply(w, call, &mut cx(true)).unwrap()
}

fn save(w: &mut World, name: &str, retailer: Option<&str>) -> String {
    match ok(w, Call::SaveProduct(draft(name, retailer))) {
        Reply::ProductId(id) => id,
        r => panic!("{r:?}"),
    }
}

fn collection_id(r: Reply) -> String {
    match r {
        Reply::CollectionId(id) => id,
        r => panic!("{r:?}"),
    }
}

fn me() -> Phone {
    Phone::parse("5511999990001").unwrap()
}

#[test]
fn saving_a_product_with_a_known_retailer_id_updates_it() {
    let mut w = world();
    let a = save(&mut w, "Mouse", Some("002"));
    assert_eq!(a.len(), 16);
    let again = save(&mut w, "Mouse v2", Some("002"));
    assert_eq!(again, a, "same retailer id, same product");
    let b = save(&mut w, "Keyboard", None);
    assert_ne!(a, b);
    match ok(&mut w, Call::Product(a.clone())) {
        Reply::Product { product, catalog_id, cart_enabled } => {
            assert_eq!(product.draft.name, "Mouse v2");
            assert_eq!(catalog_id.len(), 16);
            assert!(cart_enabled);
        }
        r => panic!("{r:?}"),
    }
    match ok(&mut w, Call::Catalog { owner: Some(me()), cursor: None }) {
        Reply::Products { products, next_cursor, .. } => {
            assert_eq!(products.len(), 2);
            assert_eq!(next_cursor, None);
        }
        r => panic!("{r:?}"),
    }
}

#[test]
fn catalogs_are_paged_by_cursor() {
    let mut w = world();
    for i in 0..PAGE + 5 {
        save(&mut w, &format!("p{i}"), None);
    }
    let Reply::Products { products: first, next_cursor, .. } =
        ok(&mut w, Call::Catalog { owner: Some(me()), cursor: None })
    else {
        panic!()
    };
    assert_eq!(first.len(), PAGE);
    assert_eq!(next_cursor.as_ref(), Some(&first[PAGE - 1].id));
    let Reply::Products { products: second, next_cursor, .. } =
        ok(&mut w, Call::Catalog { owner: Some(me()), cursor: next_cursor })
    else {
        panic!()
    };
    assert_eq!(second.len(), 5);
    assert_eq!(next_cursor, None);
    assert!(second.iter().all(|p| !first.contains(p)));
    // The cursor's product deleted meanwhile: the next page still starts after it.
    let cursor = first[PAGE - 1].id.clone();
    ok(&mut w, Call::DeleteProduct(cursor.clone()));
    let Reply::Products { products: again, .. } = ok(&mut w, Call::Catalog { owner: Some(me()), cursor: Some(cursor) })
    else {
        panic!()
    };
    assert_eq!(again, second);
    let other = Phone::parse("5544999999999").unwrap();
    let Reply::Products { products, .. } = ok(&mut w, Call::Catalog { owner: Some(other), cursor: None }) else {
        panic!()
    };
    assert!(products.is_empty(), "the sim keeps no other business's catalog");
}

#[test]
fn collections_change_id_when_their_products_change() {
    let mut w = world();
    let (a, b, c) = (save(&mut w, "a", None), save(&mut w, "b", None), save(&mut w, "c", None));
    let id = collection_id(ok(&mut w, Call::CreateCollection { name: "Col".into(), product_ids: vec![a.clone()] }));
    let id2 = collection_id(ok(
        &mut w,
        Call::ChangeCollection { id: id.clone(), product_ids: vec![b.clone(), c.clone()], add: true },
    ));
    assert_ne!(id, id2);
    assert!(apply(&mut w, Call::DeleteCollection(id.clone()), &mut cx(true)).is_err(), "the old id is gone");
    let id3 =
        collection_id(ok(&mut w, Call::ChangeCollection { id: id2.clone(), product_ids: vec![a.clone()], add: false }));
    let Reply::Products { products, .. } =
        ok(&mut w, Call::CollectionProducts { owner: me(), id: id3.clone(), cursor: None })
    else {
        panic!()
    };
    let mut names: Vec<_> = products.iter().map(|p| p.draft.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["b", "c"]);
    ok(&mut w, Call::DeleteProduct(b.clone()));
    assert_eq!(
        w.business.collection(&id3).unwrap().product_ids,
        std::slice::from_ref(&c),
        "a deleted product leaves it"
    );
    assert_eq!(collection_id(ok(&mut w, Call::RenameCollection { id: id3.clone(), name: "New".into() })), id3);
    let Reply::Collections { collections, .. } = ok(&mut w, Call::Collections { cursor: None }) else { panic!() };
    assert_eq!(collections.len(), 1);
    assert_eq!(collections[0].name, "New");
    assert!(["PENDING", "APPROVED"].contains(&collections[0].status));
}

#[test]
fn refused_catalog_changes_change_nothing() {
    let mut w = world();
    let a = save(&mut w, "a", None);
    let cases: Vec<Call> = vec![
        Call::CreateCollection { name: "x".into(), product_ids: vec![a.clone(), "123".into()] },
        Call::ChangeCollection { id: "999".into(), product_ids: vec![a.clone()], add: true },
        Call::DeleteProduct("1".into()),
        Call::SetCategories(vec!["EDUCATION".into(), "NOT_A_CATEGORY".into()]),
        Call::CollectionProducts { owner: Phone::parse("5544999990000").unwrap(), id: "1".into(), cursor: None },
    ];
    for call in cases {
        let mut c = cx(true);
        let what = format!("{call:?}");
        assert!(apply(&mut w, call, &mut c).is_err(), "{what}");
        assert!(c.into_parts().0.is_empty(), "{what}: writes nothing");
    }
    let mut c = cx(false);
    assert_eq!(apply(&mut w, Call::SetDescription("x".into()), &mut c).unwrap_err(), AccountError::NotBusiness);
    assert!(c.into_parts().0.is_empty());
}

#[test]
fn the_profile_keeps_what_was_set_and_categories_by_id_or_label() {
    let mut w = world();
    ok(&mut w, Call::SetDescription("Text description".into()));
    ok(&mut w, Call::SetEmail("email@example.com".into()));
    ok(&mut w, Call::SetCategories(vec!["EDUCATION".into(), "629412378414563".into(), "EDUCATION".into()]));
    let p = w.business.profile_json();
    assert_eq!(p["description"], "Text description");
    assert_eq!(p["email"], "email@example.com");
    assert_eq!(p["categories"][0]["label"], "EDUCATION");
    assert_eq!(p["categories"][1]["label"], "OTHER_COMPANIES");
    assert_eq!(p["categories"].as_array().unwrap().len(), 2);
    let Reply::Categories(found) = ok(&mut w, Call::Categories { query: Some("auto".into()) }) else { panic!() };
    assert!(found.iter().all(|c| c.display_name.to_lowercase().contains("auto")));
    assert!(!found.is_empty());
}

#[test]
fn any_account_reads_the_business_profile_a_number_shows() {
    use crate::network::sim::world::contacts::{self, PublicProfile};
    let mut w = world();
    w.contacts = contacts::State::empty();
    let shop = Phone::parse("5544988887777").unwrap();
    let recorded = Profile {
        description: "Bakery".into(),
        categories: vec!["273819889462351".into(), "retired-id".into()],
        ..Profile::default()
    };
    let public = PublicProfile { business: Some(recorded), ..PublicProfile::default() };
    w.contacts.set_public(&shop, public, &mut cx(false)).unwrap();

    let mut c = cx(false);
    let Reply::Profile(p) = apply(&mut w, Call::Profile(shop.clone()), &mut c).unwrap() else { panic!() };
    assert!(c.into_parts().0.is_empty(), "reading writes nothing");
    assert_eq!(p.description, "Bakery");
    assert_eq!(p.categories.iter().map(|c| c.display_name.as_str()).collect::<Vec<_>>(), ["Restaurant"]);

    let not_found = |w: &mut World, phone: &str, business: bool| {
        let call = Call::Profile(Phone::parse(phone).unwrap());
        matches!(apply(w, call, &mut cx(business)), Err(AccountError::NotFound(_)))
    };
    assert!(not_found(&mut w, "5544911112222", true), "a number with no business profile");
    assert!(not_found(&mut w, "5544988880000", true), "a number off the network");
    assert!(not_found(&mut w, "5511999990001", false), "its own number, on a normal account");
    ok(&mut w, Call::SetAddress("Rua A, 1".into()));
    let Reply::Profile(own) = ok(&mut w, Call::Profile(Phone::parse("5511999990001").unwrap())) else { panic!() };
    assert_eq!(own.address, "Rua A, 1", "its own, on a business account");
}
