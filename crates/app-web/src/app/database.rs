//! Opening the configured database (memory, SQLite or PostgreSQL), migrated or checked.

use std::path::Path;

use anyhow::Context as _;

use crate::config::{Config, DatabaseUrl};
use crate::state::Database;

/// Opens the configured database; with `migrate`, creating it and applying the migrations,
/// without, only an existing, migrated database (a check changes nothing).
pub(super) async fn open_database(
    config: &Config,
    migrate: bool,
) -> anyhow::Result<(Database, quickscale_adapters::Stores)> {
    match &config.database {
        DatabaseUrl::Memory => Ok((Database::Memory, quickscale_adapters::memory::stores())),
        DatabaseUrl::Sqlite(url) => {
            let path = url.trim_start_matches("sqlite://");
            let path = Path::new(path.split_once('?').map_or(path, |(path, _)| path));
            if !migrate && !path.is_file() {
                anyhow::bail!(
                    "there is no database at {} yet: run `migrate` (or start the app) first",
                    path.display()
                );
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let db = quickscale_adapters::sqlite::Database::open(url)
                .await
                .with_context(|| format!("cannot open the SQLite database {url}"))?;
            if migrate {
                db.migrate()
                    .await
                    .context("migrating the SQLite database")?;
            } else {
                up_to_date(db.pending_migrations().await)?;
            }
            let stores = db.stores();
            Ok((Database::Sqlite(db), stores))
        }
        DatabaseUrl::Postgres(url) => {
            let db = quickscale_adapters::postgres::Database::connect(url.expose(), config.database_max_connections)
                .await
                .map_err(|e| anyhow::anyhow!(
                    "cannot connect to PostgreSQL ({e}). Check that the server is running and that DATABASE_URL is right."
                ))?;
            if migrate {
                db.migrate()
                    .await
                    .context("migrating the PostgreSQL database")?;
            } else {
                up_to_date(db.pending_migrations().await)?;
            }
            let stores = db.stores();
            Ok((Database::Postgres(db), stores))
        }
    }
}

/// Refuses a database with migrations still to apply: a check does not apply them.
fn up_to_date(
    pending: Result<Vec<i64>, quickscale_domain_kernel::StorageError>,
) -> anyhow::Result<()> {
    let pending =
        pending.map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?;
    if !pending.is_empty() {
        anyhow::bail!(
            "the database has {} migration(s) to apply: run `migrate` (or start the app) first",
            pending.len()
        );
    }
    Ok(())
}
