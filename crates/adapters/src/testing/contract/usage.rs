//! The service usage contract, and the runner's guarantees over each backend.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use async_trait::async_trait;
use futures_util::future::join_all;
use quickscale_domain_credits::{
    AccountId, Actor, CreditCommand, CreditError, Credits, GrantKind, IdempotencyKey, Operation,
    Reason, SourceRef, verify,
};
use quickscale_domain_identity::{FixedClock, UserId};
use quickscale_domain_kernel::{StorageError, StorageFailure};
use quickscale_service_sdk::charges::match_charges;
use quickscale_service_sdk::usage::{
    Claim, Progress, RunCharge, RunEnd, RunQuery, RunSample, RunStatus, ServiceRun,
    ServiceUsageRepository,
};
use quickscale_service_sdk::{
    RunError, Service, ServiceDescriptor, ServiceError, ServiceInput, ServiceOutput,
    ServiceRegistry, ServiceRunner,
};
use time::OffsetDateTime;
use time::macros::datetime;
use uuid::Uuid;

use crate::Stores;
use crate::clock::TokioTimer;

pub(super) const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

pub(super) fn key(text: &str) -> IdempotencyKey {
    IdempotencyKey::parse(text).unwrap()
}

fn new_run(user: UserId, run_key: &str) -> ServiceRun {
    ServiceRun {
        id: Uuid::now_v7(),
        user,
        service: "svc".into(),
        key: key(run_key),
        status: RunStatus::Running,
        cost: Credits::whole(2),
        charge: None,
        refunded: Credits::ZERO,
        balance_after: None,
        input_bytes: 12,
        duration_ms: None,
        output: None,
        error: None,
        mode: quickscale_service_sdk::RunMode::Immediate,
        progress: None,
        started_at: NOW,
        finished_at: None,
        api_key: None,
    }
}

fn ended(status: RunStatus) -> RunEnd {
    RunEnd {
        status,
        cost: Credits::ZERO,
        charge: None,
        refunded: Credits::ZERO,
        balance_after: None,
        duration_ms: 5,
        output: None,
        error: None,
        finished_at: NOW,
    }
}

/// A background run is claimed queued, starts once (a second start finds it running), records
/// progress while it is not over, and ends once: the first end stands.
pub(super) async fn usage_background_runs_start_progress_and_end_once(stores: Stores) {
    let usage = stores.usage;
    let ada = UserId::generate();
    let mut run = new_run(ada, "bg-1");
    run.status = RunStatus::Queued;
    run.mode = quickscale_service_sdk::RunMode::Background;
    assert_eq!(usage.claim(&run).await.unwrap(), Claim::Started);
    let stored = usage.get(ada, run.id).await.unwrap().unwrap();
    assert_eq!(
        (stored.status, stored.mode, stored.progress),
        (
            RunStatus::Queued,
            quickscale_service_sdk::RunMode::Background,
            None
        )
    );
    let started = usage.start(run.id).await.unwrap().unwrap();
    assert_eq!(started.status, RunStatus::Running);
    assert_eq!(
        usage.start(run.id).await.unwrap().unwrap().status,
        RunStatus::Running
    );
    assert!(usage.start(Uuid::now_v7()).await.unwrap().is_none());

    let halfway = Progress::new(0.5, "half way");
    assert!(usage.progress(run.id, &halfway).await.unwrap());
    let stored = usage.get(ada, run.id).await.unwrap().unwrap();
    assert_eq!(stored.progress, Some(halfway));

    usage
        .finish(run.id, &ended(RunStatus::Cancelled))
        .await
        .unwrap();
    usage
        .finish(run.id, &ended(RunStatus::Succeeded))
        .await
        .unwrap();
    let stored = usage.get(ada, run.id).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Cancelled, "the first end stands");
    assert!(
        !usage
            .progress(run.id, &Progress::new(0.9, "late"))
            .await
            .unwrap()
    );
    assert_eq!(
        usage.start(run.id).await.unwrap().unwrap().status,
        RunStatus::Cancelled,
        "an ended run does not start again"
    );
}

pub(super) async fn usage_claims_are_unique_per_user_and_key(stores: Stores) {
    let usage = stores.usage;
    let ada = UserId::generate();
    let bob = UserId::generate();
    let first = new_run(ada, "form-1");
    assert_eq!(usage.claim(&first).await.unwrap(), Claim::Started);
    match usage.claim(&new_run(ada, "form-1")).await.unwrap() {
        Claim::Existing(existing) => assert_eq!(existing.id, first.id),
        Claim::Started => panic!("the same key started twice"),
    }
    assert_eq!(
        usage.claim(&new_run(bob, "form-1")).await.unwrap(),
        Claim::Started
    );
    let racing = (0..8).map(|_| {
        let usage = Arc::clone(&usage);
        tokio::spawn(async move { usage.claim(&new_run(ada, "form-2")).await.unwrap() })
    });
    let claims: Vec<Claim> = join_all(racing)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    assert_eq!(claims.iter().filter(|c| **c == Claim::Started).count(), 1);
}

pub(super) async fn usage_finish_records_the_outcome_and_lists_filter(stores: Stores) {
    let usage = stores.usage;
    let ada = UserId::generate();
    let run = new_run(ada, "k1");
    usage.claim(&run).await.unwrap();
    let output = ServiceOutput::new("done").field("Words", 3);
    let end = RunEnd {
        status: RunStatus::Succeeded,
        cost: Credits::whole(2),
        charge: None,
        refunded: Credits::ZERO,
        balance_after: Some(Credits::whole(98)),
        duration_ms: 15,
        output: Some(output.clone()),
        error: None,
        finished_at: NOW,
    };
    usage.finish(run.id, &end).await.unwrap();
    let stored = usage.get(ada, run.id).await.unwrap().unwrap();
    assert_eq!(stored.status, RunStatus::Succeeded);
    assert_eq!(stored.output, Some(output));
    assert_eq!(stored.balance_after, Some(Credits::whole(98)));
    assert_eq!(stored.duration_ms, Some(15));
    assert_eq!(
        usage.get(UserId::generate(), run.id).await.unwrap(),
        None,
        "runs are private"
    );

    let failed = new_run(ada, "k2");
    usage.claim(&failed).await.unwrap();
    usage
        .finish(
            failed.id,
            &RunEnd {
                status: RunStatus::Failed,
                output: None,
                error: Some("boom".into()),
                ..end
            },
        )
        .await
        .unwrap();
    let all = usage
        .list(
            ada,
            &RunQuery {
                limit: 10,
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    let only_failed = usage
        .list(
            ada,
            &RunQuery {
                status: Some(RunStatus::Failed),
                limit: 10,
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(only_failed.len(), 1);
    assert_eq!(only_failed[0].error.as_deref(), Some("boom"));
}

/// A service that fails, times out or succeeds depending on its input.
struct Moody;

#[async_trait]
impl Service for Moody {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("moody", "Moody")
            .cost(Credits::whole(3))
            .timeout(StdDuration::from_millis(200))
    }

    async fn execute(&self, input: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        match input.as_text().unwrap_or_default() {
            "fail" => Err(ServiceError::Upstream("the model is down".into())),
            "slow" => {
                tokio::time::sleep(StdDuration::from_secs(5)).await;
                Ok(ServiceOutput::new("too late"))
            }
            "panic" => panic!("a bug in the service"),
            text => Ok(ServiceOutput::new(text.to_uppercase())),
        }
    }
}

pub(super) async fn runner_with_credits(stores: &Stores, credits: u32) -> (ServiceRunner, UserId) {
    runner_over(stores, Arc::clone(&stores.usage), credits).await
}

/// A runner over `usage` (the store, or a wrapper around it) with a user holding `credits`.
async fn runner_over(
    stores: &Stores,
    usage: Arc<dyn ServiceUsageRepository>,
    credits: u32,
) -> (ServiceRunner, UserId) {
    let mut registry = ServiceRegistry::new();
    registry.register(Moody).unwrap();
    quickscale_service_sdk::builtin::register_builtins(&mut registry).unwrap();
    let runner = ServiceRunner::new(
        Arc::new(registry),
        Arc::clone(&stores.credits),
        usage,
        Arc::new(FixedClock::at(NOW)),
        Arc::new(TokioTimer),
    )
    .with_paid_runs(Arc::clone(&stores.paid_runs));
    let user = UserId::generate();
    let account = AccountId::new(user.as_uuid());
    stores.credits.open_account(account, NOW).await.unwrap();
    if credits > 0 {
        let grant = Operation {
            key: key("welcome"),
            actor: Actor::System,
            reason: Reason::parse("welcome").unwrap(),
            command: CreditCommand::Grant {
                kind: GrantKind::Welcome,
                amount: Credits::whole(credits),
                expires_at: None,
                source: SourceRef::parse("signup").unwrap(),
            },
        };
        stores.credits.execute(account, grant, NOW).await.unwrap();
    }
    (runner, user)
}

pub(super) async fn balance(stores: &Stores, user: UserId) -> Credits {
    stores
        .credits
        .balance(AccountId::new(user.as_uuid()), NOW)
        .await
        .unwrap()
        .total
}

/// The account's invariants hold, and every run matches its debits one by one.
pub(super) async fn assert_ledger_ok(stores: &Stores, user: UserId) {
    let snapshot = stores
        .credits
        .snapshot(AccountId::new(user.as_uuid()))
        .await
        .unwrap();
    assert!(verify(&snapshot).is_empty());
    let runs = all_charges(stores, user, 2).await;
    let matched = match_charges(&runs, &snapshot.entries);
    assert_eq!(matched.mismatches, vec![], "{matched:?}");
}

/// Every run of `user`, read `page` at a time.
async fn all_charges(stores: &Stores, user: UserId, page: u32) -> Vec<RunCharge> {
    let mut runs: Vec<RunCharge> = Vec::new();
    loop {
        let next = stores
            .usage
            .charges(user, runs.last().map(|r| r.id), page)
            .await
            .unwrap();
        if next.is_empty() {
            return runs;
        }
        runs.extend(next);
    }
}

/// A user's runs, paged in id order with what matching them against the ledger needs.
pub(super) async fn usage_charges_page_a_users_runs_in_id_order(stores: Stores) {
    let usage = &stores.usage;
    let ada = UserId::generate();
    let mut ids = Vec::new();
    for (i, status) in [
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::Rejected,
        RunStatus::TimedOut,
        RunStatus::Running,
    ]
    .into_iter()
    .enumerate()
    {
        let run = new_run(ada, &format!("k{i}"));
        usage.claim(&run).await.unwrap();
        usage
            .claim(&new_run(UserId::generate(), "other"))
            .await
            .unwrap();
        if status != RunStatus::Running {
            let end = RunEnd {
                status,
                cost: Credits::from_cents(i as i64 * 100 + 1).unwrap(),
                charge: Some(quickscale_domain_credits::EntryId(i as i64 + 40)),
                refunded: Credits::from_cents(i as i64).unwrap(),
                balance_after: None,
                duration_ms: 1,
                output: None,
                error: None,
                finished_at: NOW,
            };
            usage.finish(run.id, &end).await.unwrap();
        }
        ids.push(run.id);
    }
    let runs = all_charges(&stores, ada, 2).await;
    assert_eq!(runs.iter().map(|r| r.id).collect::<Vec<_>>(), ids);
    assert_eq!(
        runs[3],
        RunCharge {
            id: ids[3],
            status: RunStatus::TimedOut,
            cost: Credits::from_cents(301).unwrap(),
            charge: Some(quickscale_domain_credits::EntryId(43)),
            refunded: Credits::from_cents(3).unwrap(),
        }
    );
    assert_eq!(
        (runs[4].status, runs[4].charge, runs[4].cost),
        (RunStatus::Running, None, Credits::whole(2))
    );
    assert_eq!(
        usage.charges(ada, Some(ids[4]), 10).await.unwrap(),
        vec![],
        "nothing after the last"
    );
    assert_eq!(
        usage.charges(UserId::generate(), None, 10).await.unwrap(),
        vec![]
    );
}

pub(super) async fn runner_charges_once_and_refunds_failures_and_timeouts(stores: Stores) {
    let (runner, user) = runner_with_credits(&stores, 10).await;
    let ok = runner
        .run(user, "moody", ServiceInput::Text("hi".into()), key("a"))
        .await
        .unwrap();
    assert_eq!(ok.run.status, RunStatus::Succeeded);
    assert_eq!(ok.run.output.as_ref().unwrap().summary, "HI");
    assert_eq!(ok.run.balance_after, Some(Credits::whole(7)));

    for (input, status) in [
        ("fail", RunStatus::Failed),
        ("slow", RunStatus::TimedOut),
        ("panic", RunStatus::Failed),
    ] {
        let outcome = runner
            .run(user, "moody", ServiceInput::Text(input.into()), key(input))
            .await
            .unwrap();
        assert_eq!(outcome.run.status, status, "{input}");
        assert_eq!(outcome.run.refunded, Credits::whole(3), "{input}");
        assert_eq!(outcome.run.cost, Credits::ZERO, "{input}");
        assert_eq!(
            outcome.run.balance_after,
            Some(Credits::whole(7)),
            "{input}"
        );
        assert!(outcome.run.error.is_some());
    }
    assert_eq!(balance(&stores, user).await, Credits::whole(7));
    let runs = stores
        .usage
        .list(
            user,
            &RunQuery {
                limit: 10,
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| r.status.is_final()));
    assert_ledger_ok(&stores, user).await;
}

/// The overdraft drill: 300 paid runs at once on 100 credits give exactly 100 successes, each
/// with its own exact balance; the 200 others are recorded as rejected and charged nothing.
pub(super) async fn runner_300_concurrent_runs_on_100_credits_succeed_100_times(stores: Stores) {
    let (runner, user) = runner_with_credits(&stores, 100).await;
    let results = overdraft_drill(&[runner], user, 300).await;
    assert_drill(&stores, user, &results, 100).await;
}

/// The overdraft drill through two app instances on one database: `first` and `second` are
/// two sets of stores (each with its own connections) over the same database.
pub async fn overdraft_drill_on_two_instances(first: Stores, second: Stores) {
    let (one, user) = runner_with_credits(&first, 100).await;
    let (two, _) = runner_over(&second, Arc::clone(&second.usage), 0).await;
    let results = overdraft_drill(&[one, two], user, 300).await;
    assert_drill(&first, user, &results, 100).await;
}

/// Runs `count` sentiment analyses (one credit each) for `user` at once, spread over `runners`
/// (app instances), each under its own key.
async fn overdraft_drill(
    runners: &[ServiceRunner],
    user: UserId,
    count: usize,
) -> Vec<Result<quickscale_service_sdk::RunOutcome, RunError>> {
    let tasks = (0..count).map(|i| {
        let runner = runners[i % runners.len()].clone();
        tokio::spawn(async move {
            // A run the database could not take in time (a connection pool's wait on a busy
            // machine) is sent again under its key, as a client does: never charged twice.
            let mut attempts = 0;
            loop {
                let result = runner
                    .run(
                        user,
                        "text_sentiment_analysis",
                        ServiceInput::Text("a lovely product".into()),
                        key(&format!("drill-{i}")),
                    )
                    .await;
                attempts += 1;
                match result {
                    Err(RunError::Storage(e) | RunError::Credits(CreditError::Storage(e)))
                        if e.failure == StorageFailure::Unavailable && attempts < 10 => {}
                    Err(RunError::InProgress) if attempts < 10 => {
                        tokio::time::sleep(StdDuration::from_millis(50)).await;
                    }
                    other => return other,
                }
            }
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect()
}

/// What [`overdraft_drill`] must leave: `credits` successes with distinct exact balances, the
/// others refused for a short balance and recorded as rejected, a zero balance, a sound ledger
/// with one debit per successful run.
async fn assert_drill(
    stores: &Stores,
    user: UserId,
    results: &[Result<quickscale_service_sdk::RunOutcome, RunError>],
    credits: usize,
) {
    let errors: Vec<&RunError> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    let succeeded: Vec<&quickscale_service_sdk::RunOutcome> =
        results.iter().filter_map(|r| r.as_ref().ok()).collect();
    assert_eq!(succeeded.len(), credits, "errors: {errors:?}");
    assert!(
        errors
            .iter()
            .all(|e| matches!(e, RunError::Insufficient(_))),
        "{errors:?}"
    );
    let mut balances: Vec<Credits> = succeeded
        .iter()
        .map(|o| {
            assert_eq!(o.run.status, RunStatus::Succeeded);
            assert_eq!(o.run.cost, Credits::whole(1));
            o.run
                .balance_after
                .expect("a charged run states the balance after")
        })
        .collect();
    balances.sort();
    balances.dedup();
    assert_eq!(
        balances.len(),
        credits,
        "every success reports its own balance"
    );
    assert_eq!(balances[0], Credits::ZERO);
    assert_eq!(balance(stores, user).await, Credits::ZERO);
    let runs = all_charges(stores, user, 100).await;
    assert_eq!(runs.len(), results.len(), "every run is recorded");
    let rejected = runs
        .iter()
        .filter(|r| r.status == RunStatus::Rejected && r.cost.is_zero() && r.charge.is_none())
        .count();
    assert_eq!(rejected, results.len() - credits);
    assert_ledger_ok(stores, user).await;
}

pub(super) async fn runner_double_submit_charges_once(stores: Stores) {
    let (runner, user) = runner_with_credits(&stores, 10).await;
    let tasks = (0..6).map(|_| {
        let runner = runner.clone();
        tokio::spawn(async move {
            runner
                .run(
                    user,
                    "moody",
                    ServiceInput::Text("same".into()),
                    key("form-token"),
                )
                .await
        })
    });
    let results: Vec<_> = join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let fresh = results
        .iter()
        .filter(|r| matches!(r, Ok(o) if !o.replayed))
        .count();
    assert_eq!(fresh, 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|r| matches!(r, Ok(_) | Err(RunError::InProgress)))
    );
    let again = runner
        .run(
            user,
            "moody",
            ServiceInput::Text("same".into()),
            key("form-token"),
        )
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.run.output.as_ref().unwrap().summary, "SAME");
    assert_eq!(balance(&stores, user).await, Credits::whole(7));
    assert_ledger_ok(&stores, user).await;
}

pub(super) async fn runner_refuses_bad_input_and_short_balances_without_charging(stores: Stores) {
    let (runner, user) = runner_with_credits(&stores, 2).await;
    let empty = runner
        .run(user, "moody", ServiceInput::Text("   ".into()), key("e"))
        .await;
    assert!(matches!(empty, Err(RunError::Input(_))), "{empty:?}");
    let big = runner
        .run(
            user,
            "moody",
            ServiceInput::Text("x".repeat(200 * 1024)),
            key("b"),
        )
        .await;
    assert!(matches!(big, Err(RunError::Input(_))), "{big:?}");
    let unknown = runner
        .run(user, "nope", ServiceInput::Text("x".into()), key("u"))
        .await;
    assert!(matches!(unknown, Err(RunError::UnknownService(_))));
    let short = runner
        .run(user, "moody", ServiceInput::Text("x".into()), key("s"))
        .await;
    match short {
        Err(RunError::Insufficient(s)) => {
            assert_eq!(s.required, Credits::whole(3));
            assert_eq!(s.available, Credits::whole(2));
        }
        other => panic!("expected insufficient credits, got {other:?}"),
    }
    assert_eq!(balance(&stores, user).await, Credits::whole(2));
    // Free services run with no credits to spare, and are recorded.
    let free = runner
        .run(
            user,
            "demo_free_service",
            ServiceInput::Text("Free for all. Truly!".into()),
            key("f"),
        )
        .await
        .unwrap();
    assert_eq!(free.run.status, RunStatus::Succeeded);
    assert_eq!(free.run.cost, Credits::ZERO);
    assert_eq!(free.run.balance_after, Some(Credits::whole(2)));
    let runs = stores
        .usage
        .list(
            user,
            &RunQuery {
                limit: 10,
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    let statuses: Vec<RunStatus> = runs.iter().map(|r| r.status).collect();
    assert!(statuses.contains(&RunStatus::Rejected));
    assert!(statuses.contains(&RunStatus::Succeeded));
}

pub(super) async fn service_settings_follow_the_registry_and_keep_admin_choices(stores: Stores) {
    use quickscale_service_sdk::ServiceSettings;
    let settings = stores.service_settings;
    let first = settings
        .sync(&["alpha".into(), "beta".into()])
        .await
        .unwrap();
    assert_eq!(
        first
            .iter()
            .map(|s| (s.slug.as_str(), s.enabled, s.display_order))
            .collect::<Vec<_>>(),
        vec![("alpha", true, 0), ("beta", true, 1)]
    );
    let changed = ServiceSettings {
        slug: "beta".into(),
        enabled: false,
        cost_override: Some(Credits::whole(5)),
        display_order: 1,
    };
    let before = settings.version().await.unwrap();
    assert!(settings.update(&changed).await.unwrap());
    let after = settings.version().await.unwrap();
    assert!(
        after > before,
        "a change moves the version on: {before} then {after}"
    );
    assert_eq!(
        stores
            .cache_versions
            .versions()
            .await
            .unwrap()
            .service_settings,
        after,
        "read with the other versions, the same number"
    );
    assert!(
        !settings
            .update(&ServiceSettings {
                slug: "nope".into(),
                ..changed.clone()
            })
            .await
            .unwrap()
    );
    assert_eq!(
        settings.version().await.unwrap(),
        after,
        "a refused change leaves the version"
    );
    // Next start: alpha was removed from code, gamma added; beta keeps the admin's choices.
    let second = settings
        .sync(&["beta".into(), "gamma".into()])
        .await
        .unwrap();
    assert_eq!(second.len(), 2);
    assert_eq!(second[0], changed);
    assert_eq!(second[1].slug, "gamma");
    assert_eq!(second[1].display_order, 2);
    // alpha's row is kept for its history and comes back with its settings.
    let third = settings.sync(&["alpha".into()]).await.unwrap();
    assert_eq!(third[0].display_order, 0);
}

pub(super) async fn usage_samples_cover_every_user_since_a_date(stores: Stores) {
    let usage = stores.usage;
    let ada = UserId::generate();
    let bob = UserId::generate();
    let mut old = new_run(ada, "old");
    old.started_at = NOW - time::Duration::days(10);
    usage.claim(&old).await.unwrap();
    usage.claim(&new_run(ada, "a")).await.unwrap();
    usage.claim(&new_run(bob, "b")).await.unwrap();
    let samples = usage
        .samples_since(NOW - time::Duration::days(1), 100)
        .await
        .unwrap();
    assert_eq!(samples.len(), 2);
    assert!(
        samples
            .iter()
            .all(|s| s.started_at >= NOW - time::Duration::days(1))
    );
    assert_eq!(
        samples
            .iter()
            .map(|s| s.user)
            .collect::<std::collections::HashSet<_>>()
            .len(),
        2
    );
    assert_eq!(
        usage
            .samples_since(NOW - time::Duration::days(30), 1)
            .await
            .unwrap()
            .len(),
        1
    );
}

/// A process stopped in the middle of runs: one charged, one claimed but not yet charged. The
/// recovery ends both as failed and leaves the balance as it was before them, once, and leaves
/// a run still inside its time alone.
pub(super) async fn runner_recovers_runs_interrupted_by_a_crash(stores: Stores) {
    let (runner, user) = runner_with_credits(&stores, 10).await;
    let account = AccountId::new(user.as_uuid());
    let an_hour_ago = NOW - time::Duration::hours(1);
    let mut charged = new_run(user, "charged");
    charged.started_at = an_hour_ago;
    let mut claimed = new_run(user, "claimed");
    claimed.started_at = an_hour_ago;
    let recent = new_run(user, "recent");
    for run in [&charged, &claimed, &recent] {
        assert_eq!(stores.usage.claim(run).await.unwrap(), Claim::Started);
    }
    // The charge the runner makes, under the run's own key.
    let charge = Operation {
        key: key(&format!("run:{}", charged.id)),
        actor: Actor::User(user.as_uuid()),
        reason: Reason::parse("Ran svc").unwrap(),
        command: CreditCommand::Consume {
            amount: Credits::whole(2),
        },
    };
    stores
        .credits
        .execute(account, charge, an_hour_ago)
        .await
        .unwrap();
    assert_eq!(balance(&stores, user).await, Credits::whole(8));

    let cutoff = NOW - time::Duration::minutes(10);
    assert_eq!(runner.recover_interrupted(cutoff).await.unwrap(), 2);
    assert_eq!(balance(&stores, user).await, Credits::whole(10));
    for run in [&charged, &claimed] {
        let ended = stores.usage.get(user, run.id).await.unwrap().unwrap();
        assert_eq!(ended.status, RunStatus::Failed, "{}", run.key.as_str());
        assert_eq!(ended.refunded, Credits::whole(2));
        assert_eq!(ended.cost, Credits::ZERO);
        assert!(ended.error.unwrap().contains("stopped"));
    }
    let untouched = stores.usage.get(user, recent.id).await.unwrap().unwrap();
    assert_eq!(untouched.status, RunStatus::Running);
    // Again (another instance, the next hour): nothing more happens.
    assert_eq!(runner.recover_interrupted(cutoff).await.unwrap(), 0);
    assert_eq!(balance(&stores, user).await, Credits::whole(10));
    assert_ledger_ok(&stores, user).await;
    // A run claimed, never charged, by a user who cannot pay now: ended without a charge and
    // without a cost.
    let (_, broke) = runner_with_credits(&stores, 0).await;
    let mut stranded = new_run(broke, "stranded");
    stranded.started_at = an_hour_ago;
    stores.usage.claim(&stranded).await.unwrap();
    assert_eq!(runner.recover_interrupted(cutoff).await.unwrap(), 1);
    let ended = stores.usage.get(broke, stranded.id).await.unwrap().unwrap();
    assert_eq!(
        (ended.status, ended.cost, ended.charge, ended.refunded),
        (RunStatus::Failed, Credits::ZERO, None, Credits::ZERO)
    );
    assert_ledger_ok(&stores, broke).await;
}

/// The usage store with its first `failures` final writes refused as during a database outage.
struct Outage {
    inner: Arc<dyn ServiceUsageRepository>,
    failures: std::sync::atomic::AtomicU32,
}

#[async_trait]
impl ServiceUsageRepository for Outage {
    async fn claim(&self, run: &ServiceRun) -> Result<Claim, StorageError> {
        self.inner.claim(run).await
    }
    async fn finish(&self, id: Uuid, end: &RunEnd) -> Result<(), StorageError> {
        let left = self.failures.load(std::sync::atomic::Ordering::SeqCst);
        if left > 0 {
            self.failures
                .store(left - 1, std::sync::atomic::Ordering::SeqCst);
            return Err(StorageError::new(
                StorageFailure::Unavailable,
                "the database is unavailable",
            ));
        }
        self.inner.finish(id, end).await
    }
    async fn start(&self, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
        self.inner.start(id).await
    }
    async fn progress(&self, id: Uuid, progress: &Progress) -> Result<bool, StorageError> {
        self.inner.progress(id, progress).await
    }
    async fn get(&self, user: UserId, id: Uuid) -> Result<Option<ServiceRun>, StorageError> {
        self.inner.get(user, id).await
    }
    async fn list(&self, user: UserId, query: &RunQuery) -> Result<Vec<ServiceRun>, StorageError> {
        self.inner.list(user, query).await
    }
    async fn samples_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<RunSample>, StorageError> {
        self.inner.samples_since(since, limit).await
    }
    async fn unfinished(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ServiceRun>, StorageError> {
        self.inner.unfinished(before, limit).await
    }
    async fn charges(
        &self,
        user: UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunCharge>, StorageError> {
        self.inner.charges(user, after, limit).await
    }
    async fn month_spend(
        &self,
        user: UserId,
        key: quickscale_domain_identity::ApiKeyId,
        since: OffsetDateTime,
    ) -> Result<quickscale_service_sdk::caps::MonthSpend, StorageError> {
        self.inner.month_spend(user, key, since).await
    }
}

/// The database is away for a moment when a run ends: the runner waits for it rather than
/// leave the run marked running.
pub(super) async fn runner_records_the_end_of_a_run_through_a_short_outage(stores: Stores) {
    let outage = Arc::new(Outage {
        inner: Arc::clone(&stores.usage),
        failures: std::sync::atomic::AtomicU32::new(2),
    });
    let (runner, user) = runner_over(&stores, outage, 10).await;
    let outcome = runner
        .run(user, "moody", ServiceInput::Text("hello".into()), key("k"))
        .await
        .unwrap();
    let stored = stores
        .usage
        .get(user, outcome.run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.status, RunStatus::Succeeded);
    assert_eq!(balance(&stores, user).await, Credits::whole(7));
    assert_ledger_ok(&stores, user).await;
}

/// A background service priced by use: holds 10, reports its progress, and charges what the
/// input says it used ("use 4"); "fail" fails, "slow" outlives its timeout, "wait" reports
/// progress until it is cancelled.
struct Metered;

#[async_trait]
impl Service for Metered {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("metered", "Metered")
            .cost(Credits::whole(2))
            .background()
            .max_cost(Credits::whole(10))
            .timeout(StdDuration::from_millis(300))
    }

    async fn execute(&self, _: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Ok(ServiceOutput::new("done"))
    }

    async fn execute_background(
        &self,
        input: ServiceInput,
        context: &quickscale_service_sdk::RunContext,
    ) -> Result<ServiceOutput, ServiceError> {
        context.progress(0.25, "warming up").await?;
        match input.as_text().unwrap_or_default() {
            "fail" => Err(ServiceError::Upstream("the model is down".into())),
            "slow" => {
                tokio::time::sleep(StdDuration::from_secs(5)).await;
                Ok(ServiceOutput::new("too late"))
            }
            "wait" => loop {
                tokio::time::sleep(StdDuration::from_millis(10)).await;
                context.progress(0.5, "waiting").await?;
            },
            "greedy" => {
                context.report_cost(Credits::whole(11))?;
                Ok(ServiceOutput::new("unreachable"))
            }
            text => {
                let used: u32 = text
                    .strip_prefix("use ")
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                if used > 0 {
                    context.report_cost(Credits::whole(used))?;
                }
                Ok(ServiceOutput::new(text.to_uppercase()))
            }
        }
    }
}

/// The jobs a runner queued, in order.
#[derive(Default)]
struct QueuedJobs(std::sync::Mutex<Vec<quickscale_service_sdk::BackgroundJob>>);

#[async_trait]
impl quickscale_service_sdk::RunQueue for QueuedJobs {
    async fn enqueue(
        &self,
        job: quickscale_service_sdk::BackgroundJob,
    ) -> Result<(), StorageError> {
        self.0.lock().unwrap().push(job);
        Ok(())
    }
}

impl QueuedJobs {
    fn take(&self) -> Vec<quickscale_service_sdk::BackgroundJob> {
        std::mem::take(&mut *self.0.lock().unwrap())
    }
}

/// Counts the run ends it is told of, by status (and whether they were background runs).
#[derive(Default)]
struct EndCounter(std::sync::Mutex<Vec<(Uuid, RunStatus, bool)>>);

#[async_trait]
impl quickscale_service_sdk::notify::RunEvents for EndCounter {
    async fn run_ended(&self, event: &quickscale_service_sdk::notify::RunEnded) {
        let status = RunStatus::parse(&event.status).expect("a run status");
        self.0
            .lock()
            .unwrap()
            .push((event.run, status, event.background));
    }
}

/// Background runs on every store: the submission holds the maximum and queues one job (a
/// repeated key holds once); the worker's end settles with the reported cost (the rest back) or
/// releases in full on failure and timeout; a cancel releases and stops the service; every
/// ending is exactly once, and the ledger and the runs match.
pub(super) async fn runner_background_runs_hold_then_settle_or_release_once(stores: Stores) {
    let queue = Arc::new(QueuedJobs::default());
    let ended_runs = Arc::new(EndCounter::default());
    let (_, user) = runner_with_credits(&stores, 30).await;
    let mut registry = ServiceRegistry::new();
    registry.register(Metered).unwrap();
    let runner = ServiceRunner::new(
        Arc::new(registry),
        Arc::clone(&stores.credits),
        Arc::clone(&stores.usage),
        Arc::new(FixedClock::at(NOW)),
        Arc::new(TokioTimer),
    )
    .with_paid_runs(Arc::clone(&stores.paid_runs))
    .with_queue(queue.clone())
    .with_events(ended_runs.clone());
    let submit = |text: &str, run_key: &str| {
        runner.run(
            user,
            "metered",
            ServiceInput::Text(text.into()),
            key(run_key),
        )
    };

    // Submitted: queued, 10 held, one job; the same key again is the same run, held once.
    let first = submit("use 4", "bg-1").await.unwrap();
    assert_eq!(first.run.status, RunStatus::Queued);
    assert_eq!(first.run.cost, Credits::whole(10));
    let again = submit("use 4", "bg-1").await.unwrap();
    assert!(again.replayed);
    assert_eq!(again.run.id, first.run.id);
    assert_eq!(balance(&stores, user).await, Credits::whole(20));
    let jobs = queue.take();
    assert_eq!(jobs.len(), 1, "one job per run");

    // The worker runs it: 4 charged, 6 back.
    let done = runner
        .work_background(jobs[0].clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(done.status, RunStatus::Succeeded);
    assert_eq!(
        (done.cost, done.refunded),
        (Credits::whole(4), Credits::whole(6))
    );
    assert_eq!(
        done.progress.as_ref().map(|p| p.permille),
        Some(250),
        "the last progress reported is kept"
    );
    assert_eq!(balance(&stores, user).await, Credits::whole(26));
    // The job delivered twice (a lost heartbeat) changes nothing.
    let twice = runner
        .work_background(jobs[0].clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(twice.status, RunStatus::Succeeded);
    assert_eq!(balance(&stores, user).await, Credits::whole(26));

    // Failure, timeout and a cost above the hold release in full.
    for (text, status) in [
        ("fail", RunStatus::Failed),
        ("slow", RunStatus::TimedOut),
        ("greedy", RunStatus::Failed),
    ] {
        submit(text, &format!("bg-{text}")).await.unwrap();
        let job = queue.take().remove(0);
        let ended = runner.work_background(job).await.unwrap().unwrap();
        assert_eq!(ended.status, status, "{text}");
        assert_eq!(
            (ended.cost, ended.refunded),
            (Credits::ZERO, Credits::whole(10))
        );
        assert_eq!(balance(&stores, user).await, Credits::whole(26), "{text}");
    }

    // Cancelled while queued: released; the job then does nothing.
    let queued = submit("use 1", "bg-cancel-queued").await.unwrap();
    let cancelled = runner.cancel(user, queued.run.id).await.unwrap().unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    assert_eq!(cancelled.refunded, Credits::whole(10));
    let job = queue.take().remove(0);
    let after = runner.work_background(job).await.unwrap().unwrap();
    assert_eq!(after.status, RunStatus::Cancelled);
    assert_eq!(balance(&stores, user).await, Credits::whole(26));

    // Cancelled while running: the service stops at its next progress report.
    let waiting = submit("wait", "bg-cancel-running").await.unwrap();
    let job = queue.take().remove(0);
    let worker = {
        let runner = runner.clone();
        tokio::spawn(async move { runner.work_background(job).await })
    };
    for _ in 0..100 {
        let run = stores
            .usage
            .get(user, waiting.run.id)
            .await
            .unwrap()
            .unwrap();
        if run
            .progress
            .as_ref()
            .is_some_and(|p| p.message == "waiting")
        {
            break;
        }
        tokio::time::sleep(StdDuration::from_millis(10)).await;
    }
    let cancelled = runner.cancel(user, waiting.run.id).await.unwrap().unwrap();
    assert_eq!(cancelled.status, RunStatus::Cancelled);
    let ended = worker.await.unwrap().unwrap().unwrap();
    assert_eq!(ended.status, RunStatus::Cancelled);
    assert_eq!(balance(&stores, user).await, Credits::whole(26));
    let holds = stores
        .credits
        .open_holds(AccountId::new(user.as_uuid()))
        .await
        .unwrap();
    assert!(holds.is_empty(), "every hold ended: {holds:?}");

    assert_ledger_ok(&stores, user).await;
    // The listener heard of each run's end once, whoever ended it (six runs, one of them
    // ended twice: by its cancel, then by its worker).
    let heard = ended_runs.0.lock().unwrap().clone();
    assert!(heard.iter().all(|(_, _, background)| *background));
    let statuses: Vec<RunStatus> = heard.iter().map(|(_, status, _)| *status).collect();
    assert_eq!(
        statuses,
        [
            RunStatus::Succeeded,
            RunStatus::Failed,
            RunStatus::TimedOut,
            RunStatus::Failed,
            RunStatus::Cancelled,
            RunStatus::Cancelled,
        ]
    );

    // Not enough for the maximum: refused, nothing held, nothing queued.
    let (_, poor) = runner_with_credits(&stores, 5).await;
    let refused = runner
        .run(
            poor,
            "metered",
            ServiceInput::Text("use 1".into()),
            key("bg-poor"),
        )
        .await
        .unwrap_err();
    assert!(matches!(refused, RunError::Insufficient(_)), "{refused:?}");
    assert!(queue.take().is_empty());
    assert_eq!(balance(&stores, poor).await, Credits::whole(5));
}

/// A background run left running by a worker that died is ended by the recovery, its hold
/// released once, and a late job for it changes nothing.
pub(super) async fn runner_recovers_background_runs_and_releases_their_hold(stores: Stores) {
    let queue = Arc::new(QueuedJobs::default());
    let mut registry = ServiceRegistry::new();
    registry.register(Metered).unwrap();
    let (_, user) = runner_with_credits(&stores, 10).await;
    let runner = ServiceRunner::new(
        Arc::new(registry),
        Arc::clone(&stores.credits),
        Arc::clone(&stores.usage),
        Arc::new(FixedClock::at(NOW)),
        Arc::new(TokioTimer),
    )
    .with_paid_runs(Arc::clone(&stores.paid_runs))
    .with_queue(queue.clone());
    let submitted = runner
        .run(
            user,
            "metered",
            ServiceInput::Text("use 3".into()),
            key("bg-crash"),
        )
        .await
        .unwrap();
    // A worker started it, then died.
    let started = stores.usage.start(submitted.run.id).await.unwrap().unwrap();
    assert_eq!(started.status, RunStatus::Running);
    assert_eq!(balance(&stores, user).await, Credits::ZERO);

    let ended = runner
        .recover_interrupted(NOW + time::Duration::hours(1))
        .await
        .unwrap();
    assert_eq!(ended, 1);
    let run = stores
        .usage
        .get(user, submitted.run.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (run.status, run.refunded),
        (RunStatus::Failed, Credits::whole(10))
    );
    assert_eq!(balance(&stores, user).await, Credits::whole(10));
    let late = runner
        .work_background(queue.take().remove(0))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.status, RunStatus::Failed);
    assert_eq!(balance(&stores, user).await, Credits::whole(10));

    // Submitted, but its job was lost (discarded by an admin, a wiped queue): still queued,
    // its hold ended by the recovery once past every timeout, not before.
    let lost = runner
        .run(
            user,
            "metered",
            ServiceInput::Text("use 3".into()),
            key("bg-lost"),
        )
        .await
        .unwrap();
    assert_eq!(lost.run.status, RunStatus::Queued);
    queue.take();
    assert_eq!(balance(&stores, user).await, Credits::ZERO);
    assert_eq!(runner.recover_interrupted(NOW).await.unwrap(), 0);
    assert_eq!(
        runner
            .recover_interrupted(NOW + time::Duration::hours(1))
            .await
            .unwrap(),
        1
    );
    let run = stores.usage.get(user, lost.run.id).await.unwrap().unwrap();
    assert_eq!(
        (run.status, run.refunded),
        (RunStatus::Failed, Credits::whole(10))
    );
    assert!(run.error.unwrap().contains("never started"));
    assert_eq!(balance(&stores, user).await, Credits::whole(10));
    assert_ledger_ok(&stores, user).await;
}
