//! The payment gateway port: what we ask of Stripe (or its offline stand-in).

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::{Money, WebhookEvent};

/// Why the gateway did not do what we asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GatewayError {
    /// Network failure, timeout or a 5xx after retries: try again later; nothing was done that
    /// an idempotency key would not make safe to repeat.
    #[error("the payment processor is unavailable: {0}")]
    Unavailable(String),
    /// The processor refused the request (bad parameters, amount too large, card declined).
    #[error("the payment processor refused: {message}")]
    Rejected {
        /// The processor's error code (`card_declined`, `amount_too_large`), when it sent one.
        code: Option<String>,
        /// The processor's explanation, for logs and the admin.
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
    /// The processor's customer id (`cus_...`) of the buyer.
    pub customer: String,
    /// Our user id, sent as `client_reference_id` so the session can be matched to its user.
    pub user_reference: String,
    /// Our pack id, sent as `metadata[pack_id]` so the payment names the pack it bought.
    pub pack_id: String,
    /// The product name shown on the checkout page.
    pub pack_name: String,
    /// The pack's credits, sent as `metadata[credits]`: what the webhook grants is what the buyer
    /// saw, even if the pack changes meanwhile.
    pub credits: String,
    /// What the buyer pays.
    pub price: Money,
    /// Stripe's price id when the pack is synced; otherwise `price_data` is sent.
    pub price_id: Option<String>,
    /// Where the processor sends the buyer after paying (it grants nothing: the webhook does).
    pub success_url: String,
    /// Where the processor sends the buyer who gives up.
    pub cancel_url: String,
}

/// Where a checkout session stands, as the gateway reports it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct CheckoutSession {
    /// The processor's session id (`cs_...`).
    pub id: String,
    /// The hosted page to send the buyer to; `None` once the session is closed.
    pub url: Option<String>,
    /// `payment` (a credit pack) or `subscription`.
    #[serde(default = "payment_mode")]
    pub mode: String,
    /// The subscription a paid `subscription`-mode session created.
    #[serde(default)]
    pub subscription: Option<String>,
    /// `open`, `complete` or `expired`.
    pub status: String,
    /// `paid`, `unpaid` or `no_payment_required`.
    pub payment_status: String,
    /// What the buyer pays, in minor units.
    pub amount_total: i64,
    /// The currency, lower-case ISO 4217 (`usd`).
    pub currency: String,
    /// The processor's customer id, once known.
    pub customer: Option<String>,
    /// The payment's id (`pi_...`), set once a one-time session is paid; refunds name it.
    pub payment_intent: Option<String>,
    /// Our user id, as sent in [`CheckoutRequest::user_reference`].
    pub client_reference_id: Option<String>,
    /// What we attached to the session (pack id, credits, plan id, user id).
    pub metadata: std::collections::BTreeMap<String, String>,
}

fn payment_mode() -> String {
    "payment".into()
}

impl CheckoutSession {
    /// Whether the money was taken: only then may credits be granted.
    pub fn is_paid(&self) -> bool {
        self.status == "complete" && self.payment_status == "paid"
    }

    /// A one-time payment (a credit pack), as opposed to the start of a subscription.
    pub fn is_one_time_payment(&self) -> bool {
        self.mode == "payment"
    }
}

/// A refund as the gateway reports it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GatewayRefund {
    /// The processor's refund id (`re_...`).
    pub id: String,
    /// How much, in minor units.
    pub amount: i64,
    /// The currency, lower-case ISO 4217.
    pub currency: String,
    /// `pending`, `succeeded`, `failed` or `canceled`.
    pub status: String,
    /// The payment refunded.
    pub payment_intent: Option<String>,
}

/// A one-time price of a product, for syncing packs.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GatewayPrice {
    /// The processor's price id (`price_...`).
    pub id: String,
    /// The processor's product id (`prod_...`).
    pub product_id: String,
    /// The product's name, which becomes the pack's or plan's name.
    pub product_name: String,
    /// The price, in minor units.
    pub unit_amount: i64,
    /// The currency, lower-case ISO 4217.
    pub currency: String,
    /// Inactive prices can no longer be bought; synced packs and plans follow them.
    pub active: bool,
    /// From the product's `metadata[credits]`.
    pub credits: Option<String>,
    /// How often a recurring price bills; `None` for a one-time price (a credit pack).
    pub recurring: Option<Recurring>,
    /// A plan's API limits, from the product's (or the price's) `metadata[api_requests_per_minute]`.
    pub api_requests_per_minute: Option<String>,
    /// From `metadata[api_monthly_credits]`: credits a calendar month through the API.
    pub api_monthly_credits: Option<String>,
}

/// The billing interval of a recurring price.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct Recurring {
    /// The unit of the interval.
    pub interval: Interval,
    /// Bills every `count` intervals (1 = every month for a monthly price).
    pub count: u32,
}

/// The unit of a recurring price's interval, as the processor names it.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Interval {
    /// Daily.
    Day,
    /// Weekly.
    Week,
    /// Monthly.
    Month,
    /// Yearly.
    Year,
}

impl Interval {
    /// The interval named `text` by the processor; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "day" => Self::Day,
            "week" => Self::Week,
            "month" => Self::Month,
            "year" => Self::Year,
            _ => return None,
        })
    }

    /// The processor's name of the interval.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Day => "day",
            Self::Week => "week",
            Self::Month => "month",
            Self::Year => "year",
        }
    }
}

/// A checkout session that starts a subscription to a recurring price (a plan).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct SubscriptionCheckoutRequest {
    /// The processor's customer id of the subscriber.
    pub customer: String,
    /// Our user id, sent as `client_reference_id` and in the subscription's metadata.
    pub user_reference: String,
    /// Our plan id, kept in the session's and the subscription's metadata.
    pub plan_reference: String,
    /// The processor's recurring price.
    pub price_id: String,
    /// Where the processor sends the subscriber after paying.
    pub success_url: String,
    /// Where the processor sends the visitor who gives up.
    pub cancel_url: String,
}

/// Where a subscription stands, as the gateway reports it.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GatewaySubscription {
    /// The processor's subscription id (`sub_...`).
    pub id: String,
    /// The processor's customer id of the subscriber.
    pub customer: String,
    /// `active`, `past_due`, `canceled`, `incomplete`, `incomplete_expired`, `trialing`,
    /// `unpaid` or `paused`.
    pub status: String,
    /// The subscription item whose price is changed on a plan change.
    pub item_id: String,
    /// The recurring price of that item: which plan it is.
    pub price_id: String,
    /// Unix seconds.
    pub current_period_start: i64,
    /// The end of the period paid for, in Unix seconds: a cancellation at the period's end takes
    /// effect then.
    pub current_period_end: i64,
    /// Set when the customer asked to stop at the end of the period.
    pub cancel_at_period_end: bool,
    /// When cancellation was asked for, in Unix seconds (set at once for a cancellation at the
    /// period's end, before it takes effect).
    pub canceled_at: Option<i64>,
    /// When it stopped, in Unix seconds.
    pub ended_at: Option<i64>,
    /// The invoice of its latest period (`in_...`).
    pub latest_invoice: Option<String>,
    /// What we attached to it (our user id and plan id).
    pub metadata: std::collections::BTreeMap<String, String>,
}

impl GatewaySubscription {
    /// Whether the customer is entitled to the plan now (paid up, or in a trial).
    pub fn is_entitled(&self) -> bool {
        matches!(self.status.as_str(), "active" | "trialing")
    }

    /// Whether it is a running subscription of the customer: paid for, or paid for and now
    /// behind (past due, unpaid, paused). Not one that never started (`incomplete`) or ended.
    pub fn is_running(&self) -> bool {
        matches!(
            self.status.as_str(),
            "active" | "trialing" | "past_due" | "unpaid" | "paused"
        )
    }
}

/// An invoice of a subscription, as the gateway reports it: the event that pays for a period.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
pub struct GatewayInvoice {
    /// The processor's invoice id (`in_...`).
    pub id: String,
    /// The processor's customer id.
    pub customer: String,
    /// The subscription it bills; `None` for an invoice of its own.
    pub subscription: Option<String>,
    /// `draft`, `open`, `paid`, `void` or `uncollectible`.
    pub status: String,
    /// `subscription_create`, `subscription_cycle`, `subscription_update`, `manual`, ...
    pub billing_reason: Option<String>,
    /// What the invoice asks for, in minor units.
    pub amount_due: i64,
    /// What was paid of it, in minor units.
    pub amount_paid: i64,
    /// The currency, lower-case ISO 4217.
    pub currency: String,
    /// The payment that paid it; refunds name it.
    pub payment_intent: Option<String>,
    /// The period the subscription line covers (not the invoice's own `period_*`, which Stripe
    /// sets to the previous period for renewals). Unix seconds.
    pub period_start: i64,
    /// The end of that period, in Unix seconds.
    pub period_end: i64,
    /// The price of the subscription line (not a proration line); on an invoice of prorations
    /// only (a plan change invoiced at once), the price the subscription moved to, with the
    /// period from the change to the end of the current period.
    pub price_id: Option<String>,
}

impl GatewayInvoice {
    /// Whether it was paid: only then does the period's credit grant happen.
    pub fn is_paid(&self) -> bool {
        self.status == "paid"
    }
}

/// When a cancellation takes effect.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CancelAt {
    /// The plan runs to the end of the paid period, then stops (can be undone until then).
    PeriodEnd,
    /// Stops now; no refund is made for the rest of the period.
    Now,
}

/// How a plan change is charged.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Proration {
    /// Charge (or credit) the difference for the rest of the period now, on its own invoice.
    InvoiceNow,
    /// Add the difference to the next renewal's invoice.
    NextInvoice,
    /// No difference: the new price applies from the next renewal.
    None,
}

impl Proration {
    /// Stripe's `proration_behavior`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvoiceNow => "always_invoice",
            Self::NextInvoice => "create_prorations",
            Self::None => "none",
        }
    }
}

/// The payment processor.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Creates a customer for a user (the key makes a retry return the same customer).
    async fn create_customer(
        &self,
        email: &str,
        user_reference: &str,
        idempotency_key: &str,
    ) -> Result<String, GatewayError>;
    /// Creates a checkout session for a credit pack (the key makes a retry return the same one).
    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError>;
    /// The session as the processor has it now (to confirm a payment server-side, never from the
    /// success page's word).
    async fn checkout_session(&self, id: &str) -> Result<CheckoutSession, GatewayError>;
    /// The customer's checkout sessions that can still be paid (`open`), newest first.
    async fn open_checkout_sessions(
        &self,
        customer: &str,
    ) -> Result<Vec<CheckoutSession>, GatewayError>;
    /// Closes an open checkout session so that it can no longer be paid.
    async fn expire_checkout_session(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError>;
    /// Refunds `amount` of a payment; `reference` (our refund id) is sent as
    /// `metadata[refund_id]` so the refund events can be matched to our record.
    async fn create_refund(
        &self,
        payment_intent: &str,
        amount: Money,
        reference: &str,
        idempotency_key: &str,
    ) -> Result<GatewayRefund, GatewayError>;
    /// The active prices with their products, for syncing packs and plans.
    async fn prices(&self) -> Result<Vec<GatewayPrice>, GatewayError>;
    /// A billing-portal session URL where the customer manages payment methods and invoices.
    async fn portal_url(&self, customer: &str, return_url: &str) -> Result<String, GatewayError>;
    /// Recent events, newest first (for reconciliation).
    async fn recent_events(&self, limit: u32) -> Result<Vec<WebhookEvent>, GatewayError>;

    // ----- subscriptions ------------------------------------------------------------------

    /// A checkout session in `subscription` mode for a recurring price; once paid, the session
    /// names the subscription it created.
    async fn create_subscription_checkout(
        &self,
        request: &SubscriptionCheckoutRequest,
        idempotency_key: &str,
    ) -> Result<CheckoutSession, GatewayError>;
    /// The subscription as the processor has it now.
    async fn subscription(&self, id: &str) -> Result<GatewaySubscription, GatewayError>;
    /// Cancels at the end of the period (undo with [`Self::resume_subscription`]) or now.
    async fn cancel_subscription(
        &self,
        id: &str,
        at: CancelAt,
        idempotency_key: &str,
    ) -> Result<GatewaySubscription, GatewayError>;
    /// Undoes a cancellation at the end of the period.
    async fn resume_subscription(
        &self,
        id: &str,
        idempotency_key: &str,
    ) -> Result<GatewaySubscription, GatewayError>;
    /// Moves the subscription to another recurring price (an upgrade or a downgrade).
    async fn change_subscription_price(
        &self,
        id: &str,
        price_id: &str,
        proration: Proration,
        idempotency_key: &str,
    ) -> Result<GatewaySubscription, GatewayError>;
    /// The invoice as the processor has it now.
    async fn invoice(&self, id: &str) -> Result<GatewayInvoice, GatewayError>;
    /// The customer's subscriptions that have not ended (any status but `canceled` and
    /// `incomplete_expired`), newest first (the processor's order, which also orders those made
    /// in the same second).
    async fn customer_subscriptions(
        &self,
        customer: &str,
    ) -> Result<Vec<GatewaySubscription>, GatewayError>;
}
