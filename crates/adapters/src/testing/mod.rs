//! Test support for this and other crates: the contract suites every store implementation
//! must pass, a throwaway PostgreSQL server, and the rule for tests whose tools are missing
//! ([`require`]).

pub mod contract;
pub mod gateway;
#[cfg(feature = "postgres")]
pub mod postgres;
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

/// Fresh SQLite stores in a new temporary directory.
#[cfg(feature = "sqlite")]
pub async fn sqlite_stores() -> Option<TestStores> {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let url = format!("sqlite://{}", dir.path().join("test.db").display());
    let db = crate::sqlite::Database::open(&url)
        .await
        .expect("SQLite opens");
    db.migrate().await.expect("SQLite migrations apply");
    Some(TestStores {
        stores: db.stores(),
        guard: Box::new(dir),
    })
}

/// Fresh PostgreSQL stores in a new database, or `None` when PostgreSQL is unavailable and
/// not required (see [`postgres::test_database_url`]).
#[cfg(feature = "postgres")]
pub async fn postgres_stores() -> Option<TestStores> {
    let url = postgres::test_database_url().await?;
    let db = crate::postgres::Database::connect(&url, 20)
        .await
        .expect("PostgreSQL connects");
    db.migrate().await.expect("PostgreSQL migrations apply");
    Some(TestStores {
        stores: db.stores(),
        guard: Box::new(db),
    })
}
