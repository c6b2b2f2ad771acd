//! The outbox: every email is stored before it is sent, then sent (and retried with backoff)
//! by a worker, so a message is never lost because the mail server is down.

use async_trait::async_trait;
use serde::Serialize;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::{EmailMessage, StorageError};

/// Where a message stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutboxStatus {
    /// Stored, not yet tried.
    Queued,
    /// Handed to the mail server; no further attempt is made.
    Sent,
    /// The last attempt failed; another is scheduled (or attempts are exhausted).
    Failed,
}

impl OutboxStatus {
    /// The name stored in the database and used in admin filters.
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Queued => "queued",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Failed => "failed",
        }
    }

    /// The status stored under `text`; `None` for anything else, so a corrupt row is noticed.
    pub fn parse(text: &str) -> Option<Self> {
        [
            OutboxStatus::Queued,
            OutboxStatus::Sent,
            OutboxStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// A stored message and its delivery state.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct OutboxMessage {
    /// Time-ordered (UUID v7).
    pub id: Uuid,
    /// The message as it will be sent.
    pub message: EmailMessage,
    /// Where delivery stands.
    pub status: OutboxStatus,
    /// Failed attempts so far.
    pub attempts: u32,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// When the worker tries next; `None` once sent or given up.
    #[serde(with = "time::serde::rfc3339::option")]
    pub next_attempt_at: Option<OffsetDateTime>,
    /// When the message was queued.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When the mail server accepted it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub sent_at: Option<OffsetDateTime>,
}

/// Stop retrying after this many attempts (about a day with the backoff below).
pub const MAX_ATTEMPTS: u32 = 12;

/// The wait before the next attempt after `attempts` failures: 30 s doubling, at most 4 hours.
pub fn retry_delay(attempts: u32) -> Duration {
    Duration::seconds(30i64.saturating_mul(1i64 << attempts.min(12))).min(Duration::hours(4))
}

/// How many messages wait, for metrics and the operator's pages.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct OutboxCounts {
    /// Queued, or failed with another attempt scheduled: still to be delivered.
    pub pending: u64,
    /// Failed with no attempt left (given up).
    pub failed: u64,
}

/// Filters over the outbox, newest first (the admin's list of sent mail).
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct OutboxQuery {
    /// Only messages in this state.
    pub status: Option<OutboxStatus>,
    /// Only messages to this address.
    pub to: Option<String>,
    /// How many of the newest matches to skip (for pages).
    pub offset: u64,
    /// The most messages to return.
    pub limit: u32,
}

/// The stored queue of outgoing email, shared by every app instance so that any worker can send
/// what another queued.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Stores a message as queued and returns its id; the worker sends it later.
    async fn enqueue(
        &self,
        message: &EmailMessage,
        now: OffsetDateTime,
    ) -> Result<Uuid, StorageError>;
    /// Queued messages, and failed ones whose next attempt is due, oldest first.
    async fn due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StorageError>;
    /// Records a delivered message, so it is never sent again.
    async fn mark_sent(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StorageError>;
    /// Records a failed attempt; `next_attempt_at` of `None` gives up.
    async fn mark_failed(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError>;
    /// One message by id.
    async fn get(&self, id: Uuid) -> Result<Option<OutboxMessage>, StorageError>;
    /// Newest first.
    async fn list(&self, query: &OutboxQuery) -> Result<Vec<OutboxMessage>, StorageError>;
    /// How many messages are still to be delivered, and how many were given up on.
    async fn counts(&self) -> Result<OutboxCounts, StorageError>;
}
