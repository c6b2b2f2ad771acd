//! Payments, refunds and checkouts as we record them.

use quickscale_domain_credits::Credits;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Money, PackId};

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct PaymentId(pub Uuid);

impl std::fmt::Display for PaymentId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Where a payment stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// Paid; credits granted.
    Succeeded,
    /// Part of the amount was refunded.
    PartiallyRefunded,
    /// The whole amount was refunded.
    Refunded,
}

impl PaymentStatus {
    pub const ALL: [PaymentStatus; 3] = [
        PaymentStatus::Succeeded,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The status after refunds totalling `refunded` of `amount`.
    pub fn after_refunds(amount: Money, refunded: Money) -> Self {
        if refunded.minor() == 0 {
            PaymentStatus::Succeeded
        } else if refunded.minor() >= amount.minor() {
            PaymentStatus::Refunded
        } else {
            PaymentStatus::PartiallyRefunded
        }
    }
}

/// A payment for a credit pack: created once per paid checkout session.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub user: Uuid,
    pub pack: Option<PackId>,
    pub description: String,
    pub credits: Credits,
    pub amount: Money,
    pub refunded: Money,
    pub status: PaymentStatus,
    /// Printed on the receipt.
    pub receipt_number: String,
    pub checkout_session: String,
    pub payment_intent: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Payment {
    /// The credit grant of this payment is recorded under this source.
    pub fn grant_source(&self) -> String {
        format!("payment:{}", self.id)
    }

    pub fn receipt_number_for(id: PaymentId) -> String {
        let hex = id.0.simple().to_string().to_uppercase();
        format!("R-{}-{}", &hex[..4], &hex[hex.len() - 8..])
    }
}

/// A checkout we started, so the success page can show its state to its user only.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CheckoutRecord {
    pub session_id: String,
    pub user: Uuid,
    pub pack: PackId,
    pub description: String,
    pub credits: Credits,
    pub amount: Money,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Where a refund stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundStatus {
    /// Reserved against the payment; the processor has not confirmed yet.
    Pending,
    Succeeded,
    /// The processor refused; the reservation is released.
    Failed,
}

impl RefundStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            RefundStatus::Pending,
            RefundStatus::Succeeded,
            RefundStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A refund of (part of) a payment.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Refund {
    pub id: Uuid,
    pub payment: PaymentId,
    pub amount: Money,
    pub status: RefundStatus,
    pub reason: String,
    pub gateway_refund: Option<String>,
    /// Credits taken back from the purchase's grant, and what could not be (already spent).
    pub credits_clawed: Credits,
    pub credits_shortfall: Credits,
    pub requested_by: Option<Uuid>,
    pub error: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
