//! Users' notification choices and their webhook deliveries.

use async_trait::async_trait;
use quickscale_domain_identity::UserId;
use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::notify::{
    AttemptOutcome, DeliveryAttempt, DeliveryStatus, NewDelivery, NotificationPreferences,
    NotificationStore, WebhookDelivery, WebhookEndpoint,
};
use time::OffsetDateTime;
use uuid::Uuid;

use super::row::{get, optional_time, time_of};
use super::{Database, Row};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, is_unique_violation, parse, storage_error};

/// Notification choices and webhook deliveries.
#[derive(Clone, Debug)]
pub struct SqlNotificationStore {
    db: Database,
}

impl SqlNotificationStore {
    pub fn new(db: Database) -> Self {
        SqlNotificationStore { db }
    }
}

const DELIVERY_COLUMNS: &str = "id, user_id, event_id, event_type, payload, url, status, \
                                attempts, next_attempt_at, created_at, delivered_at";

fn delivery_from_row(row: &Row) -> Result<WebhookDelivery, StorageError> {
    let status: String = get(row, "status")?;
    Ok(WebhookDelivery {
        delivery: NewDelivery {
            id: get(row, "id")?,
            user: UserId::from_uuid(get(row, "user_id")?),
            event_id: get(row, "event_id")?,
            event_type: get(row, "event_type")?,
            payload: get(row, "payload")?,
            url: get(row, "url")?,
            created_at: time_of(row, "created_at")?,
        },
        status: DeliveryStatus::parse(&status)
            .ok_or_else(|| StorageError::corrupt(format!("webhook delivery status {status}")))?,
        attempts: parse("attempts", u32::try_from(get::<i32>(row, "attempts")?))?,
        next_attempt_at: optional_time(row, "next_attempt_at")?,
        delivered_at: optional_time(row, "delivered_at")?,
    })
}

fn attempt_from_row(row: &Row) -> Result<(Uuid, DeliveryAttempt), StorageError> {
    let status_code: Option<i32> = get(row, "status_code")?;
    Ok((
        get(row, "delivery_id")?,
        DeliveryAttempt {
            number: parse("attempt", u32::try_from(get::<i32>(row, "number")?))?,
            outcome: AttemptOutcome {
                at: time_of(row, "at")?,
                status_code: status_code
                    .map(|code| parse("status code", u16::try_from(code)))
                    .transpose()?,
                error: get(row, "error")?,
                duration_ms: parse("duration", u64::try_from(get::<i64>(row, "duration_ms")?))?,
                replay: get(row, "replay")?,
            },
        },
    ))
}

crate::sql::traced_store! { "notifications",
#[async_trait]
impl NotificationStore for SqlNotificationStore {
    async fn preferences(&self, user: UserId) -> Result<NotificationPreferences, StorageError> {
        let row = sqlx::query(
            "SELECT webhook_url, webhook_secret_seed, webhook_created_at, email_background_runs \
             FROM notification_preferences WHERE user_id = $1",
        )
        .bind(user.as_uuid())
        .fetch_optional(self.db.reader())
        .await
        .map_err(storage_error)?;
        let Some(row) = row else {
            return Ok(NotificationPreferences::default());
        };
        let url: Option<String> = get(&row, "webhook_url")?;
        let seed: Option<String> = get(&row, "webhook_secret_seed")?;
        let created_at = optional_time(&row, "webhook_created_at")?;
        let webhook = match (url, seed, created_at) {
            (Some(url), Some(secret_seed), Some(created_at)) => Some(WebhookEndpoint {
                user,
                url,
                secret_seed,
                created_at,
            }),
            _ => None,
        };
        Ok(NotificationPreferences {
            webhook,
            email_background_runs: get(&row, "email_background_runs")?,
        })
    }

    async fn set_webhook(&self, endpoint: &WebhookEndpoint) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO notification_preferences (user_id, webhook_url, webhook_secret_seed, \
             webhook_created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO UPDATE SET \
             webhook_url = excluded.webhook_url, webhook_secret_seed = \
             excluded.webhook_secret_seed, webhook_created_at = excluded.webhook_created_at",
        )
        .bind(endpoint.user.as_uuid())
        .bind(endpoint.url.as_str())
        .bind(endpoint.secret_seed.as_str())
        .bind(DbTime(endpoint.created_at))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn remove_webhook(&self, user: UserId) -> Result<bool, StorageError> {
        let done = sqlx::query(
            "UPDATE notification_preferences SET webhook_url = NULL, webhook_secret_seed = NULL, \
             webhook_created_at = NULL WHERE user_id = $1 AND webhook_url IS NOT NULL",
        )
        .bind(user.as_uuid())
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_email_background_runs(&self, user: UserId, on: bool) -> Result<(), StorageError> {
        sqlx::query(
            "INSERT INTO notification_preferences (user_id, email_background_runs) VALUES ($1, \
             $2) ON CONFLICT (user_id) DO UPDATE SET email_background_runs = \
             excluded.email_background_runs",
        )
        .bind(user.as_uuid())
        .bind(on)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(())
    }

    async fn create_delivery(&self, delivery: &NewDelivery) -> Result<bool, StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO webhook_deliveries (id, user_id, event_id, event_type, payload, url, \
             status, attempts, created_at) VALUES ($1, $2, $3, $4, $5, $6, 'pending', 0, $7)",
        )
        .bind(delivery.id)
        .bind(delivery.user.as_uuid())
        .bind(delivery.event_id.as_str())
        .bind(delivery.event_type.as_str())
        .bind(delivery.payload.as_str())
        .bind(delivery.url.as_str())
        .bind(DbTime(delivery.created_at))
        .execute(self.db.writer())
        .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(storage_error(e)),
        }
    }

    async fn delivery(&self, id: Uuid) -> Result<Option<WebhookDelivery>, StorageError> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.reader())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(delivery_from_row)
            .transpose()
    }

    async fn record_attempt(
        &self,
        delivery: Uuid,
        outcome: &AttemptOutcome,
        status: DeliveryStatus,
        next_attempt_at: Option<OffsetDateTime>,
    ) -> Result<u32, StorageError> {
        let mut tx = self.db.begin_write().await?;
        let number: i32 = sqlx::query_scalar(
            "UPDATE webhook_deliveries SET attempts = attempts + 1, status = $1, \
             next_attempt_at = $2, delivered_at = CASE WHEN delivered_at IS NULL AND $3 THEN $4 \
             ELSE delivered_at END WHERE id = $5 RETURNING attempts",
        )
        .bind(status.as_str())
        .bind(next_attempt_at.map(DbTime))
        .bind(outcome.succeeded())
        .bind(DbTime(outcome.at))
        .bind(delivery)
        .fetch_one(&mut *tx)
        .await
        .map_err(storage_error)?;
        sqlx::query(
            "INSERT INTO webhook_attempts (delivery_id, number, at, status_code, error, \
             duration_ms, replay) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(delivery)
        .bind(number)
        .bind(DbTime(outcome.at))
        .bind(outcome.status_code.map(i32::from))
        .bind(outcome.error.as_deref())
        .bind(i64::try_from(outcome.duration_ms).unwrap_or(i64::MAX))
        .bind(outcome.replay)
        .execute(&mut *tx)
        .await
        .map_err(storage_error)?;
        tx.commit().await.map_err(storage_error)?;
        parse("attempts", u32::try_from(number))
    }

    async fn deliveries(
        &self,
        user: UserId,
        limit: u32,
    ) -> Result<Vec<(WebhookDelivery, Vec<DeliveryAttempt>)>, StorageError> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE user_id = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        let deliveries: Vec<WebhookDelivery> = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user.as_uuid())
            .bind(i64::from(limit.clamp(1, 500)))
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?
            .iter()
            .map(delivery_from_row)
            .collect::<Result<_, _>>()?;
        let mut attempts: Vec<(Uuid, DeliveryAttempt)> = sqlx::query(
            "SELECT a.delivery_id, a.number, a.at, a.status_code, a.error, a.duration_ms, \
             a.replay FROM webhook_attempts a JOIN webhook_deliveries d ON d.id = a.delivery_id \
             WHERE d.user_id = $1 AND d.id IN (SELECT id FROM webhook_deliveries WHERE user_id = \
             $1 ORDER BY created_at DESC, id DESC LIMIT $2) ORDER BY a.number",
        )
        .bind(user.as_uuid())
        .bind(i64::from(limit.clamp(1, 500)))
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?
        .iter()
        .map(attempt_from_row)
        .collect::<Result<_, _>>()?;
        Ok(deliveries
            .into_iter()
            .map(|delivery| {
                let id = delivery.delivery.id;
                let mine = attempts
                    .extract_if(.., |(of, _)| *of == id)
                    .map(|(_, attempt)| attempt)
                    .collect();
                (delivery, mine)
            })
            .collect())
    }
}
}
