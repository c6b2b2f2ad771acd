//! The billing store contract, and the billing use cases over each backend.

use std::sync::Arc;

use futures_util::future::join_all;
use quickscale_domain_billing::{
    Billing, BillingError, BillingReview, CreditPack, Currency, EventOutcome, EventQuery,
    EventStatus, Money, PackId, Payment, PaymentId, PaymentQuery, PaymentStatus, RefundError,
    RefundStatus, ReserveError, ReviewKind, WebhookEvent,
};
use quickscale_domain_credits::{AccountId, Credits, verify};
use quickscale_domain_identity::FixedClock;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use crate::Stores;
use crate::testing::gateway::ScriptedGateway;

const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD).unwrap()
}

fn payment(user: Uuid, session: &str, intent: &str, minor: i64) -> Payment {
    let id = PaymentId(Uuid::now_v7());
    Payment {
        id,
        user,
        pack: None,
        description: "Starter pack".into(),
        credits: Credits::whole(100),
        amount: usd(minor),
        refunded: usd(0),
        status: PaymentStatus::Succeeded,
        receipt_number: Payment::receipt_number_for(id),
        checkout_session: session.into(),
        payment_intent: Some(intent.into()),
        created_at: NOW,
    }
}

pub(super) async fn billing_packs_customers_and_payments_are_stored_once(stores: Stores) {
    let repo = stores.billing;
    let mut pack = CreditPack::starter();
    repo.save_pack(&pack).await.unwrap();
    pack.active = false;
    pack.stripe_price_id = Some("price_1".into());
    repo.save_pack(&pack).await.unwrap();
    assert_eq!(repo.packs(false).await.unwrap(), vec![pack.clone()]);
    assert!(repo.packs(true).await.unwrap().is_empty());
    assert_eq!(repo.pack(pack.id).await.unwrap(), Some(pack));
    assert_eq!(repo.pack(PackId(Uuid::now_v7())).await.unwrap(), None);

    let user = Uuid::now_v7();
    assert_eq!(repo.save_customer(user, "cus_1").await.unwrap(), "cus_1");
    assert_eq!(
        repo.save_customer(user, "cus_2").await.unwrap(),
        "cus_1",
        "the first customer wins"
    );
    assert_eq!(
        repo.customer_of(user).await.unwrap().as_deref(),
        Some("cus_1")
    );
    assert_eq!(repo.user_of_customer("cus_1").await.unwrap(), Some(user));
    assert_eq!(
        repo.user_of_customer("cus_2").await.unwrap(),
        None,
        "the losing customer is no one's"
    );

    let racing = (0..6).map(|_| {
        let repo = Arc::clone(&repo);
        tokio::spawn(async move {
            repo.record_payment(&payment(user, "cs_1", "pi_1", 1000))
                .await
                .unwrap()
        })
    });
    let results: Vec<(Payment, bool)> = join_all(racing)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|(_, new)| *new).count(),
        1,
        "one payment per session"
    );
    assert!(results.iter().all(|(p, _)| p.id == results[0].0.id));
    let stored = repo.payment_by_intent("pi_1").await.unwrap().unwrap();
    assert_eq!(stored, results[0].0);
    let (found, total) = repo
        .payments(&PaymentQuery {
            user: Some(user),
            limit: 10,
            ..PaymentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!((found.len(), total), (1, 1));
    let (by_receipt, _) = repo
        .payments(&PaymentQuery {
            reference: Some(stored.receipt_number.clone()),
            limit: 10,
            ..PaymentQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_receipt.len(), 1);
    let (none, _) = repo
        .payments(&PaymentQuery {
            min_amount: Some(1001),
            limit: 10,
            ..PaymentQuery::default()
        })
        .await
        .unwrap();
    assert!(none.is_empty());
}

pub(super) async fn billing_refunds_never_exceed_the_payment_even_concurrently(stores: Stores) {
    let repo = stores.billing;
    let (paid, _) = repo
        .record_payment(&payment(Uuid::now_v7(), "cs_r", "pi_r", 1000))
        .await
        .unwrap();
    let racing = (0..4).map(|_| {
        let repo = Arc::clone(&repo);
        tokio::spawn(async move {
            repo.reserve_refund(paid.id, usd(400), "test", None, NOW)
                .await
        })
    });
    let results: Vec<_> = join_all(racing)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        2,
        "only 800 of 1000 fits in two 400s"
    );
    assert!(
        results.iter().filter_map(|r| r.as_ref().err()).all(
            |e| matches!(e, ReserveError::TooMuch { refundable } if refundable.minor() == 200)
        )
    );
    let reserved: Vec<_> = results.into_iter().filter_map(Result::ok).collect();
    repo.fail_refund(reserved[1].id, "declined").await.unwrap();
    let done = repo.complete_refund(reserved[0].id, "re_1").await.unwrap();
    assert_eq!(done.status, RefundStatus::Succeeded);
    assert_eq!(
        repo.complete_refund(reserved[0].id, "re_1")
            .await
            .unwrap()
            .id,
        done.id,
        "completing twice is harmless"
    );
    let after = repo.payment(paid.id).await.unwrap().unwrap();
    assert_eq!(
        (after.refunded.minor(), after.status),
        (400, PaymentStatus::PartiallyRefunded)
    );
    // The failed reservation was released: 600 is refundable again.
    assert!(
        repo.reserve_refund(paid.id, usd(601), "x", None, NOW)
            .await
            .is_err()
    );
    let external = repo
        .record_external_refund(paid.id, "re_dash", usd(600), NOW)
        .await
        .unwrap();
    assert_eq!(
        repo.record_external_refund(paid.id, "re_dash", usd(600), NOW)
            .await
            .unwrap()
            .id,
        external.id
    );
    let settled = repo.payment(paid.id).await.unwrap().unwrap();
    assert_eq!(
        (settled.refunded.minor(), settled.status),
        (1000, PaymentStatus::Refunded)
    );
    assert_eq!(repo.refunds_of(paid.id).await.unwrap().len(), 3);
    assert!(matches!(
        repo.reserve_refund(PaymentId(Uuid::now_v7()), usd(1), "x", None, NOW)
            .await,
        Err(ReserveError::UnknownPayment)
    ));
}

pub(super) async fn billing_inbox_stores_each_event_once_and_schedules_retries(stores: Stores) {
    let repo = stores.billing;
    let event = WebhookEvent::parse(r#"{"id":"evt_1","type":"checkout.session.completed","created":1,"data":{"object":{"id":"cs_1"}}}"#).unwrap();
    assert!(repo.store_event(&event, NOW).await.unwrap());
    assert!(
        !repo.store_event(&event, NOW).await.unwrap(),
        "a redelivery is not stored twice"
    );
    assert_eq!(repo.due_events(NOW, 10).await.unwrap().len(), 1);
    repo.mark_failed("evt_1", "gateway down", NOW + Duration::minutes(1))
        .await
        .unwrap();
    assert!(repo.due_events(NOW, 10).await.unwrap().is_empty());
    let due = repo
        .due_events(NOW + Duration::minutes(2), 10)
        .await
        .unwrap();
    assert_eq!(
        (due[0].attempts, due[0].last_error.as_deref()),
        (1, Some("gateway down"))
    );
    repo.mark_processed("evt_1", NOW).await.unwrap();
    assert!(
        repo.due_events(NOW + Duration::hours(1), 10)
            .await
            .unwrap()
            .is_empty()
    );
    let stored = repo.event("evt_1").await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.attempts),
        (EventStatus::Processed, 2)
    );
    let by_object = repo
        .events(&EventQuery {
            object_ids: vec!["cs_1".into()],
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert_eq!(by_object.len(), 1);
    let all = repo
        .events(&EventQuery {
            limit: 100,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    for offset in [1, 2, u64::MAX] {
        let page = repo
            .events(&EventQuery {
                offset,
                limit: 100,
                ..EventQuery::default()
            })
            .await
            .unwrap();
        let skipped = usize::try_from(offset).unwrap_or(usize::MAX).min(all.len());
        assert_eq!(
            page.iter().map(|e| &e.event.id).collect::<Vec<_>>(),
            all[skipped..]
                .iter()
                .map(|e| &e.event.id)
                .collect::<Vec<_>>(),
            "offset {offset}"
        );
    }
    let past_the_object = repo
        .events(&EventQuery {
            object_ids: vec!["cs_1".into()],
            offset: 1,
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap();
    assert!(past_the_object.is_empty());
    assert!(
        repo.events(&EventQuery {
            status: Some(EventStatus::Failed),
            limit: 10,
            ..EventQuery::default()
        })
        .await
        .unwrap()
        .is_empty()
    );
}

fn billing(stores: &Stores, gateway: Arc<ScriptedGateway>) -> Billing {
    Billing::new(
        Arc::clone(&stores.billing),
        gateway,
        Arc::clone(&stores.credits),
        Arc::new(FixedClock::at(NOW)),
    )
}

async fn balance(stores: &Stores, user: Uuid) -> Credits {
    stores
        .credits
        .balance(AccountId::new(user), NOW)
        .await
        .unwrap()
        .total
}

pub(super) async fn billing_a_purchase_grants_credits_once_and_a_refund_claws_them_back(
    stores: Stores,
) {
    let gateway = Arc::new(ScriptedGateway::default());
    let billing = billing(&stores, Arc::clone(&gateway));
    billing.ensure_default_pack().await.unwrap();
    let pack = stores.billing.packs(true).await.unwrap()[0].clone();
    let user = Uuid::now_v7();
    let url = billing
        .start_checkout(
            user,
            "ada@example.com",
            pack.id,
            "https://app/success",
            "https://app/cancel",
            "form-1",
        )
        .await
        .unwrap();
    let again = billing
        .start_checkout(
            user,
            "ada@example.com",
            pack.id,
            "https://app/success",
            "https://app/cancel",
            "form-1",
        )
        .await
        .unwrap();
    assert_eq!(url, again, "the same form starts the same session");
    let session = url.rsplit('/').next().unwrap().to_owned();
    // Not paid yet: the event (if any) changes nothing.
    let early = WebhookEvent::parse(&format!(r#"{{"id":"evt_early","type":"checkout.session.completed","created":1,"data":{{"object":{{"id":"{session}"}}}}}}"#)).unwrap();
    assert_eq!(
        billing.process_event(&early).await.unwrap(),
        EventOutcome::Unpaid
    );
    let paid = gateway.pay(&session);
    for _ in 0..3 {
        stores.billing.store_event(&paid, NOW).await.unwrap();
        billing.process_event(&paid).await.unwrap();
    }
    assert_eq!(
        balance(&stores, user).await,
        Credits::whole(100),
        "granted once"
    );
    let payment = stores
        .billing
        .payment_by_session(&session)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(payment.amount, usd(1000));

    // Spend 30, refund half the money: 50 credits are clawed back from what remains.
    let spend = quickscale_domain_credits::Operation {
        key: quickscale_domain_credits::IdempotencyKey::parse("spend").unwrap(),
        actor: quickscale_domain_credits::Actor::System,
        reason: quickscale_domain_credits::Reason::parse("spend").unwrap(),
        command: quickscale_domain_credits::CreditCommand::Consume {
            amount: Credits::whole(30),
        },
    };
    stores
        .credits
        .execute(AccountId::new(user), spend, NOW)
        .await
        .unwrap();
    let admin = Uuid::now_v7();
    let refund = billing
        .refund(payment.id, usd(500), "customer asked", admin)
        .await
        .unwrap();
    assert_eq!(
        (refund.credits_clawed, refund.credits_shortfall),
        (Credits::whole(50), Credits::ZERO)
    );
    assert_eq!(balance(&stores, user).await, Credits::whole(20));
    // The second half: only 20 credits are left of the purchase; the shortfall is reported.
    let second = billing
        .refund(payment.id, usd(500), "rest", admin)
        .await
        .unwrap();
    assert_eq!(
        (second.credits_clawed, second.credits_shortfall),
        (Credits::whole(20), Credits::whole(30))
    );
    let too_much = billing
        .refund(payment.id, usd(1), "more", admin)
        .await
        .unwrap_err();
    assert!(
        matches!(too_much, BillingError::Refund(RefundError::TooMuch { .. })),
        "{too_much:?}"
    );
    // The processor's refund events change nothing more.
    let intent = payment.payment_intent.clone().unwrap();
    billing
        .process_event(&gateway.charge_refunded_event(&intent))
        .await
        .unwrap();
    assert_eq!(balance(&stores, user).await, Credits::ZERO);
    let settled = stores.billing.payment(payment.id).await.unwrap().unwrap();
    assert_eq!(settled.status, PaymentStatus::Refunded);
    assert_eq!(
        stores.billing.refunds_of(payment.id).await.unwrap().len(),
        2
    );
    assert!(verify(&stores.credits.snapshot(AccountId::new(user)).await.unwrap()).is_empty());
}

pub(super) async fn billing_gateway_outages_leave_no_half_state_and_reconciliation_recovers(
    stores: Stores,
) {
    let gateway = Arc::new(ScriptedGateway::default());
    let billing = billing(&stores, Arc::clone(&gateway));
    billing.ensure_default_pack().await.unwrap();
    let pack = stores.billing.packs(true).await.unwrap()[0].clone();
    let user = Uuid::now_v7();
    gateway.set_down(true);
    let err = billing
        .start_checkout(user, "a@example.com", pack.id, "s", "c", "f")
        .await
        .unwrap_err();
    assert!(matches!(err, BillingError::Gateway(_)));
    assert_eq!(stores.billing.customer_of(user).await.unwrap(), None);
    gateway.set_down(false);
    let url = billing
        .start_checkout(user, "a@example.com", pack.id, "s", "c", "f")
        .await
        .unwrap();
    let session = url.rsplit('/').next().unwrap().to_owned();
    // The payment's event never reaches us (withheld); reconciliation finds it.
    gateway.pay(&session);
    assert_eq!(balance(&stores, user).await, Credits::ZERO);
    let report = billing.reconcile(100).await.unwrap();
    assert_eq!((report.missing, report.processed, report.failed), (1, 1, 0));
    assert_eq!(balance(&stores, user).await, Credits::whole(100));
    assert_eq!(billing.reconcile(100).await.unwrap().missing, 0);
    // A refund made in the dashboard is recorded and clawed back once, even if its event repeats.
    let payment = stores
        .billing
        .payment_by_session(&session)
        .await
        .unwrap()
        .unwrap();
    let event = gateway.dashboard_refund(payment.payment_intent.as_deref().unwrap(), 250);
    billing.process_event(&event).await.unwrap();
    billing.process_event(&event).await.unwrap();
    assert_eq!(balance(&stores, user).await, Credits::whole(75));
    // A failing event is kept with its error and retried later.
    gateway.set_down(true);
    let late = gateway_event("evt_late", &session);
    stores.billing.store_event(&late, NOW).await.unwrap();
    let failed = billing.process_due(10).await.unwrap();
    assert_eq!(failed.failed, 1);
    let stored = stores.billing.event("evt_late").await.unwrap().unwrap();
    assert_eq!(stored.status, EventStatus::Failed);
    assert!(stored.last_error.unwrap().contains("unavailable"));
}

fn gateway_event(id: &str, session: &str) -> WebhookEvent {
    WebhookEvent::parse(&format!(r#"{{"id":"{id}","type":"checkout.session.completed","created":3,"data":{{"object":{{"id":"{session}"}}}}}}"#)).unwrap()
}

pub(super) async fn billing_reviews_are_recorded_once_settled_once_and_resolved_once(
    stores: Stores,
) {
    let repo = stores.billing;
    let user = Uuid::now_v7();
    let held = BillingReview {
        user: Some(user),
        customer: Some("cus_9".into()),
        ..BillingReview::new(
            ReviewKind::UnmatchedCheckout,
            "cs_foreign",
            (50, "usd"),
            "paid for no pack".into(),
            NOW,
        )
    };
    let racing = (0..4).map(|i| {
        let repo = Arc::clone(&repo);
        let review = BillingReview {
            id: Uuid::now_v7(),
            detail: format!("attempt {i}"),
            ..held.clone()
        };
        tokio::spawn(async move { repo.record_review(&review).await.unwrap() })
    });
    let results: Vec<(BillingReview, bool)> = join_all(racing)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(results.iter().filter(|(_, new)| *new).count(), 1);
    let stored = repo
        .review(ReviewKind::UnmatchedCheckout, "cs_foreign")
        .await
        .unwrap()
        .unwrap();
    assert!(
        results.iter().all(|(r, _)| *r == stored),
        "the first one stands"
    );
    assert_eq!(
        (stored.user, stored.customer.as_deref(), stored.amount_minor),
        (Some(user), Some("cus_9"), 50)
    );
    assert_eq!(stored.amount_label(), "$0.50");
    assert_eq!(
        repo.review(ReviewKind::DuplicateSubscription, "cs_foreign")
            .await
            .unwrap(),
        None,
        "one per kind and reference"
    );

    let later = NOW + Duration::minutes(1);
    let second = BillingReview::new(
        ReviewKind::DuplicateSubscription,
        "sub_2",
        (2000, "usd"),
        "cancelled and refunded".into(),
        later,
    );
    repo.record_review(&second).await.unwrap();
    assert!(repo.settle_review(second.id, later).await.unwrap());
    assert!(
        !repo.settle_review(second.id, later).await.unwrap(),
        "settled once"
    );
    let open = repo.reviews(true, 10).await.unwrap();
    assert_eq!(
        open.iter()
            .map(|r| r.reference.as_str())
            .collect::<Vec<_>>(),
        ["sub_2", "cs_foreign"],
        "newest first"
    );
    assert_eq!(open[0].settled_at, Some(later));

    let admin = Uuid::now_v7();
    let resolved = repo
        .resolve_review(stored.id, admin, later)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (resolved.resolved_at, resolved.resolved_by),
        (Some(later), Some(admin))
    );
    let again = repo
        .resolve_review(stored.id, Uuid::now_v7(), later + Duration::minutes(5))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, resolved, "the first resolution stands");
    assert_eq!(
        repo.resolve_review(Uuid::now_v7(), admin, later)
            .await
            .unwrap(),
        None
    );
    assert_eq!(repo.reviews(true, 10).await.unwrap().len(), 1);
    assert_eq!(repo.reviews(false, 10).await.unwrap().len(), 2);
}

pub(super) async fn billing_a_session_the_app_did_not_start_grants_only_a_pack_at_its_price(
    stores: Stores,
) {
    use crate::testing::gateway::OutsideSession;
    let gateway = Arc::new(ScriptedGateway::default());
    let billing = billing(&stores, Arc::clone(&gateway));
    billing.ensure_default_pack().await.unwrap();
    let pack = stores.billing.packs(true).await.unwrap()[0].clone();
    let user = Uuid::now_v7();
    stores
        .billing
        .save_customer(user, "cus_ours")
        .await
        .unwrap();
    stores
        .credits
        .open_account(AccountId::new(user), NOW)
        .await
        .unwrap();
    let user_text = user.to_string();
    let pack_text = pack.id.0.to_string();
    let paid = |session: OutsideSession<'_>| {
        let id = gateway.outside_session(session);
        (id.clone(), gateway.pay(&id))
    };
    let held = |reference: &str, new| EventOutcome::Review {
        kind: ReviewKind::UnmatchedCheckout,
        reference: reference.to_owned(),
        new,
    };

    // The probe: 0.50 USD for "a million credits" for our user, by our user's customer.
    let (probe, event) = paid(OutsideSession {
        customer: Some("cus_ours"),
        amount: 50,
        currency: "usd",
        client_reference_id: Some(&user_text),
        metadata: &[("credits", "1000000"), ("user_id", &user_text)],
    });
    assert_eq!(
        billing.process_event(&event).await.unwrap(),
        held(&probe, true)
    );
    assert_eq!(
        billing.process_event(&event).await.unwrap(),
        held(&probe, false),
        "recorded once"
    );
    assert_eq!(balance(&stores, user).await, Credits::ZERO);
    assert_eq!(
        stores.billing.payment_by_session(&probe).await.unwrap(),
        None
    );
    let review = stores
        .billing
        .review(ReviewKind::UnmatchedCheckout, &probe)
        .await
        .unwrap()
        .expect("held for review");
    assert_eq!(
        (
            review.user,
            review.customer.as_deref(),
            review.amount_label()
        ),
        (Some(user), Some("cus_ours"), "$0.50".to_owned())
    );
    assert!(review.detail.contains("1000000"), "{}", review.detail);

    // A pack's price paid in another currency, at another amount, without a customer of ours,
    // or by a customer who is no one's: held, nothing granted.
    for (customer, amount, currency) in [
        (Some("cus_ours"), 1000, "eur"),
        (Some("cus_ours"), 2000, "usd"),
        (Some("cus_ours"), 999, "usd"),
        (None, 1000, "usd"),
        (Some("cus_stranger"), 1000, "usd"),
    ] {
        let (session, event) = paid(OutsideSession {
            customer,
            amount,
            currency,
            client_reference_id: Some(&user_text),
            metadata: &[("pack_id", &pack_text), ("credits", "100")],
        });
        assert_eq!(
            billing.process_event(&event).await.unwrap(),
            held(&session, true),
            "{customer:?} {amount} {currency}"
        );
    }
    assert_eq!(balance(&stores, user).await, Credits::ZERO);

    // Our pack at its price, paid by our customer: the pack's credits, to that customer's user
    // (whoever the session names), once.
    let (bought, event) = paid(OutsideSession {
        customer: Some("cus_ours"),
        amount: 1000,
        currency: "usd",
        client_reference_id: Some("someone-else"),
        metadata: &[("pack_id", &pack_text), ("credits", "1000000")],
    });
    let outcome = billing.process_event(&event).await.unwrap();
    assert!(
        matches!(outcome, EventOutcome::Paid { new: true, .. }),
        "{outcome:?}"
    );
    billing.process_event(&event).await.unwrap();
    assert_eq!(balance(&stores, user).await, Credits::whole(100));
    let payment = stores
        .billing
        .payment_by_session(&bought)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (payment.user, payment.pack, payment.credits, payment.amount),
        (user, Some(pack.id), pack.credits, pack.price)
    );

    // A session the app started, paid at another total than its pack's price, is held too.
    let url = billing
        .start_checkout(user, "a@example.com", pack.id, "s", "c", "f")
        .await
        .unwrap();
    let ours = url.rsplit('/').next().unwrap().to_owned();
    gateway.set_session_total(&ours, 1);
    let event = gateway.pay(&ours);
    assert_eq!(
        billing.process_event(&event).await.unwrap(),
        held(&ours, true)
    );
    assert_eq!(balance(&stores, user).await, Credits::whole(100));
    assert_eq!(stores.billing.reviews(true, 20).await.unwrap().len(), 7);
}
