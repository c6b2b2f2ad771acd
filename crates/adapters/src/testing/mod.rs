//! Test support for this and other crates: the contract suites every store implementation
//! must pass, a throwaway PostgreSQL server, and the rule for tests whose tools are missing
//! ([`require`]).

pub mod contract;
pub mod gateway;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod redis;
pub mod require;

use std::any::Any;

use crate::Stores;

/// Stores under test, with whatever must live as long as they do (a temporary directory).
pub struct TestStores {
    pub stores: Stores,
    pub guard: Box<dyn Any + Send + Sync>,
}

impl std::fmt::Debug for TestStores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestStores").finish_non_exhaustive()
    }
}

/// Fresh in-memory stores.
pub async fn memory_stores() -> Option<TestStores> {
    Some(TestStores {
        stores: crate::memory::stores(),
        guard: Box::new(()),
    })
}

/// Fresh in-memory stores whose rate limits are kept in Redis (see [`redis::test_redis_url`]),
/// or `None` when there is no Redis server and it is not required.
#[cfg(feature = "redis")]
pub async fn redis_stores() -> Option<TestStores> {
    let url = redis::test_redis_url().await?;
    let limits = crate::redis::RedisRateLimits::connect(&url, "qs-test:")
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test Redis server at {url}: {e}"));
    let mut stores = crate::memory::stores();
    stores.rate_limits = std::sync::Arc::new(limits);
    Some(TestStores {
        stores,
        guard: Box::new(()),
    })
}

/// Fresh SQLite stores in a new temporary directory.
#[cfg(feature = "sqlite")]
pub async fn sqlite_stores() -> Option<TestStores> {
    sqlite_stores_migrated(None).await
}

/// SQLite stores in a new temporary directory over the tables of `areas` alone, as an app that
/// embeds those stores has them (the other stores have no tables to work on).
#[cfg(feature = "sqlite")]
pub async fn sqlite_area_stores(areas: &[crate::Area]) -> Option<TestStores> {
    sqlite_stores_migrated(Some(areas)).await
}

/// Every migration (`None`) or those of some areas.
#[cfg(feature = "sqlite")]
async fn sqlite_stores_migrated(areas: Option<&[crate::Area]>) -> Option<TestStores> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = crate::sqlite::Database::open(&url)
        .await
        .expect("SQLite opens");
    match areas {
        None => db.migrate().await,
        Some(areas) => db.migrate_areas(areas).await,
    }
    .expect("SQLite migrations apply");
    Some(TestStores {
        stores: db.stores(),
        guard: Box::new(dir),
    })
}

/// Fresh PostgreSQL stores in a new database, or `None` when PostgreSQL is unavailable and
/// not required (see [`postgres::test_database_url`]).
#[cfg(feature = "postgres")]
pub async fn postgres_stores() -> Option<TestStores> {
    postgres_stores_migrated(None).await
}

/// PostgreSQL stores in a new database over the tables of `areas` alone, as an app that embeds
/// those stores has them, or `None` as [`postgres_stores`].
#[cfg(feature = "postgres")]
pub async fn postgres_area_stores(areas: &[crate::Area]) -> Option<TestStores> {
    postgres_stores_migrated(Some(areas)).await
}

/// Every migration (`None`) or those of some areas.
#[cfg(feature = "postgres")]
async fn postgres_stores_migrated(areas: Option<&[crate::Area]>) -> Option<TestStores> {
    let url = postgres::test_database_url().await?;
    let db = crate::postgres::Database::connect(&url, 20)
        .await
        .expect("PostgreSQL connects");
    match areas {
        None => db.migrate().await,
        Some(areas) => db.migrate_areas(areas).await,
    }
    .expect("PostgreSQL migrations apply");
    Some(TestStores {
        stores: db.stores(),
        guard: Box::new(db),
    })
}
