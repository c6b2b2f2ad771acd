//! What Admin > System shows: the recent server errors (kept in this instance's memory), and the
//! status of the database, mail and the payment processor.

use std::collections::VecDeque;
use std::sync::Mutex;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use serde::Serialize;
use time::OffsetDateTime;

use crate::state::AppState;

/// How many server errors each instance remembers.
const KEPT: usize = 50;

/// A request answered with a 5xx: what the operator needs to find its log lines.
#[derive(Clone, Debug, Serialize)]
pub struct ServerError {
    pub at: OffsetDateTime,
    /// The `x-request-id` the client got, and the logs carry.
    pub request_id: String,
    pub method: String,
    /// The route template (`/services/{slug}`), never the raw path, which may hold tokens.
    pub route: String,
    pub status: u16,
}

/// The latest server errors of this instance, newest first (per instance: each app instance
/// shows its own; the logs and the error counter cover every instance).
#[derive(Debug, Default)]
pub struct RecentErrors(Mutex<VecDeque<ServerError>>);

impl RecentErrors {
    fn push(&self, error: ServerError) {
        let mut errors = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        errors.push_front(error);
        errors.truncate(KEPT);
    }

    /// Newest first.
    pub fn list(&self) -> Vec<ServerError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}

/// Remembers every response with a 5xx status (a panic's 500 included) with its request id.
pub(crate) async fn record_server_errors(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let request_id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-")
        .to_owned();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    if response.status().is_server_error() {
        state.recent_errors().push(ServerError {
            at: OffsetDateTime::now_utc(),
            request_id,
            method,
            route,
            status: response.status().as_u16(),
        });
    }
    response
}
