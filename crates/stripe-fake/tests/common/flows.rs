//! A stand-in started for a test, and the steps tests take again and again: a customer's
//! checkout, a subscription, the catalog's prices, the events since a point.

use quickscale_stripe_fake::{CatalogItem, Config, FakeStripe, Running};
use serde_json::Value;

use super::http::{get, post, submit_form};
use super::receiver::Receiver;

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
