//! Telling users that a run ended: the run-ended event the runner publishes, the port it is
//! published through ([`RunEvents`]), the signed webhook payload users receive ([`webhook`]), and
//! the store of each user's notification choices and webhook deliveries ([`NotificationStore`]).
//!
//! The runner publishes one [`RunEnded`] from the one place a run ends (success, failure,
//! timeout, or an interrupted run ended by the recovery chore). What happens next is the app's
//! business: the web app queues the event as a job whose worker posts the user's webhook and,
//! for background runs, sends the completion email.

mod store;
pub mod webhook;

use async_trait::async_trait;
use quickscale_domain_credits::Credits;
use quickscale_domain_identity::UserId;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use uuid::Uuid;

use crate::usage::RunStatus;

pub use store::{
    AttemptOutcome, DeliveryAttempt, DeliveryStatus, NewDelivery, NotificationPreferences,
    NotificationStore, WebhookDelivery, WebhookEndpoint,
};

/// How a run ended, as users are told: a timeout or an interruption is a failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunResult {
    /// The service returned its output; the charge stands.
    Succeeded,
    /// The service failed, timed out or was interrupted; the charge was given back.
    Failed,
}

impl RunResult {
    /// The webhook event type: `run.succeeded` or `run.failed`.
    pub fn event_type(self) -> &'static str {
        match self {
            RunResult::Succeeded => "run.succeeded",
            RunResult::Failed => "run.failed",
        }
    }

    /// The result of a run that ended with `status`; `None` while it runs, or when it never
    /// started (rejected for want of credits: nothing ran, nothing to announce).
    pub fn of(status: RunStatus) -> Option<Self> {
        match status {
            RunStatus::Succeeded => Some(RunResult::Succeeded),
            // A cancelled background run is announced as failed; its `status` says cancelled.
            RunStatus::Failed | RunStatus::TimedOut | RunStatus::Cancelled => {
                Some(RunResult::Failed)
            }
            RunStatus::Queued | RunStatus::Running | RunStatus::Rejected => None,
        }
    }
}

/// A run ended. Published once per run by the runner (and, at the end of a background run, by
/// whoever ends it, with `background: true`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunEnded {
    /// The run's id.
    pub run: Uuid,
    /// The service's slug.
    pub service: String,
    /// Who ran it.
    pub user: UserId,
    /// Succeeded or failed.
    pub result: RunResult,
    /// The status as recorded (`succeeded`, `failed`, `timed_out`).
    pub status: String,
    /// What the run kept of the user's credits (zero after a refund).
    pub cost: Credits,
    /// The output's one-line summary, when it succeeded.
    pub summary: Option<String>,
    /// Why it failed, when it failed.
    pub error: Option<String>,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// When it ended.
    #[serde(with = "time::serde::rfc3339")]
    pub finished_at: OffsetDateTime,
    /// True for a run that ran in the background (queued), false for one that ran in the
    /// request. Completion emails are only for background runs: the user of an immediate run
    /// saw its result on the page.
    pub background: bool,
}

/// Where the runner publishes [`RunEnded`]. Implementations must not fail the run: an event
/// that cannot be published is the implementation's to log (the run is recorded either way).
#[async_trait]
pub trait RunEvents: Send + Sync {
    /// A run ended.
    async fn run_ended(&self, event: &RunEnded);
}

/// Publishes nothing (the runner's default).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoRunEvents;

#[async_trait]
impl RunEvents for NoRunEvents {
    async fn run_ended(&self, _event: &RunEnded) {}
}
