//! Incoming commerce messages: products, carts (orders), payment requests and receipts, Pix
//! keys, order reviews and channel admin invitations — field for field as Z-API reports them
//! (seed 001, ReceivedCallback examples). Plain data.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PixKey {
    pub currency: String,
    pub reference_id: String,
    pub key: String,
    /// `CPF`, `CNPJ`, `PHONE`, `EMAIL` or `EVP`.
    pub key_type: String,
    pub merchant_name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Product {
    pub product_image: String,
    pub business_owner_jid: String,
    pub currency_code: String,
    pub product_id: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub product_image_count: u32,
    pub price: u64,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub retailer_id: String,
    #[serde(default)]
    pub first_image_id: String,
    pub title: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderProduct {
    pub quantity: u32,
    pub name: String,
    pub product_id: String,
    #[serde(default)]
    pub retailer_id: String,
    pub price: u64,
    pub currency_code: String,
}

/// A cart sent from a catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Order {
    pub item_count: u32,
    pub order_id: String,
    #[serde(default)]
    pub message: String,
    pub order_title: String,
    #[serde(rename = "sellerID")]
    pub seller_id: String,
    #[serde(default)]
    pub thumbnail_url: String,
    pub token: String,
    pub currency: String,
    pub total: u64,
    pub sub_total: u64,
    pub products: Vec<OrderProduct>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PaymentInfo {
    pub receiver_phone: String,
    pub value: u64,
    pub currency_code: String,
    pub status: String,
    pub transaction_status: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequestPayment {
    pub value: u64,
    pub currency_code: String,
    pub expiration: u64,
    pub request_phone: String,
    pub payment_info: PaymentInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendPayment {
    pub payment_info: PaymentInfo,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReviewProduct {
    pub name: String,
    pub quantity: u32,
    #[serde(default)]
    pub is_custom_item: bool,
    pub product_id: String,
    pub value: u64,
}

/// An order to review and pay (`reviewAndPay`, with its `type`) or its later update
/// (`reviewOrder`, without).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrderReview {
    /// E.g. `physical-goods`; named `orderType` in `/sim/inbound` (whose `type` is the kind).
    #[serde(default, rename(serialize = "type", deserialize = "orderType"), skip_serializing_if = "Option::is_none")]
    pub order_type: Option<String>,
    pub currency: String,
    pub reference_id: String,
    pub order_request_id: String,
    pub order_status: String,
    pub payment_status: String,
    pub total: u64,
    pub sub_total: u64,
    #[serde(default)]
    pub discount: u64,
    #[serde(default)]
    pub shipping: u64,
    #[serde(default)]
    pub tax: u64,
    pub products: Vec<ReviewProduct>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewsletterAdminInvite {
    pub newsletter_id: String,
    pub newsletter_name: String,
    pub text: String,
    /// Unix seconds.
    pub invite_expiration: u64,
}
