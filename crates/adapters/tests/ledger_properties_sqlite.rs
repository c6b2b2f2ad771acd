//! The credit ledger's random histories on the SQLite store: each step agrees with the simple
//! model of lots that the in-memory property tests use (crates/domain-credits/tests/support/
//! model.rs), through the store's own transactions and SQL. Fewer cases than in memory, each on
//! a fresh account of one database, so that it stays a few seconds.

#[path = "../../domain-credits/tests/support/model.rs"]
mod model;

use std::sync::Arc;

use model::{Harness, Ledger, START, step};
use proptest::test_runner::{Config, TestRunner};
use quickscale_domain_credits::{
    AccountId, AccountSnapshot, CreditError, CreditStore, Operation, Receipt,
};
use time::OffsetDateTime;
use uuid::Uuid;

/// One account of the SQLite store, driven from synchronous property tests.
struct OnSqlite<'a> {
    runtime: &'a tokio::runtime::Runtime,
    store: Arc<dyn CreditStore>,
    account: AccountId,
}

impl Ledger for OnSqlite<'_> {
    fn execute(&mut self, op: &Operation, now: OffsetDateTime) -> Result<Receipt, CreditError> {
        self.runtime
            .block_on(self.store.execute(self.account, op.clone(), now))
    }

    fn snapshot(&mut self) -> AccountSnapshot {
        self.runtime
            .block_on(self.store.snapshot(self.account))
            .unwrap()
    }
}

#[test]
fn random_histories_on_sqlite_match_the_model() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let under_test = runtime
        .block_on(quickscale_adapters::testing::sqlite_stores())
        .unwrap();
    let store = Arc::clone(&under_test.stores.credits);
    let mut runner = TestRunner::new(Config {
        cases: 48,
        failure_persistence: None,
        ..Config::default()
    });
    let outcome = runner.run(&proptest::collection::vec(step(), 1..60), |steps| {
        let account = AccountId::new(Uuid::new_v4());
        runtime
            .block_on(store.open_account(account, START))
            .unwrap();
        let mut harness = Harness::new(OnSqlite {
            runtime: &runtime,
            store: Arc::clone(&store),
            account,
        });
        for step in steps {
            harness.run(step)?;
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
}
