//! What production refuses: the settings that are fine on a developer's machine and unsafe on a
//! server (`APP_ENV=production`, `check --production`). Each finding names the setting and the
//! fix; `serve` in production refuses to start while any is left.

use std::fmt;
use std::str::FromStr;

use super::{Config, DatabaseUrl, MailTransport, ProxyTrust, StripeMode};

/// Where the app runs (`APP_ENV`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Environment {
    /// A developer's machine: every convenience allowed.
    #[default]
    Development,
    /// A server: `serve` refuses the settings [`Config::production_problems`] names.
    Production,
}

impl FromStr for Environment {
    type Err = ();

    fn from_str(name: &str) -> Result<Self, ()> {
        match name {
            "development" => Ok(Environment::Development),
            "production" => Ok(Environment::Production),
            _ => Err(()),
        }
    }
}

/// One setting that is unsafe in production, and what to do instead.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProductionProblem {
    /// The setting (or the page) at fault: `BASE_URL`, `SECRET_KEY`, `/dev/outbox` ...
    pub setting: &'static str,
    /// Why it is unsafe and how to fix it.
    pub message: String,
}

impl fmt::Display for ProductionProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

/// Words that mark a key someone typed or copied rather than generated.
const PLACEHOLDER_WORDS: [&str; 12] = [
    "change",
    "example",
    "insecure",
    "development",
    "dev-",
    "dev_",
    "test",
    "secret",
    "password",
    "dummy",
    "sample",
    "placeholder",
];

/// Whether `key` is a development key: shorter than 32 bytes, made of few distinct characters
/// (`aaaa...`), one pattern repeated (`0123456789abcdef` twice), or containing a placeholder word (`change-me`, `test`,
/// `secret` ...). A generated key (`openssl rand -hex 32`, what `quickscale init` writes) is
/// none of these.
pub fn is_development_secret(key: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    let mut distinct: Vec<char> = key.chars().collect();
    distinct.sort_unstable();
    distinct.dedup();
    let repeats_a_pattern = (1..=key.len() / 2).any(|period| {
        key.len().is_multiple_of(period)
            && key
                .as_bytes()
                .chunks(period)
                .all(|c| c == &key.as_bytes()[..period])
    });
    key.len() < 32
        || distinct.len() < 10
        || repeats_a_pattern
        || PLACEHOLDER_WORDS.iter().any(|w| lower.contains(w))
}

/// Whether the app runs for its developer: served over plain http on a loopback name, not
/// behind a proxy.
fn is_development(base_url: &str, behind_a_proxy: bool) -> bool {
    let Some(rest) = base_url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    !behind_a_proxy && quickscale_stripe_fake::local::is_loopback_host(authority)
}

impl Config {
    /// Whether the development pages (`/dev/outbox`, `/dev/components`) are served: plain http
    /// on a loopback name, and no proxy in front (requests must come from this machine too).
    pub fn serves_development_pages(&self) -> bool {
        is_development(&self.base_url, self.proxy_trust != ProxyTrust::None)
    }

    /// Every setting that is unsafe in production; empty when the configuration may serve the
    /// public.
    pub fn production_problems(&self) -> Vec<ProductionProblem> {
        let mut problems = Vec::new();
        let mut problem = |setting: &'static str, message: String| {
            problems.push(ProductionProblem { setting, message });
        };
        let https = self.base_url.starts_with("https://");
        if !https {
            problem(
                "BASE_URL",
                format!(
                    "{} is not https://: serve the app behind a TLS proxy and set BASE_URL to \
                     its https:// address (cookies are then Secure and HSTS is sent)",
                    self.base_url
                ),
            );
        }
        let key = self.secret_key.expose();
        if key.len() < 32 {
            problem(
                "SECRET_KEY",
                format!(
                    "is {} bytes; it needs at least 32 random ones (openssl rand -hex 32)",
                    key.len()
                ),
            );
        } else if is_development_secret(key) {
            problem(
                "SECRET_KEY",
                "is a development key (a placeholder word or too few distinct characters): \
                 generate one with openssl rand -hex 32 and keep it out of version control"
                    .into(),
            );
        }
        if matches!(self.mail, MailTransport::Dev) {
            problem(
                "MAILER",
                "is dev: emails stay in the outbox and nobody receives verification or reset \
                 links; set MAILER=smtp with SMTP_HOST (and SMTP_USERNAME, SMTP_PASSWORD)"
                    .into(),
            );
        }
        if matches!(self.stripe, Some(StripeMode::Offline)) {
            problem(
                "STRIPE_SECRET_KEY",
                "is unset with ENABLE_STRIPE=true: billing runs on the offline Stripe stand-in \
                 and takes no real money; set STRIPE_SECRET_KEY (sk_live_...) and \
                 STRIPE_WEBHOOK_SECRET"
                    .into(),
            );
        }
        if self.serves_development_pages() {
            problem(
                "/dev/outbox",
                format!(
                    "is served: BASE_URL {} is plain http on a loopback name with no proxy, \
                     which is how the development pages are enabled; set BASE_URL to the \
                     public https:// address",
                    self.base_url
                ),
            );
        }
        if https && !self.trust_proxy_decided {
            problem(
                "TRUST_PROXY",
                "is not set: BASE_URL is https:// and the app serves plain http, so a proxy \
                 ends TLS in front of it; set TRUST_PROXY=true (and TRUSTED_PROXIES to its \
                 address) to take client addresses from X-Forwarded-For, or TRUST_PROXY=false \
                 if the proxy does not send them"
                    .into(),
            );
        }
        if https && !self.secure_cookies {
            problem(
                "BASE_URL",
                "is https:// but cookies are not Secure (nor HSTS sent)".into(),
            );
        }
        if self.webhooks.allow_private {
            problem(
                "ALLOW_PRIVATE_WEBHOOKS",
                "is true: a user's webhook URL could reach loopback and private addresses \
                 inside your network; leave it unset in production (it is for development \
                 and tests)"
                    .into(),
            );
        }
        if self.database == DatabaseUrl::Memory {
            problem(
                "DATABASE_URL",
                "is memory: every account and credit is lost when the app stops; use \
                 PostgreSQL or a SQLite file on a volume"
                    .into(),
            );
        }
        problems
    }

    /// What the production checks found safe, for `check` to print with a tick.
    pub fn production_strengths(&self) -> Vec<String> {
        let mut strengths = Vec::new();
        if self.base_url.starts_with("https://") && self.secure_cookies {
            strengths.push(format!(
                "{} is https: cookies are Secure and Strict-Transport-Security is sent",
                self.base_url
            ));
        }
        strengths
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// A production configuration with nothing to refuse, and `changes` over it.
    fn config(changes: &[(&str, &str)]) -> Config {
        let mut pairs = vec![
            ("APP_ENV", "production"),
            (
                "SECRET_KEY",
                "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
            ),
            ("BASE_URL", "https://app.example.com"),
            ("TRUST_PROXY", "true"),
            ("TRUSTED_PROXIES", "127.0.0.1"),
            ("MAILER", "smtp"),
            ("SMTP_HOST", "smtp.example.com"),
            ("ENABLE_STRIPE", "true"),
            ("STRIPE_SECRET_KEY", "sk_live_abc"),
            ("STRIPE_WEBHOOK_SECRET", "whsec_abc"),
        ];
        for &(key, value) in changes {
            pairs.retain(|&(k, _)| k != key);
            if !value.is_empty() {
                pairs.push((key, value));
            }
        }
        Config::from_pairs(Path::new("/p"), "demo", &pairs).unwrap()
    }

    fn named(config: &Config) -> Vec<&'static str> {
        config
            .production_problems()
            .iter()
            .map(|p| p.setting)
            .collect()
    }

    #[test]
    fn a_safe_production_configuration_has_no_problem() {
        let config = config(&[]);
        assert_eq!(config.environment, Environment::Production);
        assert_eq!(config.production_problems(), vec![]);
        assert_eq!(config.production_strengths().len(), 1);
        assert!(config.secure_cookies);
        let no_stripe = self::config(&[
            ("ENABLE_STRIPE", "false"),
            ("STRIPE_SECRET_KEY", ""),
            ("STRIPE_WEBHOOK_SECRET", ""),
        ]);
        assert_eq!(no_stripe.production_problems(), vec![]);
        let no_proxy_header = self::config(&[("TRUST_PROXY", "false"), ("TRUSTED_PROXIES", "")]);
        assert_eq!(no_proxy_header.production_problems(), vec![]);
    }

    #[test]
    fn each_unsafe_setting_is_named() {
        assert_eq!(
            named(&config(&[("BASE_URL", "http://app.example.com")])),
            ["BASE_URL"]
        );
        assert_eq!(
            named(&config(&[(
                "SECRET_KEY",
                "change-me-change-me-change-me-change-me"
            )])),
            ["SECRET_KEY"]
        );
        assert_eq!(
            named(&config(&[("SECRET_KEY", "a".repeat(64).as_str())])),
            ["SECRET_KEY"]
        );
        assert_eq!(named(&config(&[("MAILER", "dev")])), ["MAILER"]);
        assert_eq!(
            named(&config(&[
                ("STRIPE_SECRET_KEY", ""),
                ("STRIPE_WEBHOOK_SECRET", "")
            ])),
            ["STRIPE_SECRET_KEY"]
        );
        assert_eq!(
            named(&config(&[("TRUST_PROXY", ""), ("TRUSTED_PROXIES", "")])),
            ["TRUST_PROXY"]
        );
        assert_eq!(
            named(&config(&[("DATABASE_URL", "memory")])),
            ["DATABASE_URL"]
        );
        assert_eq!(
            named(&config(&[("ALLOW_PRIVATE_WEBHOOKS", "true")])),
            ["ALLOW_PRIVATE_WEBHOOKS"]
        );
        // The development pages: plain http on this machine, no proxy, mail kept locally.
        let local = config(&[
            ("BASE_URL", "http://127.0.0.1:8000"),
            ("TRUST_PROXY", ""),
            ("TRUSTED_PROXIES", ""),
            ("MAILER", "dev"),
        ]);
        assert_eq!(named(&local), ["BASE_URL", "MAILER", "/dev/outbox"]);
        for problem in local.production_problems() {
            assert!(
                problem.to_string().starts_with(problem.setting),
                "{problem}"
            );
        }
    }

    #[test]
    fn a_short_key_is_named_with_its_length() {
        let mut config = config(&[]);
        config.secret_key = crate::config::Secret::new("k3Y9-q");
        let problems = config.production_problems();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("6 bytes"), "{}", problems[0]);
    }

    #[test]
    fn generated_keys_are_not_development_keys() {
        assert!(!is_development_secret(
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
        ));
        assert!(!is_development_secret("Zk3q9V7mN2pXr8Lc4Wb6Hy1Ju5Ta0Qe-"));
        for key in [
            "docker-test-secret-key-0123456789abcdef",
            "0123456789abcdef0123456789abcdef",
            "insecure-development-key-0123456789",
            "short",
        ] {
            assert!(is_development_secret(key), "{key}");
        }
    }

    #[test]
    fn development_means_a_loopback_base_url_without_a_proxy() {
        for url in [
            "http://127.0.0.1:8000",
            "http://localhost:8000/",
            "http://[::1]:8000",
            "http://app.localhost",
        ] {
            assert!(is_development(url, false), "{url}");
            assert!(!is_development(url, true), "{url} behind a proxy");
        }
        for url in [
            "https://localhost:8000",
            "http://localhost.evil.example",
            "http://127.0.0.1.evil.example:8000",
            "http://app.example.com",
            "http://0.0.0.0:8000",
        ] {
            assert!(!is_development(url, false), "{url}");
        }
    }
}
