//! Payments, refunds and checkouts as we record them.

use quickscale_domain_credits::Credits;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Money, PackId};

/// A payment's id; the receipt number and the credit grant's source derive from it.
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
#[non_exhaustive]
pub enum PaymentStatus {
    /// Paid; credits granted.
    Succeeded,
    /// Part of the amount was refunded.
    PartiallyRefunded,
    /// The whole amount was refunded.
    Refunded,
}

impl PaymentStatus {
    /// Every status, for parsing and for the admin's filter.
    pub const ALL: [PaymentStatus; 3] = [
        PaymentStatus::Succeeded,
        PaymentStatus::PartiallyRefunded,
        PaymentStatus::Refunded,
    ];

    /// The name stored in the database and used in filters.
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentStatus::Succeeded => "succeeded",
            PaymentStatus::PartiallyRefunded => "partially_refunded",
            PaymentStatus::Refunded => "refunded",
        }
    }

    /// The status stored under `text`; `None` for anything else.
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
    /// Its id.
    pub id: PaymentId,
    /// Who paid, and whose account was credited.
    pub user: Uuid,
    /// The pack bought (the billing use cases always set it; storage keeps it optional).
    pub pack: Option<PackId>,
    /// What was bought, as the receipt names it (the pack's name at the time).
    pub description: String,
    /// The credits the payment granted.
    pub credits: Credits,
    /// What was paid.
    pub amount: Money,
    /// The sum of succeeded refunds, in the payment's currency.
    pub refunded: Money,
    /// Where it stands after refunds.
    pub status: PaymentStatus,
    /// Printed on the receipt.
    pub receipt_number: String,
    /// The processor's checkout session, unique: a redelivered webhook finds the payment instead of
    /// paying twice.
    pub checkout_session: String,
    /// The processor's payment id (`pi_...`); refunds name it.
    pub payment_intent: Option<String>,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

impl Payment {
    /// The credit grant of this payment is recorded under this source.
    pub fn grant_source(&self) -> String {
        format!("payment:{}", self.id)
    }

    /// The receipt number of a payment: `R-`, then the first 4 and the last 8 hex digits of its id,
    /// upper-case.
    pub fn receipt_number_for(id: PaymentId) -> String {
        let hex = id.0.simple().to_string().to_uppercase();
        format!("R-{}-{}", &hex[..4], &hex[hex.len() - 8..])
    }
}

/// A checkout we started, so the success page can show its state to its user only.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CheckoutRecord {
    /// The processor's session id (`cs_...`).
    pub session_id: String,
    /// Who started it; only they may see its state.
    pub user: Uuid,
    /// The pack chosen.
    pub pack: PackId,
    /// The pack's name when the checkout started.
    pub description: String,
    /// The credits promised at that time; the payment grants these, not the pack's current amount.
    pub credits: Credits,
    /// The price at that time; a payment of another amount is held for review.
    pub amount: Money,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}

/// Where a refund stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RefundStatus {
    /// Reserved against the payment; the processor has not confirmed yet.
    Pending,
    /// The processor accepted the refund; the matching credits are clawed back.
    Succeeded,
    /// The processor refused; the reservation is released.
    Failed,
}

impl RefundStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RefundStatus::Pending => "pending",
            RefundStatus::Succeeded => "succeeded",
            RefundStatus::Failed => "failed",
        }
    }

    /// The status stored under `text`; `None` for anything else.
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
    /// Our refund id, sent to the processor as `metadata[refund_id]` to match its events.
    pub id: Uuid,
    /// The payment refunded.
    pub payment: PaymentId,
    /// How much money goes back.
    pub amount: Money,
    /// Where it stands.
    pub status: RefundStatus,
    /// Why, as the admin wrote it (or the processor's reason for one made there).
    pub reason: String,
    /// The processor's refund id (`re_...`), once it answered.
    pub gateway_refund: Option<String>,
    /// Credits taken back from the purchase's grant, and what could not be (already spent).
    pub credits_clawed: Credits,
    /// Credits the refund should have taken back but that were already spent.
    pub credits_shortfall: Credits,
    /// The admin who asked for it; `None` for a refund made in the processor's dashboard.
    pub requested_by: Option<Uuid>,
    /// Why the processor refused, for a failed refund.
    pub error: Option<String>,
    /// When it was asked for.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
}
