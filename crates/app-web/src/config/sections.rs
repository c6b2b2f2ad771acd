//! The typed parts of the configuration (database, mail, billing, the language model, lockout,
//! proxies, flags), each read from its settings with errors under the key that is wrong.

use std::fmt;
use std::net::IpAddr;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use ipnet::IpNet;
pub use quickscale_adapters::smtp::SmtpSecurity;
use quickscale_domain_identity::{LockoutPolicy, LockoutPolicyError};
use serde::Serialize;
use time::Duration;

use super::sources::Sources;
use super::{ConfigError, Secret};

/// Which hops in front of the app may say who the client is (`TRUST_PROXY`,
/// `TRUSTED_PROXIES`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum ProxyTrust {
    /// No proxy: the client is the peer; `X-Forwarded-For` is anyone's to write and ignored.
    #[default]
    None,
    /// One proxy, the peer: the client is the address it appended, the last entry of
    /// `X-Forwarded-For`.
    OneHop,
    /// The proxies at these addresses: the client is the nearest address, walking from the
    /// peer back through `X-Forwarded-For`, that is not one of them.
    Listed(Arc<[IpNet]>),
}

impl ProxyTrust {
    /// Whether a hop at `address` is one of the proxies.
    pub fn trusts(&self, address: IpAddr) -> bool {
        match self {
            ProxyTrust::None => false,
            ProxyTrust::OneHop => true,
            ProxyTrust::Listed(proxies) => proxies.iter().any(|net| net.contains(&address)),
        }
    }
}

/// How email leaves the app. Every message goes through the outbox either way.
#[derive(Clone, Debug)]
pub enum MailTransport {
    /// Kept in the outbox and logged; readable at `/dev/outbox`. Nothing is sent.
    Dev,
    Smtp {
        host: String,
        port: u16,
        security: SmtpSecurity,
        username: Option<String>,
        password: Option<Secret>,
        timeout: std::time::Duration,
    },
}

/// `MAILER`: which [`MailTransport`].
enum Mailer {
    Dev,
    Smtp,
}

impl FromStr for Mailer {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        match name {
            "dev" => Ok(Mailer::Dev),
            "smtp" => Ok(Mailer::Smtp),
            _ => Err(()),
        }
    }
}

/// How billing reaches Stripe.
#[derive(Clone, Debug)]
pub enum StripeMode {
    /// The real Stripe API (or any compatible address).
    Live {
        api_base: String,
        secret_key: Secret,
        webhook_secrets: Vec<Secret>,
    },
    /// The offline stand-in, started inside the app: test mode, no real money.
    Offline,
}

/// The language model behind `llm_text_service`, when configured.
#[derive(Clone, Debug)]
pub struct LlmConfig {
    pub base_url: String,
    pub model: String,
    pub api_key: Secret,
    pub timeout: std::time::Duration,
}

/// Where the data lives.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Sqlite(String),
    Postgres(Secret),
    Memory,
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DatabaseUrl::Sqlite(url) => write!(f, "Sqlite({url})"),
            DatabaseUrl::Postgres(_) => f.write_str("Postgres(***)"),
            DatabaseUrl::Memory => f.write_str("Memory"),
        }
    }
}

impl DatabaseUrl {
    pub fn kind(&self) -> &'static str {
        match self {
            DatabaseUrl::Sqlite(_) => "SQLite",
            DatabaseUrl::Postgres(_) => "PostgreSQL",
            DatabaseUrl::Memory => "memory",
        }
    }
}

/// Where the rate limits' budgets are kept (`RATE_LIMITS`, `REDIS_URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RateLimitBackend {
    /// In the app's process: each instance counts alone.
    Process,
    /// In the app's database, shared by every instance on it.
    Database,
    /// In Redis at this URL, shared by every instance on it.
    Redis(Secret),
}

/// `RATE_LIMITS`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RateLimitChoice {
    Auto,
    Process,
    Database,
    Redis,
}

impl FromStr for RateLimitChoice {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        match name {
            "auto" => Ok(RateLimitChoice::Auto),
            "process" => Ok(RateLimitChoice::Process),
            "database" => Ok(RateLimitChoice::Database),
            "redis" => Ok(RateLimitChoice::Redis),
            _ => Err(()),
        }
    }
}

/// `REDIS_URL`, when set.
pub(super) fn redis_url(s: &Sources) -> Result<Option<Secret>, ConfigError> {
    match s.value("REDIS_URL") {
        None => Ok(None),
        Some(url)
            if ["redis://", "redis+unix://", "unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme)) =>
        {
            Ok(Some(Secret::new(url)))
        }
        Some(_) => Err(s.error(
            "REDIS_URL",
            "expected redis://[:PASSWORD@]HOST[:PORT][/DB] or redis+unix://PATH",
        )),
    }
}

/// `REDIS_PREFIX`: what every key the app writes to Redis starts with.
pub(super) fn redis_prefix(s: &Sources) -> Result<String, ConfigError> {
    let prefix = s.text_or("REDIS_PREFIX", "");
    if prefix.is_empty() || prefix.len() > 64 || prefix.chars().any(char::is_whitespace) {
        return Err(s.error("REDIS_PREFIX", "expected 1 to 64 characters without spaces"));
    }
    Ok(prefix)
}

/// `RATE_LIMITS` and `REDIS_URL`: `auto` keeps the budgets in Redis when `REDIS_URL` is set,
/// else in PostgreSQL when that is the database, else in the process (the embedded SQLite app
/// is one process).
pub(super) fn rate_limits(
    s: &Sources,
    database: &DatabaseUrl,
    redis: Option<&Secret>,
) -> Result<RateLimitBackend, ConfigError> {
    let redis = redis.cloned();
    match (s.choice::<RateLimitChoice>("RATE_LIMITS")?, redis, database) {
        (RateLimitChoice::Process, _, _) => Ok(RateLimitBackend::Process),
        (RateLimitChoice::Redis | RateLimitChoice::Auto, Some(url), _) => {
            Ok(RateLimitBackend::Redis(url))
        }
        (RateLimitChoice::Redis, None, _) => {
            Err(s.error("RATE_LIMITS", "is redis, but REDIS_URL is not set"))
        }
        (RateLimitChoice::Database, _, DatabaseUrl::Memory) => Err(s.error(
            "RATE_LIMITS",
            "is database, but DATABASE_URL is memory (nothing is shared)",
        )),
        (RateLimitChoice::Database, _, _) => Ok(RateLimitBackend::Database),
        (RateLimitChoice::Auto, None, DatabaseUrl::Postgres(_)) => Ok(RateLimitBackend::Database),
        (RateLimitChoice::Auto, None, _) => Ok(RateLimitBackend::Process),
    }
}

/// Where the job queue is kept (`QUEUE`, `REDIS_URL`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum QueueBackend {
    /// In the app's database (the SQLite file, PostgreSQL, or memory for an in-memory app).
    Database,
    /// In Redis at this URL.
    Redis(Secret),
}

/// `QUEUE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum QueueChoice {
    Auto,
    Database,
    Redis,
}

impl FromStr for QueueChoice {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        match name {
            "auto" => Ok(QueueChoice::Auto),
            "database" => Ok(QueueChoice::Database),
            "redis" => Ok(QueueChoice::Redis),
            _ => Err(()),
        }
    }
}

/// `QUEUE` and `REDIS_URL`: `auto` keeps the queue in the database (a Redis server set for the
/// rate limits does not move it); `redis` needs `REDIS_URL`.
pub(super) fn queue(s: &Sources, redis: Option<&Secret>) -> Result<QueueBackend, ConfigError> {
    match (s.choice::<QueueChoice>("QUEUE")?, redis) {
        (QueueChoice::Auto | QueueChoice::Database, _) => Ok(QueueBackend::Database),
        (QueueChoice::Redis, Some(url)) => Ok(QueueBackend::Redis(url.clone())),
        (QueueChoice::Redis, None) => Err(s.error("QUEUE", "is redis, but REDIS_URL is not set")),
    }
}

/// The feature flags of the original QuickScale, in one place; templates see them as `flags`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Flags {
    pub enable_stripe: bool,
    pub enable_subscriptions: bool,
    pub enable_api: bool,
    pub require_email_verification: bool,
    pub enable_service_marketplace: bool,
}

impl Default for Flags {
    /// The settings table's defaults (a test checks that they agree).
    fn default() -> Self {
        Flags {
            enable_stripe: false,
            enable_subscriptions: false,
            enable_api: false,
            require_email_verification: false,
            enable_service_marketplace: true,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Pretty,
    Json,
}

impl FromStr for LogFormat {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        match name {
            "pretty" => Ok(LogFormat::Pretty),
            "json" => Ok(LogFormat::Json),
            _ => Err(()),
        }
    }
}

/// `DATABASE_URL`; a relative SQLite path is under the project.
pub(super) fn database(s: &Sources, project_dir: &Path) -> Result<DatabaseUrl, ConfigError> {
    match s.value("DATABASE_URL") {
        Some("memory") => Ok(DatabaseUrl::Memory),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            Ok(DatabaseUrl::Postgres(Secret::new(url)))
        }
        Some(url) if url.starts_with("sqlite:") => {
            let path = url
                .trim_start_matches("sqlite://")
                .trim_start_matches("sqlite:");
            let path = Path::new(path);
            let absolute = if path.is_absolute() {
                path.to_path_buf()
            } else {
                project_dir.join(path)
            };
            Ok(DatabaseUrl::Sqlite(format!(
                "sqlite://{}",
                absolute.display()
            )))
        }
        _ => Err(s.error(
            "DATABASE_URL",
            "expected sqlite://PATH, postgres://... or memory",
        )),
    }
}

/// The feature flags; subscriptions need billing.
pub(super) fn flags(s: &Sources) -> Result<Flags, ConfigError> {
    let flags = Flags {
        enable_stripe: s.flag("ENABLE_STRIPE")?,
        enable_subscriptions: s.flag("ENABLE_SUBSCRIPTIONS")?,
        enable_api: s.flag("ENABLE_API")?,
        require_email_verification: s.flag("REQUIRE_EMAIL_VERIFICATION")?,
        enable_service_marketplace: s.flag("ENABLE_SERVICE_MARKETPLACE")?,
    };
    // Plans are paid through the processor: they need billing.
    if flags.enable_subscriptions && !flags.enable_stripe {
        return Err(s.error(
            "ENABLE_SUBSCRIPTIONS",
            "needs ENABLE_STRIPE=true (plans are paid through the payment processor)",
        ));
    }
    Ok(flags)
}

/// The language model, when `LLM_BASE_URL` is set.
pub(super) fn llm(s: &Sources) -> Result<Option<LlmConfig>, ConfigError> {
    match s.get("LLM_BASE_URL") {
        None => Ok(None),
        Some((url, _)) if url.starts_with("http://") || url.starts_with("https://") => {
            let seconds: u64 = s.integer("LLM_TIMEOUT_SECONDS")?;
            Ok(Some(LlmConfig {
                base_url: url.to_owned(),
                model: s.text_or("LLM_MODEL", ""),
                api_key: Secret::new(s.text_or("LLM_API_KEY", "")),
                timeout: std::time::Duration::from_secs(seconds),
            }))
        }
        Some(_) => Err(s.error("LLM_BASE_URL", "must start with http:// or https://")),
    }
}

/// Stripe, when `ENABLE_STRIPE` is on: live with a secret key, the offline stand-in without.
pub(super) fn stripe(s: &Sources, flags: &Flags) -> Result<Option<StripeMode>, ConfigError> {
    if !flags.enable_stripe {
        return Ok(None);
    }
    match s.get("STRIPE_SECRET_KEY") {
        None => Ok(Some(StripeMode::Offline)),
        Some((key, _)) if key.starts_with("sk_") || key.starts_with("rk_") => {
            let secrets: Vec<Secret> = s
                .text_or("STRIPE_WEBHOOK_SECRET", "")
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .collect();
            if secrets.is_empty() {
                return Err(s.error(
                    "STRIPE_WEBHOOK_SECRET",
                    "is required with STRIPE_SECRET_KEY (whsec_... from the Stripe dashboard)",
                ));
            }
            Ok(Some(StripeMode::Live {
                api_base: s.text_or("STRIPE_API_BASE", ""),
                secret_key: Secret::new(key),
                webhook_secrets: secrets,
            }))
        }
        Some(_) => Err(s.error(
            "STRIPE_SECRET_KEY",
            "must start with sk_ (or rk_ for a restricted key)",
        )),
    }
}

/// `MAILER` and, with `smtp`, the SMTP settings.
pub(super) fn mail(s: &Sources) -> Result<MailTransport, ConfigError> {
    match s.choice("MAILER")? {
        Mailer::Dev => Ok(MailTransport::Dev),
        Mailer::Smtp => {
            let host = s
                .get("SMTP_HOST")
                .map(|(h, _)| h.to_owned())
                .ok_or_else(|| s.error("SMTP_HOST", "is required with MAILER=smtp"))?;
            let security: SmtpSecurity = s.choice("SMTP_SECURITY")?;
            Ok(MailTransport::Smtp {
                host,
                port: s.integer_or("SMTP_PORT", security.default_port())?,
                security,
                username: s.get("SMTP_USERNAME").map(|(u, _)| u.to_owned()),
                password: s.get("SMTP_PASSWORD").map(|(p, _)| Secret::new(p)),
                timeout: std::time::Duration::from_secs(s.integer("SMTP_TIMEOUT_SECONDS")?),
            })
        }
    }
}

/// The lockout settings, each error under its own key.
pub(super) fn lockout_policy(s: &Sources) -> Result<LockoutPolicy, ConfigError> {
    let attempts: u32 = s.integer("LOCKOUT_ATTEMPTS")?;
    let window: i64 = s.integer("LOCKOUT_WINDOW_MINUTES")?;
    let lock_for: i64 = s.integer("LOCKOUT_MINUTES")?;
    let throttle_after: u32 = s.integer_at_least("LOCKOUT_THROTTLE_AFTER", attempts.into())?;
    let max_delay: i64 = s.integer("LOCKOUT_THROTTLE_MAX_SECONDS")?;
    LockoutPolicy::new(
        attempts,
        Duration::minutes(window),
        Duration::minutes(lock_for),
    )
    .and_then(|policy| policy.with_throttle(throttle_after, Duration::seconds(max_delay)))
    .map_err(|e| {
        let key = match e {
            LockoutPolicyError::Attempts(_) => "LOCKOUT_ATTEMPTS",
            LockoutPolicyError::Window => "LOCKOUT_WINDOW_MINUTES",
            LockoutPolicyError::Duration => "LOCKOUT_MINUTES",
            LockoutPolicyError::ThrottleAfter { .. } => "LOCKOUT_THROTTLE_AFTER",
            LockoutPolicyError::ThrottleDelay => "LOCKOUT_THROTTLE_MAX_SECONDS",
        };
        s.error(key, e.to_string())
    })
}

/// `TRUST_PROXY` and `TRUSTED_PROXIES`.
pub(super) fn proxy_trust(s: &Sources) -> Result<ProxyTrust, ConfigError> {
    let listed = match s.get("TRUSTED_PROXIES") {
        None => None,
        Some((value, _)) => {
            let mut proxies = Vec::new();
            for entry in value.split([',', ' ']).filter(|e| !e.is_empty()) {
                let net = entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| {
                        s.error(
                            "TRUSTED_PROXIES",
                            format!(
                                "expected IP addresses or CIDR ranges such as 10.0.0.0/8, \
                                 separated by commas; {entry:?} is neither"
                            ),
                        )
                    })?;
                proxies.push(net.trunc());
            }
            Some(proxies)
        }
    };
    match (s.flag("TRUST_PROXY")?, listed) {
        (false, None) => Ok(ProxyTrust::None),
        (false, Some(_)) => Err(s.error(
            "TRUSTED_PROXIES",
            "is set but TRUST_PROXY is off: set TRUST_PROXY=true to take the client address \
             from X-Forwarded-For",
        )),
        (true, None) => Ok(ProxyTrust::OneHop),
        (true, Some(proxies)) => Ok(ProxyTrust::Listed(proxies.into())),
    }
}
