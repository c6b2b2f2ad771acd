//! Delivering a webhook: sign the stored payload with the endpoint's secret, post it, record the
//! attempt, and queue the next one after a growing wait until it is answered 2xx or the
//! attempts run out. Each attempt is a job keyed by the delivery and the attempt's number, so
//! however many processes run workers, each attempt is made once. A replay (the user's button)
//! is one more attempt, recorded in the same log, that schedules nothing.
//!
//! The signing secret is not stored: it is HMAC-SHA256 of the endpoint's random seed under the
//! app's `SECRET_KEY`, so a copy of the database alone cannot forge a webhook (docs/security.md).

use std::time::Duration;

use hmac::{KeyInit, Mac};
use quickscale_adapters::jobs::{Enqueue, JobError};
use quickscale_adapters::webhooks::SendError;
use quickscale_service_sdk::notify::webhook::{SIGNATURE_HEADER, sign};
use quickscale_service_sdk::notify::{AttemptOutcome, DeliveryStatus, WebhookDelivery};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::queue::Job;
use crate::state::AppState;

/// Attempts in all (the first, then retries), before a delivery is left failed.
pub const MAX_ATTEMPTS: u32 = 8;

/// The longest wait between two attempts.
pub const LONGEST_WAIT: Duration = Duration::from_secs(6 * 3600);

/// How long a receiver has to answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// The wait after the `failed`-th failed attempt: `first`, then four times longer each time,
/// at most [`LONGEST_WAIT`].
pub fn retry_delay(first: Duration, failed: u32) -> Duration {
    let factor = 4u32.saturating_pow(failed.saturating_sub(1));
    first.saturating_mul(factor).min(LONGEST_WAIT)
}

/// The signing secret of an endpoint whose seed is `seed` (shown to the user once, when made).
pub fn signing_secret(secret_key: &str, seed: &str) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret_key.as_bytes())
        .expect("HMAC takes any key");
    mac.update(b"quickscale webhook secret:");
    mac.update(seed.as_bytes());
    format!("whsec_{}", hex::encode(mac.finalize().into_bytes()))
}

/// The key of a delivery's `attempt`-th automatic attempt.
pub fn attempt_key(id: Uuid, attempt: u32) -> String {
    format!("hook:{id}:{attempt}")
}

/// Queues the `attempt`-th automatic attempt of delivery `id`, not before `at` (now if `None`).
pub async fn queue_attempt(
    state: &AppState,
    id: Uuid,
    attempt: u32,
    at: Option<OffsetDateTime>,
) -> Result<(), JobError> {
    let mut options = Enqueue::now().key(attempt_key(id, attempt)).attempts(1);
    if let Some(at) = at {
        options = options.at(at);
    }
    state
        .jobs()
        .push(Job::DeliverWebhook { id, attempt }, options)
        .await
}

/// The `attempt`-th automatic attempt of delivery `id` (a job).
pub async fn attempt(state: &AppState, id: Uuid, attempt: u32) -> Result<(), String> {
    let store = &state.stores().notifications;
    let Some(delivery) = store.delivery(id).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    // Answered already (by an earlier attempt or a replay), or given up on.
    if delivery.status != DeliveryStatus::Pending {
        return Ok(());
    }
    let (outcome, retryable) = send(state, &delivery, false).await;
    let (status, next) = if outcome.succeeded() {
        (DeliveryStatus::Succeeded, None)
    } else if attempt < MAX_ATTEMPTS && retryable {
        let wait = retry_delay(state.config().webhooks.first_retry, attempt);
        (DeliveryStatus::Pending, Some(outcome.at + wait))
    } else {
        (DeliveryStatus::Failed, None)
    };
    store
        .record_attempt(id, &outcome, status, next)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(next) = next {
        queue_attempt(state, id, attempt + 1, Some(next))
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// A replay the user asked for: one attempt, recorded in the delivery's log. A success ends the
/// automatic attempts; a failure changes nothing else.
pub async fn replay(state: &AppState, id: Uuid) -> Result<(), String> {
    let store = &state.stores().notifications;
    let Some(delivery) = store.delivery(id).await.map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let (outcome, _) = send(state, &delivery, true).await;
    let (status, next) = if outcome.succeeded() {
        (DeliveryStatus::Succeeded, None)
    } else {
        (delivery.status, delivery.next_attempt_at)
    };
    store
        .record_attempt(id, &outcome, status, next)
        .await
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Signs and posts the delivery's payload to the user's endpoint now; never fails: the outcome
/// says what happened, and the flag whether a later attempt may go better (not for an address
/// refused as private, nor without an endpoint).
async fn send(
    state: &AppState,
    delivery: &WebhookDelivery,
    replay: bool,
) -> (AttemptOutcome, bool) {
    let at = state.clock().now();
    let outcome =
        |status_code: Option<u16>, error: Option<String>, duration_ms: u64| AttemptOutcome {
            at,
            status_code,
            error,
            duration_ms,
            replay,
        };
    let endpoint = match state
        .stores()
        .notifications
        .preferences(delivery.delivery.user)
        .await
    {
        Ok(prefs) => prefs.webhook,
        Err(error) => return (outcome(None, Some(format!("not sent: {error}")), 0), true),
    };
    let Some(endpoint) = endpoint else {
        let removed = outcome(None, Some("the webhook endpoint was removed".into()), 0);
        return (removed, false);
    };
    let secret = signing_secret(state.config().secret_key.expose(), &endpoint.secret_seed);
    let body = delivery.delivery.payload.clone().into_bytes();
    let timestamp = OffsetDateTime::now_utc().unix_timestamp();
    let headers = [
        (SIGNATURE_HEADER, sign(&secret, timestamp, &body)),
        ("QuickScale-Event", delivery.delivery.event_type.clone()),
        ("QuickScale-Event-Id", delivery.delivery.event_id.clone()),
        ("Idempotency-Key", delivery.delivery.event_id.clone()),
    ];
    let started = std::time::Instant::now();
    let elapsed = || u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match state.webhooks().post(&endpoint.url, &headers, body).await {
        Ok(answer) if (200..300).contains(&answer.status) => {
            (outcome(Some(answer.status), None, elapsed()), true)
        }
        Ok(answer) => {
            let error = format!("the receiver answered {}", answer.status);
            (outcome(Some(answer.status), Some(error), elapsed()), true)
        }
        Err(error @ (SendError::Failed(_) | SendError::Unresolved(_))) => {
            (outcome(None, Some(error.to_string()), elapsed()), true)
        }
        Err(error) => (
            outcome(None, Some(format!("not sent: {error}")), elapsed()),
            false,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_grow_fourfold_and_are_bounded() {
        let first = Duration::from_secs(30);
        let waits: Vec<u64> = (1..MAX_ATTEMPTS)
            .map(|n| retry_delay(first, n).as_secs())
            .collect();
        assert_eq!(waits, [30, 120, 480, 1920, 7680, 21600, 21600]);
        assert_eq!(retry_delay(first, u32::MAX), LONGEST_WAIT);
    }

    #[test]
    fn secrets_differ_per_seed_and_per_app_key() {
        let a = signing_secret("key-one", "seed");
        assert!(a.starts_with("whsec_") && a.len() == 6 + 64);
        assert_eq!(a, signing_secret("key-one", "seed"));
        assert_ne!(a, signing_secret("key-one", "other seed"));
        assert_ne!(a, signing_secret("key-two", "seed"));
    }
}
