//! The notification store: each user's choices (a webhook endpoint, the completion email) and
//! the log of webhook deliveries with every attempt.

use async_trait::async_trait;
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;
use uuid::Uuid;

/// A user's webhook endpoint (at most one per user).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Whose it is.
    pub user: UserId,
    /// Where events are posted (an `http://` or `https://` address, checked by the app).
    pub url: String,
    /// What the signing secret is derived from: the secret itself is not stored (the app
    /// derives it from this and its own secret key, see docs/security.md).
    pub secret_seed: String,
    /// When it was registered (or its secret last replaced).
    pub created_at: OffsetDateTime,
}

/// What a user asked to be told when a run ends.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NotificationPreferences {
    /// The webhook endpoint, if any.
    pub webhook: Option<WebhookEndpoint>,
    /// "Email me when a background run finishes."
    pub email_background_runs: bool,
}

/// Where a delivery stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeliveryStatus {
    /// Not delivered yet; an attempt is queued (or running).
    Pending,
    /// The receiver answered 2xx.
    Succeeded,
    /// Every attempt failed; no more are scheduled (a replay may still be asked for).
    Failed,
}

impl DeliveryStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    /// The status named `text`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pending" => Some(DeliveryStatus::Pending),
            "succeeded" => Some(DeliveryStatus::Succeeded),
            "failed" => Some(DeliveryStatus::Failed),
            _ => None,
        }
    }
}

/// A webhook delivery to record: one event to one user's endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewDelivery {
    /// The delivery's id.
    pub id: Uuid,
    /// Whose endpoint.
    pub user: UserId,
    /// The event's id: a user gets one delivery per event.
    pub event_id: String,
    /// `run.succeeded` or `run.failed`.
    pub event_type: String,
    /// The body, exactly as it is signed and sent (every attempt sends the same bytes).
    pub payload: String,
    /// The address it goes to (the endpoint's when the event happened).
    pub url: String,
    /// When it was recorded.
    pub created_at: OffsetDateTime,
}

/// A recorded delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookDelivery {
    /// What was recorded.
    pub delivery: NewDelivery,
    /// Where it stands.
    pub status: DeliveryStatus,
    /// Attempts made so far (automatic and replays).
    pub attempts: u32,
    /// When the next automatic attempt is due, while one is scheduled.
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When a receiver first answered 2xx.
    pub delivered_at: Option<OffsetDateTime>,
}

/// How one attempt went.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttemptOutcome {
    /// When it was made.
    pub at: OffsetDateTime,
    /// The receiver's HTTP status, when it answered.
    pub status_code: Option<u16>,
    /// What went wrong (no answer, a refused address, a non-2xx answer), if anything did.
    pub error: Option<String>,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// True for a replay asked for by the user.
    pub replay: bool,
}

impl AttemptOutcome {
    /// True when the receiver answered 2xx.
    pub fn succeeded(&self) -> bool {
        self.status_code
            .is_some_and(|code| (200..300).contains(&code))
    }
}

/// One recorded attempt of a delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryAttempt {
    /// Its number in the delivery (1, 2, ...).
    pub number: u32,
    /// How it went.
    pub outcome: AttemptOutcome,
}

/// Users' notification choices and their webhook deliveries.
#[async_trait]
pub trait NotificationStore: Send + Sync {
    /// The user's choices (none made: no webhook, no email).
    async fn preferences(&self, user: UserId) -> Result<NotificationPreferences, StorageError>;

    /// Registers (or replaces) the user's webhook endpoint.
    async fn set_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StorageError>;

    /// Removes the user's endpoint; true when there was one.
    async fn remove_webhook(&self, user: UserId) -> Result<bool, StorageError>;

    /// Sets "email me when a background run finishes".
    async fn set_email_background_runs(&self, user: UserId, on: bool) -> Result<(), StorageError>;

    /// Records a pending delivery; `false` (and nothing changed) when this user already has a
    /// delivery of this event.
    async fn create_delivery(&self, delivery: &NewDelivery) -> Result<bool, StorageError>;

    /// The delivery with this id.
    async fn delivery(&self, id: Uuid) -> Result<Option<WebhookDelivery>, StorageError>;

    /// Records an attempt: it gets the next number, and the delivery becomes `status` with its
    /// next automatic attempt at `next_attempt_at` (a success also sets `delivered_at` the first
    /// time). Returns the attempt's number.
    async fn record_attempt(
        &self,
        delivery: Uuid,
        outcome: &AttemptOutcome,
        status: DeliveryStatus,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<u32, StorageError>;

    /// The user's latest deliveries, newest first, each with its attempts in order.
    async fn deliveries(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<(WebhookDelivery, Vec<DeliveryAttempt>)>, StorageError>;
}
