//! A paid run's claim and charge in one transaction: the transaction that holds the credit
//! account (as every ledger operation does) also records the run, so a paid run costs one
//! database transaction before the service executes, instead of a claim and then a charge.
//! A run through the API is held to its monthly caps in the same transaction
//! ([`over_cap`]): the month's spending is read while the account is held, so runs at once
//! cannot pass a cap together. On PostgreSQL the run's record is written by the statement that
//! writes the charge (its entry, allocations and grants' remainders: one `WITH` statement), so
//! the claim and charge take the lock, one read and one write.

use async_trait::async_trait;
use quickscale_domain_credits::{CreditError, Operation, Receipt, run_operation};
use quickscale_domain_kernel::StorageError;
use quickscale_service_sdk::caps::{CapExceeded, SpendCaps, check_caps, month_start};
use quickscale_service_sdk::paid::{ChargedClaim, PaidRunStore, over_cap_end, refused_end};
use quickscale_service_sdk::usage::{RunEnd, ServiceRun};
use sqlx::types::Json;

use super::credits::AccountTransaction;
use super::usage::{RUN_COLUMNS, month_spend, run_from_row};
use super::{Database, Db};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, storage_error};

/// Paid runs over the credit and usage tables of one database.
#[derive(Clone, Debug)]
pub struct SqlPaidRuns {
    db: Database,
}

impl SqlPaidRuns {
    pub fn new(db: Database) -> Self {
        SqlPaidRuns { db }
    }

    async fn existing(&self, run: &ServiceRun) -> Result<ChargedClaim, StorageError> {
        let sql =
            format!("SELECT {RUN_COLUMNS} FROM service_runs WHERE user_id = $1 AND run_key = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(run.user.as_uuid())
            .bind(run.key.as_str())
            .fetch_one(self.db.writer())
            .await
            .map_err(storage_error)?;
        Ok(ChargedClaim::Existing(Box::new(run_from_row(&row)?)))
    }
}

/// Records `run` as charged by `receipt` (running), or as ended by `end`, unless the user has a
/// run with its key already (then nothing is written: false).
async fn insert_run<'c, E>(
    executor: E,
    run: &ServiceRun,
    receipt: Option<&Receipt>,
    end: Option<&RunEnd>,
) -> Result<bool, StorageError>
where
    E: sqlx::Executor<'c, Database = Db>,
{
    let status = end.map_or(run.status, |e| e.status);
    let inserted = sqlx::query(
        "INSERT INTO service_runs (id, user_id, service, run_key, status, cost_cents, \
         charge_entry, refunded_cents, balance_after_cents, input_bytes, duration_ms, error, \
         started_at, finished_at, output, mode, api_key_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8, $9, $10, $11, $12, $13, $14, $15, $16) \
         ON CONFLICT (user_id, run_key) DO NOTHING",
    )
    .bind(run.id)
    .bind(run.user.as_uuid())
    .bind(run.service.as_str())
    .bind(run.key.as_str())
    .bind(status.as_str())
    .bind(end.map_or(run.cost, |e| e.cost).cents())
    .bind(receipt.map(|r| r.entry.0))
    .bind(receipt.map(|r| r.balance_after.cents()))
    .bind(i64::try_from(run.input_bytes).unwrap_or(i64::MAX))
    .bind(end.map(|e| i64::try_from(e.duration_ms).unwrap_or(i64::MAX)))
    .bind(end.and_then(|e| e.error.as_deref()))
    .bind(DbTime(run.started_at))
    .bind(end.map(|e| DbTime(e.finished_at)))
    .bind(end.and_then(|e| e.output.as_ref()).map(Json))
    .bind(run.mode.as_str())
    .bind(run.api_key.map(|k| k.0))
    .execute(executor)
    .await
    .map_err(storage_error)?;
    Ok(inserted.rows_affected() == 1)
}

/// The cap `run` is over, if any, by what the month of its start spent as read in `tx` (which
/// holds the user's credit account).
async fn over_cap(
    tx: &mut sqlx::Transaction<'static, Db>,
    run: &ServiceRun,
    caps: &SpendCaps,
) -> Result<Option<CapExceeded>, StorageError> {
    let Some(key) = caps.key.filter(|_| caps.is_capped()) else {
        return Ok(None);
    };
    let spent = month_spend(&mut **tx, run.user, key, month_start(run.started_at)).await?;
    Ok(check_caps(caps, &spent, run.cost).err())
}

crate::sql::traced_store! { "runs",
#[async_trait]
impl PaidRunStore for SqlPaidRuns {
    async fn claim_and_charge(
        &self,
        run: &ServiceRun,
        charge: &Operation,
        caps: &SpendCaps,
    ) -> Result<ChargedClaim, StorageError> {
        let account = run.user.as_uuid();
        let Some(tx) = self.db.begin_account(account).await? else {
            // No credit account: the run is refused, recorded as such (outside any ledger
            // transaction, since there is no account to hold).
            let refused =
                CreditError::AccountNotFound(quickscale_domain_credits::AccountId::new(account));
            let end = refused_end(run, &refused);
            if !insert_run(self.db.writer(), run, None, Some(&end)).await? {
                return self.existing(run).await;
            }
            return Ok(ChargedClaim::Refused(refused));
        };
        let mut tx = AccountTransaction::new(tx, account);
        let (receipt, end, outcome) = if let Some(over) = over_cap(&mut tx.tx, run, caps).await? {
            (
                None,
                Some(over_cap_end(run, &over)),
                ChargedClaim::OverCap(over),
            )
        } else {
            // Where the charge is written in one statement, the run's record goes with it.
            tx.charged_run = Some(run.clone());
            match run_operation(&mut tx, charge, run.started_at).await {
                Ok(receipt) => (Some(receipt.clone()), None, ChargedClaim::Charged(receipt)),
                // The transaction may be broken: roll it all back, nothing is recorded.
                Err(CreditError::Storage(error)) => return Err(error),
                Err(refused) => (
                    None,
                    Some(refused_end(run, &refused)),
                    ChargedClaim::Refused(refused),
                ),
            }
        };
        // The account's lock orders this user's paid runs; the unique index on the run's key
        // settles a race with a free run under the same key.
        let recorded = match tx.run_recorded {
            Some(recorded) => recorded,
            None => insert_run(&mut *tx.tx, run, receipt.as_ref(), end.as_ref()).await?,
        };
        if !recorded {
            tx.tx.rollback().await.map_err(storage_error)?;
            return self.existing(run).await;
        }
        tx.tx.commit().await.map_err(storage_error)?;
        Ok(outcome)
    }
}
}
