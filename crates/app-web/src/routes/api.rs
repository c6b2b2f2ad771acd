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
use quickscale_service_sdk::{
    InputKind, RunError, RunQuery, RunStatus, ServiceDescriptor, ServiceInput, ServiceRun,
    UploadedFile,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::api::{ApiKeyAuth, ApiProblem};
use crate::state::AppState;

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

async fn me(State(state): State<AppState>, auth: ApiKeyAuth) -> ApiResult {
    let balance = state
        .credits()
        .balance(AccountId::new(auth.user.id.as_uuid()), state.clock().now())
        .await
        .map_err(credit_problem)?;
    let by_kind: serde_json::Map<String, Value> = balance
        .by_kind
        .iter()
        .map(|(kind, amount)| (kind.as_str().to_owned(), json!(amount.to_string())))
        .collect();
    Ok(Json(json!({
        "id": auth.user.id.as_uuid(),
        "email": auth.user.email.as_str(),
        "display_name": auth.user.display_name.as_str(),
        "email_verified": auth.user.is_verified(),
        "balance": balance.total.to_string(),
        "balance_by_kind": by_kind,
        "next_expiry": balance.next_expiry.map(|(at, amount)| json!({
            "at": rfc3339(at),
            "credits": amount.to_string(),
        })),
        "key": {"id": auth.key.id, "name": auth.key.name},
    }))
    .into_response())
}

/// A service as the API shows it (its price as the app charges it now).
#[derive(Serialize)]
struct ServiceView<'a> {
    slug: &'a str,
    name: &'a str,
    description: &'a str,
    category: &'a str,
    cost: String,
    input: &'static str,
    accepted_types: &'a [String],
    max_input_bytes: usize,
    timeout_ms: u128,
    example_input: Option<&'a str>,
}

impl<'a> ServiceView<'a> {
    fn of(descriptor: &'a ServiceDescriptor, cost: Credits) -> Self {
        ServiceView {
            slug: &descriptor.slug,
            name: &descriptor.name,
            description: &descriptor.description,
            category: &descriptor.category,
            cost: cost.to_string(),
            input: descriptor.input.as_str(),
            accepted_types: &descriptor.accepted_types,
            max_input_bytes: descriptor.max_input_bytes,
            timeout_ms: descriptor.timeout.as_millis(),
            example_input: descriptor.example_input.as_deref(),
        }
    }
}

async fn services(State(state): State<AppState>, _auth: ApiKeyAuth) -> ApiResult {
    let data: Vec<ServiceView> = state
        .offered_services()
        .into_iter()
        .map(|(descriptor, cost)| ServiceView::of(descriptor, cost))
        .collect();
    Ok(Json(json!({ "data": data })).into_response())
}

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
#[derive(Serialize)]
struct RunView<'a> {
    id: Uuid,
    service: &'a str,
    status: &'static str,
    charged: String,
    refunded: String,
    balance_after: Option<String>,
    duration_ms: Option<u64>,
    started_at: String,
    finished_at: Option<String>,
    error: Option<&'a str>,
    output: Option<&'a quickscale_service_sdk::ServiceOutput>,
}

impl<'a> RunView<'a> {
    fn of(run: &'a ServiceRun) -> Self {
        RunView {
            id: run.id,
            service: &run.service,
            status: run.status.as_str(),
            charged: run.cost.saturating_sub(run.refunded).to_string(),
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

#[derive(Deserialize)]
struct RunBody {
    input: Value,
}

#[derive(Deserialize, Default)]
struct FileQuery {
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
    let (descriptor, cost) = state
        .offered_service(&slug)
        .ok_or_else(|| ApiProblem::not_found("service"))?;
    let descriptor = descriptor.clone();
    let Query(file) = file.map_err(|e| ApiProblem::invalid(e.body_text()))?;
    let key = match headers.get("idempotency-key") {
        Some(value) => {
            let text = value
                .to_str()
                .map_err(|_| ApiProblem::invalid("The Idempotency-Key header must be ASCII."))?;
            if text.trim().is_empty() {
                return Err(ApiProblem::invalid("The Idempotency-Key header is empty."));
            }
            IdempotencyKey::parse(format!("api:{}", text.trim()))
                .map_err(|e| ApiProblem::invalid(format!("Idempotency-Key: {e}.")))?
        }
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
    let finished = super::services::run_detached(&state, auth.user.id, &slug, input, key)
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
        // A run refused for lack of credits stays refused under its key, as a replay should.
        Ok(outcome) if outcome.replayed && outcome.run.status == RunStatus::Rejected => {
            Err(ApiProblem::new(
                StatusCode::PAYMENT_REQUIRED,
                "insufficient_credits",
                "This Idempotency-Key was used for a run refused for lack of credits; nothing was charged. Send a new key to try again.",
            ))
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
        Err(RunError::Input(e)) => Err(ApiProblem::invalid(format!("{e}."))),
        Err(RunError::Insufficient(short)) => Err(ApiProblem::new(
            StatusCode::PAYMENT_REQUIRED,
            "insufficient_credits",
            format!(
                "This service costs {} credits and the account has {}. Nothing was charged.",
                short.required, short.available
            ),
        )
        .with("required", short.required.to_string())
        .with("available", short.available.to_string())),
        Err(RunError::InProgress) => Err(ApiProblem::new(
            StatusCode::CONFLICT,
            "in_progress",
            "A run with this Idempotency-Key is still in progress; retry in a moment.",
        )),
        Err(RunError::UnknownService(_) | RunError::Disabled) => {
            Err(ApiProblem::not_found("service"))
        }
        Err(RunError::Storage(e)) => Err(e.into()),
        Err(RunError::Credits(e)) => Err(credit_problem(e)),
    }
}

fn credit_problem(error: quickscale_domain_credits::CreditError) -> ApiProblem {
    match error {
        quickscale_domain_credits::CreditError::Storage(e) => e.into(),
        other => {
            tracing::error!(error = %other, "credit operation failed");
            ApiProblem::internal()
        }
    }
}

#[derive(Deserialize)]
struct RunsQuery {
    service: Option<String>,
    status: Option<String>,
    #[serde(default)]
    offset: u64,
    limit: Option<u32>,
}

async fn runs(
    State(state): State<AppState>,
    auth: ApiKeyAuth,
    query: Result<Query<RunsQuery>, QueryRejection>,
) -> ApiResult {
    let Query(query) = query.map_err(|e| ApiProblem::invalid(e.body_text()))?;
    let status = match query.status.as_deref().filter(|s| !s.is_empty()) {
        Some(text) => Some(RunStatus::parse(text).ok_or_else(|| {
            ApiProblem::invalid(format!(
                "`status` is one of {}.",
                RunStatus::ALL.map(RunStatus::as_str).join(", ")
            ))
        })?),
        None => None,
    };
    let limit = query.limit.unwrap_or(20);
    if !(1..=100).contains(&limit) {
        return Err(ApiProblem::invalid("`limit` is from 1 to 100."));
    }
    let found = state
        .stores()
        .usage
        .list(
            auth.user.id,
            &RunQuery {
                service: query.service.filter(|s| !s.is_empty()),
                status,
                offset: query.offset,
                limit,
            },
        )
        .await?;
    let data: Vec<RunView> = found.iter().map(RunView::of).collect();
    Ok(Json(json!({ "data": data, "offset": query.offset, "limit": limit })).into_response())
}

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
