//! send-product (seed 001, line 2841: a product of a business account's catalog) and
//! send-catalog (2906: a link to that catalog, with optional texts and their language).

use super::read::At;
use super::{MAX_DESCRIPTION_CHARS, MAX_ID_CHARS, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS};
use crate::api::zapi::ZapiError;
use crate::queue::content::interactive::CatalogLanguage;
use crate::queue::content::Interactive;

pub fn product(at: At<'_>) -> Result<Interactive, ZapiError> {
    let catalog_phone = at.phone_number("catalogPhone", true)?.unwrap_or_default();
    let product_id = at.id("productId", MAX_ID_CHARS, true)?.unwrap_or_default();
    Ok(Interactive::Product { catalog_phone, product_id })
}

pub fn catalog(at: At<'_>) -> Result<Interactive, ZapiError> {
    Ok(Interactive::Catalog {
        catalog_phone: at.phone_number("catalogPhone", true)?.unwrap_or_default(),
        translation: at.one_of("translation", &CatalogLanguage::NAMES, &CatalogLanguage::ALL, false)?,
        message: at.text("message", MAX_MESSAGE_CHARS, false)?,
        title: at.text("title", MAX_TITLE_CHARS, false)?,
        description: at.text("catalogDescription", MAX_DESCRIPTION_CHARS, false)?,
    })
}
