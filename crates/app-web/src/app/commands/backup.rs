//! `backup FILE` and `restore FILE`: a consistent copy of the SQLite database while the app
//! runs, and its restore while nothing has the database open. PostgreSQL has its own tools
//! (`pg_dump`, `pg_restore`): the commands refuse there and say how (docs/deploy.md).

use std::path::{Path, PathBuf};

use quickscale_adapters::sqlite::backup as sqlite_backup;

use crate::config::{Config, DatabaseUrl};

/// Where PostgreSQL's backups are explained.
const POSTGRES_HELP: &str = "PostgreSQL is backed up with its own tools, which copy a running \
database consistently: pg_dump --format=custom --file=app.dump \"$DATABASE_URL\", and restored \
with pg_restore --clean --if-exists --no-owner --dbname=\"$DATABASE_URL\" app.dump \
(docs/deploy.md, Backups)";

/// The SQLite file of the configuration, or why there is none to back up or restore.
fn sqlite_file(config: &Config, verb: &str) -> anyhow::Result<PathBuf> {
    match &config.database {
        DatabaseUrl::Sqlite(url) => {
            let path = url.trim_start_matches("sqlite://");
            Ok(PathBuf::from(
                path.split_once('?').map_or(path, |(path, _)| path),
            ))
        }
        DatabaseUrl::Postgres(_) => anyhow::bail!("`{verb}` is for SQLite. {POSTGRES_HELP}"),
        DatabaseUrl::Memory => {
            anyhow::bail!("DATABASE_URL is memory: there is no database file to {verb}")
        }
    }
}

/// Copies the live database to `file`, which must not exist yet.
pub(super) async fn backup(config: &Config, file: &Path) -> anyhow::Result<()> {
    let database = sqlite_file(config, "backup")?;
    let bytes = sqlite_backup::backup(&database, file).await?;
    println!(
        "Backed up {} to {} ({:.1} MB, one consistent snapshot).",
        database.display(),
        file.display(),
        bytes as f64 / 1e6
    );
    println!("Restore it with: restore {}", file.display());
    Ok(())
}

/// Puts the backup `file` in place of the database, which no process may have open.
pub(super) async fn restore(config: &Config, file: &Path, force: bool) -> anyhow::Result<()> {
    let database = sqlite_file(config, "restore")?;
    let restored = sqlite_backup::restore(file, &database, force).await?;
    println!("Restored {} into {}.", file.display(), database.display());
    if let Some(kept) = restored.previous_kept_at {
        println!("The database that was there is kept at {}.", kept.display());
    }
    println!("Start the app (it applies any newer migrations), then run verify-ledger.");
    Ok(())
}
