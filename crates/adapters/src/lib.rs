#![forbid(unsafe_code)]
//! # QuickScale adapters
//!
//! Implementations of the domain ports, each behind a cargo feature:
//!
//! | feature    | what                                                          |
//! |------------|---------------------------------------------------------------|
//! | `memory`   | in-memory fakes of every store, for tests and demos           |
//! | `sqlite`   | SQLite stores (the embedded default)                          |
//! | `postgres` | PostgreSQL stores (production)                                |
//! | `argon2`   | argon2id password hashing on the blocking pool                |
//! | `clock`    | the system clock and the tokio timer                          |
//! | `llm`      | an OpenAI-compatible chat client for the LLM service          |
//! | `stripe`   | the Stripe client for the payment gateway port                |
//! | `smtp`     | email delivery over SMTP (lettre)                             |
//! | `testing`  | the shared contract suites and a throwaway PostgreSQL server  |
//!
//! Every store implementation passes the same contract suite (`testing::contract`).
//!
//! An app that embeds some of the stores next to tables of its own creates their tables alone,
//! with `migrate_areas` of the SQLite or PostgreSQL `Database` and an `Area` (docs/embedding.md,
//! and `examples/embed_credits.rs`: the credit ledger inside an axum app with its own users).

use std::sync::Arc;

use quickscale_domain_billing::{BillingRepository, SubscriptionRepository};
use quickscale_domain_credits::CreditStore;
use quickscale_domain_identity::{ApiKeyRepository, TokenRepository, UserRepository};
use quickscale_domain_kernel::{AuditLog, ContactRepository, OutboxStore};
use quickscale_service_sdk::{ServiceSettingsRepository, ServiceUsageRepository};

#[cfg(feature = "argon2")]
pub mod argon2;
#[cfg(feature = "clock")]
pub mod clock;
#[cfg(feature = "llm")]
pub mod llm;
pub mod mail;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
pub mod sessions;
#[cfg(feature = "smtp")]
pub mod smtp;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "stripe")]
pub mod stripe;
#[cfg(feature = "testing")]
pub mod testing;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::areas::Area;

/// One implementation of every store port, chosen together.
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserRepository>,
    pub credits: Arc<dyn CreditStore>,
    pub usage: Arc<dyn ServiceUsageRepository>,
    pub contact: Arc<dyn ContactRepository>,
    pub sessions: sessions::SharedSessionStore,
    pub service_settings: Arc<dyn ServiceSettingsRepository>,
    pub billing: Arc<dyn BillingRepository>,
    pub subscriptions: Arc<dyn SubscriptionRepository>,
    pub tokens: Arc<dyn TokenRepository>,
    pub audit: Arc<dyn AuditLog>,
    pub api_keys: Arc<dyn ApiKeyRepository>,
    pub outbox: Arc<dyn OutboxStore>,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}
