//! The credit store: accounts, grants, the ledger and its allocations. Every operation runs the
//! domain's planning function inside one transaction that holds the account
//! ([`Backend::begin_account`](crate::sql::Backend::begin_account)).

use std::str::FromStr as _;

use async_trait::async_trait;
use quickscale_domain_credits::{
    AccountId, AccountSnapshot, Allocation, Balance, Consumption, CreditError, CreditStore,
    Credits, Effect, EntryId, EntryKind, FirstRead, Grant, GrantId, GrantKind, GrantLink,
    HistoryPage, HistoryQuery, IdempotencyKey, LedgerEntry, LedgerTransaction, NewEntry, OpenHold,
    Operation, Receipt, RecordedOperation, SourceRef, run_operation,
};
use quickscale_domain_kernel::StorageError;
#[cfg(feature = "services")]
use quickscale_service_sdk::usage::ServiceRun;
use time::OffsetDateTime;
use uuid::Uuid;

use super::row::{cents, get, optional_time, time_of};
use super::{Database, Db, Row};
use crate::sql::time::DbTime;
use crate::sql::{Backend as _, parse, storage_error};

const GRANT_COLUMNS: &str =
    "id, kind, amount_cents, remaining_cents, granted_at, expires_at, source";
const ENTRY_COLUMNS: &str = "id, account_id, kind, amount_cents, balance_after_cents, \
    actor, reason, grant_id, reverses, idempotency_key, at";

fn grant_from_row(row: &Row) -> Result<Grant, StorageError> {
    Ok(Grant {
        id: GrantId(get(row, "id")?),
        kind: parse(
            "grant kind",
            GrantKind::from_str(&get::<String>(row, "kind")?),
        )?,
        amount: cents("grant amount", get(row, "amount_cents")?)?,
        remaining: cents("grant remainder", get(row, "remaining_cents")?)?,
        granted_at: time_of(row, "granted_at")?,
        expires_at: optional_time(row, "expires_at")?,
        source: parse(
            "grant source",
            SourceRef::parse(get::<String>(row, "source")?),
        )?,
    })
}

fn entry_from_row(row: &Row) -> Result<LedgerEntry, StorageError> {
    Ok(LedgerEntry {
        id: EntryId(get(row, "id")?),
        account: AccountId::new(get(row, "account_id")?),
        kind: parse(
            "entry kind",
            EntryKind::from_str(&get::<String>(row, "kind")?),
        )?,
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

/// The columns of an entry recorded under an idempotency key (`e`), as `recorded_from_row`
/// reads them.
const RECORDED_COLUMNS: &str = "e.id AS op_id, e.kind AS op_kind, e.amount_cents AS op_amount, \
    e.shortfall_cents AS op_shortfall, e.balance_after_cents AS op_balance_after, e.at AS op_at, \
    e.fingerprint AS op_fingerprint";

fn recorded_from_row(row: &Row) -> Result<RecordedOperation, StorageError> {
    Ok(RecordedOperation {
        fingerprint: get::<Option<String>>(row, "op_fingerprint")?.unwrap_or_default(),
        receipt: Receipt {
            entry: EntryId(get(row, "op_id")?),
            kind: parse(
                "entry kind",
                EntryKind::from_str(&get::<String>(row, "op_kind")?),
            )?,
            amount: cents("entry amount", get(row, "op_amount")?)?,
            shortfall: cents("shortfall", get(row, "op_shortfall")?)?,
            balance_after: cents("balance", get(row, "op_balance_after")?)?,
            at: time_of(row, "op_at")?,
            replayed: true,
        },
    })
}

fn allocation_from_row(row: &Row) -> Result<(EntryId, Allocation), StorageError> {
    Ok((
        EntryId(get(row, "entry_id")?),
        Allocation {
            grant: GrantId(get(row, "grant_id")?),
            amount: cents("allocation", get(row, "amount_cents")?)?,
        },
    ))
}

/// One transaction holding one credit account.
pub(super) struct AccountTransaction {
    pub(super) tx: sqlx::Transaction<'static, Db>,
    pub(super) account: Uuid,
    /// A paid run to record as charged by the entry the transaction writes, in the statement
    /// that writes it where the entry is written in one statement (see [`OneWrite`]).
    #[cfg(feature = "services")]
    pub(super) charged_run: Option<ServiceRun>,
    /// Whether that statement recorded the run: `None` when no such statement ran (the caller
    /// records the run itself), `Some(false)` when the user has a run with its key already.
    #[cfg(feature = "services")]
    pub(super) run_recorded: Option<bool>,
}

impl AccountTransaction {
    pub(super) fn new(tx: sqlx::Transaction<'static, Db>, account: Uuid) -> Self {
        AccountTransaction {
            tx,
            account,
            #[cfg(feature = "services")]
            charged_run: None,
            #[cfg(feature = "services")]
            run_recorded: None,
        }
    }
}

#[async_trait]
impl LedgerTransaction for AccountTransaction {
    async fn find_operation(
        &mut self,
        key: &IdempotencyKey,
    ) -> Result<Option<RecordedOperation>, StorageError> {
        let sql = format!(
            "SELECT {RECORDED_COLUMNS} FROM credit_entries e \
             WHERE e.account_id = $1 AND e.idempotency_key = $2"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.account)
            .bind(key.as_str())
            .fetch_optional(&mut *self.tx)
            .await
            .map_err(storage_error)?;
        row.as_ref().map(recorded_from_row).transpose()
    }

    async fn recorded_or_open_grants(
        &mut self,
        key: &IdempotencyKey,
    ) -> Result<FirstRead, StorageError> {
        // One statement: the entry recorded under the key (one row) or, when there is none,
        // the open grants (a row each; a row of NULLs when there are none), in the same
        // transaction, after the account's lock, as the two reads one after the other were.
        let grants: Vec<String> = GRANT_COLUMNS
            .split(',')
            .map(|c| format!("g.{}", c.trim()))
            .collect();
        let sql = format!(
            "SELECT {RECORDED_COLUMNS}, {} FROM (SELECT 1 AS one) AS one \
             LEFT JOIN credit_entries e ON e.account_id = $1 AND e.idempotency_key = $2 \
             LEFT JOIN credit_grants g ON e.id IS NULL AND g.account_id = $1 \
             AND g.remaining_cents > 0",
            grants.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(self.account)
            .bind(key.as_str())
            .fetch_all(&mut *self.tx)
            .await
            .map_err(storage_error)?;
        if let Some(row) = rows.first()
            && get::<Option<i64>>(row, "op_id")?.is_some()
        {
            return Ok(FirstRead::Recorded(recorded_from_row(row)?));
        }
        let mut open = Vec::with_capacity(rows.len());
        for row in &rows {
            if get::<Option<i64>>(row, "id")?.is_some() {
                open.push(grant_from_row(row)?);
            }
        }
        Ok(FirstRead::Open(open))
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
        let sql =
            format!("SELECT {ENTRY_COLUMNS} FROM credit_entries WHERE id = $1 AND account_id = $2");
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
        if <Database as crate::sql::Backend>::WRITING_WITH
            && let Some(one) = OneWrite::of(effects)
        {
            return one.run(self).await;
        }
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

/// A value bound to a statement built for its effects.
enum Bound<'a> {
    #[cfg(feature = "services")]
    Uuid(Uuid),
    #[cfg(feature = "services")]
    MaybeUuid(Option<Uuid>),
    Int(i64),
    MaybeInt(Option<i64>),
    Text(&'a str),
    MaybeText(Option<&'a str>),
    Time(OffsetDateTime),
}

/// The effects of a decision that writes one entry, with its allocations, after changing what
/// is left of some grants (each once): a consumption, a hold, a reversal, each without an
/// expiry sweep. Where statements can write in their `WITH` clauses (PostgreSQL) they are
/// written in one statement, one round trip instead of one per row; the rows are the same.
/// A decision with several entries is written row by row, so that their ids keep the order of
/// the ledger.
struct OneWrite<'a> {
    remaining: Vec<(GrantId, Credits)>,
    entry: &'a NewEntry,
}

impl<'a> OneWrite<'a> {
    fn of(effects: &'a [Effect]) -> Option<Self> {
        let mut remaining: Vec<(GrantId, Credits)> = Vec::new();
        let mut entry = None;
        for effect in effects {
            match effect {
                Effect::SetRemaining {
                    grant,
                    remaining: left,
                } if entry.is_none() && remaining.iter().all(|(g, _)| g != grant) => {
                    remaining.push((*grant, *left));
                }
                Effect::Append(new) if entry.is_none() => entry = Some(new),
                _ => return None,
            }
        }
        let entry = entry
            .filter(|e| e.idempotency.is_some() && !matches!(e.grant, Some(GrantLink::Created)))?;
        Some(OneWrite { remaining, entry })
    }

    async fn run(self, tx: &mut AccountTransaction) -> Result<EntryId, StorageError> {
        let entry = self.entry;
        let actor = entry.actor.to_string();
        let (key, fingerprint) = match &entry.idempotency {
            Some((key, fingerprint)) => (Some(key.as_str()), Some(fingerprint.as_str())),
            None => (None, None),
        };
        // $1 is the account.
        let mut bound: Vec<Bound<'_>> = Vec::new();
        let mut parts: Vec<String> = Vec::new();
        for (n, (grant, left)) in self.remaining.iter().enumerate() {
            parts.push(format!(
                "r{n} AS (UPDATE credit_grants SET remaining_cents = {} \
                 WHERE id = {} AND account_id = $1)",
                next(Bound::Int(left.cents()), &mut bound),
                next(Bound::Int(grant.0), &mut bound),
            ));
        }
        let grant = match entry.grant {
            Some(GrantLink::Existing(id)) => Some(id.0),
            _ => None,
        };
        let values = [
            next(Bound::Text(entry.kind.as_str()), &mut bound),
            next(Bound::Int(entry.amount.cents()), &mut bound),
            next(Bound::Int(entry.balance_after.cents()), &mut bound),
            next(Bound::Int(entry.shortfall.cents()), &mut bound),
            next(Bound::Text(&actor), &mut bound),
            next(Bound::Text(&entry.reason), &mut bound),
            next(Bound::MaybeInt(grant), &mut bound),
            next(Bound::MaybeInt(entry.reverses.map(|e| e.0)), &mut bound),
            next(Bound::MaybeText(key), &mut bound),
            next(Bound::MaybeText(fingerprint), &mut bound),
            next(Bound::Time(entry.at), &mut bound),
        ];
        parts.push(format!(
            "e AS (INSERT INTO credit_entries (account_id, kind, amount_cents, \
             balance_after_cents, shortfall_cents, actor, reason, grant_id, reverses, \
             idempotency_key, fingerprint, at) VALUES ($1, {}) RETURNING id)",
            values.join(", ")
        ));
        for (n, allocation) in entry.allocations.iter().enumerate() {
            parts.push(format!(
                "a{n} AS (INSERT INTO credit_allocations (entry_id, grant_id, amount_cents) \
                 SELECT id, {}, {} FROM e)",
                next(Bound::Int(allocation.grant.0), &mut bound),
                next(Bound::Int(allocation.amount.cents()), &mut bound),
            ));
        }
        #[cfg(feature = "services")]
        let recorded = charged_run_part(tx.charged_run.as_ref(), entry, &mut parts, &mut bound);
        #[cfg(not(feature = "services"))]
        let recorded = "CAST(0 AS BIGINT)";
        let sql = format!(
            "WITH {} SELECT id, {recorded} AS recorded FROM e",
            parts.join(", ")
        );
        let mut query = sqlx::query_as::<_, (i64, i64)>(sqlx::AssertSqlSafe(sql)).bind(tx.account);
        for value in bound {
            query = match value {
                #[cfg(feature = "services")]
                Bound::Uuid(v) => query.bind(v),
                #[cfg(feature = "services")]
                Bound::MaybeUuid(v) => query.bind(v),
                Bound::Int(v) => query.bind(v),
                Bound::MaybeInt(v) => query.bind(v),
                Bound::Text(v) => query.bind(v),
                Bound::MaybeText(v) => query.bind(v),
                Bound::Time(v) => query.bind(DbTime(v)),
            };
        }
        let (id, recorded) = query.fetch_one(&mut *tx.tx).await.map_err(storage_error)?;
        #[cfg(feature = "services")]
        if tx.charged_run.is_some() {
            tx.run_recorded = Some(recorded == 1);
        }
        #[cfg(not(feature = "services"))]
        let _ = recorded;
        Ok(EntryId(id))
    }
}

/// Binds `value` as the statement's next parameter ($1 is the account) and gives its
/// placeholder.
fn next<'b>(value: Bound<'b>, bound: &mut Vec<Bound<'b>>) -> String {
    bound.push(value);
    format!("${}", bound.len() + 1)
}

/// Adds to `parts` the record of the paid run `run` as charged by the entry `e` the statement
/// writes, and gives what the statement selects to tell whether it recorded it: 1, or 0 when
/// the user has a run with its key already (the key is unique per user).
#[cfg(feature = "services")]
fn charged_run_part<'b>(
    run: Option<&'b ServiceRun>,
    entry: &NewEntry,
    parts: &mut Vec<String>,
    bound: &mut Vec<Bound<'b>>,
) -> &'static str {
    let Some(run) = run else {
        return "CAST(0 AS BIGINT)";
    };
    let values = [
        next(Bound::Uuid(run.id), bound),
        next(Bound::Uuid(run.user.as_uuid()), bound),
        next(Bound::Text(&run.service), bound),
        next(Bound::Text(run.key.as_str()), bound),
        next(Bound::Text(run.status.as_str()), bound),
        next(Bound::Int(run.cost.cents()), bound),
        next(Bound::Int(entry.balance_after.cents()), bound),
        next(
            Bound::Int(i64::try_from(run.input_bytes).unwrap_or(i64::MAX)),
            bound,
        ),
        next(Bound::Time(run.started_at), bound),
        next(Bound::Text(run.mode.as_str()), bound),
        next(Bound::MaybeUuid(run.api_key.map(|k| k.0)), bound),
    ];
    parts.push(format!(
        "run AS (INSERT INTO service_runs (id, user_id, service, run_key, status, cost_cents, \
         charge_entry, refunded_cents, balance_after_cents, input_bytes, started_at, mode, \
         api_key_id) SELECT {}, e.id, 0, {} FROM e \
         ON CONFLICT (user_id, run_key) DO NOTHING RETURNING 1)",
        values[..6].join(", "),
        values[6..].join(", "),
    ));
    "(SELECT count(*) FROM run)"
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

crate::sql::traced_store! { "credits",
#[async_trait]
impl CreditStore for SqlCreditStore {
    async fn open_account(
        &self,
        account: AccountId,
        now: OffsetDateTime,
    ) -> Result<(), CreditError> {
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
        let mut tx = AccountTransaction::new(tx, account.as_uuid());
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

    async fn balance_and_held(
        &self,
        account: AccountId,
        now: OffsetDateTime,
    ) -> Result<(Balance, Credits), CreditError> {
        // One statement: the open grants (a row with no grant when there are none), each row
        // carrying the sum of the open holds.
        let columns: Vec<String> = GRANT_COLUMNS
            .split(',')
            .map(|c| format!("g.{}", c.trim()))
            .collect();
        let sql = format!(
            "SELECT {}, (SELECT CAST(COALESCE(SUM(h.amount_cents), 0) AS BIGINT) \
             FROM credit_open_holds o JOIN credit_entries h ON h.id = o.entry_id \
             WHERE o.account_id = $1) AS held_cents \
             FROM (SELECT 1 AS one) one \
             LEFT JOIN credit_grants g ON g.account_id = $1 AND g.remaining_cents > 0 \
             ORDER BY g.id",
            columns.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.as_uuid())
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?;
        let mut grants = Vec::with_capacity(rows.len());
        let mut held = Credits::ZERO;
        for row in &rows {
            held = cents("held", get(row, "held_cents")?)?;
            if get::<Option<i64>>(row, "id")?.is_some() {
                grants.push(grant_from_row(row)?);
            }
        }
        Ok((Balance::of(&grants, now), held))
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

    async fn history_with_kinds(
        &self,
        account: AccountId,
        query: HistoryQuery,
    ) -> Result<(HistoryPage, Vec<Option<GrantKind>>), CreditError> {
        // One statement: the page's index range, each grant entry joined to its grant by key.
        let limit = query.limit.clamp(1, HistoryQuery::MAX_LIMIT);
        let columns: Vec<String> = ENTRY_COLUMNS
            .split(',')
            .map(|c| format!("e.{}", c.trim()))
            .collect();
        let sql = format!(
            "SELECT {}, g.kind AS created_kind FROM credit_entries e \
             LEFT JOIN credit_grants g ON e.kind = 'grant' AND g.id = e.grant_id \
             AND g.account_id = e.account_id \
             WHERE e.account_id = $1 AND e.id < $2 ORDER BY e.id DESC LIMIT $3",
            columns.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(account.as_uuid())
            .bind(query.before.map_or(i64::MAX, |e| e.0))
            .bind(i64::from(limit) + 1)
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?;
        let mut entries = Vec::with_capacity(rows.len());
        let mut kinds = Vec::with_capacity(rows.len());
        for row in &rows {
            entries.push(entry_from_row(row)?);
            kinds.push(
                get::<Option<String>>(row, "created_kind")?
                    .map(|kind| parse("grant kind", GrantKind::from_str(&kind)))
                    .transpose()?,
            );
        }
        let page = query.page(entries);
        kinds.truncate(page.entries.len());
        Ok((page, kinds))
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
        let rows = query
            .fetch_all(self.db.reader())
            .await
            .map_err(storage_error)?;
        Ok(rows.iter().map(grant_from_row).collect::<Result<_, _>>()?)
    }

    async fn open_holds(&self, account: AccountId) -> Result<Vec<OpenHold>, CreditError> {
        // The open holds' own table (kept by triggers, migration 0020): as many rows as holds
        // are open, whatever the number the account ever had.
        let rows = sqlx::query(
            "SELECT h.id, h.amount_cents, h.reason, h.at FROM credit_open_holds o \
             JOIN credit_entries h ON h.id = o.entry_id \
             WHERE o.account_id = $1 ORDER BY o.entry_id",
        )
        .bind(account.as_uuid())
        .fetch_all(self.db.reader())
        .await
        .map_err(storage_error)?;
        let hold = |row: &Row| -> Result<OpenHold, StorageError> {
            Ok(OpenHold {
                entry: EntryId(get(row, "id")?),
                amount: cents("hold amount", get(row, "amount_cents")?)?,
                reason: get(row, "reason")?,
                at: time_of(row, "at")?,
            })
        };
        Ok(rows.iter().map(hold).collect::<Result<_, _>>()?)
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
        Ok(AccountSnapshot {
            grants,
            entries,
            allocations,
        })
    }
}
}
