//! Money the processor took that the app does not turn into credits on its own, held for an
//! admin to look at: a paid checkout session that is not the purchase of one of our packs at its
//! price (a session made outside the app, or paid at another amount), and a second subscription
//! for a user who already has one (cancelled and refunded at once). Nothing is granted for
//! either; each is recorded once per processor object.

use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{Currency, Money};

/// Why a payment was held for review.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ReviewKind {
    /// A paid checkout session that is not one of our packs at its price (or not our
    /// customer's): nothing was granted.
    UnmatchedCheckout,
    /// A second subscription for a user who has one: cancelled at once and refunded in full;
    /// nothing was granted for it.
    DuplicateSubscription,
}

impl ReviewKind {
    /// Every kind, for parsing and for the admin's filter.
    pub const ALL: [ReviewKind; 2] = [
        ReviewKind::UnmatchedCheckout,
        ReviewKind::DuplicateSubscription,
    ];

    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewKind::UnmatchedCheckout => "unmatched_checkout",
            ReviewKind::DuplicateSubscription => "duplicate_subscription",
        }
    }

    /// The kind stored under `text`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// What an admin reads: "Payment matching no pack", "Second subscription".
    pub fn label(self) -> &'static str {
        match self {
            ReviewKind::UnmatchedCheckout => "Payment matching no pack",
            ReviewKind::DuplicateSubscription => "Second subscription",
        }
    }
}

/// A payment held for an admin's review.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct BillingReview {
    /// Its id (time-ordered).
    pub id: Uuid,
    /// Why it was held.
    pub kind: ReviewKind,
    /// The processor's id of what is reviewed (a checkout session, a subscription): one review
    /// per kind and reference.
    pub reference: String,
    /// Our user, when the payment could be tied to one.
    pub user: Option<Uuid>,
    /// The processor's customer that paid, if any.
    pub customer: Option<String>,
    /// What was paid (or, for a second subscription, refunded), in the processor's minor units
    /// and currency as it reported them.
    pub amount_minor: i64,
    /// The currency as the processor wrote it (possibly one we do not sell in).
    pub currency: String,
    /// What happened and why, for the admin.
    pub detail: String,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the automatic action (cancelling, refunding) was done; `None` while it is still to
    /// be done (it is retried with the event).
    #[serde(with = "time::serde::rfc3339::option")]
    pub settled_at: Option<OffsetDateTime>,
    /// When an admin marked it reviewed, and who.
    #[serde(with = "time::serde::rfc3339::option")]
    pub resolved_at: Option<OffsetDateTime>,
    /// The admin who marked it reviewed.
    pub resolved_by: Option<Uuid>,
}

impl BillingReview {
    /// A new, open review.
    pub fn new(
        kind: ReviewKind,
        reference: &str,
        (amount_minor, currency): (i64, &str),
        detail: String,
        now: OffsetDateTime,
    ) -> Self {
        BillingReview {
            id: Uuid::now_v7(),
            kind,
            reference: reference.to_owned(),
            user: None,
            customer: None,
            amount_minor,
            currency: currency.to_owned(),
            detail,
            created_at: now,
            settled_at: None,
            resolved_at: None,
            resolved_by: None,
        }
    }

    /// The amount as money ("$0.50"), or the raw figures when the currency is not one we read.
    pub fn amount_label(&self) -> String {
        amount_label(self.amount_minor, &self.currency)
    }
}

/// "$0.50" for an amount in a currency we read, "50 XYZ" otherwise.
pub fn amount_label(minor: i64, currency: &str) -> String {
    Currency::parse(currency)
        .ok()
        .and_then(|c| Money::new(minor, c).ok())
        .map(|m| m.to_string())
        .unwrap_or_else(|| format!("{minor} {}", currency.to_uppercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_and_amounts_read_like_money() {
        for kind in ReviewKind::ALL {
            assert_eq!(ReviewKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(ReviewKind::parse("other"), None);
        assert_eq!(amount_label(50, "usd"), "$0.50");
        assert_eq!(amount_label(50, "??"), "50 ??");
    }
}
