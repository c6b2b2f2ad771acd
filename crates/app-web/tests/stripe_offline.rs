//! End to end against the offline Stripe stand-in: the app listens on a real port, the browser
//! (reqwest with cookies) pays on the stand-in's hosted page, and the stand-in's signed webhooks
//! come back over HTTP.

mod support;

use std::time::Duration;

use quickscale_domain_credits::Credits;
use quickscale_stripe_fake::{Fault, Running};
use support::live::{Live, browser, hidden};

async fn live() -> Live {
    Live::start(&[("ENABLE_STRIPE", "true")]).await
}

fn fake(app: &Live) -> std::sync::Arc<Running> {
    app.state
        .billing()
        .unwrap()
        .offline
        .clone()
        .expect("the offline stand-in runs")
}

async fn register(app: &Live, client: &reqwest::Client, email: &str) {
    app.register(client, email).await;
}

/// Starts a checkout and returns the hosted payment page's URL.
async fn checkout(app: &Live, client: &reqwest::Client) -> reqwest::Response {
    let page = client
        .get(format!("{}/billing", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("Test mode."), "the page says it is test mode");
    let form = [
        ("pack", hidden(&page, "pack")),
        ("form_key", hidden(&page, "form_key")),
        ("csrf_token", hidden(&page, "csrf_token")),
    ];
    client
        .post(format!("{}/billing/checkout", app.base))
        .form(&form)
        .send()
        .await
        .unwrap()
}

async fn pay(client: &reqwest::Client, hosted: &str, card: &str) -> reqwest::Response {
    let page = client.get(hosted).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let body = page.text().await.unwrap();
    assert!(body.contains("TEST MODE"), "{body}");
    assert!(body.contains("<h1>Pay Live</h1>"), "the app's name: {body}");
    let form = [
        ("email", "ada@example.com"),
        ("card_number", card),
        ("card_exp", "12 / 34"),
        ("card_cvc", "123"),
        ("card_name", "Ada"),
    ];
    client
        .post(format!("{hosted}/pay"))
        .form(&form)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_purchase_on_the_hosted_page_grants_credits_once_even_with_redeliveries() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let redirect = checkout(&app, &ada).await;
    assert_eq!(redirect.status(), 303);
    let hosted = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(hosted.starts_with(&fake(&app).base_url), "{hosted}");

    let declined = pay(&ada, &hosted, "4000000000000002").await;
    assert_eq!(declined.status(), 402);
    assert!(
        declined
            .text()
            .await
            .unwrap()
            .contains("Your card was declined.")
    );
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(100));

    let paid = pay(&ada, &hosted, "4242424242424242").await;
    assert_eq!(paid.status(), 303);
    let success = paid.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        success.starts_with(&format!("{}/billing/success?session_id=cs_test_", app.base)),
        "{success}"
    );
    app.wait_for_balance("ada@example.com", Credits::whole(200))
        .await;
    for _ in 0..3 {
        let page = ada
            .get(&success)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(page.contains("purchase-complete"), "{page}");
    }
    let completed = fake(&app).events_of_type("checkout.session.completed");
    let id = completed[0]["id"].as_str().unwrap().to_owned();
    app.wait_for_stand_in().await;
    let before = support::inbox_attempts(&app.state, &id).await;
    for _ in 0..3 {
        fake(&app).deliver_event(&id).await.unwrap();
    }
    // Each redelivery is processed again before the balance is checked.
    support::wait_for_inbox(&app.state, &id, before + 3).await;
    assert_eq!(
        app.balance("ada@example.com").await,
        Credits::whole(200),
        "credits are granted once"
    );
    // The activity says what each grant was for: a label (then a reason) per row.
    let dashboard = ada
        .get(format!("{}/dashboard", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        dashboard.matches("<td>Purchased</td>").count(),
        1,
        "{dashboard}"
    );
    assert_eq!(
        dashboard.matches("<td>Welcome bonus</td>").count(),
        2,
        "{dashboard}"
    );
    assert!(!dashboard.contains("Granted"), "{dashboard}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_order_and_withheld_events_end_in_the_right_state() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    fake(&app).withhold_event_types(&[
        "checkout.session.completed",
        "charge.succeeded",
        "payment_intent.succeeded",
    ]);
    let hosted = checkout(&app, &ada).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(pay(&ada, &hosted, "4242424242424242").await.status(), 303);
    app.wait_for_stand_in().await;
    assert_eq!(
        app.balance("ada@example.com").await,
        Credits::whole(100),
        "nothing delivered yet"
    );

    // Reconciliation fetches what the inbox missed.
    let billing = app.state.billing().unwrap();
    let report = billing.billing.reconcile(100).await.unwrap();
    assert!(report.missing >= 1, "{report:?}");
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(200));

    // A second purchase whose events arrive newest first.
    let hosted = checkout(&app, &ada).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(pay(&ada, &hosted, "4242424242424242").await.status(), 303);
    let mut ids: Vec<String> = fake(&app)
        .events()
        .iter()
        .rev()
        .take(4)
        .map(|e| e["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort_by_key(|id| std::cmp::Reverse(id.clone()));
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    fake(&app).deliver_events(&refs).await.unwrap();
    app.wait_for_balance("ada@example.com", Credits::whole(300))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_processor_down_at_checkout_leaves_nothing_half_done() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    fake(&app).inject_fault(Fault::error(20));
    let response = checkout(&app, &ada).await;
    assert_eq!(response.headers()["location"], "/billing");
    let page = ada
        .get(format!("{}/billing", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Payments are unavailable right now. Nothing was charged"),
        "{page}"
    );
    fake(&app).clear_faults();
    let user = app.user("ada@example.com").await;
    assert_eq!(
        app.state
            .billing()
            .unwrap()
            .billing
            .repository()
            .customer_of(user.id.as_uuid())
            .await
            .unwrap(),
        None
    );
    let again = checkout(&app, &ada).await;
    assert!(
        again.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with(&fake(&app).base_url)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refunds_claw_back_once_when_the_processor_reports_them_too() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let hosted = checkout(&app, &ada).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    pay(&ada, &hosted, "4242424242424242").await;
    app.wait_for_balance("ada@example.com", Credits::whole(200))
        .await;
    let billing = app.state.billing().unwrap();
    let (payments, _) = billing
        .billing
        .repository()
        .payments(&quickscale_domain_billing::PaymentQuery {
            limit: 5,
            ..Default::default()
        })
        .await
        .unwrap();
    let payment = &payments[0];
    let admin = uuid::Uuid::now_v7();
    let usd = |minor| {
        quickscale_domain_billing::Money::new(minor, quickscale_domain_billing::Currency::USD)
            .unwrap()
    };
    billing
        .billing
        .refund(payment.id, usd(300), "partial", admin)
        .await
        .unwrap();
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(170));
    let too_much = billing
        .billing
        .refund(payment.id, usd(800), "too much", admin)
        .await;
    assert!(too_much.is_err());
    // The stand-in sends charge.refunded for the refund; processing it changes nothing more.
    let event = fake(&app)
        .wait_for_delivery("charge.refunded", Duration::from_secs(5))
        .await
        .expect("a charge.refunded delivery");
    assert!(event.succeeded, "{event:?}");
    support::wait_for_inbox(&app.state, &event.event_id, 1).await;
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(170));
    let refunds = billing
        .billing
        .repository()
        .refunds_of(payment.id)
        .await
        .unwrap();
    assert_eq!(refunds.len(), 1, "{refunds:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plan_bought_on_the_hosted_page_grants_each_period_once() {
    let app = Live::start(&[("ENABLE_STRIPE", "true"), ("ENABLE_SUBSCRIPTIONS", "true")]).await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let page = ada
        .get(format!("{}/billing/plans", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        page.contains("Pro plan"),
        "the stand-in's plan is offered: {page}"
    );
    let form = [
        ("plan", hidden(&page, "plan")),
        ("form_key", hidden(&page, "form_key")),
        ("csrf_token", hidden(&page, "csrf_token")),
    ];
    let redirect = ada
        .post(format!("{}/billing/plans/subscribe", app.base))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 303);
    let hosted = redirect.headers()["location"].to_str().unwrap().to_owned();
    let checkout = ada.get(&hosted).send().await.unwrap().text().await.unwrap();
    assert!(checkout.contains("Subscribe to Pro plan"), "{checkout}");
    let card = [
        ("email", "ada@example.com"),
        ("card_number", "4242424242424242"),
        ("card_exp", "12 / 34"),
        ("card_cvc", "123"),
    ];
    let paid = ada
        .post(format!("{hosted}/pay"))
        .form(&card)
        .send()
        .await
        .unwrap();
    assert_eq!(paid.status(), 303);
    assert!(
        paid.headers()["location"]
            .to_str()
            .unwrap()
            .ends_with("/billing/plans?started=1")
    );
    // The stand-in's real sequence of signed events (subscription created incomplete, the
    // invoice paid, the subscription active, the session completed) grants 1000 once.
    app.wait_for_balance("ada@example.com", Credits::whole(1100))
        .await;
    app.wait_for_stand_in().await;
    for paid in fake(&app).events_of_type("invoice.paid") {
        let id = paid["id"].as_str().unwrap();
        let before = support::inbox_attempts(&app.state, id).await;
        fake(&app).deliver_event(id).await.unwrap();
        support::wait_for_inbox(&app.state, id, before + 1).await;
    }
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(1100));
    let plans = ada
        .get(format!("{}/billing/plans", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(plans.contains("Active; renews on"), "{plans}");

    // A month passes in the stand-in: the renewal grants the next period.
    let subscription = fake(&app).subscriptions()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    fake(&app).renew_subscription(&subscription, None).unwrap();
    app.wait_for_balance("ada@example.com", Credits::whole(2100))
        .await;

    // Cancelled from the app, at the end of the period: the stand-in agrees.
    let plans = ada
        .get(format!("{}/billing/plans", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let cancel = [
        ("when", "period_end".to_owned()),
        ("csrf_token", hidden(&plans, "csrf_token")),
    ];
    let done = ada
        .post(format!("{}/billing/plans/cancel", app.base))
        .form(&cancel)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    assert_eq!(fake(&app).subscriptions()[0]["cancel_at_period_end"], true);
}

/// Creates a checkout session straight at the stand-in, as another integration (or anyone with
/// the key) could, and pays it on the stand-in: returns the session id and its
/// `checkout.session.completed` event id.
async fn outside_session(app: &Live, form: &[(&str, &str)]) -> (String, String) {
    let fake = fake(app);
    let created: serde_json::Value = reqwest::Client::new()
        .post(fake.url("/v1/checkout/sessions"))
        .bearer_auth("sk_test_outside")
        .form(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = created["id"].as_str().expect("a session").to_owned();
    fake.complete_checkout_session(&session).unwrap();
    let event = fake
        .events_of_type("checkout.session.completed")
        .into_iter()
        .find(|e| e["data"]["object"]["id"] == session.as_str())
        .expect("the completed event")["id"]
        .as_str()
        .unwrap()
        .to_owned();
    (session, event)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_outside_the_app_grants_nothing_and_is_held_for_the_admins() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let user = app.user("ada@example.com").await.id.as_uuid().to_string();
    // The probe: 0.50 USD for a million credits, naming ada.
    let (probe, event) = outside_session(
        &app,
        &[
            ("mode", "payment"),
            ("line_items[0][price_data][currency]", "usd"),
            ("line_items[0][price_data][unit_amount]", "50"),
            ("line_items[0][price_data][product_data][name]", "Credits"),
            ("line_items[0][quantity]", "1"),
            ("metadata[credits]", "1000000"),
            ("client_reference_id", &user),
            ("success_url", "http://127.0.0.1:9/ok"),
        ],
    )
    .await;
    let stored = support::wait_for_inbox(&app.state, &event, 1).await;
    assert_eq!(
        stored.status,
        quickscale_domain_billing::EventStatus::Processed,
        "{stored:?}"
    );
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(100));

    let admin = browser();
    app.login(&admin, "admin@example.com", "admin-password-1")
        .await;
    let page = admin
        .get(app.url("/admin/payments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let row = page
        .split("data-testid=\"review\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no review row: {page}"));
    for shown in [
        probe.as_str(),
        "$0.50",
        "Payment matching no pack",
        "1000000",
    ] {
        assert!(row.contains(shown), "{shown} in {row}");
    }
    // Marked reviewed, it leaves the list (and the audit log says who).
    let action = row
        .split("action=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let done = admin
        .post(app.url(&action))
        .form(&[("csrf_token", hidden(&page, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let page = admin
        .get(app.url("/admin/payments"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!page.contains("data-testid=\"review\""), "{page}");
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_outside_the_app_for_a_pack_at_its_price_grants_that_pack_to_its_customer() {
    let app = live().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    // Ada becomes a customer by starting (not paying) a checkout.
    let hosted = checkout(&app, &ada).await;
    assert_eq!(hosted.status(), 303);
    let user = app.user("ada@example.com").await.id.as_uuid();
    let repo = app.state.billing().unwrap().billing.repository().clone();
    let customer = repo
        .customer_of(user)
        .await
        .unwrap()
        .expect("ada's customer");
    let pack = repo.packs(true).await.unwrap()[0].clone();
    let pack_id = pack.id.0.to_string();
    let price = pack.price.minor().to_string();
    let mut form = vec![
        ("mode", "payment"),
        ("customer", customer.as_str()),
        ("line_items[0][price_data][currency]", "usd"),
        ("line_items[0][price_data][unit_amount]", price.as_str()),
        (
            "line_items[0][price_data][product_data][name]",
            "Starter pack",
        ),
        ("line_items[0][quantity]", "1"),
        ("metadata[pack_id]", pack_id.as_str()),
        ("metadata[credits]", "1000000"),
        ("client_reference_id", "not-ada"),
    ];
    let (_, event) = outside_session(&app, &form).await;
    support::wait_for_inbox(&app.state, &event, 1).await;
    assert_eq!(
        app.balance("ada@example.com").await,
        Credits::whole(100).saturating_add(pack.credits),
        "the pack's credits, not the session's, to the customer's user"
    );
    // The same pack bought twice at once (quantity 2 for the price of two) is not the pack.
    form[5] = ("line_items[0][quantity]", "2");
    let (twice, event) = outside_session(&app, &form).await;
    support::wait_for_inbox(&app.state, &event, 1).await;
    assert_eq!(
        app.balance("ada@example.com").await,
        Credits::whole(100).saturating_add(pack.credits)
    );
    let held = repo
        .review(
            quickscale_domain_billing::ReviewKind::UnmatchedCheckout,
            &twice,
        )
        .await
        .unwrap()
        .expect("held for review");
    assert_eq!(held.user, Some(user));
}

async fn subscriptions_app() -> Live {
    Live::start(&[("ENABLE_STRIPE", "true"), ("ENABLE_SUBSCRIPTIONS", "true")]).await
}

async fn plans_page(app: &Live, client: &reqwest::Client) -> String {
    client
        .get(app.url("/billing/plans"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

/// Submits a plans page's subscribe form (as shown in that tab); returns the hosted checkout.
async fn subscribe_in(app: &Live, client: &reqwest::Client, tab: &str) -> String {
    let form = [
        ("plan", hidden(tab, "plan")),
        ("form_key", hidden(tab, "form_key")),
        ("csrf_token", hidden(tab, "csrf_token")),
    ];
    let redirect = client
        .post(app.url("/billing/plans/subscribe"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(redirect.status(), 303);
    let hosted = redirect.headers()["location"].to_str().unwrap().to_owned();
    assert!(hosted.starts_with(&fake(app).base_url), "{hosted}");
    hosted
}

async fn pay_subscription(
    client: &reqwest::Client,
    hosted: &str,
    email: &str,
) -> reqwest::Response {
    let card = [
        ("email", email),
        ("card_number", "4242424242424242"),
        ("card_exp", "12 / 34"),
        ("card_cvc", "123"),
    ];
    client
        .post(format!("{hosted}/pay"))
        .form(&card)
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_tabs_through_the_stand_in_end_with_one_subscription_and_one_charge() {
    let app = subscriptions_app().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let (tab1, tab2) = (plans_page(&app, &ada).await, plans_page(&app, &ada).await);
    let first = subscribe_in(&app, &ada, &tab1).await;
    let second = subscribe_in(&app, &ada, &tab2).await;
    assert_ne!(first, second);
    // The first tab's checkout was closed by the second: it cannot be paid.
    let closed = ada.get(&first).send().await.unwrap();
    assert_eq!(closed.status(), 410);
    assert_eq!(
        pay_subscription(&ada, &first, "ada@example.com")
            .await
            .status(),
        410
    );
    assert_eq!(
        pay_subscription(&ada, &second, "ada@example.com")
            .await
            .status(),
        303
    );
    app.wait_for_balance("ada@example.com", Credits::whole(1100))
        .await;
    let subscriptions = fake(&app).subscriptions();
    assert_eq!(subscriptions.len(), 1, "{subscriptions:?}");
    assert_eq!(
        fake(&app).events_of_type("invoice.paid").len(),
        1,
        "one charge"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_subscriptions_paid_anyway_end_with_the_newer_cancelled_and_refunded() {
    let app = subscriptions_app().await;
    let bob = browser();
    register(&app, &bob, "bob@example.com").await;
    let (tab1, tab2) = (plans_page(&app, &bob).await, plans_page(&app, &bob).await);
    let first = subscribe_in(&app, &bob, &tab1).await;
    // Closing the first tab's checkout fails (the processor refuses for a moment): both stay
    // open, and both are paid.
    let first_id = first.rsplit('/').next().unwrap().to_owned();
    fake(&app).inject_fault(Fault {
        path_prefix: Some(format!("/v1/checkout/sessions/{first_id}/expire")),
        ..Fault::error(10)
    });
    let second = subscribe_in(&app, &bob, &tab2).await;
    fake(&app).clear_faults();
    assert_eq!(
        pay_subscription(&bob, &first, "bob@example.com")
            .await
            .status(),
        303
    );
    assert_eq!(
        pay_subscription(&bob, &second, "bob@example.com")
            .await
            .status(),
        303
    );
    let subscriptions = fake(&app).subscriptions();
    assert_eq!(subscriptions.len(), 2);
    let (older, newer) = (
        subscriptions[0]["id"].as_str().unwrap().to_owned(),
        subscriptions[1]["id"].as_str().unwrap().to_owned(),
    );
    let repo = app.state.billing().unwrap().billing.repository().clone();
    let mut review = None;
    for _ in 0..400 {
        review = repo
            .review(
                quickscale_domain_billing::ReviewKind::DuplicateSubscription,
                &newer,
            )
            .await
            .unwrap()
            .filter(|r| r.settled_at.is_some());
        if review.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let review = review.expect("the newer subscription was ended");
    let status = |id: &str| {
        fake(&app)
            .subscriptions()
            .into_iter()
            .find(|s| s["id"] == id)
            .unwrap()["status"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert_eq!(
        (status(&older), status(&newer)),
        ("active".into(), "canceled".into())
    );
    // Its charge is refunded in full at the stand-in; the older one's is not.
    let charges: serde_json::Value = reqwest::Client::new()
        .get(fake(&app).url("/v1/charges"))
        .bearer_auth("sk_test_check")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut refunded: Vec<(i64, i64)> = charges["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["amount"].as_i64().unwrap(),
                c["amount_refunded"].as_i64().unwrap(),
            )
        })
        .collect();
    refunded.sort();
    assert_eq!(refunded, [(2000, 0), (2000, 2000)]);
    assert_eq!(review.amount_label(), "$20.00");
    // One period's credits; the refund's own event is taken in stride.
    let refund_event = fake(&app)
        .wait_for_delivery("charge.refunded", Duration::from_secs(5))
        .await
        .expect("the refund's event was delivered");
    let stored = support::wait_for_inbox(&app.state, &refund_event.event_id, 1).await;
    assert_eq!(
        stored.status,
        quickscale_domain_billing::EventStatus::Processed,
        "{stored:?}"
    );
    assert_eq!(app.balance("bob@example.com").await, Credits::whole(1100));
    let page = plans_page(&app, &bob).await;
    assert!(page.contains("Active; renews on"), "{page}");
}

/// The app on SQLite in `dir`, billing offline (with plans when `plans`).
async fn kept_app(dir: &std::path::Path, plans: bool) -> Live {
    let db = format!("sqlite://{}/data/app.db", dir.display());
    let plans = if plans { "true" } else { "false" };
    Live::start_in(
        dir,
        &[
            ("ENABLE_STRIPE", "true"),
            ("ENABLE_SUBSCRIPTIONS", plans),
            ("DATABASE_URL", &db),
        ],
    )
    .await
}

/// The app's command line, in process, on `config`.
async fn command(config: quickscale_app_web::Config, args: &[&str]) -> anyhow::Result<()> {
    quickscale_app_web::App::new("Live")
        .with_hasher(std::sync::Arc::new(
            quickscale_adapters::memory::PlainTextHasher,
        ))
        .run_command(config, args.iter().copied())
        .await
}

/// A file's identity: rewriting it (the stand-in renames a new file over it) changes it.
fn identity(path: &std::path::Path) -> (u64, std::time::SystemTime, u64) {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(path).unwrap();
    (meta.ino(), meta.modified().unwrap(), meta.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn maintenance_commands_beside_the_app_neither_start_a_stand_in_nor_touch_plans() {
    let dir = tempfile::tempdir().unwrap();
    let app = kept_app(dir.path(), true).await;
    // An admin made a plan at the processor and synced it.
    let made: serde_json::Value = reqwest::Client::new()
        .post(fake(&app).url("/v1/prices"))
        .bearer_auth("sk_test_admin")
        .form(&[
            ("currency", "usd"),
            ("unit_amount", "5000"),
            ("recurring[interval]", "month"),
            ("product_data[name]", "Team plan"),
            ("product_data[metadata][credits]", "3000"),
            ("metadata[credits]", "3000"),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(made["id"].is_string(), "{made}");
    let billing = &app.state.billing().unwrap().billing;
    assert_eq!(billing.sync_plans().await.unwrap(), 2);
    let store = billing.subscription_store().unwrap().clone();
    let state_file = quickscale_app_web::payments::offline::state_file(&app.config()).unwrap();
    let before = identity(&state_file);

    command(app.config(), &["verify-ledger"]).await.unwrap();
    command(
        app.config(),
        &["create-admin", "--email", "deputy@example.com"],
    )
    .await
    .unwrap();
    assert_eq!(
        store.plans(true).await.unwrap().len(),
        2,
        "no plan was deactivated"
    );
    assert_eq!(
        identity(&state_file),
        before,
        "the stand-in's state is untouched"
    );
    assert_eq!(
        quickscale_stripe_fake::running_at(&state_file).as_deref(),
        Some(fake(&app).base_url.as_str()),
        "the app's stand-in still serves"
    );
    assert!(app.user("deputy@example.com").await.is_admin());

    // A check on a database that is not there creates nothing.
    let elsewhere = tempfile::tempdir().unwrap();
    let missing = elsewhere.path().join("data/app.db");
    let url = format!("sqlite://{}", missing.display());
    let config = quickscale_app_web::Config::from_pairs(
        elsewhere.path(),
        "Live",
        &[
            ("SECRET_KEY", "live-test-secret-key-0123456789abcdef"),
            ("DATABASE_URL", &url),
            ("ENABLE_STRIPE", "true"),
        ],
    )
    .unwrap();
    let refused = command(config, &["verify-ledger"]).await.unwrap_err();
    assert!(refused.to_string().contains("run `migrate`"), "{refused:#}");
    assert!(!missing.exists());
    assert!(!elsewhere.path().join("data/stripe-offline.json").exists());
}

/// Buys the first pack with its `checkout.session.completed` withheld: paid, not yet granted.
async fn paid_but_not_delivered(app: &Live, client: &reqwest::Client) {
    fake(app).withhold_event_types(&["checkout.session.completed"]);
    let hosted = checkout(app, client).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(pay(client, &hosted, "4242424242424242").await.status(), 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reconcile_reaches_the_running_apps_stand_in_or_the_state_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    let app = kept_app(dir.path(), false).await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    paid_but_not_delivered(&app, &ada).await;
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(100));
    // Beside the running app: its stand-in's events.
    command(app.config(), &["billing", "reconcile"])
        .await
        .unwrap();
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(200));

    // With the app stopped: the state its stand-in kept.
    paid_but_not_delivered(&app, &ada).await;
    let config = app.config();
    let (dir_path, _) = app.stop().await;
    command(config.clone(), &["billing", "reconcile"])
        .await
        .unwrap();
    let app = kept_app(&dir_path, false).await;
    assert_eq!(app.balance("ada@example.com").await, Credits::whole(300));
    drop(dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_offline_subscription_survives_a_restart_and_is_cancelled_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let app = kept_app(dir.path(), true).await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let tab = plans_page(&app, &ada).await;
    let hosted = subscribe_in(&app, &ada, &tab).await;
    assert_eq!(
        pay_subscription(&ada, &hosted, "ada@example.com")
            .await
            .status(),
        303
    );
    app.wait_for_balance("ada@example.com", Credits::whole(1100))
        .await;
    let (dir_path, _) = app.stop().await;

    let app = kept_app(&dir_path, true).await;
    let ada = browser();
    app.login(&ada, "ada@example.com", support::live::PASSWORD)
        .await;
    let page = plans_page(&app, &ada).await;
    assert!(page.contains("Active; renews on"), "{page}");
    let cancel = [
        ("when", "period_end".to_owned()),
        ("csrf_token", hidden(&page, "csrf_token")),
    ];
    let done = ada
        .post(app.url("/billing/plans/cancel"))
        .form(&cancel)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 303);
    let page = plans_page(&app, &ada).await;
    assert!(page.contains("then it ends"), "{page}");
    let kept = fake(&app).subscriptions();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0]["cancel_at_period_end"], true);
    drop(dir);
}

/// The plans page once it says `text` (webhooks are processed in the background).
async fn plans_page_saying(app: &Live, client: &reqwest::Client, text: &str) -> String {
    for _ in 0..200 {
        let page = plans_page(app, client).await;
        if page.contains(text) {
            return page;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!(
        "the plans page never said {text:?}: {}",
        plans_page(app, client).await
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_past_due_plan_recovers_with_a_card_saved_in_the_offline_portal() {
    let app = subscriptions_app().await;
    let ada = browser();
    register(&app, &ada, "ada@example.com").await;
    let tab = plans_page(&app, &ada).await;
    let hosted = subscribe_in(&app, &ada, &tab).await;
    assert_eq!(
        pay_subscription(&ada, &hosted, "ada@example.com")
            .await
            .status(),
        303
    );
    app.wait_for_balance("ada@example.com", Credits::whole(1100))
        .await;
    let subscription = fake(&app).subscriptions()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The card on file declines at renewal: the page asks for another payment method.
    fake(&app)
        .renew_subscription(&subscription, Some("4000000000000002"))
        .unwrap();
    let page = plans_page_saying(&app, &ada, "update your payment method").await;
    let portal = ada
        .post(app.url("/billing/portal"))
        .form(&[("csrf_token", hidden(&page, "csrf_token"))])
        .send()
        .await
        .unwrap();
    assert_eq!(portal.status(), 303);
    let portal = portal.headers()["location"].to_str().unwrap().to_owned();
    let html = ada.get(&portal).send().await.unwrap().text().await.unwrap();
    assert!(html.contains("Payment method"), "{html}");
    let saved = ada
        .post(format!("{portal}/payment_method"))
        .form(&[
            ("card_number", "5555 5555 5555 4444"),
            ("card_exp", "12 / 34"),
            ("card_cvc", "123"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(saved.status(), 303);
    // The next attempt charges the saved card: active again, and the period's credits come.
    let retried = fake(&app).renew_subscription(&subscription, None).unwrap();
    assert_eq!(retried["status"], "active");
    plans_page_saying(&app, &ada, "Active; renews on").await;
    app.wait_for_balance("ada@example.com", Credits::whole(2100))
        .await;
}
