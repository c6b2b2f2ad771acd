//! The audit log: who did what to whom, when, with the state before and after.

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StorageError;

/// One admin action.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct AuditEntry {
    /// Time-ordered (UUID v7), so sorting by id is sorting by time.
    pub id: Uuid,
    /// When the action happened, by the app's clock.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// The acting admin's user id; the nil UUID when the app acted on its own (an automatic
    /// refund).
    pub actor: Uuid,
    /// The actor's email at the time (kept readable even if the account is deleted later).
    pub actor_label: String,
    /// A short verb: `user.role_changed`, `user.deactivated`, `credits.added` ...
    pub action: String,
    /// The user or object acted on, when the action had one.
    pub subject: Option<Uuid>,
    /// The subject as a person reads it (an email, a subscription reference), kept for the same
    /// reason as `actor_label`; empty when there is no subject.
    pub subject_label: String,
    /// The part of the subject's state the action changed, as it was before (`null` when nothing
    /// existed before).
    pub before: serde_json::Value,
    /// The same part after the action.
    pub after: serde_json::Value,
}

/// Filters over the audit log, newest first.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AuditQuery {
    /// Only entries by this admin.
    pub actor: Option<Uuid>,
    /// Only entries about this subject.
    pub subject: Option<Uuid>,
    /// Matches actions starting with this text (`user.` for every user action).
    pub action_prefix: Option<String>,
    /// How many of the newest matches to skip (for pages).
    pub offset: u64,
    /// The most entries to return.
    pub limit: u32,
}

/// Where admin actions are kept. Entries are only ever appended: the log is evidence, so there is
/// no update or delete.
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Appends one entry.
    async fn record(&self, entry: &AuditEntry) -> Result<(), StorageError>;
    /// The entries matching `query`, newest first.
    async fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError>;
}
