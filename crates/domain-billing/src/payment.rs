//! Payments: money received through the payment processor.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Money, PackId};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct PaymentId(pub Uuid);

/// Where a payment stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Checkout started, not paid yet.
    Pending,
    /// Paid; credits granted.
    Succeeded,
    /// The checkout failed or expired.
    Failed,
    /// Part of the amount was refunded.
    PartiallyRefunded,
    /// The whole amount was refunded.
    Refunded,
}

/// A payment for a credit pack.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub user: Uuid,
    pub pack: Option<PackId>,
    pub amount: Money,
    pub refunded: Money,
    pub status: PaymentStatus,
    /// Human-facing number printed on the receipt.
    pub receipt_number: String,
    pub stripe_checkout_session: Option<String>,
    pub stripe_payment_intent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
