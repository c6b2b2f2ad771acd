//! The SQL store implementations, written once and instantiated for each backend.
//!
//! `sql_stores!` expands inside `crate::sqlite` and `crate::postgres`. Each backend module
//! provides a `Database` type with `reader()`, `writer()` (pools) and
//! `begin_account(account) -> Option<Transaction>` that starts a transaction holding the credit
//! account exclusively (a row lock in PostgreSQL, an immediate transaction on the single writer
//! connection in SQLite), or `None` when the account does not exist.
//! The SQL text is shared: both dialects accept `$n` parameters, `RETURNING` and `ON CONFLICT`.

macro_rules! sql_stores {
    ($db:ty, $row:ty) => {
        use std::str::FromStr as _;

        use async_trait::async_trait;
        use quickscale_domain_credits::{
            AccountId, AccountSnapshot, Allocation, Consumption, CreditError, CreditStore, Credits,
            Effect, EntryId, EntryKind, Grant, GrantId, GrantKind, GrantLink, HistoryPage,
            HistoryQuery, IdempotencyKey, LedgerEntry, LedgerTransaction, Operation, Receipt,
            RecordedOperation, SourceRef, run_operation,
        };
        use quickscale_domain_identity::{
            AccountLoginState, ClientKey, DisplayName, Email, LoginState, PasswordHash, Role,
            User, UserCounts, UserId, UserPage, UserQuery, UserRepository, UserStoreError,
        };
        use quickscale_domain_kernel::StorageError;
        use quickscale_service_sdk::usage::{
            Claim, RunEnd, RunQuery, RunStatus, ServiceRun, ServiceUsageRepository,
        };
        use quickscale_service_sdk::ServiceOutput;
        use sqlx::Row as _;
        use sqlx::types::Json;
        use time::OffsetDateTime;
        use uuid::Uuid;

        use crate::sql::time::DbTime;
        use crate::sql::{is_unique_violation, like_pattern, parse, storage_error};

        fn cents(what: &str, value: i64) -> Result<Credits, StorageError> {
            parse(what, Credits::from_cents(value))
        }

        fn get<'r, T>(row: &'r $row, column: &str) -> Result<T, StorageError>
        where
            T: sqlx::Decode<'r, $db> + sqlx::Type<$db>,
        {
            row.try_get(column).map_err(storage_error)
        }

        fn time_of(row: &$row, column: &str) -> Result<OffsetDateTime, StorageError> {
            Ok(get::<DbTime>(row, column)?.0)
        }

        fn optional_time(row: &$row, column: &str) -> Result<Option<OffsetDateTime>, StorageError> {
            Ok(get::<Option<DbTime>>(row, column)?.map(|t| t.0))
        }

        // ---------------------------------------------------------------- users

        const USER_COLUMNS: &str = "id, email, password_hash, role, display_name, is_active, \
            email_verified_at, created_at, failed_attempts, last_failed_at, locked_until, \
            lock_notice_sent_at, company, job_title, website, bio, product_updates, deleted_at, \
            onboarded_at";

        fn user_from_row(row: &$row) -> Result<User, StorageError> {
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
                profile: quickscale_domain_identity::Profile {
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

        #[async_trait]
        impl UserRepository for SqlUserRepository {
            async fn insert(&self, user: &User) -> Result<(), UserStoreError> {
                let result = sqlx::query(
                    "INSERT INTO users (id, email, password_hash, role, display_name, is_active, \
                     email_verified_at, created_at, failed_attempts, last_failed_at, locked_until, \
                     lock_notice_sent_at, company, job_title, website, bio, product_updates, deleted_at, \
                     onboarded_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
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
                    same = NULL_SAFE_EQUAL
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
                    same = NULL_SAFE_EQUAL
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
                let text = query.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
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

            async fn set_profile(&self, id: UserId, name: &DisplayName, profile: &quickscale_domain_identity::Profile) -> Result<(), StorageError> {
                sqlx::query(
                    "UPDATE users SET display_name = $1, company = $2, job_title = $3, website = $4, bio = $5, \
                     product_updates = $6 WHERE id = $7",
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

            async fn set_email_verified(&self, id: UserId, at: Option<OffsetDateTime>) -> Result<(), StorageError> {
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
                Ok(UserCounts { total: count("total")?, admins: count("admins")?, active: count("active")? })
            }
        }

        // ---------------------------------------------------------------- credits

        const GRANT_COLUMNS: &str =
            "id, kind, amount_cents, remaining_cents, granted_at, expires_at, source";
        const ENTRY_COLUMNS: &str = "id, account_id, kind, amount_cents, balance_after_cents, \
            actor, reason, grant_id, reverses, idempotency_key, at";

        fn grant_from_row(row: &$row) -> Result<Grant, StorageError> {
            Ok(Grant {
                id: GrantId(get(row, "id")?),
                kind: parse("grant kind", GrantKind::from_str(&get::<String>(row, "kind")?))?,
                amount: cents("grant amount", get(row, "amount_cents")?)?,
                remaining: cents("grant remainder", get(row, "remaining_cents")?)?,
                granted_at: time_of(row, "granted_at")?,
                expires_at: optional_time(row, "expires_at")?,
                source: parse("grant source", SourceRef::parse(get::<String>(row, "source")?))?,
            })
        }

        fn entry_from_row(row: &$row) -> Result<LedgerEntry, StorageError> {
            Ok(LedgerEntry {
                id: EntryId(get(row, "id")?),
                account: AccountId::new(get(row, "account_id")?),
                kind: parse("entry kind", EntryKind::from_str(&get::<String>(row, "kind")?))?,
                amount: cents("entry amount", get(row, "amount_cents")?)?,
                balance_after: cents("balance", get(row, "balance_after_cents")?)?,
                actor: parse("actor", get::<String>(row, "actor")?.parse())?,
                reason: get(row, "reason")?,
                grant: get::<Option<i64>>(row, "grant_id")?.map(GrantId),
                reverses: get::<Option<i64>>(row, "reverses")?.map(EntryId),
                idempotency_key: get::<Option<String>>(row, "idempotency_key")?
                    .map(|k| parse("idempotency key", IdempotencyKey::parse(k)))
                    .transpose()?,
                at: time_of(row, "at")?,
            })
        }

        fn allocation_from_row(row: &$row) -> Result<(EntryId, Allocation), StorageError> {
            Ok((
                EntryId(get(row, "entry_id")?),
                Allocation {
                    grant: GrantId(get(row, "grant_id")?),
                    amount: cents("allocation", get(row, "amount_cents")?)?,
                },
            ))
        }

        /// One transaction holding one credit account.
        struct AccountTransaction {
            tx: sqlx::Transaction<'static, $db>,
            account: Uuid,
        }

        #[async_trait]
        impl LedgerTransaction for AccountTransaction {
            async fn find_operation(
                &mut self,
                key: &IdempotencyKey,
            ) -> Result<Option<RecordedOperation>, StorageError> {
                let row = sqlx::query(
                    "SELECT id, kind, amount_cents, shortfall_cents, balance_after_cents, at, \
                     fingerprint FROM credit_entries WHERE account_id = $1 AND idempotency_key = $2",
                )
                .bind(self.account)
                .bind(key.as_str())
                .fetch_optional(&mut *self.tx)
                .await
                .map_err(storage_error)?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some(RecordedOperation {
                    fingerprint: get::<Option<String>>(&row, "fingerprint")?.unwrap_or_default(),
                    receipt: Receipt {
                        entry: EntryId(get(&row, "id")?),
                        kind: parse("entry kind", EntryKind::from_str(&get::<String>(&row, "kind")?))?,
                        amount: cents("entry amount", get(&row, "amount_cents")?)?,
                        shortfall: cents("shortfall", get(&row, "shortfall_cents")?)?,
                        balance_after: cents("balance", get(&row, "balance_after_cents")?)?,
                        at: time_of(&row, "at")?,
                        replayed: true,
                    },
                }))
            }

            async fn open_grants(&mut self) -> Result<Vec<Grant>, StorageError> {
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM credit_grants \
                     WHERE account_id = $1 AND remaining_cents > 0"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(self.account)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(storage_error)?;
                rows.iter().map(grant_from_row).collect()
            }

            async fn grants_from_source(&mut self, source: &SourceRef) -> Result<Vec<Grant>, StorageError> {
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM credit_grants WHERE account_id = $1 AND source = $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(self.account)
                    .bind(source.as_str())
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(storage_error)?;
                rows.iter().map(grant_from_row).collect()
            }

            async fn consumption(&mut self, entry: EntryId) -> Result<Option<Consumption>, StorageError> {
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM credit_entries WHERE id = $1 AND account_id = $2"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(entry.0)
                    .bind(self.account)
                    .fetch_optional(&mut *self.tx)
                    .await
                    .map_err(storage_error)?;
                let Some(row) = row else { return Ok(None) };
                let found = entry_from_row(&row)?;
                let allocations: Vec<Allocation> = sqlx::query(
                    "SELECT entry_id, grant_id, amount_cents FROM credit_allocations \
                     WHERE entry_id = $1 ORDER BY grant_id",
                )
                .bind(entry.0)
                .fetch_all(&mut *self.tx)
                .await
                .map_err(storage_error)?
                .iter()
                .map(|row| allocation_from_row(row).map(|(_, a)| a))
                .collect::<Result<_, _>>()?;
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM credit_grants WHERE id IN \
                     (SELECT grant_id FROM credit_allocations WHERE entry_id = $1)"
                );
                let grants = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(entry.0)
                    .fetch_all(&mut *self.tx)
                    .await
                    .map_err(storage_error)?
                    .iter()
                    .map(grant_from_row)
                    .collect::<Result<_, _>>()?;
                let reversed_by: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM credit_entries WHERE reverses = $1")
                        .bind(entry.0)
                        .fetch_optional(&mut *self.tx)
                        .await
                        .map_err(storage_error)?;
                Ok(Some(Consumption {
                    entry: found,
                    allocations,
                    grants,
                    reversed_by: reversed_by.map(EntryId),
                }))
            }

            async fn apply(&mut self, effects: &[Effect]) -> Result<EntryId, StorageError> {
                let mut created: Option<i64> = None;
                let mut primary = None;
                for effect in effects {
                    match effect {
                        Effect::CreateGrant(grant) => {
                            let id: i64 = sqlx::query_scalar(
                                "INSERT INTO credit_grants (account_id, kind, amount_cents, \
                                 remaining_cents, granted_at, expires_at, source) \
                                 VALUES ($1, $2, $3, $3, $4, $5, $6) RETURNING id",
                            )
                            .bind(self.account)
                            .bind(grant.kind.as_str())
                            .bind(grant.amount.cents())
                            .bind(DbTime(grant.granted_at))
                            .bind(grant.expires_at.map(DbTime))
                            .bind(grant.source.as_str())
                            .fetch_one(&mut *self.tx)
                            .await
                            .map_err(storage_error)?;
                            created = Some(id);
                        }
                        Effect::SetRemaining { grant, remaining } => {
                            sqlx::query(
                                "UPDATE credit_grants SET remaining_cents = $1 \
                                 WHERE id = $2 AND account_id = $3",
                            )
                            .bind(remaining.cents())
                            .bind(grant.0)
                            .bind(self.account)
                            .execute(&mut *self.tx)
                            .await
                            .map_err(storage_error)?;
                        }
                        Effect::Append(entry) => {
                            let grant = match entry.grant {
                                Some(GrantLink::Existing(id)) => Some(id.0),
                                Some(GrantLink::Created) => created,
                                None => None,
                            };
                            let (key, fingerprint) = match &entry.idempotency {
                                Some((key, fingerprint)) => {
                                    (Some(key.as_str()), Some(fingerprint.as_str()))
                                }
                                None => (None, None),
                            };
                            let id: i64 = sqlx::query_scalar(
                                "INSERT INTO credit_entries (account_id, kind, amount_cents, \
                                 balance_after_cents, shortfall_cents, actor, reason, grant_id, \
                                 reverses, idempotency_key, fingerprint, at) \
                                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                            )
                            .bind(self.account)
                            .bind(entry.kind.as_str())
                            .bind(entry.amount.cents())
                            .bind(entry.balance_after.cents())
                            .bind(entry.shortfall.cents())
                            .bind(entry.actor.to_string())
                            .bind(entry.reason.as_str())
                            .bind(grant)
                            .bind(entry.reverses.map(|e| e.0))
                            .bind(key)
                            .bind(fingerprint)
                            .bind(DbTime(entry.at))
                            .fetch_one(&mut *self.tx)
                            .await
                            .map_err(storage_error)?;
                            for allocation in &entry.allocations {
                                sqlx::query(
                                    "INSERT INTO credit_allocations (entry_id, grant_id, amount_cents) \
                                     VALUES ($1, $2, $3)",
                                )
                                .bind(id)
                                .bind(allocation.grant.0)
                                .bind(allocation.amount.cents())
                                .execute(&mut *self.tx)
                                .await
                                .map_err(storage_error)?;
                            }
                            if entry.idempotency.is_some() {
                                primary = Some(EntryId(id));
                            }
                        }
                    }
                }
                primary.ok_or_else(|| StorageError::corrupt("a decision without a primary entry"))
            }
        }

        /// The credit store.
        #[derive(Clone, Debug)]
        pub struct SqlCreditStore {
            db: Database,
        }

        impl SqlCreditStore {
            pub fn new(db: Database) -> Self {
                SqlCreditStore { db }
            }
        }

        #[async_trait]
        impl CreditStore for SqlCreditStore {
            async fn open_account(&self, account: AccountId, now: OffsetDateTime) -> Result<(), CreditError> {
                sqlx::query(
                    "INSERT INTO credit_accounts (id, created_at) VALUES ($1, $2) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .bind(account.as_uuid())
                .bind(DbTime(now))
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(())
            }

            async fn execute(
                &self,
                account: AccountId,
                op: Operation,
                now: OffsetDateTime,
            ) -> Result<Receipt, CreditError> {
                let tx = self
                    .db
                    .begin_account(account.as_uuid())
                    .await?
                    .ok_or(CreditError::AccountNotFound(account))?;
                let mut tx = AccountTransaction { tx, account: account.as_uuid() };
                let receipt = match run_operation(&mut tx, &op, now).await {
                    Ok(receipt) => receipt,
                    Err(error) => {
                        // Dropping the transaction rolls it back; nothing was written.
                        return Err(error);
                    }
                };
                if receipt.replayed {
                    tx.tx.rollback().await.map_err(storage_error)?;
                    return Ok(receipt);
                }
                match tx.tx.commit().await {
                    Ok(()) => Ok(receipt),
                    Err(e) => Err(storage_error(e).into()),
                }
            }

            async fn open_grants(&self, account: AccountId) -> Result<Vec<Grant>, CreditError> {
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM credit_grants \
                     WHERE account_id = $1 AND remaining_cents > 0 ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account.as_uuid())
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?;
                Ok(rows.iter().map(grant_from_row).collect::<Result<_, _>>()?)
            }

            async fn history(
                &self,
                account: AccountId,
                query: HistoryQuery,
            ) -> Result<HistoryPage, CreditError> {
                let limit = query.limit.clamp(1, HistoryQuery::MAX_LIMIT);
                let sql = format!(
                    "SELECT {ENTRY_COLUMNS} FROM credit_entries WHERE account_id = $1 AND id < $2 \
                     ORDER BY id DESC LIMIT $3"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(account.as_uuid())
                    .bind(query.before.map_or(i64::MAX, |e| e.0))
                    .bind(i64::from(limit) + 1)
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?;
                let entries = rows.iter().map(entry_from_row).collect::<Result<_, _>>()?;
                Ok(query.page(entries))
            }

            async fn grants(&self, account: AccountId, ids: &[GrantId]) -> Result<Vec<Grant>, CreditError> {
                if ids.is_empty() {
                    return Ok(Vec::new());
                }
                // Placeholders only: the ids themselves are bound.
                let placeholders: Vec<String> = (2..ids.len() + 2).map(|n| format!("${n}")).collect();
                let sql = format!(
                    "SELECT {GRANT_COLUMNS} FROM credit_grants WHERE account_id = $1 AND id IN ({}) \
                     ORDER BY id",
                    placeholders.join(", ")
                );
                let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(account.as_uuid());
                for id in ids {
                    query = query.bind(id.0);
                }
                let rows = query.fetch_all(self.db.reader()).await.map_err(storage_error)?;
                Ok(rows.iter().map(grant_from_row).collect::<Result<_, _>>()?)
            }

            async fn snapshot(&self, account: AccountId) -> Result<AccountSnapshot, CreditError> {
                let id = account.as_uuid();
                let grants = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {GRANT_COLUMNS} FROM credit_grants WHERE account_id = $1 ORDER BY id"
                )))
                .bind(id)
                .fetch_all(self.db.reader())
                .await
                .map_err(storage_error)?
                .iter()
                .map(grant_from_row)
                .collect::<Result<_, _>>()?;
                let entries = sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {ENTRY_COLUMNS} FROM credit_entries WHERE account_id = $1 ORDER BY id"
                )))
                .bind(id)
                .fetch_all(self.db.reader())
                .await
                .map_err(storage_error)?
                .iter()
                .map(entry_from_row)
                .collect::<Result<_, _>>()?;
                let allocations = sqlx::query(
                    "SELECT a.entry_id, a.grant_id, a.amount_cents FROM credit_allocations a \
                     JOIN credit_entries e ON e.id = a.entry_id WHERE e.account_id = $1 \
                     ORDER BY a.entry_id, a.grant_id",
                )
                .bind(id)
                .fetch_all(self.db.reader())
                .await
                .map_err(storage_error)?
                .iter()
                .map(allocation_from_row)
                .collect::<Result<_, _>>()?;
                Ok(AccountSnapshot { grants, entries, allocations })
            }
        }

        // ---------------------------------------------------------------- service runs

        const RUN_COLUMNS: &str = "id, user_id, service, run_key, status, cost_cents, charge_entry, \
            refunded_cents, balance_after_cents, input_bytes, duration_ms, output, error, \
            started_at, finished_at";

        fn run_from_row(row: &$row) -> Result<ServiceRun, StorageError> {
            let status = get::<String>(row, "status")?;
            Ok(ServiceRun {
                id: get(row, "id")?,
                user: UserId::from_uuid(get(row, "user_id")?),
                service: get(row, "service")?,
                key: parse("run key", IdempotencyKey::parse(get::<String>(row, "run_key")?))?,
                status: RunStatus::parse(&status)
                    .ok_or_else(|| StorageError::corrupt(format!("unknown run status {status}")))?,
                cost: cents("run cost", get(row, "cost_cents")?)?,
                charge: get::<Option<i64>>(row, "charge_entry")?.map(EntryId),
                refunded: cents("refund", get(row, "refunded_cents")?)?,
                balance_after: get::<Option<i64>>(row, "balance_after_cents")?
                    .map(|c| cents("balance", c))
                    .transpose()?,
                input_bytes: parse("input size", u64::try_from(get::<i64>(row, "input_bytes")?))?,
                duration_ms: get::<Option<i64>>(row, "duration_ms")?
                    .map(|d| parse("duration", u64::try_from(d)))
                    .transpose()?,
                output: get::<Option<Json<ServiceOutput>>>(row, "output")?.map(|j| j.0),
                error: get(row, "error")?,
                started_at: time_of(row, "started_at")?,
                finished_at: optional_time(row, "finished_at")?,
            })
        }

        /// The service usage store.
        #[derive(Clone, Debug)]
        pub struct SqlUsageRepository {
            db: Database,
        }

        impl SqlUsageRepository {
            pub fn new(db: Database) -> Self {
                SqlUsageRepository { db }
            }
        }

        #[async_trait]
        impl ServiceUsageRepository for SqlUsageRepository {
            async fn claim(&self, run: &ServiceRun) -> Result<Claim, StorageError> {
                let inserted = sqlx::query(
                    "INSERT INTO service_runs (id, user_id, service, run_key, status, cost_cents, \
                     refunded_cents, input_bytes, started_at) VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8) \
                     ON CONFLICT (user_id, run_key) DO NOTHING",
                )
                .bind(run.id)
                .bind(run.user.as_uuid())
                .bind(run.service.as_str())
                .bind(run.key.as_str())
                .bind(run.status.as_str())
                .bind(run.cost.cents())
                .bind(i64::try_from(run.input_bytes).unwrap_or(i64::MAX))
                .bind(DbTime(run.started_at))
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                if inserted.rows_affected() == 1 {
                    return Ok(Claim::Started);
                }
                let sql = format!("SELECT {RUN_COLUMNS} FROM service_runs WHERE user_id = $1 AND run_key = $2");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(run.user.as_uuid())
                    .bind(run.key.as_str())
                    .fetch_one(self.db.writer())
                    .await
                    .map_err(storage_error)?;
                Ok(Claim::Existing(Box::new(run_from_row(&row)?)))
            }

            async fn finish(&self, id: Uuid, end: &RunEnd) -> Result<(), StorageError> {
                sqlx::query(
                    "UPDATE service_runs SET status = $1, cost_cents = $2, charge_entry = $3, \
                     refunded_cents = $4, balance_after_cents = $5, duration_ms = $6, output = $7, \
                     error = $8, finished_at = $9 WHERE id = $10",
                )
                .bind(end.status.as_str())
                .bind(end.cost.cents())
                .bind(end.charge.map(|e| e.0))
                .bind(end.refunded.cents())
                .bind(end.balance_after.map(|b| b.cents()))
                .bind(i64::try_from(end.duration_ms).unwrap_or(i64::MAX))
                .bind(end.output.as_ref().map(Json))
                .bind(end.error.as_deref())
                .bind(DbTime(end.finished_at))
                .bind(id)
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(())
            }

            async fn get(&self, user: UserId, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
                let sql = format!("SELECT {RUN_COLUMNS} FROM service_runs WHERE id = $1 AND user_id = $2");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .bind(user.as_uuid())
                    .fetch_optional(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .as_ref()
                    .map(run_from_row)
                    .transpose()
            }

            async fn list(&self, user: UserId, query: &RunQuery) -> Result<Vec<ServiceRun>, StorageError> {
                let sql = format!(
                    "SELECT {RUN_COLUMNS} FROM service_runs WHERE user_id = $1 \
                     AND ($2 IS NULL OR service = $2) AND ($3 IS NULL OR status = $3) \
                     ORDER BY started_at DESC, id DESC LIMIT $4 OFFSET $5"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user.as_uuid())
                    .bind(query.service.as_deref())
                    .bind(query.status.map(|s| s.as_str()))
                    .bind(i64::from(query.limit.clamp(1, 500)))
                    .bind(i64::try_from(query.offset).unwrap_or(i64::MAX))
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .iter()
                    .map(run_from_row)
                    .collect()
            }

            async fn unfinished(
                &self,
                before: OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<ServiceRun>, StorageError> {
                let sql = format!(
                    "SELECT {RUN_COLUMNS} FROM service_runs WHERE status = 'running' \
                     AND started_at < $1 ORDER BY started_at LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(DbTime(before))
                    .bind(i64::from(limit))
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .iter()
                    .map(run_from_row)
                    .collect()
            }

            async fn charges(
                &self,
                user: UserId,
                after: Option<Uuid>,
                limit: u32,
            ) -> Result<Vec<quickscale_service_sdk::usage::RunCharge>, StorageError> {
                sqlx::query(
                    "SELECT id, status, cost_cents, charge_entry, refunded_cents FROM service_runs \
                     WHERE user_id = $1 AND ($2 IS NULL OR id > $2) ORDER BY id LIMIT $3",
                )
                .bind(user.as_uuid())
                .bind(after)
                .bind(i64::from(limit.clamp(1, 10_000)))
                .fetch_all(self.db.reader())
                .await
                .map_err(storage_error)?
                .iter()
                .map(|row| {
                    let status = get::<String>(row, "status")?;
                    Ok(quickscale_service_sdk::usage::RunCharge {
                        id: get(row, "id")?,
                        status: RunStatus::parse(&status)
                            .ok_or_else(|| StorageError::corrupt(format!("unknown run status {status}")))?,
                        cost: cents("run cost", get(row, "cost_cents")?)?,
                        charge: get::<Option<i64>>(row, "charge_entry")?.map(EntryId),
                        refunded: cents("refund", get(row, "refunded_cents")?)?,
                    })
                })
                .collect()
            }

            async fn samples_since(
                &self,
                since: OffsetDateTime,
                limit: u32,
            ) -> Result<Vec<quickscale_service_sdk::usage::RunSample>, StorageError> {
                sqlx::query(
                    "SELECT service, user_id, status, cost_cents, duration_ms, started_at FROM service_runs \
                     WHERE started_at >= $1 ORDER BY started_at DESC LIMIT $2",
                )
                .bind(DbTime(since))
                .bind(i64::from(limit))
                .fetch_all(self.db.reader())
                .await
                .map_err(storage_error)?
                .iter()
                .map(|row| {
                    let status = get::<String>(row, "status")?;
                    Ok(quickscale_service_sdk::usage::RunSample {
                        service: get(row, "service")?,
                        user: UserId::from_uuid(get(row, "user_id")?),
                        status: RunStatus::parse(&status)
                            .ok_or_else(|| StorageError::corrupt(format!("unknown run status {status}")))?,
                        cost: cents("run cost", get(row, "cost_cents")?)?,
                        duration_ms: get::<Option<i64>>(row, "duration_ms")?
                            .map(|d| parse("duration", u64::try_from(d)))
                            .transpose()?,
                        started_at: time_of(row, "started_at")?,
                    })
                })
                .collect()
            }
        }

        // ---------------------------------------------------------------- contact messages

        /// The contact message store.
        #[derive(Clone, Debug)]
        pub struct SqlContactRepository {
            db: Database,
        }

        impl SqlContactRepository {
            pub fn new(db: Database) -> Self {
                SqlContactRepository { db }
            }
        }

        #[async_trait]
        impl quickscale_domain_kernel::ContactRepository for SqlContactRepository {
            async fn save(&self, message: &quickscale_domain_kernel::ContactMessage) -> Result<(), StorageError> {
                sqlx::query(
                    "INSERT INTO contact_messages (id, name, email, subject, message, received_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(message.id)
                .bind(message.name.as_str())
                .bind(message.email.as_str())
                .bind(message.subject.as_str())
                .bind(message.message.as_str())
                .bind(DbTime(message.received_at))
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(())
            }

            async fn recent(&self, limit: u32) -> Result<Vec<quickscale_domain_kernel::ContactMessage>, StorageError> {
                let rows = sqlx::query(
                    "SELECT id, name, email, subject, message, received_at FROM contact_messages \
                     ORDER BY received_at DESC LIMIT $1",
                )
                .bind(i64::from(limit.clamp(1, 500)))
                .fetch_all(self.db.reader())
                .await
                .map_err(storage_error)?;
                rows.iter()
                    .map(|row| {
                        Ok(quickscale_domain_kernel::ContactMessage {
                            id: get(row, "id")?,
                            name: get(row, "name")?,
                            email: get(row, "email")?,
                            subject: get(row, "subject")?,
                            message: get(row, "message")?,
                            received_at: time_of(row, "received_at")?,
                        })
                    })
                    .collect()
            }
        }

        // ---------------------------------------------------------------- browser sessions

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
        fn session_backend(error: impl std::fmt::Display) -> tower_sessions_core::session_store::Error {
            tower_sessions_core::session_store::Error::Backend(error.to_string())
        }

        fn session_db(error: sqlx::Error) -> tower_sessions_core::session_store::Error {
            let storage = storage_error(error);
            let prefix = if storage.is_unavailable() { "unavailable: " } else { "" };
            tower_sessions_core::session_store::Error::Backend(format!("{prefix}{storage}"))
        }

        #[async_trait]
        impl tower_sessions_core::SessionStore for SqlSessionStore {
            async fn create(&self, record: &mut tower_sessions_core::session::Record) -> tower_sessions_core::session_store::Result<()> {
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
                        Err(e) if is_unique_violation(&e) => record.id = tower_sessions_core::session::Id::default(),
                        Err(e) => return Err(session_db(e)),
                    }
                }
            }

            async fn save(&self, record: &tower_sessions_core::session::Record) -> tower_sessions_core::session_store::Result<()> {
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

            async fn load(&self, id: &tower_sessions_core::session::Id) -> tower_sessions_core::session_store::Result<Option<tower_sessions_core::session::Record>> {
                let row = sqlx::query("SELECT data, expiry FROM sessions WHERE id = $1 AND expiry > $2")
                    .bind(id.to_string())
                    .bind(DbTime(OffsetDateTime::now_utc()))
                    .fetch_optional(self.db.reader())
                    .await
                    .map_err(session_db)?;
                let Some(row) = row else { return Ok(None) };
                let data: String = get(&row, "data").map_err(session_backend)?;
                Ok(Some(tower_sessions_core::session::Record {
                    id: *id,
                    data: serde_json::from_str(&data).map_err(session_backend)?,
                    expiry_date: time_of(&row, "expiry").map_err(session_backend)?,
                }))
            }

            async fn delete(&self, id: &tower_sessions_core::session::Id) -> tower_sessions_core::session_store::Result<()> {
                sqlx::query("DELETE FROM sessions WHERE id = $1")
                    .bind(id.to_string())
                    .execute(self.db.writer())
                    .await
                    .map_err(session_db)?;
                Ok(())
            }
        }

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

            async fn delete_for_user(&self, user: UserId, except: Option<&str>) -> Result<u64, StorageError> {
                let result = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
                    .bind(user.as_uuid())
                    .bind(except.unwrap_or(""))
                    .execute(self.db.writer())
                    .await
                    .map_err(storage_error)?;
                Ok(result.rows_affected())
            }

            async fn list_for_user(&self, user: UserId, now: OffsetDateTime) -> Result<Vec<(String, OffsetDateTime)>, StorageError> {
                sqlx::query("SELECT id, expiry FROM sessions WHERE user_id = $1 AND expiry > $2 ORDER BY expiry DESC")
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
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expiry > $2")
                    .bind(user.as_uuid())
                    .bind(DbTime(now))
                    .fetch_one(self.db.reader())
                    .await
                    .map_err(storage_error)?;
                Ok(u64::try_from(count).unwrap_or_default())
            }
        }

        // ---------------------------------------------------------------- service settings

        /// Admin settings of the registered services.
        #[derive(Clone, Debug)]
        pub struct SqlServiceSettingsRepository {
            db: Database,
        }

        impl SqlServiceSettingsRepository {
            pub fn new(db: Database) -> Self {
                SqlServiceSettingsRepository { db }
            }
        }

        #[async_trait]
        impl quickscale_service_sdk::ServiceSettingsRepository for SqlServiceSettingsRepository {
            async fn sync(&self, slugs: &[String]) -> Result<Vec<quickscale_service_sdk::ServiceSettings>, StorageError> {
                let mut tx = self.db.writer().begin().await.map_err(storage_error)?;
                let next: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(MAX(display_order), -1) + 1 AS BIGINT) FROM service_settings")
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                let mut order = next;
                for slug in slugs {
                    let inserted = sqlx::query(
                        "INSERT INTO service_settings (slug, enabled, display_order) VALUES ($1, $2, $3) \
                         ON CONFLICT (slug) DO NOTHING",
                    )
                    .bind(slug.as_str())
                    .bind(true)
                    .bind(i32::try_from(order).unwrap_or(i32::MAX))
                    .execute(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                    order += i64::try_from(inserted.rows_affected()).unwrap_or(0);
                }
                let rows = sqlx::query("SELECT slug, enabled, cost_override_cents, display_order FROM service_settings ORDER BY display_order, slug")
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                tx.commit().await.map_err(storage_error)?;
                rows.iter()
                    .map(|row| {
                        Ok(quickscale_service_sdk::ServiceSettings {
                            slug: get(row, "slug")?,
                            enabled: get(row, "enabled")?,
                            cost_override: get::<Option<i64>>(row, "cost_override_cents")?
                                .map(|c| cents("cost override", c))
                                .transpose()?,
                            display_order: get(row, "display_order")?,
                        })
                    })
                    .filter(|s: &Result<quickscale_service_sdk::ServiceSettings, StorageError>| {
                        s.as_ref().map_or(true, |s| slugs.contains(&s.slug))
                    })
                    .collect()
            }

            async fn update(&self, settings: &quickscale_service_sdk::ServiceSettings) -> Result<bool, StorageError> {
                let result = sqlx::query(
                    "UPDATE service_settings SET enabled = $1, cost_override_cents = $2, display_order = $3 WHERE slug = $4",
                )
                .bind(settings.enabled)
                .bind(settings.cost_override.map(|c| c.cents()))
                .bind(settings.display_order)
                .bind(settings.slug.as_str())
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(result.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use sql_stores;
