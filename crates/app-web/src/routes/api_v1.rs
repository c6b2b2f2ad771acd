//! The JSON API (`/api/v1`, when `ENABLE_API` is on): the key's account and balance, the services,
//! running a service, and the run history. Every request carries an API key; errors are problem
//! details. See docs/api.md.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use quickscale_domain_credits::{AccountId, Credits, IdempotencyKey};
use quickscale_service_sdk::caps::{CapExceeded, CapKind, month_start};
use quickscale_service_sdk::{
    InputKind, RunError, RunMode, RunQuery, RunStatus, ServiceDescriptor, ServiceInput, ServiceRun,
    UploadedFile,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use uuid::Uuid;

use crate::api::key_bounds::key_caps;
use crate::api::problem::{INSUFFICIENT_CREDITS, KEY_MONTHLY_CAP, PLAN_MONTHLY_API_LIMIT};
use crate::api::{ApiKeyAuth, ApiProblem};
use crate::paging::Paging;
use crate::view::credits_label;

mod credits;
mod cursor;
mod doc;
mod purchases;
mod webhook_doc;
use crate::state::AppState;
use cursor::List;

/// Any other address under `/api/`: a problem document, not the HTML 404 page.
pub async fn unknown() -> ApiProblem {
    ApiProblem::not_found("API endpoint")
}

/// The API's routes, nested under `/api/v1`.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/me", get(me))
        .route("/services", get(services))
        .route("/services/{slug}", get(service))
        .route("/services/{slug}/runs", post(run))
        .route("/runs", get(runs))
        .route("/runs/{id}", get(one_run))
        .route("/runs/{id}/cancel", post(cancel_run))
        .route("/balance", get(credits::balance))
        .route("/ledger", get(credits::ledger))
        .route("/usage", get(credits::usage))
        .route("/packs", get(purchases::packs))
        .route("/checkout", post(purchases::checkout))
        .route("/payments", get(purchases::payments))
        .route("/openapi.json", get(openapi))
        .fallback(unknown)
        .method_not_allowed_fallback(|| async {
            ApiProblem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This endpoint does not accept that method.",
            )
        })
}

type ApiResult = Result<Response, ApiProblem>;

/// The key's user and balance.
#[derive(Serialize, ToSchema)]
struct Me {
    id: Uuid,
    email: String,
    display_name: String,
    email_verified: bool,
    /// Credits, as a decimal string ("99", "0.5").
    balance: String,
    /// Usable credits per kind of grant (`welcome`, `purchase`, `subscription`, `admin`).
    balance_by_kind: BTreeMap<String, String>,
    next_expiry: Option<Expiry>,
    key: KeyRef,
}

/// When the next credits expire, and how many.
#[derive(Serialize, ToSchema)]
struct Expiry {
    /// RFC 3339.
    at: String,
    credits: String,
}

/// The API key the request was made with, its limits, and what it spent this calendar month
/// (UTC).
#[derive(Serialize, ToSchema)]
struct KeyRef {
    id: Uuid,
    name: String,
    /// Its rate: requests a minute (its own, or its plan's).
    per_minute: u32,
    /// Its own monthly spend cap in credits; null without one.
    monthly_cap: Option<String>,
    /// Credits its runs kept this month.
    spent_this_month: String,
    /// Its runs this month, refused ones included.
    runs_this_month: u64,
    /// The plan's bound on credits spent through the API a month, all keys together; null
    /// without one.
    api_monthly_limit: Option<String>,
    /// Credits all the user's keys spent this month.
    api_spent_this_month: String,
}

#[utoipa::path(get, path = "/api/v1/me", tag = "account",
    responses((status = 200, body = Me), (status = 401, body = ApiProblem)),
    security(("api_key" = [])))]
async fn me(State(state): State<AppState>, auth: ApiKeyAuth) -> ApiResult {
    let now = state.clock().now();
    let balance = state
        .credits()
        .balance(AccountId::new(auth.user.id.as_uuid()), now)
        .await
        .map_err(ApiProblem::from)?;
    let month = state
        .stores()
        .usage
        .month_spend(auth.user.id, auth.key.id, month_start(now))
        .await?;
    Ok(Json(Me {
        id: auth.user.id.as_uuid(),
        email: auth.user.email.as_str().to_owned(),
        display_name: auth.user.display_name.as_str().to_owned(),
        email_verified: auth.user.is_verified(),
        balance: balance.total.to_string(),
        balance_by_kind: credits::by_kind(&balance),
        next_expiry: credits::next_expiry(&balance),
        key: KeyRef {
            id: auth.key.id.0,
            name: auth.key.name.clone(),
            per_minute: auth.bounds.per_minute_of(&auth.key.limits),
            monthly_cap: auth.key.limits.monthly_credits.map(|c| c.to_string()),
            spent_this_month: month.key_credits.to_string(),
            runs_this_month: month.key_runs,
            api_monthly_limit: auth.bounds.monthly_credits.map(|c| c.to_string()),
            api_spent_this_month: month.api_credits.to_string(),
        },
    })
    .into_response())
}

/// A service as the API shows it (its price as the app charges it now).
#[derive(Serialize, ToSchema)]
struct ServiceView {
    slug: String,
    name: String,
    description: String,
    category: String,
    /// Credits per run, as a decimal string; "0" for a free service.
    cost: String,
    /// `text`, `json` or `file`: what `POST .../runs` takes.
    input: &'static str,
    /// For file services: the content types accepted.
    accepted_types: Vec<String>,
    max_input_bytes: usize,
    timeout_ms: u64,
    example_input: Option<String>,
    /// `immediate` (the run answers with its result) or `background` (the run answers 202 and
    /// goes on; follow its `Location`).
    mode: &'static str,
    /// For a background service priced by use: the most a run costs, held while it runs.
    max_cost: Option<String>,
}

impl ServiceView {
    fn of(descriptor: &ServiceDescriptor, cost: Credits) -> Self {
        ServiceView {
            slug: descriptor.slug.clone(),
            name: descriptor.name.clone(),
            description: descriptor.description.clone(),
            category: descriptor.category.clone(),
            cost: cost.to_string(),
            input: descriptor.input.as_str(),
            accepted_types: descriptor.accepted_types.clone(),
            max_input_bytes: descriptor.max_input_bytes,
            timeout_ms: u64::try_from(descriptor.timeout.as_millis()).unwrap_or(u64::MAX),
            example_input: descriptor.example_input.clone(),
            mode: descriptor.mode.as_str(),
            max_cost: descriptor.max_cost.map(|c| c.to_string()),
        }
    }
}

/// The services on offer.
#[derive(Serialize, ToSchema)]
struct ServiceList {
    data: Vec<ServiceView>,
}

#[utoipa::path(get, path = "/api/v1/services", tag = "services",
    responses((status = 200, body = ServiceList), (status = 401, body = ApiProblem)),
    security(("api_key" = [])))]
async fn services(State(state): State<AppState>, _auth: ApiKeyAuth) -> ApiResult {
    let data: Vec<ServiceView> = state
        .offered_services()
        .into_iter()
        .map(|(descriptor, cost)| ServiceView::of(descriptor, cost))
        .collect();
    Ok(Json(ServiceList { data }).into_response())
}

#[utoipa::path(get, path = "/api/v1/services/{slug}", tag = "services",
    params(("slug" = String, Path, description = "The service's slug")),
    responses((status = 200, body = ServiceView), (status = 404, body = ApiProblem)),
    security(("api_key" = [])))]
async fn service(
    State(state): State<AppState>,
    _auth: ApiKeyAuth,
    Path(slug): Path<String>,
) -> ApiResult {
    let (descriptor, cost) = state
        .offered_service(&slug)
        .ok_or_else(|| ApiProblem::not_found("service"))?;
    Ok(Json(ServiceView::of(descriptor, cost)).into_response())
}

/// A run as the API shows it.
#[derive(Serialize, ToSchema)]
struct RunView<'a> {
    id: Uuid,
    service: &'a str,
    /// `queued`, `running`, `succeeded`, `failed`, `timed_out`, `rejected` or `cancelled`.
    status: &'static str,
    /// `immediate` or `background`.
    mode: &'static str,
    /// Credits kept for this run (the cost, less any refund); "0" while a background run goes on.
    charged: String,
    /// A background run not yet over: the credits held for it.
    held: Option<String>,
    /// A background run's last reported progress.
    progress: Option<ProgressView<'a>>,
    refunded: String,
    balance_after: Option<String>,
    duration_ms: Option<u64>,
    /// RFC 3339.
    started_at: String,
    finished_at: Option<String>,
    error: Option<&'a str>,
    /// `summary` (text), `fields` (label and value pairs), `table` (`columns`, `rows`) and
    /// `data` (the service's JSON).
    #[schema(value_type = Option<Object>)]
    output: Option<&'a quickscale_service_sdk::ServiceOutput>,
}

/// How far a background run has come.
#[derive(Serialize, ToSchema)]
struct ProgressView<'a> {
    /// From 0 to 1.
    fraction: f32,
    message: &'a str,
}

impl<'a> RunView<'a> {
    fn of(run: &'a ServiceRun) -> Self {
        let background = run.mode == RunMode::Background;
        let charged = match (background, run.status.is_final()) {
            // A background run records what it kept as its cost, the hold's return apart.
            (true, true) => run.cost,
            (true, false) => Credits::ZERO,
            (false, _) => run.cost.saturating_sub(run.refunded),
        };
        RunView {
            id: run.id,
            service: &run.service,
            status: run.status.as_str(),
            mode: run.mode.as_str(),
            held: (background && !run.status.is_final()).then(|| run.cost.to_string()),
            progress: run.progress.as_ref().map(|p| ProgressView {
                fraction: p.fraction(),
                message: &p.message,
            }),
            charged: charged.to_string(),
            refunded: run.refunded.to_string(),
            balance_after: run.balance_after.map(|b| b.to_string()),
            duration_ms: run.duration_ms,
            started_at: rfc3339(run.started_at),
            finished_at: run.finished_at.map(rfc3339),
            error: run.error.as_deref(),
            output: run.output.as_ref(),
        }
    }
}

fn rfc3339(at: time::OffsetDateTime) -> String {
    at.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The input of a text or JSON service.
#[derive(Deserialize)]
struct RunBody {
    /// A string for text services, any JSON value for JSON services.
    input: Value,
}

#[derive(Deserialize, Default)]
struct FileQuery {
    /// For file services: the file's name (default `upload`).
    filename: Option<String>,
}

/// Runs a service. Text and JSON services take `{"input": ...}`; file services take the file as
/// the request body (its `Content-Type`, `?filename=`). An `Idempotency-Key` header makes a
/// retry return the first run instead of running (and charging) again.
async fn run(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(slug): Path<String>,
    file: Result<Query<FileQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> ApiResult {
    // Priced and allowed as the admins' settings stand now, whichever instance changed them.
    state.current_service_settings().await?;
    let (descriptor, cost) = state
        .offered_service(&slug)
        .ok_or_else(|| ApiProblem::not_found("service"))?;
    let descriptor = descriptor.clone();
    let Query(file) = file.map_err(|e| ApiProblem::invalid(e.body_text()))?;
    let key = match idempotency_header(&headers)? {
        Some(text) => IdempotencyKey::parse(format!("api:{text}"))
            .map_err(|e| ApiProblem::invalid(format!("Idempotency-Key: {e}.")))?,
        None => IdempotencyKey::parse(format!("api:{}", Uuid::now_v7()))
            .map_err(|_| ApiProblem::internal())?,
    };
    if super::services::needs_verification(&state, &auth.user, cost) {
        return Err(ApiProblem::new(
            StatusCode::FORBIDDEN,
            "email_unverified",
            "Confirm the account's email address to run paid services.",
        ));
    }
    let input = match descriptor.input {
        InputKind::File => {
            let content_type = headers
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("application/octet-stream")
                .to_owned();
            ServiceInput::File(UploadedFile {
                filename: file.filename.unwrap_or_else(|| "upload".into()),
                content_type,
                bytes: body.to_vec(),
            })
        }
        kind => {
            let RunBody { input } = serde_json::from_slice(&body).map_err(|e| {
                ApiProblem::invalid(format!("Send a JSON body like {{\"input\": ...}}: {e}."))
            })?;
            match (kind, input) {
                (InputKind::Text, Value::String(text)) => ServiceInput::Text(text),
                (InputKind::Text, _) => {
                    return Err(ApiProblem::invalid(
                        "This service takes text: `input` must be a string.",
                    ));
                }
                (_, value) => ServiceInput::Json(value),
            }
        }
    };
    // As on the page: the run finishes in its own task even if the client goes away.
    let caps = key_caps(&auth.key, &auth.bounds);
    let finished = super::services::run_detached(&state, auth.user.id, &slug, input, key, caps)
        .await
        .map_err(|error| {
            tracing::error!(%error, "the service run task failed");
            ApiProblem::internal()
        })?;
    match finished {
        // The key is the user's, across services and keys: a key used for another service is
        // a mistake, not a replay.
        Ok(outcome) if outcome.replayed && outcome.run.service != slug => Err(ApiProblem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            format!(
                "This Idempotency-Key was used for a run of {}; send a new key for this run.",
                outcome.run.service
            ),
        )),
        // A refused run stays refused under its key, as a replay should.
        Ok(outcome) if outcome.replayed && outcome.run.status == RunStatus::Rejected => {
            Err(refused_replay(&outcome.run))
        }
        Ok(outcome) if outcome.run.mode == RunMode::Background => {
            let location = format!("/api/v1/runs/{}", outcome.run.id);
            let mut response =
                (StatusCode::ACCEPTED, Json(RunView::of(&outcome.run))).into_response();
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(header::LOCATION, value);
            }
            if outcome.replayed {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            Ok(response)
        }
        Ok(outcome) => {
            let status = if outcome.replayed {
                StatusCode::OK
            } else {
                StatusCode::CREATED
            };
            let mut response = (status, Json(RunView::of(&outcome.run))).into_response();
            if outcome.replayed {
                response
                    .headers_mut()
                    .insert("idempotent-replayed", HeaderValue::from_static("true"));
            }
            Ok(response)
        }
        Err(RunError::Input(e)) => Err(ApiProblem::invalid(crate::wording::sentence(e))),
        Err(RunError::Insufficient(short)) => Err(ApiProblem::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_credits",
            format!(
                "This service costs {} and the account has {}. Nothing was charged: add credits to the account, then retry.",
                credits_label(short.required),
                credits_label(short.available)
            ),
        )
        .typed(INSUFFICIENT_CREDITS)
        .with("required", short.required.to_string())
        .with("available", short.available.to_string())),
        Err(RunError::OverCap(over)) => Err(over_cap(&over, state.clock().now())),
        Err(RunError::InProgress) => Err(ApiProblem::new(
            StatusCode::CONFLICT,
            "in_progress",
            "A run with this Idempotency-Key is still in progress; retry in a moment.",
        )),
        Err(RunError::UnknownService(_) | RunError::Disabled) => {
            Err(ApiProblem::not_found("service"))
        }
        Err(RunError::Storage(e)) => Err(e.into()),
        Err(RunError::Credits(e)) => Err(e.into()),
        Err(other) => {
            tracing::error!(error = %other, "service run failed");
            Err(ApiProblem::internal())
        }
    }
}

/// A 402 for a run over a monthly cap: which cap (its `type` and `code`), the cap, what the
/// month spent, what the run costs and when the month ends.
fn over_cap(over: &CapExceeded, now: time::OffsetDateTime) -> ApiProblem {
    let resets_at = rfc3339(month_start(month_start(now) + time::Duration::days(32)));
    let (kind, code, limit, spent, cost, detail) = match *over {
        CapExceeded::KeyMonthly { cap, spent, cost } => (
            KEY_MONTHLY_CAP,
            "key_monthly_cap",
            cap,
            spent,
            cost,
            format!(
                "This API key may spend {} a month and has spent {}; this run costs {}. Nothing was charged: raise the key's cap in Settings, API keys, or wait until {resets_at}.",
                credits_label(cap),
                credits_label(spent),
                credits_label(cost)
            ),
        ),
        CapExceeded::ApiMonthly { bound, spent, cost } => (
            PLAN_MONTHLY_API_LIMIT,
            "plan_monthly_api_limit",
            bound,
            spent,
            cost,
            format!(
                "Your plan allows {} a month through the API and your keys have spent {}; this run costs {}. Nothing was charged: change plan, or wait until {resets_at}.",
                credits_label(bound),
                credits_label(spent),
                credits_label(cost)
            ),
        ),
    };
    ApiProblem::new(StatusCode::PAYMENT_REQUIRED, code, detail)
        .typed(kind)
        .with("limit", limit.to_string())
        .with("spent", spent.to_string())
        .with("required", cost.to_string())
        .with("resets_at", resets_at)
}

/// The 402 for a replay of a refused run: the limit that refused it, as its stored error says.
fn refused_replay(run: &ServiceRun) -> ApiProblem {
    let refused = run.error.as_deref().and_then(CapExceeded::refusal_of);
    let (kind, code, what) = match refused {
        Some(CapKind::KeyMonthly) => (
            KEY_MONTHLY_CAP,
            "key_monthly_cap",
            "by the key's monthly cap",
        ),
        Some(CapKind::ApiMonthly) => (
            PLAN_MONTHLY_API_LIMIT,
            "plan_monthly_api_limit",
            "by the plan's monthly API limit",
        ),
        None => (
            INSUFFICIENT_CREDITS,
            "insufficient_credits",
            "for lack of credits",
        ),
    };
    ApiProblem::new(
        StatusCode::PAYMENT_REQUIRED,
        code,
        format!("This Idempotency-Key was used for a run refused {what}; nothing was charged. Send a new key to try again."),
    )
    .typed(kind)
}

/// The `Idempotency-Key` header, trimmed, when there is one: ASCII and not blank.
fn idempotency_header(headers: &HeaderMap) -> Result<Option<&str>, ApiProblem> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let text = value
        .to_str()
        .map_err(|_| ApiProblem::invalid("The Idempotency-Key header must be ASCII."))?
        .trim();
    if text.is_empty() {
        return Err(ApiProblem::invalid("The Idempotency-Key header is empty."));
    }
    Ok(Some(text))
}

/// A `?status=` filter of runs: one of the run statuses.
fn run_status(text: Option<&str>) -> Result<Option<RunStatus>, ApiProblem> {
    text.map(|text| {
        RunStatus::parse(text).ok_or_else(|| {
            ApiProblem::invalid(format!(
                "`status` is one of {}.",
                RunStatus::ALL.map(RunStatus::as_str).join(", ")
            ))
        })
    })
    .transpose()
}

/// The filters of `GET /runs` (documented, with `cursor`, `offset` and `limit`, in `doc.rs`).
#[derive(Deserialize)]
struct RunsQuery {
    /// Only this service's runs.
    service: Option<String>,
    /// Only runs with this status.
    status: Option<String>,
    cursor: Option<String>,
}

/// A page of runs, newest first.
#[derive(Serialize, ToSchema)]
struct RunList<'a> {
    data: Vec<RunView<'a>>,
    /// Pass as `?cursor=` (with the same filters) for the next page; null on the last page.
    next_cursor: Option<String>,
    /// Where this page started (0 for the newest).
    offset: u64,
    limit: u32,
}

#[utoipa::path(get, path = "/api/v1/runs", tag = "runs",
    responses((status = 200, body = RunList), (status = 422, body = ApiProblem)),
    security(("api_key" = [])))]
async fn runs(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    query: Result<Query<RunsQuery>, QueryRejection>,
    paging: Paging,
) -> ApiResult {
    let Query(query) = query.map_err(|e| ApiProblem::invalid(e.body_text()))?;
    let status = run_status(query.status.as_deref())?;
    let start = cursor::start(List::Runs, query.cursor.as_deref(), &paging)?;
    let (found, next_cursor) = page_of_runs(
        &state,
        &auth,
        List::Runs,
        RunQuery {
            service: query.service,
            status,
            offset: start,
            limit: paging.limit(),
        },
    )
    .await?;
    let data: Vec<RunView> = found.iter().map(RunView::of).collect();
    Ok(Json(RunList {
        data,
        next_cursor,
        offset: start,
        limit: paging.limit(),
    })
    .into_response())
}

/// The key's user's runs `query` asks for (a blank service is any), and the cursor of the page
/// after them when there is one.
async fn page_of_runs(
    state: &AppState,
    auth: &ApiKeyAuth,
    list: List,
    query: RunQuery,
) -> Result<(Vec<ServiceRun>, Option<String>), ApiProblem> {
    let (start, limit) = (query.offset, query.limit);
    let mut found = state
        .stores()
        .usage
        .list(
            auth.user.id,
            &RunQuery {
                service: query.service.filter(|s| !s.is_empty()),
                limit: limit + 1,
                ..query
            },
        )
        .await?;
    let more = found.len() > limit as usize;
    found.truncate(limit as usize);
    Ok((found, cursor::next(list, start, limit, more)))
}

#[utoipa::path(get, path = "/api/v1/runs/{id}", tag = "runs",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses((status = 200, body = RunView), (status = 404, body = ApiProblem)),
    security(("api_key" = [])))]
async fn one_run(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiProblem::not_found("run"))?;
    let run = state
        .stores()
        .usage
        .get(auth.user.id, id)
        .await?
        .ok_or_else(|| ApiProblem::not_found("run"))?;
    Ok(Json(RunView::of(&run)).into_response())
}

#[utoipa::path(post, path = "/api/v1/runs/{id}/cancel", tag = "runs",
    params(("id" = Uuid, Path, description = "The run's id")),
    responses(
        (status = 200, description = "The run as it is now: `cancelled` with its hold released, or as it ended if it was already over", body = RunView),
        (status = 404, body = ApiProblem),
        (status = 409, description = "An immediate run cannot be cancelled", body = ApiProblem)),
    security(("api_key" = [])))]
async fn cancel_run(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    Path(id): Path<String>,
) -> ApiResult {
    let id = Uuid::parse_str(&id).map_err(|_| ApiProblem::not_found("run"))?;
    match state.runner().cancel(auth.user.id, id).await {
        Ok(Some(run)) => Ok(Json(RunView::of(&run)).into_response()),
        Ok(None) => Err(ApiProblem::not_found("run")),
        Err(RunError::NotCancellable) => Err(ApiProblem::new(
            StatusCode::CONFLICT,
            "not_cancellable",
            "Only a background run can be cancelled; this run ended in its request.",
        )),
        Err(RunError::Storage(e)) => Err(e.into()),
        Err(RunError::Credits(e)) => Err(e.into()),
        Err(other) => {
            tracing::error!(error = %other, "cancelling a run failed");
            Err(ApiProblem::internal())
        }
    }
}

/// The API's OpenAPI 3.1 document, generated from the handlers' annotations.
#[derive(OpenApi)]
#[openapi(
    info(description = "Run services with credits. Authenticate with an API key from Settings: `Authorization: Bearer qs_...`."),
    paths(me, services, service, runs, one_run, cancel_run, credits::balance, credits::ledger,
        credits::usage, purchases::packs, purchases::checkout, purchases::payments),
    components(schemas(ApiProblem)),
    modifiers(&BearerKey),
    tags((name = "account"), (name = "services"), (name = "runs"), (name = "billing")),
)]
struct ApiDoc;

struct BearerKey;

impl Modify for BearerKey {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_default();
        components.add_security_scheme(
            "api_key",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API key from Settings, API keys"))
                    .build(),
            ),
        );
    }
}

/// `GET /api/v1/openapi.json`: public, so that tools can read it before a key exists.
async fn openapi(State(state): State<AppState>) -> Response {
    let mut generated = ApiDoc::openapi();
    generated.info.title = format!("{} API", state.config().app_name);
    generated.info.version = "1".into();
    let generated = serde_json::to_value(generated).unwrap_or_default();
    let mut document = doc::finish(generated, &state.offered_services());
    webhook_doc::add(&mut document);
    Json(document).into_response()
}
