//! The SQL token, audit and outbox stores, instantiated per backend next to `sql_stores!`.

macro_rules! account_stores {
    ($db:ty, $row:ty) => {
        use quickscale_domain_identity::{TokenPurpose, TokenRecord, TokenRepository};
        use quickscale_domain_kernel::{
            AuditEntry, AuditLog, AuditQuery, EmailMessage, OutboxMessage, OutboxQuery,
            OutboxStatus, OutboxStore,
        };

        /// Tokens, the audit log and the email outbox.
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
                     ORDER BY created_at DESC, id DESC LIMIT $3"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(q.status.map(|s| s.as_str()))
                    .bind(q.to.as_deref())
                    .bind(i64::from(q.limit.clamp(1, 500)))
                    .fetch_all(self.db.reader())
                    .await
                    .map_err(storage_error)?
                    .iter()
                    .map(outbox_from_row)
                    .collect()
            }
        }
    };
}

pub(crate) use account_stores;
