//! Account lockout after repeated failed sign-ins.

use time::{Duration, OffsetDateTime};

/// A user's failed sign-in record.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct LoginState {
    /// Failures counted in the current window.
    pub failed_attempts: u32,
    /// When the current window began (the first failure in it).
    pub window_started_at: Option<OffsetDateTime>,
    /// Sign-in is refused until then.
    pub locked_until: Option<OffsetDateTime>,
}

impl LoginState {
    pub fn is_locked_at(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// Why a lockout policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockoutPolicyError {
    #[error("the number of attempts must be between 3 and 20 (got {0})")]
    Attempts(u32),
    #[error("the counting window must be between 1 minute and 24 hours")]
    Window,
    #[error("the lock duration must be between 1 minute and 24 hours")]
    Duration,
}

/// `max_attempts` failures within `window` lock the account for `lock_for`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LockoutPolicy {
    max_attempts: u32,
    window: Duration,
    lock_for: Duration,
}

impl Default for LockoutPolicy {
    /// Five failures within fifteen minutes lock the account for fifteen minutes.
    fn default() -> Self {
        LockoutPolicy {
            max_attempts: 5,
            window: Duration::minutes(15),
            lock_for: Duration::minutes(15),
        }
    }
}

impl LockoutPolicy {
    pub fn new(
        max_attempts: u32,
        window: Duration,
        lock_for: Duration,
    ) -> Result<Self, LockoutPolicyError> {
        let sane = |d: Duration| d >= Duration::minutes(1) && d <= Duration::hours(24);
        if !(3..=20).contains(&max_attempts) {
            return Err(LockoutPolicyError::Attempts(max_attempts));
        }
        if !sane(window) {
            return Err(LockoutPolicyError::Window);
        }
        if !sane(lock_for) {
            return Err(LockoutPolicyError::Duration);
        }
        Ok(LockoutPolicy {
            max_attempts,
            window,
            lock_for,
        })
    }

    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
    pub fn window(&self) -> Duration {
        self.window
    }
    pub fn lock_for(&self) -> Duration {
        self.lock_for
    }

    /// The record after one more failure at `now`.
    pub fn after_failure(&self, state: LoginState, now: OffsetDateTime) -> LoginState {
        if state.is_locked_at(now) {
            // Failures while locked neither extend the lock nor count towards the next one.
            return state;
        }
        let in_window = state
            .window_started_at
            .is_some_and(|start| now - start < self.window);
        let (failed_attempts, window_started_at) = if in_window {
            (state.failed_attempts + 1, state.window_started_at)
        } else {
            (1, Some(now))
        };
        if failed_attempts >= self.max_attempts {
            LoginState {
                failed_attempts: 0,
                window_started_at: None,
                locked_until: Some(now + self.lock_for),
            }
        } else {
            LoginState {
                failed_attempts,
                window_started_at,
                locked_until: None,
            }
        }
    }

    /// A successful sign-in clears the record.
    pub fn after_success(&self) -> LoginState {
        LoginState::default()
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);

    #[test]
    fn locks_after_max_failures_within_the_window() {
        let policy = LockoutPolicy::new(3, Duration::minutes(10), Duration::minutes(30)).unwrap();
        let mut state = LoginState::default();
        for minute in 0..2 {
            state = policy.after_failure(state, T0 + Duration::minutes(minute));
            assert!(!state.is_locked_at(T0 + Duration::minutes(minute)));
        }
        state = policy.after_failure(state, T0 + Duration::minutes(2));
        assert!(state.is_locked_at(T0 + Duration::minutes(31)));
        assert!(!state.is_locked_at(T0 + Duration::minutes(32)));
    }

    #[test]
    fn failures_outside_the_window_start_a_new_count() {
        let policy = LockoutPolicy::new(3, Duration::minutes(10), Duration::minutes(30)).unwrap();
        let mut state = policy.after_failure(LoginState::default(), T0);
        state = policy.after_failure(state, T0 + Duration::minutes(1));
        state = policy.after_failure(state, T0 + Duration::minutes(11));
        assert_eq!(state.failed_attempts, 1);
        assert!(!state.is_locked_at(T0 + Duration::minutes(11)));
    }

    #[test]
    fn failures_while_locked_do_not_extend_the_lock() {
        let policy = LockoutPolicy::new(3, Duration::minutes(10), Duration::minutes(30)).unwrap();
        let locked = LoginState {
            locked_until: Some(T0),
            ..LoginState::default()
        };
        assert_eq!(
            policy.after_failure(locked, T0 - Duration::minutes(5)),
            locked
        );
    }

    #[test]
    fn bounds_are_enforced() {
        assert!(LockoutPolicy::new(2, Duration::minutes(5), Duration::minutes(5)).is_err());
        assert!(LockoutPolicy::new(5, Duration::seconds(5), Duration::minutes(5)).is_err());
        assert!(LockoutPolicy::new(5, Duration::minutes(5), Duration::hours(25)).is_err());
    }
}
