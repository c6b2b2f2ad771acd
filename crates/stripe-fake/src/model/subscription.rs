//! Subscriptions and their items.

use serde::{Deserialize, Serialize};

use super::{InvoiceLine, Metadata, Recurring};
use crate::cards::CardInput;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SubscriptionStatus {
    /// Made by a checkout, its first invoice not yet paid (only `customer.subscription.created`
    /// shows it).
    Incomplete,
    Active,
    PastDue,
    Canceled,
}

impl SubscriptionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Incomplete => "incomplete",
            Self::Active => "active",
            Self::PastDue => "past_due",
            Self::Canceled => "canceled",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SubscriptionItem {
    pub id: String,
    pub created: i64,
    pub price: String,
    pub quantity: i64,
    pub metadata: Metadata,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Subscription {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub customer: String,
    pub currency: String,
    /// The items' interval: all of them bill together.
    pub recurring: Recurring,
    pub status: SubscriptionStatus,
    pub items: Vec<SubscriptionItem>,
    pub billing_cycle_anchor: i64,
    /// The number of the current period (0: the first), counted from the anchor.
    pub cycle: i64,
    pub current_period_start: i64,
    pub current_period_end: i64,
    pub cancel_at_period_end: bool,
    pub canceled_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub latest_invoice: Option<String>,
    pub default_payment_method: String,
    /// The card renewals charge.
    pub card: CardInput,
    pub metadata: Metadata,
    /// Proration lines waiting for the next invoice (`create_prorations`), the latest
    /// change's first.
    pub pending: Vec<InvoiceLine>,
}
