//! PostgreSQL: the production backend.
//!
//! Ledger transactions lock the credit account's row (`SELECT ... FOR UPDATE`), so concurrent
//! operations on one account queue on that row while other accounts proceed in parallel.

use std::time::Duration;

use quickscale_domain_kernel::{StorageError, StorageFailure};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{Postgres, Transaction};
use uuid::Uuid;

use crate::Area;
use crate::sql::{Backend, Embedded, migrator, storage_error};

const MIGRATIONS: Embedded = Embedded(&[
    (
        1,
        "foundation",
        include_str!("../../migrations/postgres/0001_foundation.sql"),
    ),
    (
        2,
        "sessions and contact",
        include_str!("../../migrations/postgres/0002_sessions_contact.sql"),
    ),
    (
        3,
        "service settings",
        include_str!("../../migrations/postgres/0003_service_settings.sql"),
    ),
    (
        4,
        "billing",
        include_str!("../../migrations/postgres/0004_billing.sql"),
    ),
    (
        5,
        "accounts",
        include_str!("../../migrations/postgres/0005_accounts.sql"),
    ),
    (
        6,
        "unfinished runs",
        include_str!("../../migrations/postgres/0006_unfinished_runs.sql"),
    ),
    (
        7,
        "api keys",
        include_str!("../../migrations/postgres/0007_api_keys.sql"),
    ),
    (
        8,
        "subscriptions",
        include_str!("../../migrations/postgres/0008_subscriptions.sql"),
    ),
    (
        9,
        "billing reviews and plan changes at renewal",
        include_str!("../../migrations/postgres/0009_billing_reviews.sql"),
    ),
    (
        10,
        "account safety",
        include_str!("../../migrations/postgres/0010_account_safety.sql"),
    ),
    (
        11,
        "job queue",
        include_str!("../../migrations/postgres/0011_jobs.sql"),
    ),
    (
        13,
        "rate limits",
        include_str!("../../migrations/postgres/0013_rate_limits.sql"),
    ),
    (
        14,
        "background runs",
        include_str!("../../migrations/postgres/0014_background_runs.sql"),
    ),
    (
        15,
        "API limits per plan and key",
        include_str!("../../migrations/postgres/0015_api_limits.sql"),
    ),
    (
        16,
        "run notifications",
        include_str!("../../migrations/postgres/0016_run_notifications.sql"),
    ),
    (
        17,
        "versions of cached read-mostly data; indexes in the order pages show rows",
        include_str!("../../migrations/postgres/0017_cache_versions.sql"),
    ),
    (
        18,
        "background runs still queued, for the recovery chore",
        include_str!("../../migrations/postgres/0018_queued_runs.sql"),
    ),
    (
        19,
        "a version of the users' notification choices, for the copy processes keep",
        include_str!("../../migrations/postgres/0019_notification_choices_version.sql"),
    ),
    (
        20,
        "the open holds, kept apart so that reading them does not grow with the ledger",
        include_str!("../../migrations/postgres/0020_open_holds.sql"),
    ),
]);

/// A PostgreSQL connection pool.
#[derive(Clone, Debug)]
pub struct Database {
    pool: PgPool,
}

impl Database {
    /// Connects to `url` with at most `max_connections` connections.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StorageError> {
        let pool = PgPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(3))
            .connect(url)
            .await
            .map_err(storage_error)?;
        Ok(Database { pool })
    }

    pub fn from_pool(pool: PgPool) -> Self {
        Database { pool }
    }

    /// Applies the migrations that have not run yet (under PostgreSQL's advisory lock, so
    /// several app instances starting together are safe).
    pub async fn migrate(&self) -> Result<(), StorageError> {
        migrator(MIGRATIONS)
            .await?
            .run(&self.pool)
            .await
            .map_err(|e| {
                StorageError::with_source(StorageFailure::Other, "PostgreSQL migration failed", e)
            })
    }

    /// Applies the migrations of `areas` only, for an app that embeds some of the stores next
    /// to tables of its own (docs/embedding.md). Each area records its migrations in its own
    /// table ([`Area::migrations_table`]), never in `_sqlx_migrations`, which stays the app's.
    /// Not for a database that [`Database::migrate`] set up: it has every area's tables already.
    pub async fn migrate_areas(&self, areas: &[Area]) -> Result<(), StorageError> {
        for &area in areas {
            area.migrator(area.postgres_migrations())
                .await?
                .run(&self.pool)
                .await
                .map_err(|e| area.failed("PostgreSQL", e))?;
        }
        Ok(())
    }

    /// The migrations not applied yet (reads only: for checks that must not change anything).
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StorageError> {
        let tracked: bool =
            sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
                .fetch_one(&self.pool)
                .await
                .map_err(storage_error)?;
        let applied: Vec<i64> = if tracked {
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.pool)
                .await
                .map_err(storage_error)?
        } else {
            Vec::new()
        };
        Ok(MIGRATIONS.missing_from(&applied))
    }

    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The pool's connections now.
    pub fn pool_stats(&self) -> crate::PoolStats {
        crate::PoolStats {
            open: self.pool.size(),
            idle: u32::try_from(self.pool.num_idle()).unwrap_or(u32::MAX),
            max: self.pool.options().get_max_connections(),
        }
    }

    /// Every store over this database.
    #[cfg(feature = "stores")]
    pub fn stores(&self) -> crate::Stores {
        stores::all(self)
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Backend for Database {
    type Db = Postgres;

    const FOR_UPDATE: &'static str = " FOR UPDATE";

    const NULL_SAFE_EQUAL: &'static str = "IS NOT DISTINCT FROM";

    const SYSTEM: &'static str = "postgresql";
    const WRITING_WITH: bool = true;

    fn reader(&self) -> &PgPool {
        &self.pool
    }

    fn writer(&self) -> &PgPool {
        &self.pool
    }

    /// A transaction holding the credit account's row lock, if the account exists.
    async fn begin_account(
        &self,
        account: Uuid,
    ) -> Result<Option<Transaction<'static, Postgres>>, StorageError> {
        let mut tx = self.pool.begin().await.map_err(storage_error)?;
        let exists: Option<i32> =
            sqlx::query_scalar("SELECT 1 FROM credit_accounts WHERE id = $1 FOR UPDATE")
                .bind(account)
                .fetch_optional(&mut *tx)
                .await
                .map_err(storage_error)?;
        Ok(exists.map(|_| tx))
    }

    /// A write transaction (in SQLite it excludes other writers from the start).
    async fn begin_write(&self) -> Result<Transaction<'static, Postgres>, StorageError> {
        self.pool.begin().await.map_err(storage_error)
    }
}

/// The stores: the shared code of `sql/stores/`, compiled for PostgreSQL.
#[path = "../sql/stores/mod.rs"]
#[allow(
    clippy::duplicate_mod,
    reason = "the shared store code is compiled once per backend on purpose"
)]
mod stores;

// The stores of the ports this build has (see `sql/stores/mod.rs`).
pub use stores::*;

#[cfg(test)]
mod migration_tests {
    #[test]
    fn every_migration_file_is_registered() {
        crate::sql::assert_every_migration_registered(&super::MIGRATIONS, "postgres");
    }
}
