//! The table of settings: every key the app reads, with its type, allowed values, default and
//! meaning. The parser reads each value through its row (type, range, default), and the
//! settings tables of docs/configuration.md are generated from it
//! (`cargo run -p quickscale-app-web --example settings_doc`).

use std::fmt::Write as _;

/// One setting.
#[derive(Clone, Copy, Debug)]
pub struct Setting {
    /// The upper-case name (`quickscale.toml` may spell it in lower case).
    pub key: &'static str,
    /// Where the documentation lists it.
    pub section: Section,
    /// What it holds, with the allowed values where they are limited.
    pub kind: Kind,
    /// What applies when it is unset.
    pub default: Fallback,
    /// What it does, in one sentence (Markdown: `code` only, no links).
    pub doc: &'static str,
}

/// What a setting holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Any text.
    Text,
    /// Text that is never printed.
    Secret,
    /// An `http://` or `https://` address.
    Url,
    /// An email address.
    Email,
    /// An IPv4 or IPv6 address.
    IpAddress,
    /// `sqlite://PATH`, `postgres://...` or `memory`.
    DatabaseUrl,
    /// A whole number in a range.
    Integer(Unit, Range),
    /// An amount of credits (two decimals at most).
    Credits,
    /// `true` or `false` (also `1`/`0`, `yes`/`no`, `on`/`off`).
    Flag,
    /// One of these words.
    Choice(&'static [&'static str]),
    /// IP addresses or CIDR ranges, separated by commas.
    Networks,
}

/// What a whole number counts, for messages and the documentation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    Number,
    Port,
    Days,
    Hours,
    Minutes,
    Seconds,
    Milliseconds,
}

impl Unit {
    /// How an error message names a value of this unit ("expected minutes from 1 to 1440").
    pub fn noun(self) -> &'static str {
        match self {
            Unit::Number => "a number",
            Unit::Port => "a port number",
            Unit::Days => "a number of days",
            Unit::Hours => "hours",
            Unit::Minutes => "minutes",
            Unit::Seconds => "seconds",
            Unit::Milliseconds => "milliseconds",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Unit::Number => "integer",
            Unit::Port => "port",
            Unit::Days => "days",
            Unit::Hours => "hours",
            Unit::Minutes => "minutes",
            Unit::Seconds => "seconds",
            Unit::Milliseconds => "milliseconds",
        }
    }
}

/// The allowed values of a whole number, both ends included.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Range {
    pub min: i64,
    pub max: i64,
    /// Another setting whose value is a higher lower bound than `min` (and raises the default
    /// to it).
    pub at_least: Option<&'static str>,
}

impl Range {
    const fn new(min: i64, max: i64) -> Self {
        Range {
            min,
            max,
            at_least: None,
        }
    }

    /// "1 to 1440", or "LOCKOUT_ATTEMPTS to 1000".
    pub fn describe(&self) -> String {
        match self.at_least {
            Some(key) => format!("{key} to {}", self.max),
            None => format!("{} to {}", self.min, self.max),
        }
    }
}

/// What applies when a setting is unset (or empty).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fallback {
    /// This value, read and checked like a value that was set.
    Value(&'static str),
    /// Worked out at start, as described here.
    Derived(&'static str),
    /// Nothing: the meaning says what being unset does.
    Unset,
    /// The app does not start without it.
    Required,
}

/// The groups the documentation lists settings in, in order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    App,
    Database,
    Accounts,
    Lockout,
    Features,
    Email,
    Billing,
    Llm,
    Operations,
    Jobs,
}

impl Section {
    pub const ALL: [Section; 10] = [
        Section::App,
        Section::Database,
        Section::Accounts,
        Section::Lockout,
        Section::Features,
        Section::Email,
        Section::Billing,
        Section::Llm,
        Section::Operations,
        Section::Jobs,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Section::App => "The app",
            Section::Database => "Database",
            Section::Accounts => "Accounts and sessions",
            Section::Lockout => "Sign-in lockout",
            Section::Features => "Features",
            Section::Email => "Email",
            Section::Billing => "Billing",
            Section::Llm => "The AI service",
            Section::Operations => "Operations (metrics)",
            Section::Jobs => "Background jobs",
        }
    }
}

const fn integer(unit: Unit, min: i64, max: i64) -> Kind {
    Kind::Integer(unit, Range::new(min, max))
}

/// Every setting the app reads. Only these are read from the environment, and only these are
/// accepted in `quickscale.toml`.
pub const SETTINGS: &[Setting] = &[
    Setting {
        key: "APP_NAME",
        section: Section::App,
        kind: Kind::Text,
        default: Fallback::Derived("the project's name"),
        doc: "the product name shown in pages and emails",
    },
    Setting {
        key: "HOST",
        section: Section::App,
        kind: Kind::IpAddress,
        default: Fallback::Value("127.0.0.1"),
        doc: "the address to listen on",
    },
    Setting {
        key: "PORT",
        section: Section::App,
        kind: integer(Unit::Port, 1, 65535),
        default: Fallback::Value("8000"),
        doc: "the port to listen on",
    },
    Setting {
        key: "BASE_URL",
        section: Section::App,
        kind: Kind::Url,
        default: Fallback::Derived("`http://HOST:PORT`"),
        doc: "the public address, used in emails; `https://` makes cookies Secure",
    },
    Setting {
        key: "SECRET_KEY",
        section: Section::App,
        kind: Kind::Secret,
        default: Fallback::Required,
        doc: "at least 32 random characters; `quickscale init` writes one; it signs visitors' CSRF tokens",
    },
    Setting {
        key: "LOG_FORMAT",
        section: Section::App,
        kind: Kind::Choice(&["pretty", "json"]),
        default: Fallback::Value("pretty"),
        doc: "how logs are written",
    },
    Setting {
        key: "TRUST_PROXY",
        section: Section::App,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "take the client address from `X-Forwarded-For` (only behind your own proxy; see \
              The client's address below)",
    },
    Setting {
        key: "TRUSTED_PROXIES",
        section: Section::App,
        kind: Kind::Networks,
        default: Fallback::Derived("only the direct peer"),
        doc: "the addresses or CIDR ranges of your proxies, comma-separated; needs `TRUST_PROXY`",
    },
    Setting {
        key: "DATABASE_URL",
        section: Section::Database,
        kind: Kind::DatabaseUrl,
        default: Fallback::Value("sqlite://data/app.db"),
        doc: "where the data lives: a SQLite file (a relative path is under the project), \
              PostgreSQL, or `memory` (gone when the app stops)",
    },
    Setting {
        key: "DATABASE_MAX_CONNECTIONS",
        section: Section::Database,
        kind: integer(Unit::Number, 1, 500),
        default: Fallback::Value("10"),
        doc: "the PostgreSQL pool size",
    },
    Setting {
        key: "RATE_LIMITS",
        section: Section::Database,
        kind: Kind::Choice(&["auto", "process", "database", "redis"]),
        default: Fallback::Value("auto"),
        doc: "where the rate limits' budgets are kept: `process` counts in each instance alone; \
              `database` and `redis` share them between instances; `auto` is `redis` when \
              `REDIS_URL` is set, else `database` on PostgreSQL, else `process` (see \
              docs/scaling.md)",
    },
    Setting {
        key: "REDIS_URL",
        section: Section::Database,
        kind: Kind::Secret,
        default: Fallback::Unset,
        doc: "a Redis server, `redis://[:PASSWORD@]HOST[:PORT][/DB]` or `redis+unix://PATH`; \
              with `RATE_LIMITS=auto` or `redis` the rate limits are kept there, and with \
              `QUEUE=redis` the job queue",
    },
    Setting {
        key: "REDIS_PREFIX",
        section: Section::Database,
        kind: Kind::Text,
        default: Fallback::Value("quickscale:"),
        doc: "what every key the app writes to Redis starts with (`<prefix>rate:...`, \
              `<prefix>jobs:...`); give each app sharing a Redis server its own",
    },
    Setting {
        key: "WORKERS",
        section: Section::Jobs,
        kind: Kind::Flag,
        default: Fallback::Value("true"),
        doc: "whether `serve` also runs the job workers (email delivery, webhook retries, \
              scheduled chores); `false` serves web requests only, for when `worker` processes \
              run the jobs",
    },
    Setting {
        key: "QUEUE",
        section: Section::Jobs,
        kind: Kind::Choice(&["auto", "database", "redis"]),
        default: Fallback::Value("auto"),
        doc: "where the job queue is kept: `database` (the SQLite file or PostgreSQL, as \
              `DATABASE_URL` says) or `redis` (the server at `REDIS_URL`); `auto` is \
              `database` (see docs/jobs.md)",
    },
    Setting {
        key: "WORKER_CONCURRENCY",
        section: Section::Jobs,
        kind: integer(Unit::Number, 1, 64),
        default: Fallback::Value("4"),
        doc: "how many jobs one process runs at a time",
    },
    Setting {
        key: "JOBS_POLL_MS",
        section: Section::Jobs,
        kind: integer(Unit::Milliseconds, 10, 60000),
        default: Fallback::Value("500"),
        doc: "how long an idle worker waits before looking for due jobs again",
    },
    Setting {
        key: "ADMIN_EMAIL",
        section: Section::Accounts,
        kind: Kind::Email,
        default: Fallback::Value("admin@example.com"),
        doc: "the admin account created at start",
    },
    Setting {
        key: "ADMIN_PASSWORD",
        section: Section::Accounts,
        kind: Kind::Secret,
        default: Fallback::Derived("generated and printed once"),
        doc: "its password, at least 8 characters",
    },
    Setting {
        key: "CONTACT_EMAIL",
        section: Section::Accounts,
        kind: Kind::Email,
        default: Fallback::Derived("`ADMIN_EMAIL`"),
        doc: "where contact form messages go",
    },
    Setting {
        key: "WELCOME_CREDITS",
        section: Section::Accounts,
        kind: Kind::Credits,
        default: Fallback::Value("100"),
        doc: "credits granted to each new account at registration (0 disables); a change \
              applies to accounts registered afterwards",
    },
    Setting {
        key: "SESSION_DAYS",
        section: Section::Accounts,
        kind: integer(Unit::Days, 1, 365),
        default: Fallback::Value("14"),
        doc: "days of inactivity before a session ends",
    },
    Setting {
        key: "REQUIRE_EMAIL_VERIFICATION",
        section: Section::Accounts,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "accounts must verify their email",
    },
    Setting {
        key: "REGISTRATION_REVEALS_EXISTING_EMAILS",
        section: Section::Accounts,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "with `REQUIRE_EMAIL_VERIFICATION`, answer a registration with a taken email by \
              saying so, and sign new accounts in at once: **reveals which emails have \
              accounts** (see Accounts below)",
    },
    Setting {
        key: "VERIFICATION_TOKEN_HOURS",
        section: Section::Accounts,
        kind: integer(Unit::Hours, 1, 720),
        default: Fallback::Value("72"),
        doc: "how long an email verification link works",
    },
    Setting {
        key: "RESET_TOKEN_MINUTES",
        section: Section::Accounts,
        kind: integer(Unit::Minutes, 5, 1440),
        default: Fallback::Value("60"),
        doc: "how long a password reset link works",
    },
    Setting {
        key: "LOCKOUT_ATTEMPTS",
        section: Section::Lockout,
        kind: integer(Unit::Number, 3, 20),
        default: Fallback::Value("5"),
        doc: "failed sign-ins from one client address that lock that address out of the account",
    },
    Setting {
        key: "LOCKOUT_WINDOW_MINUTES",
        section: Section::Lockout,
        kind: integer(Unit::Minutes, 1, 1440),
        default: Fallback::Value("15"),
        doc: "the window in which one address's failures are counted",
    },
    Setting {
        key: "LOCKOUT_MINUTES",
        section: Section::Lockout,
        kind: integer(Unit::Minutes, 1, 1440),
        default: Fallback::Value("15"),
        doc: "how long a locked-out address stays locked out",
    },
    Setting {
        key: "LOCKOUT_THROTTLE_AFTER",
        section: Section::Lockout,
        kind: Kind::Integer(
            Unit::Number,
            Range {
                min: 3,
                max: 1000,
                at_least: Some("LOCKOUT_ATTEMPTS"),
            },
        ),
        default: Fallback::Value("10"),
        doc: "failures on an account from all addresses after which every attempt on it waits \
              a doubling delay (the default is never below `LOCKOUT_ATTEMPTS`)",
    },
    Setting {
        key: "LOCKOUT_THROTTLE_MAX_SECONDS",
        section: Section::Lockout,
        kind: integer(Unit::Seconds, 1, 3600),
        default: Fallback::Value("300"),
        doc: "the longest of those delays",
    },
    Setting {
        key: "ENABLE_STRIPE",
        section: Section::Features,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "billing pages and routes",
    },
    Setting {
        key: "ENABLE_SUBSCRIPTIONS",
        section: Section::Features,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "subscription plans with credits each period; needs `ENABLE_STRIPE`",
    },
    Setting {
        key: "ENABLE_API",
        section: Section::Features,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "the JSON API at `/api/v1` and API keys in settings (see docs/api.md)",
    },
    Setting {
        key: "API_RATE_PER_MINUTE",
        section: Section::Features,
        kind: integer(Unit::Number, 1, 1_000_000),
        default: Fallback::Value("120"),
        doc: "requests a minute each API key may make once its burst is spent, for users whose \
              plan sets no `api_requests_per_minute` (a key may have a lower rate of its own)",
    },
    Setting {
        key: "API_RATE_BURST",
        section: Section::Features,
        kind: integer(Unit::Number, 1, 1_000_000),
        default: Fallback::Value("60"),
        doc: "requests each API key may make at once (a key whose plan or own rate is another \
              gets at most its rate a minute at once)",
    },
    Setting {
        key: "ENABLE_SERVICE_MARKETPLACE",
        section: Section::Features,
        kind: Kind::Flag,
        default: Fallback::Value("true"),
        doc: "the services pages",
    },
    Setting {
        key: "MAILER",
        section: Section::Email,
        kind: Kind::Choice(&["dev", "smtp"]),
        default: Fallback::Value("dev"),
        doc: "`dev` keeps email in the outbox and the log only; `smtp` sends it",
    },
    Setting {
        key: "MAIL_FROM",
        section: Section::Email,
        kind: Kind::Text,
        default: Fallback::Derived("`APP_NAME <no-reply@localhost>`"),
        doc: "the sender of every email",
    },
    Setting {
        key: "SMTP_HOST",
        section: Section::Email,
        kind: Kind::Text,
        default: Fallback::Unset,
        doc: "the mail server; required with `MAILER=smtp`",
    },
    Setting {
        key: "SMTP_PORT",
        section: Section::Email,
        kind: integer(Unit::Port, 1, 65535),
        default: Fallback::Derived("587, or 465 with `SMTP_SECURITY=tls`"),
        doc: "its port",
    },
    Setting {
        key: "SMTP_SECURITY",
        section: Section::Email,
        kind: Kind::Choice(&["starttls", "tls", "none"]),
        default: Fallback::Value("starttls"),
        doc: "STARTTLS, implicit TLS, or none for a local relay",
    },
    Setting {
        key: "SMTP_USERNAME",
        section: Section::Email,
        kind: Kind::Text,
        default: Fallback::Unset,
        doc: "the mail server's user name, if it wants one",
    },
    Setting {
        key: "SMTP_PASSWORD",
        section: Section::Email,
        kind: Kind::Secret,
        default: Fallback::Unset,
        doc: "its password",
    },
    Setting {
        key: "SMTP_TIMEOUT_SECONDS",
        section: Section::Email,
        kind: integer(Unit::Seconds, 1, 120),
        default: Fallback::Value("15"),
        doc: "how long one delivery may take",
    },
    Setting {
        key: "STRIPE_SECRET_KEY",
        section: Section::Billing,
        kind: Kind::Secret,
        default: Fallback::Unset,
        doc: "`sk_...` or `rk_...`; unset with `ENABLE_STRIPE` starts the offline stand-in",
    },
    Setting {
        key: "STRIPE_WEBHOOK_SECRET",
        section: Section::Billing,
        kind: Kind::Secret,
        default: Fallback::Unset,
        doc: "`whsec_...` (comma-separated during a rotation); required with `STRIPE_SECRET_KEY`",
    },
    Setting {
        key: "STRIPE_API_BASE",
        section: Section::Billing,
        kind: Kind::Url,
        default: Fallback::Value("https://api.stripe.com"),
        doc: "the Stripe API address",
    },
    Setting {
        key: "LLM_BASE_URL",
        section: Section::Llm,
        kind: Kind::Url,
        default: Fallback::Unset,
        doc: "an OpenAI-compatible API such as `https://api.openai.com/v1`; unset hides the AI \
              service",
    },
    Setting {
        key: "LLM_MODEL",
        section: Section::Llm,
        kind: Kind::Text,
        default: Fallback::Value("gpt-4o-mini"),
        doc: "the chat model to use",
    },
    Setting {
        key: "LLM_API_KEY",
        section: Section::Llm,
        kind: Kind::Secret,
        default: Fallback::Unset,
        doc: "the API key for `LLM_BASE_URL`",
    },
    Setting {
        key: "LLM_TIMEOUT_SECONDS",
        section: Section::Llm,
        kind: integer(Unit::Seconds, 1, 600),
        default: Fallback::Value("30"),
        doc: "how long a model may take",
    },
    Setting {
        key: "METRICS_PORT",
        section: Section::Operations,
        kind: integer(Unit::Port, 1, 65535),
        default: Fallback::Unset,
        doc: "serve Prometheus metrics at `/metrics` on this port of `HOST` (with \
              `METRICS_TOKEN` too, that port asks for the token); unset with `METRICS_TOKEN` \
              unset, there are no metrics (see docs/operations.md)",
    },
    Setting {
        key: "METRICS_TOKEN",
        section: Section::Operations,
        kind: Kind::Secret,
        default: Fallback::Unset,
        doc: "at least 16 characters: serve `/metrics` to requests with \
              `Authorization: Bearer <token>` (on the app's port unless `METRICS_PORT` is set)",
    },
    Setting {
        key: "API_MONTHLY_CREDITS",
        section: Section::Features,
        kind: Kind::Credits,
        default: Fallback::Unset,
        doc: "the most credits a user's API keys may spend together in a calendar month (UTC), \
              for users whose plan sets no `api_monthly_credits`; unset, no bound (each key \
              may still have a cap of its own; see docs/api.md)",
    },
    Setting {
        key: "ALLOW_PRIVATE_WEBHOOKS",
        section: Section::Jobs,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "let users' webhooks reach loopback, private and link-local addresses (development \
              and tests only: in production a webhook could then reach inside your network)",
    },
    Setting {
        key: "WEBHOOK_RETRY_SECONDS",
        section: Section::Jobs,
        kind: integer(Unit::Seconds, 1, 3600),
        default: Fallback::Value("30"),
        doc: "the wait before a failed webhook delivery's second attempt; each later wait is four \
              times the one before (at most 6 hours), over 8 attempts in all",
    },
    Setting {
        key: "APP_ENV",
        section: Section::Operations,
        kind: Kind::Choice(&["development", "production"]),
        default: Fallback::Value("development"),
        doc: "`production` makes `serve` refuse to start, and `check` fail, on settings unsafe \
              in production (an `http://` `BASE_URL`, a development `SECRET_KEY`, `MAILER=dev`, \
              the offline Stripe stand-in ...; see docs/deploy.md)",
    },
    Setting {
        key: "OTEL_EXPORTER_OTLP_ENDPOINT",
        section: Section::Operations,
        kind: Kind::Url,
        default: Fallback::Unset,
        doc: "send traces over OTLP/HTTP (protobuf) to this collector (`/v1/traces` is appended); \
              unset, no tracing is installed (see docs/operations.md)",
    },
    Setting {
        key: "OTEL_SERVICE_NAME",
        section: Section::Operations,
        kind: Kind::Text,
        default: Fallback::Value("quickscale"),
        doc: "the `service.name` the traces carry",
    },
    Setting {
        key: "OTEL_TRUST_INCOMING_TRACEPARENT",
        section: Section::Operations,
        kind: Kind::Flag,
        default: Fallback::Value("false"),
        doc: "with traces on, a request's W3C `traceparent` header makes its span continue the \
              caller's trace; turn on only behind a gateway of yours that sets or strips it (any \
              client could otherwise choose the trace it joins and turn its sampling off)",
    },
    Setting {
        key: "SENTRY_DSN",
        section: Section::Operations,
        kind: Kind::Secret,
        default: Fallback::Unset,
        doc: "report panics and 5xx answers to this Sentry project (`https://KEY@HOST/PROJECT`), \
              scrubbed of emails, passwords, tokens, cookies and bodies; unset, nothing is sent",
    },
];

/// The row of `key`, if the app reads it.
pub fn setting(key: &str) -> Option<&'static Setting> {
    SETTINGS.iter().find(|s| s.key == key)
}

impl Kind {
    fn name(&self) -> String {
        match self {
            Kind::Text => "text".into(),
            Kind::Secret => "secret".into(),
            Kind::Url => "URL".into(),
            Kind::Email => "email address".into(),
            Kind::IpAddress => "IP address".into(),
            Kind::DatabaseUrl => "database URL".into(),
            Kind::Integer(unit, _) => unit.name().into(),
            Kind::Credits => "credits".into(),
            Kind::Flag => "flag".into(),
            Kind::Choice(_) => "choice".into(),
            Kind::Networks => "addresses".into(),
        }
    }

    /// The allowed values, where they are limited.
    fn allowed(&self) -> String {
        match self {
            Kind::Integer(_, range) => match range.at_least {
                Some(key) => format!("`{key}` to {}", range.max),
                None => range.describe(),
            },
            Kind::Choice(words) => words
                .iter()
                .map(|w| format!("`{w}`"))
                .collect::<Vec<_>>()
                .join(", "),
            Kind::DatabaseUrl => "`sqlite://PATH`, `postgres://...`, `memory`".into(),
            Kind::Flag => "`true`, `false`".into(),
            Kind::Networks => "IPs and CIDR ranges, comma-separated".into(),
            _ => String::new(),
        }
    }
}

impl Fallback {
    fn describe(&self) -> String {
        match self {
            Fallback::Value(value) => format!("`{value}`"),
            Fallback::Derived(text) => (*text).to_owned(),
            Fallback::Unset => "unset".into(),
            Fallback::Required => "required".into(),
        }
    }
}

impl Setting {
    /// The setting in one line of plain text, for comments in `.env` files: the meaning, then
    /// the allowed values and the default in brackets.
    pub fn summary(&self) -> String {
        let plain = |text: &str| text.replace('`', "").replace("**", "");
        let mut notes = Vec::new();
        let allowed = plain(&self.kind.allowed());
        if !allowed.is_empty() {
            notes.push(allowed);
        }
        match self.default {
            Fallback::Value(value) => notes.push(format!("default {value}")),
            Fallback::Derived(text) => notes.push(format!("default {}", plain(text))),
            Fallback::Unset => {}
            Fallback::Required => notes.push("required".into()),
        }
        if notes.is_empty() {
            plain(self.doc)
        } else {
            format!("{} ({})", plain(self.doc), notes.join("; "))
        }
    }
}

/// The settings tables of docs/configuration.md: one per section.
pub fn settings_markdown() -> String {
    let mut out = String::new();
    for section in Section::ALL {
        let _ = write!(
            out,
            "### {}\n\n| key | type | allowed | default | meaning |\n|---|---|---|---|---|\n",
            section.title()
        );
        for setting in SETTINGS.iter().filter(|s| s.section == section) {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                setting.key,
                setting.kind.name(),
                setting.kind.allowed(),
                setting.default.describe(),
                setting.doc
            );
        }
        out.push('\n');
    }
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The line before the generated tables in docs/configuration.md.
pub const DOC_START: &str = "<!-- The settings tables below are generated from the table in \
                             crates/app-web/src/config/settings.rs: run `cargo run -p \
                             quickscale-app-web --example settings_doc` after changing it. -->";
/// The line after them.
pub const DOC_END: &str = "<!-- End of the generated settings tables. -->";

/// `doc` (docs/configuration.md) with the generated tables between [`DOC_START`] and
/// [`DOC_END`] replaced by what the table gives now; `None` without those lines.
pub fn with_generated_settings(doc: &str) -> Option<String> {
    let start = doc.find(DOC_START)? + DOC_START.len();
    let end = start + doc[start..].find(DOC_END)?;
    Some(format!(
        "{}\n\n{}\n{}",
        &doc[..start],
        settings_markdown(),
        &doc[end..]
    ))
}
