//! `expand[]`: fields of an answer that hold an id, replaced by the object the id names.

use serde_json::{Value, json};

use crate::error::ApiError;
use crate::form::Node;
use crate::store::Store;

/// Stripe's deepest expansion: `a.b.c.d`.
const MAX_DEPTH: usize = 4;

/// The dotted paths of `expand[]`, each at most four levels deep.
#[derive(Debug, Clone, Default)]
pub(crate) struct Expansions(Vec<String>);

impl Expansions {
    pub fn parse(p: &Node<'_>) -> Result<Self, ApiError> {
        let paths = p.strings("expand");
        if paths.iter().any(|path| path.split('.').count() > MAX_DEPTH) {
            return Err(ApiError::invalid(
                "expand",
                "parameter_invalid_string",
                "You cannot expand more than 4 levels of a property.",
            ));
        }
        Ok(Self(paths))
    }
}

impl Store {
    /// Applies `expand[]`: each dotted path names a field holding an id, replaced by the object
    /// (`data.` applies to each item of a list). `line_items` expands a checkout session's items.
    pub fn expand(&self, value: &mut Value, expansions: &Expansions) -> Result<(), ApiError> {
        for path in &expansions.0 {
            let segments: Vec<&str> = path.split('.').collect();
            self.expand_path(value, &segments, path)?;
        }
        Ok(())
    }

    fn expand_path(
        &self,
        value: &mut Value,
        segments: &[&str],
        path: &str,
    ) -> Result<(), ApiError> {
        let Some((first, rest)) = segments.split_first() else {
            return Ok(());
        };
        if *first == "data"
            && let Some(items) = value.get_mut("data").and_then(Value::as_array_mut)
        {
            for item in items {
                self.expand_path(item, rest, path)?;
            }
            return Ok(());
        }
        if *first == "line_items" && value["object"] == "checkout.session" && rest.is_empty() {
            let id = value["id"].as_str().unwrap_or_default().to_string();
            if let Some(session) = self.sessions.get(&id) {
                let data = self.line_items_json(session);
                value["line_items"] = json!({
                    "object": "list",
                    "data": data,
                    "has_more": false,
                    "url": format!("/v1/checkout/sessions/{id}/line_items")
                });
            }
            return Ok(());
        }
        let Some(field) = value.get_mut(*first) else {
            return Err(ApiError::invalid(
                "expand",
                "parameter_invalid_string",
                format!("This property cannot be expanded ({path})."),
            ));
        };
        if let Some(id) = field.as_str() {
            match self.object_by_id(id) {
                Some(object) => *field = object,
                None => {
                    return Err(ApiError::invalid(
                        "expand",
                        "parameter_invalid_string",
                        format!("This property cannot be expanded ({path})."),
                    ));
                }
            }
        }
        if !rest.is_empty() && field.is_object() {
            self.expand_path(field, rest, path)?;
        }
        Ok(())
    }
}
