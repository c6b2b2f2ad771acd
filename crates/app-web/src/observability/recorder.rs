//! The Prometheus recorder, the table of metrics, and the per-route request metrics (`/metrics`
//! itself is `routes::metrics`; the metrics port is served by `app`).

use std::sync::OnceLock;
use std::time::Instant;

use ::metrics::{counter, histogram};
use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Request durations: 5 ms to 10 s.
const REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Service runs and jobs: 10 ms to 5 minutes (the longest service timeout).
const RUN_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Webhook processing lag: 50 ms to an hour (retries back off).
const LAG_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// The process's recorder: one per process, whatever number of apps it builds (tests).
static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The app's metrics (present when `METRICS_PORT` or `METRICS_TOKEN` is set).
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// Installs the Prometheus recorder as the process's recorder (once; later calls share
    /// it). When the embedding program installed a recorder of its own first, that one keeps
    /// receiving the app's metrics and `/metrics` shows only what is read at scrape time.
    pub fn install() -> Metrics {
        let handle = HANDLE.get_or_init(|| {
            let recorder = [
                ("quickscale_http_request_duration_seconds", REQUEST_BUCKETS),
                ("quickscale_service_run_duration_seconds", RUN_BUCKETS),
                ("quickscale_webhook_processing_lag_seconds", LAG_BUCKETS),
                ("quickscale_job_duration_seconds", RUN_BUCKETS),
            ]
            .into_iter()
            .try_fold(PrometheusBuilder::new(), |builder, (name, buckets)| {
                builder.set_buckets_for_metric(Matcher::Full(name.to_owned()), buckets)
            })
            .expect("the histogram buckets are valid")
            .build_recorder();
            let handle = recorder.handle();
            if let Err(error) = ::metrics::set_global_recorder(recorder) {
                tracing::warn!(%error, "another metrics recorder is installed; /metrics shows only the gauges read at scrape time");
            }
            describe();
            handle
        });
        Metrics {
            handle: handle.clone(),
        }
    }

    /// Drains the histograms' recent samples (run every few seconds, so that memory stays
    /// bounded between scrapes).
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The metrics in Prometheus' text format (set the gauges read at scrape time first).
    pub fn render(&self) -> String {
        self.handle.render()
    }
}

/// What kind of series a metric is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricKind {
    Counter,
    Gauge,
    Histogram,
}

/// One metric the app exports, with its `# HELP` text.
#[derive(Clone, Copy, Debug)]
pub struct MetricDoc {
    pub name: &'static str,
    pub kind: MetricKind,
    pub help: &'static str,
}

/// Every metric the app exports (docs/operations.md explains each; the alert rules and the
/// Grafana dashboard use only these).
pub const METRICS: &[MetricDoc] = &[
    MetricDoc {
        name: "quickscale_http_requests_total",
        kind: MetricKind::Counter,
        help: "HTTP requests answered, by method, route template and status",
    },
    MetricDoc {
        name: "quickscale_http_request_duration_seconds",
        kind: MetricKind::Histogram,
        help: "Time to answer an HTTP request, by method and route template",
    },
    MetricDoc {
        name: "quickscale_db_pool_connections",
        kind: MetricKind::Gauge,
        help: "Database connections open, by state (in_use, idle)",
    },
    MetricDoc {
        name: "quickscale_db_pool_max_connections",
        kind: MetricKind::Gauge,
        help: "The most connections the database pool opens",
    },
    MetricDoc {
        name: "quickscale_database_up",
        kind: MetricKind::Gauge,
        help: "1 when the database answered the last scrape, 0 otherwise",
    },
    MetricDoc {
        name: "quickscale_emails_pending",
        kind: MetricKind::Gauge,
        help: "Emails queued or waiting for a retry",
    },
    MetricDoc {
        name: "quickscale_emails_failed",
        kind: MetricKind::Gauge,
        help: "Emails given up on after every attempt failed",
    },
    MetricDoc {
        name: "quickscale_emails_sent_total",
        kind: MetricKind::Counter,
        help: "Emails the mail server accepted",
    },
    MetricDoc {
        name: "quickscale_email_attempts_failed_total",
        kind: MetricKind::Counter,
        help: "Failed delivery attempts, by outcome (retrying, given_up)",
    },
    MetricDoc {
        name: "quickscale_webhook_inbox_pending",
        kind: MetricKind::Gauge,
        help: "Webhook events stored and not yet processed (pending or due for a retry)",
    },
    MetricDoc {
        name: "quickscale_webhook_inbox_oldest_pending_seconds",
        kind: MetricKind::Gauge,
        help: "Age of the oldest webhook event not yet processed (0 when none)",
    },
    MetricDoc {
        name: "quickscale_webhook_events_received_total",
        kind: MetricKind::Counter,
        help: "Verified webhook events, by outcome (stored, duplicate)",
    },
    MetricDoc {
        name: "quickscale_webhook_events_processed_total",
        kind: MetricKind::Counter,
        help: "Webhook events whose effect is done, by event type",
    },
    MetricDoc {
        name: "quickscale_webhook_events_failed_total",
        kind: MetricKind::Counter,
        help: "Failed webhook processing attempts",
    },
    MetricDoc {
        name: "quickscale_webhook_processing_lag_seconds",
        kind: MetricKind::Histogram,
        help: "Time from receiving a webhook event to its effect being done",
    },
    MetricDoc {
        name: "quickscale_credits_granted_cents_total",
        kind: MetricKind::Counter,
        help: "Credits granted, in hundredths, by kind (welcome, purchase, subscription, admin)",
    },
    MetricDoc {
        name: "quickscale_credits_consumed_cents_total",
        kind: MetricKind::Counter,
        help: "Credits spent on service runs, in hundredths",
    },
    MetricDoc {
        name: "quickscale_credits_reversed_cents_total",
        kind: MetricKind::Counter,
        help: "Credits given back after failed runs, in hundredths",
    },
    MetricDoc {
        name: "quickscale_credits_clawed_back_cents_total",
        kind: MetricKind::Counter,
        help: "Credits taken back by refunds, in hundredths",
    },
    MetricDoc {
        name: "quickscale_credits_removed_cents_total",
        kind: MetricKind::Counter,
        help: "Credits removed by admins, in hundredths",
    },
    MetricDoc {
        name: "quickscale_service_runs_total",
        kind: MetricKind::Counter,
        help: "Service runs ended, by service and outcome",
    },
    MetricDoc {
        name: "quickscale_service_run_duration_seconds",
        kind: MetricKind::Histogram,
        help: "How long service runs took, by service and outcome",
    },
    MetricDoc {
        name: "quickscale_payments_total",
        kind: MetricKind::Counter,
        help: "Payments recorded, by currency",
    },
    MetricDoc {
        name: "quickscale_payments_amount_minor_total",
        kind: MetricKind::Counter,
        help: "Money paid, in minor units (cents), by currency",
    },
    MetricDoc {
        name: "quickscale_refunds_total",
        kind: MetricKind::Counter,
        help: "Refunds completed, by currency and origin (app, processor)",
    },
    MetricDoc {
        name: "quickscale_refunds_amount_minor_total",
        kind: MetricKind::Counter,
        help: "Money refunded, in minor units, by currency and origin",
    },
    MetricDoc {
        name: "quickscale_sign_ins_total",
        kind: MetricKind::Counter,
        help: "Sign-in attempts, by outcome",
    },
    MetricDoc {
        name: "quickscale_lockouts_total",
        kind: MetricKind::Counter,
        help: "Sign-in lockout episodes begun",
    },
    MetricDoc {
        name: "quickscale_build_info",
        kind: MetricKind::Gauge,
        help: "Always 1, labelled with the app's version",
    },
    MetricDoc {
        name: "quickscale_jobs_total",
        kind: MetricKind::Counter,
        help: "Job runs ended, by kind and outcome (succeeded, failed, retried, dead)",
    },
    MetricDoc {
        name: "quickscale_job_duration_seconds",
        kind: MetricKind::Histogram,
        help: "How long a job run took, by kind",
    },
    MetricDoc {
        name: "quickscale_job_queue_up",
        kind: MetricKind::Gauge,
        help: "1 when the job queue's storage answered the last scrape, 0 otherwise",
    },
    MetricDoc {
        name: "quickscale_jobs_waiting",
        kind: MetricKind::Gauge,
        help: "Jobs due and waiting for a worker (new, or failed with attempts left)",
    },
    MetricDoc {
        name: "quickscale_jobs_oldest_waiting_seconds",
        kind: MetricKind::Gauge,
        help: "How long the oldest waiting job has been due (0 when none waits)",
    },
    MetricDoc {
        name: "quickscale_jobs_running",
        kind: MetricKind::Gauge,
        help: "Jobs a worker holds now",
    },
    MetricDoc {
        name: "quickscale_jobs_dead",
        kind: MetricKind::Gauge,
        help: "Jobs left failed after their last attempt",
    },
];

/// What each metric means, in `# HELP` lines.
fn describe() {
    for metric in METRICS {
        match metric.kind {
            MetricKind::Counter => ::metrics::describe_counter!(metric.name, metric.help),
            MetricKind::Gauge => ::metrics::describe_gauge!(metric.name, metric.help),
            MetricKind::Histogram => {
                ::metrics::describe_histogram!(metric.name, ::metrics::Unit::Seconds, metric.help)
            }
        }
    }
}

/// Counts every request by its route template (`/services/{slug}`, never the raw path, so a
/// crawler cannot create series), method and status, and times it.
pub(crate) async fn track_requests(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |path| path.as_str().to_owned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    counter!(
        "quickscale_http_requests_total",
        "method" => method,
        "route" => route.clone(),
        "status" => status
    )
    .increment(1);
    histogram!(
        "quickscale_http_request_duration_seconds",
        "method" => method,
        "route" => route
    )
    .record(started.elapsed().as_secs_f64());
    response
}

/// The method as a label: the standard ones, every other as `other`.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// A sign-in attempt's outcome (`success`, `wrong_password`, `locked` ...), and whether it
/// began a lockout episode.
pub(crate) fn count_sign_in(outcome: &'static str, locked_out: bool) {
    counter!("quickscale_sign_ins_total", "outcome" => outcome).increment(1);
    if locked_out {
        counter!("quickscale_lockouts_total").increment(1);
    }
}
