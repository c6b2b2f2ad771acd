//! Credit consumptions per second on each backend.
//!
//!     cargo run --release -p quickscale-adapters --features testing --example credit_bench
//!
//! For each backend (memory, SQLite, PostgreSQL) and each shape (one contended account, 100
//! accounts), `WORKERS` tasks consume 1 credit at a time for `BENCH_SECONDS` (3 by default),
//! `BENCH_REPEATS` times (5 by default), each time on fresh stores; it prints the median rate
//! and the spread between the repeats. After each repeat the ledger invariants are verified on
//! every account and the balances checked against the count of successes.
//!
//! PostgreSQL comes from `TEST_DATABASE_URL` or a throwaway server (see `testing::postgres`);
//! every setting the server runs with that is not PostgreSQL's default is printed.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use quickscale_adapters::testing::{self, TestStores};
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditStore, Credits, GrantKind, IdempotencyKey, Operation,
    Reason, SourceRef, verify,
};
use time::OffsetDateTime;
use uuid::Uuid;

const WORKERS: usize = 16;
/// Enough for the fastest backend to consume one credit at a time for the whole run.
const START_BALANCE: u32 = 10_000_000;

fn operation(key: String, command: CreditCommand) -> Operation {
    Operation {
        key: IdempotencyKey::parse(key).expect("key"),
        actor: Actor::System,
        reason: Reason::parse("benchmark").expect("reason"),
        command,
    }
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{name} must be a whole number"))
        })
        .unwrap_or(default)
}

/// Consumes for `duration` on `accounts` fresh accounts; returns successes per second.
async fn once(name: &str, under_test: TestStores, accounts: usize, duration: Duration) -> f64 {
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
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let workers: Vec<_> = (0..WORKERS)
        .map(|worker| {
            let (credits, ids, done, stop) = (
                Arc::clone(&credits),
                Arc::clone(&ids),
                Arc::clone(&done),
                Arc::clone(&stop),
            );
            tokio::spawn(async move {
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let account = ids[(worker + i * WORKERS) % ids.len()];
                    let consume = CreditCommand::Consume {
                        amount: Credits::whole(1),
                    };
                    credits
                        .execute(
                            account,
                            operation(format!("w{worker}-{i}"), consume),
                            OffsetDateTime::now_utc(),
                        )
                        .await
                        .expect("consume");
                    done.fetch_add(1, Ordering::Relaxed);
                    i += 1;
                    // The in-memory store never waits: let the timer and the other tasks run.
                    tokio::task::yield_now().await;
                }
            })
        })
        .collect();
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.expect("worker");
    }
    let elapsed = started.elapsed();
    let succeeded = done.load(Ordering::Relaxed);
    let mut spent = 0u64;
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
        spent += u64::from(START_BALANCE) - u64::try_from(balance.total.cents() / 100).unwrap();
    }
    assert_eq!(
        spent, succeeded,
        "{name}: every success is exactly one debit"
    );
    drop(under_test);
    succeeded as f64 / elapsed.as_secs_f64()
}

/// Every setting of the server that does not have PostgreSQL's default value.
async fn postgres_settings(under_test: &TestStores) -> String {
    let Some(db) = under_test
        .guard
        .downcast_ref::<quickscale_adapters::postgres::Database>()
    else {
        return "unknown".into();
    };
    let version: String = sqlx::query_scalar("SHOW server_version")
        .fetch_one(db.pool())
        .await
        .expect("the server's version");
    let settings: Vec<(String, String)> = sqlx::query_as(
        "SELECT name, current_setting(name) FROM pg_settings \
         WHERE source IN ('command line', 'configuration file', 'environment variable') \
         ORDER BY name",
    )
    .fetch_all(db.pool())
    .await
    .expect("the server's settings");
    let settings: Vec<String> = settings
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect();
    format!(
        "PostgreSQL {version}; a pool of 20 connections; settings other than the defaults: {}",
        settings.join(" ")
    )
}

#[tokio::main]
async fn main() {
    let seconds = setting("BENCH_SECONDS", 3);
    let repeats = setting("BENCH_REPEATS", 5).max(1);
    let duration = Duration::from_secs(seconds);
    println!(
        "{WORKERS} workers consume 1 credit at a time for {seconds} s, {repeats} times per \
         backend and shape, on fresh stores each time"
    );
    match testing::postgres_stores().await {
        Some(stores) => println!("postgres   {}", postgres_settings(&stores).await),
        None => println!("postgres   skipped: no server (set TEST_DATABASE_URL)"),
    }
    for accounts in [1, 100] {
        for name in ["memory", "sqlite", "postgres"] {
            let mut rates = Vec::new();
            for _ in 0..repeats {
                let stores = match name {
                    "memory" => testing::memory_stores().await,
                    "sqlite" => testing::sqlite_stores().await,
                    _ => testing::postgres_stores().await,
                };
                let Some(stores) = stores else { break };
                rates.push(once(name, stores, accounts, duration).await);
            }
            if rates.is_empty() {
                continue;
            }
            rates.sort_by(f64::total_cmp);
            let median = rates[rates.len() / 2];
            let (min, max) = (rates[0], rates[rates.len() - 1]);
            println!(
                "{name:<10} {accounts:>3} account(s): median {median:>9.0} /s   min {min:>9.0}   \
                 max {max:>9.0}   spread {:>4.1} %   invariants ok",
                100.0 * (max - min) / median
            );
        }
    }
}
