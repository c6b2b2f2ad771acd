//! The SQL token, audit, outbox and API key stores, instantiated per backend next to
//! `sql_stores!`. Like `billing_stores!`, it uses the backend's `begin_write()` and `FOR_UPDATE`.

macro_rules! account_stores {
    ($db:ty, $row:ty) => {
        use quickscale_domain_identity::{
            ApiKey, ApiKeyError, ApiKeyId, ApiKeyRepository, TokenPurpose, TokenRecord, TokenRepository,
        };
        use quickscale_domain_kernel::{
            AuditEntry, AuditLog, AuditQuery, EmailMessage, OutboxMessage, OutboxQuery,
            OutboxStatus, OutboxStore,
        };

        /// Tokens, the audit log, the email outbox and API keys.
        #[derive(Clone, Debug)]
        pub struct SqlAccountStores {
            db: Database,
        }

        impl SqlAccountStores {
            pub fn new(db: Database) -> Self {
                SqlAccountStores { db }
            }
        }

        #[async_trait]
        impl TokenRepository for SqlAccountStores {
            async fn issue(&self, hash: &str, record: &TokenRecord) -> Result<(), StorageError> {
                sqlx::query(
                    "INSERT INTO tokens (hash, user_id, purpose, payload, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(hash)
                .bind(record.user.as_uuid())
                .bind(record.purpose.as_str())
                .bind(record.payload.as_deref())
                .bind(DbTime(record.created_at))
                .bind(DbTime(record.expires_at))
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(())
            }

            async fn consume(&self, purpose: TokenPurpose, hash: &str, now: OffsetDateTime) -> Result<Option<TokenRecord>, StorageError> {
                let row = sqlx::query(
                    "UPDATE tokens SET used_at = $1 WHERE hash = $2 AND purpose = $3 AND used_at IS NULL \
                     AND expires_at > $1 RETURNING user_id, payload, created_at, expires_at",
                )
                .bind(DbTime(now))
                .bind(hash)
                .bind(purpose.as_str())
                .fetch_optional(self.db.writer())
                .await
                .map_err(storage_error)?;
                row.map(|row| token_from_row(&row, purpose)).transpose()
            }

            async fn find(&self, purpose: TokenPurpose, hash: &str, now: OffsetDateTime) -> Result<Option<TokenRecord>, StorageError> {
                let row = sqlx::query(
                    "SELECT user_id, payload, created_at, expires_at FROM tokens WHERE hash = $1 \
                     AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
                )
                .bind(hash)
                .bind(purpose.as_str())
                .bind(DbTime(now))
                .fetch_optional(self.db.reader())
                .await
                .map_err(storage_error)?;
                row.map(|row| token_from_row(&row, purpose)).transpose()
            }

            async fn revoke_all(&self, user: UserId, purpose: TokenPurpose) -> Result<u64, StorageError> {
                let result = sqlx::query("UPDATE tokens SET used_at = created_at WHERE user_id = $1 AND purpose = $2 AND used_at IS NULL")
                    .bind(user.as_uuid())
                    .bind(purpose.as_str())
                    .execute(self.db.writer())
                    .await
                    .map_err(storage_error)?;
                Ok(result.rows_affected())
            }

            async fn issued_since(&self, user: UserId, purpose: TokenPurpose, since: OffsetDateTime) -> Result<u64, StorageError> {
                let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM tokens WHERE user_id = $1 AND purpose = $2 AND created_at >= $3")
                    .bind(user.as_uuid())
                    .bind(purpose.as_str())
                    .bind(DbTime(since))
                    .fetch_one(self.db.reader())
                    .await
                    .map_err(storage_error)?;
                Ok(u64::try_from(count).unwrap_or_default())
            }
        }

        fn token_from_row(row: &$row, purpose: TokenPurpose) -> Result<TokenRecord, StorageError> {
            Ok(TokenRecord {
                user: UserId::from_uuid(get(row, "user_id")?),
                purpose,
                payload: get(row, "payload")?,
                created_at: time_of(row, "created_at")?,
                expires_at: time_of(row, "expires_at")?,
            })
        }

        fn audit_from_row(row: &$row) -> Result<AuditEntry, StorageError> {
            let json = |column: &str| -> Result<serde_json::Value, StorageError> {
                parse("audit state", serde_json::from_str(&get::<String>(row, column)?))
            };
            Ok(AuditEntry {
                id: get(row, "id")?,
                at: time_of(row, "at")?,
                actor: get(row, "actor")?,
                actor_label: get(row, "actor_label")?,
                action: get(row, "action")?,
                subject: get(row, "subject")?,
                subject_label: get(row, "subject_label")?,
                before: json("before_state")?,
                after: json("after_state")?,
            })
        }

        #[async_trait]
        impl AuditLog for SqlAccountStores {
            async fn record(&self, entry: &AuditEntry) -> Result<(), StorageError> {
                sqlx::query(
                    "INSERT INTO audit_log (id, at, actor, actor_label, action, subject, subject_label, before_state, after_state) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(entry.id)
                .bind(DbTime(entry.at))
                .bind(entry.actor)
                .bind(entry.actor_label.as_str())
                .bind(entry.action.as_str())
                .bind(entry.subject)
                .bind(entry.subject_label.as_str())
                .bind(entry.before.to_string())
                .bind(entry.after.to_string())
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(())
            }

            async fn list(&self, q: &AuditQuery) -> Result<Vec<AuditEntry>, StorageError> {
                let prefix = q.action_prefix.as_deref().map(|p| format!("{}%", p.replace(['%', '_', '\\'], "")));
                sqlx::query(
                    "SELECT id, at, actor, actor_label, action, subject, subject_label, before_state, after_state FROM audit_log \
                     WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR subject = $2) AND ($3 IS NULL OR action LIKE $3) \
                     ORDER BY at DESC, id DESC LIMIT $4 OFFSET $5",
                )
                .bind(q.actor)
                .bind(q.subject)
                .bind(prefix)
                .bind(i64::from(q.limit.clamp(1, 500)))
                .bind(i64::try_from(q.offset).unwrap_or(i64::MAX))
                .fetch_all(self.db.reader())
                .await
                .map_err(storage_error)?
                .iter()
                .map(audit_from_row)
                .collect()
            }
        }

        fn outbox_from_row(row: &$row) -> Result<OutboxMessage, StorageError> {
            let status: String = get(row, "status")?;
            Ok(OutboxMessage {
                id: get(row, "id")?,
                message: parse("outbox message", serde_json::from_str::<EmailMessage>(&get::<String>(row, "message")?))?,
                status: OutboxStatus::parse(&status).ok_or_else(|| StorageError::corrupt(format!("outbox status {status}")))?,
                attempts: parse("attempts", u32::try_from(get::<i32>(row, "attempts")?))?,
                last_error: get(row, "last_error")?,
                next_attempt_at: optional_time(row, "next_attempt_at")?,
                created_at: time_of(row, "created_at")?,
                sent_at: optional_time(row, "sent_at")?,
            })
        }

        const OUTBOX_COLUMNS: &str = "id, message, status, attempts, last_error, next_attempt_at, created_at, sent_at";

        #[async_trait]
        impl OutboxStore for SqlAccountStores {
            async fn enqueue(&self, message: &EmailMessage, now: OffsetDateTime) -> Result<Uuid, StorageError> {
                let id = Uuid::now_v7();
                let json = serde_json::to_string(message).map_err(|e| StorageError::corrupt(e.to_string()))?;
                sqlx::query("INSERT INTO outbox (id, recipient, message, status, created_at) VALUES ($1, $2, $3, 'queued', $4)")
                    .bind(id)
                    .bind(message.to.as_str())
                    .bind(json)
                    .bind(DbTime(now))
                    .execute(self.db.writer())
                    .await
                    .map_err(storage_error)?;
                Ok(id)
            }

            async fn due(&self, now: OffsetDateTime, limit: u32) -> Result<Vec<OutboxMessage>, StorageError> {
                let sql = format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE status = 'queued' \
                     OR (status = 'failed' AND next_attempt_at <= $1) ORDER BY created_at, id LIMIT $2"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(DbTime(now))
                    .bind(i64::from(limit))
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .iter()
                    .map(outbox_from_row)
                    .collect()
            }

            async fn mark_sent(&self, id: Uuid, now: OffsetDateTime) -> Result<(), StorageError> {
                sqlx::query(
                    "UPDATE outbox SET status = 'sent', attempts = attempts + 1, sent_at = $1, next_attempt_at = NULL WHERE id = $2",
                )
                .bind(DbTime(now))
                .bind(id)
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(())
            }

            async fn mark_failed(&self, id: Uuid, error: &str, next_attempt_at: Option<OffsetDateTime>) -> Result<(), StorageError> {
                sqlx::query(
                    "UPDATE outbox SET status = 'failed', attempts = attempts + 1, last_error = $1, next_attempt_at = $2 WHERE id = $3",
                )
                .bind(error)
                .bind(next_attempt_at.map(DbTime))
                .bind(id)
                .execute(self.db.writer())
                .await
                .map_err(storage_error)?;
                Ok(())
            }

            async fn get(&self, id: Uuid) -> Result<Option<OutboxMessage>, StorageError> {
                let sql = format!("SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id = $1");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(id)
                    .fetch_optional(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .as_ref()
                    .map(outbox_from_row)
                    .transpose()
            }

            async fn list(&self, q: &OutboxQuery) -> Result<Vec<OutboxMessage>, StorageError> {
                let sql = format!(
                    "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR recipient = $2) \
                     ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(q.status.map(|s| s.as_str()))
                    .bind(q.to.as_deref())
                    .bind(i64::from(q.limit.clamp(1, 500)))
                    .bind(i64::try_from(q.offset).unwrap_or(i64::MAX))
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .iter()
                    .map(outbox_from_row)
                    .collect()
            }
        }

        const API_KEY_COLUMNS: &str = "id, user_id, name, shown, created_at, last_used_at, revoked_at";

        fn api_key_from_row(row: &$row) -> Result<ApiKey, StorageError> {
            Ok(ApiKey {
                id: ApiKeyId(get(row, "id")?),
                user: UserId::from_uuid(get(row, "user_id")?),
                name: get(row, "name")?,
                shown: get(row, "shown")?,
                created_at: time_of(row, "created_at")?,
                last_used_at: optional_time(row, "last_used_at")?,
                revoked_at: optional_time(row, "revoked_at")?,
            })
        }

        #[async_trait]
        impl ApiKeyRepository for SqlAccountStores {
            async fn create(&self, key: &ApiKey, hash: &str, max_active: u64) -> Result<(), ApiKeyError> {
                // The user's row is the lock (PostgreSQL); SQLite's write transaction excludes
                // other writers from the start. Either way two creates cannot both pass the count.
                let mut tx = self.db.begin_write().await?;
                let user: Option<Uuid> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT id FROM users WHERE id = $1{}",
                    super::FOR_UPDATE
                )))
                .bind(key.user.as_uuid())
                .fetch_optional(&mut *tx)
                .await
                .map_err(storage_error)?;
                if user.is_none() {
                    return Err(StorageError::new(
                        quickscale_domain_kernel::StorageFailure::Other,
                        format!("no user {} to hold an API key", key.user.as_uuid()),
                    )
                    .into());
                }
                let active: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE user_id = $1 AND revoked_at IS NULL")
                    .bind(key.user.as_uuid())
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(storage_error)?;
                if u64::try_from(active).unwrap_or_default() >= max_active {
                    return Err(ApiKeyError::TooMany);
                }
                let inserted = sqlx::query(
                    "INSERT INTO api_keys (id, user_id, name, shown, key_hash, created_at, last_used_at, revoked_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(key.id.0)
                .bind(key.user.as_uuid())
                .bind(key.name.as_str())
                .bind(key.shown.as_str())
                .bind(hash)
                .bind(DbTime(key.created_at))
                .bind(key.last_used_at.map(DbTime))
                .bind(key.revoked_at.map(DbTime))
                .execute(&mut *tx)
                .await;
                match inserted {
                    Ok(_) => {}
                    Err(e) if is_unique_violation(&e) => {
                        return Err(StorageError::with_source(
                            quickscale_domain_kernel::StorageFailure::Other,
                            "an API key with this id or hash is stored already",
                            e,
                        )
                        .into());
                    }
                    Err(e) => return Err(storage_error(e).into()),
                }
                tx.commit().await.map_err(storage_error)?;
                Ok(())
            }

            async fn authenticate(&self, hash: &str, now: OffsetDateTime) -> Result<Option<ApiKey>, StorageError> {
                let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL");
                let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(hash)
                    .fetch_optional(self.db.reader())
                    .await
                    .map_err(storage_error)?
                else {
                    return Ok(None);
                };
                let mut key = api_key_from_row(&row)?;
                // Read first and write only when the last use is a minute old, so that a busy key
                // does not take the writer on every request.
                let stale = now - time::Duration::MINUTE;
                if key.last_used_at.is_none_or(|t| t <= stale) {
                    let written = sqlx::query(
                        "UPDATE api_keys SET last_used_at = $1 WHERE id = $2 AND revoked_at IS NULL \
                         AND (last_used_at IS NULL OR last_used_at <= $3)",
                    )
                    .bind(DbTime(now))
                    .bind(key.id.0)
                    .bind(DbTime(stale))
                    .execute(self.db.writer())
                    .await
                    .map_err(storage_error)?;
                    if written.rows_affected() == 1 {
                        key.last_used_at = Some(now);
                    }
                }
                Ok(Some(key))
            }

            async fn list(&self, user: UserId) -> Result<Vec<ApiKey>, StorageError> {
                let sql = format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE user_id = $1 ORDER BY created_at DESC, id DESC");
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user.as_uuid())
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .iter()
                    .map(api_key_from_row)
                    .collect()
            }

            async fn revoke(&self, user: UserId, id: ApiKeyId, now: OffsetDateTime) -> Result<bool, StorageError> {
                let result = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE id = $2 AND user_id = $3 AND revoked_at IS NULL")
                    .bind(DbTime(now))
                    .bind(id.0)
                    .bind(user.as_uuid())
                    .execute(self.db.writer())
                    .await
                    .map_err(storage_error)?;
                Ok(result.rows_affected() == 1)
            }

            async fn revoke_all(&self, user: UserId, now: OffsetDateTime) -> Result<u64, StorageError> {
                let result = sqlx::query("UPDATE api_keys SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
                    .bind(DbTime(now))
                    .bind(user.as_uuid())
                    .execute(self.db.writer())
                    .await
                    .map_err(storage_error)?;
                Ok(result.rows_affected())
            }
        }
    };
}

pub(crate) use account_stores;
