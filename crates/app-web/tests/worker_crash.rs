//! Crash safety of background runs: a worker process is killed (SIGKILL) in the middle of a
//! run. The run is ended when its lease runs out (the `recover_interrupted_runs` chore, past the
//! longest timeout), its hold released exactly once, a late delivery of its job changes
//! nothing, and `verify-ledger` finds nothing.
//!
//! The worker is this test binary run again (the ignored `worker_process` test, with
//! `QS_CRASH_WORKER_DATABASE` set): a real process, on the same database as the test's web app
//! (a SQLite file; a PostgreSQL database), which runs no workers of its own (`WORKERS=false`).

mod support;

use std::process::{Command, Stdio};
use std::time::Duration;

use async_trait::async_trait;
use quickscale_app_web::App;
use quickscale_app_web::verify::verify_ledger;
use quickscale_domain_credits::{AccountId, Credits, EntryKind, IdempotencyKey};
use quickscale_service_sdk::{
    BackgroundJob, RunContext, RunStatus, Service, ServiceDescriptor, ServiceError, ServiceInput,
    ServiceOutput,
};
use support::TestApp;
use support::api::PASSWORD;

const DATABASE: &str = "QS_CRASH_WORKER_DATABASE";

/// A background service that reports progress, then works (far longer than the test waits).
struct LongHaul;

#[async_trait]
impl Service for LongHaul {
    fn descriptor(&self) -> ServiceDescriptor {
        ServiceDescriptor::new("long_haul", "Long haul")
            .cost(Credits::whole(4))
            .background()
            .timeout(Duration::from_secs(600))
    }

    async fn execute(&self, _: ServiceInput) -> Result<ServiceOutput, ServiceError> {
        Ok(ServiceOutput::new("done"))
    }

    async fn execute_background(
        &self,
        _: ServiceInput,
        context: &RunContext,
    ) -> Result<ServiceOutput, ServiceError> {
        loop {
            let message = format!("working in process {}", std::process::id());
            context.progress(0.3, &message).await?;
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

fn app() -> App {
    App::new("Test App").service(LongHaul)
}

/// The worker process (run by the test below, never on its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the worker process of background_runs_survive_a_killed_worker"]
async fn worker_process() {
    let Ok(database) = std::env::var(DATABASE) else {
        return;
    };
    let _worker = TestApp::with_app(
        app(),
        &[("DATABASE_URL", &database), ("JOBS_POLL_MS", "50")],
    )
    .await;
    // Works until it is killed.
    tokio::time::sleep(Duration::from_secs(600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn background_runs_survive_a_killed_worker() {
    let dir = tempfile::tempdir().unwrap();
    crash_on(format!("sqlite://{}", dir.path().join("app.db").display())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_background_runs_survive_a_killed_worker() {
    let Some(url) = quickscale_adapters::testing::postgres::test_database_url().await else {
        return;
    };
    crash_on(url).await;
}

async fn crash_on(database: String) {
    let web = TestApp::with_app(
        app(),
        &[
            ("DATABASE_URL", &database),
            ("WORKERS", "false"),
            ("WELCOME_CREDITS", "10"),
        ],
    )
    .await;
    let mut ada = web.browser();
    ada.register("ada@example.com", PASSWORD).await;
    let user = web.user("ada@example.com").await;
    let account = AccountId::new(user.id.as_uuid());

    let mut worker = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "worker_process", "--ignored"])
        .env(DATABASE, &database)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();

    let submitted = web
        .state
        .runner()
        .run(
            user.id,
            "long_haul",
            ServiceInput::Text("go".into()),
            IdempotencyKey::parse("crash-1").unwrap(),
        )
        .await
        .unwrap();
    let id = submitted.run.id;
    let usage = &web.state.stores().usage;
    let mut running = false;
    for _ in 0..600 {
        let run = usage.get(user.id, id).await.unwrap().unwrap();
        if run.status == RunStatus::Running && run.progress.is_some() {
            running = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(running, "the worker process never started the run");
    let run = usage.get(user.id, id).await.unwrap().unwrap();
    assert_eq!(
        run.progress.unwrap().message,
        format!("working in process {}", worker.id()),
        "the worker process runs it, not the web app"
    );

    // kill -9 in the middle of the run.
    worker.kill().unwrap();
    worker.wait().unwrap();
    let stranded = usage.get(user.id, id).await.unwrap().unwrap();
    assert_eq!(stranded.status, RunStatus::Running);
    let holds = web.state.credits().open_holds(account).await.unwrap();
    assert_eq!(holds.len(), 1, "the hold outlives the worker");

    // The lease runs out: the recovery ends the run and releases its hold, once however often
    // it runs (two instances' chores at once).
    let past_the_lease = web.state.clock().now() + time::Duration::minutes(20);
    let (first, second) = tokio::join!(
        web.state.runner().recover_interrupted(past_the_lease),
        web.state.runner().recover_interrupted(past_the_lease)
    );
    assert!(first.unwrap() + second.unwrap() >= 1);
    let ended = usage.get(user.id, id).await.unwrap().unwrap();
    assert_eq!(ended.status, RunStatus::Failed);
    assert_eq!(
        (ended.cost, ended.refunded),
        (Credits::ZERO, Credits::whole(4))
    );

    // The queue hands the job to another worker later: it changes nothing.
    let late = web
        .state
        .runner()
        .work_background(BackgroundJob {
            run: id,
            user: user.id.as_uuid(),
            input: ServiceInput::Text("go".into()),
        })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(late.status, RunStatus::Failed);

    let snapshot = web.state.credits().snapshot(account).await.unwrap();
    let count = |kind| snapshot.entries.iter().filter(|e| e.kind == kind).count();
    assert_eq!(
        (
            count(EntryKind::Hold),
            count(EntryKind::Release),
            count(EntryKind::Settle)
        ),
        (1, 1, 0),
        "held once, released once"
    );
    assert!(
        web.state
            .credits()
            .open_holds(account)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        web.state
            .credits()
            .balance(account, web.state.clock().now())
            .await
            .unwrap()
            .total,
        Credits::whole(10)
    );
    let report = verify_ledger(web.state.stores(), |_| {}).await.unwrap();
    assert!(report.findings.is_empty(), "{:?}", report.findings);
}
