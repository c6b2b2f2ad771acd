//! `/v1/payment_intents` and `/v1/charges`: made by payments, read through the API.

use axum::Extension;
use axum::extract::{Path, State};

use super::filters::created_filter;
use super::list::list;
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;

pub(super) async fn get_intent(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let intent = store
        .payment_intents
        .get(&id)
        .ok_or_else(|| ApiError::not_found("payment_intent", &id))?;
    let value = store.payment_intent_json(intent);
    respond(&store, value, &ctx)
}

pub(super) async fn list_intents(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let created = created_filter(&node)?;
    let items = store
        .payment_intents
        .values()
        .filter(|i| customer.is_none_or(|c| i.customer.as_deref() == Some(c)) && created(i.created))
        .map(|i| (i.seq, store.payment_intent_json(i)))
        .collect();
    let value = list(
        items,
        &node,
        "/v1/payment_intents",
        "payment_intent",
        |id| store.payment_intents.get(id).map(|i| i.seq),
    )?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_charge(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let charge = store
        .charges
        .get(&id)
        .ok_or_else(|| ApiError::not_found("charge", &id))?;
    let value = store.charge_json(charge);
    respond(&store, value, &ctx)
}

pub(super) async fn list_charges(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let payment_intent = node.str("payment_intent")?;
    let items = store
        .charges
        .values()
        .filter(|c| {
            customer.is_none_or(|cu| c.customer.as_deref() == Some(cu))
                && payment_intent.is_none_or(|p| c.payment_intent == p)
        })
        .map(|c| (c.seq, store.charge_json(c)))
        .collect();
    let value = list(items, &node, "/v1/charges", "charge", |id| {
        store.charges.get(id).map(|c| c.seq)
    })?;
    respond(&store, value, &ctx)
}
