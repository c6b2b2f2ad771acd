//! Observability: Prometheus metrics at `/metrics` (off unless `METRICS_PORT` or `METRICS_TOKEN`
//! is set), what they count, and readiness. docs/operations.md lists every metric.
//!
//! - `metrics`: the recorder, the scrape (with the gauges read at scrape time), the
//!   per-route request metrics and the metrics port;
//! - `logs`: the log subscriber (text or JSON lines with request, user and run ids);
//! - `system`: the recent server errors Admin > System lists;
//! - `metered`: the stores wrapped so that business events (credits, runs, payments,
//!   refunds, webhooks) are counted where they are stored, never in the domain crates.

mod logs;
mod metered;
mod metrics;
mod system;

pub use logs::install_logging;
pub(crate) use metered::observe_stores;
pub use metrics::{METRICS, MetricDoc, MetricKind, Metrics};
pub(crate) use metrics::{count_sign_in, metrics_route, serve_metrics_port, track_requests};
pub(crate) use system::record_server_errors;
pub use system::{RecentErrors, ServerError};
