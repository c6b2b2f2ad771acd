//! Stripe's form encoding: `a[b][0][c]=x` pairs parsed into a tree, with typed accessors that
//! report the offending parameter the way Stripe does (`line_items[0][quantity]`).

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::money::MAX_QUANTITY;

/// The parsed parameters of one request.
#[derive(Debug, Clone, Default)]
pub(crate) struct Params {
    root: Map<String, Value>,
    pairs: Vec<(String, String)>,
}

impl Params {
    /// Parses `application/x-www-form-urlencoded` bytes (a body or a query string).
    pub fn parse(bytes: &[u8]) -> Self {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        Self::from_pairs(pairs)
    }

    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut root = Map::new();
        for (key, value) in &pairs {
            insert(&mut root, &split_key(key), value.clone());
        }
        let root = match arrays(Value::Object(root)) {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        Self { root, pairs }
    }

    /// Adds the pairs of `other` (query parameters of a POST, for instance).
    pub fn merged(self, other: Params) -> Self {
        let mut pairs = self.pairs;
        pairs.extend(other.pairs);
        Self::from_pairs(pairs)
    }

    /// The pairs sorted, for comparing two requests made with one idempotency key.
    pub fn canonical(&self) -> Vec<(String, String)> {
        let mut pairs = self.pairs.clone();
        pairs.sort();
        pairs
    }

    pub fn node(&self) -> Node<'_> {
        Node {
            map: &self.root,
            path: String::new(),
        }
    }
}

/// `a[b][]` → `["a", "b", ""]`.
fn split_key(key: &str) -> Vec<String> {
    match key.find('[') {
        None => vec![key.to_string()],
        Some(start) => {
            let mut segments = vec![key[..start].to_string()];
            let mut rest = &key[start..];
            while let Some(stripped) = rest.strip_prefix('[') {
                match stripped.find(']') {
                    Some(end) => {
                        segments.push(stripped[..end].to_string());
                        rest = &stripped[end + 1..];
                    }
                    None => {
                        segments.push(stripped.to_string());
                        rest = "";
                    }
                }
            }
            segments
        }
    }
}

fn insert(map: &mut Map<String, Value>, segments: &[String], value: String) {
    let Some((first, rest)) = segments.split_first() else {
        return;
    };
    // `[]` appends: give it the next free numeric key.
    let key = if first.is_empty() {
        map.len().to_string()
    } else {
        first.clone()
    };
    if rest.is_empty() {
        map.insert(key, Value::String(value));
        return;
    }
    let entry = map.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !entry.is_object() {
        *entry = Value::Object(Map::new());
    }
    if let Value::Object(child) = entry {
        insert(child, rest, value);
    }
}

/// Turns objects whose keys are all indices (`0`, `1`, ...) into arrays, ordered by index.
fn arrays(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let all_indices = !map.is_empty()
                && map
                    .keys()
                    .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()));
            if all_indices {
                let mut items: Vec<(u64, Value)> = map
                    .into_iter()
                    .map(|(k, v)| (k.parse().unwrap_or(u64::MAX), arrays(v)))
                    .collect();
                items.sort_by_key(|(i, _)| *i);
                Value::Array(items.into_iter().map(|(_, v)| v).collect())
            } else {
                Value::Object(map.into_iter().map(|(k, v)| (k, arrays(v))).collect())
            }
        }
        other => other,
    }
}

/// A hash of parameters with its path, for error messages.
#[derive(Debug, Clone)]
pub(crate) struct Node<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Node<'a> {
    /// The full parameter name of `key` under this node.
    pub fn param(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}[{key}]", self.path)
        }
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    /// The keys given under this node.
    pub fn keys(&self) -> impl Iterator<Item = &'a str> + use<'a> {
        self.map.keys().map(String::as_str)
    }

    /// A string parameter; an empty string counts as absent (Stripe's way to unset).
    pub fn str(&self, key: &str) -> Result<Option<&'a str>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(_) => Err(ApiError::invalid(
                self.param(key),
                "parameter_invalid_string",
                format!(
                    "Invalid string: {} must be a string, not a hash or an array.",
                    self.param(key)
                ),
            )),
        }
    }

    /// A string field of an update: `None` when absent (left as it is), `Some(None)` when
    /// given empty (unset).
    pub fn update_str(&self, key: &str) -> Result<Option<Option<String>>, ApiError> {
        if !self.has(key) {
            return Ok(None);
        }
        Ok(Some(self.str(key)?.map(str::to_string)))
    }

    /// A string parameter, owned.
    pub fn string(&self, key: &str) -> Result<Option<String>, ApiError> {
        Ok(self.str(key)?.map(str::to_string))
    }

    pub fn required_str(&self, key: &str) -> Result<&'a str, ApiError> {
        self.str(key)?
            .ok_or_else(|| ApiError::missing(self.param(key)))
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.str(key)? {
            None => Ok(None),
            Some(text) => text.parse::<i64>().map(Some).map_err(|_| {
                ApiError::invalid(
                    self.param(key),
                    "parameter_invalid_integer",
                    format!("Invalid integer: {text}"),
                )
            }),
        }
    }

    /// A quantity: a whole number from 1 to [`MAX_QUANTITY`].
    pub fn quantity(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.int(key)? {
            Some(quantity) if quantity < 1 => Err(ApiError::invalid(
                self.param(key),
                "parameter_invalid_integer",
                format!(
                    "Invalid positive integer: {} must be at least 1.",
                    self.param(key)
                ),
            )),
            Some(quantity) if quantity > MAX_QUANTITY => Err(ApiError::invalid(
                self.param(key),
                "parameter_invalid_integer",
                format!(
                    "Invalid integer: {} must be at most {MAX_QUANTITY}.",
                    self.param(key)
                ),
            )),
            other => Ok(other),
        }
    }

    pub fn bool(&self, key: &str) -> Result<Option<bool>, ApiError> {
        match self.str(key)? {
            None => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(text) => Err(ApiError::invalid(
                self.param(key),
                "parameter_invalid_boolean",
                format!("Invalid boolean: {text}"),
            )),
        }
    }

    /// A nested hash (`price_data[...]`).
    pub fn node(&self, key: &str) -> Result<Option<Node<'a>>, ApiError> {
        match self.map.get(key) {
            None => Ok(None),
            Some(Value::String(s)) if s.is_empty() => Ok(None),
            Some(Value::Object(map)) => Ok(Some(Node {
                map,
                path: self.param(key),
            })),
            Some(_) => Err(ApiError::invalid(
                self.param(key),
                "parameter_invalid_string",
                format!("Invalid hash: {} must be a hash.", self.param(key)),
            )),
        }
    }

    /// An array of hashes (`line_items[0][...]`).
    pub fn nodes(&self, key: &str) -> Result<Vec<Node<'a>>, ApiError> {
        match self.map.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match item {
                    Value::Object(map) => Ok(Node {
                        map,
                        path: format!("{}[{i}]", self.param(key)),
                    }),
                    _ => Err(ApiError::invalid(
                        format!("{}[{i}]", self.param(key)),
                        "parameter_invalid_string",
                        format!("Invalid hash: {}[{i}] must be a hash.", self.param(key)),
                    )),
                })
                .collect(),
            Some(_) => Err(ApiError::invalid(
                self.param(key),
                "parameter_invalid_string",
                format!(
                    "Invalid array: {} must be an array (`{}[0][...]`).",
                    self.param(key),
                    self.param(key)
                ),
            )),
        }
    }

    /// An array of strings (`expand[]=a&expand[]=b`); a single string counts as one item.
    pub fn strings(&self, key: &str) -> Vec<String> {
        match self.map.get(key) {
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(|v| v.as_str().filter(|s| !s.is_empty()).map(str::to_string))
                .collect(),
            Some(Value::String(s)) if !s.is_empty() => vec![s.clone()],
            _ => Vec::new(),
        }
    }

    /// `metadata[...]`, with Stripe's limits: 50 keys, keys up to 40 characters without
    /// square brackets, values up to 500 characters. Empty values are dropped.
    pub fn metadata(&self, key: &str) -> Result<BTreeMap<String, String>, ApiError> {
        let param = self.param(key);
        let map = match self.map.get(key) {
            None => return Ok(BTreeMap::new()),
            Some(Value::String(s)) if s.is_empty() => return Ok(BTreeMap::new()),
            Some(Value::Object(map)) => map,
            Some(_) => {
                return Err(ApiError::invalid(
                    param,
                    "parameter_invalid_string",
                    "Invalid metadata: metadata must be a hash of string keys to string values.",
                ));
            }
        };
        let mut out = BTreeMap::new();
        for (k, v) in map {
            let Value::String(value) = v else {
                return Err(ApiError::invalid(
                    format!("{param}[{k}]"),
                    "parameter_invalid_string",
                    "Invalid metadata: nested hashes are not allowed in metadata.",
                ));
            };
            if k.chars().count() > 40 {
                return Err(ApiError::invalid(
                    format!("{param}[{k}]"),
                    "parameter_invalid_string",
                    format!("Metadata keys can have up to 40 characters; `{k}` is longer."),
                ));
            }
            if value.chars().count() > 500 {
                return Err(ApiError::invalid(
                    format!("{param}[{k}]"),
                    "parameter_invalid_string",
                    "Metadata values can have up to 500 characters.",
                ));
            }
            if !value.is_empty() {
                out.insert(k.clone(), value.clone());
            }
        }
        if out.len() > 50 {
            return Err(ApiError::invalid(
                param,
                "parameter_invalid_string",
                "Metadata can have up to 50 keys.",
            ));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Params {
        Params::parse(query.as_bytes())
    }

    #[test]
    fn bracket_keys_become_a_tree() {
        let p = params(
            "mode=payment&line_items[0][price_data][currency]=usd\
             &line_items[0][price_data][unit_amount]=1000\
             &line_items[0][price_data][product_data][name]=Starter%20pack\
             &line_items[0][quantity]=2&metadata[user_id]=42&expand[]=line_items&expand[]=customer",
        );
        let root = p.node();
        assert_eq!(root.str("mode").unwrap(), Some("payment"));
        let items = root.nodes("line_items").unwrap();
        assert_eq!(items.len(), 1);
        assert_eq!(items[0].int("quantity").unwrap(), Some(2));
        let price_data = items[0].node("price_data").unwrap().unwrap();
        assert_eq!(price_data.int("unit_amount").unwrap(), Some(1000));
        let product = price_data.node("product_data").unwrap().unwrap();
        assert_eq!(product.str("name").unwrap(), Some("Starter pack"));
        assert_eq!(
            product.param("name"),
            "line_items[0][price_data][product_data][name]"
        );
        assert_eq!(
            root.metadata("metadata").unwrap().get("user_id").unwrap(),
            "42"
        );
        assert_eq!(root.strings("expand"), vec!["line_items", "customer"]);
    }

    #[test]
    fn indices_are_ordered_numerically() {
        let p = params("items[10][a]=ten&items[2][a]=two");
        let items = p.node().nodes("items").unwrap();
        assert_eq!(items[0].str("a").unwrap(), Some("two"));
        assert_eq!(items[1].str("a").unwrap(), Some("ten"));
    }

    #[test]
    fn bad_integers_name_their_parameter() {
        let p = params("line_items[0][quantity]=two");
        let items = p.node().nodes("line_items").unwrap();
        let error = items[0].int("quantity").unwrap_err();
        assert_eq!(error.param.as_deref(), Some("line_items[0][quantity]"));
        assert_eq!(error.code, Some("parameter_invalid_integer"));
    }

    #[test]
    fn canonical_form_ignores_order() {
        assert_eq!(params("a=1&b=2").canonical(), params("b=2&a=1").canonical());
        assert_ne!(params("a=1&b=2").canonical(), params("a=1&b=3").canonical());
    }

    #[test]
    fn long_metadata_keys_are_refused() {
        let key = "k".repeat(41);
        let p = params(&format!("metadata[{key}]=v"));
        assert!(p.node().metadata("metadata").is_err());
    }
}
