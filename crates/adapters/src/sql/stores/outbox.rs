//! The email outbox.

use async_trait::async_trait;
use quickscale_domain_kernel::{
    EmailMessage, OutboxCounts, OutboxMessage, OutboxQuery, OutboxStatus, OutboxStore, StorageError,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::Row;
use super::accounts::SqlAccountStores;
use super::row::{get, optional_time, time_of};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, parse, storage_error};

fn outbox_from_row(row: &Row) -> Result<OutboxMessage, StorageError> {
    let status: String = get(row, "status")?;
    Ok(OutboxMessage {
        id: get(row, "id")?,
        message: parse(
            "outbox message",
            serde_json::from_str::<EmailMessage>(&get::<String>(row, "message")?),
        )?,
        status: OutboxStatus::parse(&status)
            .ok_or_else(|| StorageError::corrupt(format!("outbox status {status}")))?,
        attempts: parse("attempts", u32::try_from(get::<i32>(row, "attempts")?))?,
        last_error: get(row, "last_error")?,
        next_attempt_at: optional_time(row, "next_attempt_at")?,
        created_at: time_of(row, "created_at")?,
        sent_at: optional_time(row, "sent_at")?,
    })
}

const OUTBOX_COLUMNS: &str =
    "id, message, status, attempts, last_error, next_attempt_at, created_at, sent_at";

crate::sql::traced_store! { "outbox",
#[async_trait]
impl OutboxStore for SqlAccountStores {
    async fn enqueue(
        &self,
        message: &EmailMessage,
        now: OffsetDateTime,
    ) -> Result<Uuid, StorageError> {
        let id = Uuid::now_v7();
        let json =
            serde_json::to_string(message).map_err(|e| StorageError::corrupt(e.to_string()))?;
        sqlx::query(
            "INSERT INTO outbox (id, recipient, message, status, created_at) VALUES ($1, $2, $3, \
             'queued', $4)",
        )
        .bind(id)
        .bind(message.to.as_str())
        .bind(json)
        .bind(DbTime(now))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(id)
    }

    async fn due(
        &self,
        now: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StorageError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'queued' \
             OR (status = 'failed' AND next_attempt_at <= $1) ORDER BY created_at, id LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(DbTime(now))
            .bind(i64::from(limit))
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(outbox_from_row)
            .collect()
    }

    async fn mark_sent(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, \
             next_attempt_at = NULL WHERE id = $2",
        )
        .bind(DbTime(now))
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn mark_failed(
        &self,
        id: Uuid,
        error: &str,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $1, \
             next_attempt_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(next_attempt_at.map(DbTime))
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn get(&self, id: Uuid) -> Result<Option<OutboxMessage>, StorageError> {
        let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(outbox_from_row)
            .transpose()
    }

    async fn list(&self, q: &OutboxQuery) -> Result<Vec<OutboxMessage>, StorageError> {
        let sql = format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL \
             OR recipient = $2) ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(q.status.map(|s| s.as_str()))
            .bind(q.to.as_deref())
            .bind(i64::from(q.limit.clamp(1, 500)))
            .bind(i64::try_from(q.offset).unwrap_or(i64::MAX))
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(outbox_from_row)
            .collect()
    }

    async fn counts(&self) -> Result<OutboxCounts, StorageError> {
        let (pending, failed): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(CASE WHEN status = 'queued' OR (status = 'failed' AND next_attempt_at \
             IS NOT NULL) THEN 1 END), COUNT(CASE WHEN status = 'failed' AND next_attempt_at IS \
             NULL THEN 1 END) FROM outbox",
        )
        .fetch_one(self.db.reader())
        .await
        .map_err(storage_error)?;
        Ok(OutboxCounts {
            pending: u64::try_from(pending).unwrap_or(0),
            failed: u64::try_from(failed).unwrap_or(0),
        })
    }
}
}
