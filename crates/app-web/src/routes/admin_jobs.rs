//! Admin > Jobs: the job queue's jobs by state (queued, scheduled, running, failed, dead, done),
//! each with its kind, attempts and last error; a failed or dead job can be retried, and a job
//! no worker holds can be discarded (both audited).

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_adapters::jobs::{JobRecord, JobState};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::audit::{self, AuditAction};
use crate::error::AppError;
use crate::extract::AdminUser;
use crate::paging::Paging;
use crate::queue::Job;
use crate::routes::admin::LOG_PAGE_SIZE;
use crate::session;
use crate::state::AppState;
use crate::view::{Page, date_time};

/// The page's filter: a state's name, or empty for every job not done.
#[derive(Debug, Default, Deserialize, Serialize)]
pub struct JobsFilter {
    #[serde(default)]
    state: String,
}

#[derive(Debug, Serialize)]
struct JobView {
    id: String,
    kind: &'static str,
    state: &'static str,
    attempts: i64,
    max_attempts: i64,
    due: String,
    last_error: String,
    retryable: bool,
    discardable: bool,
}

impl JobView {
    fn of(record: &JobRecord) -> Self {
        let kind = serde_json::from_str::<Job>(&record.job).map_or("unknown", |job| job.kind());
        JobView {
            id: record.id.clone(),
            kind,
            state: record.state.as_str(),
            attempts: record.attempts,
            max_attempts: record.max_attempts,
            due: time::OffsetDateTime::from_unix_timestamp(record.run_at)
                .map(date_time)
                .unwrap_or_default(),
            last_error: record.last_error.clone().unwrap_or_default(),
            retryable: matches!(record.state, JobState::Failed | JobState::Dead),
            discardable: record.state != JobState::Running,
        }
    }
}

/// The queue did not answer: a server error that names it.
fn queue_error(error: quickscale_adapters::jobs::JobError) -> AppError {
    AppError::Internal(anyhow::anyhow!("the job queue: {error}"))
}

/// How many jobs are in one state, as the pages show it.
#[derive(Debug, Serialize)]
pub struct StateCount {
    state: &'static str,
    count: i64,
}

/// The queue's jobs counted by state.
pub async fn state_counts(
    state: &AppState,
) -> Result<Vec<StateCount>, quickscale_adapters::jobs::JobError> {
    Ok(state
        .jobs()
        .queue()
        .state_counts()
        .await?
        .into_iter()
        .map(|(s, count)| StateCount {
            state: s.as_str(),
            count,
        })
        .collect())
}

pub async fn jobs(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Query(filter): Query<JobsFilter>,
    paging: Paging,
) -> Result<Response, AppError> {
    let queue = state.jobs().queue();
    let chosen = JobState::parse(&filter.state);
    let mut jobs: Vec<JobView> = queue
        .list(chosen, paging.page_offset(LOG_PAGE_SIZE), LOG_PAGE_SIZE + 1)
        .await
        .map_err(queue_error)?
        .iter()
        .map(JobView::of)
        .collect();
    let more = jobs.len() > LOG_PAGE_SIZE as usize;
    jobs.truncate(LOG_PAGE_SIZE as usize);
    let counts = state_counts(&state).await.map_err(queue_error)?;
    let states: Vec<&'static str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
    Page::new("admin/jobs.html")
        .with("jobs", &jobs)
        .with("counts", &counts)
        .with("states", &states)
        .with("filter", &filter)
        .with("pager", &paging.pager("/admin/jobs", &filter, more))
        .render(&state, &admin.viewer())
        .await
}

/// What an admin's retry or discard is about: the job's id and the page to go back to.
#[derive(Debug, Default, Deserialize)]
pub struct JobAction {
    #[serde(default)]
    state: String,
}

fn back(action: &JobAction) -> Response {
    match JobState::parse(&action.state) {
        Some(state) => Redirect::to(&format!("/admin/jobs?state={}", state.as_str())),
        None => Redirect::to("/admin/jobs"),
    }
    .into_response()
}

pub async fn retry(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Query(action): Query<JobAction>,
) -> Result<Response, AppError> {
    let retried = state.jobs().queue().retry(&id).await.map_err(queue_error)?;
    if retried {
        audit::record(
            &state,
            &admin.user,
            AuditAction::JobRetried,
            None,
            json!({ "job": id }),
            json!({ "state": "queued" }),
        )
        .await;
        session::flash(
            &admin.session,
            "success",
            format!("Job {id} is queued again."),
        )
        .await?;
    } else {
        session::flash(
            &admin.session,
            "warning",
            format!("Job {id} was not retried: only a failed or dead job can be."),
        )
        .await?;
    }
    Ok(back(&action))
}

pub async fn discard(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
    Path(id): Path<String>,
    Query(action): Query<JobAction>,
) -> Result<Response, AppError> {
    let discarded = state
        .jobs()
        .queue()
        .discard(&id)
        .await
        .map_err(queue_error)?;
    if discarded {
        audit::record(
            &state,
            &admin.user,
            AuditAction::JobDiscarded,
            None,
            json!({ "job": id }),
            json!({}),
        )
        .await;
        session::flash(
            &admin.session,
            "success",
            format!("Job {id} was discarded."),
        )
        .await?;
    } else {
        session::flash(
            &admin.session,
            "warning",
            format!("Job {id} was not discarded: it is running, or it is gone."),
        )
        .await?;
    }
    Ok(back(&action))
}
