//! The billing store port.

use async_trait::async_trait;
use quickscale_domain_credits::Credits;
use quickscale_domain_kernel::StorageError;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::{
    BillingReview, CheckoutRecord, CreditPack, Money, PackId, Payment, PaymentId, PaymentStatus,
    Refund, ReviewKind, WebhookEvent,
};

/// Why a refund could not be reserved.
#[derive(Debug, thiserror::Error)]
pub enum ReserveError {
    #[error("no such payment")]
    UnknownPayment,
    #[error("only {refundable} can still be refunded")]
    TooMuch { refundable: Money },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Where an event in the inbox stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventStatus {
    Pending,
    Processed,
    Failed,
}

impl EventStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "pending",
            EventStatus::Processed => "processed",
            EventStatus::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            EventStatus::Pending,
            EventStatus::Processed,
            EventStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A webhook event in the inbox with its processing state.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct InboxEvent {
    pub event: WebhookEvent,
    pub status: EventStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option")]
    pub processed_at: Option<OffsetDateTime>,
}

/// Filters over payments, for admins.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PaymentQuery {
    pub user: Option<Uuid>,
    /// Matches the receipt number, the checkout session or the payment intent exactly.
    pub reference: Option<String>,
    pub status: Option<PaymentStatus>,
    pub min_amount: Option<i64>,
    pub max_amount: Option<i64>,
    pub from: Option<OffsetDateTime>,
    pub until: Option<OffsetDateTime>,
    pub offset: u64,
    pub limit: u32,
}

/// Filters over inbox events, for admins.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct EventQuery {
    pub status: Option<EventStatus>,
    pub kind: Option<String>,
    pub object_ids: Vec<String>,
    /// How many of the newest matches to skip (for pages).
    pub offset: u64,
    pub limit: u32,
}

/// The billing store.
#[async_trait]
pub trait BillingRepository: Send + Sync {
    async fn packs(&self, active_only: bool) -> Result<Vec<CreditPack>, StorageError>;
    async fn pack(&self, id: PackId) -> Result<Option<CreditPack>, StorageError>;
    /// Inserts or replaces a pack by id.
    async fn save_pack(&self, pack: &CreditPack) -> Result<(), StorageError>;

    async fn customer_of(&self, user: Uuid) -> Result<Option<String>, StorageError>;
    /// The user whose customer this is, if it is one of ours.
    async fn user_of_customer(&self, customer: &str) -> Result<Option<Uuid>, StorageError>;
    /// Stores the user's customer id; the first one stored wins and is returned.
    async fn save_customer(&self, user: Uuid, customer: &str) -> Result<String, StorageError>;

    async fn save_checkout(&self, checkout: &CheckoutRecord) -> Result<(), StorageError>;
    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, StorageError>;

    /// Records the payment of a checkout session once (a unique index on the session);
    /// returns the stored payment and whether this call created it.
    async fn record_payment(&self, payment: &Payment) -> Result<(Payment, bool), StorageError>;
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StorageError>;
    async fn payment_by_session(&self, session_id: &str) -> Result<Option<Payment>, StorageError>;
    async fn payment_by_intent(&self, intent: &str) -> Result<Option<Payment>, StorageError>;
    /// Newest first, with the number of all matches.
    async fn payments(&self, query: &PaymentQuery) -> Result<(Vec<Payment>, u64), StorageError>;

    /// Reserves a refund against a payment, in one transaction that holds the payment:
    /// pending and succeeded refunds plus this one never exceed the amount paid.
    async fn reserve_refund(
        &self,
        payment: PaymentId,
        amount: Money,
        reason: &str,
        requested_by: Option<Uuid>,
        now: OffsetDateTime,
    ) -> Result<Refund, ReserveError>;
    /// Marks a refund succeeded with the processor's id (idempotent) and updates the payment's
    /// refunded total and status.
    async fn complete_refund(
        &self,
        refund: Uuid,
        gateway_refund: &str,
    ) -> Result<Refund, StorageError>;
    /// Records what the credit clawback of a refund took and could not take.
    async fn set_refund_credits(
        &self,
        refund: Uuid,
        clawed: Credits,
        shortfall: Credits,
    ) -> Result<(), StorageError>;
    /// Releases a reservation the processor refused.
    async fn fail_refund(&self, refund: Uuid, error: &str) -> Result<(), StorageError>;
    /// A refund made outside the app (the processor's dashboard), recorded once by its id.
    async fn record_external_refund(
        &self,
        payment: PaymentId,
        gateway_refund: &str,
        amount: Money,
        now: OffsetDateTime,
    ) -> Result<Refund, StorageError>;
    async fn refund(&self, id: Uuid) -> Result<Option<Refund>, StorageError>;
    async fn refunds_of(&self, payment: PaymentId) -> Result<Vec<Refund>, StorageError>;

    /// Stores an event once by its id; false when it was already there.
    async fn store_event(
        &self,
        event: &WebhookEvent,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError>;
    async fn event(&self, id: &str) -> Result<Option<InboxEvent>, StorageError>;
    async fn mark_processed(&self, id: &str, now: OffsetDateTime) -> Result<(), StorageError>;
    async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: OffsetDateTime,
    ) -> Result<(), StorageError>;
    /// Pending events, and failed ones whose next attempt is due, oldest first.
    async fn due_events(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<InboxEvent>, StorageError>;
    /// Newest first.
    async fn events(&self, query: &EventQuery) -> Result<Vec<InboxEvent>, StorageError>;

    /// Records a review once per kind and reference; returns the stored review and whether
    /// this call created it.
    async fn record_review(
        &self,
        review: &BillingReview,
    ) -> Result<(BillingReview, bool), StorageError>;
    async fn review(
        &self,
        kind: ReviewKind,
        reference: &str,
    ) -> Result<Option<BillingReview>, StorageError>;
    /// Notes that the review's automatic action is done; true only for the call that did.
    async fn settle_review(&self, id: Uuid, now: OffsetDateTime) -> Result<bool, StorageError>;
    /// Newest first; only those no admin has resolved when `open_only`.
    async fn reviews(
        &self,
        open_only: bool,
        limit: u32,
    ) -> Result<Vec<BillingReview>, StorageError>;
    /// An admin marks a review done (the first resolution stands); `None` when there is no such
    /// review.
    async fn resolve_review(
        &self,
        id: Uuid,
        admin: Uuid,
        now: OffsetDateTime,
    ) -> Result<Option<BillingReview>, StorageError>;
}
