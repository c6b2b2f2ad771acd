//! The runner against ports that answer in a scripted order (mockall): a clock that jumps
//! during a run, a usage store that refuses and then accepts. The contract suite in the adapters
//! runs the same runner on real stores; these pin down the steps in between.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::FutureExt;
use mockall::Sequence;
use quickscale_domain_credits::{
    AccountSnapshot, EntryId, EntryKind, Grant, GrantId, HistoryPage, HistoryQuery, Receipt,
};
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::service::MockTimer;
use crate::usage::MockServiceUsageRepository;
use crate::{Service, ServiceDescriptor, ServiceError, ServiceOutput};

mockall::mock! {
    Credits {}

    #[async_trait]
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

mockall::mock! {
    #[derive(Debug)]
    Clock {}

    impl Clock for Clock {
        fn now(&self) -> OffsetDateTime;
    }
}

const T0: OffsetDateTime = datetime!(2026-03-01 12:00 UTC);
const TIMEOUT: Duration = Duration::from_secs(10);

/// Two credits a run; the upstream it depends on is down.
struct Flaky;

#[async_trait]
impl Service for Flaky {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("flaky", "Flaky")
            .cost(Credits::whole(2))
            .timeout(TIMEOUT)
    }

    async fn execute(&self, _: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Err(ServiceError::Upstream("the model is down".into()))
    }
}

/// Free, and always works.
struct Echo;

#[async_trait]
impl Service for Echo {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("echo", "Echo")
            .free()
            .timeout(TIMEOUT)
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Ok(ServiceOutput::new(input.as_text().unwrap_or_default()))
    }
}

fn runner(
    credits: MockCredits,
    usage: MockServiceUsageRepository,
    clock: Arc<dyn Clock>,
    timer: MockTimer,
) -> ServiceRunner {
    let mut registry = ServiceRegistry::new();
    registry.register(Flaky).unwrap().register(Echo).unwrap();
    ServiceRunner::new(
        Arc::new(registry),
        Arc::new(credits),
        Arc::new(usage),
        clock,
        Arc::new(timer),
    )
}

/// A usage store that claims every run and keeps each final write it accepts or refuses.
fn usage_recording(ends: &Arc<Mutex<Vec<RunEnd>>>) -> MockServiceUsageRepository {
    let mut usage = MockServiceUsageRepository::new();
    usage.expect_claim().returning(|_| Ok(Claim::Started));
    let ends = Arc::clone(ends);
    usage.expect_finish().returning(move |_, end| {
        ends.lock().unwrap().push(end.clone());
        Ok(())
    });
    usage
}

/// Runs a use case over mocks, which answer at once: one poll completes it.
fn finish<F: std::future::Future>(future: F) -> F::Output {
    future.now_or_never().expect("the mocks never wait")
}

fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

fn receipt(entry: i64, kind: EntryKind, amount: Credits, shortfall: Credits) -> Receipt {
    Receipt {
        entry: EntryId(entry),
        kind,
        amount,
        shortfall,
        balance_after: Credits::ZERO,
        at: T0,
        replayed: false,
    }
}

/// The clock jumps two hours while the service runs, past the expiry of the grant that paid:
/// the refund is asked for at the new time, the ledger gives nothing back (expired credits are
/// never spent, nor given back), and the run records what the ledger did, not what was asked.
#[test]
fn a_failed_run_records_the_refund_the_ledger_gave_at_the_time_it_ended() {
    let later = T0 + time::Duration::hours(2);
    let reads = AtomicUsize::new(0);
    let mut clock = MockClock::new();
    clock.expect_now().returning(move || {
        if reads.fetch_add(1, Ordering::SeqCst) == 0 {
            T0
        } else {
            later
        }
    });

    let two = Credits::whole(2);
    let mut credits = MockCredits::new();
    let mut order = Sequence::new();
    credits
        .expect_execute()
        .times(1)
        .in_sequence(&mut order)
        .withf(move |_, op, now| op.command == CreditCommand::Consume { amount: two } && *now == T0)
        .returning(move |_, _, _| Ok(receipt(7, EntryKind::Consume, two, Credits::ZERO)));
    credits
        .expect_execute()
        .times(1)
        .in_sequence(&mut order)
        .withf(move |_, op, now| {
            op.command == CreditCommand::Reverse { entry: EntryId(7) } && *now == later
        })
        .returning(move |_, _, _| Ok(receipt(8, EntryKind::Reversal, Credits::ZERO, two)));

    let mut timer = MockTimer::new();
    timer.expect_sleep().returning(|_| ());
    let ends = Arc::new(Mutex::new(Vec::new()));
    let runner = runner(credits, usage_recording(&ends), Arc::new(clock), timer);

    let outcome = finish(runner.run(
        UserId::generate(),
        "flaky",
        ServiceInput::Text("hello".into()),
        key("run-1"),
    ))
    .unwrap();

    let run = &outcome.run;
    assert_eq!(run.status, RunStatus::Failed);
    assert_eq!(run.charge, Some(EntryId(7)));
    assert_eq!(
        (run.refunded, run.cost),
        (Credits::ZERO, two),
        "nothing came back, so the charge stands"
    );
    assert_eq!(run.finished_at, Some(later));
    let ends = ends.lock().unwrap();
    assert_eq!(ends.len(), 1, "the end is written once");
    assert_eq!(
        (ends[0].refunded, ends[0].cost, ends[0].finished_at),
        (Credits::ZERO, two, later)
    );
}

/// The database is away for a moment when a run ends: the runner waits 200 ms, then 400 ms,
/// and writes the end once the store accepts it.
#[test]
fn the_end_of_a_run_is_written_once_the_usage_store_accepts_it_again() {
    let mut usage = MockServiceUsageRepository::new();
    usage.expect_claim().returning(|_| Ok(Claim::Started));
    let written = Arc::new(Mutex::new(Vec::new()));
    let mut order = Sequence::new();
    for _ in 0..2 {
        usage
            .expect_finish()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| {
                Err(StorageError::new(
                    StorageFailure::Unavailable,
                    "the database is unavailable",
                ))
            });
    }
    let ends = Arc::clone(&written);
    usage
        .expect_finish()
        .times(1)
        .in_sequence(&mut order)
        .returning(move |_, end| {
            ends.lock().unwrap().push(end.clone());
            Ok(())
        });

    // The run's own deadline is never waited on (the service answers first); the waits between
    // attempts are.
    let mut timer = MockTimer::new();
    for wait in [Duration::from_millis(200), Duration::from_millis(400)] {
        timer
            .expect_sleep()
            .withf(move |asked| *asked == wait)
            .times(1)
            .returning(|_| ());
    }
    let mut credits = MockCredits::new();
    credits.expect_open_grants().returning(|_| Ok(Vec::new()));
    let clock = Arc::new(quickscale_domain_kernel::FixedClock::at(T0));
    let runner = runner(credits, usage, clock, timer);

    let outcome = finish(runner.run(
        UserId::generate(),
        "echo",
        ServiceInput::Text("hello".into()),
        key("run-2"),
    ))
    .unwrap();

    assert_eq!(outcome.run.status, RunStatus::Succeeded);
    let written = written.lock().unwrap();
    assert_eq!(written.len(), 1);
    assert_eq!(written[0].status, RunStatus::Succeeded);
}

/// A store that refuses for another reason than an outage is not retried: waiting would not
/// help, and the caller hears of it at once.
#[test]
fn a_final_write_refused_for_another_reason_is_not_retried() {
    let mut usage = MockServiceUsageRepository::new();
    usage.expect_claim().returning(|_| Ok(Claim::Started));
    usage
        .expect_finish()
        .times(1)
        .returning(|_, _| Err(StorageError::corrupt("the run's row is unreadable")));
    // No wait at all: a wait between attempts would find no expectation and fail the test.
    let timer = MockTimer::new();
    let mut credits = MockCredits::new();
    credits.expect_open_grants().returning(|_| Ok(Vec::new()));
    let clock = Arc::new(quickscale_domain_kernel::FixedClock::at(T0));
    let runner = runner(credits, usage, clock, timer);

    let refused = finish(runner.run(
        UserId::generate(),
        "echo",
        ServiceInput::Text("hello".into()),
        key("run-3"),
    ))
    .unwrap_err();

    assert!(
        matches!(&refused, RunError::Storage(e) if e.failure == StorageFailure::Corrupt),
        "{refused:?}"
    );
}
