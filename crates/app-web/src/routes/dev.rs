//! Development pages beyond the outbox: the component gallery. Like every path under `/dev`,
//! they answer only the developer's own machine (`security::development_only`).

use axum::extract::State;
use axum::response::Response;

use crate::error::AppError;
use crate::extract::Viewer;
use crate::state::AppState;
use crate::view::Page;

/// `/dev/components`: every template component (`templates/components/`) in each of its
/// states, rendered by the app's own templates, so a project that overrides one sees the result.
pub async fn components(
    State(state): State<AppState>,
    viewer: Viewer,
) -> Result<Response, AppError> {
    Page::new("dev/components.html")
        .render(&state, &viewer)
        .await
}
