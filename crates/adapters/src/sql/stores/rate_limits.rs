//! Rate-limit budgets in a table, shared by every instance on the database.
//!
//! One statement spends a request: an upsert whose update only happens when the budget allows
//! it (GCRA, as `Quota::spend`: the theoretical arrival time moves one interval on from itself
//! or from now, whichever is later, and may be at most `burst` intervals ahead of now). The row
//! it returns says "allowed"; no row says "refused", and a second read says for how long. In
//! PostgreSQL the upsert holds the row while it decides, so concurrent instances queue on it;
//! in SQLite the single writer does the same.

use async_trait::async_trait;
use quickscale_domain_kernel::StorageError;
use quickscale_domain_kernel::rate_limit::{Decision, Micros, Quota, RateLimitStore};

use super::Database;
use crate::sql::{Backend as _, storage_error};

/// Rate-limit budgets in the `rate_limit_buckets` table.
#[derive(Clone, Debug)]
pub struct SqlRateLimits {
    db: Database,
}

impl SqlRateLimits {
    pub fn new(db: Database) -> Self {
        SqlRateLimits { db }
    }

    async fn tat(&self, scope: &str, key: &str) -> Result<Option<Micros>, StorageError> {
        sqlx::query_scalar::<_, i64>(
            "SELECT tat_us FROM rate_limit_buckets WHERE scope = $1 AND key = $2",
        )
        .bind(scope)
        .bind(key)
        .fetch_optional(self.db.writer())
        .await
        .map_err(storage_error)
    }
}

crate::sql::traced_store! { "rate_limits",
#[async_trait]
impl RateLimitStore for SqlRateLimits {
    async fn spend(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError> {
        // $3 now, $4 the interval, $5 the capacity (burst intervals). A new row is always
        // allowed (burst is at least 1).
        let allowed = sqlx::query_scalar::<_, i64>(
            "INSERT INTO rate_limit_buckets (scope, key, tat_us) VALUES ($1, $2, $3 + $4) \
             ON CONFLICT (scope, key) DO UPDATE SET tat_us = \
               (CASE WHEN rate_limit_buckets.tat_us > $3 THEN rate_limit_buckets.tat_us ELSE $3 END) + $4 \
             WHERE (CASE WHEN rate_limit_buckets.tat_us > $3 THEN rate_limit_buckets.tat_us ELSE $3 END) \
               + $4 - $3 <= $5 \
             RETURNING tat_us",
        )
        .bind(scope)
        .bind(key)
        .bind(now)
        .bind(quota.interval_micros())
        .bind(quota.capacity_micros())
        .fetch_optional(self.db.writer())
        .await
        .map_err(storage_error)?;
        if allowed.is_some() {
            return Ok(Decision::Allowed);
        }
        // Refused: how long until one more, from the row as it is now.
        let tat = self.tat(scope, key).await?;
        Ok(match quota.peek(tat, now) {
            // Refilled in between: the next try will pass.
            Decision::Allowed => Decision::Refused {
                retry_after: std::time::Duration::from_secs(1),
            },
            refused => refused,
        })
    }

    async fn peek(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError> {
        Ok(quota.peek(self.tat(scope, key).await?, now))
    }

    async fn forget_idle(&self, now: Micros) -> Result<u64, StorageError> {
        let done = sqlx::query("DELETE FROM rate_limit_buckets WHERE tat_us <= $1")
            .bind(now)
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(done.rows_affected())
    }
}
}
