//! Checkout sessions and their line items.

use serde::{Deserialize, Serialize};

use super::Metadata;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct LineItem {
    pub id: String,
    pub price: String,
    pub description: String,
    pub quantity: i64,
    /// The price's `unit_amount × quantity`, checked against Stripe's cap when the session
    /// was made.
    pub amount: i64,
    pub currency: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum SessionStatus {
    Open,
    Complete,
    Expired,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Complete => "complete",
            Self::Expired => "expired",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum CheckoutMode {
    Payment,
    Subscription,
}

impl CheckoutMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Payment => "payment",
            Self::Subscription => "subscription",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Session {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub mode: CheckoutMode,
    pub expires_at: i64,
    pub customer: Option<String>,
    pub customer_email: Option<String>,
    pub client_reference_id: Option<String>,
    pub success_url: Option<String>,
    pub cancel_url: Option<String>,
    pub metadata: Metadata,
    pub line_items: Vec<LineItem>,
    pub currency: String,
    pub amount_total: i64,
    pub status: SessionStatus,
    pub paid: bool,
    /// Set once paid (Stripe shows `payment_intent: null` until then in this flow).
    pub payment_intent: Option<String>,
    /// The PaymentIntent of earlier, declined attempts, reused by the next attempt.
    pub attempt_intent: Option<String>,
    pub intent_metadata: Metadata,
    pub intent_description: Option<String>,
    /// Email and name entered on the checkout page.
    pub details: Option<(Option<String>, Option<String>)>,
    /// `subscription_data[metadata]`, copied onto the subscription.
    pub subscription_metadata: Metadata,
    /// Set once a subscription-mode session is paid.
    pub subscription: Option<String>,
    pub invoice: Option<String>,
}
