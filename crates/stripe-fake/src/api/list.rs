//! Stripe's list objects: newest first (or in an object's own order), `limit` from 1 to 100,
//! `starting_after` and `ending_before` cursors.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::form::Node;

/// A Stripe list over `items` kept in their own order (a session's line items, an invoice's
/// lines) rather than newest first; the cursors name items by their `id`.
pub(super) fn ordered_list(
    items: Vec<Value>,
    params: &Node<'_>,
    url: &str,
    object: &str,
) -> Result<Value, ApiError> {
    let place = |i: usize| u64::MAX - i as u64;
    let ids: Vec<String> = items
        .iter()
        .map(|item| item["id"].as_str().unwrap_or_default().to_string())
        .collect();
    let items = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| (place(i), item))
        .collect();
    list(items, params, url, object, |wanted| {
        ids.iter().position(|id| id == wanted).map(place)
    })
}

/// A Stripe list object over `items` (newest first): `limit` (1 to 100, default 10),
/// `starting_after` and `ending_before` cursors. `position` gives an id's place in the full
/// collection (its sequence number), so a cursor may name an object filtered out.
pub(super) fn list(
    items: Vec<(u64, Value)>,
    params: &Node<'_>,
    url: &str,
    object: &str,
    position: impl Fn(&str) -> Option<u64>,
) -> Result<Value, ApiError> {
    let limit = params.int("limit")?.unwrap_or(10);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid(
            "limit",
            "parameter_invalid_integer",
            "Invalid integer: limit must be between 1 and 100.",
        ));
    }
    let limit = limit as usize;
    let mut items = items;
    items.sort_by_key(|item| std::cmp::Reverse(item.0));
    let cursor = |param: &str| -> Result<Option<u64>, ApiError> {
        match params.str(param)? {
            None => Ok(None),
            Some(id) => position(id)
                .map(Some)
                .ok_or_else(|| ApiError::no_such(object, param, id)),
        }
    };
    let (page, has_more) = if let Some(after) = cursor("starting_after")? {
        let rest: Vec<(u64, Value)> = items.into_iter().filter(|(seq, _)| *seq < after).collect();
        let has_more = rest.len() > limit;
        (rest.into_iter().take(limit).collect::<Vec<_>>(), has_more)
    } else if let Some(before) = cursor("ending_before")? {
        let newer: Vec<(u64, Value)> = items.into_iter().filter(|(seq, _)| *seq > before).collect();
        let has_more = newer.len() > limit;
        let skip = newer.len().saturating_sub(limit);
        (newer.into_iter().skip(skip).collect(), has_more)
    } else {
        let has_more = items.len() > limit;
        (items.into_iter().take(limit).collect(), has_more)
    };
    Ok(json!({
        "object": "list",
        "data": page.into_iter().map(|(_, v)| v).collect::<Vec<_>>(),
        "has_more": has_more,
        "url": url
    }))
}
