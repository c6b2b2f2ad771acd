//! SQLite: the embedded default. A file under the project; no server to install.
//!
//! Reads go through a small pool; every write goes through a single writer connection, so
//! writers queue in the pool instead of spinning on `SQLITE_BUSY`. Ledger transactions start
//! with `BEGIN IMMEDIATE`, which also keeps other processes (the CLI) out while they run.

use std::str::FromStr;
use std::time::Duration;

use quickscale_domain_kernel::{StorageError, StorageFailure};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{Sqlite, Transaction};
use uuid::Uuid;

use crate::Area;

pub mod backup;
use crate::sql::{Backend, Embedded, migrator, storage_error};

const MIGRATIONS: Embedded = Embedded(&[
    (
        1,
        "foundation",
        include_str!("../../migrations/sqlite/0001_foundation.sql"),
    ),
    (
        2,
        "sessions and contact",
        include_str!("../../migrations/sqlite/0002_sessions_contact.sql"),
    ),
    (
        3,
        "service settings",
        include_str!("../../migrations/sqlite/0003_service_settings.sql"),
    ),
    (
        4,
        "billing",
        include_str!("../../migrations/sqlite/0004_billing.sql"),
    ),
    (
        5,
        "accounts",
        include_str!("../../migrations/sqlite/0005_accounts.sql"),
    ),
    (
        6,
        "unfinished runs",
        include_str!("../../migrations/sqlite/0006_unfinished_runs.sql"),
    ),
    (
        7,
        "api keys",
        include_str!("../../migrations/sqlite/0007_api_keys.sql"),
    ),
    (
        8,
        "subscriptions",
        include_str!("../../migrations/sqlite/0008_subscriptions.sql"),
    ),
    (
        9,
        "billing reviews and plan changes at renewal",
        include_str!("../../migrations/sqlite/0009_billing_reviews.sql"),
    ),
    (
        10,
        "account safety",
        include_str!("../../migrations/sqlite/0010_account_safety.sql"),
    ),
    (
        11,
        "job queue",
        include_str!("../../migrations/sqlite/0011_jobs.sql"),
    ),
    (
        13,
        "rate limits",
        include_str!("../../migrations/sqlite/0013_rate_limits.sql"),
    ),
    (
        14,
        "background runs",
        include_str!("../../migrations/sqlite/0014_background_runs.sql"),
    ),
    (
        15,
        "API limits per plan and key",
        include_str!("../../migrations/sqlite/0015_api_limits.sql"),
    ),
    (
        16,
        "run notifications",
        include_str!("../../migrations/sqlite/0016_run_notifications.sql"),
    ),
    (
        17,
        "versions of cached read-mostly data; indexes in the order pages show rows",
        include_str!("../../migrations/sqlite/0017_cache_versions.sql"),
    ),
    (
        18,
        "background runs still queued, for the recovery chore",
        include_str!("../../migrations/sqlite/0018_queued_runs.sql"),
    ),
    (
        19,
        "a version of the users' notification choices, for the copy processes keep",
        include_str!("../../migrations/sqlite/0019_notification_choices_version.sql"),
    ),
    (
        20,
        "the open holds, kept apart so that reading them does not grow with the ledger",
        include_str!("../../migrations/sqlite/0020_open_holds.sql"),
    ),
]);

/// A SQLite database: a reader pool and one writer connection.
#[derive(Clone, Debug)]
pub struct Database {
    reader: SqlitePool,
    writer: SqlitePool,
}

impl Database {
    /// Opens (creating if missing) the database at `url`, e.g. `sqlite://data/app.db`.
    pub async fn open(url: &str) -> Result<Self, StorageError> {
        let options = SqliteConnectOptions::from_str(url)
            .map_err(|e| {
                StorageError::with_source(
                    StorageFailure::Other,
                    format!("bad SQLite URL {url:?}"),
                    e,
                )
            })?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.clone())
            .await
            .map_err(storage_error)?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(10))
            .connect_with(options.read_only(false))
            .await
            .map_err(storage_error)?;
        Ok(Database { reader, writer })
    }

    /// Applies the migrations that have not run yet.
    pub async fn migrate(&self) -> Result<(), StorageError> {
        migrator(MIGRATIONS)
            .await?
            .run(&self.writer)
            .await
            .map_err(|e| {
                StorageError::with_source(StorageFailure::Other, "SQLite migration failed", e)
            })
    }

    /// Applies the migrations of `areas` only, for an app that embeds some of the stores next
    /// to tables of its own (docs/embedding.md). Each area records its migrations in its own
    /// table ([`Area::migrations_table`]), never in `_sqlx_migrations`, which stays the app's.
    /// Not for a database that [`Database::migrate`] set up: it has every area's tables already.
    pub async fn migrate_areas(&self, areas: &[Area]) -> Result<(), StorageError> {
        for &area in areas {
            area.migrator(area.sqlite_migrations())
                .await?
                .run(&self.writer)
                .await
                .map_err(|e| area.failed("SQLite", e))?;
        }
        Ok(())
    }

    /// The migrations not applied yet (reads only: for checks that must not change anything).
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StorageError> {
        let tracked: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&self.reader)
        .await
        .map_err(storage_error)?;
        let applied: Vec<i64> = match tracked {
            Some(_) => sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
                .fetch_all(&self.reader)
                .await
                .map_err(storage_error)?,
            None => Vec::new(),
        };
        Ok(MIGRATIONS.missing_from(&applied))
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StorageError> {
        sqlx::query("SELECT 1")
            .execute(&self.reader)
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    /// The connections of both pools (the readers and the one writer) now.
    pub fn pool_stats(&self) -> crate::PoolStats {
        let pools = [&self.reader, &self.writer];
        crate::PoolStats {
            open: pools.iter().map(|p| p.size()).sum(),
            idle: pools
                .iter()
                .map(|p| u32::try_from(p.num_idle()).unwrap_or(u32::MAX))
                .sum(),
            max: pools
                .iter()
                .map(|p| p.options().get_max_connections())
                .sum(),
        }
    }

    /// Every store over this database.
    #[cfg(feature = "stores")]
    pub fn stores(&self) -> crate::Stores {
        stores::all(self)
    }

    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

impl Backend for Database {
    type Db = Sqlite;

    const FOR_UPDATE: &'static str = "";

    const NULL_SAFE_EQUAL: &'static str = "IS";

    const SYSTEM: &'static str = "sqlite";
    const WRITING_WITH: bool = false;

    fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    fn writer(&self) -> &SqlitePool {
        &self.writer
    }

    /// An immediate write transaction, if the credit account exists.
    async fn begin_account(
        &self,
        account: Uuid,
    ) -> Result<Option<Transaction<'static, Sqlite>>, StorageError> {
        let mut tx = self
            .writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(storage_error)?;
        let exists: Option<i64> = sqlx::query_scalar("SELECT 1 FROM credit_accounts WHERE id = $1")
            .bind(account)
            .fetch_optional(&mut *tx)
            .await
            .map_err(storage_error)?;
        Ok(exists.map(|_| tx))
    }

    /// A write transaction (in SQLite it excludes other writers from the start).
    async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>, StorageError> {
        self.writer
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(storage_error)
    }
}

/// The stores: the shared code of `sql/stores/`, compiled for SQLite.
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
        crate::sql::assert_every_migration_registered(&super::MIGRATIONS, "sqlite");
    }
}
