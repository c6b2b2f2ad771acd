use std::path::Path;

use quickscale_domain_credits::Credits;
use quickscale_domain_identity::LockoutPolicy;
use time::Duration;

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

fn load_with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
    let mut all = vec![("SECRET_KEY", KEY)];
    all.extend_from_slice(pairs);
    Config::from_pairs(Path::new("/p"), "demo", &all)
}

/// A bad value of `key` is reported under `key`, with the value and where it came from.
fn refused_under_its_own_key(key: &str, value: &str) -> ConfigError {
    let err = load_with(&[(key, value)]).unwrap_err();
    assert_eq!(err.key, key, "{key}={value}: {err}");
    assert_eq!(err.origin, "given", "{err}");
    assert!(err.message.contains(value), "{err}");
    err
}

#[test]
fn a_bad_lockout_attempts_is_reported_under_lockout_attempts() {
    let err = refused_under_its_own_key("LOCKOUT_ATTEMPTS", "30");
    assert!(err.message.contains("from 3 to 20"), "{err}");
}

#[test]
fn a_bad_lockout_window_is_reported_under_lockout_window_minutes() {
    for value in ["0", "1441", "soon"] {
        let err = refused_under_its_own_key("LOCKOUT_WINDOW_MINUTES", value);
        assert!(err.message.contains("minutes from 1 to 1440"), "{err}");
    }
}

#[test]
fn a_bad_lockout_duration_is_reported_under_lockout_minutes() {
    for value in ["0", "1441", "-5"] {
        let err = refused_under_its_own_key("LOCKOUT_MINUTES", value);
        assert!(err.message.contains("minutes from 1 to 1440"), "{err}");
    }
}

#[test]
fn a_bad_throttle_is_reported_under_its_own_keys() {
    let err = refused_under_its_own_key("LOCKOUT_THROTTLE_AFTER", "1001");
    assert!(
        err.message.contains("from LOCKOUT_ATTEMPTS to 1000"),
        "{err}"
    );
    refused_under_its_own_key("LOCKOUT_THROTTLE_MAX_SECONDS", "3601");
}

#[test]
fn smtp_security_is_a_choice_and_an_unknown_one_stops_the_start() {
    let smtp = |security: &str| {
        load_with(&[
            ("MAILER", "smtp"),
            ("SMTP_HOST", "mail.test"),
            ("SMTP_SECURITY", security),
        ])
    };
    let err = smtp("ssl").unwrap_err();
    assert_eq!(err.key, "SMTP_SECURITY");
    assert_eq!(
        err.message, "expected starttls, tls or none, got \"ssl\"",
        "{err}"
    );
    // Every word the table allows is a security the adapter knows, with its usual port.
    let Kind::Choice(words) = setting("SMTP_SECURITY").unwrap().kind else {
        panic!("SMTP_SECURITY is a choice");
    };
    for security in SmtpSecurity::ALL {
        assert!(words.contains(&security.as_str()), "{security}");
    }
    for word in words {
        let config = smtp(word).unwrap();
        let MailTransport::Smtp { security, port, .. } = config.mail else {
            panic!("{:?}", config.mail);
        };
        assert_eq!(security.as_str(), *word);
        assert_eq!(port, if *word == "tls" { 465 } else { 587 });
    }
    let MailTransport::Smtp { security, .. } = load_with(&[("MAILER", "smtp"), ("SMTP_HOST", "h")])
        .unwrap()
        .mail
    else {
        panic!("smtp");
    };
    assert_eq!(security, SmtpSecurity::StartTls, "the default");
}

#[test]
fn every_choice_the_table_allows_is_read_and_others_are_refused() {
    for word in ["pretty", "json"] {
        assert!(load_with(&[("LOG_FORMAT", word)]).is_ok(), "{word}");
    }
    let err = load_with(&[("LOG_FORMAT", "xml")]).unwrap_err();
    assert_eq!(err.message, "expected pretty or json, got \"xml\"");
    for row in SETTINGS {
        let Kind::Choice(words) = row.kind else {
            continue;
        };
        for word in words {
            // The SMTP settings are read with MAILER=smtp, which needs a host.
            let mut pairs = vec![("SMTP_HOST", "mail.test")];
            if row.key.starts_with("SMTP_") {
                pairs.push(("MAILER", "smtp"));
            }
            // RATE_LIMITS=redis and QUEUE=redis need a server.
            if row.key == "RATE_LIMITS" || row.key == "QUEUE" {
                pairs.push(("REDIS_URL", "redis://127.0.0.1:6379"));
            }
            pairs.push((row.key, *word));
            assert!(load_with(&pairs).is_ok(), "{}={word}", row.key);
        }
    }
}

/// The table's defaults are values the parser accepts, and the ones the code also states
/// (the feature flags, the lockout policy) agree with it.
#[test]
fn the_table_defaults_are_valid_and_agree_with_the_code() {
    let mut keys: Vec<&str> = SETTINGS.iter().map(|s| s.key).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), SETTINGS.len(), "a key is listed twice");
    for row in SETTINGS {
        assert!(
            row.key
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_'),
            "{}",
            row.key
        );
        assert!(!row.doc.is_empty(), "{}", row.key);
        match (row.kind, row.default) {
            (Kind::Integer(_, range), Fallback::Value(value)) => {
                let n: i64 = value.parse().unwrap();
                assert!((range.min..=range.max).contains(&n), "{}", row.key);
            }
            (Kind::Choice(words), Fallback::Value(value)) => {
                assert!(words.contains(&value), "{}", row.key);
            }
            (Kind::Flag, Fallback::Value(value)) => {
                assert!(["true", "false"].contains(&value), "{}", row.key);
            }
            (Kind::Flag | Kind::Choice(_), other) => {
                panic!("{} needs a default value, has {other:?}", row.key)
            }
            _ => {}
        }
    }
    let config = load_with(&[]).unwrap();
    assert_eq!(config.flags, Flags::default());
    assert_eq!(config.lockout, LockoutPolicy::default());
    assert_eq!(config.log_format, LogFormat::Pretty);
    assert!(matches!(config.mail, MailTransport::Dev));
    assert_eq!(config.database_max_connections, 10);
    assert_eq!(config.session_inactivity, Duration::days(14));
    assert_eq!(config.verification_ttl, Duration::hours(72));
    assert_eq!(config.reset_ttl, Duration::minutes(60));
    assert_eq!(config.host, IpAddr::from([127, 0, 0, 1]));
    assert_eq!(config.base_url, "http://127.0.0.1:8000");
    assert_eq!(config.admin_email.as_str(), "admin@example.com");
    assert_eq!(config.contact_email, config.admin_email);
    assert_eq!(config.app_name, "demo");
    assert_eq!(config.mail_from, "demo <no-reply@localhost>");
    let llm = load_with(&[("LLM_BASE_URL", "http://127.0.0.1:2/v1")])
        .unwrap()
        .llm
        .unwrap();
    assert_eq!(
        (llm.model.as_str(), llm.timeout),
        ("gpt-4o-mini", std::time::Duration::from_secs(30))
    );
    let stripe = load_with(&[
        ("ENABLE_STRIPE", "true"),
        ("STRIPE_SECRET_KEY", "sk_test_1"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_1"),
    ])
    .unwrap()
    .stripe;
    assert!(
        matches!(stripe, Some(StripeMode::Live { ref api_base, .. }) if api_base == "https://api.stripe.com")
    );
}

/// The settings tables of docs/configuration.md are the ones the table generates.
#[test]
fn the_configuration_doc_lists_the_settings_table() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    let generated = with_generated_settings(&doc).unwrap_or_else(|| {
        panic!("docs/configuration.md has no line {DOC_START:?} followed by {DOC_END:?}")
    });
    if generated != doc {
        let difference = doc
            .lines()
            .zip(generated.lines())
            .find(|(written, wanted)| written != wanted)
            .map_or_else(String::new, |(written, wanted)| {
                format!("\nthe doc says:\n{written}\nthe table gives:\n{wanted}")
            });
        panic!(
            "docs/configuration.md does not list the settings table: run `cargo run -p \
             quickscale-app-web --example settings_doc` to regenerate it{difference}"
        );
    }
    for row in SETTINGS {
        assert!(doc.contains(&format!("| `{}` |", row.key)), "{}", row.key);
    }
}

#[test]
fn a_summary_states_the_meaning_the_allowed_values_and_the_default() {
    let row = setting("LOCKOUT_MINUTES").unwrap();
    assert_eq!(
        row.summary(),
        "how long a locked-out address stays locked out (1 to 1440; default 15)"
    );
    assert_eq!(
        setting("SECRET_KEY").unwrap().summary(),
        "at least 32 random characters; quickscale init writes one; it signs visitors' CSRF tokens (required)"
    );
}

/// `RATE_LIMITS=auto` shares the budgets where instances can share them: Redis when
/// `REDIS_URL` is set, else PostgreSQL, else the process; an explicit choice that cannot work is
/// refused under its key.
#[test]
fn rate_limits_are_kept_where_instances_can_share_them() {
    let pg = ("DATABASE_URL", "postgres://u@localhost/app");
    let redis = ("REDIS_URL", "redis://127.0.0.1:6379/1");
    let backend = |pairs: &[(&str, &str)]| load_with(pairs).unwrap().rate_limits;
    assert_eq!(
        backend(&[]),
        RateLimitBackend::Process,
        "SQLite: one process"
    );
    assert_eq!(backend(&[pg]), RateLimitBackend::Database);
    assert!(
        matches!(backend(&[pg, redis]), RateLimitBackend::Redis(url) if url.expose() == redis.1)
    );
    assert!(matches!(backend(&[redis]), RateLimitBackend::Redis(_)));
    assert_eq!(
        backend(&[pg, redis, ("RATE_LIMITS", "process")]),
        RateLimitBackend::Process
    );
    assert_eq!(
        backend(&[("RATE_LIMITS", "database")]),
        RateLimitBackend::Database
    );
    for (pairs, key) in [
        (&[("RATE_LIMITS", "redis")][..], "RATE_LIMITS"),
        (
            &[("RATE_LIMITS", "database"), ("DATABASE_URL", "memory")][..],
            "RATE_LIMITS",
        ),
        (&[("REDIS_URL", "http://127.0.0.1:6379")][..], "REDIS_URL"),
    ] {
        assert_eq!(load_with(pairs).unwrap_err().key, key, "{pairs:?}");
    }
}

/// `QUEUE=auto` keeps the queue in the database even when a Redis server is set (for the rate
/// limits); `redis` moves it there and needs `REDIS_URL`, refused under `QUEUE` otherwise.
#[test]
fn the_queue_is_kept_in_the_database_unless_redis_is_chosen() {
    let pg = ("DATABASE_URL", "postgres://u@localhost/app");
    let redis = ("REDIS_URL", "redis://127.0.0.1:6379/2");
    let queue = |pairs: &[(&str, &str)]| load_with(pairs).unwrap().queue;
    assert_eq!(queue(&[]), QueueBackend::Database);
    assert_eq!(queue(&[pg, redis]), QueueBackend::Database);
    assert_eq!(
        queue(&[redis, ("QUEUE", "database")]),
        QueueBackend::Database
    );
    assert!(
        matches!(queue(&[redis, ("QUEUE", "redis")]), QueueBackend::Redis(url) if url.expose() == redis.1)
    );
    assert!(matches!(
        queue(&[pg, redis, ("QUEUE", "redis"), ("RATE_LIMITS", "database")]),
        QueueBackend::Redis(_)
    ));
    let error = load_with(&[("QUEUE", "redis")]).unwrap_err();
    assert_eq!(error.key, "QUEUE");
    assert_eq!(error.message, "is redis, but REDIS_URL is not set");
    assert_eq!(load_with(&[("QUEUE", "kafka")]).unwrap_err().key, "QUEUE");
    assert_eq!(
        load_with(&[("QUEUE", "redis"), ("REDIS_URL", "http://127.0.0.1")])
            .unwrap_err()
            .key,
        "REDIS_URL"
    );
}

/// Every key the app writes to Redis starts with `REDIS_PREFIX` (`quickscale:` unless set, or
/// set empty); one with spaces, or too long, is refused.
#[test]
fn the_redis_prefix_is_read_and_checked() {
    assert_eq!(load_with(&[]).unwrap().redis_prefix, "quickscale:");
    assert_eq!(
        load_with(&[("REDIS_PREFIX", "")]).unwrap().redis_prefix,
        "quickscale:"
    );
    assert_eq!(
        load_with(&[("REDIS_PREFIX", "shop-a:")])
            .unwrap()
            .redis_prefix,
        "shop-a:"
    );
    for bad in ["two words", &"x".repeat(65)] {
        assert_eq!(
            load_with(&[("REDIS_PREFIX", bad)]).unwrap_err().key,
            "REDIS_PREFIX",
            "{bad:?}"
        );
    }
}
