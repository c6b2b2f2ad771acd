//! `/v1/products` and `/v1/prices`.

use axum::Extension;
use axum::extract::{Path, State};

use super::filters::bool_filter;
use super::list::list;
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;
use crate::requests::{NewPrice, NewProduct};

pub(super) async fn create_product(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
) -> ApiResult {
    let new = NewProduct::parse(&ctx.node())?;
    let mut store = s.lock();
    let value = store.create_product(new)?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_product(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let product = store
        .products
        .get(&id)
        .ok_or_else(|| ApiError::not_found("product", &id))?;
    let value = store.product_json(product);
    respond(&store, value, &ctx)
}

pub(super) async fn list_products(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let ids = node.strings("ids");
    let mut items = Vec::new();
    for product in store.products.values() {
        if bool_filter(&node, "active", product.active)?
            && (ids.is_empty() || ids.contains(&product.id))
        {
            items.push((product.seq, store.product_json(product)));
        }
    }
    let value = list(items, &node, "/v1/products", "product", |id| {
        store.products.get(id).map(|p| p.seq)
    })?;
    respond(&store, value, &ctx)
}

pub(super) async fn create_price(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let new = NewPrice::parse(&ctx.node())?;
    let mut store = s.lock();
    let value = store.create_price(new)?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_price(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let price = store
        .prices
        .get(&id)
        .ok_or_else(|| ApiError::not_found("price", &id))?;
    let value = store.price_json(price);
    respond(&store, value, &ctx)
}

pub(super) async fn list_prices(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let store = s.lock();
    let node = ctx.node();
    let product = node.str("product")?;
    let currency = node.str("currency")?.map(str::to_lowercase);
    let lookup_keys = node.strings("lookup_keys");
    if let Some(kind) = node.str("type")?
        && kind != "one_time"
        && kind != "recurring"
    {
        return Err(ApiError::invalid(
            "type",
            "parameter_invalid_string",
            "Invalid type: must be one of one_time or recurring",
        ));
    }
    let kind = node.str("type")?;
    let mut items = Vec::new();
    for price in store.prices.values() {
        let price_kind = if price.recurring.is_some() {
            "recurring"
        } else {
            "one_time"
        };
        let keep = bool_filter(&node, "active", price.active)?
            && kind.is_none_or(|k| k == price_kind)
            && product.is_none_or(|p| price.product == p)
            && currency.as_deref().is_none_or(|c| price.currency == c)
            && (lookup_keys.is_empty()
                || price
                    .lookup_key
                    .as_ref()
                    .is_some_and(|k| lookup_keys.contains(k)));
        if keep {
            items.push((price.seq, store.price_json(price)));
        }
    }
    let value = list(items, &node, "/v1/prices", "price", |id| {
        store.prices.get(id).map(|p| p.seq)
    })?;
    respond(&store, value, &ctx)
}
