//! Migrations per area: a database migrated with the credit area alone has the credit tables and
//! nothing else, the same tables as the app's migrations make, next to an app's own sqlx
//! migrations, and the credit store passes its whole contract suite on it.

use std::collections::BTreeSet;

use quickscale_adapters::Area;
use quickscale_adapters::testing::contract::{Contract, contracts};
use quickscale_adapters::testing::{postgres, postgres_area_stores, sqlite_area_stores};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::SqlitePool;
use sqlx::{PgPool, SqlStr};

/// The credit tables and the table that records the credit area's migrations.
fn credit_area_tables() -> BTreeSet<String> {
    Area::Credits
        .tables()
        .iter()
        .chain(&[Area::Credits.migrations_table()])
        .map(|t| t.to_string())
        .collect()
}

/// The app's own migrations, as an embedder keeps them: sqlx's default table, a users table of
/// its own that maps its user ids to credit accounts.
fn embedders_migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "users".into(),
        MigrationType::Simple,
        SqlStr::from_static(
            "CREATE TABLE app_users (id BIGINT PRIMARY KEY, email TEXT NOT NULL, \
             credit_account UUID NOT NULL UNIQUE)",
        ),
        false,
    )])
}

fn credit_contracts() -> Vec<Contract> {
    let credits: Vec<Contract> = contracts()
        .into_iter()
        .filter(|c| c.suite == "credits")
        .collect();
    assert!(!credits.is_empty(), "the credit suite has contracts");
    credits
}

// SQLite

async fn sqlite_database(dir: &tempfile::TempDir, name: &str) -> (String, SqlitePool) {
    let url = format!("sqlite://{}", dir.path().join(name).display());
    let db = quickscale_adapters::sqlite::Database::open(&url)
        .await
        .expect("SQLite opens");
    db.close().await;
    let pool = SqlitePool::connect(&url).await.expect("SQLite opens");
    (url, pool)
}

async fn sqlite_tables(pool: &SqlitePool) -> BTreeSet<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )
    .fetch_all(pool)
    .await
    .expect("tables")
    .into_iter()
    .collect()
}

/// Every table and index of the credit tables, as SQLite keeps their definitions (spacing
/// aside).
async fn sqlite_credit_schema(pool: &SqlitePool) -> Vec<(String, String, String)> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT type, name, tbl_name, sql FROM sqlite_master \
         WHERE tbl_name IN ('credit_accounts', 'credit_grants', 'credit_entries', \
                            'credit_allocations') \
         ORDER BY type, name",
    )
    .fetch_all(pool)
    .await
    .expect("the schema");
    rows.into_iter()
        .map(|(kind, name, table, sql)| {
            let sql = sql.unwrap_or_default();
            (
                kind,
                name,
                format!(
                    "{table}: {}",
                    sql.split_whitespace().collect::<Vec<_>>().join(" ")
                ),
            )
        })
        .collect()
}

#[tokio::test]
async fn sqlite_credit_area_has_the_credit_tables_alone_next_to_the_apps_own_migrations() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (url, pool) = sqlite_database(&dir, "embedder.db").await;
    embedders_migrator()
        .run(&pool)
        .await
        .expect("the app's own");
    let db = quickscale_adapters::sqlite::Database::open(&url)
        .await
        .expect("SQLite opens");
    db.migrate_areas(&[Area::Credits]).await.expect("migrates");
    // Both again: nothing to do, and neither sees the other's migrations as unknown.
    db.migrate_areas(&[Area::Credits]).await.expect("again");
    embedders_migrator()
        .run(&pool)
        .await
        .expect("the app's own again");

    let mut expected = credit_area_tables();
    expected.extend(["_sqlx_migrations".to_owned(), "app_users".to_owned()]);
    assert_eq!(sqlite_tables(&pool).await, expected);
    let app_versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&pool)
        .await
        .expect("the app's migrations");
    assert_eq!(
        app_versions,
        [1],
        "the app's migration table holds its own only"
    );
}

#[tokio::test]
async fn sqlite_credit_area_schema_matches_the_apps() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let (app_url, app) = sqlite_database(&dir, "app.db").await;
    let app_db = quickscale_adapters::sqlite::Database::open(&app_url)
        .await
        .expect("SQLite opens");
    app_db.migrate().await.expect("every migration");
    let (area_url, area) = sqlite_database(&dir, "area.db").await;
    let area_db = quickscale_adapters::sqlite::Database::open(&area_url)
        .await
        .expect("SQLite opens");
    area_db
        .migrate_areas(&[Area::Credits])
        .await
        .expect("the credit area");

    let schema = sqlite_credit_schema(&app).await;
    assert!(schema.len() >= Area::Credits.tables().len());
    assert_eq!(sqlite_credit_schema(&area).await, schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_credit_contracts_pass_on_sqlite_with_the_credit_area_alone() {
    for contract in credit_contracts() {
        let under_test = sqlite_area_stores(&[Area::Credits])
            .await
            .expect("SQLite stores");
        (contract.run)(under_test.stores.clone()).await;
    }
}

// PostgreSQL

async fn postgres_pool() -> Option<PgPool> {
    let url = postgres::test_database_url().await?;
    Some(PgPool::connect(&url).await.expect("PostgreSQL connects"))
}

async fn postgres_tables(pool: &PgPool) -> BTreeSet<String> {
    sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = current_schema()")
        .fetch_all(pool)
        .await
        .expect("tables")
        .into_iter()
        .collect()
}

/// The credit tables' columns, constraints and indexes, as PostgreSQL describes them.
async fn postgres_credit_schema(pool: &PgPool) -> Vec<String> {
    let tables: Vec<String> = Area::Credits
        .tables()
        .iter()
        .map(|t| t.to_string())
        .collect();
    let columns: Vec<(String, i32, String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT table_name::text, ordinal_position::int, column_name::text, data_type::text, \
                is_nullable::text, column_default::text \
         FROM information_schema.columns \
         WHERE table_schema = current_schema() AND table_name = ANY($1) \
         ORDER BY 1, 2",
    )
    .bind(&tables)
    .fetch_all(pool)
    .await
    .expect("columns");
    let constraints: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT c.relname::text, k.conname::text, pg_get_constraintdef(k.oid) \
         FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid \
         WHERE c.relnamespace = current_schema()::regnamespace AND c.relname = ANY($1) \
         ORDER BY 1, 2",
    )
    .bind(&tables)
    .fetch_all(pool)
    .await
    .expect("constraints");
    let indexes: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT tablename::text, indexname::text, indexdef FROM pg_indexes \
         WHERE schemaname = current_schema() AND tablename = ANY($1) ORDER BY 1, 2",
    )
    .bind(&tables)
    .fetch_all(pool)
    .await
    .expect("indexes");
    columns
        .into_iter()
        .map(|c| format!("column {c:?}"))
        .chain(constraints.into_iter().map(|c| format!("constraint {c:?}")))
        .chain(indexes.into_iter().map(|i| format!("index {i:?}")))
        .collect()
}

#[tokio::test]
async fn postgres_credit_area_has_the_credit_tables_alone_next_to_the_apps_own_migrations() {
    let Some(pool) = postgres_pool().await else {
        return;
    };
    embedders_migrator()
        .run(&pool)
        .await
        .expect("the app's own");
    let db = quickscale_adapters::postgres::Database::from_pool(pool.clone());
    db.migrate_areas(&[Area::Credits]).await.expect("migrates");
    db.migrate_areas(&[Area::Credits]).await.expect("again");
    embedders_migrator()
        .run(&pool)
        .await
        .expect("the app's own again");

    let mut expected = credit_area_tables();
    expected.extend(["_sqlx_migrations".to_owned(), "app_users".to_owned()]);
    assert_eq!(postgres_tables(&pool).await, expected);
    let app_versions: Vec<i64> = sqlx::query_scalar("SELECT version FROM _sqlx_migrations")
        .fetch_all(&pool)
        .await
        .expect("the app's migrations");
    assert_eq!(
        app_versions,
        [1],
        "the app's migration table holds its own only"
    );
}

#[tokio::test]
async fn postgres_credit_area_schema_matches_the_apps() {
    let (Some(app), Some(area)) = (postgres_pool().await, postgres_pool().await) else {
        return;
    };
    quickscale_adapters::postgres::Database::from_pool(app.clone())
        .migrate()
        .await
        .expect("every migration");
    quickscale_adapters::postgres::Database::from_pool(area.clone())
        .migrate_areas(&[Area::Credits])
        .await
        .expect("the credit area");

    let schema = postgres_credit_schema(&app).await;
    assert!(schema.len() > 20, "the schema is read: {schema:?}");
    assert_eq!(postgres_credit_schema(&area).await, schema);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_credit_contracts_pass_on_postgres_with_the_credit_area_alone() {
    for contract in credit_contracts() {
        let Some(under_test) = postgres_area_stores(&[Area::Credits]).await else {
            return;
        };
        (contract.run)(under_test.stores.clone()).await;
    }
}
