//! The workers: what each job does, the chores' schedules, and running them (in `serve`, in
//! `worker`, and in tests). Every process with workers ticks at the same instants (apalis'
//! scheduler); a tick pushes its chore under a key made of the chore and the instant, so the
//! chore is queued once and run once however many processes tick. The sweeps push a job per due
//! email (or webhook event) under a key made of its id and its attempt count: one job per
//! attempt, whichever process sweeps.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use quickscale_adapters::jobs::{Enqueue, Every, JobAttempt, JobHandler, OnTick, run_schedule};
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::observability::JobOutcome;
use crate::queue::{Chore, Job, email_key, webhook_key};
use crate::state::AppState;

struct Handler(AppState);

#[async_trait]
impl JobHandler<Job> for Handler {
    async fn handle(&self, job: Job) -> Result<(), String> {
        let attempt = JobAttempt {
            number: 1,
            max: 1,
            trace: None,
        };
        self.handle_attempt(job, attempt).await
    }

    /// Runs the job in a `job` span (continuing the trace of what queued it, when traces are
    /// on) and counts its outcome (and time) by kind.
    async fn handle_attempt(&self, job: Job, attempt: JobAttempt) -> Result<(), String> {
        let kind = job.kind();
        let span = tracing::info_span!(
            "job",
            otel.name = %format_args!("job {kind}"),
            kind,
            attempt = attempt.number,
        );
        if let Some(context) = &attempt.trace
            && crate::observability::tracing_on()
        {
            crate::observability::continue_trace(&span, context);
        }
        let started = std::time::Instant::now();
        let result = run_job(&self.0, job).instrument(span).await;
        crate::observability::count_job(kind, &result, &attempt, started.elapsed());
        result.map(|_| ())
    }
}

async fn run_job(state: &AppState, job: Job) -> Result<JobOutcome, String> {
    match job {
        Job::DeliverEmail { id } => {
            state.outbox_mailer().deliver(id).await;
            Ok(JobOutcome::Succeeded)
        }
        Job::ProcessWebhookEvent { id } => {
            let Some(billing) = state.billing() else {
                return Ok(JobOutcome::Succeeded);
            };
            // A failure is recorded on the event (with its next attempt), and the sweep
            // queues the next attempt when it is due.
            if let Err(error) = crate::payments::process(state, billing, &id).await {
                tracing::warn!(event = %id, %error, "webhook event failed; will retry");
                return Ok(JobOutcome::Failed);
            }
            Ok(JobOutcome::Succeeded)
        }
        Job::Chore { chore } => {
            run_chore(state, chore).await;
            Ok(JobOutcome::Succeeded)
        }
        Job::ServiceRun { job } => {
            let run = job.run;
            match state.runner().work_background(job).await {
                Ok(_) => Ok(JobOutcome::Succeeded),
                // The run is still queued or running: the queue tries again.
                Err(error) => {
                    tracing::warn!(run = %run, %error, "a background run could not end");
                    Err(error.to_string())
                }
            }
        }
        Job::RunEnded { event } => crate::notifications::handle_run_ended(state, &event)
            .await
            .map(|()| JobOutcome::Succeeded),
        Job::DeliverWebhook { id, attempt } => {
            crate::notifications::delivery::attempt(state, id, attempt)
                .await
                .map(|()| JobOutcome::Succeeded)
        }
        Job::ReplayWebhook { id, .. } => crate::notifications::delivery::replay(state, id)
            .await
            .map(|()| JobOutcome::Succeeded),
    }
}

async fn run_chore(state: &AppState, chore: Chore) {
    match chore {
        Chore::SweepOutbox => sweep_outbox(state).await,
        Chore::SweepWebhookInbox => sweep_webhook_inbox(state).await,
        Chore::Reconcile => {
            let Some(billing) = state.billing() else {
                return;
            };
            match billing.billing.reconcile(100).await {
                Ok(report) if report.missing > 0 => tracing::warn!(
                    missing = report.missing,
                    processed = report.processed,
                    failed = report.failed,
                    "reconciliation found events the inbox missed"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "reconciliation failed"),
            }
        }
        Chore::DeleteExpiredSessions => {
            let now = state.clock().now();
            match state.stores().sessions.admin().delete_expired(now).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "expired sessions removed"),
                Err(error) => tracing::warn!(%error, "removing expired sessions failed"),
            }
        }
        Chore::RecoverInterruptedRuns => recover_interrupted_runs(state).await,
        Chore::ForgetSignInFailures => {
            if let Err(error) = state.accounts().forget_spent_sign_in_failures().await {
                tracing::warn!(%error, "forgetting old failed sign-ins failed");
            }
        }
        Chore::ForgetFinishedJobs => {
            let before = time::OffsetDateTime::now_utc() - crate::queue::FINISHED_JOBS_KEPT;
            match state.jobs().queue().forget_finished(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(deleted = n, "old done jobs removed from the queue"),
                Err(error) => tracing::warn!(%error, "removing old done jobs failed"),
            }
        }
        Chore::ForgetIdleRateLimits => {
            // Budgets kept in each process are that process's chore (`spawn_local_chores`).
            if state.limits().sharing != crate::limits::Sharing::Process {
                state.limits().forget_idle_budgets().await;
            }
        }
    }
}

/// Queues a delivery for each due email, keyed by its attempts: a message already queued for
/// this attempt (by the sender, or by another process's sweep) is not queued again.
async fn sweep_outbox(state: &AppState) {
    let due = match state.stores().outbox.due(state.clock().now(), 200).await {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, "reading the email outbox failed");
            return;
        }
    };
    for message in due {
        let job = Job::DeliverEmail { id: message.id };
        let key = email_key(message.id, message.attempts);
        if let Err(error) = state.jobs().push(job, Enqueue::now().key(key)).await {
            tracing::warn!(%error, "queueing an email delivery failed");
        }
    }
}

async fn sweep_webhook_inbox(state: &AppState) {
    let Some(billing) = state.billing() else {
        return;
    };
    let due = match billing
        .billing
        .repository()
        .due_events(state.clock().now(), 200)
        .await
    {
        Ok(due) => due,
        Err(error) => {
            tracing::warn!(%error, "reading the webhook inbox failed");
            return;
        }
    };
    for event in due {
        let key = webhook_key(&event.event.id, event.attempts);
        let job = Job::ProcessWebhookEvent { id: event.event.id };
        if let Err(error) = state.jobs().push(job, Enqueue::now().key(key)).await {
            tracing::warn!(%error, "queueing a webhook event failed");
        }
    }
}

/// The longest time a registered service may run.
pub(super) fn longest_timeout(state: &AppState) -> Duration {
    state
        .registry()
        .iter()
        .map(|r| r.descriptor.timeout)
        .max()
        .unwrap_or_default()
}

/// Ends and refunds the runs a previous process stopped in the middle of (a crash): those still
/// running five minutes past the longest timeout, which no live process can still be running.
async fn recover_interrupted_runs(state: &AppState) {
    let cutoff = state.clock().now() - longest_timeout(state) - Duration::from_secs(300);
    match state.runner().recover_interrupted(cutoff).await {
        Ok(0) => {}
        Ok(n) => tracing::warn!(runs = n, "interrupted service runs ended and refunded"),
        Err(error) => tracing::warn!(%error, "ending interrupted service runs failed"),
    }
}

/// A schedule whose tick pushes `chore` under the tick's key.
fn chore_schedule(state: &AppState, chore: Chore) -> OnTick {
    let state = state.clone();
    OnTick::new(move |tick| {
        let state = state.clone();
        Box::pin(async move {
            let key = format!("chore:{}:{tick}", chore.name());
            if let Err(error) = state
                .jobs()
                .push(Job::Chore { chore }, Enqueue::now().key(key).attempts(1))
                .await
            {
                tracing::warn!(%error, chore = chore.name(), "queueing a chore failed");
            }
        })
    })
}

/// The work every process that serves requests does for itself, on apalis' scheduler whether or
/// not the process runs workers: forgetting the API keys it saw authenticate that have been idle
/// for an hour, and, with `RATE_LIMITS=process`, its own idle budgets. Budgets in a shared store
/// are forgotten by the queue's chore (`Chore::ForgetIdleRateLimits`), once per tick for every
/// instance.
pub fn spawn_local_chores(
    state: &AppState,
    stop: CancellationToken,
) -> tokio::task::JoinHandle<()> {
    let state = state.clone();
    tokio::spawn(async move {
        let on_tick = OnTick::new(move |_| {
            let state = state.clone();
            Box::pin(async move { state.limits().forget_idle_here().await })
        });
        let stopped = stop.clone();
        if let Err(error) = run_schedule(
            "forget-idle-clients",
            Every(Duration::from_secs(3600)),
            on_tick,
            async move { stopped.cancelled().await },
        )
        .await
        {
            tracing::warn!(%error, "the idle-client schedule stopped");
        }
    })
}

/// Runs the workers and the chores' schedules until `stop` is cancelled, then waits for the
/// jobs in hand to finish (and be recorded).
pub async fn run_workers(state: AppState, stop: CancellationToken) {
    let mut tasks = tokio::task::JoinSet::new();
    for chore in Chore::ALL
        .into_iter()
        .filter(|c| c.applies_to(state.jobs().queue()))
    {
        let on_tick = chore_schedule(&state, chore);
        let stopped = stop.clone();
        tasks.spawn(async move {
            if let Err(error) =
                run_schedule(chore.name(), Every(chore.every()), on_tick, async move {
                    stopped.cancelled().await
                })
                .await
            {
                tracing::warn!(%error, chore = chore.name(), "a chore's schedule stopped");
            }
        });
    }
    let jobs = state.jobs().clone();
    let handler: Arc<dyn JobHandler<Job>> = Arc::new(Handler(state.clone()));
    let stopped = stop.clone();
    tasks.spawn(async move {
        let concurrency = jobs.settings().concurrency;
        if let Err(error) = jobs
            .queue()
            .work(
                concurrency,
                handler,
                async move { stopped.cancelled().await },
            )
            .await
        {
            tracing::error!(%error, "the job worker stopped");
        }
    });
    while tasks.join_next().await.is_some() {}
}
