//! The Stripe client's subscription calls against the offline stand-in over HTTP: a plan bought
//! through Checkout, renewed, declined, changed with proration, cancelled at the period end (and
//! resumed), cancelled now, and the errors a caller can act on.

use std::time::Duration;

use quickscale_adapters::stripe::StripeClient;
use quickscale_domain_billing::{
    CancelAt, GatewayError, GatewayPrice, Interval, PaymentGateway, Proration, Recurring,
    SubscriptionCheckoutRequest,
};
use quickscale_stripe_fake::{CatalogItem, Config, FakeStripe, Fault, Running};

fn team_plan() -> CatalogItem {
    CatalogItem {
        name: "Team plan".into(),
        description: None,
        unit_amount: 5000,
        lookup_key: Some("team_monthly".into()),
        ..CatalogItem::monthly_plan()
    }
}

async fn start() -> (Running, StripeClient) {
    let fake = FakeStripe::start(Config {
        catalog: vec![
            CatalogItem::starter_pack(),
            CatalogItem::monthly_plan(),
            team_plan(),
        ],
        ..Config::for_tests()
    })
    .await
    .expect("the stand-in starts");
    let client = StripeClient::new(&fake.base_url, "sk_test_client", Duration::from_secs(5))
        .expect("a client")
        .with_retries(1, Duration::from_millis(10));
    (fake, client)
}

fn price<'a>(prices: &'a [GatewayPrice], name: &str) -> &'a GatewayPrice {
    prices
        .iter()
        .find(|p| p.product_name == name)
        .unwrap_or_else(|| panic!("{name} in {prices:?}"))
}

/// A paid subscription to `price` for a new customer; returns its id.
async fn subscribe(fake: &Running, client: &StripeClient, user: &str, price: &str) -> String {
    let customer = client
        .create_customer(
            &format!("{user}@example.com"),
            user,
            &format!("customer:{user}"),
        )
        .await
        .unwrap();
    let request = SubscriptionCheckoutRequest {
        customer: customer.clone(),
        user_reference: user.into(),
        plan_reference: "plan-7".into(),
        price_id: price.into(),
        success_url: "https://app.example/billing/plans/success".into(),
        cancel_url: "https://app.example/billing/plans".into(),
    };
    let key = format!("subscribe:{user}");
    let session = client
        .create_subscription_checkout(&request, &key)
        .await
        .unwrap();
    assert_eq!(session.mode, "subscription");
    assert_eq!(session.status, "open");
    assert_eq!(session.customer.as_deref(), Some(customer.as_str()));
    assert!(
        session
            .url
            .as_deref()
            .is_some_and(|u| u.starts_with(&fake.base_url))
    );
    assert_eq!(session.subscription, None, "no subscription before payment");
    let again = client
        .create_subscription_checkout(&request, &key)
        .await
        .unwrap();
    assert_eq!(
        again.id, session.id,
        "the idempotency key returns the same session"
    );

    fake.complete_checkout_session(&session.id).unwrap();
    let paid = client.checkout_session(&session.id).await.unwrap();
    assert!(paid.is_paid() && !paid.is_one_time_payment());
    assert_eq!(
        paid.metadata.get("plan_id").map(String::as_str),
        Some("plan-7")
    );
    paid.subscription
        .expect("a paid session names its subscription")
}

#[tokio::test]
async fn a_plan_is_bought_renewed_and_declined_through_the_client() {
    let (fake, client) = start().await;
    let prices = client.prices().await.unwrap();
    let pro = price(&prices, "Pro plan").clone();
    assert_eq!(
        pro.recurring,
        Some(Recurring {
            interval: Interval::Month,
            count: 1
        })
    );
    assert_eq!(price(&prices, "Starter pack").recurring, None);

    let id = subscribe(&fake, &client, "ada", &pro.id).await;
    let sub = client.subscription(&id).await.unwrap();
    assert_eq!(sub.status, "active");
    assert!(sub.is_entitled());
    assert_eq!(sub.price_id, pro.id);
    assert!(sub.current_period_end > sub.current_period_start);
    assert!(!sub.cancel_at_period_end);
    assert_eq!(sub.metadata.get("user_id").map(String::as_str), Some("ada"));
    assert_eq!(
        sub.metadata.get("plan_id").map(String::as_str),
        Some("plan-7")
    );

    let first = client
        .invoice(sub.latest_invoice.as_deref().expect("the first invoice"))
        .await
        .unwrap();
    assert!(first.is_paid());
    assert_eq!(first.billing_reason.as_deref(), Some("subscription_create"));
    assert_eq!((first.amount_paid, first.currency.as_str()), (2000, "usd"));
    assert_eq!(first.subscription.as_deref(), Some(id.as_str()));
    assert_eq!(first.price_id.as_deref(), Some(pro.id.as_str()));
    assert_eq!(
        (first.period_start, first.period_end),
        (sub.current_period_start, sub.current_period_end)
    );

    // A month passes: the next period is invoiced and paid.
    fake.renew_subscription(&id, None).unwrap();
    let renewed = client.subscription(&id).await.unwrap();
    assert_eq!(renewed.current_period_start, sub.current_period_end);
    assert_eq!(renewed.status, "active");
    let cycle = client
        .invoice(renewed.latest_invoice.as_deref().unwrap())
        .await
        .unwrap();
    assert_ne!(cycle.id, first.id);
    assert!(cycle.is_paid());
    assert_eq!(cycle.billing_reason.as_deref(), Some("subscription_cycle"));
    assert_eq!(
        (cycle.period_start, cycle.period_end, cycle.amount_paid),
        (
            renewed.current_period_start,
            renewed.current_period_end,
            2000
        )
    );

    // The next month the card is declined: past due, the invoice stays open.
    fake.renew_subscription(&id, Some("4000000000000002"))
        .unwrap();
    let declined = client.subscription(&id).await.unwrap();
    assert_eq!(declined.status, "past_due");
    assert!(!declined.is_entitled());
    let open = client
        .invoice(declined.latest_invoice.as_deref().unwrap())
        .await
        .unwrap();
    assert!(!open.is_paid());
    assert_eq!((open.status.as_str(), open.amount_paid), ("open", 0));

    // A working card pays the open invoice.
    fake.renew_subscription(&id, Some("4242424242424242"))
        .unwrap();
    let recovered = client.subscription(&id).await.unwrap();
    assert_eq!(recovered.status, "active");
    assert!(client.invoice(&open.id).await.unwrap().is_paid());
    fake.shutdown().await;
}

#[tokio::test]
async fn plans_change_with_proration_and_cancel_at_the_end_or_now() {
    let (fake, client) = start().await;
    let prices = client.prices().await.unwrap();
    let (pro, team) = (
        price(&prices, "Pro plan").id.clone(),
        price(&prices, "Team plan").id.clone(),
    );

    // Upgrade at once: the difference for the (almost whole) period is charged now.
    let id = subscribe(&fake, &client, "bob", &pro).await;
    let before = client.subscription(&id).await.unwrap();
    let upgraded = client
        .change_subscription_price(&id, &team, Proration::InvoiceNow, "upgrade:bob")
        .await
        .unwrap();
    assert_eq!(upgraded.price_id, team);
    assert_eq!(upgraded.item_id, before.item_id);
    assert_ne!(upgraded.latest_invoice, before.latest_invoice);
    let proration = client
        .invoice(upgraded.latest_invoice.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        proration.billing_reason.as_deref(),
        Some("subscription_update")
    );
    assert!(proration.is_paid());
    assert!(
        (2990..=3000).contains(&proration.amount_paid),
        "about 5000 - 2000 for a whole period: {}",
        proration.amount_paid
    );
    assert_eq!(
        proration.price_id.as_deref(),
        Some(team.as_str()),
        "the price moved to, not the one credited"
    );
    assert_eq!(proration.period_end, upgraded.current_period_end);

    // Downgrade without proration: the price changes, nothing is invoiced now.
    let downgraded = client
        .change_subscription_price(&id, &pro, Proration::None, "downgrade:bob")
        .await
        .unwrap();
    assert_eq!(downgraded.price_id, pro);
    assert_eq!(downgraded.latest_invoice, upgraded.latest_invoice);

    // Cancel at the end of the period, think again, cancel again: it ends at renewal.
    let cancelling = client
        .cancel_subscription(&id, CancelAt::PeriodEnd, "cancel:bob:1")
        .await
        .unwrap();
    assert!(cancelling.cancel_at_period_end);
    assert!(cancelling.is_entitled(), "paid to the end of the period");
    let resumed = client
        .resume_subscription(&id, "resume:bob:1")
        .await
        .unwrap();
    assert!(!resumed.cancel_at_period_end);
    client
        .cancel_subscription(&id, CancelAt::PeriodEnd, "cancel:bob:2")
        .await
        .unwrap();
    fake.renew_subscription(&id, None).unwrap();
    let ended = client.subscription(&id).await.unwrap();
    assert_eq!(ended.status, "canceled");
    assert_eq!(ended.ended_at, Some(cancelling.current_period_end));
    assert_eq!(
        ended.latest_invoice, downgraded.latest_invoice,
        "no invoice for a period that never starts"
    );

    // Cancel now; cancelling again is done already (Stripe answers "no such subscription").
    let other = subscribe(&fake, &client, "cy", &pro).await;
    let customer = client.subscription(&other).await.unwrap().customer;
    let listed = client.customer_subscriptions(&customer).await.unwrap();
    assert_eq!(
        listed.iter().map(|s| s.id.as_str()).collect::<Vec<_>>(),
        [other.as_str()]
    );
    let now = client
        .cancel_subscription(&other, CancelAt::Now, "cancel-now:cy")
        .await
        .unwrap();
    assert_eq!(now.status, "canceled");
    assert!(now.canceled_at.is_some() && !now.is_entitled());
    let twice = client
        .cancel_subscription(&other, CancelAt::Now, "cancel-now:cy:again")
        .await
        .unwrap();
    assert_eq!(twice, now);
    assert_eq!(
        client.customer_subscriptions(&customer).await.unwrap(),
        [],
        "a cancelled subscription is not listed"
    );
    let change = client
        .change_subscription_price(&other, &team, Proration::NextInvoice, "upgrade:cy")
        .await;
    assert!(
        matches!(change, Err(GatewayError::Rejected { .. })),
        "{change:?}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn wrong_prices_and_unknown_objects_are_refused() {
    let (fake, client) = start().await;
    let prices = client.prices().await.unwrap();
    let pack = price(&prices, "Starter pack").id.clone();
    let customer = client
        .create_customer("dee@example.com", "dee", "customer:dee")
        .await
        .unwrap();
    let one_time = client
        .create_subscription_checkout(
            &SubscriptionCheckoutRequest {
                customer,
                user_reference: "dee".into(),
                plan_reference: "plan-1".into(),
                price_id: pack,
                success_url: "https://app.example/ok".into(),
                cancel_url: "https://app.example/no".into(),
            },
            "subscribe:dee",
        )
        .await;
    assert!(
        matches!(one_time, Err(GatewayError::Rejected { .. })),
        "a one-time price is not a plan: {one_time:?}"
    );
    for missing in [
        client.subscription("sub_missing").await.map(|_| ()),
        client.invoice("in_missing").await.map(|_| ()),
    ] {
        assert!(
            matches!(&missing, Err(GatewayError::Rejected { code: Some(code), .. }) if code == "resource_missing"),
            "{missing:?}"
        );
    }
    assert!(matches!(
        client.subscription("sub_1/../../customers").await,
        Err(GatewayError::Rejected { code: None, .. })
    ));
    fake.shutdown().await;
}

#[tokio::test]
async fn a_cancellation_whose_answer_was_lost_is_reported_done_on_retry() {
    let (fake, client) = start().await;
    let client = client.with_retries(2, Duration::from_millis(10));
    let pro = price(&client.prices().await.unwrap(), "Pro plan")
        .id
        .clone();
    let id = subscribe(&fake, &client, "eve", &pro).await;
    // The stand-in cancels, then answers 500: the client retries the DELETE, which Stripe
    // answers with "no such subscription".
    fake.inject_fault(Fault {
        after_processing: true,
        path_prefix: Some(format!("/v1/subscriptions/{id}")),
        ..Fault::error(1)
    });
    let cancelled = client
        .cancel_subscription(&id, CancelAt::Now, "cancel-now:eve")
        .await
        .unwrap();
    assert_eq!(cancelled.status, "canceled");
    assert_eq!(fake.fault(), None, "the fault was used");
    assert_eq!(
        fake.events_of_type("customer.subscription.deleted").len(),
        1,
        "cancelled once"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_renewal_after_many_plan_changes_still_names_its_plan_and_period() {
    let (fake, client) = start().await;
    let prices = client.prices().await.unwrap();
    let (pro, team) = (
        price(&prices, "Pro plan").id.clone(),
        price(&prices, "Team plan").id.clone(),
    );
    let id = subscribe(&fake, &client, "fay", &pro).await;
    // Six changes leave twelve proration lines for the renewal, listed before the plan's own
    // line: more than the ten an invoice embeds.
    for (n, target) in [&team, &pro, &team, &pro, &team, &pro]
        .into_iter()
        .enumerate()
    {
        client
            .change_subscription_price(
                &id,
                target,
                Proration::NextInvoice,
                &format!("change:fay:{n}"),
            )
            .await
            .unwrap();
    }
    fake.renew_subscription(&id, None).unwrap();
    let renewed = client.subscription(&id).await.unwrap();
    let invoice = client
        .invoice(renewed.latest_invoice.as_deref().unwrap())
        .await
        .unwrap();
    assert_eq!(
        invoice.billing_reason.as_deref(),
        Some("subscription_cycle")
    );
    assert_eq!(invoice.price_id.as_deref(), Some(pro.as_str()));
    assert_eq!(
        (invoice.period_start, invoice.period_end),
        (renewed.current_period_start, renewed.current_period_end)
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn a_customers_open_checkouts_are_listed_newest_first_and_can_be_closed() {
    let (fake, client) = start().await;
    let prices = client.prices().await.unwrap();
    let (pro, team) = (
        price(&prices, "Pro plan").id.clone(),
        price(&prices, "Team plan").id.clone(),
    );
    let customer = client
        .create_customer("eve@example.com", "eve", "customer:eve")
        .await
        .unwrap();
    let other = client
        .create_customer("fay@example.com", "fay", "customer:fay")
        .await
        .unwrap();
    let mut started = Vec::new();
    for (who, price, key) in [
        (&customer, &pro, "a"),
        (&other, &pro, "b"),
        (&customer, &team, "c"),
    ] {
        let request = SubscriptionCheckoutRequest {
            customer: who.clone(),
            user_reference: "eve".into(),
            plan_reference: "plan".into(),
            price_id: price.clone(),
            success_url: "https://app.example/ok".into(),
            cancel_url: "https://app.example/no".into(),
        };
        started.push(
            client
                .create_subscription_checkout(&request, key)
                .await
                .unwrap()
                .id,
        );
    }
    let ids = |sessions: Vec<quickscale_domain_billing::CheckoutSession>| {
        sessions.into_iter().map(|s| s.id).collect::<Vec<_>>()
    };
    assert_eq!(
        ids(client.open_checkout_sessions(&customer).await.unwrap()),
        [started[2].clone(), started[0].clone()],
        "the customer's, newest first"
    );
    let closed = client
        .expire_checkout_session(&started[0], "expire:a")
        .await
        .unwrap();
    assert_eq!(closed.status, "expired");
    assert_eq!(
        ids(client.open_checkout_sessions(&customer).await.unwrap()),
        [started[2].clone()]
    );
    assert!(
        fake.complete_checkout_session(&started[0]).is_err(),
        "a closed checkout cannot be paid"
    );
    let again = client
        .expire_checkout_session(&started[0], "expire:a2")
        .await;
    assert!(
        matches!(again, Err(GatewayError::Rejected { .. })),
        "{again:?}"
    );
    assert!(matches!(
        client.expire_checkout_session("cs_1/../x", "k").await,
        Err(GatewayError::Rejected { code: None, .. })
    ));
    fake.shutdown().await;
}
