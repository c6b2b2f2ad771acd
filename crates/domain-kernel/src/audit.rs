//! The audit log: who did what to whom, when, with the state before and after.

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::StorageError;

/// One admin action.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct AuditEntry {
    pub id: Uuid,
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    pub actor: Uuid,
    /// The actor's email at the time (kept readable even if the account is deleted later).
    pub actor_label: String,
    /// A short verb: `user.role_changed`, `user.deactivated`, `credits.added` ...
    pub action: String,
    pub subject: Option<Uuid>,
    pub subject_label: String,
    pub before: serde_json::Value,
    pub after: serde_json::Value,
}

/// Filters over the audit log, newest first.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AuditQuery {
    pub actor: Option<Uuid>,
    pub subject: Option<Uuid>,
    /// Matches actions starting with this text (`user.` for every user action).
    pub action_prefix: Option<String>,
    pub offset: u64,
    pub limit: u32,
}

#[async_trait]
pub trait AuditLog: Send + Sync {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StorageError>;
    async fn list(&self, query: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError>;
}
