//! The service usage store: one row per run, claimed under its idempotency key.

use async_trait::async_trait;
use quickscale_domain_credits::{EntryId, IdempotencyKey};
use quickscale_domain_identity::{ApiKeyId, UserId};
use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::caps::MonthSpend;
use quickscale_service_sdk::usage::{
    Claim, Progress, RunCharge, RunEnd, RunQuery, RunSample, RunStatus, ServiceRun,
    ServiceUsageRepository,
};
use quickscale_service_sdk::{RunMode, ServiceOutput};
use sqlx::types::Json;
use time::OffsetDateTime;
use uuid::Uuid;

use super::row::{cents, get, optional_time, time_of};
use super::{Database, Db, Row};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, parse, storage_error};

pub(super) const RUN_COLUMNS: &str = "id, user_id, service, run_key, status, cost_cents, charge_entry, \
    refunded_cents, balance_after_cents, input_bytes, duration_ms, output, error, \
    started_at, finished_at, mode, progress_permille, progress_message, api_key_id";

pub(super) fn run_from_row(row: &Row) -> Result<ServiceRun, StorageError> {
    let status = get::<String>(row, "status")?;
    Ok(ServiceRun {
        id: get(row, "id")?,
        user: UserId::from_uuid(get(row, "user_id")?),
        service: get(row, "service")?,
        key: parse(
            "run key",
            IdempotencyKey::parse(get::<String>(row, "run_key")?),
        )?,
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
        mode: {
            let mode = get::<String>(row, "mode")?;
            RunMode::parse(&mode)
                .ok_or_else(|| StorageError::corrupt(format!("unknown run mode {mode}")))?
        },
        progress: match get::<Option<i64>>(row, "progress_permille")? {
            Some(permille) => Some(Progress {
                permille: parse("progress", u16::try_from(permille))?,
                message: get::<Option<String>>(row, "progress_message")?.unwrap_or_default(),
            }),
            None => None,
        },
        started_at: time_of(row, "started_at")?,
        finished_at: optional_time(row, "finished_at")?,
        api_key: get::<Option<Uuid>>(row, "api_key_id")?.map(ApiKeyId),
    })
}

/// What `user`'s runs through the API spent since `since`, and `key`'s alone: the costs the runs
/// record (a refunded run records what it kept; a running one its whole charge). Read inside
/// the transaction that holds the credit account, it counts every run charged before.
pub(super) async fn month_spend<'c, E>(
    executor: E,
    user: UserId,
    key: ApiKeyId,
    since: OffsetDateTime,
) -> Result<MonthSpend, StorageError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(cost_cents), 0) AS BIGINT) AS api_cents, \
         CAST(COALESCE(SUM(CASE WHEN api_key_id = $2 THEN cost_cents ELSE 0 END), 0) AS BIGINT) \
         AS key_cents, CAST(COUNT(CASE WHEN api_key_id = $2 THEN 1 END) AS BIGINT) AS key_runs \
         FROM service_runs WHERE user_id = $1 AND api_key_id IS NOT NULL AND started_at >= $3",
    )
    .bind(user.as_uuid())
    .bind(key.0)
    .bind(DbTime(since))
    .fetch_one(executor)
    .await
    .map_err(storage_error)?;
    Ok(MonthSpend {
        key_credits: cents("key's month", get::<i64>(&row, "key_cents")?)?,
        key_runs: parse("run count", u64::try_from(get::<i64>(&row, "key_runs")?))?,
        api_credits: cents("API month", get::<i64>(&row, "api_cents")?)?,
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

crate::sql::traced_store! { "runs",
#[async_trait]
impl ServiceUsageRepository for SqlUsageRepository {
    async fn claim(&self, run: &ServiceRun) -> Result<Claim, StorageError> {
        let inserted = sqlx::query(
            "INSERT INTO service_runs (id, user_id, service, run_key, status, cost_cents, \
             refunded_cents, input_bytes, started_at, mode, api_key_id) \
             VALUES ($1, $2, $3, $4, $5, $6, 0, $7, $8, $9, $10) \
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
        .bind(run.mode.as_str())
        .bind(run.api_key.map(|k| k.0))
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        if inserted.rows_affected() == 1 {
            return Ok(Claim::Started);
        }
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM service_runs WHERE user_id = $1 AND run_key = $2");
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
             error = $8, finished_at = $9 \
             WHERE id = $10 AND status IN ('running', 'queued')",
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

    async fn start(&self, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
        sqlx::query(
            "UPDATE service_runs SET status = 'running' WHERE id = $1 AND status = 'queued'",
        )
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        let sql = format!("SELECT {RUN_COLUMNS} FROM service_runs WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.db.writer())
            .await
            .map_err(storage_error)?
            .as_ref()
            .map(run_from_row)
            .transpose()
    }

    async fn progress(&self, id: Uuid, progress: &Progress) -> Result<bool, StorageError> {
        let updated = sqlx::query(
            "UPDATE service_runs SET progress_permille = $1, progress_message = $2 \
             WHERE id = $3 AND status IN ('running', 'queued')",
        )
        .bind(i64::from(progress.permille))
        .bind(progress.message.as_str())
        .bind(id)
        .execute(self.db.writer())
        .await
        .map_err(storage_error)?;
        Ok(updated.rows_affected() == 1)
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
        // Each status read through its own partial index (migrations 0006 and 0018).
        let sql = format!(
            "SELECT * FROM (SELECT {RUN_COLUMNS} FROM service_runs WHERE status = 'running' \
             AND started_at < $1 UNION ALL SELECT {RUN_COLUMNS} FROM service_runs \
             WHERE status = 'queued' AND started_at < $1) AS unfinished \
             ORDER BY started_at LIMIT $2"
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
    ) -> Result<Vec<RunCharge>, StorageError> {
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
            Ok(RunCharge {
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
    ) -> Result<Vec<RunSample>, StorageError> {
        sqlx::query(
            "SELECT service, user_id, status, cost_cents, duration_ms, started_at FROM \
             service_runs WHERE started_at >= $1 ORDER BY started_at DESC LIMIT $2",
        )
        .bind(DbTime(since))
        .bind(i64::from(limit))
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?
        .iter()
        .map(|row| {
            let status = get::<String>(row, "status")?;
            Ok(RunSample {
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

    async fn month_spend(
        &self,
        user: UserId,
        key: ApiKeyId,
        since: OffsetDateTime,
    ) -> Result<MonthSpend, StorageError> {
        month_spend(self.db.reader(), user, key, since).await
    }
}
}
