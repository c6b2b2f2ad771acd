//! `GET /metrics`: the gauges read now (the pool, the database, the job queue, the outbox, the
//! webhook inbox),
//! then everything in Prometheus' text format, to a request with the token when `METRICS_TOKEN`
//! is set. Served on the app's port behind the token, or on the metrics port (`app::server`).

use ::metrics::gauge;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest as _, Sha256};

use crate::state::{AppState, Database};

/// The most inbox events a scrape reads to count the backlog.
const INBOX_SCAN: u32 = 1000;

/// `GET /metrics`: the metrics, to a request with the token when `METRICS_TOKEN` is set.
pub async fn metrics_route(State(state): State<AppState>, headers: HeaderMap) -> Response {
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
        {
            read_gauges(&state).await;
            metrics.render()
        },
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
    let queue = match state.jobs().queue().stats().await {
        Ok(stats) => Some(stats),
        Err(error) => {
            tracing::warn!(%error, "metrics: cannot read the job queue");
            None
        }
    };
    crate::observability::set_queue_gauges(queue);
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
