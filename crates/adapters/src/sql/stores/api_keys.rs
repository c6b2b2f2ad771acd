//! API keys, stored by their hash.

use async_trait::async_trait;
use quickscale_domain_identity::{
    ApiKey, ApiKeyError, ApiKeyId, ApiKeyRepository, KeyLimits, UserId,
};
use quickscale_domain_kernel::{StorageError, StorageFailure};
use time::OffsetDateTime;
use uuid::Uuid;

use super::accounts::SqlAccountStores;
use super::row::{cents, get, optional_time, time_of};
use super::{Database, Row};
use crate::sql::time::DbTime;
use crate::sql::{Backend, is_unique_violation, parse, storage_error};

const API_KEY_COLUMNS: &str =
    "id, user_id, name, shown, created_at, last_used_at, revoked_at, per_minute, monthly_cap_cents";

fn api_key_from_row(row: &Row) -> Result<ApiKey, StorageError> {
    Ok(ApiKey {
        id: ApiKeyId(get(row, "id")?),
        user: UserId::from_uuid(get(row, "user_id")?),
        name: get(row, "name")?,
        shown: get(row, "shown")?,
        created_at: time_of(row, "created_at")?,
        last_used_at: optional_time(row, "last_used_at")?,
        revoked_at: optional_time(row, "revoked_at")?,
        limits: KeyLimits {
            per_minute: get::<Option<i64>>(row, "per_minute")?
                .map(|n| parse("key rate", u32::try_from(n)))
                .transpose()?,
            monthly_credits: get::<Option<i64>>(row, "monthly_cap_cents")?
                .map(|c| cents("key cap", c))
                .transpose()?,
        },
    })
}

crate::sql::traced_store! { "api_keys",
#[async_trait]
impl ApiKeyRepository for SqlAccountStores {
    async fn create(&self, key: &ApiKey, hash: &str, max_active: u64) -> Result<(), ApiKeyError> {
        // The user's row is the lock (PostgreSQL); SQLite's write transaction excludes
        // other writers from the start. Either way two creates cannot both pass the count.
        let mut tx = self.db.begin_write().await?;
        let user: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT id FROM users WHERE id = $1{}",
            Database::FOR_UPDATE
        )))
        .bind(key.user.as_uuid())
        .fetch_optional(&mut *tx)
        .await
        .map_err(storage_error)?;
        if user.is_none() {
            return Err(StorageError::new(
                StorageFailure::Other,
                format!("no user {} to hold an API key", key.user.as_uuid()),
            )
            .into());
        }
        let active: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(key.user.as_uuid())
        .fetch_one(&mut *tx)
        .await
        .map_err(storage_error)?;
        if u64::try_from(active).unwrap_or_default() >= max_active {
            return Err(ApiKeyError::TooMany);
        }
        let inserted = sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, shown, key_hash, created_at, last_used_at, \
             revoked_at, per_minute, monthly_cap_cents) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, \
             $9, $10)",
        )
        .bind(key.id.0)
        .bind(key.user.as_uuid())
        .bind(key.name.as_str())
        .bind(key.shown.as_str())
        .bind(hash)
        .bind(DbTime(key.created_at))
        .bind(key.last_used_at.map(DbTime))
        .bind(key.revoked_at.map(DbTime))
        .bind(key.limits.per_minute.map(i64::from))
        .bind(key.limits.monthly_credits.map(|c| c.cents()))
        .execute(&mut *tx)
        .await;
        match inserted {
            Ok(_) => {}
            Err(e) if is_unique_violation(&e) => {
                return Err(StorageError::with_source(
                    StorageFailure::Other,
                    "an API key with this id or hash is stored already",
                    e,
                )
                .into());
            }
            Err(e) => return Err(storage_error(e).into()),
        }
        tx.commit().await.map_err(storage_error)?;
        Ok(())
    }

    async fn authenticate(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<ApiKey>, StorageError> {
        let sql = format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL"
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(hash)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
        else {
            return Ok(None);
        };
        let mut key = api_key_from_row(&row)?;
        // Read first and write only when the last use is a minute old, so that a busy key
        // does not take the writer on every request.
        let stale = now - time::Duration::MINUTE;
        if key.last_used_at.is_none_or(|t| t <= stale) {
            let written = sqlx::query(
                "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL \
                 AND (last_used_at IS NULL OR last_used_at <= $3)",
            )
            .bind(DbTime(now))
            .bind(key.id.0)
            .bind(DbTime(stale))
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
            if written.rows_affected() == 1 {
                key.last_used_at = Some(now);
            }
        }
        Ok(Some(key))
    }

    async fn list(&self, user: UserId) -> Result<Vec<ApiKey>, StorageError> {
        let sql = format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, \
             id DESC"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.as_uuid())
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(api_key_from_row)
            .collect()
    }

    async fn revoke(
        &self,
        user: UserId,
        id: ApiKeyId,
        now: OffsetDateTime,
    ) -> Result<bool, StorageError> {
        let result = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS \
             NULL",
        )
        .bind(DbTime(now))
        .bind(id.0)
        .bind(user.as_uuid())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn revoke_all(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StorageError> {
        let result = sqlx::query(
            "UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL",
        )
        .bind(DbTime(now))
        .bind(user.as_uuid())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(result.rows_affected())
    }

    async fn set_limits(
        &self,
        user: UserId,
        id: ApiKeyId,
        limits: KeyLimits,
    ) -> Result<bool, StorageError> {
        let result = sqlx::query(
            "UPDATE api_keys SET per_minute = $1, monthly_cap_cents = $2 WHERE id = $3 AND \
             user_id = $4 AND revoked_at IS NULL",
        )
        .bind(limits.per_minute.map(i64::from))
        .bind(limits.monthly_credits.map(|c| c.cents()))
        .bind(id.0)
        .bind(user.as_uuid())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(result.rows_affected() == 1)
    }
}
}
