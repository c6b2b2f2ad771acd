//! `Idempotency-Key`, as Stripe keeps it: the first request's answer is stored and replayed for
//! the same parameters; other parameters, another endpoint, or a request still running are
//! refused. Answers that failed parameter validation are not stored.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::error::{ApiError, Replayable};
use crate::model::{IdempotencyEntry, StoredResponse};
use crate::server::Shared;

/// The longest key Stripe takes.
const MAX_KEY_LENGTH: usize = 255;

/// A key's first request while it runs. Dropped without [`InFlight::keep`] (the request gave
/// no answer to store), the key is free again.
pub(super) struct InFlight {
    shared: Arc<Shared>,
    key: String,
    done: bool,
}

/// What a request's key says to do.
pub(super) enum Claim {
    /// The key is new: run the request, and keep its answer.
    Run(InFlight),
    /// Answer this instead: the stored answer replayed, or a refusal.
    Answer(Response),
}

/// Takes `key` for this request, when it is new.
pub(super) fn claim(
    shared: &Arc<Shared>,
    key: &str,
    method: &Method,
    path: &str,
    canonical: Vec<(String, String)>,
) -> Claim {
    if key.len() > MAX_KEY_LENGTH {
        return Claim::Answer(
            ApiError::idempotency("Idempotency-Key must be 255 characters or fewer.")
                .into_response(),
        );
    }
    let mut store = shared.lock();
    match store.idempotency.get(key) {
        Some(entry) if entry.method != method.as_str() || entry.path != path => {
            Claim::Answer(ApiError::idempotency(format!(
                "Keys for idempotent requests can only be used for the same endpoint they were first used for \
                 ('{} {}' vs '{} {}'). Try using a key other than '{key}' if you meant to execute a different request.",
                entry.method, entry.path, method, path
            ))
            .into_response())
        }
        Some(entry) if entry.canonical != canonical => Claim::Answer(ApiError::idempotency(format!(
            "Keys for idempotent requests can only be used with the same parameters they were first used with. \
             Try using a key other than '{key}' if you meant to execute a different request."
        ))
        .into_response()),
        Some(IdempotencyEntry { stored: None, .. }) => {
            Claim::Answer(ApiError::idempotency_conflict().into_response())
        }
        Some(IdempotencyEntry {
            stored: Some(stored),
            ..
        }) => Claim::Answer(replay(stored, key)),
        None => {
            store.idempotency.insert(
                key.to_string(),
                IdempotencyEntry {
                    method: method.as_str().to_string(),
                    path: path.to_string(),
                    canonical,
                    stored: None,
                },
            );
            Claim::Run(InFlight {
                shared: shared.clone(),
                key: key.to_string(),
                done: false,
            })
        }
    }
}

impl InFlight {
    /// Stores `response` under the key when it may be replayed (a success, or an error the
    /// request produced once it ran); returns it unchanged.
    pub(super) async fn keep(mut self, response: Response, request_id: &str) -> Response {
        let storable =
            response.status().is_success() || response.extensions().get::<Replayable>().is_some();
        if !storable {
            return response;
        }
        let (parts, body) = response.into_parts();
        let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
        if let Some(entry) = self.shared.lock().idempotency.get_mut(&self.key) {
            entry.stored = Some(StoredResponse {
                status: parts.status.as_u16(),
                body: bytes.to_vec(),
                request_id: request_id.to_string(),
            });
        }
        self.done = true;
        Response::from_parts(parts, Body::from(bytes))
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        if !self.done {
            self.shared.lock().idempotency.remove(&self.key);
        }
    }
}

/// The stored answer, marked as Stripe marks a replay.
fn replay(stored: &StoredResponse, key: &str) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = (status, stored.body.clone()).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    headers.insert("idempotent-replayed", HeaderValue::from_static("true"));
    for (name, value) in [
        ("request-id", &stored.request_id),
        ("original-request", &stored.request_id),
    ] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    if let Ok(value) = HeaderValue::from_str(key) {
        headers.insert("idempotency-key", value);
    }
    response
}
