//! Buying credits in process, against the scriptable gateway: checkout, signed webhooks
//! delivered several times, the success page, receipts, refunds, and what is refused.

mod support;

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use quickscale_adapters::testing::gateway::ScriptedGateway;
use quickscale_app_web::App;
use quickscale_domain_billing::WebhookEvent;
use quickscale_domain_credits::Credits;
use support::TestApp;

const PASSWORD: &str = "a long enough password";
const SECRET: &str = "whsec_test_in_process";

async fn app() -> (TestApp, Arc<ScriptedGateway>) {
    let gateway = Arc::new(ScriptedGateway::default());
    let app = App::new("Test App").with_gateway(gateway.clone(), SECRET);
    (
        TestApp::with_app(app, &[("ENABLE_STRIPE", "true")]).await,
        gateway,
    )
}

async fn deliver(app: &TestApp, event: &WebhookEvent, secret: &str, at: i64) -> StatusCode {
    app.webhook(event, secret, at).await
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

async fn balance(app: &TestApp, email: &str) -> Credits {
    support::balance(&app.state, email).await
}

async fn wait_for_balance(app: &TestApp, email: &str, expected: Credits) {
    for _ in 0..100 {
        if balance(app, email).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "balance never reached {expected}: {}",
        balance(app, email).await
    );
}

/// Buys the first pack and returns the checkout session id.
async fn start_purchase(ada: &mut support::Browser) -> String {
    let page = ada.get("/billing").await;
    assert_eq!(page.status, StatusCode::OK);
    let pack = page.input_value("pack").unwrap();
    let key = page.input_value("form_key").unwrap();
    let redirect = ada
        .post("/billing/checkout", &[("pack", &pack), ("form_key", &key)])
        .await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.body);
    redirect.location().rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn a_purchase_grants_credits_once_however_often_the_event_comes_or_the_page_reloads() {
    let (app, gateway) = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let session = start_purchase(&mut ada).await;
    let pending = ada
        .get(&format!("/billing/success?session_id={session}"))
        .await;
    assert!(
        pending.contains("data-testid=\"purchase-pending\""),
        "{}",
        pending.body
    );
    assert_eq!(
        balance(&app, "ada@example.com").await,
        Credits::whole(100),
        "the success page grants nothing"
    );

    let paid = gateway.pay(&session);
    for _ in 0..3 {
        assert_eq!(deliver(&app, &paid, SECRET, now()).await, StatusCode::OK);
    }
    // All three deliveries are processed before anything is checked.
    support::wait_for_inbox(&app.state, &paid.id, 3).await;
    assert_eq!(balance(&app, "ada@example.com").await, Credits::whole(200));
    for _ in 0..3 {
        let done = ada
            .get(&format!("/billing/success?session_id={session}"))
            .await;
        assert!(
            done.contains("data-testid=\"purchase-complete\""),
            "{}",
            done.body
        );
    }
    assert_eq!(balance(&app, "ada@example.com").await, Credits::whole(200));
    let receipts: Vec<_> = app
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.subject.contains("receipt"))
        .collect();
    assert_eq!(receipts.len(), 1, "one receipt email");
    assert!(receipts[0].html.as_deref().unwrap().contains("$10.00"));

    let payments = ada.get("/billing/payments").await;
    let receipt_link = payments
        .body
        .split("href=\"/billing/payments/")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let receipt = ada.get(&format!("/billing/payments/{receipt_link}")).await;
    assert!(receipt.contains("data-testid=\"receipt-number\">R-"));
    assert!(receipt.contains("$10.00"));
    // Another user sees neither the receipt nor the checkout.
    let mut bob = app.browser();
    bob.register("bob@example.com", PASSWORD).await;
    assert_eq!(
        bob.get(&format!("/billing/payments/{receipt_link}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        bob.get(&format!("/billing/success?session_id={session}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn forged_or_stale_webhooks_are_refused_and_store_nothing() {
    let (app, gateway) = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let session = start_purchase(&mut ada).await;
    let paid = gateway.pay(&session);
    assert_eq!(
        deliver(&app, &paid, "whsec_forged", now()).await,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        deliver(&app, &paid, SECRET, now() - 600).await,
        StatusCode::BAD_REQUEST
    );
    let repo = app.state.billing().unwrap().billing.repository().clone();
    // Refused before it is stored: nothing is processed later either.
    assert!(repo.event(&paid.id).await.unwrap().is_none());
    assert_eq!(balance(&app, "ada@example.com").await, Credits::whole(100));
}

#[tokio::test]
async fn the_gateway_down_at_checkout_gives_a_clear_message_and_no_half_state() {
    let (app, gateway) = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    gateway.set_down(true);
    let page = ada.get("/billing").await;
    let pack = page.input_value("pack").unwrap();
    let key = page.input_value("form_key").unwrap();
    let back = ada
        .post("/billing/checkout", &[("pack", &pack), ("form_key", &key)])
        .await;
    assert_eq!(back.location(), "/billing");
    let page = ada.get("/billing").await;
    assert!(
        page.contains("Payments are unavailable right now. Nothing was charged"),
        "{}",
        page.body
    );
    let user = app.user("ada@example.com").await;
    let repo = app.state.billing().unwrap().billing.repository().clone();
    assert_eq!(repo.customer_of(user.id.as_uuid()).await.unwrap(), None);
}

#[tokio::test]
async fn admins_refund_partially_with_clawback_and_cannot_exceed_the_payment() {
    let (app, gateway) = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let session = start_purchase(&mut ada).await;
    deliver(&app, &gateway.pay(&session), SECRET, now()).await;
    wait_for_balance(&app, "ada@example.com", Credits::whole(200)).await;
    let repo = app.state.billing().unwrap().billing.repository().clone();
    let payment = repo.payment_by_session(&session).await.unwrap().unwrap();

    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let search = admin.get("/admin/payments?email=ada%40example.com").await;
    assert!(search.contains(&payment.receipt_number));
    admin.get(&format!("/admin/payments/{}", payment.id)).await;
    let first = admin
        .post(
            &format!("/admin/payments/{}/refund", payment.id),
            &[("amount", "6.00"), ("reason", "Partial")],
        )
        .await;
    assert_eq!(first.status, StatusCode::SEE_OTHER, "{}", first.body);
    let detail = admin.get(&format!("/admin/payments/{}", payment.id)).await;
    assert!(
        detail.contains("Refunded $6.00. 60 credits were taken back."),
        "{}",
        detail.body
    );
    let too_much = admin
        .post(
            &format!("/admin/payments/{}/refund", payment.id),
            &[("amount", "5.00"), ("reason", "Again")],
        )
        .await;
    assert_eq!(too_much.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_much.contains("only $4.00 can still be refunded"),
        "{}",
        too_much.body
    );
    assert_eq!(balance(&app, "ada@example.com").await, Credits::whole(140));
    let rest = admin
        .post(
            &format!("/admin/payments/{}/refund", payment.id),
            &[("amount", "4.00"), ("reason", "Rest")],
        )
        .await;
    assert_eq!(rest.status, StatusCode::SEE_OTHER);
    assert_eq!(balance(&app, "ada@example.com").await, Credits::whole(100));
    let stored = repo.payment(payment.id).await.unwrap().unwrap();
    assert_eq!(stored.status.as_str(), "refunded");
    // The processor's refund event afterwards changes nothing.
    let event = gateway.charge_refunded_event(stored.payment_intent.as_deref().unwrap());
    assert_eq!(deliver(&app, &event, SECRET, now()).await, StatusCode::OK);
    support::wait_for_inbox(&app.state, &event.id, 1).await;
    assert_eq!(balance(&app, "ada@example.com").await, Credits::whole(100));
    assert!(
        admin
            .get("/admin/webhooks")
            .await
            .contains("charge.refunded")
    );
}

#[tokio::test]
async fn billing_pages_do_not_exist_when_billing_is_off_and_refuse_non_admins_when_on() {
    let off = TestApp::new().await;
    let mut ada = off.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert_eq!(ada.get("/billing").await.status, StatusCode::NOT_FOUND);
    assert!(!ada.get("/dashboard").await.contains("Buy credits"));
    let (on, _) = app().await;
    let mut bob = on.browser();
    bob.register("bob@example.com", PASSWORD).await;
    for page in ["/admin/packs", "/admin/payments", "/admin/webhooks"] {
        assert_eq!(bob.get(page).await.status, StatusCode::FORBIDDEN, "{page}");
    }
    assert!(bob.get("/dashboard").await.contains("Buy credits"));
}

#[tokio::test]
async fn a_paid_subscription_session_is_not_taken_for_a_pack_purchase() {
    use quickscale_domain_billing::{EventStatus, PaymentGateway, SubscriptionCheckoutRequest};
    let (app, gateway) = app().await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let user = app.user("ada@example.com").await;
    let session = gateway
        .create_subscription_checkout(
            &SubscriptionCheckoutRequest {
                customer: "cus_ada".into(),
                user_reference: user.id.as_uuid().to_string(),
                plan_reference: "pro".into(),
                price_id: "price_pro".into(),
                success_url: "https://app.example/ok".into(),
                cancel_url: "https://app.example/no".into(),
            },
            "subscribe:ada",
        )
        .await
        .unwrap();
    let paid = gateway.pay(&session.id);
    assert_eq!(deliver(&app, &paid, SECRET, now()).await, StatusCode::OK);
    let repo = app.state.billing().unwrap().billing.repository().clone();
    let stored = support::wait_for_inbox(&app.state, &paid.id, 1).await;
    assert_eq!(stored.status, EventStatus::Processed, "{stored:?}");
    assert_eq!(repo.payment_by_session(&session.id).await.unwrap(), None);
    assert_eq!(balance(&app, "ada@example.com").await, Credits::whole(100));
}

#[tokio::test]
async fn syncing_packs_takes_one_time_prices_and_leaves_plans_alone() {
    let (app, _gateway) = app().await;
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    admin.get("/admin/packs").await;
    let synced = admin.post("/admin/packs/sync", &[]).await;
    assert_eq!(synced.status, StatusCode::SEE_OTHER, "{}", synced.body);
    let repo = app.state.billing().unwrap().billing.repository().clone();
    let packs = repo.packs(false).await.unwrap();
    let big = packs
        .iter()
        .find(|p| p.stripe_price_id.as_deref() == Some("price_big"))
        .expect("the one-time price became a pack");
    assert_eq!(big.credits, Credits::whole(500));
    assert_eq!(big.price.minor(), 4500);
    assert!(
        packs.iter().all(|p| !p
            .stripe_price_id
            .as_deref()
            .is_some_and(|id| id.starts_with("price_pro") || id.starts_with("price_team"))),
        "recurring prices are plans, not packs: {packs:?}"
    );
    let page = admin.get("/admin/packs").await;
    assert!(page.contains("Big pack"), "{}", page.body);
    assert!(!page.contains("pro plan"), "{}", page.body);
    // Its price in the edit form as the form takes it back: 45.00, not 45.
    assert!(
        page.contains(&format!(
            "id=\"price-{}\" name=\"price\" value=\"45.00\"",
            big.id.0
        )),
        "{}",
        page.body
    );
}
