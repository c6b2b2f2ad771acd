//! The job queue seen from outside: each job's outcome and time by kind (counted by the worker
//! as it finishes a job) and the backlog (read at each scrape).

use std::time::Duration;

use ::metrics::{counter, gauge, histogram};
use quickscale_adapters::jobs::{JobAttempt, QueueStats};

/// How a job's work ended, as far as its handler can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JobOutcome {
    /// The work is done.
    Succeeded,
    /// The work failed and its failure is recorded where the work lives (a webhook event keeps
    /// its error and next attempt, and the sweep queues that attempt): the job itself is over.
    Failed,
}

/// The outcome label of one run of a job: `succeeded`, `failed` (recorded with the work, which
/// has its own retries), `retried` (the handler failed, the queue runs the job again) or `dead`
/// (the handler failed the job's last attempt; the job is left failed).
pub(crate) fn outcome_label(
    result: &Result<JobOutcome, String>,
    attempt: &JobAttempt,
) -> &'static str {
    match result {
        Ok(JobOutcome::Succeeded) => "succeeded",
        Ok(JobOutcome::Failed) => "failed",
        Err(_) if attempt.is_last() => "dead",
        Err(_) => "retried",
    }
}

/// Counts one run of a job of `kind` with its outcome, and times it.
pub(crate) fn count_job(
    kind: &'static str,
    result: &Result<JobOutcome, String>,
    attempt: &JobAttempt,
    took: Duration,
) {
    let outcome = outcome_label(result, attempt);
    if let Err(error) = result {
        tracing::warn!(kind, attempt = attempt.number, of = attempt.max, outcome, %error, "a job failed");
    }
    counter!("quickscale_jobs_total", "kind" => kind, "outcome" => outcome).increment(1);
    histogram!("quickscale_job_duration_seconds", "kind" => kind).record(took.as_secs_f64());
}

/// Sets the backlog gauges from `stats` (`None`: the queue's storage did not answer).
pub(crate) fn set_queue_gauges(stats: Option<QueueStats>) {
    gauge!("quickscale_job_queue_up").set(if stats.is_some() { 1.0 } else { 0.0 });
    let Some(stats) = stats else {
        return;
    };
    #[allow(clippy::cast_precision_loss)] // counts and seconds far below 2^52
    {
        gauge!("quickscale_jobs_waiting").set(stats.waiting as f64);
        gauge!("quickscale_jobs_oldest_waiting_seconds").set(stats.oldest_waiting_seconds as f64);
        gauge!("quickscale_jobs_running").set(stats.running as f64);
        gauge!("quickscale_jobs_dead").set(stats.dead as f64);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attempt(number: usize, max: usize) -> JobAttempt {
        JobAttempt {
            number,
            max,
            trace: None,
        }
    }

    #[test]
    fn a_failure_on_the_last_attempt_is_dead_and_before_it_retried() {
        let failed: Result<JobOutcome, String> = Err("boom".to_owned());
        assert_eq!(outcome_label(&failed, &attempt(1, 3)), "retried");
        assert_eq!(outcome_label(&failed, &attempt(3, 3)), "dead");
        assert_eq!(
            outcome_label(&Ok(JobOutcome::Succeeded), &attempt(3, 3)),
            "succeeded"
        );
        assert_eq!(
            outcome_label(&Ok(JobOutcome::Failed), &attempt(1, 3)),
            "failed"
        );
    }
}
