//! Usage statistics per service, computed from run samples (pure, so every store gives the
//! same numbers).

use std::collections::{BTreeMap, HashSet};

use quickscale_domain_credits::Credits;
use serde::Serialize;
use time::{Date, Duration, OffsetDateTime};

use crate::usage::{RunSample, RunStatus};

/// One day of one service.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct DayStats {
    /// The day the runs started, `YYYY-MM-DD`.
    pub date: String,
    /// Runs started that day.
    pub runs: u64,
    /// Of those, runs that failed or timed out.
    pub failures: u64,
    /// The median duration of its finished runs; `None` without any.
    pub median_ms: Option<u64>,
}

/// A service's usage over a period.
#[derive(Clone, PartialEq, Debug, Serialize)]
pub struct ServiceStats {
    /// The service's slug.
    pub service: String,
    /// Runs started in the period, whatever their end.
    pub runs: u64,
    /// Runs that returned their output.
    pub succeeded: u64,
    /// Failed or timed out (refunded).
    pub failed: u64,
    /// Refused for lack of credits (nothing ran).
    pub rejected: u64,
    /// Credits the runs kept (charges less refunds).
    pub credits: Credits,
    /// How many users ran it.
    pub unique_users: u64,
    /// Failed / (succeeded + failed), in percent.
    pub failure_rate: f64,
    /// The median duration of finished runs; `None` without any.
    pub median_ms: Option<u64>,
    /// Oldest first, one entry per day of the period (days without runs included).
    pub daily: Vec<DayStats>,
}

fn median(values: &mut [u64]) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let middle = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[middle - 1] + values[middle]) / 2
    } else {
        values[middle]
    })
}

/// Statistics for `slugs` over the `days` days ending at `now`.
pub fn summarize(
    samples: &[RunSample],
    slugs: &[String],
    now: OffsetDateTime,
    days: u16,
) -> Vec<ServiceStats> {
    let first_day: Date = (now - Duration::days(i64::from(days.max(1)) - 1)).date();
    slugs
        .iter()
        .map(|slug| {
            let runs: Vec<&RunSample> = samples
                .iter()
                .filter(|s| &s.service == slug && s.started_at.date() >= first_day)
                .collect();
            let count =
                |status: RunStatus| runs.iter().filter(|r| r.status == status).count() as u64;
            let succeeded = count(RunStatus::Succeeded);
            let failed = count(RunStatus::Failed) + count(RunStatus::TimedOut);
            let mut durations: Vec<u64> = runs.iter().filter_map(|r| r.duration_ms).collect();
            let mut by_day: BTreeMap<Date, (u64, u64, Vec<u64>)> = BTreeMap::new();
            let mut day = first_day;
            while day <= now.date() {
                by_day.insert(day, (0, 0, Vec::new()));
                day = day.next_day().unwrap_or(day);
                if day == Date::MAX {
                    break;
                }
            }
            for run in &runs {
                let entry = by_day.entry(run.started_at.date()).or_default();
                entry.0 += 1;
                if matches!(run.status, RunStatus::Failed | RunStatus::TimedOut) {
                    entry.1 += 1;
                }
                if let Some(ms) = run.duration_ms {
                    entry.2.push(ms);
                }
            }
            ServiceStats {
                service: slug.clone(),
                runs: runs.len() as u64,
                succeeded,
                failed,
                rejected: count(RunStatus::Rejected),
                credits: runs.iter().map(|r| r.cost).sum(),
                unique_users: runs.iter().map(|r| r.user).collect::<HashSet<_>>().len() as u64,
                failure_rate: if succeeded + failed == 0 {
                    0.0
                } else {
                    (failed as f64 * 1000.0 / (succeeded + failed) as f64).round() / 10.0
                },
                median_ms: median(&mut durations),
                daily: by_day
                    .into_iter()
                    .map(|(date, (runs, failures, mut ms))| DayStats {
                        date: date.to_string(),
                        runs,
                        failures,
                        median_ms: median(&mut ms),
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use quickscale_domain_identity::UserId;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn counts_credits_users_failures_and_medians_per_day() {
        let now = datetime!(2026-03-10 12:00 UTC);
        let ada = UserId::generate();
        let bob = UserId::generate();
        let sample = |user, status, cost: u32, ms, days_ago: i64| RunSample {
            service: "s".into(),
            user,
            status,
            cost: Credits::whole(cost),
            duration_ms: Some(ms),
            started_at: now - Duration::days(days_ago),
        };
        let samples = vec![
            sample(ada, RunStatus::Succeeded, 2, 10, 0),
            sample(ada, RunStatus::Succeeded, 2, 30, 0),
            sample(bob, RunStatus::Failed, 0, 500, 1),
            sample(bob, RunStatus::Succeeded, 2, 20, 1),
            sample(bob, RunStatus::Succeeded, 2, 20, 40),
        ];
        let stats = &summarize(&samples, &["s".into(), "other".into()], now, 7)[0];
        assert_eq!((stats.runs, stats.succeeded, stats.failed), (4, 3, 1));
        assert_eq!(stats.credits, Credits::whole(6));
        assert_eq!(stats.unique_users, 2);
        assert_eq!(stats.failure_rate, 25.0);
        assert_eq!(stats.median_ms, Some(25));
        assert_eq!(stats.daily.len(), 7);
        let today = stats.daily.last().unwrap();
        assert_eq!(
            (today.runs, today.failures, today.median_ms),
            (2, 0, Some(20))
        );
        assert_eq!(stats.daily[5].failures, 1);
        assert_eq!(stats.daily[0].runs, 0);
    }
}
