//! The business profile on WhatsApp Web through a real shard: each field a call changes
//! reaches WhatsApp in its terms — opening hours as minutes after midnight per day, categories
//! by WhatsApp's ids (a label names one) — and the catalog, which is not served on this
//! network, is refused by name before anything is asked. Another number's business profile is
//! asked of WhatsApp and read in the dialects' terms; a number that is not a business is not
//! found.

use super::*;
use crate::network::account::business::{Call as B, Hours, HoursMode, OpenInterval, Reply as BR, Weekday};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn business_profile_changes_reach_whatsapp_in_its_terms_and_the_catalog_is_refused_by_name() {
    let (_dir, double, plane) = paired_plane().await;
    let interval = |day_of_week, open: &str, close: &str| OpenInterval {
        day_of_week,
        open_time: open.into(),
        close_time: close.into(),
    };
    let calls: Vec<AccountCall> = vec![
        B::SetDescription("Pizza since 1990".into()).into(),
        B::SetEmail("loja@example.com".into()).into(),
        B::SetWebsites(vec!["https://loja.example".into()]).into(),
        B::SetHours(Hours {
            timezone: "America/Sao_Paulo".into(),
            mode: Some(HoursMode::SpecificHours),
            days: vec![interval(Weekday::Monday, "09:00", "18:30"), interval(Weekday::Saturday, "10:00", "24:00")],
        })
        .into(),
        B::SetHours(Hours { timezone: "America/Sao_Paulo".into(), mode: Some(HoursMode::Open24h), days: vec![] })
            .into(),
        B::SetCategories(vec!["RESTAURANT".into(), "273819889462351".into(), "2214".into()]).into(),
    ];
    for call in calls {
        plane.account(call).await.unwrap();
    }
    let changes = double.directory().business_profile;
    let between = |day, open, close| wa::Opening { day, hours: wa::OpeningHours::Between { open, close } };
    assert_eq!(changes[0], wa::ProfileChange::Description("Pizza since 1990".into()));
    assert_eq!(changes[2], wa::ProfileChange::Websites(vec!["https://loja.example".into()]));
    assert_eq!(
        changes[3],
        wa::ProfileChange::Hours {
            timezone: "America/Sao_Paulo".into(),
            days: vec![between("mon", 540, 1110), between("sat", 600, 1440)],
        }
    );
    let wa::ProfileChange::Hours { days, .. } = &changes[4] else { panic!("{:?}", changes[4]) };
    assert_eq!(days.len(), 7, "open all day, every day");
    assert!(days.iter().all(|d| d.hours == wa::OpeningHours::AllDay));
    assert_eq!(
        changes[5],
        wa::ProfileChange::Categories(vec!["273819889462351".into(), "2214".into()]),
        "a label names its category; each once"
    );

    let asks = || double.calls().into_iter().filter(|c| matches!(c, Call::Ask(_))).count();
    let before = asks();
    let unknown = plane.account(B::SetCategories(vec!["PIZZERIA".into()])).await;
    assert_eq!(unknown.err(), Some(AccountError::NotFound("category PIZZERIA".into())));
    let bad_time = Hours {
        timezone: "America/Sao_Paulo".into(),
        mode: None,
        days: vec![interval(Weekday::Monday, "9h", "18:00")],
    };
    let refused = plane.account(B::SetHours(bad_time)).await;
    assert!(matches!(&refused, Err(AccountError::Refused(why)) if why.contains("9h")), "{refused:?}");
    let catalog = plane.account(B::Catalog { owner: None, cursor: None }).await;
    assert!(matches!(&catalog, Err(AccountError::Unsupported(why)) if why.contains("catalog")), "{catalog:?}");
    assert_eq!(asks(), before, "nothing refused was asked");
    plane.crash().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_numbers_business_profile_is_asked_of_whatsapp() {
    let (_dir, double, plane) = paired_plane().await;
    double.on_whatsapp(&[CONTACT]);
    let shop = wa::BusinessInfo {
        description: "Padaria".into(),
        categories: vec![("273819889462351".into(), "Restaurant".into())],
        ..wa::BusinessInfo::default()
    };
    double.with_directory(|d| {
        d.businesses.insert(CONTACT.to_owned(), shop);
    });
    let read = plane.account(B::Profile(phone(CONTACT))).await;
    let Ok(AccountReply::Business(BR::Profile(p))) = read else { panic!("{read:?}") };
    assert_eq!(
        (p.description.as_str(), p.categories[0].label.as_deref(), p.hours),
        ("Padaria", Some("RESTAURANT"), None)
    );
    assert!(double.calls().iter().any(|c| matches!(c, Call::Ask(wa::Query::BusinessOf(n)) if n == CONTACT)));

    double.on_whatsapp(&[CONTACT, "5544911112222"]);
    let plain = plane.account(B::Profile(phone("5544911112222"))).await;
    assert!(matches!(plain, Err(AccountError::NotFound(_))), "not a business: {plain:?}");
    let nobody = plane.account(B::Profile(phone("5544900000000"))).await;
    assert!(matches!(nobody, Err(AccountError::NotFound(_))), "not on WhatsApp: {nobody:?}");
    plane.crash().await;
}
