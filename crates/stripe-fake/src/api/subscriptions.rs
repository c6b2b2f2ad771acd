//! `/v1/subscriptions`.

use axum::Extension;
use axum::extract::{Path, State};

use super::filters::{created_filter, status_filter};
use super::list::list;
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;
use crate::requests::{SubscriptionUpdate, refuse_final_invoice};

/// The statuses `GET /v1/subscriptions?status=` takes.
const SUBSCRIPTION_STATUSES: &[&str] = &[
    "active",
    "all",
    "canceled",
    "ended",
    "incomplete",
    "incomplete_expired",
    "past_due",
    "paused",
    "trialing",
    "unpaid",
];

pub(super) async fn list_all(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let price = node.str("price")?;
    let status = status_filter(&node, SUBSCRIPTION_STATUSES)?;
    let created = created_filter(&node)?;
    let items = store
        .subscriptions
        .values()
        .filter(|sub| {
            let actual = sub.status.as_str();
            let status_matches = match status {
                None => actual != "canceled",
                Some("all") => true,
                Some("ended") => actual == "canceled",
                Some(wanted) => actual == wanted,
            };
            status_matches
                && customer.is_none_or(|c| sub.customer == c)
                && price.is_none_or(|p| sub.items.iter().any(|i| i.price == p))
                && created(sub.created)
        })
        .map(|sub| (sub.seq, store.subscription_json(sub)))
        .collect();
    let value = list(items, &node, "/v1/subscriptions", "subscription", |id| {
        store.subscriptions.get(id).map(|sub| sub.seq)
    })?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_one(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let subscription = store
        .subscriptions
        .get(&id)
        .ok_or_else(|| ApiError::not_found("subscription", &id))?;
    let value = store.subscription_json(subscription);
    respond(&store, value, &ctx)
}

/// The subscription named in the URL first (404), then the parameters (400).
pub(super) async fn update(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let mut store = s.lock();
    if !store.subscriptions.contains_key(&id) {
        return Err(ApiError::not_found("subscription", &id));
    }
    let update = SubscriptionUpdate::parse(&ctx.node())?;
    let value = store.update_subscription(&id, update, &ctx.request)?;
    respond(&store, value, &ctx)
}

pub(super) async fn cancel(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    refuse_final_invoice(&ctx.node())?;
    let mut store = s.lock();
    let value = store.cancel_subscription(&id, &ctx.request)?;
    respond(&store, value, &ctx)
}
