//! Service runs: the usage record and its store.

use async_trait::async_trait;
use quickscale_domain_credits::{Credits, EntryId, IdempotencyKey};
use quickscale_domain_identity::{ApiKeyId, UserId};
use quickscale_domain_kernel::StorageError;
use serde::Serialize;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::ServiceOutput;
use crate::caps::MonthSpend;

/// Where a run stands.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum RunStatus {
    /// Charged (or, for a background run, its credits held) and executing.
    Running,
    /// The service returned its output; the charge stands.
    Succeeded,
    /// The service returned an error; the charge was refunded.
    Failed,
    /// The service ran past its timeout; the charge was refunded.
    TimedOut,
    /// Not enough credits; nothing was charged and nothing ran.
    Rejected,
    /// A background run waiting for a worker; its credits are held.
    Queued,
    /// A background run its user cancelled; its hold was released in full.
    Cancelled,
}

impl RunStatus {
    /// Every status, for parsing and for filters.
    pub const ALL: [RunStatus; 7] = [
        RunStatus::Running,
        RunStatus::Succeeded,
        RunStatus::Failed,
        RunStatus::TimedOut,
        RunStatus::Rejected,
        RunStatus::Queued,
        RunStatus::Cancelled,
    ];

    /// The name stored in the database and used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Succeeded => "succeeded",
            RunStatus::Failed => "failed",
            RunStatus::TimedOut => "timed_out",
            RunStatus::Rejected => "rejected",
            RunStatus::Queued => "queued",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// The status stored under `text`; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Whether the run is over: only a queued or running run may still be finished.
    pub fn is_final(self) -> bool {
        !matches!(self, RunStatus::Running | RunStatus::Queued)
    }
}

/// How far a background run has come, as its service last reported.
#[derive(Clone, PartialEq, Eq, Debug, Serialize)]
pub struct Progress {
    /// Thousandths done, 0 to 1000.
    pub permille: u16,
    /// What it is doing, in a few words (at most [`Progress::MAX_MESSAGE`] characters).
    pub message: String,
}

impl Progress {
    /// The longest message kept; longer ones are cut.
    pub const MAX_MESSAGE: usize = 200;

    /// Progress at `fraction` (clamped to 0..=1; not a number counts as 0) with `message`
    /// (cut to [`Progress::MAX_MESSAGE`] characters, NUL removed).
    pub fn new(fraction: f32, message: &str) -> Self {
        let fraction = if fraction.is_nan() {
            0.0
        } else {
            fraction.clamp(0.0, 1.0)
        };
        // In 0..=1000 after the clamp, so the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let permille = (fraction * 1000.0).round() as u16;
        let message: String = crate::io::without_nul(message)
            .chars()
            .take(Self::MAX_MESSAGE)
            .collect();
        Progress { permille, message }
    }

    /// The fraction done, 0 to 1.
    pub fn fraction(&self) -> f32 {
        f32::from(self.permille) / 1000.0
    }

    /// Whole percent done, for people.
    pub fn percent(&self) -> u16 {
        self.permille / 10
    }
}

/// One run of a service by a user.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ServiceRun {
    /// Its id, time-ordered; the charge's idempotency key derives from it.
    pub id: Uuid,
    /// Who ran it, and whose credits paid.
    pub user: UserId,
    /// The service's slug.
    pub service: String,
    /// The caller's key: the same key is one run, however often it is submitted.
    pub key: IdempotencyKey,
    /// Where it stands.
    pub status: RunStatus,
    /// What the run was charged (zero for free services and rejected runs); for a background
    /// run not yet ended, what is held.
    pub cost: Credits,
    /// The credit entry of the charge (for a background run, of the hold).
    pub charge: Option<EntryId>,
    /// What was given back when the run failed (for a background run: what its hold gave back).
    pub refunded: Credits,
    /// The user's balance once the run ended (after a refund), when the ledger was reached.
    pub balance_after: Option<Credits>,
    /// The size of the input, for statistics (the input itself is not kept).
    pub input_bytes: u64,
    /// How long the service ran, once it ended.
    pub duration_ms: Option<u64>,
    /// What a successful run produced, shown again on the run's page and by the API.
    pub output: Option<ServiceOutput>,
    /// Why the run failed, in words safe to show its user.
    pub error: Option<String>,
    /// Whether it runs in the request or on the job queue.
    pub mode: crate::RunMode,
    /// A background run's last reported progress.
    pub progress: Option<Progress>,
    /// When it was claimed.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended; `None` while running.
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// The API key it was requested with; `None` for a run from the pages.
    pub api_key: Option<ApiKeyId>,
}

/// How a run ended, written once.
#[derive(Clone, PartialEq, Debug)]
pub struct RunEnd {
    /// See [`ServiceRun::status`]; never [`RunStatus::Running`].
    pub status: RunStatus,
    /// See [`ServiceRun::cost`].
    pub cost: Credits,
    /// See [`ServiceRun::charge`].
    pub charge: Option<EntryId>,
    /// See [`ServiceRun::refunded`].
    pub refunded: Credits,
    /// See [`ServiceRun::balance_after`].
    pub balance_after: Option<Credits>,
    /// See [`ServiceRun::duration_ms`].
    pub duration_ms: u64,
    /// See [`ServiceRun::output`].
    pub output: Option<ServiceOutput>,
    /// See [`ServiceRun::error`].
    pub error: Option<String>,
    /// See [`ServiceRun::finished_at`].
    pub finished_at: OffsetDateTime,
}

/// A filter over a user's runs, newest first.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct RunQuery {
    /// Only runs of this service (its slug).
    pub service: Option<String>,
    /// Only runs in this state.
    pub status: Option<RunStatus>,
    /// How many of the newest matches to skip (for pages).
    pub offset: u64,
    /// The most runs to return.
    pub limit: u32,
}

/// Result of claiming a key.
#[derive(Clone, PartialEq, Debug)]
pub enum Claim {
    /// The run is new and now recorded as running.
    Started,
    /// A run with this key exists already.
    Existing(Box<ServiceRun>),
}

/// The fields of a run that statistics need.
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RunSample {
    /// See [`ServiceRun::service`].
    pub service: String,
    /// See [`ServiceRun::user`].
    pub user: UserId,
    /// See [`ServiceRun::status`].
    pub status: RunStatus,
    /// See [`ServiceRun::cost`].
    pub cost: Credits,
    /// See [`ServiceRun::duration_ms`].
    pub duration_ms: Option<u64>,
    /// See [`ServiceRun::started_at`].
    pub started_at: OffsetDateTime,
}

/// What matching runs with the ledger needs of a run (see [`crate::charges`]).
#[derive(Clone, PartialEq, Eq, Debug)]
pub struct RunCharge {
    /// See [`ServiceRun::id`].
    pub id: Uuid,
    /// See [`ServiceRun::status`].
    pub status: RunStatus,
    /// See [`ServiceRun::cost`].
    pub cost: Credits,
    /// See [`ServiceRun::charge`].
    pub charge: Option<EntryId>,
    /// See [`ServiceRun::refunded`].
    pub refunded: Credits,
}

/// The idempotency key of a run's charge: one run is charged at most once.
pub fn charge_key(run: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(format!("run:{run}")).expect("a UUID key is printable and short")
}

/// The idempotency key of the settling of a background run's hold.
pub fn settle_key(run: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(format!("run-settle:{run}")).expect("a UUID key is printable and short")
}

/// The idempotency key of the release of a background run's hold.
pub fn release_key(run: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(format!("run-release:{run}")).expect("a UUID key is printable and short")
}

/// The idempotency key of the reversal of a run's charge.
pub fn refund_key(run: Uuid) -> IdempotencyKey {
    IdempotencyKey::parse(format!("run-refund:{run}")).expect("a UUID key is printable and short")
}

/// The usage store.
#[cfg_attr(test, mockall::automock)]
#[async_trait]
pub trait ServiceUsageRepository: Send + Sync {
    /// Records `run` as running, unless the user already has a run with its key
    /// (a unique index decides).
    async fn claim(&self, run: &ServiceRun) -> Result<Claim, StorageError>;
    /// Writes how a queued or running run ended; a run already ended is left as it is.
    async fn finish(&self, id: Uuid, end: &RunEnd) -> Result<(), StorageError>;
    /// A queued run starts: it becomes running (a running one stays so: a worker that died left
    /// it). Returns the run as it is now (`None` if there is none); a run already ended is
    /// returned unchanged, and must not run.
    async fn start(&self, id: Uuid) -> Result<Option<ServiceRun>, StorageError>;
    /// Records a running background run's progress. Returns false (and records nothing) when
    /// the run is no longer queued or running: it was cancelled, or ended elsewhere.
    async fn progress(&self, id: Uuid, progress: &Progress) -> Result<bool, StorageError>;
    /// One of the user's runs; another user's run reads as `None`.
    async fn get(&self, user: UserId, id: Uuid) -> Result<Option<ServiceRun>, StorageError>;
    /// The user's runs matching the filter, newest first.
    async fn list(&self, user: UserId, query: &RunQuery) -> Result<Vec<ServiceRun>, StorageError>;
    /// Runs of every user started at or after `since`, newest first, at most `limit`.
    async fn samples_since(
        &self,
        since: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<RunSample>, StorageError>;
    /// Runs still marked running (or, for background runs, still queued) that started before
    /// `before`, oldest first, at most `limit`: runs an app stopped in the middle of, and
    /// background runs whose job was lost or waited past every timeout (see
    /// [`crate::ServiceRunner::recover_interrupted`]).
    async fn unfinished(
        &self,
        before: OffsetDateTime,
        limit: u32,
    ) -> Result<Vec<ServiceRun>, StorageError>;
    /// A page of one user's runs in id order (run ids are time-ordered UUIDs), those after
    /// `after`, at most `limit`: what checking them against the ledger needs, and nothing more.
    async fn charges(
        &self,
        user: UserId,
        after: Option<Uuid>,
        limit: u32,
    ) -> Result<Vec<RunCharge>, StorageError>;
    /// What the user's runs requested through the API spent since `since` (the start of a
    /// month, [`crate::caps::month_start`]): all their keys together, and `key`'s alone.
    async fn month_spend(
        &self,
        user: UserId,
        key: ApiKeyId,
        since: OffsetDateTime,
    ) -> Result<MonthSpend, StorageError>;
}
