//! A complete ledger held in memory: the reference implementation of [`LedgerTransaction`].
//!
//! It has no I/O and never waits, so it runs synchronously; the in-memory adapter wraps it in a
//! lock and property tests drive it directly.

use std::collections::HashMap;
use std::future::Future;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use async_trait::async_trait;
use time::OffsetDateTime;

use crate::operation::{Consumption, Effect, GrantLink, Operation, Receipt};
use crate::store::{
    AccountSnapshot, HistoryPage, HistoryQuery, LedgerTransaction, OpenHold, RecordedOperation,
};
use crate::{
    AccountId, CreditError, Credits, EntryId, EntryKind, Grant, GrantId, IdempotencyKey,
    LedgerEntry, SourceRef, StorageError,
};

#[derive(Debug, Default, Clone)]
struct Book {
    grants: Vec<Grant>,
    entries: Vec<LedgerEntry>,
    allocations: Vec<(EntryId, crate::Allocation)>,
    keys: HashMap<IdempotencyKey, (EntryId, String, Credits)>,
}

/// Every account's grants, entries and allocations.
#[derive(Debug, Default, Clone)]
pub struct MemoryLedger {
    books: HashMap<AccountId, Book>,
    next_grant: i64,
    next_entry: i64,
}

impl MemoryLedger {
    /// A ledger with no accounts.
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens an empty account; opening one again keeps what it holds.
    pub fn open_account(&mut self, account: AccountId) {
        self.books.entry(account).or_default();
    }

    /// Runs one operation atomically: on error nothing changes.
    pub fn execute(
        &mut self,
        account: AccountId,
        op: &Operation,
        now: OffsetDateTime,
    ) -> Result<Receipt, CreditError> {
        let mut tx = self.transaction(account)?;
        run_ready(crate::store::run_operation(&mut tx, op, now))
    }

    fn transaction(&mut self, account: AccountId) -> Result<MemoryTransaction<'_>, CreditError> {
        if !self.books.contains_key(&account) {
            return Err(CreditError::AccountNotFound(account));
        }
        Ok(MemoryTransaction {
            ledger: self,
            account,
        })
    }

    /// Reads do not check that the account exists (like the SQL stores): an unknown account
    /// reads as empty.
    fn book(&self, account: AccountId) -> Result<&Book, CreditError> {
        static EMPTY: std::sync::OnceLock<Book> = std::sync::OnceLock::new();
        Ok(self
            .books
            .get(&account)
            .unwrap_or_else(|| EMPTY.get_or_init(Book::default)))
    }

    /// See [`crate::CreditStore::open_grants`].
    pub fn open_grants(&self, account: AccountId) -> Result<Vec<Grant>, CreditError> {
        Ok(self
            .book(account)?
            .grants
            .iter()
            .filter(|g| !g.remaining.is_zero())
            .cloned()
            .collect())
    }

    /// See [`crate::CreditStore::history`].
    pub fn history(
        &self,
        account: AccountId,
        query: HistoryQuery,
    ) -> Result<HistoryPage, CreditError> {
        let rows = self
            .book(account)?
            .entries
            .iter()
            .rev()
            .filter(|e| query.before.is_none_or(|before| e.id < before))
            .take(query.limit.clamp(1, HistoryQuery::MAX_LIMIT) as usize + 1)
            .cloned()
            .collect();
        Ok(query.page(rows))
    }

    /// See [`crate::CreditStore::grants`].
    pub fn grants(&self, account: AccountId, ids: &[GrantId]) -> Result<Vec<Grant>, CreditError> {
        Ok(self
            .book(account)?
            .grants
            .iter()
            .filter(|g| ids.contains(&g.id))
            .cloned()
            .collect())
    }

    /// See [`crate::CreditStore::open_holds`].
    pub fn open_holds(&self, account: AccountId) -> Result<Vec<OpenHold>, CreditError> {
        let book = self.book(account)?;
        Ok(book
            .entries
            .iter()
            .filter(|e| e.kind == EntryKind::Hold)
            .filter(|hold| !book.entries.iter().any(|e| e.reverses == Some(hold.id)))
            .map(|hold| OpenHold {
                entry: hold.id,
                amount: hold.amount,
                reason: hold.reason.clone(),
                at: hold.at,
            })
            .collect())
    }

    /// See [`crate::CreditStore::snapshot`].
    pub fn snapshot(&self, account: AccountId) -> Result<AccountSnapshot, CreditError> {
        let book = self.book(account)?;
        Ok(AccountSnapshot {
            grants: book.grants.clone(),
            entries: book.entries.clone(),
            allocations: book.allocations.clone(),
        })
    }
}

/// Polls a future that never waits (every future over [`MemoryLedger`]) to completion.
fn run_ready<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    match future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(output) => output,
        Poll::Pending => unreachable!("in-memory ledger operations never wait"),
    }
}

struct MemoryTransaction<'a> {
    ledger: &'a mut MemoryLedger,
    account: AccountId,
}

impl MemoryTransaction<'_> {
    fn book(&self) -> &Book {
        &self.ledger.books[&self.account]
    }
}

#[async_trait]
impl LedgerTransaction for MemoryTransaction<'_> {
    async fn find_operation(
        &mut self,
        key: &IdempotencyKey,
    ) -> Result<Option<RecordedOperation>, StorageError> {
        let book = self.book();
        Ok(book.keys.get(key).and_then(|(id, fingerprint, shortfall)| {
            let entry = book.entries.iter().find(|e| e.id == *id)?;
            Some(RecordedOperation {
                fingerprint: fingerprint.clone(),
                receipt: Receipt {
                    entry: entry.id,
                    kind: entry.kind,
                    amount: entry.amount,
                    shortfall: *shortfall,
                    balance_after: entry.balance_after,
                    at: entry.at,
                    replayed: true,
                },
            })
        }))
    }

    async fn open_grants(&mut self) -> Result<Vec<Grant>, StorageError> {
        Ok(self
            .book()
            .grants
            .iter()
            .filter(|g| !g.remaining.is_zero())
            .cloned()
            .collect())
    }

    async fn grants_from_source(&mut self, source: &SourceRef) -> Result<Vec<Grant>, StorageError> {
        Ok(self
            .book()
            .grants
            .iter()
            .filter(|g| &g.source == source)
            .cloned()
            .collect())
    }

    async fn consumption(&mut self, entry: EntryId) -> Result<Option<Consumption>, StorageError> {
        let book = self.book();
        let Some(found) = book.entries.iter().find(|e| e.id == entry) else {
            return Ok(None);
        };
        let allocations: Vec<_> = book
            .allocations
            .iter()
            .filter(|(e, _)| *e == entry)
            .map(|(_, a)| *a)
            .collect();
        let grants = book
            .grants
            .iter()
            .filter(|g| allocations.iter().any(|a| a.grant == g.id))
            .cloned()
            .collect();
        let reversed_by = book
            .entries
            .iter()
            .find(|e| e.reverses == Some(entry))
            .map(|e| e.id);
        Ok(Some(Consumption {
            entry: found.clone(),
            allocations,
            grants,
            reversed_by,
        }))
    }

    async fn apply(&mut self, effects: &[Effect]) -> Result<EntryId, StorageError> {
        let account = self.account;
        let ledger = &mut *self.ledger;
        let book = ledger
            .books
            .get_mut(&account)
            .expect("checked when the transaction began");
        let mut created: Option<GrantId> = None;
        let mut primary = None;
        for effect in effects {
            match effect {
                Effect::CreateGrant(new) => {
                    ledger.next_grant += 1;
                    let id = GrantId(ledger.next_grant);
                    created = Some(id);
                    book.grants.push(Grant {
                        id,
                        kind: new.kind,
                        amount: new.amount,
                        remaining: new.amount,
                        granted_at: new.granted_at,
                        expires_at: new.expires_at,
                        source: new.source.clone(),
                    });
                }
                Effect::SetRemaining { grant, remaining } => {
                    let grant = book
                        .grants
                        .iter_mut()
                        .find(|g| g.id == *grant)
                        .ok_or_else(|| StorageError::corrupt(format!("no grant {grant}")))?;
                    grant.remaining = *remaining;
                }
                Effect::Append(new) => {
                    ledger.next_entry += 1;
                    let id = EntryId(ledger.next_entry);
                    let grant = match new.grant {
                        Some(GrantLink::Existing(id)) => Some(id),
                        Some(GrantLink::Created) => created,
                        None => None,
                    };
                    book.entries.push(LedgerEntry {
                        id,
                        account,
                        kind: new.kind,
                        amount: new.amount,
                        balance_after: new.balance_after,
                        actor: new.actor,
                        reason: new.reason.clone(),
                        grant,
                        reverses: new.reverses,
                        idempotency_key: new.idempotency.as_ref().map(|(k, _)| k.clone()),
                        at: new.at,
                    });
                    book.allocations
                        .extend(new.allocations.iter().map(|a| (id, *a)));
                    if let Some((key, fingerprint)) = &new.idempotency {
                        book.keys
                            .insert(key.clone(), (id, fingerprint.clone(), new.shortfall));
                        primary = Some(id);
                    }
                }
            }
        }
        primary.ok_or_else(|| StorageError::corrupt("a decision without a primary entry"))
    }
}
