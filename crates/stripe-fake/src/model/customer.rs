//! Customers and their billing-portal sessions.

use serde::{Deserialize, Serialize};

use super::Metadata;
use crate::cards::CardInput;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Customer {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub email: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub phone: Option<String>,
    pub metadata: Metadata,
    pub invoice_prefix: String,
    /// Negative: credit applied to the next invoices (Stripe's customer balance).
    pub balance: i64,
    pub next_invoice_sequence: u64,
    /// `invoice_settings.default_payment_method`, set in the billing portal, with its card.
    #[serde(default)]
    pub default_payment_method: Option<(String, CardInput)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PortalSession {
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub return_url: Option<String>,
    pub configuration: String,
}
