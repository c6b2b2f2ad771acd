//! The app's job queue, as the rest of the app sees it: the jobs there are, and pushing one. A
//! job is claimed by one worker, whichever process it runs in, so two instances on one database
//! deliver each email and process each event once. The workers, and the schedules that push the
//! chores, are in the composition root (`app/workers.rs`).

use std::time::Duration;

use async_trait::async_trait;
use quickscale_adapters::jobs::{Enqueue, JobError, JobQueue};
use quickscale_domain_kernel::{StorageError, StorageFailure};
use quickscale_service_sdk::{BackgroundJob, RunQueue};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::JobSettings;

/// The queue's name in the database.
pub const QUEUE: &str = "quickscale";

/// One unit of background work.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Job {
    /// Deliver one stored email (the outbox keeps the record).
    DeliverEmail { id: Uuid },
    /// Process one stored webhook event whose first processing failed.
    ProcessWebhookEvent { id: String },
    /// A scheduled chore.
    Chore { chore: Chore },
    /// Run one background service run (queued, its credits held), keyed `run:<id>`.
    ServiceRun { job: BackgroundJob },
    /// A run ended: record its webhook delivery and send its completion email (keyed by the
    /// run: `notifications::run_ended_key`).
    RunEnded {
        event: quickscale_service_sdk::notify::RunEnded,
    },
    /// The `attempt`-th automatic attempt of a webhook delivery (keyed by both).
    DeliverWebhook { id: Uuid, attempt: u32 },
    /// A replay of a webhook delivery the user asked for (`request` makes each click a job).
    ReplayWebhook { id: Uuid, request: Uuid },
}

impl Job {
    /// The job's kind, as metrics label it: the variant, or the chore's name.
    pub fn kind(&self) -> &'static str {
        match self {
            Job::DeliverEmail { .. } => "deliver_email",
            Job::ProcessWebhookEvent { .. } => "process_webhook_event",
            Job::Chore { chore } => chore.name(),
            Job::ServiceRun { .. } => "service_run",
            Job::RunEnded { .. } => "run_ended",
            Job::DeliverWebhook { .. } => "deliver_webhook",
            Job::ReplayWebhook { .. } => "replay_webhook",
        }
    }
}

/// The scheduled chores, each run once per tick across every process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Chore {
    /// Queue a delivery for every due email (new ones whose job was lost, retries).
    SweepOutbox,
    /// Queue processing for every due webhook event (failed ones whose retry time has come).
    SweepWebhookInbox,
    /// Fetch the processor's recent events and process those the inbox missed.
    Reconcile,
    /// Delete expired browser sessions.
    DeleteExpiredSessions,
    /// End and refund runs a crashed process left running.
    RecoverInterruptedRuns,
    /// Forget failed sign-ins too old to count.
    ForgetSignInFailures,
    /// Forget the rate-limit budgets that are whole again, when they are kept in the database
    /// (shared by every instance; a process that keeps its own forgets them itself).
    ForgetIdleRateLimits,
    /// Delete the done jobs older than [`FINISHED_JOBS_KEPT`], when the queue is in Redis (it
    /// keeps them in memory; the SQL queues keep their rows, and do not schedule this chore).
    ForgetFinishedJobs,
}

/// How long a Redis queue keeps its done jobs (listed on Admin > Jobs).
pub const FINISHED_JOBS_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);

impl Chore {
    pub fn name(self) -> &'static str {
        match self {
            Chore::SweepOutbox => "sweep_outbox",
            Chore::SweepWebhookInbox => "sweep_webhook_inbox",
            Chore::Reconcile => "reconcile",
            Chore::DeleteExpiredSessions => "delete_expired_sessions",
            Chore::RecoverInterruptedRuns => "recover_interrupted_runs",
            Chore::ForgetSignInFailures => "forget_sign_in_failures",
            Chore::ForgetIdleRateLimits => "forget_idle_rate_limits",
            Chore::ForgetFinishedJobs => "forget_finished_jobs",
        }
    }

    /// How often the chore runs.
    pub fn every(self) -> Duration {
        match self {
            Chore::SweepOutbox | Chore::SweepWebhookInbox => Duration::from_secs(10),
            _ => Duration::from_secs(3600),
        }
    }

    /// Whether the chore has work to do on `queue`.
    pub fn applies_to(self, queue: &JobQueue<Job>) -> bool {
        self != Chore::ForgetFinishedJobs || queue.is_redis()
    }

    pub const ALL: [Chore; 8] = [
        Chore::SweepOutbox,
        Chore::SweepWebhookInbox,
        Chore::Reconcile,
        Chore::DeleteExpiredSessions,
        Chore::RecoverInterruptedRuns,
        Chore::ForgetSignInFailures,
        Chore::ForgetIdleRateLimits,
        Chore::ForgetFinishedJobs,
    ];
}

/// The app's queue: pushing from any process, working in those that run workers.
#[derive(Clone, Debug)]
pub struct Jobs {
    queue: JobQueue<Job>,
    settings: JobSettings,
}

impl Jobs {
    /// The app's queue over `queue` (the composition root picks its backend).
    pub fn new(queue: JobQueue<Job>, settings: JobSettings) -> Self {
        Jobs { queue, settings }
    }

    /// Pushes `job`; the key, when given, makes a second push of the same work do nothing.
    /// With traces on, the job carries the current span's context, so that its run continues
    /// this trace.
    pub async fn push(&self, job: Job, options: Enqueue) -> Result<(), JobError> {
        let options = match crate::observability::current_traceparent() {
            Some(context) => options.trace(context),
            None => options,
        };
        self.queue.push(job, options).await
    }

    /// The queue (for tests and the benchmark).
    pub fn queue(&self) -> &JobQueue<Job> {
        &self.queue
    }

    /// The settings workers run with.
    pub fn settings(&self) -> JobSettings {
        self.settings
    }
}

/// The key of an email's delivery at its `attempts`-th failure count: one job per attempt.
pub fn email_key(id: Uuid, attempts: u32) -> String {
    format!("email:{id}:{attempts}")
}

pub fn webhook_key(id: &str, attempts: u32) -> String {
    format!("webhook:{id}:{attempts}")
}

/// The key of a background run's job: one job per run.
pub fn run_key(id: Uuid) -> String {
    format!("run:{id}")
}

/// Background service runs go to the app's queue, one job per run.
#[async_trait]
impl RunQueue for Jobs {
    async fn enqueue(&self, job: BackgroundJob) -> Result<(), StorageError> {
        let key = run_key(job.run);
        // A run is not retried by the queue after its attempts: a worker that died leaves it
        // running, the queue hands it to another worker (a retry), and after the last attempt
        // the recovery chore ends it and releases its hold.
        self.push(Job::ServiceRun { job }, Enqueue::now().key(key).attempts(3))
            .await
            .map_err(|e| StorageError::new(StorageFailure::Unavailable, e.to_string()))
    }
}
