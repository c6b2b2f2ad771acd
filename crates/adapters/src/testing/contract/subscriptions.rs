//! The plan and subscription store contract.

use std::sync::Arc;

use futures_util::future::join_all;
use quickscale_domain_billing::{Currency, Interval, Money, Plan, PlanId, Subscription};
use quickscale_domain_credits::Credits;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Stores;

const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

fn plan(name: &str, price_id: &str, display_order: i32) -> Plan {
    Plan {
        id: PlanId(Uuid::now_v7()),
        name: name.into(),
        credits: Credits::whole(500),
        price: Money::new(1900, Currency::USD).unwrap(),
        interval: Interval::Month,
        interval_count: 1,
        stripe_price_id: price_id.into(),
        active: true,
        display_order,
        api_per_minute: None,
        api_monthly_credits: None,
    }
}

/// `user`'s active subscription `id` to `plan`, its period starting `days` after `NOW`, as seen
/// `seconds` after the period starts.
fn subscription(id: &str, user: Uuid, plan: &Plan, days: i64, seconds: i64) -> Subscription {
    let start = NOW + Duration::days(days);
    Subscription {
        id: id.into(),
        user,
        plan: Some(plan.id),
        price_id: plan.stripe_price_id.clone(),
        status: "active".into(),
        current_period_start: start,
        current_period_end: start + Duration::days(30),
        cancel_at_period_end: false,
        period_price_id: None,
        updated_at: start + Duration::seconds(seconds),
    }
}

pub(super) async fn subscriptions_plans_round_trip_and_update_by_id(stores: Stores) {
    let repo = stores.subscriptions;
    let mut yearly = Plan {
        credits: Credits::from_cents(123_456).unwrap(),
        price: Money::new(24_000, Currency::parse("jpy").unwrap()).unwrap(),
        interval: Interval::Year,
        interval_count: 2,
        active: false,
        api_per_minute: Some(300),
        api_monthly_credits: Some(Credits::from_cents(250_050).unwrap()),
        ..plan("Yearly", "price_yearly", -3)
    };
    repo.save_plan(&yearly).await.unwrap();
    assert_eq!(repo.plan(yearly.id).await.unwrap(), Some(yearly.clone()));
    assert_eq!(
        repo.plan_by_price("price_yearly").await.unwrap(),
        Some(yearly.clone()),
        "field for field"
    );

    yearly = Plan {
        name: "Biennial".into(),
        credits: Credits::whole(2000),
        price: Money::new(3900, Currency::EUR).unwrap(),
        interval: Interval::Week,
        interval_count: 3,
        stripe_price_id: "price_weekly".into(),
        active: true,
        display_order: 7,
        api_per_minute: None,
        api_monthly_credits: Some(Credits::ZERO),
        ..yearly
    };
    repo.save_plan(&yearly).await.unwrap();
    assert_eq!(repo.plan(yearly.id).await.unwrap(), Some(yearly.clone()));
    assert_eq!(
        repo.plans(false).await.unwrap(),
        vec![yearly.clone()],
        "updated, not added"
    );
    assert_eq!(
        repo.plan_by_price("price_weekly").await.unwrap(),
        Some(yearly)
    );
    assert_eq!(
        repo.plan_by_price("price_yearly").await.unwrap(),
        None,
        "the old price is no longer the plan's"
    );
    assert_eq!(repo.plan(PlanId(Uuid::now_v7())).await.unwrap(), None);
    assert_eq!(repo.plan_by_price("price_unknown").await.unwrap(), None);
}

pub(super) async fn subscriptions_plans_list_by_display_order_then_name(stores: Stores) {
    let repo = stores.subscriptions;
    let pro = plan("Pro", "price_pro", 2);
    let basic = plan("Basic", "price_basic", 1);
    let team = Plan {
        active: false,
        ..plan("Team", "price_team", 1)
    };
    let agency = plan("Agency", "price_agency", 2);
    for p in [&pro, &basic, &team, &agency] {
        repo.save_plan(p).await.unwrap();
    }
    assert_eq!(
        repo.plans(false).await.unwrap(),
        vec![basic.clone(), team, agency.clone(), pro.clone()]
    );
    assert_eq!(
        repo.plans(true).await.unwrap(),
        vec![basic, agency, pro],
        "only the active ones"
    );
}

pub(super) async fn subscriptions_a_plans_price_id_is_unique(stores: Stores) {
    let repo = stores.subscriptions;
    let first = plan("Basic", "price_1", 1);
    let other = plan("Other", "price_2", 2);
    repo.save_plan(&first).await.unwrap();
    repo.save_plan(&other).await.unwrap();
    let copy = plan("Copy", "price_1", 0);
    assert!(repo.save_plan(&copy).await.is_err(), "a second plan");
    let moved = Plan {
        stripe_price_id: "price_1".into(),
        name: "Moved".into(),
        ..other.clone()
    };
    assert!(
        repo.save_plan(&moved).await.is_err(),
        "another plan taking the price"
    );
    assert_eq!(repo.plan(copy.id).await.unwrap(), None);
    assert_eq!(
        repo.plan_by_price("price_1").await.unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        repo.plans(false).await.unwrap(),
        vec![first, other],
        "nothing changed"
    );
}

pub(super) async fn subscriptions_newer_views_replace_the_stored_one(stores: Stores) {
    let repo = stores.subscriptions;
    let (basic, pro) = (plan("Basic", "price_basic", 1), plan("Pro", "price_pro", 2));
    let ada = Uuid::now_v7();
    let first = subscription("sub_1", ada, &basic, 0, 0);
    assert_eq!(repo.save_subscription(&first).await.unwrap(), first);
    assert_eq!(
        repo.subscription("sub_1").await.unwrap(),
        Some(first.clone())
    );

    let renewed = Subscription {
        plan: Some(pro.id),
        price_id: pro.stripe_price_id.clone(),
        status: "past_due".into(),
        current_period_start: first.current_period_end,
        current_period_end: first.current_period_end + Duration::days(30),
        cancel_at_period_end: true,
        period_price_id: Some("price_paid_before".into()),
        updated_at: first.updated_at + Duration::days(30),
        ..first.clone()
    };
    assert_eq!(repo.save_subscription(&renewed).await.unwrap(), renewed);
    let unpriced = Subscription {
        plan: None,
        price_id: "price_elsewhere".into(),
        status: "canceled".into(),
        updated_at: renewed.updated_at + Duration::seconds(1),
        ..renewed.clone()
    };
    assert_eq!(repo.save_subscription(&unpriced).await.unwrap(), unpriced);
    assert_eq!(
        repo.subscription("sub_1").await.unwrap(),
        Some(unpriced.clone())
    );
    assert_eq!(
        repo.subscriptions_of(ada).await.unwrap(),
        vec![unpriced.clone()],
        "replaced, not added"
    );

    let moved = Subscription {
        user: Uuid::now_v7(),
        updated_at: unpriced.updated_at + Duration::seconds(1),
        ..unpriced.clone()
    };
    assert_eq!(
        repo.save_subscription(&moved).await.unwrap().user,
        ada,
        "a subscription stays its first user's"
    );
}

pub(super) async fn subscriptions_older_views_change_nothing_and_equal_ones_resave(stores: Stores) {
    let repo = stores.subscriptions;
    let basic = plan("Basic", "price_basic", 1);
    let ada = Uuid::now_v7();
    let newer = subscription("sub_1", ada, &basic, 0, 60);
    repo.save_subscription(&newer).await.unwrap();

    let older = Subscription {
        status: "incomplete".into(),
        cancel_at_period_end: true,
        updated_at: newer.updated_at - Duration::seconds(1),
        ..newer.clone()
    };
    assert_eq!(
        repo.save_subscription(&older).await.unwrap(),
        newer,
        "the stored, newer one"
    );
    assert_eq!(
        repo.subscription("sub_1").await.unwrap(),
        Some(newer.clone())
    );

    assert_eq!(
        repo.save_subscription(&newer).await.unwrap(),
        newer,
        "a re-save is idempotent"
    );
    let same_time = Subscription {
        status: "past_due".into(),
        ..newer.clone()
    };
    assert_eq!(
        repo.save_subscription(&same_time).await.unwrap(),
        same_time,
        "an equal time replaces"
    );
    assert_eq!(repo.subscription("sub_1").await.unwrap(), Some(same_time));
}

pub(super) async fn subscriptions_concurrent_views_keep_the_newest(stores: Stores) {
    let repo = stores.subscriptions;
    let basic = plan("Basic", "price_basic", 1);
    let ada = Uuid::now_v7();
    let views: Vec<Subscription> = (0..12)
        .map(|i| Subscription {
            status: format!("status {i}"),
            ..subscription("sub_1", ada, &basic, 0, i)
        })
        .collect();
    let racing = views.iter().rev().cloned().map(|view| {
        let repo = Arc::clone(&repo);
        tokio::spawn(async move { repo.save_subscription(&view).await.unwrap() })
    });
    for (result, view) in join_all(racing).await.into_iter().zip(views.iter().rev()) {
        assert!(
            result.unwrap().updated_at >= view.updated_at,
            "never older than what was saved"
        );
    }
    assert_eq!(
        repo.subscription("sub_1").await.unwrap().as_ref(),
        views.last(),
        "the newest view wins whatever the order"
    );
}

pub(super) async fn subscriptions_are_found_by_id_and_listed_per_user(stores: Stores) {
    let repo = stores.subscriptions;
    let basic = plan("Basic", "price_basic", 1);
    let (ada, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let ended = Subscription {
        status: "canceled".into(),
        ..subscription("sub_ended", ada, &basic, -60, 0)
    };
    let current = subscription("sub_current", ada, &basic, 0, 0);
    let between = subscription("sub_between", ada, &basic, -30, 0);
    let bobs = subscription("sub_bob", bob, &basic, 10, 0);
    for s in [&ended, &current, &bobs, &between] {
        repo.save_subscription(s).await.unwrap();
    }
    assert_eq!(repo.subscription("sub_unknown").await.unwrap(), None);
    assert_eq!(
        repo.subscription("sub_bob").await.unwrap(),
        Some(bobs.clone())
    );
    assert_eq!(
        repo.subscriptions_of(ada).await.unwrap(),
        vec![current, between, ended],
        "the most recently started period first"
    );
    assert_eq!(repo.subscriptions_of(bob).await.unwrap(), vec![bobs]);
    assert!(
        repo.subscriptions_of(Uuid::now_v7())
            .await
            .unwrap()
            .is_empty()
    );
}
