//! Money moving: PaymentIntents, the charges that try to pay them, and refunds of charges.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Metadata;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PaymentIntent {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub status: String,
    pub amount_received: i64,
    pub latest_charge: Option<String>,
    pub payment_method: Option<String>,
    pub last_payment_error: Option<Value>,
    pub client_secret: String,
}

/// The card a charge was made with, as the charge shows it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Card {
    pub brand: String,
    pub funding: String,
    pub last4: String,
    pub exp_month: u32,
    pub exp_year: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Charge {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_intent: String,
    pub payment_method: String,
    pub description: Option<String>,
    pub metadata: Metadata,
    pub succeeded: bool,
    pub card: Card,
    pub billing_email: Option<String>,
    pub billing_name: Option<String>,
    /// code, decline code, message
    pub failure: Option<(String, Option<String>, String)>,
    pub amount_refunded: i64,
    pub refunds: Vec<String>,
    pub balance_transaction: Option<String>,
    /// The invoice this charge paid (a subscription's), as API versions up to 2025-03-31 show.
    pub invoice: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Refund {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub amount: i64,
    pub currency: String,
    pub charge: String,
    pub payment_intent: String,
    pub reason: Option<String>,
    pub metadata: Metadata,
    pub balance_transaction: String,
    /// The acquirer reference number, once "available" (`refund.updated`).
    pub reference: Option<String>,
}
