//! Orders (seed 001): send-order (line 4279: products, currency, discount, tax, shipping and
//! how it may be paid), order-status-update (4424) and order-payment-update (4550): the order
//! again with the ids its ReceivedCallback returned (`messageId`, `referenceId`,
//! `orderRequestId`, each product's `productId` and `isCustomItem`) and the new statuses.

use super::read::{invalid, At};
use super::{MAX_ID_CHARS, MAX_MESSAGE_CHARS, MAX_TITLE_CHARS};
use crate::api::zapi::ZapiError;
use crate::queue::content::interactive::{
    CardPayment, Order, OrderProduct, OrderStatus, OrderUpdate, PaymentKeyType, PaymentSettings, PaymentStatus,
    PixPayment,
};
use crate::queue::content::Interactive;

/// Products of one order.
const MAX_PRODUCTS: usize = 100;
/// Units of one product.
const MAX_QUANTITY: u64 = 1_000_000;

/// send-order.
pub fn order(at: At<'_>) -> Result<Interactive, ZapiError> {
    let order = read_order(at, false)?;
    let payment = match at.object("paymentSettings", false)? {
        Some(p) => Some(Box::new(payment(p.at())?)),
        None => None,
    };
    Ok(Interactive::Order { order, payment })
}

/// order-status-update and order-payment-update (the same fields; the route says which
/// status is news).
pub fn update(at: At<'_>) -> Result<OrderUpdate, ZapiError> {
    let id = |field| at.id(field, MAX_ID_CHARS, true).map(Option::unwrap_or_default);
    Ok(OrderUpdate {
        order_message_id: id("messageId")?,
        reference_id: id("referenceId")?,
        order_request_id: id("orderRequestId")?,
        order_status: at
            .one_of("orderStatus", &OrderStatus::NAMES, &OrderStatus::ALL, true)?
            .unwrap_or(OrderStatus::Pending),
        payment_status: at
            .one_of("paymentStatus", &PaymentStatus::NAMES, &PaymentStatus::ALL, true)?
            .unwrap_or(PaymentStatus::Pending),
        order: read_order(at, true)?,
        message: at.text("message", MAX_MESSAGE_CHARS, false)?,
    })
}

/// The `order` object; `update` makes each product's `productId` and `isCustomItem`
/// required, as the updates need them.
fn read_order(at: At<'_>, update: bool) -> Result<Order, ZapiError> {
    let order = at.object("order", true)?.ok_or_else(|| invalid("order is required".into()))?;
    let o = order.at();
    let currency = o.required_text("currency", 3)?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(invalid(format!("{} must be a 3-letter ISO 4217 currency code, like BRL", o.name("currency"))));
    }
    let items = o.objects("products", 1..=MAX_PRODUCTS, true)?.unwrap_or_default();
    let products = items
        .iter()
        .map(|item| {
            let p = item.at();
            Ok(OrderProduct {
                product_id: p.id("productId", MAX_ID_CHARS, update)?,
                name: p.required_text("name", MAX_TITLE_CHARS)?,
                value: p.amount("value", true)?.unwrap_or_default(),
                quantity: p.count("quantity", 1..=MAX_QUANTITY, true)?.unwrap_or(1) as u32,
                is_custom_item: p.boolean("isCustomItem", update)?,
            })
        })
        .collect::<Result<Vec<_>, ZapiError>>()?;
    let order = Order {
        currency: currency.to_ascii_uppercase(),
        products,
        discount: o.amount("discount", false)?,
        tax: o.amount("tax", false)?,
        shipping: o.amount("shipping", false)?,
    };
    if order.discount.unwrap_or(0.0) > order.subtotal() {
        return Err(invalid(format!(
            "{} ({}) is more than the products cost ({})",
            o.name("discount"),
            order.discount.unwrap_or(0.0),
            order.subtotal()
        )));
    }
    Ok(order)
}

/// `paymentSettings`: a PIX key and whether cards are taken.
fn payment(at: At<'_>) -> Result<PaymentSettings, ZapiError> {
    let pix = match at.object("pix", false)? {
        Some(pix) => {
            let p = pix.at();
            Some(PixPayment {
                key: p.required_text("key", MAX_ID_CHARS)?,
                key_type: p
                    .one_of("keyType", &PaymentKeyType::NAMES, &PaymentKeyType::ALL, true)?
                    .unwrap_or(PaymentKeyType::RandomKey),
                name: p.required_text("name", MAX_TITLE_CHARS)?,
            })
        }
        None => None,
    };
    let card = match at.object("card", false)? {
        Some(card) => Some(CardPayment { enabled: card.at().boolean("enabled", true)?.unwrap_or(false) }),
        None => None,
    };
    Ok(PaymentSettings { pix, card })
}
