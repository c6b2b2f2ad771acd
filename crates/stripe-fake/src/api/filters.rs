//! The filters list endpoints share.

use crate::error::ApiError;
use crate::form::Node;

/// Whether `actual` passes the boolean filter `key` (absent: everything passes).
pub(super) fn bool_filter(node: &Node<'_>, key: &str, actual: bool) -> Result<bool, ApiError> {
    Ok(node.bool(key)?.is_none_or(|wanted| wanted == actual))
}

/// `created=N` or `created[gt|gte|lt|lte]=N`.
pub(super) fn created_filter(node: &Node<'_>) -> Result<impl Fn(i64) -> bool, ApiError> {
    let mut bounds: Vec<(&'static str, i64)> = Vec::new();
    if let Some(exact) = node.int("created").ok().flatten() {
        bounds.push(("eq", exact));
    } else if let Some(range) = node.node("created")? {
        for op in ["gt", "gte", "lt", "lte"] {
            if let Some(value) = range.int(op)? {
                bounds.push((op, value));
            }
        }
    }
    Ok(move |created: i64| {
        bounds.iter().all(|(op, v)| match *op {
            "eq" => created == *v,
            "gt" => created > *v,
            "gte" => created >= *v,
            "lt" => created < *v,
            _ => created <= *v,
        })
    })
}

/// Refuses a `status` filter outside `allowed`, with Stripe's wording.
pub(super) fn status_filter<'a>(
    node: &Node<'a>,
    allowed: &[&str],
) -> Result<Option<&'a str>, ApiError> {
    match node.str("status")? {
        Some(status) if !allowed.contains(&status) => Err(ApiError::invalid(
            "status",
            "parameter_invalid_string",
            format!("Invalid status: must be one of {}", allowed.join(", ")),
        )),
        other => Ok(other),
    }
}
