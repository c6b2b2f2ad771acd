//! Admin > System: the version, the uptime, the database (reachable, migrations to apply), the job
//! queue (reachable, backlog, dead jobs), mail
//! and the payment processor with their last error, and this instance's recent server errors.

use axum::extract::State;
use axum::response::Response;
use quickscale_domain_billing::{EventQuery, EventStatus};
use quickscale_domain_kernel::{OutboxQuery, OutboxStatus};
use serde::Serialize;

use crate::error::AppError;
use crate::extract::AdminUser;
use crate::state::AppState;
use crate::view::{Page, date_time};

#[derive(Serialize)]
struct DatabaseView {
    kind: &'static str,
    reachable: bool,
    /// Why it could not be read, when it could not.
    error: Option<String>,
    pending_migrations: Vec<i64>,
}

#[derive(Serialize)]
struct MailView {
    transport: &'static str,
    pending: u64,
    failed: u64,
    last_error: Option<String>,
    last_error_at: Option<String>,
}

#[derive(Serialize)]
struct StripeView {
    mode: &'static str,
    failed_events: usize,
    last_error: Option<String>,
    last_error_at: Option<String>,
}

#[derive(Serialize)]
struct QueueView {
    reachable: bool,
    /// Why it could not be read, when it could not.
    error: Option<String>,
    waiting: u64,
    oldest_waiting: String,
    running: u64,
    dead: u64,
}

#[derive(Serialize)]
struct ErrorView {
    at: String,
    request_id: String,
    method: String,
    route: String,
    status: u16,
}

pub async fn system(
    State(state): State<AppState>,
    AdminUser(admin): AdminUser,
) -> Result<Response, AppError> {
    let database = match state.database().pending_migrations().await {
        Ok(pending) => DatabaseView {
            kind: state.database().kind(),
            reachable: true,
            error: None,
            pending_migrations: pending,
        },
        Err(error) => DatabaseView {
            kind: state.database().kind(),
            reachable: false,
            error: Some(error.to_string()),
            pending_migrations: Vec::new(),
        },
    };
    let queue = match state.jobs().queue().stats().await {
        Ok(stats) => QueueView {
            reachable: true,
            error: None,
            waiting: stats.waiting,
            oldest_waiting: uptime_label(time::Duration::seconds(
                i64::try_from(stats.oldest_waiting_seconds).unwrap_or(i64::MAX),
            )),
            running: stats.running,
            dead: stats.dead,
        },
        Err(error) => QueueView {
            reachable: false,
            error: Some(error.to_string()),
            waiting: 0,
            oldest_waiting: String::new(),
            running: 0,
            dead: 0,
        },
    };
    let mail = mail(&state).await?;
    let stripe = match state.billing() {
        None => None,
        Some(billing) => Some(stripe(&state, billing).await?),
    };
    let errors: Vec<ErrorView> = state
        .recent_errors()
        .list()
        .into_iter()
        .map(|e| ErrorView {
            at: date_time(e.at),
            request_id: e.request_id,
            method: e.method,
            route: e.route,
            status: e.status,
        })
        .collect();
    let uptime = time::OffsetDateTime::now_utc() - state.started_at();
    Page::new("admin/system.html")
        .with("version", &env!("CARGO_PKG_VERSION"))
        .with("started_at", &date_time(state.started_at()))
        .with("uptime", &uptime_label(uptime))
        .with("database", &database)
        .with("queue", &queue)
        .with("mail", &mail)
        .with("stripe", &stripe)
        .with("errors", &errors)
        .with("metrics_on", &state.metrics().is_some())
        .render(&state, &admin.viewer())
        .await
}

async fn mail(state: &AppState) -> Result<MailView, AppError> {
    let outbox = &state.stores().outbox;
    let counts = outbox.counts().await?;
    let last_failed = outbox
        .list(&OutboxQuery {
            status: Some(OutboxStatus::Failed),
            limit: 1,
            ..Default::default()
        })
        .await?
        .into_iter()
        .next();
    Ok(MailView {
        transport: match state.config().mail {
            crate::config::MailTransport::Dev => "development outbox (nothing is sent)",
            crate::config::MailTransport::Smtp { .. } => "SMTP",
        },
        pending: counts.pending,
        failed: counts.failed,
        last_error: last_failed.as_ref().and_then(|m| m.last_error.clone()),
        last_error_at: last_failed.map(|m| date_time(m.created_at)),
    })
}

async fn stripe(
    state: &AppState,
    billing: &crate::state::BillingState,
) -> Result<StripeView, AppError> {
    let failed = state
        .stores()
        .billing
        .events(&EventQuery {
            status: Some(EventStatus::Failed),
            kind: None,
            object_ids: Vec::new(),
            offset: 0,
            limit: 100,
        })
        .await?;
    let last = failed.first();
    Ok(StripeView {
        mode: match (&billing.offline, billing.test_mode) {
            (Some(_), _) => "offline stand-in",
            (None, true) => "test mode",
            (None, false) => "live",
        },
        failed_events: failed.len(),
        last_error: last.and_then(|e| e.last_error.clone()),
        last_error_at: last.map(|e| date_time(e.received_at)),
    })
}

/// "3 d 4 h", "2 h 5 min", "42 s".
fn uptime_label(uptime: time::Duration) -> String {
    let seconds = uptime.whole_seconds().max(0);
    let (days, hours, minutes) = (seconds / 86_400, seconds / 3600 % 24, seconds / 60 % 60);
    match (days, hours, minutes) {
        (0, 0, 0) => format!("{seconds} s"),
        (0, 0, m) => format!("{m} min"),
        (0, h, m) => format!("{h} h {m} min"),
        (d, h, _) => format!("{d} d {h} h"),
    }
}

#[cfg(test)]
mod tests {
    use super::uptime_label;
    use time::Duration;

    #[test]
    fn uptime_reads_in_the_largest_units() {
        assert_eq!(uptime_label(Duration::seconds(42)), "42 s");
        assert_eq!(uptime_label(Duration::seconds(125)), "2 min");
        assert_eq!(uptime_label(Duration::minutes(125)), "2 h 5 min");
        assert_eq!(uptime_label(Duration::hours(76)), "3 d 4 h");
    }
}
