//! `/v1/refunds`.

use axum::Extension;
use axum::extract::{Path, State};

use super::list::list;
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;
use crate::requests::NewRefund;

pub(super) async fn create(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let new = NewRefund::parse(&ctx.node())?;
    let mut store = s.lock();
    let value = store.create_refund(new, &ctx.request)?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_one(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let refund = store
        .refunds
        .get(&id)
        .ok_or_else(|| ApiError::not_found("refund", &id))?;
    let value = store.refund_json(refund);
    respond(&store, value, &ctx)
}

pub(super) async fn list_all(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let charge = node.str("charge")?;
    let payment_intent = node.str("payment_intent")?;
    let items = store
        .refunds
        .values()
        .filter(|r| {
            charge.is_none_or(|c| r.charge == c)
                && payment_intent.is_none_or(|p| r.payment_intent == p)
        })
        .map(|r| (r.seq, store.refund_json(r)))
        .collect();
    let value = list(items, &node, "/v1/refunds", "refund", |id| {
        store.refunds.get(id).map(|r| r.seq)
    })?;
    respond(&store, value, &ctx)
}
