#![forbid(unsafe_code)]
//! # QuickScale adapters
//!
//! Implementations of the domain ports, each behind a cargo feature. The stores are chosen
//! twice: by port (which stores) and by backend (where they keep their data); every port
//! combines with every backend.
//!
//! | feature    | what                                                          |
//! |------------|---------------------------------------------------------------|
//! | `credits`  | the credit ledger's store (`CreditStore`)                     |
//! | `identity` | users, tokens, API keys and browser sessions                  |
//! | `billing`  | packs, payments, refunds, webhook inbox, plans, subscriptions |
//! | `services` | service runs (usage) and the services' settings               |
//! | `site`     | contact messages, the audit log and the email outbox          |
//! | `limits`   | rate-limit budgets (`RateLimitStore`)                         |
//! | `stores`   | all six ports, and [`Stores`] holding one of each             |
//! | `memory`   | in-memory fakes of the chosen stores, for tests and demos     |
//! | `sqlite`   | SQLite stores (the embedded default)                          |
//! | `postgres` | PostgreSQL stores (production)                                |
//! | `argon2`   | argon2id password hashing on the blocking pool                |
//! | `clock`    | the system clock (and with `services`, the tokio timer)       |
//! | `llm`      | an OpenAI-compatible chat client for the LLM service          |
//! | `stripe`   | the Stripe client for the payment gateway port                |
//! | `smtp`     | email delivery over SMTP (lettre)                             |
//! | `redis`    | rate-limit budgets in Redis, shared by every instance         |
//! | `webhooks` | posting users' webhooks to public addresses only              |
//! | `testing`  | the shared contract suites and a throwaway PostgreSQL server  |
//!
//! The default features are `stores`, `memory`, `sqlite`, `postgres`, `argon2` and `clock`. A
//! crate that wants only the credit ledger on PostgreSQL takes
//! `default-features = false, features = ["postgres", "credits"]` and compiles neither the
//! billing nor the identity domain.
//!
//! Every store implementation passes the same contract suite (`testing::contract`).
//!
//! Every call of a SQLite or PostgreSQL store is a `debug` span `db.<store>.<method>` under the
//! target [`DB_SPAN_TARGET`] (a database call in a trace), and the outgoing HTTP calls (Stripe,
//! the language model, users' webhooks) are `info` client spans that carry their W3C trace
//! context once the application installs a propagator ([`trace_context`]).
//!
//! An app that embeds some of the stores next to tables of its own creates their tables alone,
//! with `migrate_areas` of the SQLite or PostgreSQL `Database` and an `Area` (docs/embedding.md,
//! and `examples/embed_credits.rs`: the credit ledger inside an axum app with its own users).

#[cfg(feature = "stores")]
use std::sync::Arc;

#[cfg(feature = "stores")]
use quickscale_domain_billing::{BillingRepository, SubscriptionRepository};
#[cfg(feature = "stores")]
use quickscale_domain_credits::CreditStore;
#[cfg(feature = "stores")]
use quickscale_domain_identity::{ApiKeyRepository, TokenRepository, UserRepository};
#[cfg(feature = "stores")]
use quickscale_domain_kernel::{AuditLog, ContactRepository, OutboxStore, RateLimitStore};
#[cfg(feature = "stores")]
use quickscale_service_sdk::paid::PaidRunStore;
#[cfg(feature = "stores")]
use quickscale_service_sdk::{ServiceSettingsRepository, ServiceUsageRepository};

#[cfg(feature = "argon2")]
pub mod argon2;
#[cfg(feature = "clock")]
pub mod clock;
#[cfg(feature = "jobs")]
pub mod jobs;
#[cfg(feature = "llm")]
pub mod llm;
pub mod mail;
#[cfg(feature = "memory")]
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "identity")]
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
pub mod trace_context;
#[cfg(feature = "webhooks")]
pub mod webhooks;

#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub use sql::areas::Area;
pub use trace_context::DB_SPAN_TARGET;

/// A connection pool's connections at one moment, for metrics.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct PoolStats {
    /// Connections open (in use plus idle).
    pub open: u32,
    /// Open connections no one holds.
    pub idle: u32,
    /// The most the pool opens.
    pub max: u32,
}

/// One implementation of every store port, chosen together.
#[cfg(feature = "stores")]
#[derive(Clone)]
pub struct Stores {
    pub users: Arc<dyn UserRepository>,
    pub credits: Arc<dyn CreditStore>,
    pub usage: Arc<dyn ServiceUsageRepository>,
    /// A paid run's claim and charge as one step (one transaction in the SQL stores).
    pub paid_runs: Arc<dyn PaidRunStore>,
    pub contact: Arc<dyn ContactRepository>,
    pub sessions: sessions::SharedSessionStore,
    pub service_settings: Arc<dyn ServiceSettingsRepository>,
    /// The versions of the services' settings and of the users' notification choices, read
    /// together (processes keep a copy of both).
    pub cache_versions: Arc<dyn quickscale_service_sdk::CacheVersionStore>,
    pub billing: Arc<dyn BillingRepository>,
    pub subscriptions: Arc<dyn SubscriptionRepository>,
    pub tokens: Arc<dyn TokenRepository>,
    pub audit: Arc<dyn AuditLog>,
    pub api_keys: Arc<dyn ApiKeyRepository>,
    pub outbox: Arc<dyn OutboxStore>,
    /// Rate-limit budgets (the app keeps them in this process unless several instances share
    /// them: see `RATE_LIMITS`).
    pub rate_limits: Arc<dyn RateLimitStore>,
    /// Users' notification choices and webhook deliveries (run ended: webhook, email).
    pub notifications: Arc<dyn quickscale_service_sdk::notify::NotificationStore>,
}

#[cfg(feature = "stores")]
impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stores").finish_non_exhaustive()
    }
}
