//! Keeps this process's copy of the services' settings within `settings_cache::SETTINGS_MAX_AGE`
//! of the database for every request (a version read at most once per that interval, not per
//! request); runs compare it themselves on every run.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::state::AppState;

/// Compares the services' settings with the store's version when the last comparison is older
/// than the allowed age. When the store cannot answer, the request goes on with the copy as it
/// is (a page that lists services is no reason to fail); a run then reports the store's failure.
pub async fn fresh_settings(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Err(error) = state.recent_service_settings().await {
        tracing::warn!(%error, "could not compare the services' settings with the database");
    }
    next.run(request).await
}
