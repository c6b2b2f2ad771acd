//! The notification store contract: users' choices and the webhook delivery log.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use quickscale_domain_credits::{Credits, IdempotencyKey};
use quickscale_domain_identity::{Role, UserId};
use quickscale_service_sdk::notify::{
    AttemptOutcome, DeliveryStatus, NewDelivery, NotificationPreferences, RunEnded, RunEvents,
    RunResult, WebhookEndpoint,
};
use quickscale_service_sdk::{CacheVersions, RunError, ServiceInput};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use uuid::Uuid;

use super::users::user;
use crate::Stores;

const NOW: OffsetDateTime = datetime!(2026-04-01 12:00:00 UTC);

async fn stored_user(stores: &Stores, email: &str) -> UserId {
    let user = user(email, "Hook owner", Role::User, 0);
    stores.users.insert(&user).await.unwrap();
    user.id
}

fn delivery(user: UserId, event: &str, minutes: i64) -> NewDelivery {
    NewDelivery {
        id: Uuid::now_v7(),
        user,
        event_id: event.into(),
        event_type: "run.succeeded".into(),
        payload: format!(r#"{{"id":"{event}"}}"#),
        url: "https://hooks.example.com/in".into(),
        created_at: NOW + Duration::minutes(minutes),
    }
}

fn attempt(minutes: i64, status_code: Option<u16>, replay: bool) -> AttemptOutcome {
    AttemptOutcome {
        at: NOW + Duration::minutes(minutes),
        status_code,
        error: match status_code {
            Some(200..=299) => None,
            Some(code) => Some(format!("the receiver answered {code}")),
            None => Some("connection refused".into()),
        },
        duration_ms: 12,
        replay,
    }
}

/// Asserts that the version of the users' choices moved on since `before` (and the services'
/// settings' did not); returns the new one.
async fn choices_changed(stores: &Stores, before: CacheVersions, what: &str) -> CacheVersions {
    let now = stores.cache_versions.versions().await.unwrap();
    assert!(
        now.notification_preferences > before.notification_preferences,
        "{what} moves the choices' version on: {before:?} then {now:?}"
    );
    assert_eq!(now.service_settings, before.service_settings, "{what}");
    now
}

pub(super) async fn notifications_preferences_round_trip_per_user(stores: Stores) {
    let store = &stores.notifications;
    let ann = stored_user(&stores, "ann@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let versions = stores.cache_versions.versions().await.unwrap();
    assert_eq!(
        store.preferences(ann).await.unwrap(),
        NotificationPreferences::default(),
        "no choice made: no webhook, no email"
    );
    assert_eq!(
        stores.cache_versions.versions().await.unwrap(),
        versions,
        "reading changes no version"
    );
    let endpoint = WebhookEndpoint {
        user: ann,
        url: "https://hooks.example.com/in".into(),
        secret_seed: "seed-1".into(),
        created_at: NOW,
    };
    store.set_webhook(&endpoint).await.unwrap();
    let versions = choices_changed(&stores, versions, "registering a webhook").await;
    store.set_email_background_runs(ann, true).await.unwrap();
    let versions = choices_changed(&stores, versions, "asking for the email").await;
    let prefs = store.preferences(ann).await.unwrap();
    assert_eq!(prefs.webhook.as_ref(), Some(&endpoint));
    assert!(prefs.email_background_runs);
    assert_eq!(
        store.preferences(bob).await.unwrap(),
        NotificationPreferences::default(),
        "another user's choices are apart"
    );

    // Replacing the endpoint (a new secret) keeps the email choice.
    let replaced = WebhookEndpoint {
        url: "http://other.example.com/hook".into(),
        secret_seed: "seed-2".into(),
        created_at: NOW + Duration::minutes(5),
        ..endpoint
    };
    store.set_webhook(&replaced).await.unwrap();
    let prefs = store.preferences(ann).await.unwrap();
    assert_eq!(prefs.webhook, Some(replaced));
    assert!(prefs.email_background_runs);

    let versions = choices_changed(&stores, versions, "replacing the webhook").await;
    assert!(store.remove_webhook(ann).await.unwrap());
    let versions = choices_changed(&stores, versions, "removing the webhook").await;
    assert!(!store.remove_webhook(ann).await.unwrap(), "removed once");
    let prefs = store.preferences(ann).await.unwrap();
    assert_eq!(prefs.webhook, None);
    assert!(prefs.email_background_runs, "the email choice stays");
    store.set_email_background_runs(ann, false).await.unwrap();
    choices_changed(&stores, versions, "switching the email off").await;
    assert!(!store.preferences(ann).await.unwrap().email_background_runs);

    // The email choice alone, with no webhook ever.
    store.set_email_background_runs(bob, true).await.unwrap();
    let prefs = store.preferences(bob).await.unwrap();
    assert!(prefs.email_background_runs);
    assert_eq!(prefs.webhook, None);
}

pub(super) async fn notifications_deliveries_are_once_per_event_and_log_every_attempt(
    stores: Stores,
) {
    let store = &stores.notifications;
    let ann = stored_user(&stores, "ann@example.com").await;
    let bob = stored_user(&stores, "bob@example.com").await;
    let first = delivery(ann, "evt_1", 0);
    assert!(store.create_delivery(&first).await.unwrap());
    let again = NewDelivery {
        id: Uuid::now_v7(),
        ..first.clone()
    };
    assert!(
        !store.create_delivery(&again).await.unwrap(),
        "one delivery per user and event"
    );
    assert!(store.delivery(again.id).await.unwrap().is_none());
    let stored = store.delivery(first.id).await.unwrap().expect("stored");
    assert_eq!(stored.delivery, first);
    assert_eq!(stored.status, DeliveryStatus::Pending);
    assert_eq!(stored.attempts, 0);

    // Fails, is scheduled again, succeeds, then a replay fails: the log keeps all four.
    let retry_at = NOW + Duration::minutes(2);
    let n = store
        .record_attempt(
            first.id,
            &attempt(1, Some(500), false),
            DeliveryStatus::Pending,
            Some(retry_at),
        )
        .await
        .unwrap();
    assert_eq!(n, 1);
    let n = store
        .record_attempt(
            first.id,
            &attempt(2, None, false),
            DeliveryStatus::Pending,
            Some(retry_at),
        )
        .await
        .unwrap();
    assert_eq!(n, 2);
    let pending = store.delivery(first.id).await.unwrap().unwrap();
    assert_eq!(pending.next_attempt_at, Some(retry_at));
    assert_eq!(pending.delivered_at, None);
    store
        .record_attempt(
            first.id,
            &attempt(3, Some(204), false),
            DeliveryStatus::Succeeded,
            None,
        )
        .await
        .unwrap();
    store
        .record_attempt(
            first.id,
            &attempt(4, Some(503), true),
            DeliveryStatus::Succeeded,
            None,
        )
        .await
        .unwrap();
    let done = store.delivery(first.id).await.unwrap().unwrap();
    assert_eq!(done.status, DeliveryStatus::Succeeded);
    assert_eq!(done.attempts, 4);
    assert_eq!(done.next_attempt_at, None);
    assert_eq!(
        done.delivered_at,
        Some(NOW + Duration::minutes(3)),
        "delivered when first answered 2xx, not moved by a later replay"
    );

    // Bob's event of the same id is his own delivery; the lists are per user, newest first.
    let bobs = delivery(bob, "evt_1", 1);
    assert!(store.create_delivery(&bobs).await.unwrap());
    let second = delivery(ann, "evt_2", 10);
    assert!(store.create_delivery(&second).await.unwrap());
    let listed = store.deliveries(ann, 10).await.unwrap();
    let ids: Vec<Uuid> = listed.iter().map(|(d, _)| d.delivery.id).collect();
    assert_eq!(ids, vec![second.id, first.id]);
    assert!(listed[0].1.is_empty(), "no attempt yet");
    let log = &listed[1].1;
    assert_eq!(
        log.iter().map(|a| a.number).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    assert_eq!(log[0].outcome, attempt(1, Some(500), false));
    assert_eq!(log[1].outcome.status_code, None);
    assert_eq!(log[1].outcome.error.as_deref(), Some("connection refused"));
    assert!(log[3].outcome.replay);
    assert_eq!(store.deliveries(ann, 1).await.unwrap().len(), 1);
    assert_eq!(
        store.deliveries(bob, 10).await.unwrap()[0].0.delivery.id,
        bobs.id
    );
}

pub(super) async fn notifications_concurrent_attempts_get_distinct_numbers(stores: Stores) {
    let ann = stored_user(&stores, "ann@example.com").await;
    let first = delivery(ann, "evt_1", 0);
    assert!(stores.notifications.create_delivery(&first).await.unwrap());
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let store = stores.notifications.clone();
            let id = first.id;
            tokio::spawn(async move {
                store
                    .record_attempt(
                        id,
                        &attempt(i, Some(500), true),
                        DeliveryStatus::Failed,
                        None,
                    )
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut numbers = Vec::new();
    for task in tasks {
        numbers.push(task.await.unwrap());
    }
    numbers.sort_unstable();
    assert_eq!(numbers, (1..=8).collect::<Vec<u32>>());
    let (_, log) = &stores.notifications.deliveries(ann, 1).await.unwrap()[0];
    assert_eq!(log.len(), 8);
}

/// The events a runner published.
#[derive(Default)]
struct Published(Mutex<Vec<RunEnded>>);

#[async_trait]
impl RunEvents for Published {
    async fn run_ended(&self, event: &RunEnded) {
        self.0.lock().unwrap().push(event.clone());
    }
}

pub(super) async fn runner_publishes_each_run_end_once(stores: Stores) {
    let (runner, user) = super::usage::runner_with_credits(&stores, 6).await;
    let published = Arc::new(Published::default());
    let runner = runner.with_events(published.clone());
    let key = |k: &str| IdempotencyKey::parse(k).unwrap();
    let text = |t: &str| ServiceInput::Text(t.into());

    let ok = runner
        .run(user, "moody", text("hi"), key("a"))
        .await
        .unwrap();
    let failed = runner
        .run(user, "moody", text("fail"), key("b"))
        .await
        .unwrap();
    let timed_out = runner
        .run(user, "moody", text("slow"), key("c"))
        .await
        .unwrap();
    // A replay is the same run: not announced again.
    let replayed = runner
        .run(user, "moody", text("hi"), key("a"))
        .await
        .unwrap();
    assert!(replayed.replayed);
    let second = runner
        .run(user, "moody", text("again"), key("d"))
        .await
        .unwrap();
    // Short of credits (none left for 3): nothing ran, nothing to announce.
    assert!(matches!(
        runner.run(user, "moody", text("hi"), key("e")).await,
        Err(RunError::Insufficient(_))
    ));

    let events = published.0.lock().unwrap().clone();
    let runs: Vec<_> = events.iter().map(|e| e.run).collect();
    assert_eq!(
        runs,
        [ok.run.id, failed.run.id, timed_out.run.id, second.run.id]
    );
    let first = &events[0];
    assert_eq!(first.user, user);
    assert_eq!(first.service, "moody");
    assert_eq!(first.result, RunResult::Succeeded);
    assert_eq!(first.status, "succeeded");
    assert_eq!(first.cost, Credits::whole(3));
    assert_eq!(first.summary.as_deref(), Some("HI"));
    assert_eq!(first.error, None);
    assert!(!first.background, "a run in the request");
    assert_eq!(Some(first.finished_at), ok.run.finished_at);
    for (event, status) in [(&events[1], "failed"), (&events[2], "timed_out")] {
        assert_eq!(event.result, RunResult::Failed);
        assert_eq!(event.status, status);
        assert_eq!(event.cost, Credits::ZERO, "refunded");
        assert!(event.error.is_some());
        assert_eq!(event.summary, None);
    }
}
