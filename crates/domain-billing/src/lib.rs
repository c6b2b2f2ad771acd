#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! # QuickScale billing
//!
//! Money in minor units with its currency, credit packs, payments and refunds, the
//! [`PaymentGateway`] port (Stripe, or its offline stand-in), webhook signature checks and the
//! [`Billing`] use cases: checkout, the webhook inbox's processing, refunds and reconciliation.
//! Stripe is the truth for money and our database for credits.

mod billing;
mod gateway;
mod money;
mod pack;
mod payment;
mod refund;
mod repository;
mod review;
mod subscribing;
pub use subscribing::Synced;
mod subscription;
mod webhook;

pub use billing::{
    Billing, BillingError, EventOutcome, ReceiveError, ReconcileReport, retry_delay,
};
pub use gateway::{
    CancelAt, CheckoutRequest, CheckoutSession, GatewayError, GatewayInvoice, GatewayPrice,
    GatewayRefund, GatewaySubscription, Interval, PaymentGateway, Proration, Recurring,
    SubscriptionCheckoutRequest,
};
pub use money::{Currency, CurrencyError, Money, MoneyError};
pub use pack::{CreditPack, PackError, PackId};
pub use payment::{CheckoutRecord, Payment, PaymentId, PaymentStatus, Refund, RefundStatus};
pub use refund::{RefundError, check_refund, credits_for_refund};
pub use repository::{
    BillingRepository, EventQuery, EventStatus, InboxEvent, PaymentQuery, ReserveError,
};
pub use review::{BillingReview, ReviewKind, amount_label};
pub use subscription::{Plan, PlanId, Subscription, SubscriptionRepository};
pub use webhook::{
    DEFAULT_TOLERANCE_SECONDS, EventError, SignatureError, WebhookEvent, sign, verify_signature,
};
