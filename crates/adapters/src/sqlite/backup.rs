//! Backups of a SQLite database: an online, consistent copy (`VACUUM INTO` inside one read
//! transaction, while the app keeps writing), and its restore in place of a database that no
//! process has open.
//!
//! The rule that keeps a restore from losing data: it never replaces a database some process
//! has open (the app, a worker, the CLI), with or without `force`; an existing database that
//! nobody has open is replaced only with `force`, and is kept beside it
//! (`app.db.before-restore-<UTC time>`) rather than deleted.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteLockingMode};
use sqlx::{ConnectOptions as _, Connection as _};

/// Why a backup or a restore did nothing.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{0} exists already: choose another file name (a backup never overwrites one)")]
    TargetExists(PathBuf),
    #[error("there is no database at {0}")]
    NoDatabase(PathBuf),
    #[error("{path} is not a usable backup: {why}")]
    NotABackup { path: PathBuf, why: String },
    #[error(
        "the database {0} is open in another process (the app, a worker or a command): stop \
         them all, then restore again"
    )]
    InUse(PathBuf),
    #[error(
        "a database exists at {0}: restore replaces it only with --force (it is then kept \
         beside the restored one, not deleted)"
    )]
    WouldReplace(PathBuf),
    #[error("{what}: {source}")]
    Sqlite {
        what: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
}

fn sqlite(what: impl Into<String>) -> impl FnOnce(sqlx::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Sqlite { what, source }
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> BackupError {
    let what = what.into();
    move |source| BackupError::Io { what, source }
}

/// What a restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// Where the database that was there before now is, if there was one.
    pub previous_kept_at: Option<PathBuf>,
}

/// `path` with `suffix` appended to its file name (`app.db` → `app.db-wal`).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .busy_timeout(Duration::from_secs(5))
        .foreign_keys(true)
        .disable_statement_logging()
}

/// Writes a consistent copy of the database at `database` to `into` (which must not exist),
/// while other connections keep reading and writing: `VACUUM INTO` reads one snapshot. The copy
/// is written under a temporary name and renamed, so `into` is either whole or absent.
pub async fn backup(database: &Path, into: &Path) -> Result<u64, BackupError> {
    if !database.is_file() {
        return Err(BackupError::NoDatabase(database.to_path_buf()));
    }
    if into.exists() {
        return Err(BackupError::TargetExists(into.to_path_buf()));
    }
    let partial = with_suffix(into, ".partial");
    let _ = std::fs::remove_file(&partial);
    let mut connection = options(database)
        .connect()
        .await
        .map_err(sqlite(format!("cannot open {}", database.display())))?;
    let copied = sqlx::query("VACUUM INTO ?")
        .bind(partial.to_string_lossy().into_owned())
        .execute(&mut connection)
        .await
        .map_err(sqlite(format!("cannot copy into {}", partial.display())));
    connection.close().await.ok();
    copied?;
    // The copy is checked before it takes its name.
    if let Err(error) = check_backup(&partial).await {
        let _ = std::fs::remove_file(&partial);
        return Err(error);
    }
    std::fs::rename(&partial, into).map_err(io(format!("cannot name {}", into.display())))?;
    let size = std::fs::metadata(into)
        .map_err(io(format!("cannot read {}", into.display())))?
        .len();
    Ok(size)
}

/// Checks that `path` is an intact SQLite database of an app (its migrations table is there).
pub async fn check_backup(path: &Path) -> Result<(), BackupError> {
    let not_a_backup = |why: String| BackupError::NotABackup {
        path: path.to_path_buf(),
        why,
    };
    if !path.is_file() {
        return Err(not_a_backup("no such file".into()));
    }
    let mut connection = options(path)
        .connect()
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
    let checked: Result<(), BackupError> = async {
        let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_one(&mut connection)
            .await
            .map_err(|e| not_a_backup(e.to_string()))?;
        if integrity != "ok" {
            return Err(not_a_backup(format!("integrity check: {integrity}")));
        }
        let migrations: Option<String> = sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name = '_sqlx_migrations'",
        )
        .fetch_optional(&mut connection)
        .await
        .map_err(|e| not_a_backup(e.to_string()))?;
        if migrations.is_none() {
            return Err(not_a_backup(
                "it has no migrations table (_sqlx_migrations): not an app's database".into(),
            ));
        }
        Ok(())
    }
    .await;
    connection.close().await.ok();
    checked
}

/// Puts the backup at `backup` in place of the database at `database`. Refuses while any
/// process has that database open, and refuses to replace an existing one without `force`
/// (which keeps it, renamed, beside the restored one).
pub async fn restore(backup: &Path, database: &Path, force: bool) -> Result<Restored, BackupError> {
    check_backup(backup).await?;
    // The copy is made next to the database first, so the swap below is two renames.
    let incoming = with_suffix(database, ".restoring");
    let _ = std::fs::remove_file(&incoming);
    if let Some(parent) = database.parent() {
        std::fs::create_dir_all(parent)
            .map_err(io(format!("cannot create {}", parent.display())))?;
    }
    std::fs::copy(backup, &incoming).map_err(io(format!(
        "cannot copy {} to {}",
        backup.display(),
        incoming.display()
    )))?;
    let swapped = swap_in(&incoming, database, force).await;
    if swapped.is_err() {
        let _ = std::fs::remove_file(&incoming);
    }
    swapped
}

async fn swap_in(incoming: &Path, database: &Path, force: bool) -> Result<Restored, BackupError> {
    if !database.exists() {
        std::fs::rename(incoming, database)
            .map_err(io(format!("cannot name {}", database.display())))?;
        return Ok(Restored {
            previous_kept_at: None,
        });
    }
    // An exclusive lock is granted only when no other connection has the database open (in WAL
    // mode every open connection holds a shared lock); it is held until the old database has
    // moved aside, so nothing opens it in between.
    let mut exclusive = options(database)
        .locking_mode(SqliteLockingMode::Exclusive)
        .busy_timeout(Duration::ZERO)
        .connect()
        .await
        .map_err(|_| BackupError::InUse(database.to_path_buf()))?;
    let locked = sqlx::query("BEGIN EXCLUSIVE")
        .execute(&mut exclusive)
        .await
        .and(
            sqlx::query("SELECT count(*) FROM sqlite_master")
                .execute(&mut exclusive)
                .await,
        );
    if locked.is_err() {
        exclusive.close().await.ok();
        return Err(BackupError::InUse(database.to_path_buf()));
    }
    if !force {
        let _ = sqlx::query("ROLLBACK").execute(&mut exclusive).await;
        exclusive.close().await.ok();
        return Err(BackupError::WouldReplace(database.to_path_buf()));
    }
    let stamp = time::OffsetDateTime::now_utc().unix_timestamp();
    let kept = with_suffix(database, &format!(".before-restore-{stamp}"));
    let moved = (|| {
        for suffix in ["-wal", "-shm"] {
            let file = with_suffix(database, suffix);
            if file.exists() {
                std::fs::rename(&file, with_suffix(&kept, suffix))?;
            }
        }
        std::fs::rename(database, &kept)
    })()
    .map_err(io(format!("cannot move {} aside", database.display())));
    let _ = sqlx::query("ROLLBACK").execute(&mut exclusive).await;
    exclusive.close().await.ok();
    moved?;
    std::fs::rename(incoming, database)
        .map_err(io(format!("cannot name {}", database.display())))?;
    Ok(Restored {
        previous_kept_at: Some(kept),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn database_at(path: &Path) -> super::super::Database {
        let db = super::super::Database::open(&format!("sqlite://{}", path.display()))
            .await
            .unwrap();
        db.migrate().await.unwrap();
        db
    }

    async fn migrations_in(path: &Path) -> i64 {
        let mut connection = options(path).connect().await.unwrap();
        let count = sqlx::query_scalar("SELECT count(*) FROM _sqlx_migrations")
            .fetch_one(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
        count
    }

    #[tokio::test]
    async fn a_backup_never_overwrites_and_a_restore_never_replaces_an_open_database() {
        let dir = tempfile::tempdir().unwrap();
        let live = dir.path().join("app.db");
        let db = database_at(&live).await;
        let copy = dir.path().join("copy.db");
        let size = backup(&live, &copy).await.unwrap();
        assert!(size > 0);
        assert!(migrations_in(&copy).await > 0);
        assert!(matches!(
            backup(&live, &copy).await,
            Err(BackupError::TargetExists(_))
        ));
        // Open by the app: refused, forced or not, and the database is untouched.
        for force in [false, true] {
            assert!(matches!(
                restore(&copy, &live, force).await,
                Err(BackupError::InUse(_))
            ));
        }
        assert!(!with_suffix(&live, ".restoring").exists());
        db.close().await;
        // Closed: refused without force; with it, the old database is kept aside.
        assert!(matches!(
            restore(&copy, &live, false).await,
            Err(BackupError::WouldReplace(_))
        ));
        let restored = restore(&copy, &live, true).await.unwrap();
        let kept = restored.previous_kept_at.unwrap();
        assert!(kept.is_file());
        assert!(migrations_in(&live).await > 0);
        // Into a new file: no force needed.
        let fresh = dir.path().join("fresh/app.db");
        assert_eq!(
            restore(&copy, &fresh, false)
                .await
                .unwrap()
                .previous_kept_at,
            None
        );
        // Not a backup: refused, nothing written.
        let junk = dir.path().join("junk.db");
        std::fs::write(&junk, b"not a database at all").unwrap();
        let other = dir.path().join("other.db");
        assert!(matches!(
            restore(&junk, &other, true).await,
            Err(BackupError::NotABackup { .. })
        ));
        assert!(!other.exists());
    }
}
