//! The job queue on SQLite and PostgreSQL: two workers on one queue (two processes' worth) run
//! every job once; a key pushed twice queues one job; a job due later waits; a stopping worker
//! finishes the job in hand and records it; a job whose handler fails is tried again.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use quickscale_adapters::jobs::{
    Enqueue, JobAttempt, JobHandler, JobQueue, JobState, QueueSettings, QueueStats,
};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Numbered {
    n: u32,
    /// Milliseconds the handler takes.
    takes: u64,
    /// How many times the handler fails before it succeeds.
    fails: u32,
}

fn job(n: u32) -> Numbered {
    Numbered {
        n,
        takes: 0,
        fails: 0,
    }
}

/// Records each job's runs (and which worker ran it).
#[derive(Default)]
struct Recorder {
    runs: Mutex<HashMap<u32, Vec<&'static str>>>,
}

struct Worker {
    name: &'static str,
    recorder: Arc<Recorder>,
}

#[async_trait]
impl JobHandler<Numbered> for Worker {
    async fn handle(&self, job: Numbered) -> Result<(), String> {
        tokio::time::sleep(Duration::from_millis(job.takes)).await;
        let runs = {
            let mut all = self.recorder.runs.lock().unwrap();
            let runs = all.entry(job.n).or_default();
            runs.push(self.name);
            runs.len()
        };
        if runs as u32 <= job.fails {
            return Err(format!("job {} failed on run {runs}", job.n));
        }
        Ok(())
    }
}

impl Recorder {
    fn finished(&self) -> usize {
        self.runs.lock().unwrap().len()
    }

    async fn wait_for(&self, jobs: usize) {
        for _ in 0..1000 {
            if self.finished() >= jobs {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("only {} of {jobs} jobs ran", self.finished());
    }
}

fn settings() -> QueueSettings {
    QueueSettings {
        poll_interval: Duration::from_millis(20),
        ..QueueSettings::default()
    }
}

struct Running {
    stop: CancellationToken,
    handles: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    async fn stop(self) {
        self.stop.cancel();
        for handle in self.handles {
            tokio::time::timeout(Duration::from_secs(30), handle)
                .await
                .expect("the worker stopped")
                .unwrap();
        }
    }
}

/// One worker per queue handle (each a process of its own, as far as the queue can tell).
fn start(queues: &[JobQueue<Numbered>], recorder: &Arc<Recorder>, concurrency: usize) -> Running {
    let stop = CancellationToken::new();
    let names = ["first", "second", "third"];
    let handles = queues
        .iter()
        .zip(names)
        .map(|(queue, name)| {
            let queue = queue.clone();
            let handler = Arc::new(Worker {
                name,
                recorder: Arc::clone(recorder),
            });
            let stopped = stop.clone();
            tokio::spawn(async move {
                queue
                    .work(
                        concurrency,
                        handler,
                        async move { stopped.cancelled().await },
                    )
                    .await
                    .unwrap();
            })
        })
        .collect();
    Running { stop, handles }
}

async fn two_workers_run_each_job_once(queues: [JobQueue<Numbered>; 2]) {
    let recorder = Arc::new(Recorder::default());
    for n in 0..60 {
        queues[(n % 2) as usize]
            .push(
                Numbered {
                    n,
                    takes: 5,
                    fails: 0,
                },
                Enqueue::now(),
            )
            .await
            .unwrap();
    }
    let running = start(&queues, &recorder, 4);
    recorder.wait_for(60).await;
    // Time for a second run of anything, had a job been claimed twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await;
    let runs = recorder.runs.lock().unwrap().clone();
    assert_eq!(runs.len(), 60);
    for (n, workers) in runs.iter() {
        assert_eq!(workers.len(), 1, "job {n} ran {workers:?}");
    }
    let by_first = runs.values().filter(|w| w[0] == "first").count();
    assert!(
        (1..60).contains(&by_first),
        "both workers took jobs ({by_first} of 60 by the first)"
    );
    let counts = queues[0].counts().await.unwrap();
    assert_eq!(counts, vec![("Done".to_owned(), 60)]);
}

async fn a_key_pushed_twice_queues_one_job(queue: JobQueue<Numbered>) {
    let recorder = Arc::new(Recorder::default());
    for _ in 0..3 {
        queue
            .push(job(1), Enqueue::now().key("chore:sweep:600"))
            .await
            .unwrap();
    }
    queue
        .push(job(2), Enqueue::now().key("chore:sweep:610"))
        .await
        .unwrap();
    let running = start(std::slice::from_ref(&queue), &recorder, 2);
    recorder.wait_for(2).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Pushed again after it ran: still one job for that key.
    queue
        .push(job(1), Enqueue::now().key("chore:sweep:600"))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    running.stop().await;
    let runs = recorder.runs.lock().unwrap();
    assert_eq!(runs.get(&1).map(Vec::len), Some(1));
    assert_eq!(runs.get(&2).map(Vec::len), Some(1));
}

async fn a_job_due_later_waits_for_its_time(queue: JobQueue<Numbered>) {
    let recorder = Arc::new(Recorder::default());
    let later = time::OffsetDateTime::now_utc() + time::Duration::seconds(3);
    queue.push(job(7), Enqueue::now().at(later)).await.unwrap();
    queue.push(job(8), Enqueue::now()).await.unwrap();
    let running = start(std::slice::from_ref(&queue), &recorder, 2);
    recorder.wait_for(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !recorder.runs.lock().unwrap().contains_key(&7),
        "ran before its time"
    );
    recorder.wait_for(2).await;
    assert!(time::OffsetDateTime::now_utc() >= later - time::Duration::seconds(1));
    running.stop().await;
}

async fn a_stopping_worker_finishes_the_job_in_hand(queue: JobQueue<Numbered>) {
    let recorder = Arc::new(Recorder::default());
    queue
        .push(
            Numbered {
                n: 1,
                takes: 1500,
                fails: 0,
            },
            Enqueue::now(),
        )
        .await
        .unwrap();
    let running = start(std::slice::from_ref(&queue), &recorder, 1);
    // Claimed and running, not finished.
    for _ in 0..200 {
        if queue
            .counts()
            .await
            .unwrap()
            .iter()
            .any(|(status, _)| status == "Running")
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(recorder.finished(), 0);
    running.stop().await;
    assert_eq!(
        recorder.finished(),
        1,
        "the job in hand finished before stop returned"
    );
    assert_eq!(
        queue.counts().await.unwrap(),
        vec![("Done".to_owned(), 1)],
        "and was recorded"
    );
}

async fn a_failed_job_is_tried_again(queue: JobQueue<Numbered>) {
    let recorder = Arc::new(Recorder::default());
    queue
        .push(
            Numbered {
                n: 3,
                takes: 0,
                fails: 2,
            },
            Enqueue::now().attempts(5),
        )
        .await
        .unwrap();
    let running = start(std::slice::from_ref(&queue), &recorder, 1);
    for _ in 0..500 {
        if recorder.runs.lock().unwrap().get(&3).map_or(0, Vec::len) >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    running.stop().await;
    assert_eq!(recorder.runs.lock().unwrap()[&3].len(), 3);
    assert_eq!(queue.counts().await.unwrap(), vec![("Done".to_owned(), 1)]);
}

/// One run as the handler saw it: the job's number, the attempt, whether it was the last, and
/// the trace context stored with the job.
type Seen = (u32, usize, bool, Option<String>);

/// Records each run's attempt as the handler saw it, then takes the job's time; jobs with
/// `fails` > 0 always fail.
#[derive(Default)]
struct Attempts(Mutex<Vec<Seen>>);

#[async_trait]
impl JobHandler<Numbered> for Attempts {
    async fn handle(&self, _: Numbered) -> Result<(), String> {
        unreachable!("the worker calls handle_attempt")
    }

    async fn handle_attempt(&self, job: Numbered, attempt: JobAttempt) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .push((job.n, attempt.number, attempt.is_last(), attempt.trace));
        tokio::time::sleep(Duration::from_millis(job.takes)).await;
        if job.fails > 0 {
            return Err("always fails".to_owned());
        }
        Ok(())
    }
}

async fn the_backlog_and_each_attempt_are_seen(queue: JobQueue<Numbered>) {
    // A whole second: the queue rounds a due time up to the next one.
    let now = time::OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .unwrap();
    queue
        .push(
            job(1),
            Enqueue::now()
                .at(now - time::Duration::seconds(40))
                .trace("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        )
        .await
        .unwrap();
    let failing = Numbered {
        n: 2,
        takes: 0,
        fails: 1,
    };
    queue
        .push(failing, Enqueue::now().attempts(2))
        .await
        .unwrap();
    queue
        .push(job(3), Enqueue::now().at(now + time::Duration::hours(1)))
        .await
        .unwrap();
    let before = queue.stats().await.unwrap();
    assert_eq!(
        before.waiting, 2,
        "the job due later is not waiting: {before:?}"
    );
    assert!(
        (40..100).contains(&before.oldest_waiting_seconds),
        "the oldest has waited 40 s: {before:?}"
    );
    assert_eq!((before.running, before.dead), (0, 0));

    let attempts = Arc::new(Attempts::default());
    let stop = CancellationToken::new();
    let worker = {
        let (queue, handler, stopped) = (queue.clone(), attempts.clone(), stop.clone());
        tokio::spawn(async move {
            queue
                .work(1, handler, async move { stopped.cancelled().await })
                .await
                .unwrap();
        })
    };
    for _ in 0..500 {
        if queue.stats().await.unwrap().dead == 1 && attempts.0.lock().unwrap().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.cancel();
    worker.await.unwrap();
    let mut seen = attempts.0.lock().unwrap().clone();
    seen.sort();
    let trace = Some("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".to_owned());
    assert_eq!(
        seen,
        vec![
            (1, 1, false, trace),
            (2, 1, false, None),
            (2, 2, true, None),
        ]
    );
    assert_eq!(
        queue.stats().await.unwrap(),
        QueueStats {
            waiting: 0,
            oldest_waiting_seconds: 0,
            running: 0,
            dead: 1,
        }
    );
}

/// The numbers of the jobs `queue` lists in `state`, with their states.
async fn listed(queue: &JobQueue<Numbered>, state: Option<JobState>) -> Vec<(u32, JobState)> {
    queue
        .list(state, 0, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| {
            let job: Numbered = serde_json::from_str(&r.job).unwrap();
            (job.n, r.state)
        })
        .collect()
}

async fn count(queue: &JobQueue<Numbered>, state: JobState) -> i64 {
    queue
        .state_counts()
        .await
        .unwrap()
        .into_iter()
        .find(|(s, _)| *s == state)
        .unwrap()
        .1
}

/// What the admin's Jobs page does: jobs listed and counted by state; a queued job discarded
/// (once); a job that failed its only attempt is dead, with its error, until it is retried,
/// which makes it due again with its attempts counted afresh (a job not failed or dead is not
/// retried); the retried job then runs and is done.
async fn an_admin_lists_retries_and_discards_jobs(queue: JobQueue<Numbered>) {
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    queue
        .push(job(20), Enqueue::now().key("later").at(later))
        .await
        .unwrap();
    queue
        .push(job(21), Enqueue::now().key("unwanted"))
        .await
        .unwrap();
    let failing = Numbered {
        n: 22,
        takes: 0,
        fails: 1,
    };
    queue
        .push(failing, Enqueue::now().key("failing").attempts(1))
        .await
        .unwrap();
    let mut all = listed(&queue, None).await;
    all.sort_by_key(|(n, _)| *n);
    assert_eq!(
        all,
        [
            (20, JobState::Scheduled),
            (21, JobState::Queued),
            (22, JobState::Queued)
        ]
    );
    assert_eq!(count(&queue, JobState::Queued).await, 2);
    assert_eq!(count(&queue, JobState::Scheduled).await, 1);

    let id_of = async |key: &str| {
        queue
            .list(None, 0, 100)
            .await
            .unwrap()
            .into_iter()
            .find(|r| r.key.as_deref() == Some(key))
            .map(|r| r.id)
            .unwrap()
    };
    let (unwanted, later, failing) = (
        id_of("unwanted").await,
        id_of("later").await,
        id_of("failing").await,
    );
    assert!(queue.discard(&unwanted).await.unwrap());
    assert!(!queue.discard(&unwanted).await.unwrap(), "gone already");
    assert!(!queue.retry(&later).await.unwrap(), "not failed");

    let recorder = Arc::new(Recorder::default());
    let running = start(std::slice::from_ref(&queue), &recorder, 1);
    for _ in 0..500 {
        if count(&queue, JobState::Dead).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop().await;
    let dead = queue.list(Some(JobState::Dead), 0, 10).await.unwrap();
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(dead[0].id, failing);
    assert_eq!(dead[0].key.as_deref(), Some("failing"));
    assert_eq!((dead[0].attempts, dead[0].max_attempts), (1, 1));
    assert!(
        dead[0]
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("job 22 failed")),
        "{dead:?}"
    );

    assert!(queue.retry(&failing).await.unwrap());
    assert!(!queue.retry(&failing).await.unwrap(), "queued, not failed");
    assert_eq!(
        listed(&queue, Some(JobState::Queued)).await,
        [(22, JobState::Queued)]
    );
    let retried = queue.list(Some(JobState::Queued), 0, 10).await.unwrap();
    assert_eq!(retried[0].attempts, 0);

    let running = start(std::slice::from_ref(&queue), &recorder, 1);
    for _ in 0..500 {
        if count(&queue, JobState::Done).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    running.stop().await;
    assert_eq!(
        listed(&queue, Some(JobState::Done)).await,
        [(22, JobState::Done)]
    );
    assert_eq!(recorder.runs.lock().unwrap()[&22].len(), 2);
    assert_eq!(listed(&queue, None).await, [(20, JobState::Scheduled)]);
}

mod sqlite {
    use super::*;
    use quickscale_adapters::sqlite::Database;

    async fn database(dir: &tempfile::TempDir) -> Database {
        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        let db = Database::open(&url).await.unwrap();
        db.migrate().await.unwrap();
        db
    }

    /// Two handles on one file, as two processes have.
    async fn two(dir: &tempfile::TempDir) -> [JobQueue<Numbered>; 2] {
        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        let first = database(dir).await;
        let second = Database::open(&url).await.unwrap();
        [
            JobQueue::sqlite(&first, "numbers", settings()),
            JobQueue::sqlite(&second, "numbers", settings()),
        ]
    }

    async fn one() -> (tempfile::TempDir, JobQueue<Numbered>) {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        (dir, JobQueue::sqlite(&db, "numbers", settings()))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_workers_run_each_job_once() {
        let dir = tempfile::tempdir().unwrap();
        super::two_workers_run_each_job_once(two(&dir).await).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_pushed_twice_queues_one_job() {
        let (_dir, queue) = one().await;
        super::a_key_pushed_twice_queues_one_job(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_due_later_waits_for_its_time() {
        let (_dir, queue) = one().await;
        super::a_job_due_later_waits_for_its_time(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopping_worker_finishes_the_job_in_hand() {
        let (_dir, queue) = one().await;
        super::a_stopping_worker_finishes_the_job_in_hand(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_job_is_tried_again() {
        let (_dir, queue) = one().await;
        super::a_failed_job_is_tried_again(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_backlog_and_each_attempt_are_seen() {
        let (_dir, queue) = one().await;
        super::the_backlog_and_each_attempt_are_seen(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_admin_lists_retries_and_discards_jobs() {
        let (_dir, queue) = one().await;
        super::an_admin_lists_retries_and_discards_jobs(queue).await;
    }

    /// A worker whose queue fails starts again (here the jobs' table is gone for a moment; in
    /// life a database locked past its timeout): a job pushed afterwards still runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_carries_on_after_its_database_fails() {
        let dir = tempfile::tempdir().unwrap();
        let db = database(&dir).await;
        let queue = JobQueue::sqlite(&db, "numbers", settings());
        let recorder = Arc::new(Recorder::default());
        let running = start(std::slice::from_ref(&queue), &recorder, 1);
        queue.push(job(1), Enqueue::now()).await.unwrap();
        recorder.wait_for(1).await;

        let url = format!("sqlite://{}", dir.path().join("app.db").display());
        let side = sqlx::SqlitePool::connect(&url).await.unwrap();
        sqlx::query("ALTER TABLE Jobs RENAME TO JobsAway")
            .execute(&side)
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(500)).await;
        sqlx::query("ALTER TABLE JobsAway RENAME TO Jobs")
            .execute(&side)
            .await
            .unwrap();
        queue.push(job(2), Enqueue::now()).await.unwrap();
        recorder.wait_for(2).await;
        running.stop().await;
        assert_eq!(recorder.runs.lock().unwrap()[&2].len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_in_memory_queue_runs_jobs() {
        let queue = JobQueue::in_memory("numbers", settings()).await.unwrap();
        super::a_key_pushed_twice_queues_one_job(queue).await;
    }
}

mod postgres {
    use super::*;
    use quickscale_adapters::postgres::Database;
    use quickscale_adapters::testing::postgres::test_database_url;

    async fn two() -> Option<[JobQueue<Numbered>; 2]> {
        let url = test_database_url().await?;
        let first = Database::connect(&url, 5).await.unwrap();
        first.migrate().await.unwrap();
        let second = Database::connect(&url, 5).await.unwrap();
        Some([
            JobQueue::postgres(&first, "numbers", settings()),
            JobQueue::postgres(&second, "numbers", settings()),
        ])
    }

    async fn one() -> Option<JobQueue<Numbered>> {
        let [queue, _] = two().await?;
        Some(queue)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_workers_run_each_job_once() {
        let Some(queues) = two().await else { return };
        super::two_workers_run_each_job_once(queues).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_key_pushed_twice_queues_one_job() {
        let Some(queue) = one().await else { return };
        super::a_key_pushed_twice_queues_one_job(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_job_due_later_waits_for_its_time() {
        let Some(queue) = one().await else { return };
        super::a_job_due_later_waits_for_its_time(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_stopping_worker_finishes_the_job_in_hand() {
        let Some(queue) = one().await else { return };
        super::a_stopping_worker_finishes_the_job_in_hand(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_job_is_tried_again() {
        let Some(queue) = one().await else { return };
        super::a_failed_job_is_tried_again(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_backlog_and_each_attempt_are_seen() {
        let Some(queue) = one().await else { return };
        super::the_backlog_and_each_attempt_are_seen(queue).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_admin_lists_retries_and_discards_jobs() {
        let Some(queue) = one().await else { return };
        super::an_admin_lists_retries_and_discards_jobs(queue).await;
    }
}

/// The same cases on Redis: each test's queue has a name (its keys' prefix) of its own, and its
/// keys are deleted when it passes.
mod redis {
    use super::*;
    use quickscale_adapters::testing::redis::{OwnRedis, delete_prefixed, test_redis_url};

    /// A queue's name in Redis, for one test.
    struct Namespace {
        url: String,
        name: String,
    }

    impl Namespace {
        async fn new() -> Option<Self> {
            Some(Namespace {
                url: test_redis_url().await?,
                name: format!("test-jobs-{}", uuid::Uuid::new_v4().simple()),
            })
        }

        /// A handle on the queue, with a connection of its own (as another process has).
        async fn queue(&self) -> JobQueue<Numbered> {
            JobQueue::redis(&self.url, &self.name, settings())
                .await
                .unwrap()
        }

        /// Deletes the queue's keys.
        async fn clean(self) {
            delete_prefixed(&self.url, &format!("{}:", self.name))
                .await
                .unwrap();
        }
    }

    macro_rules! on_one_queue {
        ($($case:ident),* $(,)?) => {$(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let Some(namespace) = Namespace::new().await else { return };
                super::$case(namespace.queue().await).await;
                namespace.clean().await;
            }
        )*};
    }

    on_one_queue!(
        a_key_pushed_twice_queues_one_job,
        a_job_due_later_waits_for_its_time,
        a_stopping_worker_finishes_the_job_in_hand,
        a_failed_job_is_tried_again,
        the_backlog_and_each_attempt_are_seen,
        an_admin_lists_retries_and_discards_jobs,
    );

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn two_workers_run_each_job_once() {
        let Some(namespace) = Namespace::new().await else {
            return;
        };
        let queues = [namespace.queue().await, namespace.queue().await];
        super::two_workers_run_each_job_once(queues).await;
        namespace.clean().await;
    }

    /// The runs `attempts` saw: the job, the attempt, and whether it was the last.
    fn seen(attempts: &Attempts) -> Vec<(u32, usize, bool)> {
        let mut seen: Vec<_> = attempts
            .0
            .lock()
            .unwrap()
            .iter()
            .map(|(n, number, last, _)| (*n, *number, *last))
            .collect();
        seen.sort_unstable();
        seen
    }

    /// A worker that dies mid-job has used up that attempt: the job goes back to the queue once
    /// the worker misses its heartbeats, is run again as the next attempt, and, past its last,
    /// is left dead without running again.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_that_dies_uses_up_its_attempt() {
        let Some(namespace) = Namespace::new().await else {
            return;
        };
        let fast = QueueSettings {
            heartbeat: Duration::from_secs(1),
            ..settings()
        };
        let queue = JobQueue::<Numbered>::redis(&namespace.url, &namespace.name, fast)
            .await
            .unwrap();
        // Job 1 may run twice, job 2 once; a run takes far longer than the test.
        let slow = |n| Numbered {
            n,
            takes: 600_000,
            fails: 0,
        };
        queue
            .push(slow(1), Enqueue::now().attempts(2))
            .await
            .unwrap();
        queue
            .push(slow(2), Enqueue::now().attempts(1))
            .await
            .unwrap();
        let attempts = Arc::new(Attempts::default());
        let spawn = || {
            let (queue, handler) = (queue.clone(), attempts.clone());
            tokio::spawn(async move {
                queue
                    .work(2, handler, std::future::pending())
                    .await
                    .unwrap();
            })
        };
        let first = spawn();
        for _ in 0..500 {
            if seen(&attempts).len() == 2 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(seen(&attempts), [(1, 1, false), (2, 1, true)]);
        // Killed: no more heartbeats, no acknowledgement.
        first.abort();
        let _ = first.await;

        let second = spawn();
        for _ in 0..1500 {
            if seen(&attempts).len() == 3 && queue.stats().await.unwrap().dead == 1 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            seen(&attempts),
            [(1, 1, false), (1, 2, true), (2, 1, true)],
            "job 1 ran again as its second attempt; job 2 had none left"
        );
        let dead = queue.list(Some(JobState::Dead), 0, 10).await.unwrap();
        assert_eq!(dead.len(), 1, "{dead:?}");
        assert_eq!((dead[0].attempts, dead[0].max_attempts), (2, 1));
        assert!(
            dead[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("no attempts left")),
            "{dead:?}"
        );
        assert_eq!(queue.stats().await.unwrap().running, 1, "job 1, again");
        second.abort();
        let _ = second.await;
        namespace.clean().await;
    }

    /// Redis keeps its jobs in memory: done jobs are listed newest first, and those finished
    /// before a cutoff are deleted (jobs not done stay).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn done_jobs_are_forgotten_after_a_while() {
        let Some(namespace) = Namespace::new().await else {
            return;
        };
        let queue = namespace.queue().await;
        assert!(queue.is_redis());
        let recorder = Arc::new(Recorder::default());
        for n in 0..3 {
            queue.push(job(n), Enqueue::now()).await.unwrap();
        }
        let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
        queue.push(job(9), Enqueue::now().at(later)).await.unwrap();
        let running = start(std::slice::from_ref(&queue), &recorder, 1);
        recorder.wait_for(3).await;
        running.stop().await;
        assert_eq!(listed(&queue, Some(JobState::Done)).await.len(), 3);
        let an_hour_ago = time::OffsetDateTime::now_utc() - time::Duration::hours(1);
        assert_eq!(queue.forget_finished(an_hour_ago).await.unwrap(), 0);
        let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(2);
        assert_eq!(queue.forget_finished(soon).await.unwrap(), 3);
        assert_eq!(listed(&queue, Some(JobState::Done)).await, []);
        assert_eq!(count(&queue, JobState::Done).await, 0);
        assert_eq!(listed(&queue, None).await, [(9, JobState::Scheduled)]);
        namespace.clean().await;
    }

    /// A worker that loses Redis (the server restarted, empty) carries on once it is back: a
    /// job pushed afterwards runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_worker_carries_on_when_redis_comes_back() {
        let Some(mut server) = OwnRedis::start() else {
            return;
        };
        let queue = JobQueue::<Numbered>::redis(&server.url(), "numbers", settings())
            .await
            .unwrap();
        let recorder = Arc::new(Recorder::default());
        let running = start(std::slice::from_ref(&queue), &recorder, 1);
        queue.push(job(1), Enqueue::now()).await.unwrap();
        recorder.wait_for(1).await;

        server.stop();
        tokio::time::sleep(Duration::from_millis(500)).await;
        assert!(queue.stats().await.is_err(), "Redis is down");
        server.start_again().unwrap();
        let mut pushed = false;
        for _ in 0..100 {
            if queue.push(job(2), Enqueue::now()).await.is_ok() {
                pushed = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert!(pushed, "Redis answers again");
        recorder.wait_for(2).await;
        running.stop().await;
        assert_eq!(recorder.runs.lock().unwrap()[&2].len(), 1);
    }

    /// More delayed jobs fall due at once than one Lua `unpack` takes (about 8,000: apalis'
    /// fetch moves them all in one): the worker still takes them, each once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_backlog_of_due_jobs_is_worked() {
        let Some(namespace) = Namespace::new().await else {
            return;
        };
        let queue = namespace.queue().await;
        const JOBS: u32 = 8_500;
        let soon = time::OffsetDateTime::now_utc() + time::Duration::seconds(1);
        for n in 0..JOBS {
            queue.push(job(n), Enqueue::now().at(soon)).await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(2100)).await;
        assert_eq!(queue.stats().await.unwrap().waiting, u64::from(JOBS));
        let recorder = Arc::new(Recorder::default());
        let running = start(std::slice::from_ref(&queue), &recorder, 4);
        for _ in 0..1200 {
            if recorder.finished() == JOBS as usize {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        running.stop().await;
        let runs = recorder.runs.lock().unwrap().clone();
        assert_eq!(runs.len(), JOBS as usize, "every job ran");
        assert!(runs.values().all(|workers| workers.len() == 1), "once");
        namespace.clean().await;
    }
}
