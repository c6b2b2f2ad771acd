//! `/v1/events`.

use axum::Extension;
use axum::extract::{Path, State};

use super::filters::created_filter;
use super::list::list;
use super::{ApiResult, AppState, Ctx, respond};
use crate::error::ApiError;
use crate::model::{DeliveryState, type_matches};

pub(super) async fn list_all(State(s): AppState, Extension(ctx): Extension<Ctx>) -> ApiResult {
    let mut store = s.lock();
    store.refresh_all_sessions();
    let node = ctx.node();
    let kind = node.str("type")?;
    let kinds = node.strings("types");
    if kind.is_some() && !kinds.is_empty() {
        return Err(ApiError::bad_request(
            "You may only specify one of these parameters: type, types.",
        ));
    }
    let delivery_success = node.bool("delivery_success")?;
    let created = created_filter(&node)?;
    let items = store
        .events
        .iter()
        .filter(|e| {
            kind.is_none_or(|k| type_matches(k, &e.kind))
                && (kinds.is_empty() || kinds.iter().any(|k| type_matches(k, &e.kind)))
                && delivery_success
                    .is_none_or(|wanted| wanted == (e.delivery == DeliveryState::Delivered))
                && created(e.created)
        })
        .map(|e| (e.seq, store.event_json(e)))
        .collect();
    let value = list(items, &node, "/v1/events", "event", |id| {
        store.event(id).map(|e| e.seq)
    })?;
    respond(&store, value, &ctx)
}

pub(super) async fn get_one(
    State(s): AppState,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
) -> ApiResult {
    let store = s.lock();
    let event = store
        .event(&id)
        .ok_or_else(|| ApiError::not_found("event", &id))?;
    let value = store.event_json(event);
    respond(&store, value, &ctx)
}
