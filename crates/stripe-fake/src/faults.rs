//! Faults a test injects into the API: the next calls fail, or hang and then fail.

use serde::{Deserialize, Serialize};

/// What a fault does to the API calls it hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FaultMode {
    /// Answer 500 with a Stripe `api_error`.
    Error,
    /// Hold the request for the hang time (`hang_ms`, default [`Config::fault_hang`](crate::Config::fault_hang)), then
    /// answer 500: a client with a shorter timeout sees a timeout.
    Timeout,
}

/// A fault injected into the next `count` calls to `/v1/...`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fault {
    pub mode: FaultMode,
    pub count: u32,
    /// How long a `timeout` holds each request, in milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hang_ms: Option<u64>,
    /// Process the request first (its effects and events happen, an idempotency key stores
    /// its answer), then fail: the "it worked but the answer was lost" case.
    #[serde(default)]
    pub after_processing: bool,
    /// Only calls whose path starts with this (`/v1/refunds`) are hit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_prefix: Option<String>,
}

impl Fault {
    /// The next `count` calls answer 500.
    pub fn error(count: u32) -> Self {
        Self {
            mode: FaultMode::Error,
            count,
            hang_ms: None,
            after_processing: false,
            path_prefix: None,
        }
    }

    /// The next `count` calls hang, then answer 500.
    pub fn timeout(count: u32) -> Self {
        Self {
            mode: FaultMode::Timeout,
            ..Self::error(count)
        }
    }
}

impl FaultMode {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Timeout => "timeout",
        }
    }
}
