//! The middleware stack around the routes.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::Request;
use axum::middleware::from_fn_with_state;
use axum::response::IntoResponse;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::error::AppError;
use crate::state::AppState;

/// The middleware stack around the routes, outermost last.
pub(super) fn router(state: AppState) -> Router {
    let session_layer = SessionManagerLayer::new(state.stores().sessions.clone())
        .with_name("qs_session")
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config().secure_cookies)
        .with_expiry(Expiry::OnInactivity(state.config().session_inactivity));
    let trust_callers = state
        .config()
        .traces
        .as_ref()
        .is_some_and(|traces| traces.trust_incoming);
    let router = crate::routes::router(&state)
        .layer(CatchPanicLayer::custom(|_| {
            AppError::Internal(anyhow::anyhow!("a handler panicked")).into_response()
        }))
        .layer(DefaultBodyLimit::max(crate::limits::MAX_BODY_BYTES))
        .layer(from_fn_with_state(
            state.clone(),
            crate::middleware::fresh_settings::fresh_settings,
        ))
        .layer(from_fn_with_state(state.clone(), crate::security::csrf))
        .layer(from_fn_with_state(
            state.clone(),
            crate::middleware::error_pages::error_pages,
        ))
        .layer(session_layer)
        .layer(from_fn_with_state(state.clone(), crate::security::headers))
        .layer(
            TraceLayer::new_for_http().make_span_with(move |request: &Request<_>| {
                let id = request
                    .headers()
                    .get("x-request-id")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                // `user_id` is filled in once the session or API key says who it is.
                let span = tracing::info_span!(
                    "request",
                    request_id = %id,
                    method = %request.method(),
                    path = %request.uri().path(),
                    user_id = tracing::field::Empty,
                );
                // The caller's trace, when its `traceparent` is trusted (see the setting).
                if trust_callers
                    && crate::observability::tracing_on()
                    && let Some(parent) = request
                        .headers()
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                {
                    crate::observability::continue_trace(&span, parent);
                }
                span
            }),
        )
        // Inside the request id's layer, so that each remembered 5xx has its id.
        .layer(from_fn_with_state(
            state.clone(),
            crate::middleware::server_errors::record_server_errors,
        ))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid));
    // Outermost, so that the time and the status are what the client got (500s from panics
    // included); absent when metrics are off, so they cost nothing then.
    let router = if state.metrics().is_some() {
        router.layer(axum::middleware::from_fn(
            crate::observability::track_requests,
        ))
    } else {
        router
    };
    router.with_state(state)
}
