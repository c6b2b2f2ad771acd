#![forbid(unsafe_code)]
#![recursion_limit = "256"]
//! # An offline, stateful stand-in for the Stripe API
//!
//! [`FakeStripe`] serves the Stripe endpoints QuickScale calls (customers, Checkout sessions in
//! payment and subscription mode, subscriptions, invoices, refunds, events, prices, products,
//! billing-portal sessions) with Stripe's request format
//! (form-encoded bracket parameters, Bearer `sk_test_...` keys, `Idempotency-Key`) and Stripe's
//! JSON objects, a hosted checkout page that takes Stripe's test cards, and webhooks signed
//! exactly like Stripe's (`Stripe-Signature: t=...,v1=...`), delivered in the background with
//! retries. Test controls under `/_test/...`, also available as methods of [`Running`], drive
//! payments, renewals (time passing for subscriptions), deliveries and faults.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use quickscale_stripe_fake::{Config, FakeStripe};
//!
//! let fake = FakeStripe::start(Config::for_tests().with_webhook_url("http://127.0.0.1:8000/webhooks/stripe")).await?;
//! println!("STRIPE_API_BASE={} STRIPE_WEBHOOK_SECRET={}", fake.base_url, fake.webhook_secret);
//! # Ok(()) }
//! ```

mod api;
mod billing;
mod config;
mod controls;
mod error;
mod form;
pub mod local;
mod objects;
mod pages;
mod persist;
mod store;
mod util;
mod webhook;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

pub use config::{CatalogItem, Config};
pub use persist::running_at;
pub use store::DeliveryState;
pub use webhook::{DeliveryAttempt, signature_header};

use store::Store;
use webhook::Job;

/// What a fault does to the API calls it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    /// Answer 500 with a Stripe `api_error`.
    Error,
    /// Hold the request for the hang time (`hang_ms`, default [`Config::fault_hang`]), then
    /// answer 500: a client with a shorter timeout sees a timeout.
    Timeout,
}

/// A fault injected into the next `count` calls to `/v1/...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub mode: FaultMode,
    pub count: u32,
    /// How long a `timeout` holds each request, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang_ms: Option<u64>,
    /// Process the request first (its effects and events happen, an idempotency key stores
    /// its answer), then fail: the "it worked but the answer was lost" case.
    #[serde(default)]
    pub after_processing: bool,
    /// Only calls whose path starts with this (`/v1/refunds`) are hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
}

impl Fault {
    /// The next `count` calls answer 500.
    pub fn error(count: u32) -> Self {
        Self {
            mode: FaultMode::Error,
            count,
            hang_ms: None,
            after_processing: false,
            path_prefix: None,
        }
    }

    /// The next `count` calls hang, then answer 500.
    pub fn timeout(count: u32) -> Self {
        Self {
            mode: FaultMode::Timeout,
            ..Self::error(count)
        }
    }
}

/// Why a test control could not do what was asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("refused: {0}")]
    Refused(String),
    #[error("the fake has stopped")]
    Stopped,
}

/// The state shared by the server, the delivery worker and [`Running`].
#[derive(Debug)]
pub(crate) struct Shared {
    pub config: Config,
    pub webhook_secret: String,
    pub store: Mutex<Store>,
    pub http: reqwest::Client,
    pub delivery_tx: mpsc::UnboundedSender<Job>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    /// Where the state is kept between runs, if anywhere.
    state_file: Option<persist::StateFile>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Writes the state to the state file, if there is one (after every change).
    pub fn persist(&self) {
        if let Some(file) = &self.state_file {
            file.save(&self.store);
        }
    }

    /// Keeps a background task so that stopping the fake stops it too.
    pub fn track(&self, handle: JoinHandle<()>) {
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        tasks.retain(|task| !task.is_finished());
        tasks.push(handle);
    }

    fn abort_tasks(&self) {
        let mut tasks = self
            .tasks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for task in tasks.drain(..) {
            task.abort();
        }
    }
}

/// The fake Stripe server.
#[derive(Debug, Clone, Copy)]
pub struct FakeStripe;

impl FakeStripe {
    /// Binds `config.bind` (port 0: a free port), seeds the catalog and serves in the
    /// background of the current tokio runtime until the [`Running`] is dropped or shut down.
    pub async fn start(config: Config) -> std::io::Result<Running> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        if let Some(item) = config.catalog.iter().find(|item| {
            item.recurring
                .as_deref()
                .is_some_and(|interval| billing::Interval::parse(interval).is_none())
        }) {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!(
                    "catalog item {:?}: recurring must be day, week, month or year",
                    item.name
                ),
            ));
        }
        let listener = tokio::net::TcpListener::bind(config.bind).await?;
        let addr = listener.local_addr()?;
        let base_url = format!("http://{addr}");
        let public_url = config
            .public_url
            .clone()
            .map(|url| url.trim_end_matches('/').to_string())
            .unwrap_or_else(|| base_url.clone());
        let webhook_secret = config
            .webhook_secret
            .clone()
            .unwrap_or_else(util::ids::webhook_secret);
        let http = reqwest::Client::builder()
            .timeout(config.webhook_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(std::io::Error::other)?;
        let state_file = match &config.state_file {
            Some(path) => Some(persist::StateFile::open(path)?),
            None => None,
        };
        let kept = match &config.state_file {
            Some(path) => persist::load(path)?,
            None => None,
        };
        let (delivery_tx, delivery_rx) = mpsc::unbounded_channel();
        let mut store = Store::new(
            public_url,
            config.api_version.clone(),
            config.session_ttl.as_secs() as i64,
            config.webhook_url.clone(),
            delivery_tx.clone(),
        );
        match kept {
            Some(snapshot) => {
                store.restore(snapshot);
                store.seed_missing(&config.catalog);
            }
            None => store.seed(&config.catalog),
        }
        if let Some(file) = &state_file {
            file.announce(&base_url)?;
        }
        let shared = Arc::new(Shared {
            config,
            webhook_secret: webhook_secret.clone(),
            store: Mutex::new(store),
            http,
            delivery_tx,
            tasks: Mutex::new(Vec::new()),
            state_file,
        });
        shared.persist();
        let worker = tokio::spawn(webhook::worker(shared.clone(), delivery_rx));
        let router = api::router(shared.clone());
        let (shutdown_tx, shutdown_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            // The test controls answer only loopback peers: the server records each one.
            let result = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async {
                let _ = shutdown_rx.await;
            })
            .await;
            if let Err(error) = result {
                tracing::error!(%error, "the Stripe fake stopped");
            }
        });
        tracing::info!(%base_url, "Stripe fake listening");
        Ok(Running {
            base_url,
            addr,
            webhook_secret,
            shared,
            server,
            worker,
            shutdown: Some(shutdown_tx),
        })
    }
}

/// A started fake. Dropping it stops the server, the deliveries and their retries.
#[derive(Debug)]
pub struct Running {
    /// `http://127.0.0.1:<port>`: the API base (use it where `https://api.stripe.com` goes).
    pub base_url: String,
    pub addr: SocketAddr,
    /// The secret webhooks are signed with (`whsec_...`).
    pub webhook_secret: String,
    shared: Arc<Shared>,
    server: JoinHandle<()>,
    worker: JoinHandle<()>,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Running {
    /// `base_url` followed by `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn config(&self) -> &Config {
        &self.shared.config
    }

    /// Where events are POSTed now.
    pub fn webhook_url(&self) -> Option<String> {
        self.shared.lock().webhook_url.clone()
    }

    /// Changes where later events are POSTed (`None`: record without delivering).
    pub fn set_webhook_url(&self, url: Option<String>) {
        self.shared.lock().webhook_url = url;
    }

    /// Pays an open session with the test card 4242 4242 4242 4242, as the checkout page
    /// would: returns the completed session.
    pub fn complete_checkout_session(&self, id: &str) -> Result<Value, ControlError> {
        let result = controls::complete(&self.shared, id, None);
        self.shared.persist();
        result
    }

    /// Tries to pay an open session with the declined test card 4000 0000 0000 0002: returns
    /// the PaymentIntent with its `last_payment_error`; the session stays open and unpaid.
    pub fn fail_checkout_session(&self, id: &str) -> Result<Value, ControlError> {
        let result = controls::fail(&self.shared, id, None);
        self.shared.persist();
        result
    }

    /// Expires an open session (`checkout.session.expired`).
    pub fn expire_checkout_session(&self, id: &str) -> Result<Value, ControlError> {
        let result = controls::expire(&self.shared, id);
        self.shared.persist();
        result
    }

    /// Lets a subscription's current period end, as if the time had come, and returns the
    /// subscription. The subscription's default payment method pays (its checkout's card, or
    /// the one saved in the billing portal); `card` (a test card number) pays this time only.
    ///
    /// - `cancel_at_period_end`: the subscription ends (`customer.subscription.deleted`).
    /// - `past_due`: its oldest open invoice is charged again; it is active again once no
    ///   invoice of it is open.
    /// - otherwise the next period starts with a `subscription_cycle` invoice (the plan plus
    ///   pending prorations, less the customer's credit) charged to the card: paid, or declined
    ///   (`invoice.payment_failed`, the subscription `past_due`).
    pub fn renew_subscription(&self, id: &str, card: Option<&str>) -> Result<Value, ControlError> {
        let result = controls::renew(&self.shared, id, card);
        self.shared.persist();
        result
    }

    /// Lets `seconds` of a subscription's current period pass, so that a change now is
    /// prorated for the rest of the period: its `billing_cycle_anchor`, `current_period_start`
    /// and `current_period_end` (and its pending proration lines) move back by `seconds`.
    /// Returns the subscription. Refused (`ControlError::Refused`) for a canceled subscription
    /// and for `seconds` outside 0 to the current period's length. No event is sent.
    pub fn elapse_subscription(&self, id: &str, seconds: i64) -> Result<Value, ControlError> {
        let result = controls::elapse(&self.shared, id, seconds);
        self.shared.persist();
        result
    }

    /// Every subscription, oldest first, as `/v1/subscriptions/{id}` shows it.
    pub fn subscriptions(&self) -> Vec<Value> {
        let store = self.shared.lock();
        let mut subscriptions: Vec<_> = store.subscriptions.values().collect();
        subscriptions.sort_by_key(|s| s.seq);
        subscriptions
            .into_iter()
            .map(|s| store.subscription_json(s))
            .collect()
    }

    /// Delivers an event once more (even a withheld one), waiting for the endpoint's answer.
    /// Manual deliveries are not retried.
    pub async fn deliver_event(&self, id: &str) -> Result<DeliveryAttempt, ControlError> {
        let mut attempts = controls::deliver(&self.shared, &[id.to_string()]).await?;
        attempts.pop().ok_or(ControlError::Stopped)
    }

    /// Delivers events in the given order, each after the previous one was answered.
    pub async fn deliver_events(&self, ids: &[&str]) -> Result<Vec<DeliveryAttempt>, ControlError> {
        let ids: Vec<String> = ids.iter().map(|s| s.to_string()).collect();
        controls::deliver(&self.shared, &ids).await
    }

    /// Event types to record but not deliver (replaces the previous list; `*` and prefixes
    /// such as `charge.*` work; an empty list delivers everything again).
    pub fn withhold_event_types<S: AsRef<str>>(&self, types: &[S]) {
        self.shared.lock().withheld = types.iter().map(|t| t.as_ref().to_string()).collect();
    }

    pub fn withheld_event_types(&self) -> Vec<String> {
        self.shared.lock().withheld.clone()
    }

    /// Makes the next `fault.count` API calls fail (replaces any previous fault).
    pub fn inject_fault(&self, fault: Fault) {
        self.shared.lock().fault = (fault.count > 0).then_some(fault);
    }

    pub fn clear_faults(&self) {
        self.shared.lock().fault = None;
    }

    /// The fault still pending, with the calls it has left.
    pub fn fault(&self) -> Option<Fault> {
        self.shared.lock().fault.clone()
    }

    /// Every delivery attempt so far, oldest first, with the endpoint's answers.
    pub fn deliveries(&self) -> Vec<DeliveryAttempt> {
        self.shared.lock().deliveries.clone()
    }

    /// Every event so far, oldest first, as `/v1/events/{id}` shows it.
    pub fn events(&self) -> Vec<Value> {
        let store = self.shared.lock();
        store.events.iter().map(|e| store.event_json(e)).collect()
    }

    /// The events of one type, oldest first.
    pub fn events_of_type(&self, kind: &str) -> Vec<Value> {
        self.events()
            .into_iter()
            .filter(|e| e["type"] == kind)
            .collect()
    }

    pub fn delivery_state(&self, event_id: &str) -> Option<DeliveryState> {
        self.shared.lock().event(event_id).map(|e| e.delivery)
    }

    /// Waits until an event of `kind` was delivered with a 2xx answer.
    pub async fn wait_for_delivery(
        &self,
        kind: &str,
        timeout: Duration,
    ) -> Option<DeliveryAttempt> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let found = self
                .shared
                .lock()
                .deliveries
                .iter()
                .find(|d| d.succeeded && d.event_type == kind)
                .cloned();
            if found.is_some() {
                return found;
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Forgets customers, sessions, payments, subscriptions, invoices, events, deliveries,
    /// idempotency keys, faults and withheld types, and seeds the catalog again. Keeps the webhook URL and secret.
    pub fn reset(&self) {
        controls::reset(&self.shared);
        self.shared.persist();
    }

    /// Stops accepting connections, lets requests in flight finish, and stops deliveries.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let server = std::mem::replace(&mut self.server, tokio::spawn(async {}));
        let _ = tokio::time::timeout(Duration::from_secs(5), server).await;
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(file) = &self.shared.state_file {
            file.release();
        }
        self.server.abort();
        self.worker.abort();
        self.shared.abort_tasks();
    }
}
