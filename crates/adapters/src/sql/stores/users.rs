//! The user store: accounts, their sign-in failures (per account and per client) and profiles.

use std::str::FromStr as _;

use async_trait::async_trait;
use quickscale_domain_identity::{
    AccountLoginState, ClientKey, DisplayName, Email, LoginState, PasswordHash, Profile, Role,
    User, UserCounts, UserId, UserPage, UserQuery, UserRepository, UserStoreError,
};
use quickscale_domain_kernel::StorageError;
use time::OffsetDateTime;

use super::row::{get, optional_time, time_of};
use super::{Database, Row};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, is_unique_violation, like_pattern, parse, storage_error};

const USER_COLUMNS: &str = "id, email, password_hash, role, display_name, is_active, \
    email_verified_at, created_at, failed_attempts, last_failed_at, locked_until, \
    lock_notice_sent_at, company, job_title, website, bio, product_updates, deleted_at, \
    onboarded_at";

fn user_from_row(row: &Row) -> Result<User, StorageError> {
    Ok(User {
        id: UserId::from_uuid(get(row, "id")?),
        email: parse("email", Email::parse(&get::<String>(row, "email")?))?,
        password_hash: PasswordHash::from_phc(get::<String>(row, "password_hash")?),
        role: parse("role", Role::from_str(&get::<String>(row, "role")?))?,
        display_name: parse(
            "display name",
            DisplayName::parse(&get::<String>(row, "display_name")?),
        )?,
        is_active: get(row, "is_active")?,
        email_verified_at: optional_time(row, "email_verified_at")?,
        created_at: time_of(row, "created_at")?,
        login: AccountLoginState {
            failed_attempts: parse(
                "failed attempts",
                u32::try_from(get::<i32>(row, "failed_attempts")?),
            )?,
            last_failed_at: optional_time(row, "last_failed_at")?,
            locked_until: optional_time(row, "locked_until")?,
            notice_sent_at: optional_time(row, "lock_notice_sent_at")?,
        },
        profile: Profile {
            company: get(row, "company")?,
            job_title: get(row, "job_title")?,
            website: get(row, "website")?,
            bio: get(row, "bio")?,
            product_updates: get(row, "product_updates")?,
        },
        onboarded_at: optional_time(row, "onboarded_at")?,
        deleted_at: optional_time(row, "deleted_at")?,
    })
}

/// The user store.
#[derive(Clone, Debug)]
pub struct SqlUserRepository {
    db: Database,
}

impl SqlUserRepository {
    pub fn new(db: Database) -> Self {
        SqlUserRepository { db }
    }
}

crate::sql::traced_store! { "users",
#[async_trait]
impl UserRepository for SqlUserRepository {
    async fn insert(&self, user: &User) -> Result<(), UserStoreError> {
        let result = sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, display_name, is_active, \
             email_verified_at, created_at, failed_attempts, last_failed_at, locked_until, \
             lock_notice_sent_at, company, job_title, website, bio, product_updates, deleted_at, \
             onboarded_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, \
             $15, $16, $17, $18, $19)",
        )
        .bind(user.id.as_uuid())
        .bind(user.email.as_str())
        .bind(user.password_hash.as_phc())
        .bind(user.role.as_str())
        .bind(user.display_name.as_str())
        .bind(user.is_active)
        .bind(user.email_verified_at.map(DbTime))
        .bind(DbTime(user.created_at))
        .bind(i32::try_from(user.login.failed_attempts).unwrap_or(i32::MAX))
        .bind(user.login.last_failed_at.map(DbTime))
        .bind(user.login.locked_until.map(DbTime))
        .bind(user.login.notice_sent_at.map(DbTime))
        .bind(user.profile.company.as_str())
        .bind(user.profile.job_title.as_str())
        .bind(user.profile.website.as_str())
        .bind(user.profile.bio.as_str())
        .bind(user.profile.product_updates)
        .bind(user.deleted_at.map(DbTime))
        .bind(user.onboarded_at.map(DbTime))
        .execute(self.db.writer())
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(UserStoreError::DuplicateEmail),
            Err(e) => Err(UserStoreError::Storage(storage_error(e))),
        }
    }

    async fn by_id(&self, id: UserId) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.as_uuid())
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn by_email(&self, email: &Email) -> Result<Option<User>, StorageError> {
        let sql = format!("SELECT {USER_COLUMNS} FROM users WHERE email = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(email.as_str())
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(user_from_row)
            .transpose()
    }

    async fn swap_login_state(
        &self,
        id: UserId,
        expected: AccountLoginState,
        new: AccountLoginState,
    ) -> Result<bool, StorageError> {
        // `IS NOT DISTINCT FROM` compares NULLs as equal; SQLite spells it `IS`.
        let result = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE users SET failed_attempts = $1, last_failed_at = $2, locked_until = $3, \
             lock_notice_sent_at = $4 \
             WHERE id = $5 AND failed_attempts = $6 AND last_failed_at {same} $7 \
             AND locked_until {same} $8 AND lock_notice_sent_at {same} $9",
            same = Database::NULL_SAFE_EQUAL
        )))
        .bind(i32::try_from(new.failed_attempts).unwrap_or(i32::MAX))
        .bind(new.last_failed_at.map(DbTime))
        .bind(new.locked_until.map(DbTime))
        .bind(new.notice_sent_at.map(DbTime))
        .bind(id.as_uuid())
        .bind(i32::try_from(expected.failed_attempts).unwrap_or(i32::MAX))
        .bind(expected.last_failed_at.map(DbTime))
        .bind(expected.locked_until.map(DbTime))
        .bind(expected.notice_sent_at.map(DbTime))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
    ) -> Result<LoginState, StorageError> {
        let row = sqlx::query(
            "SELECT failed_attempts, window_started_at, locked_until FROM sign_in_failures \
             WHERE user_id = $1 AND client = $2",
        )
        .bind(id.as_uuid())
        .bind(client.to_string())
        .fetch_optional(self.db.reader())
        .await
        .map_err(storage_error)?;
        let Some(row) = row else {
            return Ok(LoginState::default());
        };
        Ok(LoginState {
            failed_attempts: parse(
                "failed attempts",
                u32::try_from(get::<i32>(&row, "failed_attempts")?),
            )?,
            window_started_at: optional_time(&row, "window_started_at")?,
            locked_until: optional_time(&row, "locked_until")?,
        })
    }

    async fn swap_client_login_state(
        &self,
        id: UserId,
        client: &ClientKey,
        expected: LoginState,
        new: LoginState,
    ) -> Result<bool, StorageError> {
        let none = LoginState::default();
        if expected == new {
            return Ok(self.client_login_state(id, client).await? == expected);
        }
        if expected == none {
            // No record is the default: only an insert that no one beat to it swaps.
            let inserted = sqlx::query(
                "INSERT INTO sign_in_failures \
                 (user_id, client, failed_attempts, window_started_at, locked_until) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, client) DO NOTHING",
            )
            .bind(id.as_uuid())
            .bind(client.to_string())
            .bind(i32::try_from(new.failed_attempts).unwrap_or(i32::MAX))
            .bind(new.window_started_at.map(DbTime))
            .bind(new.locked_until.map(DbTime))
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
            return Ok(inserted.rows_affected() == 1);
        }
        let matches = format!(
            "user_id = $1 AND client = $2 AND failed_attempts = $3 \
             AND window_started_at {same} $4 AND locked_until {same} $5",
            same = Database::NULL_SAFE_EQUAL
        );
        let result = if new == none {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "DELETE FROM sign_in_failures WHERE {matches}"
            )))
            .bind(id.as_uuid())
            .bind(client.to_string())
            .bind(i32::try_from(expected.failed_attempts).unwrap_or(i32::MAX))
            .bind(expected.window_started_at.map(DbTime))
            .bind(expected.locked_until.map(DbTime))
            .execute(self.db.writer())
            .await
        } else {
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE sign_in_failures SET failed_attempts = $6, window_started_at = $7, \
                 locked_until = $8 WHERE {matches}"
            )))
            .bind(id.as_uuid())
            .bind(client.to_string())
            .bind(i32::try_from(expected.failed_attempts).unwrap_or(i32::MAX))
            .bind(expected.window_started_at.map(DbTime))
            .bind(expected.locked_until.map(DbTime))
            .bind(i32::try_from(new.failed_attempts).unwrap_or(i32::MAX))
            .bind(new.window_started_at.map(DbTime))
            .bind(new.locked_until.map(DbTime))
            .execute(self.db.writer())
            .await
        }
        .map_err(storage_error)?;
        Ok(result.rows_affected() == 1)
    }

    async fn clear_login_failures(&self, id: UserId) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE user_id = $1")
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        sqlx::query(
            "UPDATE users SET failed_attempts = 0, last_failed_at = NULL, \
             locked_until = NULL, lock_notice_sent_at = NULL WHERE id = $1",
        )
        .bind(id.as_uuid())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn forget_spent_client_login_states(
        &self,
        window_started_before: OffsetDateTime,
        now: OffsetDateTime,
    ) -> Result<u64, StorageError> {
        let result = sqlx::query(
            "DELETE FROM sign_in_failures \
             WHERE (window_started_at IS NULL OR window_started_at < $1) \
             AND (locked_until IS NULL OR locked_until <= $2)",
        )
        .bind(DbTime(window_started_before))
        .bind(DbTime(now))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(result.rows_affected())
    }

    async fn set_password(&self, id: UserId, hash: &PasswordHash) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
            .bind(hash.as_phc())
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn set_display_name(&self, id: UserId, name: &DisplayName) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET display_name = $1 WHERE id = $2")
            .bind(name.as_str())
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn set_role(&self, id: UserId, role: Role) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn search(&self, query: &UserQuery) -> Result<UserPage, StorageError> {
        let text = query
            .text
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty());
        let pattern = text.map(like_pattern);
        let filter = "($1 IS NULL OR email LIKE $1 ESCAPE '\\' \
                      OR lower(display_name) LIKE $1 ESCAPE '\\') \
                      AND ($2 IS NULL OR role = $2) \
                      AND ($3 IS NULL OR (email_verified_at IS NOT NULL) = $3) \
                      AND ($4 IS NULL OR is_active = $4) \
                      AND ($5 IS NULL OR locked_until > $5)";
        let role = query.role.map(|r| r.as_str());
        macro_rules! bind_filter {
            ($q:expr) => {
                $q.bind(pattern.as_deref())
                    .bind(role)
                    .bind(query.verified)
                    .bind(query.active)
                    .bind(query.locked_at.map(DbTime))
            };
        }
        let total: i64 = bind_filter!(sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM users WHERE {filter}"
        ))))
        .fetch_one(self.db.reader())
        .await
        .map_err(storage_error)?;
        let rows = bind_filter!(sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users WHERE {filter} \
             ORDER BY created_at DESC, id LIMIT $6 OFFSET $7"
        ))))
        .bind(i64::from(query.limit.clamp(1, 200)))
        .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?;
        Ok(UserPage {
            users: rows.iter().map(user_from_row).collect::<Result<_, _>>()?,
            total: u64::try_from(total).unwrap_or_default(),
        })
    }

    async fn set_profile(
        &self,
        id: UserId,
        name: &DisplayName,
        profile: &Profile,
    ) -> Result<(), StorageError> {
        sqlx::query(
            "UPDATE users SET display_name = $1, company = $2, job_title = $3, website = $4, bio = \
             $5, product_updates = $6 WHERE id = $7",
        )
        .bind(name.as_str())
        .bind(profile.company.as_str())
        .bind(profile.job_title.as_str())
        .bind(profile.website.as_str())
        .bind(profile.bio.as_str())
        .bind(profile.product_updates)
        .bind(id.as_uuid())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn set_email(&self, id: UserId, email: &Email) -> Result<(), UserStoreError> {
        match sqlx::query("UPDATE users SET email = $1 WHERE id = $2")
            .bind(email.as_str())
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if is_unique_violation(&e) => Err(UserStoreError::DuplicateEmail),
            Err(e) => Err(UserStoreError::Storage(storage_error(e))),
        }
    }

    async fn set_email_verified(
        &self,
        id: UserId,
        at: Option<OffsetDateTime>,
    ) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET email_verified_at = $1 WHERE id = $2")
            .bind(at.map(DbTime))
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn set_active(&self, id: UserId, active: bool) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET is_active = $1 WHERE id = $2")
            .bind(active)
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn set_onboarded(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError> {
        sqlx::query("UPDATE users SET onboarded_at = $1 WHERE id = $2")
            .bind(DbTime(at))
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(())
    }

    async fn anonymize(&self, id: UserId, at: OffsetDateTime) -> Result<(), StorageError> {
        sqlx::query("DELETE FROM sign_in_failures WHERE user_id = $1")
            .bind(id.as_uuid())
            .execute(self.db.writer())
            .await
            .map_err(storage_error)?;
        sqlx::query(
            "UPDATE users SET email = $1, password_hash = '!', display_name = '', company = '', \
             job_title = '', website = '', bio = '', product_updates = $2, is_active = $2, \
             email_verified_at = NULL, deleted_at = $3 WHERE id = $4",
        )
        .bind(format!("deleted-{}@deleted.invalid", id.as_uuid().simple()))
        .bind(false)
        .bind(DbTime(at))
        .bind(id.as_uuid())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn counts(&self) -> Result<UserCounts, StorageError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total, \
             COALESCE(SUM(CASE WHEN role = 'admin' THEN 1 ELSE 0 END), 0) AS admins, \
             COALESCE(SUM(CASE WHEN is_active THEN 1 ELSE 0 END), 0) AS active FROM users",
        )
        .fetch_one(self.db.reader())
        .await
        .map_err(storage_error)?;
        let count = |column: &str| -> Result<u64, StorageError> {
            Ok(u64::try_from(get::<i64>(&row, column)?).unwrap_or_default())
        };
        Ok(UserCounts {
            total: count("total")?,
            admins: count("admins")?,
            active: count("active")?,
        })
    }
}
}
