//! Credit consumptions per second on each backend.
//!
//!     cargo run --release -p quickscale-adapters --features testing --example credit_bench
//!
//! For each backend (memory, SQLite, PostgreSQL) and each shape (one contended account, 100
//! accounts), `WORKERS` tasks consume 1 credit at a time until `OPERATIONS` succeeded; then the
//! ledger invariants are verified on every account and the balances checked against the count.
//! PostgreSQL comes from `TEST_DATABASE_URL` or a throwaway server (see `testing::postgres`).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use quickscale_adapters::testing::{self, TestStores};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditStore, Credits, GrantKind, IdempotencyKey, Operation,
    Reason, SourceRef, verify,
};
use time::OffsetDateTime;
use uuid::Uuid;

const OPERATIONS: u64 = 4_000;
const WORKERS: usize = 16;
const START_BALANCE: u32 = 100_000;

fn operation(key: String, command: CreditCommand) -> Operation {
    Operation {
        key: IdempotencyKey::parse(key).expect("key"),
        actor: Actor::System,
        reason: Reason::parse("benchmark").expect("reason"),
        command,
    }
}

async fn bench(name: &str, under_test: TestStores, accounts: usize) {
    let credits: Arc<dyn CreditStore> = Arc::clone(&under_test.stores.credits);
    let now = OffsetDateTime::now_utc();
    let mut ids = Vec::new();
    for _ in 0..accounts {
        let id = AccountId::new(Uuid::now_v7());
        credits.open_account(id, now).await.expect("open");
        let grant = CreditCommand::Grant {
            kind: GrantKind::Purchase,
            amount: Credits::whole(START_BALANCE),
            expires_at: None,
            source: SourceRef::parse("bench").expect("source"),
        };
        credits
            .execute(id, operation("seed".into(), grant), now)
            .await
            .expect("seed");
        ids.push(id);
    }
    let ids = Arc::new(ids);
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let credits = Arc::clone(&credits);
            let ids = Arc::clone(&ids);
            let done = Arc::clone(&done);
            tokio::spawn(async move {
                let mut i = 0usize;
                while done.fetch_add(1, Ordering::Relaxed) < OPERATIONS {
                    let account = ids[(worker + i * WORKERS) % ids.len()];
                    let key = format!("w{worker}-{i}");
                    let consume = CreditCommand::Consume {
                        amount: Credits::whole(1),
                    };
                    credits
                        .execute(account, operation(key, consume), OffsetDateTime::now_utc())
                        .await
                        .expect("consume");
                    i += 1;
                }
            })
        })
        .collect();
    for worker in workers {
        worker.await.expect("worker");
    }
    let elapsed = started.elapsed();
    let mut spent = 0i64;
    for id in ids.iter() {
        let snapshot = credits.snapshot(*id).await.expect("snapshot");
        let problems = verify(&snapshot);
        assert!(
            problems.is_empty(),
            "{name}: invariants broken: {problems:?}"
        );
        let balance = credits
            .balance(*id, OffsetDateTime::now_utc())
            .await
            .expect("balance");
        spent += i64::from(START_BALANCE) - balance.total.cents() / 100;
    }
    assert_eq!(
        spent as u64, OPERATIONS,
        "{name}: every success is exactly one debit"
    );
    println!(
        "{name:<10} {accounts:>3} account(s) {WORKERS} workers: {OPERATIONS} consumptions in {:>6.2} s = {:>8.0} /s   invariants ok",
        elapsed.as_secs_f64(),
        OPERATIONS as f64 / elapsed.as_secs_f64()
    );
    drop(under_test);
}

#[tokio::main]
async fn main() {
    for accounts in [1, 100] {
        bench(
            "memory",
            testing::memory_stores().await.expect("memory"),
            accounts,
        )
        .await;
        bench(
            "sqlite",
            testing::sqlite_stores().await.expect("sqlite"),
            accounts,
        )
        .await;
        match testing::postgres_stores().await {
            Some(stores) => bench("postgres", stores, accounts).await,
            None => println!("postgres   skipped: no server (set TEST_DATABASE_URL)"),
        }
    }
}
