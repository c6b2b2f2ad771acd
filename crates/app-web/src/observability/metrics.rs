//! The Prometheus recorder, `/metrics`, the per-route request metrics and the metrics port.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use ::metrics::{counter, gauge, histogram};
use anyhow::Context as _;
use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sha2::{Digest as _, Sha256};

use crate::state::{AppState, Database};

/// Request durations: 5 ms to 10 s.
const REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Service runs: 10 ms to 5 minutes (the longest service timeout).
const RUN_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
];
/// Webhook processing lag: 50 ms to an hour (retries back off).
const LAG_BUCKETS: &[f64] = &[
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// The most inbox events a scrape reads to count the backlog.
const INBOX_SCAN: u32 = 1000;

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

    /// The metrics in Prometheus' text format, with the gauges read now.
    pub async fn render(&self, state: &AppState) -> String {
        read_gauges(state).await;
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

/// The gauges that describe the present: the pool, the database, the outbox and the inbox.
async fn read_gauges(state: &AppState) {
    gauge!("quickscale_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    let pool = match state.database() {
        Database::Memory => None,
        Database::Sqlite(db) => Some(db.pool_stats()),
        Database::Postgres(db) => Some(db.pool_stats()),
    };
    if let Some(pool) = pool {
        let idle = pool.idle.min(pool.open);
        gauge!("quickscale_db_pool_connections", "state" => "in_use")
            .set(f64::from(pool.open - idle));
        gauge!("quickscale_db_pool_connections", "state" => "idle").set(f64::from(idle));
        gauge!("quickscale_db_pool_max_connections").set(f64::from(pool.max));
    }
    let up = state.database().ping().await.is_ok();
    gauge!("quickscale_database_up").set(if up { 1.0 } else { 0.0 });
    if !up {
        return;
    }
    match state.stores().outbox.counts().await {
        Ok(counts) => {
            #[allow(clippy::cast_precision_loss)] // counts far below 2^52
            {
                gauge!("quickscale_emails_pending").set(counts.pending as f64);
                gauge!("quickscale_emails_failed").set(counts.failed as f64);
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot count the outbox"),
    }
    if state.billing_enabled() {
        let now = state.clock().now();
        match state.stores().billing.due_events(now, INBOX_SCAN).await {
            Ok(due) => {
                #[allow(clippy::cast_precision_loss)]
                gauge!("quickscale_webhook_inbox_pending").set(due.len() as f64);
                let oldest = due
                    .iter()
                    .map(|e| e.received_at)
                    .min()
                    .map_or(0.0, |at| (now - at).as_seconds_f64().max(0.0));
                gauge!("quickscale_webhook_inbox_oldest_pending_seconds").set(oldest);
            }
            Err(error) => tracing::warn!(%error, "metrics: cannot read the webhook inbox"),
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

/// `GET /metrics`: the metrics, to a request with the token when `METRICS_TOKEN` is set.
pub(crate) async fn metrics_route(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let (Some(metrics), Some(config)) = (state.metrics(), state.config().metrics.as_ref()) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if let Some(token) = &config.token
        && !bearer_matches(&headers, token.expose())
    {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"))],
            "a bearer token is required\n",
        )
            .into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        metrics.render(&state).await,
    )
        .into_response()
}

/// Whether `Authorization` is `Bearer <token>`, compared by digest so that the time taken does
/// not tell how much of the token was right.
fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let Some(given) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    else {
        return false;
    };
    Sha256::digest(given.trim().as_bytes()) == Sha256::digest(token.as_bytes())
}

/// With metrics on, keeps the histograms drained and, with `METRICS_PORT`, serves `/metrics`
/// on that port of `HOST` until the process ends. Fails when the port is taken.
pub(crate) async fn serve_metrics_port(state: &AppState) -> anyhow::Result<()> {
    let Some(metrics) = state.metrics().cloned() else {
        return Ok(());
    };
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        loop {
            tick.tick().await;
            metrics.run_upkeep();
        }
    });
    let Some(port) = state.config().metrics.as_ref().and_then(|m| m.port) else {
        return Ok(());
    };
    let address = std::net::SocketAddr::new(state.config().host, port);
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .with_context(|| format!("cannot listen on {address} for metrics (METRICS_PORT)"))?;
    let router = Router::new()
        .route("/metrics", get(metrics_route))
        .with_state(state.clone());
    tracing::info!(%address, "serving metrics at /metrics");
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, router).await {
            tracing::error!(%error, "the metrics listener stopped");
        }
    });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_bearer_token_matches() {
        let with = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(header::AUTHORIZATION, HeaderValue::from_str(value).unwrap());
            headers
        };
        let token = "a-metrics-token-of-some-length";
        assert!(bearer_matches(&with(&format!("Bearer {token}")), token));
        assert!(!bearer_matches(&with(&format!("Bearer {token}x")), token));
        assert!(!bearer_matches(&with(token), token));
        assert!(!bearer_matches(&with("Bearer "), token));
        assert!(!bearer_matches(&HeaderMap::new(), token));
    }
}
