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
//! `Send` futures (sqlx issues 3092 and 3150). Compiling the same files per backend keeps the
//! code ordinary and the types concrete.

mod row;

mod accounts;
mod api_keys;
mod audit;
mod billing;
mod contact;
mod credits;
mod outbox;
mod sessions;
mod settings;
mod subscriptions;
mod tokens;
mod usage;
mod users;

pub use accounts::SqlAccountStores;
pub use billing::SqlBillingRepository;
pub use contact::SqlContactRepository;
pub use credits::SqlCreditStore;
pub use sessions::SqlSessionStore;
pub use settings::SqlServiceSettingsRepository;
pub use subscriptions::SqlSubscriptionRepository;
pub use usage::SqlUsageRepository;
pub use users::SqlUserRepository;

use super::Database;

/// The sqlx database of this backend.
type Db = <Database as crate::sql::Backend>::Db;

/// A row of this backend.
type Row = <Db as sqlx::Database>::Row;
