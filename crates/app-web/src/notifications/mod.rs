//! Telling users that a run ended: the runner's [`RunEnded`] events become a job on the queue
//! (keyed by the run, so however many processes publish it, it is handled once); its worker
//! records a webhook delivery and queues its attempts (`delivery`), and emails the user about a
//! background run when they asked for it.
//!
//! Where the events come from: the runner publishes every run that ends in the request
//! (`background: false`), through [`QueuedRunEvents`], its `RunEvents` port. Whoever ends a
//! background run publishes the same event with `background: true` through
//! [`AppState::run_events`](crate::state::AppState::run_events).

pub mod delivery;

use std::sync::Arc;

use async_trait::async_trait;
use quickscale_adapters::jobs::Enqueue;
use quickscale_service_sdk::notify::webhook::WebhookEvent;
use quickscale_service_sdk::notify::{NewDelivery, RunEnded, RunEvents, RunResult};
use serde_json::json;

use crate::choices_cache::CachedChoices;
use crate::queue::{Job, Jobs};
use crate::state::AppState;

/// The `RunEvents` port of the app: queues each event for a user who asked to be told.
pub struct QueuedRunEvents {
    jobs: Jobs,
    choices: Arc<CachedChoices>,
}

impl std::fmt::Debug for QueuedRunEvents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("QueuedRunEvents")
    }
}

impl QueuedRunEvents {
    pub fn new(jobs: Jobs, choices: Arc<CachedChoices>) -> Self {
        QueuedRunEvents { jobs, choices }
    }
}

/// The key of a run's end on the queue: one job per run.
pub fn run_ended_key(event: &RunEnded) -> String {
    format!("run-ended:{}", event.run)
}

#[async_trait]
impl RunEvents for QueuedRunEvents {
    async fn run_ended(&self, event: &RunEnded) {
        // Most users ask for nothing: no write on the run's path, and no read either while
        // this process's copy of the choices is current (`choices_cache`).
        let wanted = match self.choices.wants(event.user).await {
            Ok(wants) => wants.webhook || (event.background && wants.email_background_runs),
            Err(error) => {
                tracing::warn!(%error, run = %event.run, "reading notification choices failed");
                true
            }
        };
        if !wanted {
            return;
        }
        let job = Job::RunEnded {
            event: event.clone(),
        };
        if let Err(error) = self
            .jobs
            .push(job, Enqueue::now().key(run_ended_key(event)))
            .await
        {
            tracing::error!(%error, run = %event.run, "queueing a run's notifications failed");
        }
    }
}

/// The worker's part: records the webhook delivery and queues its first attempt, and sends the
/// completion email of a background run. Each step is idempotent under the run's id, so a
/// repeat of the job (its worker died) sends no second webhook; the email may be stored again
/// only if the worker died between storing it and finishing the job.
pub async fn handle_run_ended(state: &AppState, event: &RunEnded) -> Result<(), String> {
    let store = &state.stores().notifications;
    let prefs = store
        .preferences(event.user)
        .await
        .map_err(|e| e.to_string())?;
    if let Some(endpoint) = &prefs.webhook {
        let payload = serde_json::to_string(&WebhookEvent::of(event)).map_err(|e| e.to_string())?;
        let delivery = NewDelivery {
            // One delivery per run (a run has one user): its id is the run's.
            id: event.run,
            user: event.user,
            event_id: quickscale_service_sdk::notify::webhook::event_id(event),
            event_type: event.result.event_type().to_owned(),
            payload,
            url: endpoint.url.clone(),
            created_at: state.clock().now(),
        };
        store
            .create_delivery(&delivery)
            .await
            .map_err(|e| e.to_string())?;
        delivery::queue_attempt(state, delivery.id, 1, None)
            .await
            .map_err(|e| e.to_string())?;
    }
    if event.background && prefs.email_background_runs {
        send_completion_email(state, event).await?;
    }
    Ok(())
}

async fn send_completion_email(state: &AppState, event: &RunEnded) -> Result<(), String> {
    let Some(user) = state
        .users()
        .by_id(event.user)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Ok(());
    };
    if !user.is_active {
        return Ok(());
    }
    let service = state
        .registry()
        .get(&event.service)
        .map_or_else(|| event.service.clone(), |r| r.descriptor.name.clone());
    let succeeded = event.result == RunResult::Succeeded;
    let context = json!({
        "name": user.greeting_name(),
        "app_name": state.config().app_name,
        "service": service,
        "succeeded": succeeded,
        "summary": event.summary,
        "error": event.error,
        "cost": crate::view::credits_label(event.cost),
        "link": format!("{}/usage", state.config().base_url),
        "settings": format!("{}/settings/notifications", state.config().base_url),
    });
    let subject = if succeeded {
        format!("{service} finished")
    } else {
        format!("{service} failed")
    };
    crate::mail::send_template(
        state,
        "run_finished",
        user.email.as_str(),
        &subject,
        &context,
    )
    .await;
    Ok(())
}
