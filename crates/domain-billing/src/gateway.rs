//! The payment gateway port: what we ask of Stripe (or its offline stand-in).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Money, WebhookEvent};

/// Why the gateway did not do what we asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// Network failure, timeout or a 5xx after retries: try again later; nothing was done that
    /// an idempotency key would not make safe to repeat.
    #[error("the payment processor is unavailable: {0}")]
    Unavailable(String),
    /// The processor refused the request (bad parameters, amount too large, card declined).
    #[error("the payment processor refused: {message}")]
    Rejected {
        code: Option<String>,
        message: String,
    },
    /// Our API key is wrong or revoked: an admin must fix the configuration.
    #[error("the payment processor refused our credentials")]
    Unauthorized,
    /// The answer could not be read.
    #[error("the payment processor sent an unexpected answer: {0}")]
    Malformed(String),
}

/// A checkout session to create for one credit pack.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct CheckoutRequest {
    pub customer: String,
    /// Our user id, sent as `client_reference_id` so the session can be matched to its user.
    pub user_reference: String,
    pub pack_id: String,
    pub pack_name: String,
    pub credits: String,
    pub price: Money,
    /// Stripe's price id when the pack is synced; otherwise `price_data` is sent.
    pub price_id: Option<String>,
    pub success_url: String,
    pub cancel_url: String,
}

/// Where a checkout session stands, as the gateway reports it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CheckoutSession {
    pub id: String,
    pub url: Option<String>,
    /// `open`, `complete` or `expired`.
    pub status: String,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    pub amount_total: i64,
    pub currency: String,
    pub customer: Option<String>,
    pub payment_intent: Option<String>,
    pub client_reference_id: Option<String>,
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl CheckoutSession {
    pub fn is_paid(&self) -> bool {
        self.status == "complete" && self.payment_status == "paid"
    }
}

/// A refund as the gateway reports it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GatewayRefund {
    pub id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    pub payment_intent: Option<String>,
}

/// A one-time price of a product, for syncing packs.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GatewayPrice {
    pub id: String,
    pub product_id: String,
    pub product_name: String,
    pub unit_amount: i64,
    pub currency: String,
    pub active: bool,
    /// From the product's `metadata[credits]`.
    pub credits: Option<String>,
}

/// The payment processor.
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates a customer for a user (the key makes a retry return the same customer).
    async fn create_customer(
        &self,
        email: &str,
        user_reference: &str,
        idempotency_key: &str,
    ) -> Result<String, GatewayError>;
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError>;
    async fn checkout_session(&self, id: &str) -> Result<CheckoutSession, GatewayError>;
    /// Refunds `amount` of a payment; `reference` (our refund id) is sent as
    /// `metadata[refund_id]` so the refund events can be matched to our record.
    async fn create_refund(
        &self,
        payment_intent: &str,
        amount: Money,
        reference: &str,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError>;
    async fn prices(&self) -> Result<Vec<GatewayPrice>, GatewayError>;
    /// A billing-portal session URL where the customer manages payment methods and invoices.
    async fn portal_url(&self, customer: &str, return_url: &str) -> Result<String, GatewayError>;
    /// Recent events, newest first (for reconciliation).
    async fn recent_events(&self, limit: u32) -> Result<Vec<WebhookEvent>, GatewayError>;
}
