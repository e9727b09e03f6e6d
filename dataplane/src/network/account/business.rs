//! business: a WhatsApp Business account's catalog (products, the cart setting, collections
//! of products) and its business profile (description, e-mail, address, websites, opening
//! hours, categories). Catalog lists are paged by an opaque cursor the network gives with
//! each page. Only a WhatsApp Business account has these — except reading the profile a
//! business shows (any account may look at another business's, [`Call::Profile`]).

use chatedge_config::Phone;
use serde::{Deserialize, Serialize};

/// A product as the account describes it; the network mints its id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProductDraft {
    /// The seller's own id for it; saving a product with a retailer id the catalog already
    /// holds updates that product.
    pub retailer_id: Option<String>,
    pub name: String,
    pub description: String,
    /// In the currency's smallest unit, as the seller gives it.
    pub price: u64,
    pub sale_price: Option<u64>,
    pub currency: String,
    pub images: Vec<String>,
    pub is_hidden: bool,
    pub url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    pub id: String,
    #[serde(flatten)]
    pub draft: ProductDraft,
}

/// A collection of the catalog's products.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Collection {
    pub id: String,
    pub name: String,
    /// `PENDING` until WhatsApp has reviewed it, then `APPROVED`.
    pub status: &'static str,
    pub product_ids: Vec<String>,
}

/// A category a business may be listed under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub id: &'static str,
    /// Some categories also have a label, accepted in place of the id.
    pub label: Option<&'static str>,
    pub display_name: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Weekday {
    Sunday,
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
}

/// One opening interval of a day, `hh:mm` to `hh:mm`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OpenInterval {
    pub day_of_week: Weekday,
    pub open_time: String,
    pub close_time: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum HoursMode {
    SpecificHours,
    Open24h,
    AppointmentOnly,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Hours {
    pub timezone: String,
    pub mode: Option<HoursMode>,
    /// No intervals: closed every day.
    pub days: Vec<OpenInterval>,
}

/// A category as a business profile lists it (the network's own, perhaps one [`CATEGORIES`]
/// does not have).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedCategory {
    pub id: String,
    pub label: Option<String>,
    pub display_name: String,
}

impl From<&Category> for ListedCategory {
    fn from(c: &Category) -> ListedCategory {
        ListedCategory {
            id: c.id.to_owned(),
            label: c.label.map(str::to_owned),
            display_name: c.display_name.to_owned(),
        }
    }
}

/// What a business shows anyone of its profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicProfile {
    pub description: String,
    pub address: String,
    pub email: String,
    pub websites: Vec<String>,
    pub categories: Vec<ListedCategory>,
    pub hours: Option<Hours>,
    pub has_cover_photo: bool,
}

/// Which page of a list: after the item the cursor names.
pub type Cursor = Option<String>;

#[derive(Debug, Clone)]
pub enum Call {
    SaveProduct(ProductDraft),
    /// The catalog of `owner` (another business's number, or the account's own: `None` or
    /// its own number).
    Catalog {
        owner: Option<Phone>,
        cursor: Cursor,
    },
    Product(String),
    DeleteProduct(String),
    SetCartEnabled(bool),
    CreateCollection {
        name: String,
        product_ids: Vec<String>,
    },
    Collections {
        cursor: Cursor,
    },
    DeleteCollection(String),
    RenameCollection {
        id: String,
        name: String,
    },
    CollectionProducts {
        owner: Phone,
        id: String,
        cursor: Cursor,
    },
    /// Adds (`true`) or removes products; WhatsApp gives the collection a new id.
    ChangeCollection {
        id: String,
        product_ids: Vec<String>,
        add: bool,
    },
    SetDescription(String),
    SetEmail(String),
    SetAddress(String),
    SetWebsites(Vec<String>),
    SetHours(Hours),
    /// Category ids or labels, as the directory lists them.
    SetCategories(Vec<String>),
    /// The directory's categories whose name contains `query` (all without one).
    Categories {
        query: Option<String>,
    },
    /// The business profile `phone` shows (another business's, or the account's own); any
    /// account may ask. A number that is not a business: `NotFound`.
    Profile(Phone),
}

#[derive(Debug, Clone)]
pub enum Reply {
    /// A saved product's id.
    ProductId(String),
    Products {
        cart_enabled: bool,
        products: Vec<Product>,
        next_cursor: Cursor,
    },
    Product {
        cart_enabled: bool,
        catalog_id: String,
        product: Product,
    },
    CollectionId(String),
    Collections {
        collections: Vec<Collection>,
        next_cursor: Cursor,
    },
    Categories(Vec<Category>),
    Profile(PublicProfile),
    Done,
}

/// The business categories a profile may name (ids as WhatsApp's directory numbers them,
/// labels where it has one).
pub static CATEGORIES: &[Category] = &[
    Category { id: "629412378414563", label: Some("OTHER_COMPANIES"), display_name: "Other Companies" },
    Category { id: "1223524174334504", label: None, display_name: "Automotive Service" },
    Category { id: "273819889462351", label: Some("RESTAURANT"), display_name: "Restaurant" },
    Category { id: "133436743388217", label: Some("FINANCE"), display_name: "Finance" },
    Category { id: "2250", label: Some("EDUCATION"), display_name: "Education" },
    Category { id: "1706730532910578", label: Some("TECHNOLOGY"), display_name: "Information Technology Company" },
    Category { id: "192119584190796", label: Some("EVENT_PLANNING"), display_name: "Event Planner" },
    Category { id: "150108431712141", label: Some("HOTEL"), display_name: "Hotel" },
    Category { id: "200600219953504", label: Some("SHOPPING_RETAIL"), display_name: "Shopping & Retail" },
    Category { id: "180164648685982", label: Some("BEAUTY_SPA"), display_name: "Beauty, Cosmetic & Personal Care" },
    Category { id: "2214", label: Some("MEDICAL_HEALTH"), display_name: "Medical & Health" },
    Category { id: "2500", label: Some("PROFESSIONAL_SERVICES"), display_name: "Professional Services" },
    Category { id: "186982054657561", label: Some("APPAREL"), display_name: "Apparel & Clothing" },
    Category { id: "1758418281071392", label: Some("GROCERY"), display_name: "Grocery Store" },
    Category { id: "2705", label: Some("NON_PROFIT"), display_name: "Nonprofit Organization" },
    Category { id: "1567", label: Some("ENTERTAINMENT"), display_name: "Arts & Entertainment" },
    Category { id: "1553", label: Some("PUBLIC_SERVICE"), display_name: "Public & Government Service" },
    Category { id: "128673187201735", label: Some("TRAVEL"), display_name: "Travel Agency" },
    Category { id: "2258", label: Some("VEHICLE"), display_name: "Automotive, Aircraft & Boat" },
    Category { id: "1614", label: None, display_name: "Technology Consulting" },
];

/// The id of the category `wanted` names (its id or its label); `None`: not one of these.
pub fn category_id(wanted: &str) -> Option<&'static str> {
    CATEGORIES.iter().find(|c| c.id == wanted || c.label == Some(wanted)).map(|c| c.id)
}
