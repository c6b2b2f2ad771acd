//! Monthly spend caps on runs through the API, over each backend: checked with the charge, so
//! runs at once never pass a cap together; refused runs are recorded and charge nothing.

use futures_util::future::join_all;
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::{ApiKeyId, UserId};
use quickscale_service_sdk::caps::{CapKind, MonthSpend, SpendCaps, month_start};
use quickscale_service_sdk::usage::{RunQuery, RunStatus};
use quickscale_service_sdk::{RunError, RunOutcome, ServiceInput, ServiceRunner};
use time::Duration;
use uuid::Uuid;

use super::usage::{NOW, assert_ledger_ok, balance, key, runner_with_credits};
use crate::Stores;

fn capped(key: ApiKeyId, key_monthly: Option<u32>, api_monthly: Option<u32>) -> SpendCaps {
    SpendCaps {
        key: Some(key),
        key_monthly: key_monthly.map(Credits::whole),
        api_monthly: api_monthly.map(Credits::whole),
    }
}

/// `count` sentiment analyses (one credit each) at once, the `i`th under `caps[i % len]`.
async fn at_once(
    runner: &ServiceRunner,
    user: UserId,
    caps: &[SpendCaps],
    count: usize,
    tag: &str,
) -> Vec<Result<RunOutcome, RunError>> {
    let tasks = (0..count).map(|i| {
        let runner = runner.clone();
        let caps = caps[i % caps.len()];
        let key = key(&format!("{tag}-{i}"));
        tokio::spawn(async move {
            runner
                .run_capped(
                    user,
                    "text_sentiment_analysis",
                    ServiceInput::Text("a lovely product".into()),
                    key,
                    caps,
                )
                .await
        })
    });
    join_all(tasks)
        .await
        .into_iter()
        .map(|r| r.expect("task"))
        .collect()
}

fn refusals(results: &[Result<RunOutcome, RunError>]) -> Vec<CapKind> {
    results
        .iter()
        .filter_map(|r| match r {
            Err(RunError::OverCap(over)) => Some(over.kind()),
            Ok(_) => None,
            Err(other) => panic!("only caps refuse here, not {other:?}"),
        })
        .collect()
}

/// 50 runs at once of a one-credit service on a key capped at 10 credits: exactly 10 succeed,
/// the 40 others are refused by the key's cap and recorded as rejected, and the ledger is sound.
pub(super) async fn caps_50_concurrent_runs_on_a_key_capped_at_10_succeed_10_times(stores: Stores) {
    let (runner, user) = runner_with_credits(&stores, 100).await;
    let capped_key = ApiKeyId(Uuid::now_v7());
    let results = at_once(
        &runner,
        user,
        &[capped(capped_key, Some(10), None)],
        50,
        "cap",
    )
    .await;
    let succeeded = results.iter().filter(|r| r.is_ok()).count();
    assert_eq!(succeeded, 10);
    assert_eq!(refusals(&results), vec![CapKind::KeyMonthly; 40]);
    assert_eq!(balance(&stores, user).await, Credits::whole(90));
    assert_ledger_ok(&stores, user).await;
    let runs = stores
        .usage
        .list(
            user,
            &RunQuery {
                limit: 100,
                ..RunQuery::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(runs.len(), 50, "every run is recorded");
    assert!(runs.iter().all(|r| r.api_key == Some(capped_key)));
    let rejected: Vec<_> = runs
        .iter()
        .filter(|r| r.status == RunStatus::Rejected)
        .collect();
    assert_eq!(rejected.len(), 40);
    assert!(
        rejected
            .iter()
            .all(|r| r.cost.is_zero() && r.charge.is_none())
    );
    assert_eq!(
        CapKind::KeyMonthly,
        quickscale_service_sdk::caps::CapExceeded::refusal_of(
            rejected[0].error.as_deref().unwrap()
        )
        .unwrap(),
        "the stored refusal names the cap"
    );
    assert_eq!(
        stores
            .usage
            .month_spend(user, capped_key, month_start(NOW))
            .await
            .unwrap(),
        MonthSpend {
            key_credits: Credits::whole(10),
            key_runs: 50,
            api_credits: Credits::whole(10),
        }
    );
    // Next month starts afresh; another key has a cap of its own.
    let next_month = month_start(month_start(NOW) + Duration::days(32));
    assert_eq!(
        stores
            .usage
            .month_spend(user, capped_key, next_month)
            .await
            .unwrap(),
        MonthSpend::default()
    );
    let other = at_once(
        &runner,
        user,
        &[capped(ApiKeyId(Uuid::now_v7()), Some(10), None)],
        1,
        "other",
    )
    .await;
    assert!(other[0].is_ok(), "{other:?}");
    // A replay of a refused run is the refused run: nothing is charged.
    let replay = at_once(
        &runner,
        user,
        &[capped(capped_key, Some(100), None)],
        1,
        "cap",
    )
    .await;
    let replayed = replay[0].as_ref().unwrap();
    assert!(replayed.replayed);
    assert_eq!(balance(&stores, user).await, Credits::whole(89));
}

/// The plan's bound holds for all of a user's keys together, keys without a cap of their own
/// included; runs from the pages (no key) are not counted, and refunds give the room back.
pub(super) async fn caps_the_plans_monthly_api_bound_holds_across_keys(stores: Stores) {
    let (runner, user) = runner_with_credits(&stores, 100).await;
    // A page run, and a failed run through the API (refunded): neither counts.
    runner
        .run(user, "moody", ServiceInput::Text("hi".into()), key("page"))
        .await
        .unwrap();
    let (first, second) = (ApiKeyId(Uuid::now_v7()), ApiKeyId(Uuid::now_v7()));
    let failed = runner
        .run_capped(
            user,
            "moody",
            ServiceInput::Text("fail".into()),
            key("failed"),
            capped(first, None, Some(7)),
        )
        .await
        .unwrap();
    assert_eq!(failed.run.status, RunStatus::Failed);
    let caps = [
        capped(first, None, Some(7)),
        capped(second, Some(50), Some(7)),
    ];
    let results = at_once(&runner, user, &caps, 20, "bound").await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 7);
    assert_eq!(refusals(&results), vec![CapKind::ApiMonthly; 13]);
    let spent = stores
        .usage
        .month_spend(user, second, month_start(NOW))
        .await
        .unwrap();
    assert_eq!(spent.api_credits, Credits::whole(7));
    assert_eq!(spent.key_runs, 10);
    // The page run cost 3; the failed one was refunded; 7 through the API.
    assert_eq!(balance(&stores, user).await, Credits::whole(90));
    assert_ledger_ok(&stores, user).await;
    // Free runs are never capped.
    let free = runner
        .run_capped(
            user,
            "demo_free_service",
            ServiceInput::Text("Free for all. Truly!".into()),
            key("free"),
            caps[0],
        )
        .await
        .unwrap();
    assert_eq!(free.run.status, RunStatus::Succeeded);
    assert_eq!(free.run.api_key, Some(first));
}
