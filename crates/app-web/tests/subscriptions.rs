//! Subscription plans against the scriptable gateway: plans synced from recurring prices, a
//! subscription bought through checkout, each paid period granting its credits once (expiring
//! with the period), renewals, a declined renewal, plan changes, cancelling and resuming.

mod support;

use std::sync::Arc;

use axum::http::StatusCode;
use quickscale_adapters::testing::gateway::ScriptedGateway;
use quickscale_app_web::App;
use quickscale_domain_billing::{EventStatus, PaymentGateway, WebhookEvent};
use quickscale_domain_credits::{AccountId, Credits};
use support::{Browser, TestApp};

const PASSWORD: &str = "a long enough password";
const SECRET: &str = "whsec_test_subscriptions";

async fn app() -> (TestApp, Arc<ScriptedGateway>) {
    let gateway = Arc::new(ScriptedGateway::default());
    let app = App::new("Test App").with_gateway(gateway.clone(), SECRET);
    let app = TestApp::with_app(
        app,
        &[("ENABLE_STRIPE", "true"), ("ENABLE_SUBSCRIPTIONS", "true")],
    )
    .await;
    (app, gateway)
}

/// Delivers an event (signed) and waits until the inbox has processed this delivery.
async fn deliver(app: &TestApp, event: &WebhookEvent) {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let before = support::inbox_attempts(&app.state, &event.id).await;
    assert_eq!(app.webhook(event, SECRET, now).await, StatusCode::OK);
    let stored = support::wait_for_inbox(&app.state, &event.id, before + 1).await;
    assert_eq!(
        stored.status,
        EventStatus::Processed,
        "{} failed: {:?}",
        event.kind,
        stored.last_error
    );
}

/// Delivers every event the gateway has produced so far, each three times, oldest first.
async fn deliver_all(app: &TestApp, gateway: &ScriptedGateway) {
    let mut events = gateway.recent_events(100).await.unwrap();
    events.reverse();
    for event in &events {
        for _ in 0..3 {
            deliver(app, event).await;
        }
    }
}

async fn balance(app: &TestApp, email: &str) -> quickscale_domain_credits::Balance {
    let user = app.user(email).await;
    app.state
        .credits()
        .balance(AccountId::new(user.id.as_uuid()), app.state.clock().now())
        .await
        .unwrap()
}

/// The admin syncs the plans; returns the plans page as `ada` sees it.
async fn sync_plans(app: &TestApp) {
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    admin.get("/admin/plans").await;
    let synced = admin.post("/admin/plans/sync", &[]).await;
    assert_eq!(synced.status, StatusCode::SEE_OTHER);
    let page = admin.get("/admin/plans").await;
    assert_eq!(
        page.body.matches("data-testid=\"admin-plan\"").count(),
        2,
        "{}",
        page.body
    );
    assert!(!page.contains("Big pack"), "a one-time price is not a plan");
}

/// The app with its plans synced, and ada signed up (100 welcome credits).
async fn with_plans_and_ada() -> (TestApp, Arc<ScriptedGateway>, Browser) {
    let (app, gateway) = app().await;
    sync_plans(&app).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    (app, gateway, ada)
}

/// The id of the plan card whose name is `name`.
fn plan_id(page: &support::Page, name: &str) -> String {
    let marker = "data-plan=\"";
    page.body
        .match_indices(marker)
        .map(|(at, _)| &page.body[at + marker.len()..])
        .find(|card| {
            card[..card.find("</footer>").unwrap_or(card.len())].contains(&format!(">{name}<"))
        })
        .map(|card| card[..36].to_owned())
        .unwrap_or_else(|| panic!("no card for {name}: {}", page.body))
}

/// Subscribes ada to a plan through checkout and pays; returns the subscription id.
async fn subscribe(
    app: &TestApp,
    gateway: &ScriptedGateway,
    ada: &mut Browser,
    name: &str,
) -> String {
    let page = ada.get("/billing/plans").await;
    assert_eq!(page.status, StatusCode::OK);
    let plan = plan_id(&page, name);
    let form_key = page.input_value("form_key").unwrap();
    let redirect = ada
        .post(
            "/billing/plans/subscribe",
            &[("plan", &plan), ("form_key", &form_key)],
        )
        .await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.body);
    let session = redirect.location().rsplit('/').next().unwrap().to_owned();
    let pending = ada.get("/billing/plans?started=1").await;
    assert!(
        pending.contains("data-testid=\"subscription-pending\""),
        "{}",
        pending.body
    );
    gateway.pay(&session);
    deliver_all(app, gateway).await;
    gateway
        .checkout_session(&session)
        .await
        .unwrap()
        .subscription
        .unwrap()
}

#[tokio::test]
async fn a_plan_grants_its_credits_once_per_paid_period_until_cancelled() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let id = subscribe(&app, &gateway, &mut ada, "pro plan").await;

    // The first period: 1000 credits (the scripted plan), once for three deliveries of each
    // event, spent first because they expire with the period.
    let after_first = balance(&app, "ada@example.com").await;
    assert_eq!(after_first.total, Credits::whole(1100));
    let sub = gateway.subscription(&id).await.unwrap();
    let (expiry, amount) = after_first.next_expiry.expect("period credits expire");
    assert_eq!(expiry.unix_timestamp(), sub.current_period_end);
    assert_eq!(amount, Credits::whole(1000));
    let page = ada.get("/billing/plans").await;
    assert!(
        page.text_of("subscription-status")
            .unwrap()
            .starts_with("Active; renews on"),
        "{}",
        page.body
    );
    assert!(page.contains("Your plan"));

    // A month later: the next period's credits.
    gateway.renew(&id);
    deliver_all(&app, &gateway).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(2100)
    );

    // Changing plan takes effect at the renewal: nothing now, the team plan's credits next.
    let page = ada.get("/billing/plans").await;
    let team = plan_id(&page, "team plan");
    let changed = ada.post("/billing/plans/change", &[("plan", &team)]).await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert!(
        ada.get("/billing/plans")
            .await
            .contains("Your plan changes at the next renewal")
    );
    assert_eq!(
        gateway.subscription(&id).await.unwrap().price_id,
        "price_team"
    );
    gateway.renew(&id);
    deliver_all(&app, &gateway).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(4600)
    );

    // Cancel at the end of the period, think again, cancel again: it ends at renewal, with
    // no more credits; the plans page offers subscribing again.
    ada.get("/billing/plans").await;
    ada.post("/billing/plans/cancel", &[("when", "period_end")])
        .await;
    let page = ada.get("/billing/plans").await;
    assert!(
        page.text_of("subscription-status")
            .unwrap()
            .contains("then it ends"),
        "{}",
        page.body
    );
    ada.post("/billing/plans/resume", &[]).await;
    assert!(
        !gateway
            .subscription(&id)
            .await
            .unwrap()
            .cancel_at_period_end
    );
    ada.get("/billing/plans").await;
    ada.post("/billing/plans/cancel", &[("when", "period_end")])
        .await;
    gateway.renew(&id);
    deliver_all(&app, &gateway).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(4600)
    );
    let page = ada.get("/billing/plans").await;
    assert!(
        !page.contains("data-testid=\"subscription\""),
        "{}",
        page.body
    );
    assert!(page.contains("/billing/plans/subscribe"));
}

#[tokio::test]
async fn a_declined_renewal_grants_nothing_and_shows_past_due() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let id = subscribe(&app, &gateway, &mut ada, "pro plan").await;
    gateway.decline_renewal(&id);
    deliver_all(&app, &gateway).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(1100)
    );
    let page = ada.get("/billing/plans").await;
    assert!(
        page.text_of("subscription-status")
            .unwrap()
            .contains("past due"),
        "{}",
        page.body
    );
    // The card works again: the open invoice is paid, but it grants the period it pays for.
    gateway.renew(&id);
    deliver_all(&app, &gateway).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(2100)
    );
    assert!(
        ada.get("/billing/plans")
            .await
            .text_of("subscription-status")
            .unwrap()
            .starts_with("Active")
    );
}

#[tokio::test]
async fn one_subscription_at_a_time_and_ending_now_stops_it() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let id = subscribe(&app, &gateway, &mut ada, "pro plan").await;
    // A second subscription is refused (a stale page's button): change the plan instead.
    let page = ada.get("/billing/plans").await;
    let team = plan_id(&page, "team plan");
    let again = ada
        .post(
            "/billing/plans/subscribe",
            &[("plan", &team), ("form_key", "k2")],
        )
        .await;
    assert_eq!(again.location(), "/billing/plans");
    assert!(
        ada.get("/billing/plans")
            .await
            .contains("You already have a subscription")
    );
    ada.post("/billing/plans/cancel", &[("when", "now")]).await;
    assert_eq!(gateway.subscription(&id).await.unwrap().status, "canceled");
    let page = ada.get("/billing/plans").await;
    assert!(
        page.contains("Your subscription has ended."),
        "{}",
        page.body
    );
    assert!(!page.contains("data-testid=\"subscription\""));
    // Nothing to cancel any more.
    ada.post("/billing/plans/cancel", &[("when", "now")]).await;
    assert!(
        ada.get("/billing/plans")
            .await
            .contains("You have no subscription to change: choose a plan below to subscribe.")
    );
}

#[tokio::test]
async fn without_enable_subscriptions_there_are_no_plan_pages() {
    let gateway = Arc::new(ScriptedGateway::default());
    let app = App::new("Test App").with_gateway(gateway, SECRET);
    let app = TestApp::with_app(app, &[("ENABLE_STRIPE", "true")]).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert_eq!(
        ada.get("/billing/plans").await.status,
        StatusCode::NOT_FOUND
    );
    assert!(!ada.get("/billing").await.contains("/billing/plans"));
}

#[tokio::test]
async fn events_in_any_order_and_at_once_grant_once_and_replays_after_changes_are_harmless() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let page = ada.get("/billing/plans").await;
    let plan = plan_id(&page, "pro plan");
    let form_key = page.input_value("form_key").unwrap();
    let redirect = ada
        .post(
            "/billing/plans/subscribe",
            &[("plan", &plan), ("form_key", &form_key)],
        )
        .await;
    let session = redirect.location().rsplit('/').next().unwrap().to_owned();
    gateway.pay(&session);
    // Newest first (the invoice before the session), each three times, all at once.
    let mut events = gateway.recent_events(10).await.unwrap();
    events.sort_by_key(|e| e.kind != "invoice.paid");
    assert_eq!(
        events.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
        ["invoice.paid", "checkout.session.completed"]
    );
    let all: Vec<&WebhookEvent> = events.iter().chain(&events).chain(&events).collect();
    futures_util::future::join_all(all.iter().map(|event| deliver(&app, event))).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(1100)
    );
    let stored = app
        .state
        .billing()
        .unwrap()
        .billing
        .current_subscription(app.user("ada@example.com").await.id.as_uuid())
        .await
        .unwrap()
        .expect("ada's subscription");
    assert_eq!(stored.status, "active");

    // The plan's credits change at the processor; a replay of the paid period grants nothing
    // more and does not fail.
    let store = app
        .state
        .billing()
        .unwrap()
        .billing
        .subscription_store()
        .unwrap()
        .clone();
    let mut pro = store.plan_by_price("price_pro").await.unwrap().unwrap();
    pro.credits = Credits::whole(1500);
    store.save_plan(&pro).await.unwrap();
    let repo = app.state.billing().unwrap().billing.repository().clone();
    let invoice = &events[0];
    let replayed = app
        .state
        .billing()
        .unwrap()
        .billing
        .process_stored(&invoice.id)
        .await
        .unwrap();
    assert_eq!(
        replayed,
        quickscale_domain_billing::EventOutcome::PeriodCredits {
            invoice: invoice.object_id.clone().unwrap(),
            new: false
        }
    );
    assert_eq!(
        repo.event(&invoice.id).await.unwrap().unwrap().status,
        EventStatus::Processed
    );
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(1100)
    );
}

#[tokio::test]
async fn the_processor_down_changes_nothing_and_foreign_subscriptions_are_ignored() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let id = subscribe(&app, &gateway, &mut ada, "pro plan").await;
    gateway.set_down(true);
    ada.get("/billing/plans").await;
    ada.post("/billing/plans/cancel", &[("when", "period_end")])
        .await;
    let page = ada.get("/billing/plans").await;
    assert!(
        page.contains("The payment processor is unavailable right now; nothing was changed."),
        "{}",
        page.body
    );
    assert!(
        page.text_of("subscription-status")
            .unwrap()
            .starts_with("Active; renews on")
    );
    gateway.set_down(false);
    assert!(
        !gateway
            .subscription(&id)
            .await
            .unwrap()
            .cancel_at_period_end
    );

    // A subscription made outside this app (no user of ours): its events are processed and
    // ignored, not retried for ever.
    let foreign = gateway
        .create_subscription_checkout(
            &quickscale_domain_billing::SubscriptionCheckoutRequest {
                customer: "cus_elsewhere".into(),
                user_reference: "not-one-of-our-users".into(),
                plan_reference: "elsewhere".into(),
                price_id: "price_pro".into(),
                success_url: "https://elsewhere.example/ok".into(),
                cancel_url: "https://elsewhere.example/no".into(),
            },
            "elsewhere",
        )
        .await
        .unwrap();
    gateway.pay(&foreign.id);
    deliver_all(&app, &gateway).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(1100)
    );
}

#[tokio::test]
async fn a_second_tab_cannot_start_a_second_subscription_before_the_webhooks_arrive() {
    let (_app, gateway, mut ada) = with_plans_and_ada().await;
    // Two tabs show the plans; the first subscribes and pays, no webhook has arrived yet.
    let page = ada.get("/billing/plans").await;
    let (pro, team) = (plan_id(&page, "pro plan"), plan_id(&page, "team plan"));
    let form_key = page.input_value("form_key").unwrap();
    let first = ada
        .post(
            "/billing/plans/subscribe",
            &[("plan", &pro), ("form_key", &form_key)],
        )
        .await;
    gateway.pay(first.location().rsplit('/').next().unwrap());
    let second = ada
        .post(
            "/billing/plans/subscribe",
            &[("plan", &team), ("form_key", &form_key)],
        )
        .await;
    assert_eq!(second.location(), "/billing/plans", "no second checkout");
    let page = ada.get("/billing/plans").await;
    assert!(
        page.contains("You already have a subscription"),
        "{}",
        page.body
    );
    assert!(
        page.contains("data-testid=\"subscription\""),
        "what the processor knows is recorded: {}",
        page.body
    );
    assert_eq!(gateway.subscriptions().len(), 1);
}

/// Starts a subscription checkout from the plans page as `tab` shows it; returns the session.
async fn subscribe_from(ada: &mut Browser, tab: &support::Page, plan: &str) -> String {
    let plan = plan_id(tab, plan);
    let form_key = tab.input_value("form_key").unwrap();
    let redirect = ada
        .post(
            "/billing/plans/subscribe",
            &[("plan", &plan), ("form_key", &form_key)],
        )
        .await;
    assert_eq!(redirect.status, StatusCode::SEE_OTHER, "{}", redirect.body);
    redirect.location().rsplit('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn two_tabs_leave_one_checkout_open_and_a_resubmitted_tab_starts_afresh() {
    let (_app, gateway, mut ada) = with_plans_and_ada().await;
    let (tab1, tab2) = (
        ada.get("/billing/plans").await,
        ada.get("/billing/plans").await,
    );
    assert_ne!(tab1.input_value("form_key"), tab2.input_value("form_key"));
    let first = subscribe_from(&mut ada, &tab1, "pro plan").await;
    let second = subscribe_from(&mut ada, &tab2, "team plan").await;
    let status = |id: &str| gateway.session(id).unwrap().status;
    assert_eq!(
        (status(&first).as_str(), status(&second).as_str()),
        ("expired", "open"),
        "the newer checkout closes the older"
    );
    // The first tab's form sent again: a new checkout (its own was closed), which closes the
    // second tab's in turn; sending it once more is the same checkout (a double click).
    let again = subscribe_from(&mut ada, &tab1, "pro plan").await;
    assert!(![first.as_str(), second.as_str()].contains(&again.as_str()));
    assert_eq!(
        (status(&second).as_str(), status(&again).as_str()),
        ("expired", "open")
    );
    assert_eq!(subscribe_from(&mut ada, &tab1, "pro plan").await, again);
    // A pack checkout in another tab is not a subscription's: it stays open.
    let packs = ada.get("/billing").await;
    let pack = ada
        .post(
            "/billing/checkout",
            &[
                ("pack", &packs.input_value("pack").unwrap()),
                ("form_key", &packs.input_value("form_key").unwrap()),
            ],
        )
        .await;
    let pack_session = pack.location().rsplit('/').next().unwrap().to_owned();
    let tab3 = ada.get("/billing/plans").await;
    subscribe_from(&mut ada, &tab3, "pro plan").await;
    assert_eq!(status(&pack_session), "open");
}

/// A subscription checkout for ada's customer made at the processor directly (another
/// integration, or the window a closed checkout leaves): returns the session id.
async fn outside_subscription_checkout(
    app: &TestApp,
    gateway: &ScriptedGateway,
    price: &str,
) -> String {
    let user = app.user("ada@example.com").await.id.as_uuid();
    let customer = app
        .state
        .billing()
        .unwrap()
        .billing
        .repository()
        .customer_of(user)
        .await
        .unwrap()
        .expect("ada is a customer");
    gateway
        .create_subscription_checkout(
            &quickscale_domain_billing::SubscriptionCheckoutRequest {
                customer,
                user_reference: user.to_string(),
                plan_reference: "elsewhere".into(),
                price_id: price.into(),
                success_url: "https://app.example/ok".into(),
                cancel_url: "https://app.example/no".into(),
            },
            &format!("outside:{price}"),
        )
        .await
        .unwrap()
        .id
}

/// The review of a second subscription, once its cancellation and refund are done.
async fn second_subscription_review(
    app: &TestApp,
    subscription: &str,
) -> quickscale_domain_billing::BillingReview {
    let review = app
        .state
        .billing()
        .unwrap()
        .billing
        .repository()
        .review(
            quickscale_domain_billing::ReviewKind::DuplicateSubscription,
            subscription,
        )
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no review of {subscription}"));
    assert!(review.settled_at.is_some(), "{review:?}");
    review
}

#[tokio::test]
async fn a_second_subscription_is_cancelled_at_once_refunded_and_grants_nothing() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let kept = subscribe(&app, &gateway, &mut ada, "pro plan").await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(1100)
    );
    let session = outside_subscription_checkout(&app, &gateway, "price_team").await;
    gateway.pay(&session);
    // Every event three times.
    deliver_all(&app, &gateway).await;
    let second = gateway
        .checkout_session(&session)
        .await
        .unwrap()
        .subscription
        .unwrap();
    assert_eq!(
        gateway.subscription(&second).await.unwrap().status,
        "canceled"
    );
    assert_eq!(gateway.subscription(&kept).await.unwrap().status, "active");
    let invoice = gateway
        .invoice(
            gateway
                .subscription(&second)
                .await
                .unwrap()
                .latest_invoice
                .as_deref()
                .unwrap(),
        )
        .await
        .unwrap();
    let review = second_subscription_review(&app, &second).await;
    assert_eq!(
        gateway.refunds(),
        [(
            invoice.payment_intent.clone().unwrap(),
            5000,
            review.id.to_string()
        )],
        "the second one's payment, in full, once"
    );
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(1100),
        "nothing granted for it"
    );
    assert_eq!(review.amount_label(), "$50.00");
    // Ada is told once; the admins see it in the audit log and on the payments page.
    let told = app
        .mail_matching(|m| {
            m.to == "ada@example.com" && m.subject.contains("cancelled and refunded")
        })
        .await;
    assert!(told.text.contains("$50.00"), "{}", told.text);
    assert_eq!(
        app.mailer
            .sent()
            .iter()
            .filter(|m| m.subject.contains("cancelled and refunded"))
            .count(),
        1
    );
    let page = ada.get("/billing/plans").await;
    assert!(
        page.text_of("subscription-status")
            .unwrap()
            .starts_with("Active; renews on"),
        "{}",
        page.body
    );
    assert!(
        page.body.contains("pro plan"),
        "the kept plan: {}",
        page.body
    );
    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let payments = admin.get("/admin/payments").await;
    assert!(
        payments.contains("Second subscription"),
        "{}",
        payments.body
    );
    assert!(payments.contains(&second), "{}", payments.body);
    let audit = admin.get("/admin/audit").await;
    assert!(
        audit.contains("subscription.second_refunded"),
        "{}",
        audit.body
    );
}

#[tokio::test]
async fn the_newer_of_two_paid_subscriptions_is_the_one_ended_whatever_the_order_of_events() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let tab = ada.get("/billing/plans").await;
    let first = subscribe_from(&mut ada, &tab, "pro plan").await;
    let second = outside_subscription_checkout(&app, &gateway, "price_team").await;
    gateway.pay(&first);
    gateway.pay(&second);
    // The newer subscription's events (newest first from the processor) arrive before the
    // older one's.
    for event in gateway.recent_events(100).await.unwrap() {
        deliver(&app, &event).await;
    }
    let subscription = |session: String| {
        let gateway = &gateway;
        async move {
            let id = gateway
                .checkout_session(&session)
                .await
                .unwrap()
                .subscription
                .unwrap();
            gateway.subscription(&id).await.unwrap()
        }
    };
    let (older, newer) = (subscription(first).await, subscription(second).await);
    assert_eq!(
        (older.status.as_str(), newer.status.as_str()),
        ("active", "canceled")
    );
    second_subscription_review(&app, &newer.id).await;
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(1100),
        "the older plan's credits only"
    );
    let stored = app
        .state
        .billing()
        .unwrap()
        .billing
        .current_subscription(app.user("ada@example.com").await.id.as_uuid())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.id, older.id);
}

#[tokio::test]
async fn after_a_change_at_renewal_the_page_shows_the_plan_paid_for_until_then() {
    let (app, gateway, mut ada) = with_plans_and_ada().await;
    let id = subscribe(&app, &gateway, &mut ada, "pro plan").await;
    let page = ada.get("/billing/plans").await;
    let (pro, team) = (plan_id(&page, "pro plan"), plan_id(&page, "team plan"));
    ada.post("/billing/plans/change", &[("plan", &team)]).await;
    assert_eq!(
        gateway.subscription(&id).await.unwrap().price_id,
        "price_team"
    );
    let shown = |page: &support::Page| {
        (
            page.text_of("subscription-plan").unwrap(),
            page.text_of("plan-change"),
        )
    };
    let page = ada.get("/billing/plans").await;
    let (plan, change) = shown(&page);
    assert_eq!(plan, "pro plan", "the period paid for is the pro plan's");
    assert!(
        change
            .as_deref()
            .is_some_and(|c| c.starts_with("Changes to team plan at renewal")),
        "{change:?}"
    );
    assert!(page.contains("From your next renewal"), "{}", page.body);
    // The processor's view of the change arriving later keeps it so.
    let updated = WebhookEvent::parse(
        &serde_json::json!({"id": "evt_after_change", "type": "customer.subscription.updated",
            "created": 5, "data": {"object": {"id": id, "object": "subscription"}}})
        .to_string(),
    )
    .unwrap();
    deliver(&app, &updated).await;
    assert_eq!(shown(&ada.get("/billing/plans").await).0, "pro plan");

    // Keeping the pro plan after all: no change waits any more.
    ada.post("/billing/plans/change", &[("plan", &pro)]).await;
    let page = ada.get("/billing/plans").await;
    assert_eq!(shown(&page), ("pro plan".to_owned(), None));
    assert_eq!(
        gateway.subscription(&id).await.unwrap().price_id,
        "price_pro"
    );

    // Changed again, then renewed: the team plan applies from the new period.
    ada.post("/billing/plans/change", &[("plan", &team)]).await;
    gateway.renew(&id);
    deliver_all(&app, &gateway).await;
    let page = ada.get("/billing/plans").await;
    assert_eq!(shown(&page), ("team plan".to_owned(), None));
    assert_eq!(
        balance(&app, "ada@example.com").await.total,
        Credits::whole(100 + 1000 + 2500),
        "the renewal granted the team plan's credits"
    );
}

#[tokio::test]
async fn a_subscribers_api_keys_get_the_limits_of_their_plan() {
    let gateway = Arc::new(ScriptedGateway::default());
    let app = App::new("Test App").with_gateway(gateway.clone(), SECRET);
    let app = TestApp::with_app(
        app,
        &[
            ("ENABLE_STRIPE", "true"),
            ("ENABLE_SUBSCRIPTIONS", "true"),
            ("ENABLE_API", "true"),
        ],
    )
    .await;
    sync_plans(&app).await;
    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    // Without a plan: the defaults (120 a minute, no monthly bound).
    let keys = ada.get("/settings/api-keys").await;
    assert!(
        keys.contains("s 120 a minute, the most a key may have"),
        "{}",
        keys.body
    );
    assert!(!keys.contains("a month through the API"));
    subscribe(&app, &gateway, &mut ada, "pro plan").await;
    // The pro plan's metadata: 300 a minute per key, 400 credits a month through the API.
    let keys = ada.get("/settings/api-keys").await;
    assert!(
        keys.contains("s 300 a minute, the most a key may have"),
        "{}",
        keys.body
    );
    assert!(
        keys.contains("400 credits a month through the API"),
        "{}",
        keys.body
    );
    let token = keys.input_value("form_token").unwrap();
    let refused = ada
        .post(
            "/settings/api-keys",
            &[
                ("name", "Too much"),
                ("current_password", PASSWORD),
                ("form_token", &token),
                ("monthly_cap", "401"),
                ("per_minute", "301"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.contains("at most 300 requests a minute"),
        "{}",
        refused.body
    );
    let ada_id = app.user("ada@example.com").await.id;
    assert!(
        app.state
            .stores()
            .api_keys
            .list(ada_id)
            .await
            .unwrap()
            .is_empty()
    );
}
