//! Single-use tokens (email verification, password reset), stored by their hash.

use async_trait::async_trait;
use quickscale_domain_identity::{TokenPurpose, TokenRecord, TokenRepository, UserId};
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;

use super::Row;
use super::accounts::SqlAccountStores;
use super::row::{get, time_of};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, storage_error};

crate::sql::traced_store! { "tokens",
#[async_trait]
impl TokenRepository for SqlAccountStores {
    async fn issue(&self, hash: &str, record: &TokenRecord) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO tokens (hash, user_id, purpose, payload, created_at, expires_at) VALUES \
             ($1, $2, $3, $4, $5, $6)",
        )
        .bind(hash)
        .bind(record.user.as_uuid())
        .bind(record.purpose.as_str())
        .bind(record.payload.as_deref())
        .bind(DbTime(record.created_at))
        .bind(DbTime(record.expires_at))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn consume(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StorageError> {
        let row = sqlx::query(
            "UPDATE tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL \
             AND expires_at > $1 RETURNING user_id, payload, created_at, expires_at",
        )
        .bind(DbTime(now))
        .bind(hash)
        .bind(purpose.as_str())
        .fetch_optional(self.db.writer())
        .await
        .map_err(storage_error)?;
        row.map(|row| token_from_row(&row, purpose)).transpose()
    }

    async fn find(
        &self,
        purpose: TokenPurpose,
        hash: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenRecord>, StorageError> {
        let row = sqlx::query(
            "SELECT user_id, payload, created_at, expires_at FROM tokens WHERE hash = $1 \
             AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(hash)
        .bind(purpose.as_str())
        .bind(DbTime(now))
        .fetch_optional(self.db.reader())
        .await
        .map_err(storage_error)?;
        row.map(|row| token_from_row(&row, purpose)).transpose()
    }

    async fn revoke_all(&self, user: UserId, purpose: TokenPurpose) -> Result<u64, StorageError> {
        let result = sqlx::query(
            "UPDATE tokens SET used_at = created_at WHERE user_id = $1 AND purpose = $2 AND \
             used_at IS NULL",
        )
        .bind(user.as_uuid())
        .bind(purpose.as_str())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(result.rows_affected())
    }

    async fn issued_since(
        &self,
        user: UserId,
        purpose: TokenPurpose,
        since: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let count: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM tokens WHERE user_id = $1 AND purpose = $2 AND created_at >= $3",
        )
        .bind(user.as_uuid())
        .bind(purpose.as_str())
        .bind(DbTime(since))
        .fetch_one(self.db.reader())
        .await
        .map_err(storage_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}
}

fn token_from_row(row: &Row, purpose: TokenPurpose) -> Result<TokenRecord, StorageError> {
    Ok(TokenRecord {
        user: UserId::from_uuid(get(row, "user_id")?),
        purpose,
        payload: get(row, "payload")?,
        created_at: time_of(row, "created_at")?,
        expires_at: time_of(row, "expires_at")?,
    })
}
