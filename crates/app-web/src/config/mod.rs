//! Configuration: one typed struct, from environment variables, an optional `.env` and an
//! optional `quickscale.toml`, validated at start with errors that name the bad key.
//!
//! Precedence: process environment > `.env` > `quickscale.toml` > defaults. Every key, with
//! its type, allowed values, default and meaning, is a row of [`SETTINGS`]; the parser reads
//! values through it and docs/configuration.md lists it.

mod production;
mod sections;
mod settings;
mod sources;

use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use quickscale_domain_credits::Credits;
use quickscale_domain_identity::{Email, LockoutPolicy};
use time::Duration;

pub use production::{Environment, ProductionProblem, is_development_secret};
pub use sections::{
    DatabaseUrl, Flags, LlmConfig, LogFormat, MailTransport, ProxyTrust, QueueBackend,
    RateLimitBackend, SmtpSecurity, StripeMode,
};
pub use settings::{
    DOC_END, DOC_START, Fallback, Kind, Range, SETTINGS, Section, Setting, Unit, setting,
    settings_markdown, with_generated_settings,
};
use sources::Sources;

/// A configuration problem, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key {key} ({origin}): {message}")]
pub struct ConfigError {
    pub key: String,
    pub origin: String,
    pub message: String,
}

/// Who runs the job queue's jobs, and how (`WORKERS`, `WORKER_CONCURRENCY`, `JOBS_POLL_MS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct JobSettings {
    /// Whether `serve` runs workers beside the web app.
    pub workers: bool,
    /// Jobs one process runs at a time.
    pub concurrency: usize,
    /// How long an idle worker waits before looking again.
    pub poll_interval: std::time::Duration,
}

/// A secret value: never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// The validated configuration.
#[derive(Clone, Debug)]
pub struct Config {
    pub app_name: String,
    /// Where `templates/` and `static/` overrides and the SQLite file live.
    pub project_dir: PathBuf,
    pub host: IpAddr,
    pub port: u16,
    pub base_url: String,
    pub database: DatabaseUrl,
    pub database_max_connections: u32,
    /// Who runs jobs, and how.
    pub jobs: JobSettings,
    /// Where the job queue is kept (`QUEUE`, `REDIS_URL`).
    pub queue: QueueBackend,
    /// What the app's keys in Redis start with (`REDIS_PREFIX`).
    pub redis_prefix: String,
    pub secret_key: Secret,
    pub admin_email: Email,
    pub admin_password: Option<Secret>,
    pub contact_email: Email,
    pub welcome_credits: Credits,
    pub session_inactivity: Duration,
    pub lockout: LockoutPolicy,
    pub log_format: LogFormat,
    pub flags: Flags,
    /// Cookies get `Secure` when the base URL is https.
    pub secure_cookies: bool,
    pub llm: Option<LlmConfig>,
    /// Set when `ENABLE_STRIPE` is on.
    pub stripe: Option<StripeMode>,
    pub mail: MailTransport,
    pub mail_from: String,
    /// `REGISTRATION_REVEALS_EXISTING_EMAILS`: see [`Config::registration_hides_existing_emails`].
    pub registration_reveals_existing_emails: bool,
    pub verification_ttl: Duration,
    pub reset_ttl: Duration,
    /// Which proxies may say who the client is (`TRUST_PROXY`, `TRUSTED_PROXIES`).
    pub proxy_trust: ProxyTrust,
    /// Where the rate limits' budgets are kept (`RATE_LIMITS`, `REDIS_URL`).
    pub rate_limits: RateLimitBackend,
    /// The JSON API's budget per key: requests a minute, and at once (`API_RATE_PER_MINUTE`,
    /// `API_RATE_BURST`).
    pub api_rate: (u32, u32),
    /// The most credits a user's API keys may spend together in a calendar month (UTC), for
    /// users whose plan does not say (`API_MONTHLY_CREDITS`); `None`: no bound.
    pub api_monthly_credits: Option<Credits>,
    /// Where Prometheus metrics are served, if anywhere (`METRICS_PORT`, `METRICS_TOKEN`).
    pub metrics: Option<MetricsConfig>,
    /// `APP_ENV`: production refuses unsafe settings ([`Config::production_problems`]).
    pub environment: Environment,
    /// Whether `TRUST_PROXY` was set at all (either way): behind a proxy, production wants
    /// the decision made.
    pub trust_proxy_decided: bool,
    /// Users' webhooks (`ALLOW_PRIVATE_WEBHOOKS`, `WEBHOOK_RETRY_SECONDS`).
    pub webhooks: WebhookSettings,
    /// Where traces are sent, if anywhere (`OTEL_EXPORTER_OTLP_ENDPOINT`, `OTEL_SERVICE_NAME`,
    /// `OTEL_TRUST_INCOMING_TRACEPARENT`).
    pub traces: Option<TracesConfig>,
    /// Where panics and 5xx answers are reported, if anywhere (`SENTRY_DSN`).
    pub sentry_dsn: Option<Secret>,
}

/// How users' webhooks are sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Whether they may reach loopback, private and link-local addresses.
    pub allow_private: bool,
    /// The wait before the second attempt (each later one four times longer).
    pub first_retry: std::time::Duration,
}

/// Traces over OTLP/HTTP: where to, and under which service name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TracesConfig {
    /// The collector's traces URL (`OTEL_EXPORTER_OTLP_ENDPOINT` + `/v1/traces`).
    pub endpoint: String,
    /// `service.name` (`OTEL_SERVICE_NAME`).
    pub service_name: String,
    /// Whether a request's W3C `traceparent` header is honoured, its span continuing the
    /// caller's trace (`OTEL_TRUST_INCOMING_TRACEPARENT`; off: any client could otherwise pick
    /// the trace its requests join and whether they are sampled).
    pub trust_incoming: bool,
}

/// Where `/metrics` is served: never public by accident, so only with a port of its own or a
/// token (or both).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsConfig {
    /// A port of its own on `HOST` (`METRICS_PORT`); `None` serves on the app's port.
    pub port: Option<u16>,
    /// The bearer token a scrape must present (`METRICS_TOKEN`).
    pub token: Option<Secret>,
}

impl Config {
    /// Loads the configuration of the project in `project_dir` (its `.env` and
    /// `quickscale.toml`) and the process environment.
    pub fn load(project_dir: &Path, app_name: &str) -> Result<Self, ConfigError> {
        let mut sources = Sources::default();
        let toml_path = project_dir.join("quickscale.toml");
        if toml_path.exists() {
            sources::read_toml(&toml_path, &mut sources)?;
        }
        let env_path = project_dir.join(".env");
        if env_path.exists() {
            sources::read_dotenv(&env_path, &mut sources)?;
        }
        sources::read_environment(&mut sources);
        Self::from_sources(project_dir, app_name, &sources)
    }

    /// A configuration from explicit values (tests and embedding), over the defaults.
    pub fn from_pairs(
        project_dir: &Path,
        app_name: &str,
        pairs: &[(&str, &str)],
    ) -> Result<Self, ConfigError> {
        let mut sources = Sources::default();
        for (key, value) in pairs {
            sources.set(key, (*value).to_owned(), "given");
        }
        Self::from_sources(project_dir, app_name, &sources)
    }

    fn from_sources(project_dir: &Path, app_name: &str, s: &Sources) -> Result<Self, ConfigError> {
        let host: IpAddr = s.parsed("HOST", "an IP address")?;
        let port: u16 = s.integer("PORT")?;
        let base_url = s.text_or("BASE_URL", &format!("http://{host}:{port}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(s.error("BASE_URL", "must start with http:// or https://"));
        }
        let database = sections::database(s, project_dir)?;
        let redis = sections::redis_url(s)?;
        let rate_limits = sections::rate_limits(s, &database, redis.as_ref())?;
        let queue = sections::queue(s, redis.as_ref())?;
        let redis_prefix = sections::redis_prefix(s)?;
        let secret_key = match s.get("SECRET_KEY") {
            Some((key, _)) if key.len() >= 32 => Secret::new(key),
            Some(_) => return Err(s.error("SECRET_KEY", "must be at least 32 characters")),
            None => {
                return Err(s.error(
                    "SECRET_KEY",
                    "is not set; `quickscale init` writes one to .env",
                ));
            }
        };
        let email = |key: &str, derived: &str| -> Result<Email, ConfigError> {
            let value = s.text_or(key, derived);
            Email::parse(&value).map_err(|e| s.error(key, format!("{e} ({value:?})")))
        };
        let admin_email = email("ADMIN_EMAIL", "")?;
        let contact_email = email("CONTACT_EMAIL", admin_email.as_str())?;
        let admin_password = match s.get("ADMIN_PASSWORD") {
            Some((p, _)) if p.chars().count() < 8 => {
                return Err(s.error("ADMIN_PASSWORD", "must be at least 8 characters"));
            }
            Some((p, _)) => Some(Secret::new(p)),
            None => None,
        };
        let welcome_credits = Credits::parse(&s.text_or("WELCOME_CREDITS", ""))
            .map_err(|e| s.error("WELCOME_CREDITS", e.to_string()))?;
        let api_monthly_credits = s
            .get("API_MONTHLY_CREDITS")
            .map(|(value, _)| Credits::parse(value))
            .transpose()
            .map_err(|e| s.error("API_MONTHLY_CREDITS", e.to_string()))?;
        let session_days: i64 = s.integer("SESSION_DAYS")?;
        let lockout = sections::lockout_policy(s)?;
        let log_format: LogFormat = s.choice("LOG_FORMAT")?;
        let flags = sections::flags(s)?;
        let llm = sections::llm(s)?;
        let stripe = sections::stripe(s, &flags)?;
        let mail = sections::mail(s)?;
        let app_label = s.text_or("APP_NAME", app_name);
        let mail_from = s.text_or(
            "MAIL_FROM",
            &format!(
                "{} <no-reply@localhost>",
                app_label.replace(['<', '>', '"'], "")
            ),
        );
        let metrics = metrics(s, port)?;
        let hours: i64 = s.integer("VERIFICATION_TOKEN_HOURS")?;
        let minutes: i64 = s.integer("RESET_TOKEN_MINUTES")?;
        Ok(Config {
            mail,
            mail_from,
            verification_ttl: Duration::hours(hours),
            reset_ttl: Duration::minutes(minutes),
            proxy_trust: sections::proxy_trust(s)?,
            rate_limits,
            api_rate: (
                s.integer("API_RATE_PER_MINUTE")?,
                s.integer("API_RATE_BURST")?,
            ),
            api_monthly_credits,
            metrics,
            webhooks: WebhookSettings {
                allow_private: s.flag("ALLOW_PRIVATE_WEBHOOKS")?,
                first_retry: std::time::Duration::from_secs(s.integer("WEBHOOK_RETRY_SECONDS")?),
            },
            environment: s.choice("APP_ENV")?,
            trust_proxy_decided: s.get("TRUST_PROXY").is_some(),
            traces: traces(s)?,
            sentry_dsn: sentry_dsn(s)?,
            registration_reveals_existing_emails: s.flag("REGISTRATION_REVEALS_EXISTING_EMAILS")?,
            stripe,
            llm,
            app_name: app_label,
            project_dir: project_dir.to_path_buf(),
            host,
            port,
            secure_cookies: base_url.starts_with("https://"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            database,
            database_max_connections: s.integer("DATABASE_MAX_CONNECTIONS")?,
            jobs: JobSettings {
                workers: s.flag("WORKERS")?,
                concurrency: s.integer("WORKER_CONCURRENCY")?,
                poll_interval: std::time::Duration::from_millis(s.integer("JOBS_POLL_MS")?),
            },
            queue,
            redis_prefix,
            secret_key,
            admin_email,
            admin_password,
            contact_email,
            welcome_credits,
            session_inactivity: Duration::days(session_days),
            lockout,
            log_format,
            flags,
        })
    }
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` (a base URL, as OpenTelemetry's own variable is),
/// `OTEL_SERVICE_NAME` and `OTEL_TRUST_INCOMING_TRACEPARENT`: no endpoint means no traces.
fn traces(s: &Sources) -> Result<Option<TracesConfig>, ConfigError> {
    const KEY: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
    let Some((url, _)) = s.get(KEY) else {
        return Ok(None);
    };
    let url = url.trim();
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err(s.error(KEY, "must start with http:// or https://"));
    }
    Ok(Some(TracesConfig {
        endpoint: format!("{}/v1/traces", url.trim_end_matches('/')),
        service_name: s.text_or("OTEL_SERVICE_NAME", "quickscale"),
        trust_incoming: s.flag("OTEL_TRUST_INCOMING_TRACEPARENT")?,
    }))
}

/// `SENTRY_DSN`, checked now so that a typo stops the start instead of silencing reports.
fn sentry_dsn(s: &Sources) -> Result<Option<Secret>, ConfigError> {
    const KEY: &str = "SENTRY_DSN";
    match s.get(KEY) {
        None => Ok(None),
        Some((dsn, _)) => match dsn.trim().parse::<sentry::types::Dsn>() {
            Ok(_) => Ok(Some(Secret::new(dsn.trim()))),
            Err(error) => Err(s.error(KEY, format!("is not a Sentry DSN ({error})"))),
        },
    }
}

/// `METRICS_PORT` and `METRICS_TOKEN`: neither set means no metrics.
fn metrics(s: &Sources, app_port: u16) -> Result<Option<MetricsConfig>, ConfigError> {
    let port: Option<u16> = match s.value("METRICS_PORT") {
        Some(_) => Some(s.integer("METRICS_PORT")?),
        None => None,
    };
    if port == Some(app_port) {
        return Err(s.error(
            "METRICS_PORT",
            "must differ from PORT (set METRICS_TOKEN instead to serve metrics on the app's port)",
        ));
    }
    let token = match s.get("METRICS_TOKEN") {
        Some((token, _)) if token.chars().count() < 16 => {
            return Err(s.error("METRICS_TOKEN", "must be at least 16 characters"));
        }
        Some((token, _)) => Some(Secret::new(token)),
        None => None,
    };
    Ok((port.is_some() || token.is_some()).then_some(MetricsConfig { port, token }))
}

impl Config {
    /// True when registration answers the same for an email that has an account and one that
    /// has not (the default when `REQUIRE_EMAIL_VERIFICATION` is on): new accounts are not
    /// signed in at registration and cannot sign in before confirming their address. With
    /// optional verification a new account is signed in at once, which a taken email cannot
    /// be, so registration necessarily tells them apart.
    pub fn registration_hides_existing_emails(&self) -> bool {
        self.flags.require_email_verification && !self.registration_reveals_existing_emails
    }
}

#[cfg(test)]
mod tests;
