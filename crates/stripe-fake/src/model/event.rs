//! Events, where their delivery stands, and who caused them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Where the delivery of an event stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryState {
    /// No webhook URL was configured when the event happened.
    NoEndpoint,
    /// Its type was withheld: recorded, listed, not delivered.
    Withheld,
    /// Queued, being sent, or waiting for a retry.
    Pending,
    /// The endpoint answered 2xx.
    Delivered,
    /// Every attempt failed.
    Failed,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct EventRecord {
    pub seq: u64,
    pub id: String,
    pub created: i64,
    pub kind: String,
    /// The event without `pending_webhooks`, which is filled in when shown.
    pub body: Value,
    pub delivery: DeliveryState,
}

/// Who caused an event (`request` in the event).
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestInfo {
    pub id: Option<String>,
    pub idempotency_key: Option<String>,
}

/// Whether an event type matches a pattern: exact, `*`, or a prefix ending in `.*`.
pub(crate) fn type_matches(pattern: &str, kind: &str) -> bool {
    if pattern == "*" || pattern == kind {
        return true;
    }
    match pattern.strip_suffix('*') {
        Some(prefix) => kind.starts_with(prefix),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_patterns() {
        assert!(type_matches("charge.*", "charge.refunded"));
        assert!(type_matches("*", "charge.refunded"));
        assert!(type_matches("refund.created", "refund.created"));
        assert!(!type_matches("refund.created", "refund.updated"));
        assert!(!type_matches("charge.*", "checkout.session.completed"));
    }
}
