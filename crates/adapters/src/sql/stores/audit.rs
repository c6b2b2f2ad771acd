//! The audit log.

use async_trait::async_trait;
use quickscale_domain_kernel::{AuditEntry, AuditLog, AuditQuery, StorageError};

use super::Row;
use super::accounts::SqlAccountStores;
use super::row::{get, time_of};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, parse, storage_error};

fn audit_from_row(row: &Row) -> Result<AuditEntry, StorageError> {
    let json = |column: &str| -> Result<serde_json::Value, StorageError> {
        parse(
            "audit state",
            serde_json::from_str(&get::<String>(row, column)?),
        )
    };
    Ok(AuditEntry {
        id: get(row, "id")?,
        at: time_of(row, "at")?,
        actor: get(row, "actor")?,
        actor_label: get(row, "actor_label")?,
        action: get(row, "action")?,
        subject: get(row, "subject")?,
        subject_label: get(row, "subject_label")?,
        before: json("before_state")?,
        after: json("after_state")?,
    })
}

crate::sql::traced_store! { "audit",
#[async_trait]
impl AuditLog for SqlAccountStores {
    async fn record(&self, entry: &AuditEntry) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO audit_log (id, at, actor, actor_label, action, subject, subject_label, \
             before_state, after_state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(entry.id)
        .bind(DbTime(entry.at))
        .bind(entry.actor)
        .bind(entry.actor_label.as_str())
        .bind(entry.action.as_str())
        .bind(entry.subject)
        .bind(entry.subject_label.as_str())
        .bind(entry.before.to_string())
        .bind(entry.after.to_string())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn list(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
        let prefix = q
            .action_prefix
            .as_deref()
            .map(|p| format!("{}%", p.replace(['%', '_', '\\'], "")));
        sqlx::query(
            "SELECT id, at, actor, actor_label, action, subject, subject_label, before_state, \
             after_state FROM audit_log WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR \
             subject = $2) AND ($3 IS NULL OR action LIKE $3) ORDER BY at DESC, id DESC LIMIT $4 \
             OFFSET $5",
        )
        .bind(q.actor)
        .bind(q.subject)
        .bind(prefix)
        .bind(i64::from(q.limit.clamp(1, 500)))
        .bind(i64::try_from(q.offset).unwrap_or(i64::MAX))
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?
        .iter()
        .map(audit_from_row)
        .collect()
    }
}
}
