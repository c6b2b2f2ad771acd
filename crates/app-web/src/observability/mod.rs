//! Observability: Prometheus metrics (off unless `METRICS_PORT` or `METRICS_TOKEN` is set), what
//! they count, logs, and what Admin > System lists. docs/operations.md lists every metric. A
//! leaf under `state`: the parts that read the state are in `routes`, `middleware` and `app`.
//!
//! - `recorder`: the recorder, the table of metrics, the per-route request metrics and the
//!   sign-in counter (`/metrics` itself is `routes::metrics`, which reads the gauges of the
//!   present at each scrape; `app` serves the metrics port);
//! - `logs`: the log subscriber (text or JSON lines with request, user and run ids);
//! - `system`: the recent server errors Admin > System lists (`middleware::server_errors`
//!   records them);
//! - `metered`: the stores wrapped so that business events (credits, runs, payments,
//!   refunds, webhooks) are counted where they are stored, never in the domain crates.

mod logs;
mod metered;
mod recorder;
mod system;

pub use logs::install_logging;
pub(crate) use metered::observe_stores;
pub use recorder::{METRICS, MetricDoc, MetricKind, Metrics};
pub(crate) use recorder::{count_sign_in, track_requests};
pub use system::{RecentErrors, ServerError};
