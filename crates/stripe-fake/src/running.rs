//! A started fake: its address and secret, and the test controls as methods.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::controls::{self, ControlError};
use crate::faults::Fault;
use crate::model::DeliveryState;
use crate::server::Shared;
use crate::webhook::DeliveryAttempt;

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
    pub(crate) fn new(
        base_url: String,
        addr: SocketAddr,
        webhook_secret: String,
        shared: Arc<Shared>,
        [server, worker]: [JoinHandle<()>; 2],
        shutdown: oneshot::Sender<()>,
    ) -> Self {
        Self {
            base_url,
            addr,
            webhook_secret,
            shared,
            server,
            worker,
            shutdown: Some(shutdown),
        }
    }

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
