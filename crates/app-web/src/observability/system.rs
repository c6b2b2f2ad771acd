//! What Admin > System shows: the recent server errors (kept in this instance's memory), and the
//! status of the database, mail and the payment processor.

use std::collections::VecDeque;
use std::sync::Mutex;

use serde::Serialize;
use time::OffsetDateTime;

/// How many server errors each instance remembers.
const KEPT: usize = 50;

/// A request answered with a 5xx: what the operator needs to find its log lines.
#[derive(Clone, Debug, Serialize)]
pub struct ServerError {
    pub at: OffsetDateTime,
    /// The `x-request-id` the client got, and the logs carry.
    pub request_id: String,
    pub method: String,
    /// The route template (`/services/{slug}`), never the raw path, which may hold tokens.
    pub route: String,
    pub status: u16,
}

/// The latest server errors of this instance, newest first (per instance: each app instance
/// shows its own; the logs and the error counter cover every instance).
#[derive(Debug, Default)]
pub struct RecentErrors(Mutex<VecDeque<ServerError>>);

impl RecentErrors {
    /// Remembers `error`, forgetting the oldest beyond the last 50.
    pub fn push(&self, error: ServerError) {
        let mut errors = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        errors.push_front(error);
        errors.truncate(KEPT);
    }

    /// Newest first.
    pub fn list(&self) -> Vec<ServerError> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .collect()
    }
}
