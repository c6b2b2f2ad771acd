//! Remembers each 5xx answer with its request id, for Admin > System
//! (`observability::RecentErrors`).

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use time::OffsetDateTime;

use crate::observability::ServerError;
use crate::state::AppState;

/// Remembers every response with a 5xx status (a panic's 500 included) with its request id.
pub async fn record_server_errors(
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
