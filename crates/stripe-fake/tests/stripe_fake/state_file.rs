//! The stand-in's state kept in a file: what it sold survives a restart, one stand-in at a time
//! uses a file, and an unreadable file is refused rather than replaced.

use std::path::Path;
use std::time::Duration;

use crate::common::{
    Receiver, count, delete, get, latest_invoice, post, price_by_key, start_with_plan, subscribe,
};
use quickscale_stripe_fake::{CatalogItem, Config, FakeStripe, Running, running_at};

async fn start_kept(receiver: &Receiver, state: &Path) -> std::io::Result<Running> {
    let mut config = Config::for_tests()
        .with_webhook_url(receiver.webhook_url())
        .with_state_file(state);
    config.catalog.push(CatalogItem::monthly_plan());
    FakeStripe::start(config).await
}

async fn pro_price(fake: &Running) -> String {
    price_by_key(fake, "pro_monthly").await
}

#[tokio::test]
async fn a_subscription_survives_a_restart_and_can_be_cancelled_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("data/stripe.json");
    let receiver = Receiver::start().await;
    let fake = start_kept(&receiver, &state).await.unwrap();
    assert_eq!(running_at(&state).as_deref(), Some(fake.base_url.as_str()));
    let price = pro_price(&fake).await;
    let subscription = subscribe(&fake, "ada@example.com", &price).await;
    let id = subscription["id"].as_str().unwrap().to_owned();
    let customer = subscription["customer"].as_str().unwrap().to_owned();
    let (products, events) = (count(&fake, "/v1/products").await, fake.events().len());
    receiver.wait_for("checkout.session.completed").await;
    drop(fake);
    assert_eq!(running_at(&state), None, "the lock goes with the stand-in");

    let again = start_kept(&receiver, &state).await.unwrap();
    assert_eq!(
        get(&again, &format!("/v1/subscriptions/{id}")).await.ok()["status"],
        "active"
    );
    assert_eq!(
        count(&again, "/v1/products").await,
        products,
        "the catalog is not seeded twice"
    );
    assert_eq!(pro_price(&again).await, price);
    assert_eq!(again.events().len(), events, "every event is kept");
    // The invoice, its charge and the customer are all there; cancelling works.
    let invoice = latest_invoice(&again, &subscription).await;
    assert_eq!(invoice["status"], "paid");
    let cancelled = delete(&again, &format!("/v1/subscriptions/{id}"))
        .await
        .ok();
    assert_eq!(cancelled["status"], "canceled");
    assert_eq!(
        get(&again, &format!("/v1/customers/{customer}")).await.ok()["email"],
        "ada@example.com"
    );
    // New objects do not reuse old ids or sequence numbers (lists stay newest first).
    let newer = post(
        &again,
        "/v1/customers",
        &[("email", "bea@example.com")],
        None,
    )
    .await
    .ok();
    let listed = get(&again, "/v1/customers?limit=2").await.ok();
    assert_eq!(listed["data"][0]["id"], newer["id"]);
    assert_eq!(listed["data"][1]["id"], customer.as_str());
    // And the cancellation itself is kept.
    drop(again);
    let third = start_kept(&receiver, &state).await.unwrap();
    assert_eq!(
        get(&third, &format!("/v1/subscriptions/{id}")).await.ok()["status"],
        "canceled"
    );
}

#[tokio::test]
async fn one_stand_in_at_a_time_uses_a_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("stripe.json");
    let receiver = Receiver::start().await;
    let first = start_kept(&receiver, &state).await.unwrap();
    let second = start_kept(&receiver, &state).await;
    let error = second.expect_err("the file is in use");
    assert_eq!(error.kind(), std::io::ErrorKind::AddrInUse);
    assert!(error.to_string().contains(&first.base_url), "{error}");
    // Without a state file nothing is written anywhere.
    let memory = start_with_plan(&receiver).await;
    assert!(memory.config().state_file.is_none());
}

#[tokio::test]
async fn an_unreadable_state_file_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("stripe.json");
    std::fs::write(&state, b"{ not the stand-in's state").unwrap();
    let receiver = Receiver::start().await;
    let error = start_kept(&receiver, &state)
        .await
        .expect_err("an unreadable file is refused");
    assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
    assert!(error.to_string().contains("move it away"), "{error}");
    assert_eq!(
        std::fs::read(&state).unwrap(),
        b"{ not the stand-in's state",
        "the file is not replaced"
    );
}

#[tokio::test]
async fn deliveries_left_pending_are_sent_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("stripe.json");
    let receiver = Receiver::start().await;
    let mut config = Config::for_tests()
        .with_webhook_url(receiver.webhook_url())
        .with_state_file(&state);
    // Retried much later than the test runs: still pending when the stand-in stops.
    config.retry_schedule = vec![Duration::from_secs(3600)];
    receiver.fail_next(1);
    let fake = FakeStripe::start(config).await.unwrap();
    post(&fake, "/v1/customers", &[("email", "cy@example.com")], None)
        .await
        .ok();
    let updated = post(
        &fake,
        &format!(
            "/v1/customers/{}",
            get(&fake, "/v1/customers?limit=1").await.ok()["data"][0]["id"]
                .as_str()
                .unwrap()
        ),
        &[("name", "Cy")],
        None,
    )
    .await
    .ok();
    assert_eq!(updated["name"], "Cy");
    let event = fake.events_of_type("customer.updated")[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..200 {
        if !receiver.received().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(
        fake.delivery_state(&event),
        Some(quickscale_stripe_fake::DeliveryState::Pending)
    );
    drop(fake);
    let again = start_kept(&receiver, &state).await.unwrap();
    let delivered = again
        .wait_for_delivery("customer.updated", Duration::from_secs(5))
        .await
        .expect("delivered after the restart");
    assert_eq!(delivered.event_id, event);
}

/// A state file written by an earlier build (format 1, `tests/fixtures/state-v1.json`: a
/// payment refunded in part, a subscription with a pending quantity change and a card saved
/// in the billing portal, an idempotency key) is read back, and the stand-in carries on from it.
#[tokio::test]
async fn a_state_file_written_before_is_read_back_and_carries_on() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("stripe.json");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/state-v1.json");
    std::fs::copy(fixture, &state).unwrap();
    let receiver = Receiver::start().await;
    let fake = start_kept(&receiver, &state).await.unwrap();

    let ada = get(&fake, "/v1/customers?email=ada@example.com").await.ok()["data"][0].clone();
    assert_eq!(ada["name"], "Ada");
    let charge = get(
        &fake,
        &format!("/v1/charges?customer={}", ada["id"].as_str().unwrap()),
    )
    .await
    .ok()["data"][0]
        .clone();
    assert_eq!(charge["amount"], 1000);
    assert_eq!(charge["amount_refunded"], 300);
    assert_eq!(charge["refunds"]["total_count"], 1);
    let replayed = post(
        &fake,
        "/v1/customers",
        &[("email", "ada@example.com"), ("name", "Ada")],
        Some("ada-key"),
    )
    .await;
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body["id"], ada["id"]);

    let bea = get(&fake, "/v1/customers?email=bea@example.com").await.ok()["data"][0].clone();
    let saved_card = bea["invoice_settings"]["default_payment_method"].clone();
    assert!(saved_card.as_str().unwrap().starts_with("pm_"));
    let subscription = get(
        &fake,
        &format!("/v1/subscriptions?customer={}", bea["id"].as_str().unwrap()),
    )
    .await
    .ok()["data"][0]
        .clone();
    assert_eq!(subscription["status"], "active");
    assert_eq!(subscription["quantity"], 2);
    // The renewal bills the pending proration lines, then the plan, to the saved card.
    let renewed = fake
        .renew_subscription(subscription["id"].as_str().unwrap(), None)
        .unwrap();
    let invoice = latest_invoice(&fake, &renewed).await;
    assert_eq!(invoice["status"], "paid");
    assert_eq!(invoice["lines"]["total_count"], 3);
    assert_eq!(invoice["amount_paid"], -1355 + 2710 + 2 * 2000);
    assert!(invoice["number"].as_str().unwrap().ends_with("-0002"));
    let paid_with = get(
        &fake,
        &format!("/v1/charges/{}", invoice["charge"].as_str().unwrap()),
    )
    .await
    .ok();
    assert_eq!(paid_with["payment_method"], saved_card);
    assert_eq!(paid_with["payment_method_details"]["card"]["last4"], "4444");

    let kept = get(&fake, "/v1/events?type=customer.updated").await.ok();
    assert_eq!(kept["data"][0]["data"]["object"]["id"], bea["id"]);
}
