//! `/v1/invoices`: made by subscriptions, read through the API.

use axum::Extension;
use axum::extract::{Path, State};

use super::filters::{created_filter, status_filter};
use super::list::{list, ordered_list};
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;
use crate::model::Invoice;
use crate::store::Store;

pub(super) async fn list_all(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let customer = node.str("customer")?;
    let subscription = node.str("subscription")?;
    let status = status_filter(&node, &["draft", "open", "paid", "uncollectible", "void"])?;
    let created = created_filter(&node)?;
    let items = store
        .invoices
        .values()
        .filter(|i| {
            customer.is_none_or(|c| i.customer == c)
                && subscription.is_none_or(|sub| i.subscription == sub)
                && status.is_none_or(|st| i.status.as_str() == st)
                && created(i.created)
        })
        .map(|i| (i.seq, store.invoice_json(i)))
        .collect();
    let value = list(items, &node, "/v1/invoices", "invoice", |id| {
        store.invoices.get(id).map(|i| i.seq)
    })?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_one(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let value = store.invoice_json(invoice(&store, &id)?);
    respond(&store, value, &ctx)
}

/// `GET /v1/invoices/{id}/lines`: the lines in the invoice's order (prorations first).
pub(super) async fn lines(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let value = ordered_list(
        store.invoice_lines_json(invoice(&store, &id)?),
        &ctx.node(),
        &Store::invoice_lines_url(&id),
        "line_item",
    )?;
    respond(&store, value, &ctx)
}

/// The invoice an id in the URL names (404 otherwise).
fn invoice<'a>(store: &'a Store, id: &str) -> Result<&'a Invoice, ApiError> {
    store
        .invoices
        .get(id)
        .ok_or_else(|| ApiError::not_found("invoice", id))
}
