//! Remembers each 5xx answer with its request id, for Admin > System
//! (`observability::RecentErrors`), and reports it when error reports are on.

use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use sentry::SentryFutureExt as _;
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
    // With error reports on, the request runs under a hub of its own, tagged with its id and
    // route: a panic in it, and its 5xx, are reported with them.
    let hub = crate::observability::reports_on()
        .then(|| crate::observability::request_hub(&request_id, &method, &route));
    let response = match &hub {
        Some(hub) => next.run(request).bind_hub(Arc::clone(hub)).await,
        None => next.run(request).await,
    };
    // One report per failure: a panic reported while the request ran (on its hub) already is
    // the report of the 500 it became.
    if let Some(hub) = &hub
        && response.status().is_server_error()
        && hub.last_event_id().is_none()
    {
        crate::observability::report_server_error(hub, response.status().as_u16());
    }
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
