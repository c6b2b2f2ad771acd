//! The SQL stores, one file per store.
//!
//! This folder is not a module of `crate::sql`: `crate::sqlite` and `crate::postgres` each
//! compile it as their own `stores` module (`#[path = "../sql/stores/mod.rs"]`), so its code is
//! written once and checked once per backend. The only thing it takes from the backend is
//! `super::Database`, that backend's [`Backend`](crate::sql::Backend) (pools, transactions and
//! the dialect's differences); everything else it names is imported in each file.
//!
//! Why not code generic over `sqlx::Database`: every `bind` and `try_get` of a generic backend
//! needs its own `Encode`/`Decode`/`Type` bound, which Rust does not carry from a trait's
//! where-clauses to its users, so each impl would restate a few dozen bounds; and sqlx's
//! executors for a generic database trip the compiler's higher-ranked lifetime checks inside
//! `Send` futures. Compiling the same files per backend keeps the code ordinary and the types
//! concrete (docs/architecture.md, "Storage").
//!
//! Each store is behind its port's cargo feature (`credits`, `identity`, `billing`, `services`,
//! `site`, `limits`); tokens, API keys, the audit log and the outbox share one
//! `SqlAccountStores`.

// A build with some of the ports leaves some row readers and backend items unused.
#![cfg_attr(not(feature = "stores"), allow(dead_code))]

mod row;

#[cfg(any(feature = "identity", feature = "site"))]
mod accounts;
#[cfg(feature = "identity")]
mod api_keys;
#[cfg(feature = "site")]
mod audit;
#[cfg(feature = "billing")]
mod billing;
#[cfg(feature = "site")]
mod contact;
#[cfg(feature = "credits")]
mod credits;
#[cfg(feature = "services")]
mod notifications;
#[cfg(feature = "site")]
mod outbox;
#[cfg(feature = "services")]
mod paid_runs;
#[cfg(feature = "limits")]
mod rate_limits;
#[cfg(feature = "identity")]
mod sessions;
#[cfg(feature = "services")]
mod settings;
#[cfg(feature = "billing")]
mod subscriptions;
#[cfg(feature = "identity")]
mod tokens;
#[cfg(feature = "services")]
mod usage;
#[cfg(feature = "identity")]
mod users;

#[cfg(any(feature = "identity", feature = "site"))]
pub use accounts::SqlAccountStores;
#[cfg(feature = "billing")]
pub use billing::SqlBillingRepository;
#[cfg(feature = "site")]
pub use contact::SqlContactRepository;
#[cfg(feature = "credits")]
pub use credits::SqlCreditStore;
#[cfg(feature = "services")]
pub use notifications::SqlNotificationStore;
#[cfg(feature = "services")]
pub use paid_runs::SqlPaidRuns;
#[cfg(feature = "limits")]
pub use rate_limits::SqlRateLimits;
#[cfg(feature = "identity")]
pub use sessions::SqlSessionStore;
#[cfg(feature = "services")]
pub use settings::{SqlCacheVersions, SqlServiceSettingsRepository};
#[cfg(feature = "billing")]
pub use subscriptions::SqlSubscriptionRepository;
#[cfg(feature = "services")]
pub use usage::SqlUsageRepository;
#[cfg(feature = "identity")]
pub use users::SqlUserRepository;

use super::Database;

/// The sqlx database of this backend.
type Db = <Database as crate::sql::Backend>::Db;

/// A row of this backend.
type Row = <Db as sqlx::Database>::Row;

/// Every store over `db`.
#[cfg(feature = "stores")]
pub(super) fn all(db: &Database) -> crate::Stores {
    use std::sync::Arc;

    let accounts = Arc::new(SqlAccountStores::new(db.clone()));
    crate::Stores {
        users: Arc::new(SqlUserRepository::new(db.clone())),
        credits: Arc::new(SqlCreditStore::new(db.clone())),
        usage: Arc::new(SqlUsageRepository::new(db.clone())),
        paid_runs: Arc::new(SqlPaidRuns::new(db.clone())),
        contact: Arc::new(SqlContactRepository::new(db.clone())),
        sessions: crate::sessions::SharedSessionStore::new(SqlSessionStore::new(db.clone())),
        service_settings: Arc::new(SqlServiceSettingsRepository::new(db.clone())),
        cache_versions: Arc::new(SqlCacheVersions::new(db.clone())),
        billing: Arc::new(SqlBillingRepository::new(db.clone())),
        subscriptions: Arc::new(SqlSubscriptionRepository::new(db.clone())),
        tokens: accounts.clone(),
        audit: accounts.clone(),
        api_keys: accounts.clone(),
        outbox: accounts,
        rate_limits: Arc::new(SqlRateLimits::new(db.clone())),
        notifications: Arc::new(SqlNotificationStore::new(db.clone())),
    }
}
