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
#[non_exhaustive]
pub enum ReserveError {
    /// The payment does not exist.
    #[error("no such payment")]
    UnknownPayment,
    /// Pending and succeeded refunds leave less than this one asks for (another refund may
    /// have been reserved since the check before the call).
    #[error("only {refundable} can still be refunded")]
    TooMuch {
        /// What is left to refund.
        refundable: Money,
    },
    /// The store failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// Where an event in the inbox stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum EventStatus {
    /// Stored, not processed yet.
    Pending,
    /// Its effect is done; it is never processed again.
    Processed,
    /// The last attempt failed; another is scheduled with backoff, or an admin replays it.
    Failed,
}

impl EventStatus {
    /// The name stored in the database and used in the admin's filter.
    pub fn as_str(self) -> &'static str {
        match self {
            EventStatus::Pending => "pending",
            EventStatus::Processed => "processed",
            EventStatus::Failed => "failed",
        }
    }

    /// The status stored under `text`; `None` for anything else.
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
    /// The event as received (verified).
    pub event: WebhookEvent,
    /// Where processing stands.
    pub status: EventStatus,
    /// Processing attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the next attempt is due, for a failed event.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When it arrived.
    #[serde(with = "time::serde::rfc3339")]
    pub received_at: OffsetDateTime,
    /// When its effect was done.
    #[serde(with = "time::serde::rfc3339::option")]
    pub processed_at: Option<OffsetDateTime>,
}

/// Filters over payments, for admins.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct PaymentQuery {
    /// Only this user's payments.
    pub user: Option<Uuid>,
    /// Matches the receipt number, the checkout session or the payment intent exactly.
    pub reference: Option<String>,
    /// Only payments in this state.
    pub status: Option<PaymentStatus>,
    /// Only payments of at least this many minor units.
    pub min_amount: Option<i64>,
    /// Only payments of at most this many minor units.
    pub max_amount: Option<i64>,
    /// Only payments made at or after this instant.
    pub from: Option<OffsetDateTime>,
    /// Only payments made before this instant.
    pub until: Option<OffsetDateTime>,
    /// How many of the newest matches to skip (for pages).
    pub offset: u64,
    /// The most payments to return.
    pub limit: u32,
}

/// Filters over inbox events, for admins.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct EventQuery {
    /// Only events in this state.
    pub status: Option<EventStatus>,
    /// Only events of this type (`checkout.session.completed`).
    pub kind: Option<String>,
    /// Only events about one of these processor objects (a payment's session, intent and charge);
    /// empty for any.
    pub object_ids: Vec<String>,
    /// How many of the newest matches to skip (for pages).
    pub offset: u64,
    /// The most events to return.
    pub limit: u32,
}

/// The billing store.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait BillingRepository: Send + Sync {
    /// Every pack, or only those for sale, in display order.
    async fn packs(&self, active_only: bool) -> Result<Vec<CreditPack>, StorageError>;
    /// One pack, active or not.
    async fn pack(&self, id: PackId) -> Result<Option<CreditPack>, StorageError>;
    /// Inserts or replaces a pack by id.
    async fn save_pack(&self, pack: &CreditPack) -> Result<(), StorageError>;

    /// The user's customer id at the processor, once one was made.
    async fn customer_of(&self, user: Uuid) -> Result<Option<String>, StorageError>;
    /// The user whose customer this is, if it is one of ours.
    async fn user_of_customer(&self, customer: &str) -> Result<Option<Uuid>, StorageError>;
    /// Stores the user's customer id; the first one stored wins and is returned.
    async fn save_customer(&self, user: Uuid, customer: &str) -> Result<String, StorageError>;

    /// Remembers a checkout the app started, with the price it promised.
    async fn save_checkout(&self, checkout: &CheckoutRecord) -> Result<(), StorageError>;
    /// The checkout the app started under this session id, if it did.
    async fn checkout(&self, session_id: &str) -> Result<Option<CheckoutRecord>, StorageError>;

    /// Records the payment of a checkout session once (a unique index on the session);
    /// returns the stored payment and whether this call created it.
    async fn record_payment(&self, payment: &Payment) -> Result<(Payment, bool), StorageError>;
    /// One payment.
    async fn payment(&self, id: PaymentId) -> Result<Option<Payment>, StorageError>;
    /// The payment of a checkout session.
    async fn payment_by_session(&self, session_id: &str) -> Result<Option<Payment>, StorageError>;
    /// The payment with this processor payment id (refund events name it).
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
    /// One refund.
    async fn refund(&self, id: Uuid) -> Result<Option<Refund>, StorageError>;
    /// Every refund of a payment, oldest first.
    async fn refunds_of(&self, payment: PaymentId) -> Result<Vec<Refund>, StorageError>;

    /// Stores an event once by its id; false when it was already there.
    async fn store_event(
        &self,
        event: &WebhookEvent,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError>;
    /// One inbox event.
    async fn event(&self, id: &str) -> Result<Option<InboxEvent>, StorageError>;
    /// Marks an event's effect done.
    async fn mark_processed(&self, id: &str, now: OffsetDateTime) -> Result<(), StorageError>;
    /// Records a failed attempt and when to try again.
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
    /// The review of this kind about this reference.
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
