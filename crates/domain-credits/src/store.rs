//! The storage port, and the one use case every store runs inside its transaction.

use async_trait::async_trait;
use serde::Serialize;
use time::OffsetDateTime;

use crate::operation::{Consumption, Context, CreditCommand, Effect, Operation, Receipt, decide};
use crate::{
    AccountId, Allocation, CreditError, Credits, EntryId, EntryKind, Grant, GrantId, GrantKind,
    IdempotencyKey, LedgerEntry, SourceRef, StorageError,
};

/// An operation already recorded under an idempotency key.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RecordedOperation {
    /// See [`Operation::fingerprint`]: a replay must carry the same one.
    pub fingerprint: String,
    /// The first call's receipt, returned again on a replay.
    pub receipt: Receipt,
}

/// What an operation reads first (see [`LedgerTransaction::recorded_or_open_grants`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum FirstRead {
    /// The operation was recorded under its key before: a replay.
    Recorded(RecordedOperation),
    /// It was not; the account's grants with something left, expired or not.
    Open(Vec<Grant>),
}

/// The reads and writes of one transaction that holds one account exclusively
/// (a row lock in PostgreSQL, an immediate write transaction in SQLite, a lock in memory).
///
/// Stores implement this; [`run_operation`] holds the rules.
#[async_trait]
pub trait LedgerTransaction: Send {
    /// The operation recorded on this account under `key`, if any.
    async fn find_operation(
        &mut self,
        key: &IdempotencyKey,
    ) -> Result<Option<RecordedOperation>, StorageError>;
    /// Grants with something left, expired or not.
    async fn open_grants(&mut self) -> Result<Vec<Grant>, StorageError>;
    /// Every grant of this account from `source`, whatever is left of it.
    async fn grants_from_source(&mut self, source: &SourceRef) -> Result<Vec<Grant>, StorageError>;
    /// A debit entry of this account with its allocations, or `None`.
    async fn consumption(&mut self, entry: EntryId) -> Result<Option<Consumption>, StorageError>;
    /// Writes the effects in order; returns the id of the entry that carries the idempotency key.
    async fn apply(&mut self, effects: &[Effect]) -> Result<EntryId, StorageError>;
    /// The operation recorded under `key`, or, when there is none, the grants with something
    /// left: what every operation reads first. The same answer as
    /// [`find_operation`](Self::find_operation) then [`open_grants`](Self::open_grants), which
    /// is what this does unless a store reads both at once (the SQL stores: one statement).
    async fn recorded_or_open_grants(
        &mut self,
        key: &IdempotencyKey,
    ) -> Result<FirstRead, StorageError> {
        match self.find_operation(key).await? {
            Some(recorded) => Ok(FirstRead::Recorded(recorded)),
            None => Ok(FirstRead::Open(self.open_grants().await?)),
        }
    }
}

/// Runs one operation inside a transaction that holds the account: replays a known key,
/// otherwise loads what the decision needs, decides, and writes the effects.
pub async fn run_operation<T: LedgerTransaction + ?Sized>(
    tx: &mut T,
    op: &Operation,
    now: OffsetDateTime,
) -> Result<Receipt, CreditError> {
    let open = match tx.recorded_or_open_grants(&op.key).await? {
        FirstRead::Recorded(recorded) => {
            if recorded.fingerprint != op.fingerprint() {
                return Err(CreditError::IdempotencyConflict(op.key.clone()));
            }
            return Ok(Receipt {
                replayed: true,
                ..recorded.receipt
            });
        }
        FirstRead::Open(open) => open,
    };
    let context = match &op.command {
        CreditCommand::Grant { source, .. } | CreditCommand::ClawBack { source, .. } => Context {
            source_grants: tx.grants_from_source(source).await?,
            consumption: None,
        },
        CreditCommand::Reverse { entry } => Context {
            source_grants: Vec::new(),
            consumption: tx.consumption(*entry).await?,
        },
        CreditCommand::Settle { hold, .. } | CreditCommand::Release { hold } => {
            let held = tx.consumption(*hold).await?;
            if let Some(first) = ended_before(tx, held.as_ref()).await? {
                return Ok(first);
            }
            Context {
                source_grants: Vec::new(),
                consumption: held,
            }
        }
        CreditCommand::Consume { .. }
        | CreditCommand::AdminRemove { .. }
        | CreditCommand::Hold { .. } => Context::default(),
    };
    let decision = decide(&open, &context, op, now)?;
    let entry = tx.apply(&decision.effects).await?;
    Ok(Receipt {
        entry,
        kind: decision.kind,
        amount: decision.amount,
        shortfall: decision.shortfall,
        balance_after: decision.balance_after,
        at: now,
        replayed: false,
    })
}

/// A hold that has already ended answers a second ending with the first one's receipt (a
/// worker that settles a run and the sweep that releases it may race; one of them wins).
async fn ended_before<T: LedgerTransaction + ?Sized>(
    tx: &mut T,
    hold: Option<&Consumption>,
) -> Result<Option<Receipt>, CreditError> {
    let Some(by) = hold
        .filter(|h| h.entry.kind == crate::EntryKind::Hold)
        .and_then(|h| h.reversed_by)
    else {
        return Ok(None);
    };
    let ending = tx
        .consumption(by)
        .await?
        .ok_or_else(|| StorageError::corrupt(format!("hold ended by missing entry {by}")))?;
    let key = ending
        .entry
        .idempotency_key
        .ok_or_else(|| StorageError::corrupt(format!("entry {by} ended a hold without a key")))?;
    let recorded = tx
        .find_operation(&key)
        .await?
        .ok_or_else(|| StorageError::corrupt(format!("no operation recorded under {key}")))?;
    Ok(Some(Receipt {
        replayed: true,
        ..recorded.receipt
    }))
}

/// A hold that has not ended yet: credits reserved for a run still going.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct OpenHold {
    /// The hold entry; settle or release it by this id.
    pub entry: EntryId,
    /// How much it holds.
    pub amount: Credits,
    /// Why (the run it is for), as recorded on the entry.
    pub reason: String,
    /// When it was taken.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// A balance at an instant, from the usable grants.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Balance {
    /// Every usable credit; what a debit at that instant could take.
    pub total: Credits,
    /// Usable credits per grant kind, in `GrantKind::ALL` order, kinds with none left out.
    pub by_kind: Vec<(GrantKind, Credits)>,
    /// The next expiry and how much expires then.
    pub next_expiry: Option<(OffsetDateTime, Credits)>,
}

impl Balance {
    /// The balance of these grants at `now`: expired and empty grants count for nothing.
    pub fn of(grants: &[Grant], now: OffsetDateTime) -> Self {
        let usable: Vec<&Grant> = grants.iter().filter(|g| g.is_usable_at(now)).collect();
        let by_kind = GrantKind::ALL
            .into_iter()
            .map(|kind| {
                (
                    kind,
                    usable
                        .iter()
                        .filter(|g| g.kind == kind)
                        .map(|g| g.remaining)
                        .sum(),
                )
            })
            .filter(|(_, amount): &(GrantKind, Credits)| !amount.is_zero())
            .collect();
        let next_expiry = usable.iter().filter_map(|g| g.expires_at).min().map(|at| {
            let amount = usable
                .iter()
                .filter(|g| g.expires_at == Some(at))
                .map(|g| g.remaining)
                .sum();
            (at, amount)
        });
        Balance {
            total: usable.iter().map(|g| g.remaining).sum(),
            by_kind,
            next_expiry,
        }
    }

    /// The usable credits of one kind (zero when there are none).
    pub fn of_kind(&self, kind: GrantKind) -> Credits {
        self.by_kind
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or(Credits::ZERO, |(_, c)| *c)
    }

    /// Everything that is not subscription credit.
    pub fn pay_as_you_go(&self) -> Credits {
        self.total
            .saturating_sub(self.of_kind(GrantKind::Subscription))
    }
}

/// One page of an account's ledger, newest first.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct HistoryPage {
    /// At most the query's limit, newest first.
    pub entries: Vec<LedgerEntry>,
    /// Pass as `before` to get the next (older) page; `None` on the last page.
    pub next_before: Option<EntryId>,
}

/// Which page of history to read: entries older than `before` (or the newest), `limit` of them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct HistoryQuery {
    /// Only entries older than this one; `None` for the newest.
    pub before: Option<EntryId>,
    /// How many entries, from 1 to [`Self::MAX_LIMIT`] (others are clamped into that range).
    pub limit: u32,
}

impl HistoryQuery {
    /// The most entries one page holds, so that a page is one bounded index read.
    pub const MAX_LIMIT: u32 = 200;

    /// The newest `limit` entries (clamped to 1 to [`Self::MAX_LIMIT`]).
    pub fn newest(limit: u32) -> Self {
        HistoryQuery {
            before: None,
            limit: limit.clamp(1, Self::MAX_LIMIT),
        }
    }

    /// Turns `limit + 1` fetched rows into a page (the extra row only says there is more).
    pub fn page(self, mut entries: Vec<LedgerEntry>) -> HistoryPage {
        let limit = self.limit.clamp(1, Self::MAX_LIMIT) as usize;
        let next_before = if entries.len() > limit {
            entries.truncate(limit);
            entries.last().map(|e| e.id)
        } else {
            None
        };
        HistoryPage {
            entries,
            next_before,
        }
    }
}

/// The grant an entry created: a grant entry's grant (other entries only name the grant they
/// took from or gave back to).
pub fn created_grant(entry: &LedgerEntry) -> Option<GrantId> {
    entry.grant.filter(|_| entry.kind == EntryKind::Grant)
}

/// Everything stored for one account, for verification and audits.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct AccountSnapshot {
    /// Every grant, used up or not.
    pub grants: Vec<Grant>,
    /// In the order they were written.
    pub entries: Vec<LedgerEntry>,
    /// Which grants each entry took from or gave back to, by entry.
    pub allocations: Vec<(EntryId, Allocation)>,
}

/// The credit store port.
#[async_trait]
pub trait CreditStore: Send + Sync {
    /// Creates the account if it does not exist yet (calling it again is harmless).
    async fn open_account(
        &self,
        account: AccountId,
        now: OffsetDateTime,
    ) -> Result<(), CreditError>;

    /// Runs `op` on the account in one transaction (see [`run_operation`]).
    async fn execute(
        &self,
        account: AccountId,
        op: Operation,
        now: OffsetDateTime,
    ) -> Result<Receipt, CreditError>;

    /// Grants with something left (some may have expired since the last operation).
    async fn open_grants(&self, account: AccountId) -> Result<Vec<Grant>, CreditError>;

    /// A page of the ledger, newest first. Reads an index range, never the whole history.
    async fn history(
        &self,
        account: AccountId,
        query: HistoryQuery,
    ) -> Result<HistoryPage, CreditError>;

    /// The account's grants among `ids`, whatever is left of them (to say what kind of grant
    /// a page of history created); ids of other accounts' grants are left out.
    async fn grants(&self, account: AccountId, ids: &[GrantId]) -> Result<Vec<Grant>, CreditError>;

    /// Every grant, entry and allocation of the account.
    async fn snapshot(&self, account: AccountId) -> Result<AccountSnapshot, CreditError>;

    /// The holds of the account that have not been settled or released, oldest first.
    async fn open_holds(&self, account: AccountId) -> Result<Vec<OpenHold>, CreditError>;

    /// A page of the ledger (as [`history`](Self::history)) with, for each of its entries in
    /// order, the kind of the grant the entry created, if it created one: what a page of history
    /// shows ("Purchase", "Welcome bonus" where the entry says "grant"). A store that can join
    /// the two reads them in one statement; this default reads the page, then its grants.
    async fn history_with_kinds(
        &self,
        account: AccountId,
        query: HistoryQuery,
    ) -> Result<(HistoryPage, Vec<Option<GrantKind>>), CreditError> {
        let page = self.history(account, query).await?;
        let ids: Vec<GrantId> = page.entries.iter().filter_map(created_grant).collect();
        let grants = self.grants(account, &ids).await?;
        let kinds = page
            .entries
            .iter()
            .map(|entry| {
                created_grant(entry)
                    .and_then(|id| grants.iter().find(|g| g.id == id).map(|g| g.kind))
            })
            .collect();
        Ok((page, kinds))
    }

    /// The balance at `now`.
    async fn balance(
        &self,
        account: AccountId,
        now: OffsetDateTime,
    ) -> Result<Balance, CreditError> {
        Ok(Balance::of(&self.open_grants(account).await?, now))
    }

    /// The balance at `now` and what the open holds keep back from it: what a dashboard shows.
    /// A store that can read both at once does (one statement on SQL); this default reads the
    /// open grants, then the open holds.
    async fn balance_and_held(
        &self,
        account: AccountId,
        now: OffsetDateTime,
    ) -> Result<(Balance, Credits), CreditError> {
        let balance = self.balance(account, now).await?;
        let held = self
            .open_holds(account)
            .await?
            .iter()
            .map(|h| h.amount)
            .sum();
        Ok((balance, held))
    }
}
