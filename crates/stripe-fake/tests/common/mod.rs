//! Helpers: a webhook receiver, an HTTP client speaking Stripe's form encoding, and an HMAC
//! check written independently of the fake's signing code.
#![allow(dead_code)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing;
use hmac::{KeyInit, Mac};
use quickscale_stripe_fake::{CatalogItem, Config, FakeStripe, Running};
use serde_json::Value;

pub const KEY: &str = "sk_test_quickscale";

/// One webhook as the receiver got it.
#[derive(Debug, Clone)]
pub struct Received {
    pub body: String,
    pub signature: String,
    pub event: Value,
}

#[derive(Clone, Default)]
struct ReceiverState {
    received: Arc<Mutex<Vec<Received>>>,
    /// Answer 500 to this many requests before answering 200.
    fail_first: Arc<AtomicUsize>,
}

/// A small axum app standing in for our webhook endpoint, plus success/cancel pages.
pub struct Receiver {
    pub base: String,
    state: ReceiverState,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn webhook(
    State(state): State<ReceiverState>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let body = String::from_utf8(body.to_vec()).expect("UTF-8 body");
    let signature = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let event: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    state.received.lock().unwrap().push(Received {
        body,
        signature,
        event,
    });
    let failing = state
        .fail_first
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        StatusCode::INTERNAL_SERVER_ERROR
    } else {
        StatusCode::OK
    }
}

async fn landing(Query(q): Query<Vec<(String, String)>>) -> String {
    let session = q
        .iter()
        .find(|(k, _)| k == "session_id")
        .map(|(_, v)| v.as_str())
        .unwrap_or("");
    format!("landed session={session}")
}

impl Receiver {
    pub async fn start() -> Self {
        let state = ReceiverState::default();
        let app = Router::new()
            .route("/webhook", routing::post(webhook))
            .route("/success", routing::get(landing))
            .route("/cancel", routing::get(landing))
            .with_state(state.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { base, state, task }
    }

    pub fn webhook_url(&self) -> String {
        format!("{}/webhook", self.base)
    }

    pub fn fail_next(&self, n: usize) {
        self.state.fail_first.store(n, Ordering::SeqCst);
    }

    pub fn received(&self) -> Vec<Received> {
        self.state.received.lock().unwrap().clone()
    }

    pub fn types(&self) -> Vec<String> {
        self.received()
            .iter()
            .map(|r| r.event["type"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    /// Waits for a webhook of `kind`.
    pub async fn wait_for(&self, kind: &str) -> Received {
        for _ in 0..1000 {
            if let Some(found) = self
                .received()
                .into_iter()
                .find(|r| r.event["type"] == kind)
            {
                return found;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("no {kind} webhook within 10 s; got {:?}", self.types());
    }
}

/// Verifies a `Stripe-Signature` header as Stripe documents it: take `t` and every `v1`,
/// HMAC-SHA256 over "<t>.<body>" with the secret, compare with a `v1`, check the tolerance.
pub fn verify_signature(secret: &str, header: &str, body: &str, tolerance: i64) -> bool {
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v.to_string()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    let expected = hex::encode(mac.finalize().into_bytes());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    (now - timestamp).abs() <= tolerance && candidates.iter().any(|c| c == &expected)
}

/// A fake sending webhooks to `receiver`.
pub async fn start(receiver: &Receiver) -> Running {
    FakeStripe::start(Config::for_tests().with_webhook_url(receiver.webhook_url()))
        .await
        .expect("fake starts")
}

/// A fake sending webhooks to `receiver` that also sells the monthly "Pro plan".
pub async fn start_with_plan(receiver: &Receiver) -> Running {
    let mut config = Config::for_tests().with_webhook_url(receiver.webhook_url());
    config.catalog.push(CatalogItem::monthly_plan());
    FakeStripe::start(config).await.expect("fake starts")
}

pub fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// What an API call answered.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn ok(self) -> Value {
        assert_eq!(self.status, 200, "unexpected answer: {}", self.body);
        self.body
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn error_code(&self) -> Option<&str> {
        self.body["error"]["code"].as_str()
    }

    /// Asserts a 400 `invalid_request_error` with this code about this parameter.
    pub fn assert_refused(&self, code: &str, param: &str) {
        assert_eq!(self.status, 400, "unexpected answer: {}", self.body);
        assert_eq!(self.body["error"]["type"], "invalid_request_error");
        assert_eq!(self.error_code(), Some(code), "{}", self.body);
        assert_eq!(self.body["error"]["param"], param, "{}", self.body);
    }
}

pub async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
    Answer {
        status,
        headers,
        body,
    }
}

pub async fn post(
    fake: &Running,
    path: &str,
    form: &[(&str, &str)],
    idempotency_key: Option<&str>,
) -> Answer {
    let mut request = client().post(fake.url(path)).bearer_auth(KEY).form(form);
    if let Some(key) = idempotency_key {
        request = request.header("Idempotency-Key", key);
    }
    answer(request.send().await.unwrap()).await
}

pub async fn get(fake: &Running, path_and_query: &str) -> Answer {
    call(fake, reqwest::Method::GET, path_and_query).await
}

pub async fn delete(fake: &Running, path: &str) -> Answer {
    call(fake, reqwest::Method::DELETE, path).await
}

/// A call without parameters in a body.
async fn call(fake: &Running, method: reqwest::Method, path_and_query: &str) -> Answer {
    answer(
        client()
            .request(method, fake.url(path_and_query))
            .bearer_auth(KEY)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// A hosted page (checkout, portal, invoice), as a browser gets it: asserts a 200.
pub async fn page_html(url: &str) -> String {
    let page = client().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200, "{url}");
    page.text().await.unwrap()
}

/// A form on a hosted page, submitted (redirects are not followed).
pub async fn submit_form(url: &str, form: &[(&str, &str)]) -> reqwest::Response {
    client().post(url).form(form).send().await.unwrap()
}

/// A billing portal session's page URL for `customer`.
pub async fn portal_url(fake: &Running, customer: &str) -> String {
    let portal = post(
        fake,
        "/v1/billing_portal/sessions",
        &[("customer", customer)],
        None,
    )
    .await
    .ok();
    portal["url"].as_str().unwrap().to_string()
}

/// The checkout page's "Pay" with `card`, 12 / 34 and CVC 123.
pub async fn pay_on_page(checkout_url: &str, email: &str, card: &str) -> reqwest::Response {
    submit_form(
        &format!("{checkout_url}/pay"),
        &[
            ("email", email),
            ("card_number", card),
            ("card_exp", "12 / 34"),
            ("card_cvc", "123"),
        ],
    )
    .await
}

/// The price with this lookup key.
pub async fn price_by_key(fake: &Running, key: &str) -> String {
    let prices = get(fake, &format!("/v1/prices?lookup_keys[]={key}"))
        .await
        .ok();
    prices["data"][0]["id"].as_str().unwrap().to_string()
}

/// A recurring price of a new product: `unit_amount` usd every `interval`.
pub async fn recurring_price(
    fake: &Running,
    name: &str,
    unit_amount: i64,
    interval: &str,
) -> String {
    let price = post(
        fake,
        "/v1/prices",
        &[
            ("currency", "usd"),
            ("unit_amount", &unit_amount.to_string()),
            ("recurring[interval]", interval),
            ("product_data[name]", name),
        ],
        None,
    )
    .await
    .ok();
    price["id"].as_str().unwrap().to_string()
}

/// A new customer with `email`, subscribed to `price` through a checkout session paid with
/// 4242...: the subscription, as the API shows it.
pub async fn subscribe(fake: &Running, email: &str, price: &str) -> Value {
    let customer = post(fake, "/v1/customers", &[("email", email)], None)
        .await
        .ok();
    let session = post(
        fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "subscription"),
            ("customer", customer["id"].as_str().unwrap()),
            ("success_url", "https://app.example/ok"),
            ("line_items[0][price]", price),
            ("line_items[0][quantity]", "1"),
        ],
        None,
    )
    .await
    .ok();
    complete_subscription(fake, &session).await
}

/// How many objects a list call returns.
pub async fn count(fake: &Running, path_and_query: &str) -> usize {
    get(fake, path_and_query).await.ok()["data"]
        .as_array()
        .unwrap()
        .len()
}

/// The invoice a subscription's `latest_invoice` names.
pub async fn latest_invoice(fake: &Running, subscription: &Value) -> Value {
    let id = subscription["latest_invoice"].as_str().unwrap();
    get(fake, &format!("/v1/invoices/{id}")).await.ok()
}

/// Pays a subscription-mode session with 4242...: its subscription, as the API shows it.
pub async fn complete_subscription(fake: &Running, session: &Value) -> Value {
    let paid = fake
        .complete_checkout_session(session["id"].as_str().unwrap())
        .unwrap();
    let id = paid["subscription"].as_str().unwrap();
    get(fake, &format!("/v1/subscriptions/{id}")).await.ok()
}

/// The types of the events recorded after the first `skip`, oldest first, leaving out the
/// PaymentIntent and charge events (the payment behind an invoice).
pub fn billing_events_after(fake: &Running, skip: usize) -> Vec<String> {
    fake.events()
        .iter()
        .skip(skip)
        .map(|e| e["type"].as_str().unwrap_or_default().to_string())
        .filter(|t| !t.starts_with("payment_intent.") && !t.starts_with("charge."))
        .collect()
}

/// The events of type `kind` recorded after the first `skip`, oldest first.
pub fn events_after(fake: &Running, skip: usize, kind: &str) -> Vec<Value> {
    fake.events()
        .into_iter()
        .skip(skip)
        .filter(|e| e["type"] == kind)
        .collect()
}

/// The seeded starter pack's price id.
pub async fn starter_price(fake: &Running) -> String {
    let prices = get(fake, "/v1/prices?active=true").await.ok();
    prices["data"][0]["id"].as_str().unwrap().to_string()
}

/// A customer and an open session for the starter pack.
pub async fn open_session(fake: &Running, receiver: &Receiver) -> (String, Value) {
    let customer = post(
        fake,
        "/v1/customers",
        &[("email", "ada@example.com"), ("name", "Ada")],
        None,
    )
    .await
    .ok();
    let customer_id = customer["id"].as_str().unwrap().to_string();
    let price = starter_price(fake).await;
    let success = format!(
        "{}/success?session_id={{CHECKOUT_SESSION_ID}}",
        receiver.base
    );
    let cancel = format!("{}/cancel", receiver.base);
    let session = post(
        fake,
        "/v1/checkout/sessions",
        &[
            ("mode", "payment"),
            ("customer", &customer_id),
            ("client_reference_id", "user-42"),
            ("success_url", &success),
            ("cancel_url", &cancel),
            ("line_items[0][price]", &price),
            ("line_items[0][quantity]", "1"),
            ("metadata[user_id]", "42"),
            ("metadata[pack]", "starter"),
        ],
        None,
    )
    .await
    .ok();
    (customer_id, session)
}
