//! Configuration: one typed struct, from environment variables, an optional `.env` and an
//! optional `quickscale.toml`, validated at start with errors that name the bad key.
//!
//! Precedence: process environment > `.env` > `quickscale.toml` > defaults. Keys are the
//! upper-case names below; `quickscale.toml` may spell them in lower case.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::{Email, LockoutPolicy, LockoutPolicyError};
use serde::Serialize;
use time::Duration;

/// Every key the app reads, with what it means.
pub const KEYS: &[(&str, &str)] = &[
    ("APP_NAME", "the product name shown in pages and emails"),
    ("HOST", "address to listen on (default 127.0.0.1)"),
    ("PORT", "port to listen on (default 8000)"),
    (
        "BASE_URL",
        "public URL, used in emails and to decide Secure cookies",
    ),
    (
        "DATABASE_URL",
        "sqlite://path, postgres://..., or memory (default sqlite://data/app.db)",
    ),
    (
        "DATABASE_MAX_CONNECTIONS",
        "PostgreSQL pool size (default 10)",
    ),
    (
        "SECRET_KEY",
        "at least 32 random characters; `quickscale init` writes one",
    ),
    (
        "ADMIN_EMAIL",
        "the admin account created at start (default admin@example.com)",
    ),
    (
        "ADMIN_PASSWORD",
        "its password; generated and printed once when unset",
    ),
    (
        "CONTACT_EMAIL",
        "where contact form messages go (default ADMIN_EMAIL)",
    ),
    (
        "WELCOME_CREDITS",
        "credits granted to each new account at registration (default 100; 0 disables); a change applies to accounts registered afterwards",
    ),
    (
        "SESSION_DAYS",
        "days of inactivity before a session ends (default 14)",
    ),
    (
        "LOCKOUT_ATTEMPTS",
        "failed sign-ins from one client address that lock that address out of the account (3 to 20, default 5)",
    ),
    (
        "LOCKOUT_WINDOW_MINUTES",
        "window in which one address's failures are counted (1 to 1440, default 15)",
    ),
    (
        "LOCKOUT_MINUTES",
        "how long a locked-out address stays locked out (1 to 1440, default 15)",
    ),
    (
        "LOCKOUT_THROTTLE_AFTER",
        "failures on an account from all addresses after which every attempt waits a doubling delay (LOCKOUT_ATTEMPTS to 1000, default 10)",
    ),
    (
        "LOCKOUT_THROTTLE_MAX_SECONDS",
        "the longest of those delays (1 to 3600, default 300)",
    ),
    ("LOG_FORMAT", "pretty or json (default pretty)"),
    ("ENABLE_STRIPE", "billing pages and routes (default false)"),
    (
        "ENABLE_SUBSCRIPTIONS",
        "subscription plans with credits each period (default false; needs ENABLE_STRIPE)",
    ),
    (
        "ENABLE_API",
        "the JSON API at /api/v1 and API keys in settings (default false)",
    ),
    (
        "REQUIRE_EMAIL_VERIFICATION",
        "accounts must verify their email (default false)",
    ),
    (
        "REGISTRATION_REVEALS_EXISTING_EMAILS",
        "with REQUIRE_EMAIL_VERIFICATION, answer registration with a taken email by saying so and sign new accounts in at once (reveals which emails have accounts; default false)",
    ),
    (
        "ENABLE_SERVICE_MARKETPLACE",
        "the services pages (default true)",
    ),
    (
        "LLM_BASE_URL",
        "an OpenAI-compatible API such as https://api.openai.com/v1 (unset hides the AI service)",
    ),
    ("LLM_MODEL", "the chat model to use (default gpt-4o-mini)"),
    ("LLM_API_KEY", "the API key for LLM_BASE_URL"),
    (
        "LLM_TIMEOUT_SECONDS",
        "how long a model may take (default 30)",
    ),
    (
        "STRIPE_SECRET_KEY",
        "sk_... or rk_...; unset with ENABLE_STRIPE starts the offline stand-in",
    ),
    (
        "STRIPE_WEBHOOK_SECRET",
        "whsec_... (comma-separated during a rotation); required with STRIPE_SECRET_KEY",
    ),
    (
        "STRIPE_API_BASE",
        "the Stripe API address (default https://api.stripe.com)",
    ),
    ("MAILER", "dev (outbox and log only, the default) or smtp"),
    (
        "MAIL_FROM",
        "the sender of every email (default \"APP_NAME <no-reply@localhost>\")",
    ),
    ("SMTP_HOST", "the mail server; required with MAILER=smtp"),
    (
        "SMTP_PORT",
        "its port (default 587, or 465 with SMTP_SECURITY=tls)",
    ),
    (
        "SMTP_SECURITY",
        "starttls (default), tls, or none for a local relay",
    ),
    (
        "SMTP_USERNAME",
        "the mail server's user name, if it wants one",
    ),
    ("SMTP_PASSWORD", "its password"),
    (
        "SMTP_TIMEOUT_SECONDS",
        "how long one delivery may take (default 15)",
    ),
    (
        "VERIFICATION_TOKEN_HOURS",
        "how long an email verification link works (default 72)",
    ),
    (
        "RESET_TOKEN_MINUTES",
        "how long a password reset link works (default 60)",
    ),
    (
        "TRUST_PROXY",
        "take the client address from X-Forwarded-For (only behind your own proxy; default false)",
    ),
    (
        "TRUSTED_PROXIES",
        "addresses or CIDRs of your proxies, comma-separated (default: only the direct peer)",
    ),
];

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
        security: String,
        username: Option<String>,
        password: Option<Secret>,
        timeout: std::time::Duration,
    },
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

/// A configuration problem, naming the key and where its value came from.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key {key} ({origin}): {message}")]
pub struct ConfigError {
    pub key: String,
    pub origin: String,
    pub message: String,
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
}

/// Raw values by key, each with where it came from.
#[derive(Debug, Default)]
struct Sources(BTreeMap<String, (String, String)>);

impl Sources {
    fn set(&mut self, key: &str, value: String, source: &str) {
        self.0.insert(key.to_owned(), (value, source.to_owned()));
    }

    fn get(&self, key: &str) -> Option<(&str, &str)> {
        // Only KEYS are read from the environment and accepted in quickscale.toml.
        debug_assert!(
            KEYS.iter().any(|(k, _)| *k == key),
            "{key} is read but missing from config::KEYS"
        );
        self.0
            .get(key)
            .filter(|(value, _)| !value.trim().is_empty())
            .map(|(value, source)| (value.trim(), source.as_str()))
    }

    fn error(&self, key: &str, message: impl Into<String>) -> ConfigError {
        let source = self.0.get(key).map_or("default", |(_, s)| s.as_str());
        ConfigError {
            key: key.to_owned(),
            origin: source.to_owned(),
            message: message.into(),
        }
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.get(key)
            .map_or_else(|| default.to_owned(), |(v, _)| v.to_owned())
    }

    fn parse<T>(
        &self,
        key: &str,
        default: T,
        what: &str,
        ok: impl Fn(&T) -> bool,
    ) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
    {
        match self.get(key) {
            None => Ok(default),
            Some((value, _)) => match value.parse::<T>() {
                Ok(parsed) if ok(&parsed) => Ok(parsed),
                _ => Err(self.error(key, format!("expected {what}, got {value:?}"))),
            },
        }
    }

    fn flag(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.get(key).map(|(v, _)| v.to_ascii_lowercase()) {
            None => Ok(default),
            Some(v) if ["1", "true", "yes", "on"].contains(&v.as_str()) => Ok(true),
            Some(v) if ["0", "false", "no", "off"].contains(&v.as_str()) => Ok(false),
            Some(v) => Err(self.error(key, format!("expected true or false, got {v:?}"))),
        }
    }
}

impl Config {
    /// Loads the configuration of the project in `project_dir` (its `.env` and
    /// `quickscale.toml`) and the process environment.
    pub fn load(project_dir: &Path, app_name: &str) -> Result<Self, ConfigError> {
        let mut sources = Sources::default();
        let toml_path = project_dir.join("quickscale.toml");
        if toml_path.exists() {
            read_toml(&toml_path, &mut sources)?;
        }
        let env_path = project_dir.join(".env");
        if env_path.exists() {
            read_dotenv(&env_path, &mut sources)?;
        }
        for (key, _) in KEYS {
            if let Ok(value) = std::env::var(key) {
                sources.set(key, value, "environment");
            }
        }
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
        let host: IpAddr = s.parse(
            "HOST",
            IpAddr::from([127, 0, 0, 1]),
            "an IP address",
            |_| true,
        )?;
        let port: u16 = s.parse("PORT", 8000, "a port number from 1 to 65535", |p| *p > 0)?;
        let base_url = s.string("BASE_URL", &format!("http://{host}:{port}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(s.error("BASE_URL", "must start with http:// or https://"));
        }
        let database = match s.get("DATABASE_URL") {
            None => DatabaseUrl::Sqlite(format!(
                "sqlite://{}",
                project_dir.join("data/app.db").display()
            )),
            Some(("memory", _)) => DatabaseUrl::Memory,
            Some((url, _))
                if url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                DatabaseUrl::Postgres(Secret::new(url))
            }
            Some((url, _)) if url.starts_with("sqlite:") => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                let path = Path::new(path);
                let absolute = if path.is_absolute() {
                    path.to_path_buf()
                } else {
                    project_dir.join(path)
                };
                DatabaseUrl::Sqlite(format!("sqlite://{}", absolute.display()))
            }
            Some(_) => {
                return Err(s.error(
                    "DATABASE_URL",
                    "expected sqlite://PATH, postgres://... or memory",
                ));
            }
        };
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
        let email = |key: &str, default: &str| -> Result<Email, ConfigError> {
            let value = s.string(key, default);
            Email::parse(&value).map_err(|e| s.error(key, format!("{e} ({value:?})")))
        };
        let admin_email = email("ADMIN_EMAIL", "admin@example.com")?;
        let contact_email = email("CONTACT_EMAIL", admin_email.as_str())?;
        let admin_password = match s.get("ADMIN_PASSWORD") {
            Some((p, _)) if p.chars().count() < 8 => {
                return Err(s.error("ADMIN_PASSWORD", "must be at least 8 characters"));
            }
            Some((p, _)) => Some(Secret::new(p)),
            None => None,
        };
        let welcome_credits = match s.get("WELCOME_CREDITS") {
            None => Credits::whole(100),
            Some((value, _)) => {
                Credits::parse(value).map_err(|e| s.error("WELCOME_CREDITS", e.to_string()))?
            }
        };
        let session_days: i64 =
            s.parse("SESSION_DAYS", 14, "a number of days from 1 to 365", |d| {
                (1..=365).contains(d)
            })?;
        let lockout = lockout_policy(s)?;
        let log_format = match s.string("LOG_FORMAT", "pretty").as_str() {
            "pretty" => LogFormat::Pretty,
            "json" => LogFormat::Json,
            other => {
                return Err(s.error(
                    "LOG_FORMAT",
                    format!("expected pretty or json, got {other:?}"),
                ));
            }
        };
        let defaults = Flags::default();
        let flags = Flags {
            enable_stripe: s.flag("ENABLE_STRIPE", defaults.enable_stripe)?,
            enable_subscriptions: s.flag("ENABLE_SUBSCRIPTIONS", defaults.enable_subscriptions)?,
            enable_api: s.flag("ENABLE_API", defaults.enable_api)?,
            require_email_verification: s.flag(
                "REQUIRE_EMAIL_VERIFICATION",
                defaults.require_email_verification,
            )?,
            enable_service_marketplace: s.flag(
                "ENABLE_SERVICE_MARKETPLACE",
                defaults.enable_service_marketplace,
            )?,
        };
        // Plans are paid through the processor: they need billing.
        if flags.enable_subscriptions && !flags.enable_stripe {
            return Err(s.error(
                "ENABLE_SUBSCRIPTIONS",
                "needs ENABLE_STRIPE=true (plans are paid through the payment processor)",
            ));
        }
        let llm = match s.get("LLM_BASE_URL") {
            None => None,
            Some((url, _)) if url.starts_with("http://") || url.starts_with("https://") => {
                let seconds: u64 =
                    s.parse("LLM_TIMEOUT_SECONDS", 30, "seconds from 1 to 600", |t| {
                        (1..=600).contains(t)
                    })?;
                Some(LlmConfig {
                    base_url: url.to_owned(),
                    model: s.string("LLM_MODEL", "gpt-4o-mini"),
                    api_key: Secret::new(s.string("LLM_API_KEY", "")),
                    timeout: std::time::Duration::from_secs(seconds),
                })
            }
            Some(_) => return Err(s.error("LLM_BASE_URL", "must start with http:// or https://")),
        };
        let stripe = if !flags.enable_stripe {
            None
        } else {
            match s.get("STRIPE_SECRET_KEY") {
                None => Some(StripeMode::Offline),
                Some((key, _)) if key.starts_with("sk_") || key.starts_with("rk_") => {
                    let secrets: Vec<Secret> = s
                        .string("STRIPE_WEBHOOK_SECRET", "")
                        .split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(Secret::new)
                        .collect();
                    if secrets.is_empty() {
                        return Err(s.error("STRIPE_WEBHOOK_SECRET", "is required with STRIPE_SECRET_KEY (whsec_... from the Stripe dashboard)"));
                    }
                    Some(StripeMode::Live {
                        api_base: s.string("STRIPE_API_BASE", "https://api.stripe.com"),
                        secret_key: Secret::new(key),
                        webhook_secrets: secrets,
                    })
                }
                Some(_) => {
                    return Err(s.error(
                        "STRIPE_SECRET_KEY",
                        "must start with sk_ (or rk_ for a restricted key)",
                    ));
                }
            }
        };
        let mail = match s.string("MAILER", "dev").as_str() {
            "dev" => MailTransport::Dev,
            "smtp" => {
                let host = s
                    .get("SMTP_HOST")
                    .map(|(h, _)| h.to_owned())
                    .ok_or_else(|| s.error("SMTP_HOST", "is required with MAILER=smtp"))?;
                let security = s.string("SMTP_SECURITY", "starttls");
                if !["starttls", "tls", "none"].contains(&security.as_str()) {
                    return Err(s.error(
                        "SMTP_SECURITY",
                        format!("expected starttls, tls or none, got {security:?}"),
                    ));
                }
                let default_port = if security == "tls" { 465 } else { 587 };
                MailTransport::Smtp {
                    host,
                    port: s.parse("SMTP_PORT", default_port, "a port number", |p| *p > 0)?,
                    security,
                    username: s.get("SMTP_USERNAME").map(|(u, _)| u.to_owned()),
                    password: s.get("SMTP_PASSWORD").map(|(p, _)| Secret::new(p)),
                    timeout: std::time::Duration::from_secs(s.parse(
                        "SMTP_TIMEOUT_SECONDS",
                        15,
                        "seconds from 1 to 120",
                        |t| (1..=120).contains(t),
                    )?),
                }
            }
            other => return Err(s.error("MAILER", format!("expected dev or smtp, got {other:?}"))),
        };
        let app_label = s.string("APP_NAME", app_name);
        let mail_from = s.string(
            "MAIL_FROM",
            &format!(
                "{} <no-reply@localhost>",
                app_label.replace(['<', '>', '"'], "")
            ),
        );
        let hours: i64 = s.parse("VERIFICATION_TOKEN_HOURS", 72, "hours from 1 to 720", |h| {
            (1..=720).contains(h)
        })?;
        let minutes: i64 = s.parse("RESET_TOKEN_MINUTES", 60, "minutes from 5 to 1440", |m| {
            (5..=1440).contains(m)
        })?;
        Ok(Config {
            mail,
            mail_from,
            verification_ttl: Duration::hours(hours),
            reset_ttl: Duration::minutes(minutes),
            proxy_trust: proxy_trust(s)?,
            registration_reveals_existing_emails: s
                .flag("REGISTRATION_REVEALS_EXISTING_EMAILS", false)?,
            stripe,
            llm,
            app_name: s.string("APP_NAME", app_name),
            project_dir: project_dir.to_path_buf(),
            host,
            port,
            secure_cookies: base_url.starts_with("https://"),
            base_url: base_url.trim_end_matches('/').to_owned(),
            database,
            database_max_connections: s.parse(
                "DATABASE_MAX_CONNECTIONS",
                10,
                "a number from 1 to 500",
                |n| (1..=500).contains(n),
            )?,
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

/// The lockout settings, each error under its own key.
fn lockout_policy(s: &Sources) -> Result<LockoutPolicy, ConfigError> {
    let defaults = LockoutPolicy::default();
    let attempts: u32 = s.parse(
        "LOCKOUT_ATTEMPTS",
        defaults.max_attempts(),
        "a number from 3 to 20",
        |n| (3..=20).contains(n),
    )?;
    let minutes = |key: &str, default: Duration| -> Result<Duration, ConfigError> {
        let minutes: i64 = s.parse(
            key,
            default.whole_minutes(),
            "minutes from 1 to 1440",
            |m| (1..=1440).contains(m),
        )?;
        Ok(Duration::minutes(minutes))
    };
    let window = minutes("LOCKOUT_WINDOW_MINUTES", defaults.window())?;
    let lock_for = minutes("LOCKOUT_MINUTES", defaults.lock_for())?;
    let throttle_after: u32 = s.parse(
        "LOCKOUT_THROTTLE_AFTER",
        defaults.throttle_after().max(attempts),
        "a number from LOCKOUT_ATTEMPTS to 1000",
        |n| (attempts..=1000).contains(n),
    )?;
    let max_delay: i64 = s.parse(
        "LOCKOUT_THROTTLE_MAX_SECONDS",
        defaults.max_delay().whole_seconds(),
        "seconds from 1 to 3600",
        |n| (1..=3600).contains(n),
    )?;
    LockoutPolicy::new(attempts, window, lock_for)
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
fn proxy_trust(s: &Sources) -> Result<ProxyTrust, ConfigError> {
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
    match (s.flag("TRUST_PROXY", false)?, listed) {
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

/// Reads `.env`. A line it cannot read is reported like any bad setting: the key, the line, and
/// how to write it.
fn read_dotenv(path: &Path, sources: &mut Sources) -> Result<(), ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        key: ".env".into(),
        origin: path.display().to_string(),
        message: e.to_string(),
    })?;
    let lines: Vec<&str> = text.lines().collect();
    // The index of the line after the last entry read: where an error is looked for.
    let mut next_line = 0;
    for entry in dotenvy::from_read_iter(text.as_bytes()) {
        match entry {
            Ok((key, value)) => {
                if let Some(at) = (next_line..lines.len()).find(|&i| defines(lines[i], &key)) {
                    next_line = at + 1;
                }
                sources.set(&key, value, ".env");
            }
            Err(dotenvy::Error::LineParse(fragment, _)) => {
                return Err(dotenv_line_error(&lines, next_line, &fragment));
            }
            Err(error) => {
                return Err(ConfigError {
                    key: ".env".into(),
                    origin: path.display().to_string(),
                    message: error.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// Whether a `.env` line sets `key` (`KEY=...`, `export KEY=...`).
fn defines(line: &str, key: &str) -> bool {
    let line = line.trim_start();
    let line = line.strip_prefix("export ").map_or(line, str::trim_start);
    line.strip_prefix(key)
        .is_some_and(|rest| rest.trim_start().starts_with('='))
}

/// The error for the first line at or after `from` that holds `fragment` (the part of the line
/// the parser stopped at).
fn dotenv_line_error(lines: &[&str], from: usize, fragment: &str) -> ConfigError {
    let wanted = fragment.lines().next().unwrap_or_default().trim();
    let index = (from..lines.len())
        .find(|&i| {
            let line = lines[i].trim();
            !line.is_empty() && !line.starts_with('#') && line.contains(wanted)
        })
        .unwrap_or(from.min(lines.len().saturating_sub(1)));
    let line = lines.get(index).copied().unwrap_or_default().trim();
    let origin = format!(".env line {}", index + 1);
    let assignment = line.strip_prefix("export ").map_or(line, str::trim_start);
    let Some((key, value)) = assignment
        .split_once('=')
        .map(|(k, v)| (k.trim(), v.trim()))
    else {
        return ConfigError {
            key: ".env".into(),
            origin,
            message: format!("expected KEY=value, got {line:?} (a comment starts with #)"),
        };
    };
    if key.is_empty() || !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return ConfigError {
            key: ".env".into(),
            origin,
            message: format!("{key:?} is not a setting name (letters, digits and _ only)"),
        };
    }
    let message = match value.chars().next() {
        Some(quote @ ('"' | '\'')) if value.matches(quote).count() < 2 => format!(
            "the value opens a {quote} quote and does not close it; end it with {quote} on the \
             same line"
        ),
        Some('"' | '\'') => format!(
            "cannot read the value {value}; after the closing quote only a # comment may follow"
        ),
        _ => {
            let meant = value.split(" #").next().unwrap_or(value).trim_end();
            let why = if meant.contains([' ', '\t']) {
                "the value has spaces"
            } else {
                "the value has characters .env reads specially"
            };
            format!("{why}, so it needs quotes: {key}={}", quoted(meant))
        }
    };
    ConfigError {
        key: key.to_owned(),
        origin,
        message,
    }
}

/// `value` quoted for `.env` so it reads back as written: double quotes, or single quotes
/// (which keep every character but a single quote) when it has `"`, `\\` or `$`, or double
/// quotes with those escaped when it has a single quote too.
fn quoted(value: &str) -> String {
    let special = value.contains(['"', '\\', '$']);
    if !special {
        return format!("\"{value}\"");
    }
    if !value.contains('\'') {
        return format!("'{value}'");
    }
    let mut out = String::from('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

fn read_toml(path: &Path, sources: &mut Sources) -> Result<(), ConfigError> {
    let source = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
        key: "quickscale.toml".into(),
        origin: source.clone(),
        message: e.to_string(),
    })?;
    let table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError {
        key: "quickscale.toml".into(),
        origin: source.clone(),
        message: e.to_string(),
    })?;
    for (key, value) in table {
        let upper = key.to_ascii_uppercase();
        if !KEYS.iter().any(|(k, _)| *k == upper) {
            return Err(ConfigError {
                key,
                origin: "quickscale.toml".into(),
                message: "is not a known configuration key".into(),
            });
        }
        let text = match value {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(ConfigError {
                    key,
                    origin: "quickscale.toml".into(),
                    message: format!(
                        "expected a string, number or boolean, got {}",
                        other.type_str()
                    ),
                });
            }
        };
        sources.set(&upper, text, "quickscale.toml");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn defaults_are_the_five_minute_journey() {
        let config = Config::from_pairs(Path::new("/p"), "demo", &[("SECRET_KEY", KEY)]).unwrap();
        assert_eq!(config.port, 8000);
        assert_eq!(config.welcome_credits, Credits::whole(100));
        assert!(!config.flags.require_email_verification);
        assert!(
            matches!(config.database, DatabaseUrl::Sqlite(ref url) if url == "sqlite:///p/data/app.db")
        );
        assert!(!config.secure_cookies);
    }

    #[test]
    fn errors_name_the_key_and_the_source() {
        let err = Config::from_pairs(
            Path::new("/p"),
            "demo",
            &[("SECRET_KEY", KEY), ("PORT", "eighty")],
        )
        .unwrap_err();
        assert_eq!(err.key, "PORT");
        assert_eq!(err.origin, "given");
        assert!(err.to_string().contains("eighty"));
        let err = Config::from_pairs(Path::new("/p"), "demo", &[]).unwrap_err();
        assert_eq!(err.key, "SECRET_KEY");
        let err = Config::from_pairs(
            Path::new("/p"),
            "demo",
            &[("SECRET_KEY", KEY), ("ENABLE_API", "maybe")],
        )
        .unwrap_err();
        assert_eq!(err.key, "ENABLE_API");
        let err = Config::from_pairs(
            Path::new("/p"),
            "demo",
            &[("SECRET_KEY", KEY), ("ENABLE_SUBSCRIPTIONS", "true")],
        )
        .unwrap_err();
        assert_eq!(err.key, "ENABLE_SUBSCRIPTIONS");
        assert!(err.to_string().contains("needs ENABLE_STRIPE"), "{err}");
    }

    #[test]
    fn lockout_settings_are_checked_and_reported_under_their_own_key() {
        let load = |pairs: &[(&str, &str)]| {
            let mut all = vec![("SECRET_KEY", KEY)];
            all.extend_from_slice(pairs);
            Config::from_pairs(Path::new("/p"), "demo", &all)
        };
        let refused = [
            ("LOCKOUT_ATTEMPTS", "2"),
            ("LOCKOUT_ATTEMPTS", "21"),
            ("LOCKOUT_ATTEMPTS", "many"),
            ("LOCKOUT_WINDOW_MINUTES", "0"),
            ("LOCKOUT_WINDOW_MINUTES", "1441"),
            ("LOCKOUT_WINDOW_MINUTES", "9223372036854775807"),
            ("LOCKOUT_MINUTES", "0"),
            ("LOCKOUT_MINUTES", "-5"),
            ("LOCKOUT_MINUTES", "9223372036854775807"),
            ("LOCKOUT_THROTTLE_AFTER", "4"),
            ("LOCKOUT_THROTTLE_AFTER", "1001"),
            ("LOCKOUT_THROTTLE_MAX_SECONDS", "0"),
            ("LOCKOUT_THROTTLE_MAX_SECONDS", "3601"),
        ];
        for (key, value) in refused {
            let err = load(&[(key, value)]).unwrap_err();
            assert_eq!(err.key, key, "{key}={value}: {err}");
            assert!(err.to_string().contains(value), "{err}");
        }
        // The throttle may not start before one address is locked out.
        let err = load(&[("LOCKOUT_ATTEMPTS", "8"), ("LOCKOUT_THROTTLE_AFTER", "7")]).unwrap_err();
        assert_eq!(err.key, "LOCKOUT_THROTTLE_AFTER");
        let config = load(&[
            ("LOCKOUT_ATTEMPTS", "12"),
            ("LOCKOUT_WINDOW_MINUTES", "30"),
            ("LOCKOUT_MINUTES", "60"),
            ("LOCKOUT_THROTTLE_MAX_SECONDS", "90"),
        ])
        .unwrap();
        assert_eq!(config.lockout.max_attempts(), 12);
        assert_eq!(config.lockout.window(), Duration::minutes(30));
        assert_eq!(config.lockout.lock_for(), Duration::minutes(60));
        assert_eq!(
            config.lockout.throttle_after(),
            12,
            "the default throttle starts no earlier than a lock"
        );
        assert_eq!(config.lockout.max_delay(), Duration::seconds(90));
        let defaults = load(&[]).unwrap().lockout;
        assert_eq!(defaults, LockoutPolicy::default());
        assert_eq!(
            (defaults.max_attempts(), defaults.throttle_after()),
            (5, 10)
        );
    }

    #[test]
    fn secrets_are_not_printed() {
        let config = Config::from_pairs(
            Path::new("/p"),
            "demo",
            &[
                ("SECRET_KEY", KEY),
                ("DATABASE_URL", "postgres://u:hunter2@db/app"),
            ],
        )
        .unwrap();
        let printed = format!("{config:?}");
        assert!(!printed.contains("hunter2"));
        assert!(!printed.contains(KEY));
    }

    #[test]
    fn toml_and_dotenv_layer_under_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("quickscale.toml"),
            "port = 9000\nwelcome_credits = 5\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join(".env"),
            format!("SECRET_KEY={KEY}\nPORT=9100\n"),
        )
        .unwrap();
        let config = Config::load(dir.path(), "demo").unwrap();
        assert_eq!(config.port, 9100, ".env wins over quickscale.toml");
        assert_eq!(config.welcome_credits, Credits::whole(5));
        std::fs::write(dir.path().join("quickscale.toml"), "prot = 9000\n").unwrap();
        let err = Config::load(dir.path(), "demo").unwrap_err();
        assert_eq!(err.key, "prot");
    }

    /// Every setting can come from the environment or quickscale.toml (both accept KEYS only),
    /// not just from .env. Reading a key missing from KEYS fails a debug assertion.
    #[test]
    fn every_setting_is_a_known_key() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("quickscale.toml"),
            format!(
                "secret_key = \"{KEY}\"\nmailer = \"smtp\"\nsmtp_host = \"mail.test\"\n\
                 smtp_port = 2525\nsmtp_security = \"none\"\nsmtp_username = \"u\"\n\
                 smtp_password = \"p\"\nsmtp_timeout_seconds = 5\nmail_from = \"A <a@b.test>\"\n\
                 trust_proxy = true\nenable_stripe = true\nstripe_secret_key = \"sk_test_1\"\n\
                 stripe_webhook_secret = \"whsec_1\"\nstripe_api_base = \"http://127.0.0.1:1\"\n\
                 verification_token_hours = 24\nreset_token_minutes = 30\n\
                 llm_base_url = \"http://127.0.0.1:2/v1\"\n"
            ),
        )
        .unwrap();
        let config = Config::load(dir.path(), "demo").unwrap();
        assert_eq!(config.proxy_trust, ProxyTrust::OneHop);
        assert!(
            matches!(config.mail, MailTransport::Smtp { ref host, port: 2525, .. } if host == "mail.test")
        );
        assert!(
            matches!(config.stripe, Some(StripeMode::Live { ref api_base, .. }) if api_base == "http://127.0.0.1:1")
        );
        assert_eq!(config.mail_from, "A <a@b.test>");
        assert_eq!(config.reset_ttl, Duration::minutes(30));
    }

    #[test]
    fn trusted_proxies_are_addresses_and_ranges_behind_trust_proxy() {
        let load = |pairs: &[(&str, &str)]| {
            let mut all = vec![("SECRET_KEY", KEY)];
            all.extend_from_slice(pairs);
            Config::from_pairs(Path::new("/p"), "demo", &all)
        };
        assert_eq!(load(&[]).unwrap().proxy_trust, ProxyTrust::None);
        assert_eq!(
            load(&[("TRUST_PROXY", "true")]).unwrap().proxy_trust,
            ProxyTrust::OneHop
        );
        let config = load(&[
            ("TRUST_PROXY", "true"),
            (
                "TRUSTED_PROXIES",
                "10.0.0.0/8, 192.168.1.7 2001:db8::/32,10.1.2.3/8",
            ),
        ])
        .unwrap();
        let ProxyTrust::Listed(proxies) = &config.proxy_trust else {
            panic!("{:?}", config.proxy_trust);
        };
        let listed: Vec<String> = proxies.iter().map(ToString::to_string).collect();
        assert_eq!(
            listed,
            [
                "10.0.0.0/8",
                "192.168.1.7/32",
                "2001:db8::/32",
                "10.0.0.0/8"
            ]
        );
        let err = load(&[
            ("TRUST_PROXY", "true"),
            ("TRUSTED_PROXIES", "10.0.0.0/8,proxy"),
        ])
        .unwrap_err();
        assert_eq!(err.key, "TRUSTED_PROXIES");
        assert!(err.message.contains("\"proxy\""), "{err}");
        let err = load(&[("TRUST_PROXY", "true"), ("TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err();
        assert_eq!(err.key, "TRUSTED_PROXIES");
        let err = load(&[("TRUSTED_PROXIES", "10.0.0.1")]).unwrap_err();
        assert_eq!(err.key, "TRUSTED_PROXIES");
        assert!(err.message.contains("TRUST_PROXY=true"), "{err}");
    }

    /// A `.env` line the parser cannot read stops the start like any bad setting: the key, the
    /// line, and how to write it.
    #[test]
    fn unreadable_dotenv_lines_name_the_key_the_line_and_the_fix() {
        let dir = tempfile::tempdir().unwrap();
        let load = |text: &str| {
            std::fs::write(dir.path().join(".env"), text).unwrap();
            Config::load(dir.path(), "demo")
        };
        let start = format!("# settings\nSECRET_KEY={KEY}\n\nPORT=9000\n");
        let err = load(&format!("{start}APP_NAME=Acme Widgets\nMAILER=dev\n")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "configuration key APP_NAME (.env line 5): the value has spaces, so it needs \
             quotes: APP_NAME=\"Acme Widgets\""
        );
        // Following the advice works.
        let config = load(&format!("{start}APP_NAME=\"Acme Widgets\"\nMAILER=dev\n")).unwrap();
        assert_eq!(config.app_name, "Acme Widgets");

        let err = load(&format!("{start}export MAIL_FROM=Acme <a@b.test> # ours\n")).unwrap_err();
        assert_eq!(err.key, "MAIL_FROM");
        assert_eq!(err.origin, ".env line 5");
        assert!(
            err.message.ends_with("MAIL_FROM=\"Acme <a@b.test>\""),
            "{err}"
        );
        let err = load(&format!("{start}SMTP_PASSWORD=a b$c\"d\n")).unwrap_err();
        assert!(err.message.ends_with("SMTP_PASSWORD='a b$c\"d'"), "{err}");
        let err = load(&format!("{start}APP_NAME=\"Acme\n")).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.origin.as_str()),
            ("APP_NAME", ".env line 5")
        );
        assert!(err.message.contains("does not close it"), "{err}");
        let err = load(&format!("{start}just words\n")).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.origin.as_str()),
            (".env", ".env line 5")
        );
        assert!(err.message.contains("expected KEY=value"), "{err}");
        let err = load(&format!("{start}APP-NAME=x\n")).unwrap_err();
        assert_eq!(err.origin, ".env line 5");
        assert!(err.message.contains("not a setting name"), "{err}");
        // The same value twice: the line that fails is named, not the first.
        let err = load(&format!("{start}APP_NAME=\"a b\"\nCONTACT_EMAIL=a b\n")).unwrap_err();
        assert_eq!(
            (err.key.as_str(), err.origin.as_str()),
            ("CONTACT_EMAIL", ".env line 6")
        );
    }
}
