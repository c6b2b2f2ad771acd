//! Invoices of subscriptions and their lines.

use serde::{Deserialize, Serialize};

use super::Metadata;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum InvoiceStatus {
    Draft,
    Open,
    Paid,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Open => "open",
            Self::Paid => "paid",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct InvoiceLine {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub description: String,
    pub period_start: i64,
    pub period_end: i64,
    pub price: String,
    pub quantity: i64,
    pub proration: bool,
    /// The invoice item (`ii_...`) of a proration line; `None` for a plan line.
    pub invoice_item: Option<String>,
    pub subscription: String,
    pub subscription_item: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Invoice {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub customer_email: Option<String>,
    pub customer_name: Option<String>,
    pub subscription: String,
    /// The subscription's metadata when the invoice was made (`subscription_details`).
    pub subscription_metadata: Metadata,
    /// `subscription_create`, `subscription_cycle` or `subscription_update`.
    pub billing_reason: String,
    pub currency: String,
    pub lines: Vec<InvoiceLine>,
    /// Given at finalization.
    pub number: Option<String>,
    pub status: InvoiceStatus,
    pub subtotal: i64,
    pub total: i64,
    pub starting_balance: i64,
    /// Set at finalization.
    pub ending_balance: Option<i64>,
    pub amount_due: i64,
    pub amount_paid: i64,
    pub attempt_count: u32,
    pub attempted: bool,
    pub payment_intent: Option<String>,
    pub charge: Option<String>,
    pub period_start: i64,
    pub period_end: i64,
    pub finalized_at: Option<i64>,
    pub paid_at: Option<i64>,
}
