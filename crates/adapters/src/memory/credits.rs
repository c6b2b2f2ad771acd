use std::sync::Mutex;

use async_trait::async_trait;
use quickscale_domain_credits::memory::MemoryLedger;
use quickscale_domain_credits::{
    AccountId, AccountSnapshot, CreditError, CreditStore, Grant, GrantId, HistoryPage,
    HistoryQuery, OpenHold, Operation, Receipt,
};
use time::OffsetDateTime;

use super::lock;

/// The credit store in memory: the domain's reference ledger behind a lock.
#[derive(Debug, Default)]
pub struct MemoryCreditStore {
    ledger: Mutex<MemoryLedger>,
}

#[async_trait]
impl CreditStore for MemoryCreditStore {
    async fn open_account(
        &self,
        account: AccountId,
        _now: OffsetDateTime,
    ) -> Result<(), CreditError> {
        lock(&self.ledger).open_account(account);
        Ok(())
    }

    async fn execute(
        &self,
        account: AccountId,
        op: Operation,
        now: OffsetDateTime,
    ) -> Result<Receipt, CreditError> {
        lock(&self.ledger).execute(account, &op, now)
    }

    async fn open_grants(&self, account: AccountId) -> Result<Vec<Grant>, CreditError> {
        lock(&self.ledger).open_grants(account)
    }

    async fn history(
        &self,
        account: AccountId,
        query: HistoryQuery,
    ) -> Result<HistoryPage, CreditError> {
        lock(&self.ledger).history(account, query)
    }

    async fn grants(&self, account: AccountId, ids: &[GrantId]) -> Result<Vec<Grant>, CreditError> {
        lock(&self.ledger).grants(account, ids)
    }

    async fn open_holds(&self, account: AccountId) -> Result<Vec<OpenHold>, CreditError> {
        lock(&self.ledger).open_holds(account)
    }

    async fn snapshot(&self, account: AccountId) -> Result<AccountSnapshot, CreditError> {
        lock(&self.ledger).snapshot(account)
    }
}
