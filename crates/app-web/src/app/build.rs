//! The wiring: what `App::build` puts together, for serving or for a command.

use std::sync::Arc;

use anyhow::Context as _;
use quickscale_adapters::argon2::Argon2Hasher;
use quickscale_adapters::clock::{SystemClock, TokioTimer};
use quickscale_adapters::mail::LogMailer;
use quickscale_adapters::smtp::{SmtpMailer, SmtpSettings};
use quickscale_domain_billing::Billing;
use quickscale_domain_identity::{Accounts, PasswordPolicy};
use quickscale_domain_kernel::Mailer;
use quickscale_service_sdk::ServiceRunner;
use serde::Serialize;

use super::database::open_database;
use super::layers::router;
use super::{App, Built};
use crate::choices_cache::CachedChoices;
use crate::config::{Config, Flags, MailTransport, QueueBackend, RateLimitBackend};
use crate::limits::{RateLimits, Sharing};
use crate::outbox::OutboxMailer;
use crate::settings_cache::ServiceSettingsCache;
use crate::state::{AppState, BillingState, Inner};
use crate::templates::Templates;
use crate::user_cache::{CachedUsers, SESSION_USER_TTL};
use quickscale_adapters::memory::MemoryRateLimits;
use quickscale_adapters::redis::RedisRateLimits;
use quickscale_domain_kernel::{Quota, RateLimitStore};

#[derive(Serialize)]
struct Globals<'a> {
    app_name: &'a str,
    flags: Flags,
}

/// What a command builds of the app.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Purpose {
    /// The web app: everything, with the default pack (and the stand-in's plan) seeded.
    Serve,
    /// A command that changes data: migrations applied, nothing seeded, and the payment
    /// processor only when the command needs it.
    Maintenance { processor: bool },
    /// A check: reads only (no migration, no seeding, no processor, no service rows).
    Check,
}

impl Purpose {
    fn reaches_processor(self) -> bool {
        matches!(
            self,
            Purpose::Serve | Purpose::Maintenance { processor: true }
        )
    }
}

/// The rate limits, kept where `RATE_LIMITS` says. Only the web app reaches Redis: a command
/// counts nothing.
async fn rate_limits(
    config: &Config,
    stores: &quickscale_adapters::Stores,
    clock: &Arc<dyn quickscale_domain_kernel::Clock>,
    purpose: Purpose,
) -> anyhow::Result<RateLimits> {
    let (store, sharing): (Arc<dyn RateLimitStore>, Sharing) = match &config.rate_limits {
        RateLimitBackend::Database => (Arc::clone(&stores.rate_limits), Sharing::Database),
        RateLimitBackend::Redis(url) if purpose == Purpose::Serve => {
            let prefix = format!("{}rate:", config.redis_prefix);
            let store = RedisRateLimits::connect(url.expose(), &prefix)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot reach Redis for the rate limits ({e}). Check that the server is \
                         running and that REDIS_URL is right, or set RATE_LIMITS=process."
                    )
                })?;
            (Arc::new(store), Sharing::Redis)
        }
        RateLimitBackend::Process | RateLimitBackend::Redis(_) => {
            (Arc::new(MemoryRateLimits::default()), Sharing::Process)
        }
    };
    let (per_minute, burst) = config.api_rate;
    Ok(RateLimits::new(
        store,
        sharing,
        Arc::clone(clock),
        config.proxy_trust.clone(),
        Quota::per_minute(per_minute, burst),
    ))
}

/// The job queue where `QUEUE` says: in the app's database (the SQLite file, PostgreSQL, or for
/// in-memory stores a private in-memory SQLite queue), or in Redis (keys `<prefix>jobs:*`).
async fn open_queue(
    database: &crate::state::Database,
    config: &Config,
) -> anyhow::Result<crate::queue::Jobs> {
    use crate::queue::QUEUE;
    use crate::state::Database;
    use quickscale_adapters::jobs::{JobQueue, QueueSettings};
    let settings = config.jobs;
    let queue_settings = QueueSettings {
        poll_interval: settings.poll_interval,
        ..QueueSettings::default()
    };
    let queue = match (&config.queue, database) {
        (QueueBackend::Redis(url), _) => {
            let name = format!("{}jobs", config.redis_prefix);
            JobQueue::redis(url.expose(), &name, queue_settings)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "cannot reach Redis for the job queue ({e}). Check that the server is \
                         running and that REDIS_URL is right, or set QUEUE=database."
                    )
                })?
        }
        (QueueBackend::Database, Database::Memory) => {
            JobQueue::in_memory(QUEUE, queue_settings).await?
        }
        (QueueBackend::Database, Database::Sqlite(db)) => {
            JobQueue::sqlite(db, QUEUE, queue_settings)
        }
        (QueueBackend::Database, Database::Postgres(db)) => {
            JobQueue::postgres(db, QUEUE, queue_settings)
        }
    };
    Ok(crate::queue::Jobs::new(queue, settings))
}

/// One TLS crypto provider (ring) for every HTTP client; harmless if already installed.
pub(super) fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl App {
    /// Builds what `purpose` needs, and no more: a check changes nothing, and only commands
    /// that need the payment processor reach it.
    pub(super) async fn build_for(
        mut self,
        config: Config,
        purpose: Purpose,
    ) -> anyhow::Result<Built> {
        install_crypto_provider();
        self.register_llm_services(&config)?;
        if let Some(error) = self.registry_errors.first() {
            anyhow::bail!("a service could not be registered: {error}");
        }
        let (database, stores) = open_database(&config, purpose != Purpose::Check).await?;
        // Metrics only when asked for: otherwise nothing is recorded and the stores are bare.
        let metrics = config
            .metrics
            .as_ref()
            .map(|_| crate::observability::Metrics::install());
        let mut stores = crate::observability::observe_stores(stores, metrics.is_some());
        // Only the web app serves sessions; a command reads users straight from the store.
        let session_user_ttl = match purpose {
            Purpose::Serve => SESSION_USER_TTL,
            _ => std::time::Duration::ZERO,
        };
        let session_users = Arc::new(CachedUsers::new(
            Arc::clone(&stores.users),
            session_user_ttl,
        ));
        stores.users = session_users.clone();
        let clock = self.clock.unwrap_or_else(|| Arc::new(SystemClock));
        let hasher = self
            .hasher
            .unwrap_or_else(|| Arc::new(Argon2Hasher::recommended()));
        let transport: Arc<dyn Mailer> = match (self.mailer, &config.mail) {
            (Some(mailer), _) => mailer,
            (None, MailTransport::Dev) => Arc::new(LogMailer),
            (
                None,
                MailTransport::Smtp {
                    host,
                    port,
                    security,
                    username,
                    password,
                    timeout,
                },
            ) => {
                let settings = SmtpSettings {
                    host: host.clone(),
                    port: *port,
                    security: *security,
                    username: username.clone(),
                    password: password.as_ref().map(|p| p.expose().to_owned()),
                    from: config.mail_from.clone(),
                    timeout: *timeout,
                };
                Arc::new(SmtpMailer::new(&settings).context("configuring SMTP")?)
            }
        };
        let jobs = open_queue(&database, &config)
            .await
            .context("opening the job queue")?;
        let outbox_mailer = Arc::new(
            OutboxMailer::new(Arc::clone(&stores.outbox), transport, Arc::clone(&clock))
                .with_jobs(jobs.clone()),
        );
        let mailer: Arc<dyn Mailer> = outbox_mailer.clone();
        let accounts = Accounts::new(
            Arc::clone(&stores.users),
            hasher,
            Arc::clone(&clock),
            config.lockout,
            PasswordPolicy::default(),
        );
        // What users asked to be told about their runs, kept in process (the settings cache
        // below keeps it current); changes made here go through it.
        let choices = Arc::new(CachedChoices::new(
            Arc::clone(&stores.notifications),
            Arc::clone(&stores.cache_versions),
        ));
        stores.notifications = choices.clone();
        let run_events: Arc<dyn quickscale_service_sdk::notify::RunEvents> = Arc::new(
            crate::notifications::QueuedRunEvents::new(jobs.clone(), Arc::clone(&choices)),
        );
        let runner = ServiceRunner::new(
            Arc::new(self.registry),
            Arc::clone(&stores.credits),
            Arc::clone(&stores.usage),
            Arc::clone(&clock),
            Arc::new(TokioTimer),
        )
        .with_paid_runs(Arc::clone(&stores.paid_runs))
        .with_queue(Arc::new(jobs.clone()))
        .with_events(Arc::clone(&run_events));
        let slugs: Vec<String> = runner
            .registry()
            .iter()
            .map(|r| r.descriptor.slug.clone())
            .collect();
        // A check leaves the services' rows as they are (and reads none: it runs nothing).
        let service_settings = if purpose == Purpose::Check {
            None
        } else {
            Some(
                ServiceSettingsCache::load(
                    Arc::clone(&stores.service_settings),
                    Arc::clone(&stores.cache_versions),
                    choices,
                    Arc::clone(runner.settings()),
                    slugs,
                )
                .await
                .context("syncing service settings")?,
            )
        };
        let globals = Globals {
            app_name: &config.app_name,
            flags: config.flags,
        };
        let templates = Templates::load(
            Some(&config.project_dir.join("templates")),
            &globals,
            crate::assets::StaticFiles::new(config.project_dir.join("static")),
        )?;
        let billing = match (&config.stripe, self.gateway) {
            (None, _) => None,
            (Some(_), _) if !purpose.reaches_processor() => None,
            (Some(_), Some((gateway, secret))) => Some(BillingState {
                billing: Billing::new(
                    Arc::clone(&stores.billing),
                    gateway,
                    Arc::clone(&stores.credits),
                    Arc::clone(&clock),
                ),
                webhook_secrets: vec![secret],
                test_mode: true,
                offline: None,
                checkout_origins: Vec::new(),
            }),
            (Some(mode), None) if purpose == Purpose::Serve => {
                Some(crate::payments::connect(mode, &config, &stores, &clock).await?)
            }
            (Some(mode), None) => {
                Some(crate::payments::connect_for_command(mode, &config, &stores, &clock).await?)
            }
        };
        // Subscription events are handled even with the plans pages off, so that turning
        // ENABLE_SUBSCRIPTIONS off never drops a paid period of an existing subscriber.
        let billing = billing.map(|mut state| {
            state.billing = state
                .billing
                .with_subscriptions(Arc::clone(&stores.subscriptions));
            state
        });
        if let Some(billing) = billing.as_ref().filter(|_| purpose == Purpose::Serve) {
            billing
                .billing
                .ensure_default_pack()
                .await
                .context("seeding the default credit pack")?;
            if billing.offline.is_some() && config.flags.enable_subscriptions {
                // The stand-in sells a monthly plan; offer it without a trip to the admin.
                billing
                    .billing
                    .sync_plans()
                    .await
                    .context("syncing plans from the offline stand-in")?;
            }
        }
        let limits = rate_limits(&config, &stores, &clock, purpose).await?;
        let content_security_policy = crate::security::content_security_policy(
            billing
                .as_ref()
                .map_or(&[][..], |b| b.checkout_origins.as_slice()),
        )?;
        let webhooks = quickscale_adapters::webhooks::WebhookSender::new(
            config.webhooks.allow_private,
            crate::notifications::delivery::TIMEOUT,
        );
        let state = AppState(Arc::new(Inner {
            limits,
            content_security_policy,
            runs: tokio_util::task::TaskTracker::new(),
            config,
            database,
            stores,
            session_users,
            service_settings,
            accounts,
            runner,
            templates,
            mailer,
            outbox_mailer,
            started_at: time::OffsetDateTime::now_utc(),
            recent_errors: crate::observability::RecentErrors::default(),
            webhooks,
            run_events,
            jobs,
            clock,
            billing,
            metrics,
        }));
        let router = router(state.clone());
        Ok(Built { router, state })
    }
}
