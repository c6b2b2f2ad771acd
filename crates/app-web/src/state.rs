//! `AppState`: everything a handler needs, built in one place (`app::App::build`).

use std::sync::Arc;

use quickscale_adapters::Stores;
use quickscale_domain_credits::CreditStore;
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::{Accounts, UserRepository};
use quickscale_domain_kernel::{Clock, Mailer, StorageError};
use quickscale_service_sdk::{ServiceDescriptor, ServiceRegistry, ServiceRunner};

use crate::config::Config;
use crate::templates::Templates;

/// The database behind the stores, for health checks and shutdown.
#[derive(Clone, Debug)]
pub enum Database {
    Memory,
    Sqlite(quickscale_adapters::sqlite::Database),
    Postgres(quickscale_adapters::postgres::Database),
}

impl Database {
    pub async fn ping(&self) -> Result<(), StorageError> {
        match self {
            Database::Memory => Ok(()),
            Database::Sqlite(db) => db.ping().await,
            Database::Postgres(db) => db.ping().await,
        }
    }

    /// The migrations this build knows and the database has not applied (none in memory).
    pub async fn pending_migrations(&self) -> Result<Vec<i64>, StorageError> {
        match self {
            Database::Memory => Ok(Vec::new()),
            Database::Sqlite(db) => db.pending_migrations().await,
            Database::Postgres(db) => db.pending_migrations().await,
        }
    }

    /// What the database is, for the operator's pages.
    pub fn kind(&self) -> &'static str {
        match self {
            Database::Memory => "memory",
            Database::Sqlite(_) => "SQLite",
            Database::Postgres(_) => "PostgreSQL",
        }
    }

    pub async fn close(&self) {
        match self {
            Database::Memory => {}
            Database::Sqlite(db) => db.close().await,
            Database::Postgres(db) => db.close().await,
        }
    }
}

/// Billing, when `ENABLE_STRIPE` is on.
#[derive(Clone, Debug)]
pub struct BillingState {
    pub billing: quickscale_domain_billing::Billing,
    pub webhook_secrets: Vec<String>,
    /// True when payments go to a test processor (no real money).
    pub test_mode: bool,
    /// The offline stand-in for Stripe when it runs inside the app (dropped with it).
    pub offline: Option<Arc<quickscale_stripe_fake::Running>>,
    /// Where "Buy credits" sends the browser (the hosted checkout and billing portal): the
    /// content security policy lets forms go there.
    pub checkout_origins: Vec<String>,
}

pub(crate) struct Inner {
    pub config: Config,
    pub database: Database,
    pub stores: Stores,
    /// The same user store as `stores.users`, with the session's user cached briefly.
    pub session_users: Arc<crate::user_cache::CachedUsers>,
    /// The services' settings the runner applies, kept current across instances (none for a
    /// check, which runs nothing).
    pub service_settings: Option<crate::settings_cache::ServiceSettingsCache>,
    pub accounts: Accounts,
    pub runner: ServiceRunner,
    pub templates: Templates,
    pub mailer: Arc<dyn Mailer>,
    pub outbox_mailer: Arc<crate::outbox::OutboxMailer>,
    pub jobs: crate::queue::Jobs,
    pub clock: Arc<dyn Clock>,
    pub billing: Option<BillingState>,
    pub limits: crate::limits::RateLimits,
    /// The `Content-Security-Policy` of every response (see `security::content_security_policy`).
    pub content_security_policy: axum::http::HeaderValue,
    /// Service runs in progress: shutdown waits for them, so none is cut off after its charge.
    pub runs: tokio_util::task::TaskTracker,
    /// Prometheus metrics, when `METRICS_PORT` or `METRICS_TOKEN` is set.
    pub metrics: Option<crate::observability::Metrics>,
    /// When the app was built, for the admin's system page.
    pub started_at: time::OffsetDateTime,
    /// This instance's latest 5xx answers, for the admin's system page.
    pub recent_errors: crate::observability::RecentErrors,
    /// Posts users' webhooks (public addresses only, unless `ALLOW_PRIVATE_WEBHOOKS`).
    pub webhooks: quickscale_adapters::webhooks::WebhookSender,
    /// Where runs' ends are published (the runner's port; see `notifications`).
    pub run_events: Arc<dyn quickscale_service_sdk::notify::RunEvents>,
}

/// Shared, cheaply cloneable application state.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<Inner>);

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("app", &self.0.config.app_name)
            .finish_non_exhaustive()
    }
}

impl AppState {
    pub fn config(&self) -> &Config {
        &self.0.config
    }
    pub fn database(&self) -> &Database {
        &self.0.database
    }
    pub fn stores(&self) -> &Stores {
        &self.0.stores
    }
    pub fn users(&self) -> &Arc<dyn UserRepository> {
        &self.0.stores.users
    }
    /// The user store with the session's user cached briefly (see `user_cache`).
    pub fn session_users(&self) -> &crate::user_cache::CachedUsers {
        &self.0.session_users
    }
    pub fn credits(&self) -> &Arc<dyn CreditStore> {
        &self.0.stores.credits
    }
    pub fn accounts(&self) -> &Accounts {
        &self.0.accounts
    }
    /// Where service runs are spawned (see `Inner::runs`).
    pub fn runs(&self) -> &tokio_util::task::TaskTracker {
        &self.0.runs
    }

    pub fn runner(&self) -> &ServiceRunner {
        &self.0.runner
    }
    pub fn registry(&self) -> &ServiceRegistry {
        self.0.runner.registry()
    }

    /// Makes this process's copy of the services' settings current (one version read): before
    /// a run is priced or refused.
    pub async fn current_service_settings(&self) -> Result<(), StorageError> {
        match &self.0.service_settings {
            Some(cache) => cache.current().await,
            None => Ok(()),
        }
    }

    /// Makes the copy of the services' settings current if it was last compared more than
    /// `settings_cache::SETTINGS_MAX_AGE` ago: for pages that only show the services.
    pub async fn recent_service_settings(&self) -> Result<(), StorageError> {
        match &self.0.service_settings {
            Some(cache) => cache.recent().await,
            None => Ok(()),
        }
    }

    /// Reads the services' settings again (after a change made here).
    pub async fn reload_service_settings(&self) -> Result<(), StorageError> {
        match &self.0.service_settings {
            Some(cache) => cache.reload().await,
            None => Ok(()),
        }
    }

    /// The services users can see and run: registered, enabled by the admins, in the admins'
    /// order, each with what a run costs now.
    pub fn offered_services(&self) -> Vec<(&ServiceDescriptor, Credits)> {
        let settings = self.0.runner.settings();
        let mut offered: Vec<(&ServiceDescriptor, Credits)> = self
            .registry()
            .iter()
            .filter(|r| settings.enabled(&r.descriptor.slug))
            .map(|r| {
                (
                    &r.descriptor,
                    settings.cost(&r.descriptor.slug, r.descriptor.cost),
                )
            })
            .collect();
        offered.sort_by_key(|(d, _)| settings.order(&d.slug));
        offered
    }

    /// An offered service by slug.
    pub fn offered_service(&self, slug: &str) -> Option<(&ServiceDescriptor, Credits)> {
        self.offered_services()
            .into_iter()
            .find(|(d, _)| d.slug == slug)
    }
    pub fn templates(&self) -> &Templates {
        &self.0.templates
    }
    pub fn mailer(&self) -> &Arc<dyn Mailer> {
        &self.0.mailer
    }
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.0.clock
    }

    /// The outbox mailer (its worker retries due messages; tests call it directly).
    pub fn outbox_mailer(&self) -> &Arc<crate::outbox::OutboxMailer> {
        &self.0.outbox_mailer
    }

    /// The job queue (email delivery, webhook retries, chores).
    pub fn jobs(&self) -> &crate::queue::Jobs {
        &self.0.jobs
    }

    /// Billing, when it is switched on (`ENABLE_STRIPE`).
    pub fn billing(&self) -> Option<&BillingState> {
        self.0.billing.as_ref()
    }

    pub fn limits(&self) -> &crate::limits::RateLimits {
        &self.0.limits
    }

    /// Prometheus metrics, when they are switched on (docs/operations.md).
    pub fn metrics(&self) -> Option<&crate::observability::Metrics> {
        self.0.metrics.as_ref()
    }

    /// When the app was built (its uptime starts there).
    pub fn started_at(&self) -> time::OffsetDateTime {
        self.0.started_at
    }

    /// This instance's latest 5xx answers.
    pub fn recent_errors(&self) -> &crate::observability::RecentErrors {
        &self.0.recent_errors
    }

    pub fn billing_enabled(&self) -> bool {
        self.0.billing.is_some()
    }

    /// Posts users' webhooks.
    pub fn webhooks(&self) -> &quickscale_adapters::webhooks::WebhookSender {
        &self.0.webhooks
    }

    /// Where a run's end is published: the runner does it for the runs that end in a request;
    /// whoever ends a background run publishes its `RunEnded` (with `background: true`) here.
    pub fn run_events(&self) -> &Arc<dyn quickscale_service_sdk::notify::RunEvents> {
        &self.0.run_events
    }
}
