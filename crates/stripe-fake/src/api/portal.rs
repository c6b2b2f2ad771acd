//! `/v1/billing_portal/sessions`.

use axum::Extension;
use axum::extract::State;

use super::{ApiResult, AppState, Ctx, respond};
use crate::requests::NewPortalSession;

pub(super) async fn create_session(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult {
    let new = NewPortalSession::parse(&ctx.node())?;
    let mut store = s.lock();
    let value = store.create_portal_session(new)?;
    respond(&store, value, &ctx)
}
