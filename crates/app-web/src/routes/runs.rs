//! A service run's own page: live status of a background run (queued, running with its
//! progress, then its result), a Cancel button while it is not over. HTMX polls the status box;
//! without JavaScript the page refreshes itself until the run is over.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use quickscale_service_sdk::usage::{RunStatus, ServiceRun};
use quickscale_service_sdk::{RunError, RunMode};
use serde::Serialize;
use uuid::Uuid;

use crate::error::AppError;
use crate::extract::{CurrentUser, Htmx};
use crate::state::AppState;
use crate::view::{OutputView, Page, credits_label};
use crate::wording::sentence;

/// What the run page shows.
#[derive(Debug, Serialize)]
pub struct RunPage {
    id: String,
    service: String,
    slug: String,
    status: &'static str,
    label: &'static str,
    finished: bool,
    cancellable: bool,
    background: bool,
    percent: Option<u16>,
    message: String,
    #[serde(flatten)]
    output: OutputView,
    error: Option<String>,
    held: String,
    charged: String,
    refunded: String,
    /// Whether anything came back: the hold's rest (or all of it), or a refund.
    returned: bool,
    /// What the user can spend right after the run ended (empty while it goes on).
    balance_after: String,
}

/// How a status reads for people.
pub fn status_label(status: RunStatus) -> &'static str {
    match status {
        RunStatus::Queued => "Queued",
        RunStatus::Running => "Running",
        RunStatus::Succeeded => "Done",
        RunStatus::Failed => "Failed",
        RunStatus::TimedOut => "Timed out",
        RunStatus::Rejected => "Rejected",
        RunStatus::Cancelled => "Cancelled",
        _ => "Unknown",
    }
}

impl RunPage {
    pub fn of(run: &ServiceRun, name: &str) -> Self {
        let finished = run.status.is_final();
        RunPage {
            id: run.id.to_string(),
            service: name.to_owned(),
            slug: run.service.clone(),
            status: run.status.as_str(),
            label: status_label(run.status),
            finished,
            cancellable: !finished && run.mode == RunMode::Background,
            background: run.mode == RunMode::Background,
            percent: run.progress.as_ref().map(|p| p.percent()),
            message: run
                .progress
                .as_ref()
                .map(|p| p.message.clone())
                .unwrap_or_default(),
            output: OutputView::of(run.output.as_ref()),
            error: run.error.as_ref().map(sentence),
            held: if finished {
                String::new()
            } else {
                credits_label(run.cost)
            },
            charged: credits_label(if finished {
                run.cost
            } else {
                quickscale_service_sdk::Credits::ZERO
            }),
            refunded: credits_label(run.refunded),
            returned: !run.refunded.is_zero(),
            balance_after: run
                .balance_after
                .filter(|_| finished)
                .map(|b| b.to_string())
                .unwrap_or_default(),
        }
    }
}

async fn own_run(
    state: &AppState,
    current: &CurrentUser,
    id: &str,
) -> Result<ServiceRun, AppError> {
    let id = Uuid::parse_str(id).map_err(|_| AppError::NotFound)?;
    state
        .stores()
        .usage
        .get(current.user.id, id)
        .await?
        .ok_or(AppError::NotFound)
}

fn service_name(state: &AppState, slug: &str) -> String {
    state
        .registry()
        .get(slug)
        .map_or_else(|| slug.to_owned(), |r| r.descriptor.name.clone())
}

/// `GET /runs/{id}`: the page, or (for HTMX's poll) the status box alone.
pub async fn page(
    State(state): State<AppState>,
    current: CurrentUser,
    Htmx(htmx): Htmx,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let run = own_run(&state, &current, &id).await?;
    let view = RunPage::of(&run, &service_name(&state, &run.service));
    if htmx {
        return Page::new("runs/_poll.html")
            .with("run", &view)
            .fragment(&state, &current.viewer())
            .await;
    }
    Page::new("runs/run.html")
        .with("run", &view)
        .render(&state, &current.viewer())
        .await
}

/// `POST /runs/{id}/cancel`: cancels a queued or running background run (its hold released),
/// then shows its page.
pub async fn cancel(
    State(state): State<AppState>,
    current: CurrentUser,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let run = own_run(&state, &current, &id).await?;
    match state.runner().cancel(current.user.id, run.id).await {
        Ok(_) | Err(RunError::NotCancellable) => {}
        Err(RunError::Storage(e)) => return Err(e.into()),
        Err(RunError::Credits(e)) => return Err(e.into()),
        Err(other) => return Err(AppError::Internal(anyhow::anyhow!(other))),
    }
    Ok(Redirect::to(&format!("/runs/{}", run.id)).into_response())
}
