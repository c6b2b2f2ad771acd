//! Browser sessions for tower-sessions.

use async_trait::async_trait;
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;
use tower_sessions_core::session::{Id, Record};
use tower_sessions_core::session_store::{Error as SessionError, Result as SessionResult};

use super::Database;
use super::row::{get, time_of};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, is_unique_violation, storage_error};

/// Server-side browser sessions for tower-sessions. The user id is copied out of the
/// session data into its own column so a user's sessions can be listed and ended.
#[derive(Clone, Debug)]
pub struct SqlSessionStore {
    db: Database,
}

impl SqlSessionStore {
    pub fn new(db: Database) -> Self {
        SqlSessionStore { db }
    }
}

/// A session store failure; an unreachable database is marked `unavailable:` so the app
/// can answer 503 instead of 500.
fn session_backend(error: impl std::fmt::Display) -> SessionError {
    SessionError::Backend(error.to_string())
}

fn session_db(error: sqlx::Error) -> SessionError {
    let storage = storage_error(error);
    let prefix = if storage.is_unavailable() {
        "unavailable: "
    } else {
        ""
    };
    SessionError::Backend(format!("{prefix}{storage}"))
}

crate::sql::traced_store! { "sessions",
#[async_trait]
impl tower_sessions_core::SessionStore for SqlSessionStore {
    async fn create(&self, record: &mut Record) -> SessionResult<()> {
        loop {
            let data = serde_json::to_string(&record.data).map_err(session_backend)?;
            let inserted = sqlx::query(
                "INSERT INTO sessions (id, user_id, data, expiry) VALUES ($1, $2, $3, $4)",
            )
            .bind(record.id.to_string())
            .bind(crate::sessions::user_of(record))
            .bind(data)
            .bind(DbTime(record.expiry_date))
            .execute(self.db.writer())
            .await;
            match inserted {
                Ok(_) => return Ok(()),
                // An id collision: draw another.
                Err(e) if is_unique_violation(&e) => record.id = Id::default(),
                Err(e) => return Err(session_db(e)),
            }
        }
    }

    async fn save(&self, record: &Record) -> SessionResult<()> {
        let data = serde_json::to_string(&record.data).map_err(session_backend)?;
        sqlx::query(
            "INSERT INTO sessions (id, user_id, data, expiry) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, \
             data = excluded.data, expiry = excluded.expiry",
        )
        .bind(record.id.to_string())
        .bind(crate::sessions::user_of(record))
        .bind(data)
        .bind(DbTime(record.expiry_date))
        .execute(self.db.writer())
        .await
        .map_err(session_db)?;
        Ok(())
    }

    async fn load(&self, id: &Id) -> SessionResult<Option<Record>> {
        let row = sqlx::query("SELECT data, expiry FROM sessions WHERE id = $1 AND expiry > $2")
            .bind(id.to_string())
            .bind(DbTime(OffsetDateTime::now_utc()))
            .fetch_optional(self.db.reader())
            .await
            .map_err(session_db)?;
        let Some(row) = row else { return Ok(None) };
        let data: String = get(&row, "data").map_err(session_backend)?;
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(session_backend)?,
            expiry_date: time_of(&row, "expiry").map_err(session_backend)?,
        }))
    }

    async fn delete(&self, id: &Id) -> SessionResult<()> {
        sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.to_string())
            .execute(self.db.writer())
            .await
            .map_err(session_db)?;
        Ok(())
    }
}
}

crate::sql::traced_store! { "sessions",
#[async_trait]
impl crate::sessions::SessionAdmin for SqlSessionStore {
    async fn delete_expired(&self, now: OffsetDateTime) -> Result<u64, StorageError> {
        let result = sqlx::query("DELETE FROM sessions WHERE expiry <= $1")
            .bind(DbTime(now))
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(result.rows_affected())
    }

    async fn delete_for_user(
        &self,
        user: UserId,
        except: Option<&str>,
    ) -> Result<u64, StorageError> {
        let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
            .bind(user.as_uuid())
            .bind(except.unwrap_or(""))
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(result.rows_affected())
    }

    async fn list_for_user(
        &self,
        user: UserId,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, OffsetDateTime)>, StorageError> {
        sqlx::query(
            "SELECT id, expiry FROM sessions WHERE user_id = $1 AND expiry > $2 ORDER BY expiry \
             DESC",
        )
        .bind(user.as_uuid())
        .bind(DbTime(now))
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?
        .iter()
        .map(|row| Ok((get::<String>(row, "id")?, time_of(row, "expiry")?)))
        .collect()
    }

    async fn count_for_user(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StorageError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expiry > $2")
                .bind(user.as_uuid())
                .bind(DbTime(now))
                .fetch_one(self.db.reader())
                .await
                .map_err(storage_error)?;
        Ok(u64::try_from(count).unwrap_or_default())
    }
}
}
