//! The contract of the rate-limit stores: the same answers as the rule (`Quota::spend`), kept
//! atomically however many callers share a budget.

use std::time::Duration;

use quickscale_domain_kernel::rate_limit::{Decision, Micros, Quota};

use crate::Stores;

const SECOND: Micros = 1_000_000;
/// An instant (µs since the epoch) in 2026.
const NOW: Micros = 1_780_000_000 * SECOND;

/// A scope of its own for each run, so runs against a long-lived server (Redis) never meet.
fn scope(name: &str) -> String {
    format!("{name}-{}", uuid::Uuid::new_v4().simple())
}

fn refused(micros: Micros) -> Decision {
    Decision::Refused {
        retry_after: Duration::from_micros(micros.unsigned_abs()),
    }
}

pub(super) async fn limits_a_burst_then_one_per_interval(stores: Stores) {
    let store = stores.rate_limits;
    let scope = scope("sign_in");
    let quota = Quota::every(Duration::from_secs(6), 10);
    for n in 0..10 {
        assert_eq!(
            store
                .spend(&scope, "203.0.113.7", quota, NOW)
                .await
                .unwrap(),
            Decision::Allowed,
            "request {n} of the burst"
        );
    }
    assert_eq!(
        store
            .spend(&scope, "203.0.113.7", quota, NOW)
            .await
            .unwrap(),
        refused(6 * SECOND)
    );
    // A refusal spent nothing: a second later, five seconds are left to wait.
    assert_eq!(
        store
            .spend(&scope, "203.0.113.7", quota, NOW + SECOND)
            .await
            .unwrap(),
        refused(5 * SECOND)
    );
    // Peeking spends nothing either.
    for _ in 0..3 {
        assert_eq!(
            store
                .peek(&scope, "203.0.113.7", quota, NOW + 6 * SECOND)
                .await
                .unwrap(),
            Decision::Allowed
        );
    }
    assert_eq!(
        store
            .spend(&scope, "203.0.113.7", quota, NOW + 6 * SECOND)
            .await
            .unwrap(),
        Decision::Allowed,
        "one more after one interval"
    );
    assert_eq!(
        store
            .peek(&scope, "203.0.113.7", quota, NOW + 6 * SECOND)
            .await
            .unwrap(),
        refused(6 * SECOND)
    );
    // A client never seen peeks whole.
    assert_eq!(
        store
            .peek(&scope, "198.51.100.1", quota, NOW)
            .await
            .unwrap(),
        Decision::Allowed
    );
}

pub(super) async fn limits_scopes_and_keys_are_independent(stores: Stores) {
    let store = stores.rate_limits;
    let (first, second) = (scope("register"), scope("email"));
    let quota = Quota::per_minute(1, 2);
    for _ in 0..2 {
        assert_eq!(
            store.spend(&first, "a", quota, NOW).await.unwrap(),
            Decision::Allowed
        );
    }
    assert!(matches!(
        store.spend(&first, "a", quota, NOW).await.unwrap(),
        Decision::Refused { .. }
    ));
    assert_eq!(
        store.spend(&first, "b", quota, NOW).await.unwrap(),
        Decision::Allowed
    );
    assert_eq!(
        store.spend(&second, "a", quota, NOW).await.unwrap(),
        Decision::Allowed
    );
}

pub(super) async fn limits_concurrent_spenders_never_pass_the_burst(stores: Stores) {
    let store = stores.rate_limits;
    let scope = scope("api_key");
    let quota = Quota::per_minute(1, 10);
    let spenders = (0..40).map(|_| {
        let store = store.clone();
        let scope = scope.clone();
        tokio::spawn(async move { store.spend(&scope, "key", quota, NOW).await.unwrap() })
    });
    let mut allowed = 0;
    for spender in spenders {
        if spender.await.unwrap() == Decision::Allowed {
            allowed += 1;
        }
    }
    assert_eq!(allowed, 10, "exactly the burst, however many at once");
}

pub(super) async fn limits_forgetting_idle_budgets_changes_no_answer(stores: Stores) {
    let store = stores.rate_limits;
    let scope = scope("unknown_key");
    let quota = Quota::every(Duration::from_secs(3), 2);
    for _ in 0..2 {
        store.spend(&scope, "spent", quota, NOW).await.unwrap();
    }
    store.spend(&scope, "idle", quota, NOW).await.unwrap();
    // At NOW + 4 s, "idle" is whole again (its time was NOW + 3 s), "spent" is not (NOW + 6 s).
    let later = NOW + 4 * SECOND;
    store.forget_idle(later).await.unwrap();
    assert_eq!(
        store.spend(&scope, "spent", quota, later).await.unwrap(),
        Decision::Allowed
    );
    assert_eq!(
        store.spend(&scope, "spent", quota, later).await.unwrap(),
        refused(2 * SECOND),
        "the spent budget was kept"
    );
    for _ in 0..2 {
        assert_eq!(
            store.spend(&scope, "idle", quota, later).await.unwrap(),
            Decision::Allowed,
            "the idle one is whole"
        );
    }
}
