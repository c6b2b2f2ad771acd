//! `/v1/checkout/sessions`.

use axum::Extension;
use axum::extract::{Path, State};

use super::filters::created_filter;
use super::list::{list, ordered_list};
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;
use crate::requests::NewSession;

pub(super) async fn create(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    let new = NewSession::parse(&ctx.node(), |id| store.customers.contains_key(id))?;
    let value = store.create_session(new)?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_one(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    store.refresh_session(&id);
    let session = store
        .sessions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("checkout.session", &id))?;
    let value = store.session_json(session);
    respond(&store, value, &ctx)
}

pub(super) async fn line_items(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let session = store
        .sessions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("checkout.session", &id))?;
    let url = format!("/v1/checkout/sessions/{id}/line_items");
    let value = ordered_list(
        store.line_items_json(session),
        &ctx.node(),
        &url,
        "line_item",
    )?;
    respond(&store, value, &ctx)
}

pub(super) async fn expire(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    store.refresh_session(&id);
    let value = store.expire_session(&id, &ctx.request)?;
    respond(&store, value, &ctx)
}

pub(super) async fn list_all(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    store.refresh_all_sessions();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let payment_intent = node.str("payment_intent")?;
    let status = node.str("status")?;
    let created = created_filter(&node)?;
    let items = store
        .sessions
        .values()
        .filter(|s| {
            customer.is_none_or(|c| s.customer.as_deref() == Some(c))
                && payment_intent.is_none_or(|p| s.payment_intent.as_deref() == Some(p))
                && status.is_none_or(|st| s.status.as_str() == st)
                && created(s.created)
        })
        .map(|s| (s.seq, store.session_json(s)))
        .collect();
    let value = list(
        items,
        &node,
        "/v1/checkout/sessions",
        "checkout.session",
        |id| store.sessions.get(id).map(|s| s.seq),
    )?;
    respond(&store, value, &ctx)
}
