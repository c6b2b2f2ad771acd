//! Parts of the schema an app can migrate alone. An app that embeds the credit store, and not the
//! rest of QuickScale, creates the credit tables next to its own and nothing else.
//!
//! Each area has its own migrations (`migrations/<area>/<backend>/`), which create the same
//! tables as the app's migrations (`migrations/<backend>/`, checked by
//! `tests/migration_areas.rs`), and records them in a table of its own, so that an app's own sqlx
//! migrations (in `_sqlx_migrations`) and these never meet. The app's migrations are unchanged:
//! a database they set up already has every area's tables.

use quickscale_domain_kernel::{StorageError, StorageFailure};
use sqlx::migrate::{MigrateError, Migrator};

use super::{Embedded, migrator};

/// A part of the schema that can be migrated alone, with `migrate_areas` of the
/// `postgres::Database` or `sqlite::Database`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Area {
    /// The credit ledger, all that `SqlCreditStore` reads and writes: `credit_accounts`,
    /// `credit_grants`, `credit_entries` and `credit_allocations`.
    Credits,
}

impl Area {
    /// Every area.
    pub const ALL: &'static [Area] = &[Area::Credits];

    /// Its name, as in `migrations/<name>/`.
    pub fn name(self) -> &'static str {
        match self {
            Area::Credits => "credits",
        }
    }

    /// The tables its migrations create.
    pub fn tables(self) -> &'static [&'static str] {
        match self {
            Area::Credits => &[
                "credit_accounts",
                "credit_grants",
                "credit_entries",
                "credit_allocations",
                "credit_open_holds",
            ],
        }
    }

    /// The table that records which of its migrations have run, e.g.
    /// `_quickscale_credits_migrations` (sqlx's layout, under another name than sqlx's
    /// default `_sqlx_migrations`, which stays the app's own).
    pub fn migrations_table(self) -> &'static str {
        match self {
            Area::Credits => "_quickscale_credits_migrations",
        }
    }

    #[cfg(feature = "postgres")]
    pub(crate) fn postgres_migrations(self) -> Embedded {
        match self {
            Area::Credits => Embedded(&[
                (
                    1,
                    "credit ledger",
                    include_str!("../../migrations/credits/postgres/0001_credit_ledger.sql"),
                ),
                (
                    2,
                    "credit holds",
                    include_str!("../../migrations/credits/postgres/0002_holds.sql"),
                ),
                (
                    3,
                    "open credit holds",
                    include_str!("../../migrations/credits/postgres/0003_open_holds.sql"),
                ),
            ]),
        }
    }

    #[cfg(feature = "sqlite")]
    pub(crate) fn sqlite_migrations(self) -> Embedded {
        match self {
            Area::Credits => Embedded(&[
                (
                    1,
                    "credit ledger",
                    include_str!("../../migrations/credits/sqlite/0001_credit_ledger.sql"),
                ),
                (
                    2,
                    "credit holds",
                    include_str!("../../migrations/credits/sqlite/0002_holds.sql"),
                ),
                (
                    3,
                    "open credit holds",
                    include_str!("../../migrations/credits/sqlite/0003_open_holds.sql"),
                ),
            ]),
        }
    }
}

impl Area {
    /// The migrator of this area's `migrations`, which records them in its own table.
    pub(crate) async fn migrator(self, migrations: Embedded) -> Result<Migrator, StorageError> {
        let mut migrator = migrator(migrations).await?;
        migrator.dangerous_set_table_name(self.migrations_table());
        Ok(migrator)
    }

    /// The error of a failed migration of this area on `backend`.
    pub(crate) fn failed(self, backend: &str, error: MigrateError) -> StorageError {
        StorageError::with_source(
            StorageFailure::Other,
            format!("{backend} migration of the {} area failed", self.name()),
            error,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Area;

    #[test]
    fn every_area_migration_file_is_registered() {
        for &area in Area::ALL {
            #[cfg(feature = "postgres")]
            crate::sql::assert_every_migration_registered(
                &area.postgres_migrations(),
                &format!("{}/postgres", area.name()),
            );
            #[cfg(feature = "sqlite")]
            crate::sql::assert_every_migration_registered(
                &area.sqlite_migrations(),
                &format!("{}/sqlite", area.name()),
            );
        }
    }
}
