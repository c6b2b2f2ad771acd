//! How a fake is set up: where it listens, where it sends webhooks, what it sells.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The settings of one [`FakeStripe`](crate::FakeStripe).
///
/// ```
/// let config = quickscale_stripe_fake::Config {
///     webhook_url: Some("http://127.0.0.1:8000/webhooks/stripe".into()),
///     ..quickscale_stripe_fake::Config::for_tests()
/// };
/// assert!(config.bind.port() == 0);
/// ```
#[derive(Debug, Clone)]
pub struct Config {
    /// Where to listen; port 0 picks a free port.
    pub bind: SocketAddr,
    /// The base of the URLs the fake hands out (checkout pages, portal, receipts); defaults to
    /// `http://<bound address>`. Set it when the fake runs behind another host name.
    pub public_url: Option<String>,
    /// Where events are POSTed; `None` records events without delivering them.
    pub webhook_url: Option<String>,
    /// The signing secret (`whsec_...`); `None` generates one (see [`Running::webhook_secret`]).
    ///
    /// [`Running::webhook_secret`]: crate::Running::webhook_secret
    pub webhook_secret: Option<String>,
    /// Delays before each retry of a failed delivery: `[1s, 5s]` means three attempts in all.
    pub retry_schedule: Vec<Duration>,
    /// How long one delivery waits for the endpoint's answer.
    pub webhook_timeout: Duration,
    /// How long a `timeout` fault holds a request before answering 500.
    pub fault_hang: Duration,
    /// How long a checkout session stays open (Stripe: 24 hours).
    pub session_ttl: Duration,
    /// Products with one price each (one-time, or recurring with [`CatalogItem::recurring`]),
    /// created at start.
    pub catalog: Vec<CatalogItem>,
    /// The `api_version` written into events.
    pub api_version: String,
    /// The business name shown on the hosted pages.
    pub account_name: String,
    /// Where the fake keeps its state between runs (see the crate's README); `None` keeps it in
    /// memory only. One running fake at a time uses a state file.
    pub state_file: Option<PathBuf>,
}

impl Default for Config {
    /// Production-like pacing: retries after 10 s, 1 min, 5 min and 30 min.
    fn default() -> Self {
        Self {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            public_url: None,
            webhook_url: None,
            webhook_secret: None,
            retry_schedule: vec![
                Duration::from_secs(10),
                Duration::from_secs(60),
                Duration::from_secs(300),
                Duration::from_secs(1800),
            ],
            webhook_timeout: Duration::from_secs(10),
            fault_hang: Duration::from_secs(60),
            session_ttl: Duration::from_secs(24 * 3600),
            catalog: vec![CatalogItem::starter_pack()],
            api_version: "2025-03-31.basil".to_string(),
            account_name: "QuickScale (test)".to_string(),
            state_file: None,
        }
    }
}

impl Config {
    /// Quick pacing for tests: retries after 50, 100 and 200 ms, a 2 s webhook timeout and a
    /// 5 s hang for `timeout` faults.
    pub fn for_tests() -> Self {
        Self {
            retry_schedule: vec![
                Duration::from_millis(50),
                Duration::from_millis(100),
                Duration::from_millis(200),
            ],
            webhook_timeout: Duration::from_secs(2),
            fault_hang: Duration::from_secs(5),
            ..Self::default()
        }
    }

    /// Sets where events are POSTed.
    pub fn with_webhook_url(mut self, url: impl Into<String>) -> Self {
        self.webhook_url = Some(url.into());
        self
    }

    /// Sets the signing secret (`whsec_...`).
    pub fn with_webhook_secret(mut self, secret: impl Into<String>) -> Self {
        self.webhook_secret = Some(secret.into());
        self
    }

    /// Keeps the state in `path` between runs (loaded at start, written after every change).
    pub fn with_state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// Sets the business name shown on the hosted pages ("Pay `<name>`").
    pub fn with_account_name(mut self, name: impl Into<String>) -> Self {
        self.account_name = name.into();
        self
    }
}

/// A product with one active price, seeded at start: one-time, or recurring when
/// [`recurring`](Self::recurring) names an interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogItem {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
    /// In minor units (cents).
    pub unit_amount: i64,
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Set on both the product and the price (`credits` for a credit pack).
    #[serde(default)]
    pub metadata: BTreeMap<String, String>,
    /// The price's `lookup_key`, for `GET /v1/prices?lookup_keys[]=...`.
    #[serde(default)]
    pub lookup_key: Option<String>,
    /// A fixed product id instead of a random `prod_...`.
    #[serde(default)]
    pub product_id: Option<String>,
    /// A fixed price id instead of a random `price_...`.
    #[serde(default)]
    pub price_id: Option<String>,
    /// The billing interval of a recurring price (`day`, `week`, `month` or `year`, every one
    /// interval); `None` for a one-time price.
    #[serde(default)]
    pub recurring: Option<String>,
}

fn default_currency() -> String {
    "usd".to_string()
}

impl CatalogItem {
    /// "Starter pack": 1000 usd (ten dollars) for 100 credits, lookup key `starter_pack`.
    pub fn starter_pack() -> Self {
        Self {
            name: "Starter pack".to_string(),
            description: Some("100 credits".to_string()),
            unit_amount: 1000,
            currency: "usd".to_string(),
            metadata: BTreeMap::from([("credits".to_string(), "100".to_string())]),
            lookup_key: Some("starter_pack".to_string()),
            product_id: None,
            price_id: None,
            recurring: None,
        }
    }

    /// "Pro plan": 2000 usd (twenty dollars) a month for 1000 credits a month, lookup key
    /// `pro_monthly`. Not in the default catalog: add it where a test needs a subscription.
    pub fn monthly_plan() -> Self {
        Self {
            name: "Pro plan".to_string(),
            description: Some("1000 credits a month".to_string()),
            unit_amount: 2000,
            currency: "usd".to_string(),
            metadata: BTreeMap::from([("credits".to_string(), "1000".to_string())]),
            lookup_key: Some("pro_monthly".to_string()),
            product_id: None,
            price_id: None,
            recurring: Some("month".to_string()),
        }
    }
}
