//! The overdraft drill through two app instances on one database: two sets of stores, each
//! with its own connections, over one SQLite file or one PostgreSQL database, running 300 paid
//! runs at once on a user's 100 credits. Exactly 100 succeed.

use quickscale_adapters::testing::contract::overdraft_drill_on_two_instances;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_sqlite_file_never_overdraw() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("shared.db").display());
    let first = quickscale_adapters::sqlite::Database::open(&url)
        .await
        .expect("SQLite opens");
    first.migrate().await.expect("migrations apply");
    let second = quickscale_adapters::sqlite::Database::open(&url)
        .await
        .expect("SQLite opens a second time");
    overdraft_drill_on_two_instances(first.stores(), second.stores()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_on_one_postgres_database_never_overdraw() {
    // None: PostgreSQL is unavailable and not required (the harness records the skip).
    let Some(url) = quickscale_adapters::testing::postgres::test_database_url().await else {
        return;
    };
    let first = quickscale_adapters::postgres::Database::connect(&url, 10)
        .await
        .expect("PostgreSQL connects");
    first.migrate().await.expect("migrations apply");
    let second = quickscale_adapters::postgres::Database::connect(&url, 10)
        .await
        .expect("PostgreSQL connects a second time");
    overdraft_drill_on_two_instances(first.stores(), second.stores()).await;
}
