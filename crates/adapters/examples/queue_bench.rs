//! Benchmark of the job queue, per backend (SQLite file, PostgreSQL, Redis), with 1 and 4
//! workers:
//!
//! - throughput: JOBS trivial jobs pushed first, then drained; jobs per second from the workers'
//!   start to the last job's end;
//! - latency under load: JOBS jobs pushed as fast as one producer can while the workers run;
//!   enqueue-to-finish time of each job, p50 and p99 (and that run's jobs per second).
//!
//!   cargo run --release -p quickscale-adapters --features jobs,testing --example queue_bench
//!   JOBS=2000 POLL_MS=100 cargo run ...   # fewer jobs, another idle poll interval
//!
//! PostgreSQL and Redis come from the test harness (TEST_DATABASE_URL, or a throwaway local
//! server; TEST_REDIS_URL, or a throwaway `redis-server`); without one, that backend is not
//! measured. The Redis queues are named `bench-<random>:...` and their keys deleted at the end.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use async_trait::async_trait;
use quickscale_adapters::jobs::{Enqueue, JobHandler, JobQueue, QueueSettings};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

#[derive(Debug, Serialize, Deserialize)]
struct Trivial {
    /// When it was pushed, in microseconds since the Unix epoch.
    pushed_us: u64,
}

fn now_us() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_micros() as u64
}

#[derive(Default)]
struct Tally {
    done: AtomicUsize,
    latencies_us: Mutex<Vec<u64>>,
    finished: tokio::sync::Notify,
    target: AtomicUsize,
}

#[async_trait]
impl JobHandler<Trivial> for Tally {
    async fn handle(&self, job: Trivial) -> Result<(), String> {
        let latency = now_us().saturating_sub(job.pushed_us);
        self.latencies_us.lock().unwrap().push(latency);
        if self.done.fetch_add(1, Ordering::SeqCst) + 1 == self.target.load(Ordering::SeqCst) {
            self.finished.notify_one();
        }
        Ok(())
    }
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index] as f64 / 1000.0
}

async fn push_all(queue: &JobQueue<Trivial>, jobs: usize) {
    for _ in 0..jobs {
        queue
            .push(
                Trivial {
                    pushed_us: now_us(),
                },
                Enqueue::now(),
            )
            .await
            .expect("push");
    }
}

/// Runs `workers` worker processes' worth of workers (one worker of concurrency 1 each, on
/// handles of their own) until the tally reaches `jobs`.
async fn drain(
    queues: &[JobQueue<Trivial>],
    jobs: usize,
    tally: Arc<Tally>,
    produce: bool,
) -> (Duration, Vec<u64>) {
    tally.target.store(jobs, Ordering::SeqCst);
    let finished = tally.finished.notified();
    tokio::pin!(finished);
    finished.as_mut().enable();
    let stop = CancellationToken::new();
    let started = Instant::now();
    let handles: Vec<_> = queues
        .iter()
        .map(|queue| {
            let queue = queue.clone();
            let handler: Arc<dyn JobHandler<Trivial>> = tally.clone();
            let stopped = stop.clone();
            tokio::spawn(async move {
                queue
                    .work(1, handler, async move { stopped.cancelled().await })
                    .await
                    .expect("worker");
            })
        })
        .collect();
    if produce {
        push_all(&queues[0], jobs).await;
    }
    tokio::time::timeout(Duration::from_secs(600), finished)
        .await
        .expect("all jobs finished within 10 minutes");
    let elapsed = started.elapsed();
    stop.cancel();
    for handle in handles {
        let _ = handle.await;
    }
    let mut latencies = std::mem::take(&mut *tally.latencies_us.lock().unwrap());
    latencies.sort_unstable();
    (elapsed, latencies)
}

async fn measure(backend: &str, make: impl Fn(&str) -> JobQueue<Trivial>, jobs: usize) {
    for workers in [1usize, 4] {
        let name = format!("bench-{workers}-throughput");
        let queues: Vec<_> = (0..workers).map(|_| make(&name)).collect();
        push_all(&queues[0], jobs).await;
        let (elapsed, _) = drain(&queues, jobs, Arc::new(Tally::default()), false).await;
        let throughput = jobs as f64 / elapsed.as_secs_f64();

        let name = format!("bench-{workers}-latency");
        let queues: Vec<_> = (0..workers).map(|_| make(&name)).collect();
        let (elapsed, latencies) = drain(&queues, jobs, Arc::new(Tally::default()), true).await;
        println!(
            "{backend:<10} workers={workers}  drain: {throughput:>7.0} jobs/s  |  pushed while running: {:>7.0} jobs/s, enqueue-to-finish p50 {:>8.1} ms, p99 {:>8.1} ms",
            jobs as f64 / elapsed.as_secs_f64(),
            percentile(&latencies, 0.50),
            percentile(&latencies, 0.99),
        );
    }
}

#[tokio::main]
async fn main() {
    let jobs: usize = std::env::var("JOBS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let poll_ms: u64 = std::env::var("POLL_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(500);
    let settings = QueueSettings {
        poll_interval: Duration::from_millis(poll_ms),
        ..QueueSettings::default()
    };
    println!(
        "{jobs} trivial jobs per run; idle poll {poll_ms} ms, batch {} (a worker = one process's worker, concurrency 1)",
        settings.batch_size
    );

    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    let sqlite = quickscale_adapters::sqlite::Database::open(&url)
        .await
        .unwrap();
    sqlite.migrate().await.unwrap();
    // Each worker on its own database handle, as separate processes would be.
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(
            quickscale_adapters::sqlite::Database::open(&url)
                .await
                .unwrap(),
        );
    }
    let next = AtomicUsize::new(0);
    measure(
        "sqlite",
        |name| {
            let db = &handles[next.fetch_add(1, Ordering::SeqCst) % handles.len()];
            JobQueue::sqlite(db, name, settings)
        },
        jobs,
    )
    .await;

    match quickscale_adapters::testing::postgres::test_database_url().await {
        Some(url) => {
            let db = quickscale_adapters::postgres::Database::connect(&url, 20)
                .await
                .unwrap();
            db.migrate().await.unwrap();
            let mut handles = Vec::new();
            for _ in 0..4 {
                handles.push(
                    quickscale_adapters::postgres::Database::connect(&url, 5)
                        .await
                        .unwrap(),
                );
            }
            let next = AtomicUsize::new(0);
            measure(
                "postgres",
                |name| {
                    let db = &handles[next.fetch_add(1, Ordering::SeqCst) % handles.len()];
                    JobQueue::postgres(db, name, settings)
                },
                jobs,
            )
            .await;
        }
        None => println!("postgres   not measured: no PostgreSQL server"),
    }

    match quickscale_adapters::testing::redis::test_redis_url().await {
        Some(url) => {
            let prefix = format!("bench-{}:", uuid::Uuid::new_v4().simple());
            // Each worker with a connection of its own, as separate processes would have; the
            // queues `measure` asks for by name, under this run's prefix.
            let mut connected = std::collections::HashMap::<String, Vec<JobQueue<Trivial>>>::new();
            for workers in [1usize, 4] {
                for run in ["throughput", "latency"] {
                    let name = format!("bench-{workers}-{run}");
                    for _ in 0..workers {
                        let queue = JobQueue::redis(&url, &format!("{prefix}{name}"), settings)
                            .await
                            .expect("Redis");
                        connected.entry(name.clone()).or_default().push(queue);
                    }
                }
            }
            let connected = Mutex::new(connected);
            measure(
                "redis",
                |name| {
                    connected
                        .lock()
                        .unwrap()
                        .get_mut(name)
                        .and_then(Vec::pop)
                        .expect("a connected queue")
                },
                jobs,
            )
            .await;
            quickscale_adapters::testing::redis::delete_prefixed(&url, &prefix)
                .await
                .expect("the benchmark's keys deleted");
        }
        None => println!("redis      not measured: no Redis server"),
    }
}
