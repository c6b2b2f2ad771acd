//! The admin area's gate.

use axum::extract::{FromRequestParts, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::extract::AdminUser;
use crate::state::AppState;

/// Every path under `/admin` is for admins, whichever route serves it (or none): visitors are
/// sent to sign in and other users get 403 before any handler runs. The handlers check again
/// (they take `AdminUser`); this makes a forgotten check harmless.
pub async fn admin_only(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if path != "/admin" && !path.starts_with("/admin/") {
        return next.run(request).await;
    }
    let (mut parts, body) = request.into_parts();
    match AdminUser::from_request_parts(&mut parts, &state).await {
        Ok(_) => next.run(Request::from_parts(parts, body)).await,
        Err(refusal) => refusal.into_response(),
    }
}
