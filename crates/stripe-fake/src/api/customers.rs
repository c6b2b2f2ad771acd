//! `/v1/customers`.

use axum::Extension;
use axum::extract::{Path, State};

use super::filters::created_filter;
use super::list::list;
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;
use crate::requests::{CustomerUpdate, NewCustomer};

pub(super) async fn create(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let new = NewCustomer::parse(&ctx.node())?;
    let mut store = s.lock();
    let value = store.create_customer(new);
    respond(&store, value, &ctx)
}

pub(super) async fn get_one(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let customer = store
        .customers
        .get(&id)
        .ok_or_else(|| ApiError::not_found("customer", &id))?;
    let value = store.customer_json(customer);
    respond(&store, value, &ctx)
}

/// The customer named in the URL first (404), then the parameters (400).
pub(super) async fn update(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    if !store.customers.contains_key(&id) {
        return Err(ApiError::not_found("customer", &id));
    }
    let update = CustomerUpdate::parse(&ctx.node())?;
    let value = store.update_customer(&id, update, &ctx.request)?;
    respond(&store, value, &ctx)
}

pub(super) async fn list_all(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let email = node.str("email")?;
    let created = created_filter(&node)?;
    let items = store
        .customers
        .values()
        .filter(|c| email.is_none_or(|e| c.email.as_deref() == Some(e)) && created(c.created))
        .map(|c| (c.seq, store.customer_json(c)))
        .collect();
    let value = list(items, &node, "/v1/customers", "customer", |id| {
        store.customers.get(id).map(|c| c.seq)
    })?;
    respond(&store, value, &ctx)
}
