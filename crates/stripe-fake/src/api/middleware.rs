//! What every `/v1` call goes through: a request id, the key, injected faults, the parameters
//! (query and form body, never JSON) and the idempotency key.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::auth::authenticate;
use super::{AppState, Ctx, idempotency};
use crate::error::ApiError;
use crate::faults::{Fault, FaultMode};
use crate::form::Params;
use crate::ids;
use crate::model::RequestInfo;
use crate::server::Shared;

/// The largest request body read.
const MAX_BODY: usize = 1 << 20;

pub(super) async fn api(State(shared): AppState, req: Request, next: Next) -> Response {
    let request_id = ids::request();
    let mut response = handle(&shared, req, next, &request_id).await;
    let headers = response.headers_mut();
    if !headers.contains_key("request-id")
        && let Ok(value) = HeaderValue::from_str(&request_id)
    {
        headers.insert("request-id", value);
    }
    if let Ok(value) = HeaderValue::from_str(&shared.config.api_version) {
        headers.insert("stripe-version", value);
    }
    response
}

async fn handle(shared: &Arc<Shared>, req: Request, next: Next, request_id: &str) -> Response {
    if let Err(error) = authenticate(req.headers()) {
        return error.into_response();
    }
    let path = req
        .extensions()
        .get::<OriginalUri>()
        .map(|uri| uri.path().to_string())
        .unwrap_or_else(|| req.uri().path().to_string());
    let method = req.method().clone();
    let fault = shared.lock().take_fault(&path);
    if let Some(fault) = &fault
        && !fault.after_processing
    {
        tracing::info!(%path, mode = fault.mode.as_str(), "fault injected");
        return fail(shared, fault).await;
    }

    let (mut parts, body) = req.into_parts();
    let bytes = match to_bytes(body, MAX_BODY).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return ApiError::bad_request("The request body is too large or unreadable.")
                .into_response();
        }
    };
    let mut params = Params::parse(parts.uri.query().unwrap_or_default().as_bytes());
    // DELETE takes its parameters in the query (Stripe's libraries) or, like POST, in the body.
    if method == Method::POST || method == Method::DELETE {
        let content_type = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if content_type.starts_with("application/json") {
            return ApiError::bad_request(
                "Invalid request (check that your POST content type is application/x-www-form-urlencoded). \
                 Stripe takes form-encoded parameters, not JSON.",
            )
            .into_response();
        }
        params = Params::parse(&bytes).merged(params);
    }
    let idempotency_key = (method == Method::POST)
        .then(|| {
            parts
                .headers
                .get("idempotency-key")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
                .filter(|k| !k.is_empty())
        })
        .flatten();

    let in_flight = match &idempotency_key {
        Some(key) => match idempotency::claim(shared, key, &method, &path, params.canonical()) {
            idempotency::Claim::Run(in_flight) => Some(in_flight),
            idempotency::Claim::Answer(answer) => return answer,
        },
        None => None,
    };

    parts.extensions.insert(Ctx {
        request: RequestInfo {
            id: Some(request_id.to_string()),
            idempotency_key: idempotency_key.clone(),
        },
        params: Arc::new(params),
    });
    let mut response = next.run(Request::from_parts(parts, Body::empty())).await;

    if let Some(in_flight) = in_flight {
        response = in_flight.keep(response, request_id).await;
    }
    if let Some(key) = &idempotency_key
        && let Ok(value) = HeaderValue::from_str(key)
    {
        response.headers_mut().insert("idempotency-key", value);
    }
    if let Some(fault) = &fault {
        tracing::info!(%path, mode = fault.mode.as_str(), "fault injected after processing");
        return fail(shared, fault).await;
    }
    response
}

/// An injected fault's answer: a 500, after the hang of a `timeout`.
async fn fail(shared: &Shared, fault: &Fault) -> Response {
    if fault.mode == FaultMode::Timeout {
        let hang = fault
            .hang_ms
            .map(std::time::Duration::from_millis)
            .unwrap_or(shared.config.fault_hang);
        tokio::time::sleep(hang).await;
    }
    ApiError::server(
        "Sorry, something went wrong. (This 500 was injected by the Stripe fake's test controls.)",
    )
    .into_response()
}
