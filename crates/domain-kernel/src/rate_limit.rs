//! Rate limits: a budget ([`Quota`]), the rule that spends it (GCRA, the generic cell rate
//! algorithm), and the port that keeps the budgets ([`RateLimitStore`]), in one process or
//! shared by every instance of the app (a database table, Redis).
//!
//! GCRA keeps one number per client: its *theoretical arrival time* (TAT), the instant at which
//! its budget will be whole again. A request costs one `interval`; it is allowed when, after
//! paying, the TAT is at most `burst` intervals ahead of now. So a client gets `burst` requests
//! at once, then one per `interval`, and a client whose TAT has passed is the same as one never
//! seen (its entry can be forgotten). The same few lines of arithmetic are written in Rust
//! ([`Quota::spend`], used by the in-memory store), in SQL and in a Redis script; the stores'
//! shared contract suite holds them to the same answers.

use std::time::Duration;

use async_trait::async_trait;

use crate::StorageError;

/// A budget: `burst` requests at once, then one every `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    /// How many requests a client may make at once.
    pub burst: u32,
    /// How long a client waits for one more, once its burst is spent.
    pub interval: Duration,
}

/// Instants are whole microseconds since the Unix epoch, as the stores keep them.
pub type Micros = i64;

/// What spending one request of a budget gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Allowed.
    Allowed,
    /// Refused: the budget has one more request after this long.
    Refused {
        /// How long until one more request is allowed.
        retry_after: Duration,
    },
}

impl Decision {
    /// The whole seconds to put in `Retry-After` (at least 1), or `None` when allowed.
    pub fn retry_after_seconds(self) -> Option<u64> {
        match self {
            Decision::Allowed => None,
            Decision::Refused { retry_after } => {
                Some(retry_after.as_micros().div_ceil(1_000_000).max(1) as u64)
            }
        }
    }
}

impl Quota {
    /// `burst` at once, then `per_minute` a minute (both at least 1).
    pub fn per_minute(per_minute: u32, burst: u32) -> Self {
        Quota {
            burst: burst.max(1),
            interval: Duration::from_micros(60_000_000 / u64::from(per_minute.max(1))),
        }
    }

    /// `burst` at once, then one every `interval` (at least a microsecond; `burst` at least 1).
    pub fn every(interval: Duration, burst: u32) -> Self {
        Quota {
            burst: burst.max(1),
            interval: interval.max(Duration::from_micros(1)),
        }
    }

    /// The interval in microseconds (at least 1).
    pub fn interval_micros(&self) -> Micros {
        Micros::try_from(self.interval.as_micros())
            .unwrap_or(Micros::MAX / 4)
            .max(1)
    }

    /// How far ahead of now a TAT may be after paying: `burst` intervals.
    pub fn capacity_micros(&self) -> Micros {
        self.interval_micros()
            .saturating_mul(Micros::from(self.burst.max(1)))
    }

    /// Spends one request at `now` from a client whose TAT is `tat` (`None`: never seen, or
    /// forgotten). Allowed: the TAT to keep. Refused: how long to wait (and the TAT stays).
    pub fn spend(&self, tat: Option<Micros>, now: Micros) -> Result<Micros, Duration> {
        let start = tat.map_or(now, |tat| tat.max(now));
        let paid = start.saturating_add(self.interval_micros());
        let over = paid.saturating_sub(now) - self.capacity_micros();
        if over > 0 {
            Err(Duration::from_micros(over.unsigned_abs()))
        } else {
            Ok(paid)
        }
    }

    /// Whether one more request would be allowed at `now`, without spending it.
    pub fn peek(&self, tat: Option<Micros>, now: Micros) -> Decision {
        match self.spend(tat, now) {
            Ok(_) => Decision::Allowed,
            Err(retry_after) => Decision::Refused { retry_after },
        }
    }
}

/// Where the budgets are kept. A budget is named by a `scope` (`sign_in`, `api_key` ...) and a
/// `key` within it (a client address, an API key's id). `now` comes from the caller, so every
/// store answers the same for the same history.
///
/// Implementations: in memory (one process), SQLite and PostgreSQL (a table), Redis (a script).
/// A store that fails answers an error; the caller decides whether to let the request through.
#[async_trait]
pub trait RateLimitStore: Send + Sync + std::fmt::Debug {
    /// Spends one request of the budget, atomically however many callers share it.
    async fn spend(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError>;

    /// Whether one more request would be allowed now, spending nothing.
    async fn peek(
        &self,
        scope: &str,
        key: &str,
        quota: Quota,
        now: Micros,
    ) -> Result<Decision, StorageError>;

    /// Forgets the budgets that are whole again at `now` (their TAT has passed): they answer as
    /// if never seen. Returns how many were forgotten, where the store can tell (Redis expires
    /// them by itself and answers 0).
    async fn forget_idle(&self, now: Micros) -> Result<u64, StorageError>;
}

/// `at` in microseconds since the Unix epoch.
pub fn micros(at: time::OffsetDateTime) -> Micros {
    Micros::try_from(at.unix_timestamp_nanos() / 1_000).unwrap_or(Micros::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: Micros = 1_000_000;

    #[test]
    fn a_burst_then_one_per_interval() {
        let quota = Quota::every(Duration::from_secs(6), 10);
        let now = 1_000 * SECOND;
        let mut tat = None;
        for _ in 0..10 {
            tat = Some(quota.spend(tat, now).expect("within the burst"));
        }
        assert_eq!(
            quota.spend(tat, now),
            Err(Duration::from_secs(6)),
            "the eleventh waits one interval"
        );
        assert_eq!(
            quota.peek(tat, now + 6 * SECOND - 1),
            Decision::Refused {
                retry_after: Duration::from_micros(1)
            }
        );
        let later = quota
            .spend(tat, now + 6 * SECOND)
            .expect("one more after 6 s");
        assert!(quota.spend(Some(later), now + 6 * SECOND).is_err());
        // Once the TAT has passed, the client is as new: a whole burst again.
        let mut tat = Some(later);
        for _ in 0..10 {
            tat = Some(quota.spend(tat, later).expect("whole again"));
        }
        assert!(quota.spend(tat, later).is_err());
    }

    #[test]
    fn a_refusal_spends_nothing_and_peeking_spends_nothing() {
        let quota = Quota::per_minute(1, 1);
        let tat = quota.spend(None, 0).unwrap();
        for at in [0, SECOND, 30 * SECOND] {
            assert!(quota.spend(Some(tat), at).is_err());
        }
        assert_eq!(quota.peek(Some(tat), 60 * SECOND), Decision::Allowed);
        assert_eq!(quota.peek(None, 0), Decision::Allowed);
    }

    #[test]
    fn retry_after_is_whole_seconds_rounded_up_and_at_least_one() {
        let refused = |micros| Decision::Refused {
            retry_after: Duration::from_micros(micros),
        };
        assert_eq!(refused(1).retry_after_seconds(), Some(1));
        assert_eq!(refused(6_000_000).retry_after_seconds(), Some(6));
        assert_eq!(refused(6_000_001).retry_after_seconds(), Some(7));
        assert_eq!(Decision::Allowed.retry_after_seconds(), None);
    }

    #[test]
    fn per_minute_divides_the_minute() {
        assert_eq!(
            Quota::per_minute(120, 60).interval,
            Duration::from_millis(500)
        );
        assert_eq!(Quota::per_minute(0, 0).burst, 1);
        assert_eq!(Quota::per_minute(0, 0).interval, Duration::from_secs(60));
    }
}
