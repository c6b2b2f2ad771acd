//! Admin > Jobs: the queue's jobs by state with their kind and last error, counts on the page
//! and on the admin overview; a dead job retried (due again, audited), a job discarded
//! (audited); only admins see any of it.

mod support;

use axum::http::StatusCode;
use quickscale_adapters::jobs::{Enqueue, JobState};
use quickscale_app_web::queue::Job;
use support::TestApp;
use support::api::PASSWORD;

#[tokio::test]
async fn admins_see_jobs_by_state_and_retry_or_discard_them() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/app.db", dir.path().display());
    // Web only: no worker takes the jobs this test puts on the queue.
    let app = TestApp::with(&[("DATABASE_URL", &url), ("WORKERS", "false")]).await;
    let jobs = app.state.jobs();
    let later = time::OffsetDateTime::now_utc() + time::Duration::hours(1);
    jobs.push(
        Job::DeliverEmail {
            id: uuid::Uuid::now_v7(),
        },
        Enqueue::now().key("email:later").at(later),
    )
    .await
    .unwrap();
    jobs.push(
        Job::DeliverEmail {
            id: uuid::Uuid::now_v7(),
        },
        Enqueue::now().key("email:dead").attempts(1),
    )
    .await
    .unwrap();
    // Its only attempt failed, as a worker records it.
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::query(
        "UPDATE Jobs SET status = 'Failed', attempts = 1, \
         last_result = '\"the mail server refused: 550\"' WHERE idempotency_key = 'email:dead'",
    )
    .execute(&pool)
    .await
    .unwrap();

    let mut ada = app.browser();
    ada.register("ada@example.com", PASSWORD).await;
    assert_eq!(ada.get("/admin/jobs").await.status, StatusCode::FORBIDDEN);

    let mut admin = app.browser();
    admin.login("admin@example.com", "admin-password-1").await;
    let overview = admin.get("/admin").await;
    assert_eq!(overview.text_of("home-jobs-dead").as_deref(), Some("1"));
    assert_eq!(
        overview.text_of("home-jobs-scheduled").as_deref(),
        Some("1")
    );
    let page = admin.get("/admin/jobs").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.text_of("jobs-dead").as_deref(), Some("1"));
    assert_eq!(page.text_of("jobs-scheduled").as_deref(), Some("1"));
    // Ada's confirmation email waits for a worker.
    assert_eq!(page.text_of("jobs-queued").as_deref(), Some("1"));
    assert!(page.contains("deliver_email"));

    let dead = admin.get("/admin/jobs?state=dead").await;
    assert!(
        dead.contains("the mail server refused: 550"),
        "{}",
        dead.body
    );
    let listed = jobs
        .queue()
        .list(Some(JobState::Dead), 0, 10)
        .await
        .unwrap();
    let dead_id = listed[0].id.clone();
    let scheduled_id = jobs
        .queue()
        .list(Some(JobState::Scheduled), 0, 10)
        .await
        .unwrap()[0]
        .id
        .clone();
    assert!(dead.contains(&format!("/admin/jobs/{dead_id}/retry")));
    assert!(
        !dead.contains(&format!("/admin/jobs/{scheduled_id}/")),
        "filtered to the dead"
    );

    // Retried: due now, its attempts afresh; a second retry is refused with a message.
    let retried = admin
        .post(&format!("/admin/jobs/{dead_id}/retry?state=dead"), &[])
        .await;
    assert_eq!(retried.status, StatusCode::SEE_OTHER);
    assert_eq!(retried.location(), "/admin/jobs?state=dead");
    let queued = jobs
        .queue()
        .list(Some(JobState::Queued), 0, 10)
        .await
        .unwrap();
    let again = queued
        .iter()
        .find(|r| r.id == dead_id)
        .expect("queued again");
    assert_eq!(again.attempts, 0);
    let page = admin.get("/admin/jobs").await;
    assert!(page.contains("is queued again"), "{}", page.body);
    admin
        .post(&format!("/admin/jobs/{dead_id}/retry"), &[])
        .await;
    assert!(admin.get("/admin/jobs").await.contains("was not retried"));

    // Discarded: gone.
    let discarded = admin
        .post(&format!("/admin/jobs/{scheduled_id}/discard"), &[])
        .await;
    assert_eq!(discarded.status, StatusCode::SEE_OTHER);
    assert!(
        jobs.queue()
            .list(Some(JobState::Scheduled), 0, 10)
            .await
            .unwrap()
            .is_empty()
    );
    // A user cannot.
    assert_eq!(
        ada.post(&format!("/admin/jobs/{dead_id}/discard"), &[])
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    let audit = admin.get("/admin/audit").await;
    assert!(
        audit.contains("job.retried") && audit.contains("job.discarded"),
        "{}",
        audit.body
    );
}
