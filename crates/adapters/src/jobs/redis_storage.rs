//! The job queue in Redis ([apalis_redis]), for apps that keep their queue apart from their
//! database. apalis-redis stores each job as a field of a data hash and a meta hash of its own
//! (`attempts`, `max_attempts`, `status`, `result`, our `due` and `traceparent`), and moves its
//! id between a scheduled set (due later, or a retry's wait), an active list (due, waiting), one
//! in-flight set per worker, and a done or a dead set. A worker takes due jobs in one Lua
//! script, so two processes never run the same job; a key pushed twice is claimed with `SET NX`
//! in the push script.
//!
//! Where apalis-redis 1.0 differs from the SQL storages, or fails, this module makes up the
//! difference:
//! - its push puts every job in the scheduled set, and its fetch moves every due one to the
//!   active list with one Lua `unpack`, which fails past about 8,000 (a backlog of 10,000 jobs
//!   stops every worker): our push script (the same storage) puts a job due now straight in the
//!   active list, and a worker moves due jobs in batches before it starts;
//! - a worker ends on the first error of its connection: ours starts again;
//! - it retries a failed job up to 25 times whatever its attempts, so the last attempt's failure
//!   is turned into an abort (the job goes to the dead set);
//! - it counts an attempt only when the job's result is recorded, so a worker that dies
//!   mid-job would not use one up: each run records its attempt as it starts;
//! - it keeps no order of finished jobs and never deletes them: each success is indexed by its
//!   time (`<queue>:finished`), which lists them newest first and lets
//!   [`JobQueue::forget_finished`] delete the old ones;
//! - its own listing and counting scripts do not know our states: the admin's views are Lua
//!   scripts of our own over the same keys (`redis_storage/*.lua`).

use std::marker::PhantomData;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use apalis::prelude::{AbortError, BackendExt, BoxDynError, Data, WorkerBuilder, WorkerBuilderExt};
use apalis_redis::{Config, RedisStorage};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::Serialize;
use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::{
    Attempted, HandlerData, JobAttempt, JobError, JobHandler, JobQueue, JobRecord, JobState,
    Poller, QueueSettings, QueueStats, Storage,
};

/// How long a key pushed with a job is remembered: longer than any job of the app waits and
/// runs (a webhook's retry waits at most 6 hours), so that a key is never reused while its job
/// can still run. (In SQL a key lives as long as its job's row.)
const KEY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// The metadata field holding when a job is due (Unix seconds, as asked, even in the past).
const DUE: &str = "due";

macro_rules! script {
    ($name:ident, $file:literal) => {
        static $name: LazyLock<redis::Script> =
            LazyLock::new(|| redis::Script::new(include_str!($file)));
    };
}
script!(STATS, "redis_storage/stats.lua");
script!(JOBS, "redis_storage/jobs.lua");
script!(DETAILS, "redis_storage/details.lua");
script!(RETRY, "redis_storage/retry.lua");
script!(DISCARD, "redis_storage/discard.lua");
script!(FORGET, "redis_storage/forget.lua");
script!(PUSH, "redis_storage/push.lua");
script!(PROMOTE, "redis_storage/promote.lua");

/// A queue's storage in Redis: apalis' storage, a connection for our own scripts, and the
/// queue's key names.
pub(super) struct RedisQueue<T> {
    storage: RedisStorage<T>,
    connection: ConnectionManager,
    config: Config,
}

impl<T> Clone for RedisQueue<T> {
    fn clone(&self) -> Self {
        RedisQueue {
            storage: self.storage.clone(),
            connection: self.connection.clone(),
            config: self.config.clone(),
        }
    }
}

/// How long a call may wait for Redis (a worker's fetch is a short script; the admin's listing
/// reads every job not done).
const TIMEOUT: Duration = Duration::from_secs(5);

/// Connects to the server at `url`.
async fn connect(url: &str) -> Result<ConnectionManager, JobError> {
    let client = redis::Client::open(url).map_err(JobError::of)?;
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(TIMEOUT))
        .set_response_timeout(Some(TIMEOUT))
        .set_number_of_retries(2);
    client
        .get_connection_manager_with_config(config)
        .await
        .map_err(JobError::of)
}

impl<T> JobQueue<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    /// The queue `name` in the Redis server at `url`: its keys are `<name>:*` (and apalis adds
    /// the key `core:apalis:queues:list`, the queues it has seen). Fails when the server does
    /// not answer.
    pub async fn redis(url: &str, name: &str, settings: QueueSettings) -> Result<Self, JobError> {
        let connection = connect(url).await?;
        let config = Config::default()
            .queue(name)
            .batch_size(settings.batch_size)
            .heartbeat_interval(settings.heartbeat)
            // As the SQL storages: a job whose worker missed two heartbeats goes back.
            .missed_heartbeats(2)
            .idempotency_ttl(Some(KEY_TTL))
            // Nobody listens to its pub/sub events.
            .emit_events(false)
            // A job's claim is its id in its worker's in-flight set (taken with the fetch, given
            // back when the worker's heartbeats stop); a lease on top costs a script per job,
            // one that scans the whole waiting list (`LREM`), so a backlog took quadratic time.
            .lock_tasks(false);
        let storage = RedisStorage::new(connection.clone()).with_config(config.clone());
        Ok(JobQueue {
            storage: Storage::Redis(RedisQueue {
                storage,
                connection,
                config,
            }),
            settings,
            name: name.to_owned(),
            _job: PhantomData,
        })
    }
}

impl<T> RedisQueue<T>
where
    T: Serialize + DeserializeOwned + Send + Sync + Unpin + 'static,
{
    /// Pushes `job`, due at `due` (Unix seconds), with `attempts` in all; a key already pushed
    /// makes the push do nothing.
    pub(super) async fn push(
        &self,
        job: &T,
        key: Option<&str>,
        due: i64,
        attempts: usize,
        trace: Option<&str>,
    ) -> Result<(), JobError> {
        let mut metadata = serde_json::Map::new();
        metadata.insert(DUE.to_owned(), due.to_string().into());
        if let Some(trace) = trace {
            metadata.insert(super::TRACE_KEY.to_owned(), trace.to_owned().into());
        }
        let _pushed: i64 = self
            .script(&PUSH)
            .arg(uuid::Uuid::now_v7().to_string())
            .arg(serde_json::to_vec(job).map_err(JobError::of)?)
            .arg(attempts)
            .arg(serde_json::Value::Object(metadata).to_string())
            .arg(due)
            .arg(key.unwrap_or_default())
            .arg(KEY_TTL.as_secs())
            .arg(OffsetDateTime::now_utc().unix_timestamp())
            .invoke_async(&mut self.connection())
            .await
            .map_err(JobError::of)?;
        Ok(())
    }

    /// Moves the due jobs of the scheduled set to the active list, a batch at a time.
    async fn promote_due(&self) -> Result<(), JobError> {
        loop {
            let moved: u64 = self
                .script(&PROMOTE)
                .arg(OffsetDateTime::now_utc().unix_timestamp())
                .arg(PROMOTE_BATCH)
                .invoke_async(&mut self.connection())
                .await
                .map_err(JobError::of)?;
            if moved < PROMOTE_BATCH {
                return Ok(());
            }
        }
    }

    /// Runs a worker until `stop` completes. A worker whose connection to Redis fails stops
    /// (apalis ends a worker on its backend's first error); this one starts again, under a new
    /// name, once Redis answers, so that a restart of the server does not end the work. (The
    /// jobs the failed worker held go back to the queue once its heartbeats are missed.)
    pub(super) async fn work(
        &self,
        worker: String,
        concurrency: usize,
        poll: Duration,
        handler: Arc<dyn JobHandler<T>>,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), JobError> {
        let book = Book {
            connection: self.connection.clone(),
            meta: self.config.job_meta_hash(),
            finished: finished_index(&self.config),
        };
        super::restarting(worker, stop, move |name, until| {
            let (queue, handler, book) = (self.clone(), Arc::clone(&handler), book.clone());
            async move {
                // apalis' fetch fails when too many jobs are due in the scheduled set at once
                // (delayed jobs that came due while no worker ran): they are moved in batches
                // first.
                if let Err(error) = queue.promote_due().await {
                    tracing::warn!(%error, "moving the Redis queue's due jobs");
                }
                WorkerBuilder::new(name)
                    .backend(
                        queue
                            .storage
                            .clone()
                            .poll_with_strategy(Poller::every(poll)),
                    )
                    .concurrency(concurrency)
                    .data(HandlerData(handler))
                    .data(book)
                    .build(run_job::<T>)
                    .run_until(until)
                    .await
            }
        })
        .await
    }
}

/// Due jobs moved per script call.
const PROMOTE_BATCH: u64 = 1000;

/// Where a run records its attempt as it starts, and its success.
#[derive(Clone)]
struct Book {
    connection: ConnectionManager,
    /// The prefix of the jobs' meta hashes.
    meta: String,
    /// The finished index.
    finished: String,
}

fn finished_index(config: &Config) -> String {
    format!("{}:finished", config.queue.as_ref())
}

async fn run_job<T: Send + 'static>(
    job: T,
    handler: Data<HandlerData<T>>,
    attempted: Attempted,
    book: Data<Book>,
) -> Result<(), BoxDynError> {
    let attempt = JobAttempt::of(&attempted);
    let id = attempted.id.unwrap_or_default();
    // A run past the last attempt: the worker of the last one stopped before recording it.
    if attempt.number > attempt.max {
        return Err(AbortError::new(format!(
            "no attempts left: the worker of attempt {} of {} stopped before it ended",
            attempt.number - 1,
            attempt.max
        ))
        .into());
    }
    let mut connection = book.connection.clone();
    // Counted now, so that a worker dying in this run has used it up.
    let _: Result<(), _> = redis::cmd("HSET")
        .arg(format!("{}:{id}", book.meta))
        .arg("attempts")
        .arg(attempt.number)
        .query_async(&mut connection)
        .await
        .inspect_err(|e| tracing::warn!(job = %id, error = %e, "recording a job's attempt"));
    let last = attempt.is_last();
    let handler: &HandlerData<T> = &handler;
    match handler.0.handle_attempt(job, attempt).await {
        Ok(()) => {
            let now = OffsetDateTime::now_utc().unix_timestamp();
            let _: Result<(), _> = redis::cmd("ZADD")
                .arg(&book.finished)
                .arg(now)
                .arg(&id)
                .query_async(&mut connection)
                .await
                .inspect_err(|e| tracing::warn!(job = %id, error = %e, "indexing a done job"));
            Ok(())
        }
        // apalis-redis would retry it: an abort leaves it dead.
        Err(error) if last => Err(AbortError::new(error).into()),
        Err(error) => Err(error.into()),
    }
}

/// What [`RedisQueue::jobs`] says of one job.
struct Listed {
    id: String,
    state: JobState,
    status: String,
    due: i64,
}

impl<T> RedisQueue<T> {
    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }

    /// `script` with the queue's keys, in the order every script of ours reads them.
    fn script(&self, script: &'static redis::Script) -> redis::ScriptInvocation<'static> {
        let c = &self.config;
        let mut invocation = script.prepare_invoke();
        invocation
            .key(c.active_jobs_list())
            .key(c.scheduled_jobs_set())
            .key(c.workers_set())
            .key(c.inflight_jobs_set())
            .key(c.dead_jobs_set())
            .key(c.done_jobs_set())
            .key(finished_index(c))
            .key(c.job_data_hash())
            .key(c.job_meta_hash())
            .key(c.idempotency_key_set());
        invocation
    }

    pub(super) async fn stats(&self, now: i64) -> Result<QueueStats, JobError> {
        let (waiting, oldest, running, dead): (u64, i64, u64, u64) = self
            .script(&STATS)
            .arg(now)
            .invoke_async(&mut self.connection())
            .await
            .map_err(JobError::of)?;
        Ok(QueueStats {
            waiting,
            oldest_waiting_seconds: if oldest < 0 {
                0
            } else {
                u64::try_from(now - oldest).unwrap_or(0)
            },
            running,
            dead,
        })
    }

    /// Every job not done, with its state.
    async fn jobs(&self, now: i64) -> Result<Vec<Listed>, JobError> {
        let flat: Vec<String> = self
            .script(&JOBS)
            .arg(now)
            .invoke_async(&mut self.connection())
            .await
            .map_err(JobError::of)?;
        Ok(flat
            .chunks_exact(4)
            .map(|row| Listed {
                id: row[0].clone(),
                state: JobState::parse(&row[1]).unwrap_or(JobState::Queued),
                status: row[2].clone(),
                due: row[3].parse().unwrap_or(0),
            })
            .collect())
    }

    async fn done_count(&self) -> Result<i64, JobError> {
        redis::cmd("SCARD")
            .arg(self.config.done_jobs_set())
            .query_async(&mut self.connection())
            .await
            .map_err(JobError::of)
    }

    /// Counts by apalis' status (`Pending`, `Running`, `Done`, `Failed`, `Killed`).
    pub(super) async fn counts(&self, now: i64) -> Result<Vec<(String, i64)>, JobError> {
        let mut counts = std::collections::BTreeMap::<String, i64>::new();
        for job in self.jobs(now).await? {
            *counts.entry(job.status).or_default() += 1;
        }
        let done = self.done_count().await?;
        if done > 0 {
            counts.insert("Done".to_owned(), done);
        }
        Ok(counts.into_iter().collect())
    }

    pub(super) async fn state_counts(&self, now: i64) -> Result<Vec<(JobState, i64)>, JobError> {
        let jobs = self.jobs(now).await?;
        let done = self.done_count().await?;
        Ok(JobState::ALL
            .into_iter()
            .map(|state| match state {
                JobState::Done => (state, done),
                _ => (
                    state,
                    i64::try_from(jobs.iter().filter(|j| j.state == state).count())
                        .unwrap_or(i64::MAX),
                ),
            })
            .collect())
    }

    pub(super) async fn list(
        &self,
        state: Option<JobState>,
        offset: u64,
        limit: u32,
        now: i64,
    ) -> Result<Vec<JobRecord>, JobError> {
        let offset = usize::try_from(offset).unwrap_or(usize::MAX);
        let limit = limit as usize;
        // A done job's time is when it finished (the page's order); the rows show when it was
        // due, as for the SQL queues.
        let page: Vec<(String, JobState, i64)> = if state == Some(JobState::Done) {
            // Newest first, by when they finished.
            let end = offset.saturating_add(limit).saturating_sub(1);
            let finished: Vec<(String, i64)> = redis::cmd("ZREVRANGE")
                .arg(finished_index(&self.config))
                .arg(offset)
                .arg(end)
                .arg("WITHSCORES")
                .query_async(&mut self.connection())
                .await
                .map_err(JobError::of)?;
            finished
                .into_iter()
                .map(|(id, at)| (id, JobState::Done, at))
                .collect()
        } else {
            let mut jobs: Vec<Listed> = self
                .jobs(now)
                .await?
                .into_iter()
                .filter(|j| state.is_none_or(|s| s == j.state))
                .collect();
            // As the SQL storages: the latest due first.
            jobs.sort_by(|a, b| b.due.cmp(&a.due).then_with(|| b.id.cmp(&a.id)));
            jobs.into_iter()
                .skip(offset)
                .take(limit)
                .map(|j| (j.id, j.state, j.due))
                .collect()
        };
        if page.is_empty() {
            return Ok(Vec::new());
        }
        let mut details = self.script(&DETAILS);
        for (id, _, _) in &page {
            details.arg(id);
        }
        let flat: Vec<String> = details
            .invoke_async(&mut self.connection())
            .await
            .map_err(JobError::of)?;
        Ok(page
            .into_iter()
            .zip(flat.chunks_exact(6))
            // A job discarded between the two scripts has no data left.
            .filter(|(_, row)| !row[0].is_empty())
            .map(|((id, state, at), row)| JobRecord {
                id,
                key: Some(row[4].clone()).filter(|k| !k.is_empty()),
                state,
                job: row[0].clone(),
                attempts: row[1].parse().unwrap_or(0),
                max_attempts: row[2].parse().unwrap_or(0),
                run_at: match state {
                    JobState::Done => row[5].parse().unwrap_or(at),
                    _ => at,
                },
                last_error: Some(&row[3])
                    .filter(|_| matches!(state, JobState::Failed | JobState::Dead))
                    .and_then(|result| failure(result)),
            })
            .collect())
    }

    pub(super) async fn retry(&self, id: &str, now: i64) -> Result<bool, JobError> {
        let retried: i64 = self
            .script(&RETRY)
            .arg(id)
            .arg(now)
            .invoke_async(&mut self.connection())
            .await
            .map_err(JobError::of)?;
        Ok(retried == 1)
    }

    pub(super) async fn discard(&self, id: &str) -> Result<bool, JobError> {
        let discarded: i64 = self
            .script(&DISCARD)
            .arg(id)
            .invoke_async(&mut self.connection())
            .await
            .map_err(JobError::of)?;
        Ok(discarded == 1)
    }

    /// Deletes the done jobs that finished before `cutoff` (Unix seconds), a batch at a time.
    pub(super) async fn forget_finished(&self, cutoff: i64) -> Result<u64, JobError> {
        let mut forgotten = 0;
        loop {
            let (looked_at, deleted): (u64, u64) = self
                .script(&FORGET)
                .arg(cutoff)
                .arg(FORGET_BATCH)
                .invoke_async(&mut self.connection())
                .await
                .map_err(JobError::of)?;
            forgotten += deleted;
            if looked_at < FORGET_BATCH {
                return Ok(forgotten);
            }
        }
    }
}

/// Done jobs deleted per script call (each call holds the server for its length).
const FORGET_BATCH: u64 = 500;

/// The error a failed attempt recorded: apalis-redis stores the result as JSON, `{"Err": ..}`
/// (with an abort's prefix on a last attempt).
fn failure(result: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(result).ok()?;
    let error = value.get("Err")?.as_str()?;
    Some(
        error
            .strip_prefix("AbortError: ")
            .unwrap_or(error)
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::failure;

    #[test]
    fn a_failure_is_read_from_the_stored_result() {
        assert_eq!(
            failure(r#"{"Err":"AbortError: job 22 failed"}"#).as_deref(),
            Some("job 22 failed")
        );
        assert_eq!(failure(r#"{"Err":"timeout"}"#).as_deref(), Some("timeout"));
        assert_eq!(failure(r#"{"Ok":null}"#), None);
        assert_eq!(failure(""), None);
    }
}
