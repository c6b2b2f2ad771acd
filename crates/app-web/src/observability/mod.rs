//! Observability: Prometheus metrics (off unless `METRICS_PORT` or `METRICS_TOKEN` is set), what
//! they count, logs, and what Admin > System lists. docs/operations.md lists every metric. A
//! leaf under `state`: the parts that read the state are in `routes`, `middleware` and `app`.
//!
//! - `recorder`: the recorder, the table of metrics, the per-route request metrics and the
//!   sign-in counter (`/metrics` itself is `routes::metrics`, which reads the gauges of the
//!   present at each scrape; `app` serves the metrics port);
//! - `logs`: the log subscriber (text or JSON lines with request, user and run ids);
//! - `traces`: OpenTelemetry traces over OTLP/HTTP (off unless `OTEL_EXPORTER_OTLP_ENDPOINT`
//!   is set), and the trace context a job carries;
//! - `system`: the recent server errors Admin > System lists (`middleware::server_errors`
//!   records them);
//! - `jobs`: the job queue's outcomes by kind (counted by the worker) and backlog gauges;
//! - `reports`: error reports to Sentry (off unless `SENTRY_DSN` is set), scrubbed of secrets;
//! - `metered`: the stores wrapped so that business events (credits, runs, payments,
//!   refunds, webhooks) are counted where they are stored, never in the domain crates.

mod jobs;
mod logs;
mod metered;
mod recorder;
mod reports;
mod system;
mod traces;

pub(crate) use jobs::{JobOutcome, count_job, set_queue_gauges};
pub use logs::{install_logging, install_logging_and_traces};
pub(crate) use metered::observe_stores;
pub use recorder::{METRICS, MetricDoc, MetricKind, Metrics};
pub(crate) use recorder::{count_sign_in, track_requests};
pub use reports::{flush_error_reports, install_error_reports};
pub(crate) use reports::{report_server_error, reports_on, request_hub};
pub use system::{RecentErrors, ServerError};
pub(crate) use traces::{continue_trace, current_traceparent, tracing_on};
pub use traces::{flush_traces, traces_layer};
