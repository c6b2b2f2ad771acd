//! The service marketplace, a page per service, and running services.

use axum::Form;
use axum::extract::{FromRequest, Multipart, Path, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use quickscale_domain_credits::{AccountId, Credits, IdempotencyKey};
use quickscale_domain_identity::{User, UserId};
use quickscale_service_sdk::caps::SpendCaps;
use quickscale_service_sdk::usage::{RunStatus, ServiceRun};
use quickscale_service_sdk::{
    InputKind, RunError, RunOutcome, ServiceDescriptor, ServiceInput, UploadedFile,
};
use serde::{Deserialize, Serialize};
use tracing::Instrument as _;

use crate::error::AppError;
use crate::extract::{CurrentUser, Htmx, Viewer};
use crate::session::random_token;
use crate::state::AppState;
use crate::view::{OutputView, Page, credits_label};

/// A service as a card in the marketplace.
#[derive(Debug, Serialize)]
pub struct ServiceCard {
    pub slug: String,
    pub name: String,
    pub description: String,
    pub category: String,
    pub cost: String,
    /// "1 credit", "Free", or, for a service priced by use, "0.50 to 5 credits".
    pub cost_label: String,
    /// The Run button's words: "Run for 1 credit", "Run", "Run for up to 5 credits".
    pub run_label: String,
    /// Priced by use: a run costs from the price up to what it holds.
    pub by_use: bool,
    pub free: bool,
    pub input: &'static str,
    pub example: Option<String>,
    pub accepted_types: Vec<String>,
    pub max_input_kb: usize,
    /// Whether the viewer can pay for a run now (always true for free services).
    pub affordable: bool,
    /// `immediate` or `background` (a run goes to the queue; its page shows its progress).
    pub mode: &'static str,
    /// What a background run holds while it goes on (its price, or its declared maximum).
    pub held_label: String,
}

pub fn card(descriptor: &ServiceDescriptor, cost: Credits) -> ServiceCard {
    let held = descriptor.hold_for(cost);
    // A service priced by use costs from its price up to what a run holds.
    let by_use = held > cost;
    let free = cost.is_zero() && !by_use;
    let cost_label = if free {
        "Free".into()
    } else if by_use {
        format!("{cost} to {}", credits_label(held))
    } else {
        credits_label(cost)
    };
    ServiceCard {
        slug: descriptor.slug.clone(),
        name: descriptor.name.clone(),
        description: descriptor.description.clone(),
        category: descriptor.category.clone(),
        cost: cost.to_string(),
        run_label: if free {
            "Run".into()
        } else if by_use {
            format!("Run for up to {}", credits_label(held))
        } else {
            format!("Run for {cost_label}")
        },
        cost_label,
        by_use,
        free,
        input: descriptor.input.as_str(),
        example: descriptor.example_input.clone(),
        accepted_types: descriptor.accepted_types.clone(),
        max_input_kb: descriptor.max_input_bytes.div_ceil(1024),
        affordable: true,
        mode: descriptor.mode.as_str(),
        held_label: credits_label(held),
    }
}

async fn balance_of(state: &AppState, viewer: &Viewer) -> Result<Option<Credits>, AppError> {
    match &viewer.user {
        Some(user) => {
            let account = AccountId::new(user.id.as_uuid());
            Ok(Some(
                state
                    .credits()
                    .balance(account, state.clock().now())
                    .await?
                    .total,
            ))
        }
        None => Ok(None),
    }
}

fn priced(descriptor: &ServiceDescriptor, cost: Credits, balance: Option<Credits>) -> ServiceCard {
    let mut card = card(descriptor, cost);
    // A background run holds its price, or its declared maximum, when it is submitted.
    let needed = descriptor.hold_for(cost);
    card.affordable = needed.is_zero() || balance.is_none_or(|b| b >= needed);
    card
}

#[derive(Debug, Serialize)]
struct Category {
    name: String,
    services: Vec<ServiceCard>,
}

/// `?q=`: the marketplace's search.
#[derive(Debug, Default, Deserialize)]
pub struct Search {
    #[serde(default)]
    q: String,
}

/// True when every word of `query` appears in the service's name, description, category or
/// slug (case-insensitive).
fn matches(descriptor: &ServiceDescriptor, query: &str) -> bool {
    let haystack = format!(
        "{} {} {} {}",
        descriptor.name, descriptor.description, descriptor.category, descriptor.slug
    )
    .to_lowercase();
    query
        .to_lowercase()
        .split_whitespace()
        .all(|word| haystack.contains(word))
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    Query(search): Query<Search>,
) -> Result<Response, AppError> {
    let balance = balance_of(&state, &viewer).await?;
    let query: String = search.q.trim().chars().take(100).collect();
    let mut categories: Vec<Category> = Vec::new();
    for (descriptor, cost) in state.offered_services() {
        if !matches(descriptor, &query) {
            continue;
        }
        let card = priced(descriptor, cost, balance);
        match categories.iter_mut().find(|c| c.name == card.category) {
            Some(category) => category.services.push(card),
            None => categories.push(Category {
                name: card.category.clone(),
                services: vec![card],
            }),
        }
    }
    Page::new("services/list.html")
        .with("categories", &categories)
        .with("query", &query)
        .with("billing", &state.config().flags.enable_stripe)
        .with("balance", &balance.map(|b| b.to_string()))
        .render(&state, &viewer)
        .await
}

/// What the service page shows after a run (or a refusal).
#[derive(Debug, Default, Serialize)]
struct Outcome {
    status: String,
    succeeded: bool,
    #[serde(flatten)]
    output: OutputView,
    error: Option<String>,
    charged: String,
    charged_label: String,
    refunded: String,
    balance_after: Option<String>,
    duration_ms: Option<u64>,
    replayed: bool,
}

impl Outcome {
    fn of(run: &ServiceRun, replayed: bool) -> Self {
        Outcome {
            status: run.status.as_str().to_owned(),
            succeeded: run.status == RunStatus::Succeeded,
            output: OutputView::of(run.output.as_ref()),
            error: run.error.clone(),
            charged: run.cost.to_string(),
            charged_label: credits_label(run.cost),
            refunded: run.refunded.to_string(),
            balance_after: run.balance_after.map(|b| b.to_string()),
            duration_ms: run.duration_ms,
            replayed,
        }
    }
}

/// What the service page shows besides the service: the input, and a result or a refusal.
struct Shown<'a> {
    input: &'a str,
    outcome: Option<Outcome>,
    input_error: Option<String>,
    status: StatusCode,
    /// The balance right after this request's run, when it ran now (not a replay).
    balance: Option<Credits>,
}

impl<'a> Shown<'a> {
    fn form(input: &'a str) -> Self {
        Shown {
            input,
            outcome: None,
            input_error: None,
            status: StatusCode::OK,
            balance: None,
        }
    }

    fn refused(input: &'a str, message: String) -> Self {
        Shown {
            input,
            outcome: None,
            input_error: Some(message),
            status: StatusCode::UNPROCESSABLE_ENTITY,
            balance: None,
        }
    }

    fn result(input: &'a str, outcome: Outcome, balance: Option<Credits>) -> Self {
        Shown {
            input,
            outcome: Some(outcome),
            input_error: None,
            status: StatusCode::OK,
            balance,
        }
    }
}

async fn service_page(
    state: &AppState,
    viewer: &Viewer,
    descriptor: &ServiceDescriptor,
    shown: Shown<'_>,
    fragment: bool,
) -> Result<Response, AppError> {
    let Shown {
        input,
        outcome,
        input_error,
        status,
        balance,
    } = shown;
    let balance = match balance {
        Some(known) => Some(known),
        None => balance_of(state, viewer).await?,
    };
    let page = Page::new(if fragment {
        "services/_result.html"
    } else {
        "services/page.html"
    })
    .with(
        "service",
        &priced(
            descriptor,
            state
                .runner()
                .cost_of(&descriptor.slug)
                .unwrap_or(descriptor.cost),
            balance,
        ),
    )
    .with("balance", &balance.map(|b| b.to_string()))
    .with("input", &input)
    .with("outcome", &outcome)
    .with("input_error", &input_error)
    .with("run_key", &random_token())
    .with("billing", &state.config().flags.enable_stripe)
    .viewer_balance(balance)
    .status(status);
    if fragment {
        page.fragment(state, viewer).await
    } else {
        page.render(state, viewer).await
    }
}

fn descriptor<'a>(state: &'a AppState, slug: &str) -> Result<&'a ServiceDescriptor, AppError> {
    state
        .offered_service(slug)
        .map(|(d, _)| d)
        .ok_or(AppError::NotFound)
}

pub async fn page(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(slug): Path<String>,
) -> Result<Response, AppError> {
    let descriptor = descriptor(&state, &slug)?;
    let example = descriptor.example_input.clone().unwrap_or_default();
    service_page(&state, &viewer, descriptor, Shown::form(&example), false).await
}

#[derive(Debug, Default, Deserialize)]
struct RunForm {
    #[serde(default)]
    input: String,
    #[serde(default)]
    run_key: String,
}

/// The submitted input: text or JSON from a form, or an uploaded file.
struct Submission {
    text: String,
    file: Option<UploadedFile>,
    run_key: String,
}

async fn read_submission(state: &AppState, request: Request) -> Result<Submission, String> {
    let multipart = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| ct.starts_with("multipart/form-data"));
    if !multipart {
        let Form(form) = Form::<RunForm>::from_request(request, state)
            .await
            .map_err(|e| format!("The form could not be read: {e}"))?;
        return Ok(Submission {
            text: form.input,
            file: None,
            run_key: form.run_key,
        });
    }
    let mut multipart = Multipart::from_request(request, state)
        .await
        .map_err(|e| format!("The upload could not be read: {e}"))?;
    let mut submission = Submission {
        text: String::new(),
        file: None,
        run_key: String::new(),
    };
    while let Some(field) = multipart.next_field().await.map_err(upload_error)? {
        match field.name().unwrap_or_default() {
            "run_key" => submission.run_key = field.text().await.map_err(|e| e.to_string())?,
            "input" if field.file_name().is_some() => {
                let filename = field.file_name().unwrap_or_default().to_owned();
                let content_type = field
                    .content_type()
                    .unwrap_or("application/octet-stream")
                    .to_owned();
                let bytes = field.bytes().await.map_err(upload_error)?;
                submission.file = Some(UploadedFile {
                    filename,
                    content_type,
                    bytes: bytes.to_vec(),
                });
            }
            "input" => submission.text = field.text().await.map_err(|e| e.to_string())?,
            _ => {}
        }
    }
    Ok(submission)
}

/// Why an upload could not be read, for the person who sent it.
fn upload_error(error: axum::extract::multipart::MultipartError) -> String {
    if error.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
        format!(
            "The file is too large: uploads are limited to {} MiB.",
            crate::limits::MAX_BODY_BYTES / (1024 * 1024)
        )
    } else {
        tracing::info!(status = %error.status(), %error, "an upload could not be read");
        format!("The upload failed: {}", error.body_text())
    }
}

/// Runs a service. With HTMX the result replaces the result panel (and the balance and form
/// token update out of band); without JavaScript the whole page comes back with the result.
/// Resubmitting the same form (same `run_key`) shows the first run again and charges nothing.
pub async fn run(
    State(state): State<AppState>,
    current: CurrentUser,
    Htmx(htmx): Htmx,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, AppError> {
    // Priced and allowed as the admins' settings stand now, whichever instance changed them.
    state.current_service_settings().await?;
    let descriptor = descriptor(&state, &slug)?.clone();
    let viewer = current.viewer();
    let refuse = |input: String, message: String| {
        let state = state.clone();
        let viewer = viewer.clone();
        let descriptor = descriptor.clone();
        async move {
            service_page(
                &state,
                &viewer,
                &descriptor,
                Shown::refused(&input, message),
                htmx,
            )
            .await
        }
    };
    let submission = match read_submission(&state, request).await {
        Ok(submission) => submission,
        Err(message) => return refuse(String::new(), message).await,
    };
    let key = match IdempotencyKey::parse(format!("form:{}", submission.run_key.trim())) {
        Ok(key) if !submission.run_key.trim().is_empty() => key,
        _ => {
            return refuse(
                submission.text,
                "The form has expired; reload the page and try again.".into(),
            )
            .await;
        }
    };
    let cost = state.runner().cost_of(&slug).unwrap_or(descriptor.cost);
    if needs_verification(&state, &current.user, cost) {
        let message = "Confirm your email address to run paid services: follow the link we emailed you, or send a new one from your settings.".to_owned();
        return refuse(submission.text, message).await;
    }
    let input = match (descriptor.input, submission.file) {
        (InputKind::File, Some(file)) => ServiceInput::File(file),
        (InputKind::File, None) => {
            return refuse(String::new(), "Choose a file to upload.".into()).await;
        }
        (InputKind::Json, _) => match serde_json::from_str(&submission.text) {
            Ok(value) => ServiceInput::Json(value),
            Err(e) => {
                return refuse(submission.text, format!("That is not valid JSON: {e}.")).await;
            }
        },
        (InputKind::Text, _) => ServiceInput::Text(submission.text.clone()),
    };
    let finished = run_detached(&state, current.user.id, &slug, input, key, SpendCaps::NONE)
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("the service run task failed: {e}")))?;
    match finished {
        Ok(outcome) if outcome.run.mode == quickscale_service_sdk::RunMode::Background => {
            // A background run goes on without the request: its page shows it live.
            let location = format!("/runs/{}", outcome.run.id);
            if htmx {
                return Ok(
                    ([("HX-Redirect", location.as_str())], StatusCode::ACCEPTED).into_response()
                );
            }
            Ok(axum::response::Redirect::to(&location).into_response())
        }
        Ok(outcome) => {
            let result = Outcome::of(&outcome.run, outcome.replayed);
            // A run made now knows the balance after it; a replay shows today's balance.
            let balance = (!outcome.replayed)
                .then_some(outcome.run.balance_after)
                .flatten();
            service_page(
                &state,
                &viewer,
                &descriptor,
                Shown::result(&submission.text, result, balance),
                htmx,
            )
            .await
        }
        Err(RunError::Input(e)) => refuse(submission.text, crate::wording::sentence(&e)).await,
        Err(RunError::Insufficient(short)) => {
            let next = if state.billing_enabled() {
                "buy credits, then run it again"
            } else {
                "ask an administrator for more credits"
            };
            let message = format!(
                "This service costs {} and you have {}. Nothing was charged: {next}.",
                credits_label(short.required),
                credits_label(short.available)
            );
            refuse(submission.text, message).await
        }
        Err(RunError::InProgress) => {
            refuse(
                submission.text,
                "This run is still in progress; wait a moment and reload.".into(),
            )
            .await
        }
        Err(RunError::UnknownService(_) | RunError::Disabled) => Err(AppError::NotFound),
        Err(RunError::Storage(e)) => Err(e.into()),
        Err(RunError::Credits(e)) => Err(e.into()),
        Err(other) => Err(AppError::Internal(anyhow::anyhow!(other))),
    }
}

/// Whether the user must confirm their email address first: paid services, when
/// `REQUIRE_EMAIL_VERIFICATION` is on.
pub(crate) fn needs_verification(state: &AppState, user: &User, cost: Credits) -> bool {
    state.config().flags.require_email_verification && !user.is_verified() && !cost.is_zero()
}

/// Runs a service in its own task: if the client goes away (the request is dropped) the run
/// still finishes and its charge stands, or fails and is refunded; never charged and abandoned
/// half-way. Shutdown waits for it.
pub(crate) async fn run_detached(
    state: &AppState,
    user: UserId,
    slug: &str,
    input: ServiceInput,
    key: IdempotencyKey,
    caps: SpendCaps,
) -> Result<Result<RunOutcome, RunError>, tokio::task::JoinError> {
    let state = state.clone();
    let slug = slug.to_owned();
    let runs = state.runs().clone();
    // The run's logs carry its service and, once claimed, its id (see `observability`), inside
    // the request's span (request and user ids).
    let span = tracing::info_span!("run", service = %slug, run_id = tracing::field::Empty);
    let run = async move {
        state
            .runner()
            .run_capped(user, &slug, input, key, caps)
            .await
    }
    .instrument(span);
    if crate::observability::reports_on() {
        // A panic in the run is reported with the request's id and route.
        use sentry::SentryFutureExt as _;
        return runs.spawn(run.bind_hub(sentry::Hub::current())).await;
    }
    runs.spawn(run).await
}
