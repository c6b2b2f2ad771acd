//! Composition root: the one place where adapters are chosen and the app is wired together.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use crate::mail::OutboxMailer;
use anyhow::Context as _;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::IntoResponse;
use clap::{Parser, Subcommand};
use quickscale_adapters::argon2::Argon2Hasher;
use quickscale_adapters::clock::{SystemClock, TokioTimer};
use quickscale_adapters::llm::OpenAiCompatibleChat;
use quickscale_adapters::mail::LogMailer;
use quickscale_adapters::smtp::{SmtpMailer, SmtpSettings};
use quickscale_domain_identity::{Accounts, Email, PasswordHasher, PasswordPolicy};
use quickscale_domain_kernel::{Clock, Mailer};
use quickscale_service_sdk::builtin::{ChatModel, LlmTextService};
use quickscale_service_sdk::{RegistryError, Service, ServiceRegistry, ServiceRunner};
use serde::Serialize;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::config::{Config, DatabaseUrl, Flags, LogFormat, MailTransport};
use crate::error::AppError;
use crate::onboarding::{AdminSeed, ensure_admin};
use crate::state::{AppState, BillingState, Database, Inner};
use crate::templates::Templates;
use quickscale_domain_billing::{Billing, PaymentGateway};

/// A QuickScale app: its name, its services, and (for tests) replaced ports.
///
/// ```no_run
/// fn main() -> std::process::ExitCode {
///     quickscale_app_web::App::new("my-saas-app").run()
/// }
/// ```
pub struct App {
    name: String,
    registry: ServiceRegistry,
    registry_errors: Vec<RegistryError>,
    hasher: Option<Arc<dyn PasswordHasher>>,
    mailer: Option<Arc<dyn Mailer>>,
    clock: Option<Arc<dyn Clock>>,
    gateway: Option<(Arc<dyn PaymentGateway>, String)>,
    llm_services: Vec<LlmRegistration>,
}

/// Registers services that need the configured language model (see [`App::llm_services`]).
type LlmRegistration =
    Box<dyn FnOnce(&mut ServiceRegistry, Arc<dyn ChatModel>) -> Result<(), RegistryError> + Send>;

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("name", &self.name)
            .field("services", &self.registry.len())
            .finish()
    }
}

/// A built app: the router to serve and the state behind it.
#[derive(Debug)]
pub struct Built {
    pub router: Router,
    pub state: AppState,
}

#[derive(Serialize)]
struct Globals<'a> {
    app_name: &'a str,
    flags: Flags,
}

impl App {
    /// An app with the built-in services registered.
    pub fn new(name: &str) -> Self {
        let mut registry = ServiceRegistry::new();
        let registry_errors = quickscale_service_sdk::builtin::register_builtins(&mut registry)
            .err()
            .into_iter()
            .collect();
        App {
            name: name.to_owned(),
            registry,
            registry_errors,
            hasher: None,
            mailer: None,
            clock: None,
            gateway: None,
            llm_services: Vec::new(),
        }
    }

    /// Registers the project's services (errors are reported when the app starts).
    pub fn services(
        mut self,
        register: impl FnOnce(&mut ServiceRegistry) -> Result<(), RegistryError>,
    ) -> Self {
        if let Err(error) = register(&mut self.registry) {
            self.registry_errors.push(error);
        }
        self
    }

    /// Registers the project's services that call the language model. They are offered only when
    /// a model is configured (`LLM_BASE_URL`), and receive the same client the built-in LLM service
    /// uses; without one they are not registered, so their pages do not exist.
    pub fn llm_services(
        mut self,
        register: impl FnOnce(&mut ServiceRegistry, Arc<dyn ChatModel>) -> Result<(), RegistryError>
        + Send
        + 'static,
    ) -> Self {
        self.llm_services.push(Box::new(register));
        self
    }

    /// Registers one service.
    pub fn service(mut self, service: impl Service + 'static) -> Self {
        if let Err(error) = self.registry.register(service) {
            self.registry_errors.push(error);
        }
        self
    }

    pub fn with_hasher(mut self, hasher: Arc<dyn PasswordHasher>) -> Self {
        self.hasher = Some(hasher);
        self
    }

    pub fn with_mailer(mut self, mailer: Arc<dyn Mailer>) -> Self {
        self.mailer = Some(mailer);
        self
    }

    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// Replaces the payment gateway (tests), with the webhook secret its events are signed with.
    pub fn with_gateway(mut self, gateway: Arc<dyn PaymentGateway>, webhook_secret: &str) -> Self {
        self.gateway = Some((gateway, webhook_secret.to_owned()));
        self
    }

    pub fn registry(&self) -> &ServiceRegistry {
        &self.registry
    }

    /// Connects the database, applies migrations, and wires the state and the router.
    pub async fn build(self, config: Config) -> anyhow::Result<Built> {
        self.build_for(config, Purpose::Serve).await
    }

    /// Builds what `purpose` needs, and no more: a check changes nothing, and only commands
    /// that need the payment processor reach it.
    async fn build_for(mut self, config: Config, purpose: Purpose) -> anyhow::Result<Built> {
        install_crypto_provider();
        self.register_llm_services(&config)?;
        if let Some(error) = self.registry_errors.first() {
            anyhow::bail!("a service could not be registered: {error}");
        }
        let (database, stores) = open_database(&config, purpose != Purpose::Check).await?;
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
        let outbox_mailer = Arc::new(OutboxMailer::new(
            Arc::clone(&stores.outbox),
            transport,
            Arc::clone(&clock),
        ));
        let mailer: Arc<dyn Mailer> = outbox_mailer.clone();
        let accounts = Accounts::new(
            Arc::clone(&stores.users),
            hasher,
            Arc::clone(&clock),
            config.lockout,
            PasswordPolicy::default(),
        );
        let runner = ServiceRunner::new(
            Arc::new(self.registry),
            Arc::clone(&stores.credits),
            Arc::clone(&stores.usage),
            Arc::clone(&clock),
            Arc::new(TokioTimer),
        );
        let slugs: Vec<String> = runner
            .registry()
            .iter()
            .map(|r| r.descriptor.slug.clone())
            .collect();
        // A check leaves the services' rows as they are (and reads none: it runs nothing).
        if purpose != Purpose::Check {
            let settings = stores
                .service_settings
                .sync(&slugs)
                .await
                .context("syncing service settings")?;
            runner.settings().replace(settings);
        }
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
                Some(crate::billing::connect(mode, &config, &stores, &clock).await?)
            }
            (Some(mode), None) => {
                Some(crate::billing::connect_for_command(mode, &config, &stores, &clock).await?)
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
        let limits = crate::limits::RateLimits::new(config.proxy_trust.clone());
        let content_security_policy = crate::security::content_security_policy(
            billing
                .as_ref()
                .map_or(&[][..], |b| b.checkout_origins.as_slice()),
        )?;
        let state = AppState(Arc::new(Inner {
            limits,
            content_security_policy,
            runs: tokio_util::task::TaskTracker::new(),
            config,
            database,
            stores,
            accounts,
            runner,
            templates,
            mailer,
            outbox_mailer,
            clock,
            billing,
        }));
        let router = router(state.clone());
        Ok(Built { router, state })
    }

    /// The app's command line: `serve` (the default), `migrate`, `create-admin`, `check`,
    /// `services`. Reads configuration from the current directory.
    pub fn run(self) -> ExitCode {
        let cli = Cli::parse();
        let project_dir = std::env::var_os("QUICKSCALE_PROJECT_DIR")
            .map_or_else(|| PathBuf::from("."), PathBuf::from);
        let project_dir = std::fs::canonicalize(&project_dir).unwrap_or(project_dir);
        let config = match Config::load(&project_dir, &self.name) {
            Ok(config) => config,
            Err(error) => {
                eprintln!("error: {error}");
                eprintln!("Fix it in .env, quickscale.toml or the environment, then try again.");
                return ExitCode::from(2);
            }
        };
        init_tracing(config.log_format);
        let runtime = match tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
        {
            Ok(runtime) => runtime,
            Err(error) => {
                eprintln!("error: cannot start the async runtime: {error}");
                return ExitCode::FAILURE;
            }
        };
        let result = runtime.block_on(self.execute(config, cli));
        match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("error: {error:#}");
                ExitCode::FAILURE
            }
        }
    }

    /// Runs one of the app's commands, as `run` does from the command line: `args` are what
    /// follows the program's name (`["verify-ledger"]`, `["billing", "reconcile"]`).
    pub async fn run_command<I, T>(self, config: Config, args: I) -> anyhow::Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<std::ffi::OsString> + Clone,
    {
        let cli = Cli::try_parse_from(
            std::iter::once(std::ffi::OsString::from(self.name.clone()))
                .chain(args.into_iter().map(Into::into)),
        )?;
        self.execute(config, cli).await
    }

    async fn execute(self, config: Config, cli: Cli) -> anyhow::Result<()> {
        {
            match cli.command.unwrap_or(Command::Serve {
                host: None,
                port: None,
            }) {
                Command::Serve { host, port } => self.serve(config, host, port).await,
                Command::Migrate => migrate(&config).await,
                Command::CreateAdmin {
                    email,
                    password_env,
                } => {
                    self.create_admin(config, &email, password_env.as_deref())
                        .await
                }
                Command::Check => check(&config).await,
                Command::Services { check } => self.list_services(&config, check),
                Command::VerifyLedger => verify_ledger(self, config).await,
                Command::Billing {
                    action: BillingAction::Reconcile { limit },
                } => reconcile(self, config, limit).await,
            }
        }
    }

    /// Builds, seeds the admin, and serves until Ctrl-C or SIGTERM.
    pub async fn serve(
        self,
        mut config: Config,
        host: Option<std::net::IpAddr>,
        port: Option<u16>,
    ) -> anyhow::Result<()> {
        let default_base = format!("http://{}:{}", config.host, config.port);
        if let Some(host) = host {
            config.host = host;
        }
        if let Some(port) = port {
            config.port = port;
        }
        // Links in pages and emails follow the address actually served, unless BASE_URL is set.
        if config.base_url == default_base {
            config.base_url = format!("http://{}:{}", config.host, config.port);
        }
        let address = SocketAddr::new(config.host, config.port);
        let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
            anyhow::anyhow!(
                "cannot listen on {address}: {e}. Is another app using port {}? Stop it, or choose another port with --port.",
                address.port()
            )
        })?;
        let built = self.build(config).await?;
        let state = built.state.clone();
        let seed = ensure_admin(&state)
            .await
            .map_err(|e| anyhow::anyhow!("seeding the admin failed: {e}"))?;
        print_banner(&state, &seed);
        spawn_housekeeping(state.clone());
        crate::mail::spawn_worker(state.0.outbox_mailer.clone());
        if state.billing_enabled() {
            crate::billing::spawn_worker(state.clone());
        }
        serve_router(listener, built.router, shutdown_signal()).await?;
        finish_runs(&state).await;
        state.database().close().await;
        tracing::info!("stopped");
        Ok(())
    }

    async fn create_admin(
        self,
        config: Config,
        email: &str,
        password_env: Option<&str>,
    ) -> anyhow::Result<()> {
        let email = Email::parse(email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
        let (password, generated) = match password_env {
            Some(var) => (
                std::env::var(var).with_context(|| format!("the variable {var} is not set"))?,
                false,
            ),
            None => (crate::onboarding::generate_password(), true),
        };
        if password.chars().count() < 8 {
            anyhow::bail!("the password must be at least 8 characters");
        }
        let built = self
            .build_for(config, Purpose::Maintenance { processor: false })
            .await?;
        let user = crate::onboarding::create_admin(&built.state, &email, &password)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        crate::onboarding::complete_onboarding(&built.state, &user)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("Admin account created: {email}");
        if generated {
            println!("Password (shown once): {password}");
        }
        Ok(())
    }

    /// Registers the built-in LLM service and the project's [`App::llm_services`] when a model is
    /// configured.
    fn register_llm_services(&mut self, config: &Config) -> anyhow::Result<()> {
        let Some(llm) = &config.llm else {
            return Ok(());
        };
        install_crypto_provider();
        let model: Arc<dyn ChatModel> = Arc::new(
            OpenAiCompatibleChat::new(&llm.base_url, &llm.model, llm.api_key.expose(), llm.timeout)
                .context("creating the language model client")?,
        );
        let mut results = vec![
            self.registry
                .register(LlmTextService::new(model.clone(), llm.timeout))
                .map(|_| ()),
        ];
        for register in std::mem::take(&mut self.llm_services) {
            results.push(register(&mut self.registry, model.clone()));
        }
        self.registry_errors
            .extend(results.into_iter().filter_map(Result::err));
        Ok(())
    }

    fn list_services(mut self, config: &Config, check: bool) -> anyhow::Result<()> {
        self.register_llm_services(config)?;
        if let Some(error) = self.registry_errors.first() {
            anyhow::bail!("{error}");
        }
        for registered in self.registry.iter() {
            let d = &registered.descriptor;
            let cost = if d.is_free() {
                "free".to_owned()
            } else {
                crate::view::credits_label(d.cost)
            };
            println!(
                "{:<32} {:<14} {:<6} {:<12} {}",
                d.slug,
                cost,
                d.input.as_str(),
                d.category,
                d.name
            );
        }
        if check {
            println!(
                "{} services registered; every descriptor is valid.",
                self.registry.len()
            );
        }
        Ok(())
    }
}

/// Serves `router` on `listener` until `shutdown` completes, telling each request its client's
/// address: per-client rate limits and the local-only development pages depend on it.
pub async fn serve_router(
    listener: tokio::net::TcpListener,
    router: Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Waits for the service runs still going (their visitors may have left) to finish and record
/// their result, so no run stays charged and unfinished; gives up after the longest service
/// timeout plus a margin.
async fn finish_runs(state: &AppState) {
    let runs = state.runs();
    runs.close();
    if runs.is_empty() {
        return;
    }
    tracing::info!(runs = runs.len(), "waiting for service runs to finish");
    if tokio::time::timeout(longest_timeout(state) + Duration::from_secs(5), runs.wait())
        .await
        .is_err()
    {
        tracing::warn!(runs = runs.len(), "stopped with service runs still going");
    }
}

/// The longest time a registered service may run.
fn longest_timeout(state: &AppState) -> Duration {
    state
        .registry()
        .iter()
        .map(|r| r.descriptor.timeout)
        .max()
        .unwrap_or_default()
}

/// Ends and refunds the runs a previous process stopped in the middle of (a crash): those still
/// running five minutes past the longest timeout, which no live process can still be running.
async fn recover_interrupted_runs(state: &AppState) {
    let cutoff = state.clock().now() - longest_timeout(state) - Duration::from_secs(300);
    match state.runner().recover_interrupted(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(runs = n, "interrupted service runs ended and refunded"),
        Err(error) => tracing::warn!(%error, "ending interrupted service runs failed"),
    }
}

/// One TLS crypto provider (ring) for every HTTP client; harmless if already installed.
fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// What a command builds of the app.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Purpose {
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

#[derive(Parser)]
#[command(about = "A QuickScale app. Without a command it serves the web app.")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web app (the default).
    Serve {
        #[arg(long)]
        host: Option<std::net::IpAddr>,
        #[arg(long)]
        port: Option<u16>,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Create an admin account.
    CreateAdmin {
        #[arg(long)]
        email: String,
        /// Read the password from this environment variable (generated and printed otherwise).
        #[arg(long)]
        password_env: Option<String>,
    },
    /// Check the configuration and the database.
    Check,
    /// Check every account's ledger invariants and match every service run with its debit.
    VerifyLedger,
    /// Billing administration.
    Billing {
        #[command(subcommand)]
        action: BillingAction,
    },
    /// List the registered services.
    Services {
        /// Also validate every descriptor.
        #[arg(long)]
        check: bool,
    },
}

#[derive(Subcommand)]
enum BillingAction {
    /// Fetch recent events from the payment processor and process any the inbox missed.
    Reconcile {
        /// How many recent events to fetch (at most 100).
        #[arg(long, default_value_t = 100)]
        limit: u32,
    },
}

/// Verifies every account's ledger and matches every service run with its debits (see
/// [`crate::verify`]); prints each problem by account, run and entry. Reads only: the database is
/// neither created, migrated nor seeded. Exits non-zero when anything is off.
async fn verify_ledger(_app: App, config: Config) -> anyhow::Result<()> {
    let (database, stores) = open_database(&config, false).await?;
    let report = crate::verify::verify_ledger(&stores, |finding| println!("{finding}")).await;
    database.close().await;
    let report = report?;
    println!("{}", report.summary());
    if !report.is_clean() {
        anyhow::bail!(
            "the ledger does not balance: {} problems (listed above)",
            report.findings.len()
        );
    }
    println!(
        "the ledger balances: every successful paid run is charged by exactly one debit of its \
         cost, every refunded run's debit is reversed by what it records, every debit belongs \
         to exactly one run, and every invariant holds"
    );
    Ok(())
}

async fn reconcile(app: App, config: Config, limit: u32) -> anyhow::Result<()> {
    if config.stripe.is_none() {
        anyhow::bail!("billing is off: set ENABLE_STRIPE=true");
    }
    let built = app
        .build_for(config, Purpose::Maintenance { processor: true })
        .await?;
    let billing = built.state.billing().map_err(|e| anyhow::anyhow!("{e}"))?;
    let report = billing
        .billing
        .reconcile(limit)
        .await
        .map_err(|e| anyhow::anyhow!("reconciliation failed: {e}"))?;
    println!(
        "Fetched {} events: {} were missing from the inbox; {} processed, {} failed (kept for retry).",
        report.fetched, report.missing, report.processed, report.failed
    );
    built.state.database().close().await;
    Ok(())
}

/// Opens the configured database; with `migrate`, creating it and applying the migrations,
/// without, only an existing, migrated database (a check changes nothing).
async fn open_database(
    config: &Config,
    migrate: bool,
) -> anyhow::Result<(Database, quickscale_adapters::Stores)> {
    match &config.database {
        DatabaseUrl::Memory => Ok((Database::Memory, quickscale_adapters::memory::stores())),
        DatabaseUrl::Sqlite(url) => {
            let path = url.trim_start_matches("sqlite://");
            let path = Path::new(path.split_once('?').map_or(path, |(path, _)| path));
            if !migrate && !path.is_file() {
                anyhow::bail!(
                    "there is no database at {} yet: run `migrate` (or start the app) first",
                    path.display()
                );
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            let db = quickscale_adapters::sqlite::Database::open(url)
                .await
                .with_context(|| format!("cannot open the SQLite database {url}"))?;
            if migrate {
                db.migrate()
                    .await
                    .context("migrating the SQLite database")?;
            } else {
                up_to_date(db.pending_migrations().await)?;
            }
            let stores = db.stores();
            Ok((Database::Sqlite(db), stores))
        }
        DatabaseUrl::Postgres(url) => {
            let db = quickscale_adapters::postgres::Database::connect(url.expose(), config.database_max_connections)
                .await
                .map_err(|e| anyhow::anyhow!(
                    "cannot connect to PostgreSQL ({e}). Check that the server is running and that DATABASE_URL is right."
                ))?;
            if migrate {
                db.migrate()
                    .await
                    .context("migrating the PostgreSQL database")?;
            } else {
                up_to_date(db.pending_migrations().await)?;
            }
            let stores = db.stores();
            Ok((Database::Postgres(db), stores))
        }
    }
}

/// Refuses a database with migrations still to apply: a check does not apply them.
fn up_to_date(
    pending: Result<Vec<i64>, quickscale_domain_kernel::StorageError>,
) -> anyhow::Result<()> {
    let pending =
        pending.map_err(|e| anyhow::anyhow!("cannot read the applied migrations: {e}"))?;
    if !pending.is_empty() {
        anyhow::bail!(
            "the database has {} migration(s) to apply: run `migrate` (or start the app) first",
            pending.len()
        );
    }
    Ok(())
}

async fn migrate(config: &Config) -> anyhow::Result<()> {
    let (database, _) = open_database(config, true).await?;
    println!("Migrations applied ({}).", config.database.kind());
    database.close().await;
    Ok(())
}

async fn check(config: &Config) -> anyhow::Result<()> {
    println!("✓ configuration is valid");
    let (database, _) = open_database(config, false).await?;
    database
        .ping()
        .await
        .map_err(|e| anyhow::anyhow!("✗ the database does not answer: {e}"))?;
    println!(
        "✓ {} database reachable and migrated",
        config.database.kind()
    );
    database.close().await;
    let address = SocketAddr::new(config.host, config.port);
    match std::net::TcpListener::bind(address) {
        Ok(_) => println!("✓ port {} is free", config.port),
        Err(_) => anyhow::bail!(
            "✗ port {} is in use: stop what uses it or set PORT",
            config.port
        ),
    }
    Ok(())
}

/// The middleware stack around the routes, outermost last.
/// The largest request body the app reads (uploads included).
pub(crate) const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

fn router(state: AppState) -> Router {
    let session_layer = SessionManagerLayer::new(state.stores().sessions.clone())
        .with_name("qs_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config().secure_cookies)
        .with_expiry(Expiry::OnInactivity(state.config().session_inactivity));
    crate::routes::router(&state)
        .layer(CatchPanicLayer::custom(|_| AppError::Internal(anyhow::anyhow!("a handler panicked")).into_response()))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(from_fn(crate::security::csrf))
        .layer(from_fn_with_state(state.clone(), crate::error::error_pages))
        .layer(session_layer)
        .layer(from_fn_with_state(state.clone(), crate::security::headers))
        .layer(
            TraceLayer::new_for_http().make_span_with(|request: &Request<_>| {
                let id = request.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
                tracing::info_span!("request", id = %id, method = %request.method(), path = %request.uri().path())
            }),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

fn init_tracing(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info,tower_sessions=warn"));
    use std::io::IsTerminal;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stdout().is_terminal());
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

fn print_banner(state: &AppState, seed: &AdminSeed) {
    let config = state.config();
    println!();
    println!("  {} is running", config.app_name);
    println!("  → {}", config.base_url);
    println!(
        "  database: {}   services: {}",
        config.database.kind(),
        state.registry().len()
    );
    match seed {
        AdminSeed::Created {
            email,
            generated_password: Some(password),
        } => {
            println!(
                "  admin: {email}   password: {password}   (shown once; set ADMIN_PASSWORD to choose it)"
            );
        }
        AdminSeed::Created {
            email,
            generated_password: None,
        } => {
            println!("  admin: {email} (password from ADMIN_PASSWORD)");
        }
        AdminSeed::Existing(email) => println!("  admin: {email}"),
    }
    println!("  Press Ctrl-C to stop.");
    println!();
}

/// Deletes expired sessions every hour.
fn spawn_housekeeping(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tick.tick().await;
            state.limits().forget_idle();
            recover_interrupted_runs(&state).await;
            let now = state.clock().now();
            match state.stores().sessions.admin().delete_expired(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired sessions removed"),
                Err(error) => tracing::warn!(%error, "removing expired sessions failed"),
            }
            if let Err(error) = state.accounts().forget_spent_sign_in_failures().await {
                tracing::warn!(%error, "forgetting old failed sign-ins failed");
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
