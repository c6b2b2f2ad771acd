//! The job queue: [apalis] on the app's own database (the SQLite file, or PostgreSQL), or in
//! Redis ([`JobQueue::redis`]), so a job pushed by any process is run once by whichever worker
//! claims it first, and a job whose worker died is handed to another once the dead worker's
//! heartbeats stop. Periodic work runs on apalis' scheduler: every process ticks at the same
//! wall-clock instants and pushes the tick's job under one idempotency key, so however many
//! processes run, each tick runs once.
//!
//! The tables are created by the app's own migrations (0011), which carry apalis' schema.

mod redis_storage;

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use apalis::prelude::{
    Attempt, BackendExt, BoxDynError, Data, FromRequest, MetadataStore, PollSnapshot, PollStrategy,
    Task, TaskBuilder, TaskSink, TaskSinkError, WorkerBuilder, WorkerBuilderExt,
};
use apalis_cron::{CronScheduler, Schedule, Tick, timezone::Utc};
use apalis_postgres::PostgresStorage;
use apalis_sqlite::SqliteStorage;
use async_trait::async_trait;
use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

/// A failure of the queue itself (its database), not of a job.
#[derive(Debug, thiserror::Error)]
#[error("job queue: {0}")]
pub struct JobError(String);

impl JobError {
    fn of(error: impl std::fmt::Display) -> Self {
        JobError(error.to_string())
    }
}

/// How workers poll and prove they are alive.
#[derive(Debug, Clone, Copy)]
pub struct QueueSettings {
    /// How long an idle worker waits before looking for due jobs again.
    pub poll_interval: Duration,
    /// How often a worker records that it is alive; a job whose worker missed two heartbeats
    /// goes back to the queue.
    pub heartbeat: Duration,
    /// How many due jobs a worker claims at once.
    pub batch_size: usize,
}

impl Default for QueueSettings {
    fn default() -> Self {
        QueueSettings {
            poll_interval: Duration::from_millis(500),
            heartbeat: Duration::from_secs(30),
            batch_size: 10,
        }
    }
}

/// The metadata key under which a job carries the trace context of the work that pushed it.
const TRACE_KEY: &str = "traceparent";

/// When and under which key a job is pushed.
#[derive(Debug, Clone, Default)]
pub struct Enqueue {
    key: Option<String>,
    run_at: Option<OffsetDateTime>,
    max_attempts: Option<usize>,
    trace: Option<String>,
}

impl Enqueue {
    /// Now, with no key, with the queue's default attempts.
    pub fn now() -> Self {
        Enqueue::default()
    }

    /// A job pushed twice under one key is queued once (however many processes push it).
    #[must_use]
    pub fn key(mut self, key: impl Into<String>) -> Self {
        self.key = Some(key.into());
        self
    }

    /// Not before `at`.
    #[must_use]
    pub fn at(mut self, at: OffsetDateTime) -> Self {
        self.run_at = Some(at);
        self
    }

    /// How many times the job runs before it is left failed (a handler's error, or its worker
    /// dying, is an attempt).
    #[must_use]
    pub fn attempts(mut self, attempts: usize) -> Self {
        self.max_attempts = Some(attempts.max(1));
        self
    }

    /// Stores `context` (a W3C `traceparent`, say) with the job; its worker gets it back in
    /// [`JobAttempt::trace`], so that the job's work joins the trace of what queued it.
    #[must_use]
    pub fn trace(mut self, context: impl Into<String>) -> Self {
        self.trace = Some(context.into());
        self
    }
}

impl JobAttempt {
    /// The run `attempted` describes.
    fn of(attempted: &Attempted) -> Self {
        JobAttempt {
            number: attempted.attempt.current().max(1),
            max: attempted.max.max(1),
            trace: attempted.trace.clone(),
        }
    }
}

/// One run of a job, as its worker sees it.
#[derive(Debug, Clone)]
pub struct JobAttempt {
    /// 1 on the first run, 2 on the first retry ...
    pub number: usize,
    /// The runs the job has in all (after a failed last one it is left failed).
    pub max: usize,
    /// The trace context stored with the job ([`Enqueue::trace`]).
    pub trace: Option<String>,
}

impl JobAttempt {
    /// Whether a failure of this run is the job's last (no retry follows).
    pub fn is_last(&self) -> bool {
        self.number >= self.max
    }
}

/// What a worker reads of a job besides its arguments: the attempt counter (shared with
/// apalis, which counts this run before the handler starts), the attempts in all, the stored
/// trace context and the job's id.
struct Attempted {
    attempt: Attempt,
    max: usize,
    trace: Option<String>,
    id: Option<String>,
}

impl<Args: Sync> FromRequest<Task<Args>> for Attempted {
    type Error = std::convert::Infallible;

    async fn from_request(task: &Task<Args>) -> Result<Self, Self::Error> {
        Ok(Attempted {
            attempt: task.raw_attempt().clone(),
            max: task.max_attempts().unwrap_or(1),
            trace: task.metadata().get(TRACE_KEY).map(str::to_owned),
            id: task.task_id().map(ToString::to_string),
        })
    }
}

/// A queue's backlog at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueStats {
    /// Jobs due and waiting for a worker (new ones, and failed ones with attempts left).
    pub waiting: u64,
    /// Seconds the oldest waiting job has been due (0 when none waits).
    pub oldest_waiting_seconds: u64,
    /// Jobs a worker holds now.
    pub running: u64,
    /// Jobs left failed after their last attempt (or killed).
    pub dead: u64,
}

/// What a worker does with a job of type `T`. An error is recorded on the job and the job is
/// tried again while it has attempts left.
#[async_trait]
pub trait JobHandler<T>: Send + Sync + 'static
where
    T: Send + 'static,
{
    async fn handle(&self, job: T) -> Result<(), String>;

    /// Runs `job` knowing which attempt this is (and the trace context stored with it); by
    /// default, [`JobHandler::handle`].
    async fn handle_attempt(&self, job: T, attempt: JobAttempt) -> Result<(), String> {
        let _ = attempt;
        self.handle(job).await
    }
}

enum Storage<T> {
    Sqlite(SqliteStorage<T>),
    Postgres(PostgresStorage<T>),
    Redis(redis_storage::RedisQueue<T>),
}

impl<T> Clone for Storage<T> {
    fn clone(&self) -> Self {
        match self {
            Storage::Sqlite(s) => Storage::Sqlite(s.clone()),
            Storage::Postgres(s) => Storage::Postgres(s.clone()),
            Storage::Redis(s) => Storage::Redis(s.clone()),
        }
    }
}

/// One named queue of jobs of type `T` (stored as JSON).
pub struct JobQueue<T> {
    storage: Storage<T>,
    settings: QueueSettings,
    name: String,
    _job: PhantomData<fn() -> T>,
}

impl<T> Clone for JobQueue<T> {
    fn clone(&self) -> Self {
        JobQueue {
            storage: self.storage.clone(),
            settings: self.settings,
            name: self.name.clone(),
            _job: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for JobQueue<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = match self.storage {
            Storage::Sqlite(_) => "sqlite",
            Storage::Postgres(_) => "postgres",
            Storage::Redis(_) => "redis",
        };
        f.debug_struct("JobQueue")
            .field("name", &self.name)
            .field("backend", &backend)
            .finish()
    }
}

/// Wakes an idle worker every `interval`. (apalis' own interval strategy arms its next delay
/// without polling it, so a worker whose empty fetch finished at once could sleep until its
/// next heartbeat; this one always leaves a delay registered with the waker.)
#[derive(Debug)]
struct Poller {
    interval: Duration,
    delay: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl Poller {
    fn every(interval: Duration) -> Self {
        Poller {
            interval,
            delay: None,
        }
    }
}

impl PollStrategy for Poller {
    fn poll_drive(
        &mut self,
        cx: &mut std::task::Context<'_>,
        _: &PollSnapshot,
    ) -> std::task::Poll<Option<()>> {
        let mut fired = false;
        loop {
            let interval = self.interval;
            let delay = self
                .delay
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(interval)));
            match delay.as_mut().poll(cx) {
                std::task::Poll::Ready(()) => {
                    self.delay = None;
                    fired = true;
                }
                std::task::Poll::Pending if fired => return std::task::Poll::Ready(Some(())),
                std::task::Poll::Pending => return std::task::Poll::Pending,
            }
        }
    }
}

/// The handler as a worker's data: a named type (not a bare trait object), so that the worker's
/// future is provably `Send`.
struct HandlerData<T: Send + 'static>(Arc<dyn JobHandler<T>>);

impl<T: Send + 'static> Clone for HandlerData<T> {
    fn clone(&self) -> Self {
        HandlerData(Arc::clone(&self.0))
    }
}

/// How long a worker that ended on its storage's error waits before starting again.
const RESTART_AFTER: Duration = Duration::from_secs(1);

/// Runs a worker (`run`, given its name and the future that stops it) until `stop`, starting it
/// again under a new name whenever it ends on its own: an apalis worker ends on the first error
/// its storage returns (a SQLite database locked past its timeout, a PostgreSQL or Redis server
/// restarting), which would otherwise stop the process's background work until the process
/// restarts. Jobs the ended worker held go back to the queue as its heartbeat lapses.
pub(crate) async fn restarting<E, Fut>(
    worker: String,
    stop: impl Future<Output = ()> + Send + 'static,
    mut run: impl FnMut(String, BoxFuture<'static, Result<(), std::io::Error>>) -> Fut,
) -> Result<(), JobError>
where
    Fut: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    use futures_util::FutureExt as _;
    let stop = stop.boxed().shared();
    let mut name = worker.clone();
    let mut restarts = 0u64;
    loop {
        let stopped = stop.clone();
        let until = async move {
            stopped.await;
            Ok::<(), std::io::Error>(())
        }
        .boxed();
        match run(std::mem::take(&mut name), until).await {
            Ok(()) => return Ok(()),
            Err(error) if stop.peek().is_some() => return Err(JobError::of(error)),
            Err(error) => {
                tracing::warn!(%error, "a job worker stopped on its queue's error; it starts again");
                tokio::select! {
                    () = tokio::time::sleep(RESTART_AFTER) => {}
                    () = stop.clone() => return Ok(()),
                }
                restarts += 1;
                name = format!("{worker}-{restarts}");
            }
        }
    }
}

async fn run_job<T: Send + 'static>(
    job: T,
    handler: Data<HandlerData<T>>,
    attempted: Attempted,
) -> Result<(), BoxDynError> {
    let handler: &HandlerData<T> = &handler;
    let attempt = JobAttempt::of(&attempted);
    handler
        .0
        .handle_attempt(job, attempt)
        .await
        .map_err(BoxDynError::from)
}

/// The key of a PostgreSQL push refused because a job with the same key exists (SQLite's insert
/// ignores such a push by itself).
fn is_duplicate_key(error: &TaskSinkError<apalis_postgres::Error>) -> bool {
    match error {
        TaskSinkError::PushError(apalis_postgres::Error::Database(sqlx::Error::Database(db))) => {
            db.is_unique_violation()
        }
        _ => false,
    }
}

impl<T> JobQueue<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    /// The queue `name` in a SQLite database. Its claims and acknowledgements are writes, so
    /// they go through the database's writer connection, like every other write.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(db: &crate::sqlite::Database, name: &str, settings: QueueSettings) -> Self {
        use crate::sql::Backend as _;
        Self::on_sqlite_pool(db.writer(), name, settings)
    }

    fn on_sqlite_pool(pool: &sqlx::SqlitePool, name: &str, settings: QueueSettings) -> Self {
        let config = apalis_sqlite::Config::default()
            .queue(name)
            .batch_size(settings.batch_size)
            .heartbeat_interval(settings.heartbeat);
        JobQueue {
            storage: Storage::Sqlite(SqliteStorage::new(pool).with_config(config)),
            settings,
            name: name.to_owned(),
            _job: PhantomData,
        }
    }

    /// The queue `name` in a private in-memory SQLite database, for an app whose stores are in
    /// memory (tests, demos): jobs live as long as the process.
    pub async fn in_memory(name: &str, settings: QueueSettings) -> Result<Self, JobError> {
        let pool = sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect("sqlite::memory:")
            .await
            .map_err(JobError::of)?;
        sqlx::raw_sql(SQLITE_SCHEMA)
            .execute(&pool)
            .await
            .map_err(JobError::of)?;
        Ok(Self::on_sqlite_pool(&pool, name, settings))
    }

    /// The queue `name` in a PostgreSQL database (schema `apalis`).
    #[cfg(feature = "postgres")]
    pub fn postgres(db: &crate::postgres::Database, name: &str, settings: QueueSettings) -> Self {
        let config = apalis_postgres::Config::default()
            .queue(name)
            .batch_size(settings.batch_size)
            .heartbeat_interval(settings.heartbeat);
        JobQueue {
            storage: Storage::Postgres(PostgresStorage::new(db.pool()).with_config(config)),
            settings,
            name: name.to_owned(),
            _job: PhantomData,
        }
    }

    /// The queue's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Pushes `job`. With a key already used in this queue, does nothing (the first job stands).
    pub async fn push(&self, job: T, options: Enqueue) -> Result<(), JobError> {
        // The queue keeps whole seconds: round up, so that the job never runs before `at`.
        let run_at = options
            .run_at
            .map(|at| at.unix_timestamp() + i64::from(at.nanosecond() > 0));
        let max_attempts = options.max_attempts.unwrap_or(5);
        if let Storage::Redis(s) = &self.storage {
            let due = run_at.unwrap_or_else(|| OffsetDateTime::now_utc().unix_timestamp());
            let (key, trace) = (options.key.as_deref(), options.trace.as_deref());
            return s.push(&job, key, due, max_attempts, trace).await;
        }
        let mut task = TaskBuilder::new(job);
        if let Some(key) = &options.key {
            task = task.idempotency_key(key);
        }
        if let Some(seconds) = run_at {
            task = task.run_at_timestamp(u64::try_from(seconds).unwrap_or(0));
        }
        task = task.max_attempts(max_attempts);
        if let Some(trace) = options.trace {
            let mut metadata = MetadataStore::new();
            metadata.insert(TRACE_KEY, trace).map_err(JobError::of)?;
            task = task.with_metadata(metadata);
        }
        let task = task.build();
        match self.storage.clone() {
            Storage::Redis(_) => unreachable!("pushed above"),
            Storage::Sqlite(mut s) => s.push_task(task).await.map_err(JobError::of),
            Storage::Postgres(mut s) => match s.push_task(task).await {
                Err(e) if is_duplicate_key(&e) => Ok(()),
                other => other.map_err(JobError::of),
            },
        }
    }

    /// Runs `concurrency` jobs at a time until `stop` completes, then lets the jobs in hand
    /// finish (and be recorded) before returning.
    pub async fn work(
        &self,
        concurrency: usize,
        handler: Arc<dyn JobHandler<T>>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), JobError> {
        // Unique per process and run: a worker's claims are released by its name.
        let worker = format!(
            "{}-{}-{}",
            self.name,
            std::process::id(),
            uuid::Uuid::new_v4().simple()
        );
        let poll = self.settings.poll_interval;
        let concurrency = concurrency.max(1);
        if let Storage::Redis(s) = &self.storage {
            return s.work(worker, concurrency, poll, handler, stop).await;
        }
        let storage = self.storage.clone();
        restarting(worker, stop, move |name, until| {
            let (storage, handler) = (storage.clone(), Arc::clone(&handler));
            // The same worker over either SQL storage (two types, one builder chain).
            macro_rules! work_on {
                ($storage:expr) => {
                    WorkerBuilder::new(name)
                        .backend($storage.poll_with_strategy(Poller::every(poll)))
                        .concurrency(concurrency)
                        .data(HandlerData(handler))
                        .build(run_job::<T>)
                        .run_until(until)
                        .await
                };
            }
            async move {
                match storage {
                    Storage::Redis(_) => unreachable!("worked above"),
                    Storage::Sqlite(s) => work_on!(s),
                    Storage::Postgres(s) => work_on!(s),
                }
            }
        })
        .await
    }

    pub async fn counts(&self) -> Result<Vec<(String, i64)>, JobError> {
        match &self.storage {
            Storage::Redis(s) => s.counts(OffsetDateTime::now_utc().unix_timestamp()).await,
            Storage::Sqlite(s) => sqlx::query_as(
                "SELECT status, COUNT(*) FROM Jobs WHERE job_type = ?1 GROUP BY status ORDER BY status",
            )
            .bind(&self.name)
            .fetch_all(s.pool())
            .await
            .map_err(JobError::of),
            Storage::Postgres(s) => sqlx::query_as(
                "SELECT status, COUNT(*) FROM apalis.jobs WHERE job_type = $1 GROUP BY status ORDER BY status",
            )
            .bind(&self.name)
            .fetch_all(s.pool())
            .await
            .map_err(JobError::of),
        }
    }
}

impl<T> JobQueue<T> {
    /// The backlog now: jobs waiting (due, not held by a worker), how long the oldest has
    /// waited, jobs running, and jobs left dead. One query; an error means the queue's storage
    /// does not answer.
    pub async fn stats(&self) -> Result<QueueStats, JobError> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let (waiting, oldest, running, dead): (i64, Option<i64>, i64, i64) = match &self.storage {
            Storage::Sqlite(s) => sqlx::query_as(SQLITE_STATS)
                .bind(&self.name)
                .bind(now)
                .fetch_one(s.pool())
                .await
                .map_err(JobError::of)?,
            Storage::Postgres(s) => sqlx::query_as(POSTGRES_STATS)
                .bind(&self.name)
                .bind(now)
                .fetch_one(s.pool())
                .await
                .map_err(JobError::of)?,
            Storage::Redis(s) => return s.stats(now).await,
        };
        let count = |n: i64| u64::try_from(n).unwrap_or(0);
        Ok(QueueStats {
            waiting: count(waiting),
            oldest_waiting_seconds: oldest.map_or(0, |due| count(now - due)),
            running: count(running),
            dead: count(dead),
        })
    }
}

/// Where a job stands, as an admin sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobState {
    /// Due, waiting for a worker.
    Queued,
    /// Due later (a delayed push, a retry's wait).
    Scheduled,
    /// Held by a worker now.
    Running,
    /// Its last attempt failed; it will be tried again.
    Failed,
    /// Failed its last attempt (or was killed): it stays until retried or discarded.
    Dead,
    /// Finished.
    Done,
}

impl JobState {
    /// Every state, in the order the admin's page shows them.
    pub const ALL: [JobState; 6] = [
        JobState::Queued,
        JobState::Scheduled,
        JobState::Running,
        JobState::Failed,
        JobState::Dead,
        JobState::Done,
    ];

    /// The state's name (`queued`, `scheduled`, `running`, `failed`, `dead`, `done`).
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Scheduled => "scheduled",
            JobState::Running => "running",
            JobState::Failed => "failed",
            JobState::Dead => "dead",
            JobState::Done => "done",
        }
    }

    /// The state named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// The rows in this state, as an SQL condition over apalis' columns (`?now`: the
    /// instant, as the backend's `now` expression).
    fn condition(self, now: &str) -> String {
        match self {
            JobState::Queued => format!("(status = 'Pending' AND run_at <= {now})"),
            JobState::Scheduled => format!("(status = 'Pending' AND run_at > {now})"),
            JobState::Running => "status IN ('Queued', 'Running')".into(),
            JobState::Failed => "(status = 'Failed' AND attempts < max_attempts)".into(),
            JobState::Dead => {
                "(status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts))".into()
            }
            JobState::Done => "status = 'Done'".into(),
        }
    }
}

/// One job as stored, for the admin's page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRecord {
    /// The job's id (the queue's).
    pub id: String,
    /// The key it was pushed with, if any (`email:<id>:<attempt>` ...).
    pub key: Option<String>,
    /// Where it stands.
    pub state: JobState,
    /// The job itself, as stored (JSON).
    pub job: String,
    /// Attempts made, and allowed.
    pub attempts: i64,
    pub max_attempts: i64,
    /// When it is (or was) due, in Unix seconds.
    pub run_at: i64,
    /// The last attempt's error, while the job is failed or dead.
    pub last_error: Option<String>,
}

type JobRow = (
    String,
    String,
    String,
    String,
    i64,
    i64,
    i64,
    Option<String>,
    Option<String>,
);

impl<T> JobQueue<T> {
    /// The backend's table, and its expression for the instant `$now`/`?now` (Unix seconds).
    fn table_and_now(&self) -> (&'static str, &'static str) {
        match &self.storage {
            Storage::Sqlite(_) => ("Jobs", "?2"),
            Storage::Postgres(_) => ("apalis.jobs", "to_timestamp($2::float8)"),
            Storage::Redis(_) => unreachable!("Redis has no SQL table"),
        }
    }

    /// The jobs in `state` (every state but done when `None`), the latest due first, at most
    /// `limit` from `offset`.
    pub async fn list(
        &self,
        state: Option<JobState>,
        offset: u64,
        limit: u32,
    ) -> Result<Vec<JobRecord>, JobError> {
        let unix = OffsetDateTime::now_utc().unix_timestamp();
        if let Storage::Redis(s) = &self.storage {
            return s.list(state, offset, limit, unix).await;
        }
        let (table, now) = self.table_and_now();
        let filter = state.map_or_else(|| "status <> 'Done'".to_owned(), |s| s.condition(now));
        let states = JobState::ALL
            .iter()
            .map(|s| format!("WHEN {} THEN '{}'", s.condition(now), s.as_str()))
            .collect::<Vec<_>>()
            .join(" ");
        // The columns as text and whole numbers on both backends.
        let (job, attempts, run_at, result) = match &self.storage {
            Storage::Sqlite(_) => (
                "CAST(job AS TEXT)",
                "attempts, max_attempts",
                "run_at",
                "last_result",
            ),
            Storage::Redis(_) => unreachable!("listed above"),
            Storage::Postgres(_) => (
                "convert_from(job, 'UTF8')",
                "attempts::BIGINT, max_attempts::BIGINT",
                "EXTRACT(EPOCH FROM run_at)::BIGINT",
                "last_result::text",
            ),
        };
        let sql = format!(
            "SELECT id, CASE {states} ELSE 'queued' END, {job}, status, {attempts}, \
             {run_at}, {result}, idempotency_key FROM {table} WHERE job_type = $1 AND {filter} \
             ORDER BY run_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let rows: Vec<JobRow> = match &self.storage {
            Storage::Redis(_) => unreachable!("listed above"),
            Storage::Sqlite(s) => sqlx::query_as(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                .bind(&self.name)
                .bind(unix)
                .bind(i64::from(limit))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(s.pool())
                .await
                .map_err(JobError::of)?,
            Storage::Postgres(s) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&self.name)
                .bind(unix)
                .bind(i64::from(limit))
                .bind(i64::try_from(offset).unwrap_or(i64::MAX))
                .fetch_all(s.pool())
                .await
                .map_err(JobError::of)?,
        };
        Ok(rows
            .into_iter()
            .map(
                |(id, state, job, _, attempts, max_attempts, run_at, last_result, key)| {
                    let state = JobState::parse(&state).unwrap_or(JobState::Queued);
                    JobRecord {
                        id,
                        key,
                        state,
                        job,
                        attempts,
                        max_attempts,
                        run_at,
                        last_error: last_result
                            .filter(|_| matches!(state, JobState::Failed | JobState::Dead)),
                    }
                },
            )
            .collect())
    }

    /// How many jobs are in each state.
    pub async fn state_counts(&self) -> Result<Vec<(JobState, i64)>, JobError> {
        let unix = OffsetDateTime::now_utc().unix_timestamp();
        if let Storage::Redis(s) = &self.storage {
            return s.state_counts(unix).await;
        }
        let (table, now) = self.table_and_now();
        let columns = JobState::ALL
            .iter()
            .map(|s| format!("COUNT(*) FILTER (WHERE {})", s.condition(now)))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!("SELECT {columns} FROM {table} WHERE job_type = $1");
        let counts: (i64, i64, i64, i64, i64, i64) = match &self.storage {
            Storage::Redis(_) => unreachable!("counted above"),
            Storage::Sqlite(s) => sqlx::query_as(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                .bind(&self.name)
                .bind(unix)
                .fetch_one(s.pool())
                .await
                .map_err(JobError::of)?,
            Storage::Postgres(s) => sqlx::query_as(sqlx::AssertSqlSafe(sql))
                .bind(&self.name)
                .bind(unix)
                .fetch_one(s.pool())
                .await
                .map_err(JobError::of)?,
        };
        let (a, b, c, d, e, f) = counts;
        Ok(JobState::ALL.into_iter().zip([a, b, c, d, e, f]).collect())
    }

    /// Makes a failed or dead job due now with its attempts counted afresh. False when there
    /// is no such job in either state.
    pub async fn retry(&self, id: &str) -> Result<bool, JobError> {
        let unix = OffsetDateTime::now_utc().unix_timestamp();
        if let Storage::Redis(s) = &self.storage {
            return s.retry(id, unix).await;
        }
        let (table, now) = self.table_and_now();
        let sql = format!(
            "UPDATE {table} SET status = 'Pending', attempts = 0, run_at = {now}, lock_by = NULL, \
             lock_at = NULL, done_at = NULL WHERE id = $1 AND job_type = $3 AND \
             status IN ('Failed', 'Killed')"
        );
        let done = match &self.storage {
            Storage::Redis(_) => unreachable!("retried above"),
            Storage::Sqlite(s) => sqlx::query(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                .bind(id)
                .bind(unix)
                .bind(&self.name)
                .execute(s.pool())
                .await
                .map_err(JobError::of)?
                .rows_affected(),
            Storage::Postgres(s) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(unix)
                .bind(&self.name)
                .execute(s.pool())
                .await
                .map_err(JobError::of)?
                .rows_affected(),
        };
        Ok(done == 1)
    }

    /// Deletes a job no worker holds (queued, scheduled, failed, dead or done). False when
    /// there is no such job, or a worker holds it.
    pub async fn discard(&self, id: &str) -> Result<bool, JobError> {
        if let Storage::Redis(s) = &self.storage {
            return s.discard(id).await;
        }
        let (table, _) = self.table_and_now();
        let sql = format!(
            "DELETE FROM {table} WHERE id = $1 AND job_type = $2 AND \
             status NOT IN ('Queued', 'Running')"
        );
        let done = match &self.storage {
            Storage::Redis(_) => unreachable!("discarded above"),
            Storage::Sqlite(s) => sqlx::query(sqlx::AssertSqlSafe(sql.replace('$', "?")))
                .bind(id)
                .bind(&self.name)
                .execute(s.pool())
                .await
                .map_err(JobError::of)?
                .rows_affected(),
            Storage::Postgres(s) => sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(id)
                .bind(&self.name)
                .execute(s.pool())
                .await
                .map_err(JobError::of)?
                .rows_affected(),
        };
        Ok(done == 1)
    }

    /// Deletes the done jobs that finished before `before`, and says how many. Only Redis, which
    /// keeps its jobs in memory, forgets them: the SQL storages keep their rows (0).
    pub async fn forget_finished(&self, before: OffsetDateTime) -> Result<u64, JobError> {
        match &self.storage {
            Storage::Redis(s) => s.forget_finished(before.unix_timestamp()).await,
            Storage::Sqlite(_) | Storage::Postgres(_) => Ok(0),
        }
    }

    /// Whether the queue is kept in Redis.
    pub fn is_redis(&self) -> bool {
        matches!(self.storage, Storage::Redis(_))
    }
}

/// The backlog in SQLite (`run_at` in Unix seconds): what `fetch_next` would pick, what is
/// held, and what is left failed.
const SQLITE_STATS: &str = "SELECT \
    COUNT(*) FILTER (WHERE run_at <= ?2 AND ((status = 'Pending' AND lock_by IS NULL) \
        OR (status = 'Failed' AND attempts < max_attempts))), \
    MIN(run_at) FILTER (WHERE run_at <= ?2 AND ((status = 'Pending' AND lock_by IS NULL) \
        OR (status = 'Failed' AND attempts < max_attempts))), \
    COUNT(*) FILTER (WHERE status IN ('Queued', 'Running')), \
    COUNT(*) FILTER (WHERE status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts)) \
    FROM Jobs WHERE job_type = ?1";

/// The same in PostgreSQL (`run_at` a timestamp).
const POSTGRES_STATS: &str = "SELECT \
    COUNT(*) FILTER (WHERE run_at <= to_timestamp($2::float8) AND ((status = 'Pending' AND lock_by IS NULL) \
        OR (status = 'Failed' AND attempts < max_attempts))), \
    EXTRACT(EPOCH FROM MIN(run_at) FILTER (WHERE run_at <= to_timestamp($2::float8) \
        AND ((status = 'Pending' AND lock_by IS NULL) OR (status = 'Failed' AND attempts < max_attempts))))::BIGINT, \
    COUNT(*) FILTER (WHERE status IN ('Queued', 'Running')), \
    COUNT(*) FILTER (WHERE status = 'Killed' OR (status = 'Failed' AND attempts >= max_attempts)) \
    FROM apalis.jobs WHERE job_type = $1";

/// apalis-sqlite's schema (the same text as the SQLite migration 0011).
const SQLITE_SCHEMA: &str = include_str!("../migrations/sqlite/0011_jobs.sql");

/// A schedule that ticks at every multiple of `period` since the Unix epoch, so that every
/// process computes the same instants (and the same tick keys).
#[derive(Debug, Clone, Copy)]
pub struct Every(pub Duration);

impl Every {
    fn next_after(self, now: SystemTime) -> u64 {
        let period = self.0.as_secs().max(1);
        let now = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        (now / period + 1) * period
    }
}

impl Schedule<Utc> for Every {
    fn next_tick(&mut self, _: &Utc) -> Option<Tick<Utc>> {
        Some(Tick::new(self.next_after(SystemTime::now())))
    }
}

/// What a schedule does at a tick: given the tick's Unix time, usually pushes a job keyed by it.
#[derive(Clone)]
pub struct OnTick(Arc<dyn Fn(u64) -> BoxFuture<'static, ()> + Send + Sync>);

impl OnTick {
    pub fn new(f: impl Fn(u64) -> BoxFuture<'static, ()> + Send + Sync + 'static) -> Self {
        OnTick(Arc::new(f))
    }
}

impl std::fmt::Debug for OnTick {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OnTick")
    }
}

async fn run_tick(tick: Tick<Utc>, on_tick: Data<OnTick>) -> Result<(), BoxDynError> {
    let on_tick: &OnTick = &on_tick;
    (on_tick.0)(tick.get_timestamp()).await;
    Ok(())
}

/// Calls `on_tick` at every tick of `schedule` (apalis' scheduler) until `stop` completes.
pub async fn run_schedule(
    name: &str,
    schedule: Every,
    on_tick: OnTick,
    stop: impl Future<Output = ()> + Send + 'static,
) -> Result<(), JobError> {
    let stop = async move {
        stop.await;
        Ok::<(), std::io::Error>(())
    };
    WorkerBuilder::new(format!(
        "{name}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    ))
    .backend(CronScheduler::new(schedule))
    .data(on_tick)
    .build(run_tick)
    .run_until(stop)
    .await
    .map_err(JobError::of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_ticks_at_shared_multiples() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let hourly = Every(Duration::from_secs(3600));
        assert_eq!(hourly.next_after(at(7_199)), 7_200);
        assert_eq!(hourly.next_after(at(7_200)), 10_800);
        assert_eq!(Every(Duration::ZERO).next_after(at(5)), 6);
    }
}
