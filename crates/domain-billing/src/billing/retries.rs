//! The billing use cases against a processor that fails and then answers, scripted with
//! mockall: the fakes in the adapters always answer, and these tests need the failure at one
//! exact step.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use futures_util::FutureExt;
use mockall::Sequence;
use quickscale_domain_credits::{
    AccountSnapshot, EntryId, EntryKind, Grant, GrantId, HistoryPage, HistoryQuery, Receipt,
};
use quickscale_domain_kernel::FixedClock;
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::gateway::MockPaymentGateway;
use crate::repository::MockBillingRepository;
use crate::{EventStatus, InboxEvent};

mockall::mock! {
    Credits {}

    #[async_trait::async_trait]
    impl CreditStore for Credits {
        async fn open_account(&self, account: AccountId, now: OffsetDateTime)
            -> Result<(), CreditError>;
        async fn execute(&self, account: AccountId, op: Operation, now: OffsetDateTime)
            -> Result<Receipt, CreditError>;
        async fn open_grants(&self, account: AccountId) -> Result<Vec<Grant>, CreditError>;
        async fn history(&self, account: AccountId, query: HistoryQuery)
            -> Result<HistoryPage, CreditError>;
        async fn grants(&self, account: AccountId, ids: &[GrantId])
            -> Result<Vec<Grant>, CreditError>;
        async fn snapshot(&self, account: AccountId) -> Result<AccountSnapshot, CreditError>;
        async fn open_holds(&self, account: AccountId)
            -> Result<Vec<quickscale_domain_credits::OpenHold>, CreditError>;
    }
}

const T0: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);

/// Runs a use case over mocks, which answer at once: one poll completes it.
fn finish<F: std::future::Future>(future: F) -> F::Output {
    future.now_or_never().expect("the mocks never wait")
}

fn session(id: &str, paid: bool) -> CheckoutSession {
    CheckoutSession {
        id: id.to_owned(),
        url: Some(format!("https://pay.example/{id}")),
        mode: "payment".into(),
        subscription: None,
        status: if paid { "complete" } else { "open" }.into(),
        payment_status: if paid { "paid" } else { "unpaid" }.into(),
        amount_total: 1000,
        currency: "usd".into(),
        customer: Some("cus_ada".into()),
        payment_intent: paid.then(|| "pi_1".to_owned()),
        client_reference_id: None,
        metadata: BTreeMap::new(),
    }
}

#[test]
fn a_checkout_the_processor_failed_to_create_is_asked_again_under_the_same_key() {
    let user = Uuid::now_v7();
    let pack = CreditPack::starter();

    let mut repo = MockBillingRepository::new();
    let for_sale = pack.clone();
    repo.expect_pack()
        .returning(move |_| Ok(Some(for_sale.clone())));
    repo.expect_customer_of()
        .returning(|_| Ok(Some("cus_ada".into())));
    let recorded = Arc::new(Mutex::new(Vec::<CheckoutRecord>::new()));
    let records = Arc::clone(&recorded);
    repo.expect_save_checkout().returning(move |checkout| {
        records.lock().unwrap().push(checkout.clone());
        Ok(())
    });

    // The processor times out on the first request, then creates the session.
    let keys = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut gateway = MockPaymentGateway::new();
    let mut order = Sequence::new();
    let seen = Arc::clone(&keys);
    gateway
        .expect_create_checkout()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, key| {
            seen.lock().unwrap().push(key.to_owned());
            Err(GatewayError::Unavailable("timed out".into()))
        });
    let seen = Arc::clone(&keys);
    gateway
        .expect_create_checkout()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, key| {
            seen.lock().unwrap().push(key.to_owned());
            Ok(session("cs_1", false))
        });

    let billing = Billing::new(
        Arc::new(repo),
        Arc::new(gateway),
        Arc::new(MockCredits::new()),
        Arc::new(FixedClock::at(T0)),
    );
    let start = || {
        billing.start_checkout(
            user,
            "ada@example.com",
            pack.id,
            "https://app.example/success",
            "https://app.example/cancel",
            "form-1",
        )
    };

    let first = finish(start());
    assert!(
        matches!(
            first,
            Err(BillingError::Gateway(GatewayError::Unavailable(_)))
        ),
        "{first:?}"
    );
    assert!(
        recorded.lock().unwrap().is_empty(),
        "nothing is recorded for a session the processor did not create"
    );

    assert_eq!(finish(start()).unwrap(), "https://pay.example/cs_1");
    let keys = keys.lock().unwrap();
    assert_eq!(
        keys[0], keys[1],
        "a retry carries the first request's idempotency key, so a session the processor made \
         before timing out is returned, not made twice"
    );
    let recorded = recorded.lock().unwrap();
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        (
            recorded[0].session_id.as_str(),
            recorded[0].credits,
            recorded[0].amount
        ),
        ("cs_1", pack.credits, pack.price)
    );
}

#[test]
fn a_paid_checkout_the_processor_could_not_confirm_is_retried_later_and_grants_once() {
    let user = Uuid::now_v7();
    let pack = CreditPack::starter();
    let clock = Arc::new(FixedClock::at(T0));
    let event = WebhookEvent::parse(
        r#"{"id":"evt_1","type":"checkout.session.completed","created":1,
            "data":{"object":{"id":"cs_1"}}}"#,
    )
    .unwrap();
    let pending = InboxEvent {
        event,
        status: EventStatus::Pending,
        attempts: 0,
        last_error: None,
        next_attempt_at: None,
        received_at: T0,
        processed_at: None,
    };
    let failed_once = InboxEvent {
        status: EventStatus::Failed,
        attempts: 1,
        ..pending.clone()
    };

    // The inbox hands the event out twice: new, then due again after its failure.
    let mut repo = MockBillingRepository::new();
    let mut order = Sequence::new();
    repo.expect_due_events()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _| Ok(vec![pending.clone()]));
    repo.expect_mark_failed()
        .times(1)
        .in_sequence(&mut order)
        .withf(|id, error, next| {
            id == "evt_1" && error.contains("unavailable") && *next == T0 + retry_delay(0)
        })
        .returning(|_, _, _| Ok(()));
    repo.expect_due_events()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, _| Ok(vec![failed_once.clone()]));
    let started = CheckoutRecord {
        session_id: "cs_1".into(),
        user,
        pack: pack.id,
        description: pack.name.clone(),
        credits: pack.credits,
        amount: pack.price,
        created_at: T0,
    };
    repo.expect_checkout()
        .returning(move |_| Ok(Some(started.clone())));
    repo.expect_record_payment()
        .times(1)
        .returning(|payment| Ok((payment.clone(), true)));
    repo.expect_mark_processed()
        .times(1)
        .withf(|id, _| id == "evt_1")
        .returning(|_, _| Ok(()));

    // The processor cannot be reached for the session once, then says it is paid.
    let mut gateway = MockPaymentGateway::new();
    let mut answers = Sequence::new();
    gateway
        .expect_checkout_session()
        .times(1)
        .in_sequence(&mut answers)
        .returning(|_| Err(GatewayError::Unavailable("connection reset".into())));
    gateway
        .expect_checkout_session()
        .times(1)
        .in_sequence(&mut answers)
        .returning(|id| Ok(session(id, true)));

    // The pack's credits are granted to the buyer exactly once (checked when the mock drops).
    let mut credits = MockCredits::new();
    credits.expect_open_account().returning(|_, _| Ok(()));
    let hundred = pack.credits;
    credits
        .expect_execute()
        .times(1)
        .withf(move |account, op, _| {
            *account == AccountId::new(user)
                && matches!(
                    op.command,
                    CreditCommand::Grant { kind: GrantKind::Purchase, amount, .. } if amount == hundred
                )
        })
        .returning(move |_, _, now| {
            Ok(Receipt {
                entry: EntryId(1),
                kind: EntryKind::Grant,
                amount: hundred,
                shortfall: Credits::ZERO,
                balance_after: hundred,
                at: now,
                replayed: false,
            })
        });

    let billing = Billing::new(
        Arc::new(repo),
        Arc::new(gateway),
        Arc::new(credits),
        Arc::clone(&clock) as Arc<dyn Clock>,
    );

    let first = finish(billing.process_due(10)).unwrap();
    assert_eq!((first.processed, first.failed), (0, 1));
    clock.advance(retry_delay(0));
    let second = finish(billing.process_due(10)).unwrap();
    assert_eq!((second.processed, second.failed), (1, 0));
}
