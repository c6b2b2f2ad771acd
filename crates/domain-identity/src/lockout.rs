//! What repeated failed sign-ins do, as pure rules.
//!
//! Two records per account, so that nobody can lock the owner out with wrong passwords sent
//! from other addresses:
//!
//! - per client ([`LoginState`], keyed by [`ClientKey`]): `max_attempts` failures from one client
//!   within `window` lock the account **for that client** for `lock_for`. The owner's own
//!   address, which has not failed, still signs in.
//! - per account ([`AccountLoginState`]): failures from every client are counted; past
//!   `throttle_after` of them, each further attempt on the account must wait a delay that
//!   doubles with every failure (1 s, 2 s, 4 s, ... up to `max_delay`), from any address. That
//!   slows an attack spread over many addresses without locking the account: the owner's
//!   attempt is only refused while a delay runs. The count is forgotten after
//!   [`ACCOUNT_MEMORY`] without failures, by a password reset and by an admin's unlock.
//!
//! The owner is told once per episode (the first client lock or the start of the throttle
//! since the count was last forgotten), not once per attempt.

use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::str::FromStr;

use time::{Duration, OffsetDateTime};

/// How long an account's count of failures lasts without a new failure.
pub const ACCOUNT_MEMORY: Duration = Duration::hours(24);

/// Where a sign-in attempt comes from, for lockout: an IPv4 address, or the /64 network of an
/// IPv6 address (one subscriber usually holds a whole /64, so single IPv6 addresses would cost
/// an attacker nothing). An IPv4 address mapped into IPv6 counts as the IPv4 address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub struct ClientKey(IpAddr);

impl ClientKey {
    /// The key an address counts under (an IPv6 address's /64 network).
    pub fn of(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => ClientKey(IpAddr::V4(v4)),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => ClientKey(IpAddr::V4(v4)),
                None => {
                    let network = u128::from(v6) & !((1u128 << 64) - 1);
                    ClientKey(IpAddr::V6(Ipv6Addr::from(network)))
                }
            },
        }
    }
}

/// `203.0.113.7`, or `2001:db8:1:2::/64`.
impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            IpAddr::V4(v4) => v4.fmt(f),
            IpAddr::V6(v6) => write!(f, "{v6}/64"),
        }
    }
}

/// Reads back what [`ClientKey`]'s `Display` wrote (or any address, which it normalises).
impl FromStr for ClientKey {
    type Err = std::net::AddrParseError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let address = text.strip_suffix("/64").unwrap_or(text);
        address.parse().map(ClientKey::of)
    }
}

/// The failed sign-ins of one client on one account.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct LoginState {
    /// Failures counted in the current window.
    pub failed_attempts: u32,
    /// When the current window began (the first failure in it).
    pub window_started_at: Option<OffsetDateTime>,
    /// This client's sign-ins to the account are refused until then.
    pub locked_until: Option<OffsetDateTime>,
}

impl LoginState {
    /// Whether this client is locked out at `now`.
    pub fn is_locked_at(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }
}

/// The failed sign-ins of an account from every client, kept with the account.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct AccountLoginState {
    /// Failures since the count was last forgotten.
    pub failed_attempts: u32,
    /// When the last failure happened; the count is forgotten [`ACCOUNT_MEMORY`] after it.
    pub last_failed_at: Option<OffsetDateTime>,
    /// The latest end of a lock of one of its clients: for admins, "someone is locked out".
    pub locked_until: Option<OffsetDateTime>,
    /// When the owner was told about the failures counted now (once per episode).
    pub notice_sent_at: Option<OffsetDateTime>,
}

impl AccountLoginState {
    /// Whether some client is locked out of the account at `now` (what admins see as locked).
    pub fn is_locked_at(&self, now: OffsetDateTime) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    /// Whether the count has been forgotten by `now` (a day without failures).
    fn is_forgotten_at(&self, now: OffsetDateTime) -> bool {
        self.last_failed_at
            .is_none_or(|last| now - last >= ACCOUNT_MEMORY)
    }
}

/// Why a sign-in is refused before its password is checked.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Pause {
    /// This client failed too often on this account.
    ClientLocked {
        /// When this client may try again.
        until: OffsetDateTime,
    },
    /// The account as a whole failed too often: the next attempt must wait.
    Throttled {
        /// When the next attempt on the account is accepted.
        until: OffsetDateTime,
    },
}

/// Why a lockout policy was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockoutPolicyError {
    /// The number of failures that lock one client is outside 3 to 20.
    #[error("the number of attempts must be between 3 and 20 (got {0})")]
    Attempts(u32),
    /// The counting window is outside 1 minute to 24 hours.
    #[error("the counting window must be between 1 minute and 24 hours")]
    Window,
    /// The lock's duration is outside 1 minute to 24 hours.
    #[error("the lock duration must be between 1 minute and 24 hours")]
    Duration,
    /// The throttle would start before one client is locked, or implausibly late.
    #[error(
        "the account-wide throttle must start after at least as many failures as lock one client ({attempts}) and at most 1000 (got {got})"
    )]
    ThrottleAfter {
        /// The policy's failures that lock one client: the throttle starts no earlier.
        attempts: u32,
        /// The value refused.
        got: u32,
    },
    /// The longest delay is outside 1 second to 1 hour.
    #[error("the longest account-wide delay must be between 1 second and 1 hour")]
    ThrottleDelay,
}

/// The lockout rules (see the module documentation).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct LockoutPolicy {
    max_attempts: u32,
    window: Duration,
    lock_for: Duration,
    throttle_after: u32,
    max_delay: Duration,
}

impl Default for LockoutPolicy {
    /// Five failures from one client within fifteen minutes lock that client out for fifteen
    /// minutes; past ten failures from all clients, attempts on the account wait 1 s, 2 s, 4 s,
    /// ... up to five minutes.
    fn default() -> Self {
        LockoutPolicy {
            max_attempts: 5,
            window: Duration::minutes(15),
            lock_for: Duration::minutes(15),
            throttle_after: 10,
            max_delay: Duration::minutes(5),
        }
    }
}

impl LockoutPolicy {
    /// The client lock, with the default throttle (after twice `max_attempts` failures, at
    /// most ten, up to five minutes apart).
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
        let defaults = LockoutPolicy::default();
        Ok(LockoutPolicy {
            max_attempts,
            window,
            lock_for,
            throttle_after: defaults.throttle_after.max(max_attempts),
            max_delay: defaults.max_delay,
        })
    }

    /// Sets the account-wide throttle: delays begin after `after` failures (at least
    /// `max_attempts`, at most 1000) and grow up to `max_delay` (1 s to 1 hour).
    pub fn with_throttle(
        self,
        after: u32,
        max_delay: Duration,
    ) -> Result<Self, LockoutPolicyError> {
        if !(self.max_attempts..=1000).contains(&after) {
            return Err(LockoutPolicyError::ThrottleAfter {
                attempts: self.max_attempts,
                got: after,
            });
        }
        if max_delay < Duration::SECOND || max_delay > Duration::HOUR {
            return Err(LockoutPolicyError::ThrottleDelay);
        }
        Ok(LockoutPolicy {
            throttle_after: after,
            max_delay,
            ..self
        })
    }

    /// Failures from one client within the window that lock it out.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }
    /// How long failures from one client are counted together.
    pub fn window(&self) -> Duration {
        self.window
    }
    /// How long a locked-out client waits.
    pub fn lock_for(&self) -> Duration {
        self.lock_for
    }
    /// Failures from all clients after which every attempt on the account waits.
    pub fn throttle_after(&self) -> u32 {
        self.throttle_after
    }
    /// The longest wait between attempts on a throttled account.
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// Whether an attempt from a client in state `client` on an account in state `account` is
    /// refused at `now` without checking its password, and why.
    pub fn pause(
        &self,
        client: &LoginState,
        account: &AccountLoginState,
        now: OffsetDateTime,
    ) -> Option<Pause> {
        if let Some(until) = client.locked_until.filter(|_| client.is_locked_at(now)) {
            return Some(Pause::ClientLocked { until });
        }
        self.throttled_until(account, now)
            .map(|until| Pause::Throttled { until })
    }

    /// When the next attempt on the account may be made, if not yet at `now`.
    pub fn throttled_until(
        &self,
        account: &AccountLoginState,
        now: OffsetDateTime,
    ) -> Option<OffsetDateTime> {
        if account.is_forgotten_at(now) {
            return None;
        }
        let beyond = account.failed_attempts.checked_sub(self.throttle_after)?;
        let until = account.last_failed_at? + self.delay(beyond);
        (until > now).then_some(until)
    }

    /// The wait after `beyond + 1` failures past the threshold: 1 s doubling, capped.
    fn delay(&self, beyond: u32) -> Duration {
        let seconds = 1i64
            .checked_shl(beyond)
            .filter(|s| *s > 0)
            .unwrap_or(i64::MAX);
        Duration::seconds(seconds).min(self.max_delay)
    }

    /// The client's record after one more failure at `now`.
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

    /// The account's record after one more failure at `now`, given the failing client's record
    /// after it (see [`LockoutPolicy::after_failure`]); and whether to tell the owner: when the
    /// failure locks a client or starts the throttle, once per episode.
    pub fn account_after_failure(
        &self,
        account: AccountLoginState,
        client: &LoginState,
        now: OffsetDateTime,
    ) -> (AccountLoginState, bool) {
        let base = if account.is_forgotten_at(now) {
            AccountLoginState::default()
        } else {
            account
        };
        let failed_attempts = base.failed_attempts.saturating_add(1);
        let client_lock = client.locked_until.filter(|_| client.is_locked_at(now));
        let alarming = client_lock.is_some() || failed_attempts >= self.throttle_after;
        let notify = alarming && base.notice_sent_at.is_none();
        let next = AccountLoginState {
            failed_attempts,
            last_failed_at: Some(now),
            locked_until: base.locked_until.max(client_lock),
            notice_sent_at: if notify {
                Some(now)
            } else {
                base.notice_sent_at
            },
        };
        (next, notify)
    }

    /// A successful sign-in clears the client's record (the account's count stays: the
    /// failures it counts still happened).
    pub fn after_success(&self) -> LoginState {
        LoginState::default()
    }

    /// Whether a client's record no longer matters at `now` (its window is over and it is not
    /// locked), so it can be forgotten.
    pub fn is_spent(&self, state: &LoginState, now: OffsetDateTime) -> bool {
        !state.is_locked_at(now)
            && state
                .window_started_at
                .is_none_or(|start| now - start >= self.window)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use time::macros::datetime;

    use super::*;

    const T0: OffsetDateTime = datetime!(2026-05-01 10:00 UTC);

    /// What one more failure changes.
    struct Failure {
        client: LoginState,
        account: AccountLoginState,
        notify_owner: bool,
    }

    trait Fail {
        fn failure(
            &self,
            client: LoginState,
            account: AccountLoginState,
            now: OffsetDateTime,
        ) -> Failure;
    }

    impl Fail for LockoutPolicy {
        /// Both records after one more failure, as `Accounts::authenticate` computes them.
        fn failure(
            &self,
            client: LoginState,
            account: AccountLoginState,
            now: OffsetDateTime,
        ) -> Failure {
            let client = self.after_failure(client, now);
            let (account, notify_owner) = self.account_after_failure(account, &client, now);
            Failure {
                client,
                account,
                notify_owner,
            }
        }
    }

    fn policy() -> LockoutPolicy {
        LockoutPolicy::new(3, Duration::minutes(10), Duration::minutes(30))
            .unwrap()
            .with_throttle(6, Duration::minutes(5))
            .unwrap()
    }

    #[test]
    fn locks_after_max_failures_within_the_window() {
        let policy = policy();
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
        let policy = policy();
        let mut state = policy.after_failure(LoginState::default(), T0);
        state = policy.after_failure(state, T0 + Duration::minutes(1));
        state = policy.after_failure(state, T0 + Duration::minutes(11));
        assert_eq!(state.failed_attempts, 1);
        assert!(!state.is_locked_at(T0 + Duration::minutes(11)));
    }

    #[test]
    fn failures_while_locked_do_not_extend_the_lock() {
        let policy = policy();
        let locked = LoginState {
            locked_until: Some(T0),
            ..LoginState::default()
        };
        assert_eq!(
            policy.after_failure(locked, T0 - Duration::minutes(5)),
            locked
        );
    }

    /// Many clients, each under its own limit: no client is locked, the owner's client (which
    /// never failed) is not paused once the delay has run, and each further failure makes the
    /// next wait twice as long, up to the maximum.
    #[test]
    fn failures_spread_over_clients_slow_the_account_down_without_locking_it() {
        let policy = policy();
        let mut account = AccountLoginState::default();
        let owner = LoginState::default();
        let mut now = T0;
        let mut waits = Vec::new();
        for _ in 0..12 {
            // A fresh client each time, trying as soon as it may.
            if let Some(until) = policy.throttled_until(&account, now) {
                waits.push((until - now).whole_seconds());
                now = until;
            }
            assert_eq!(policy.pause(&LoginState::default(), &account, now), None);
            let failure = policy.failure(LoginState::default(), account, now);
            assert!(!failure.client.is_locked_at(now));
            account = failure.account;
        }
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32]);
        assert!(!account.is_locked_at(now), "no client is locked");
        let until = policy.throttled_until(&account, now).unwrap();
        assert_eq!(until - now, Duration::SECOND * 64);
        assert_eq!(
            policy.pause(&owner, &account, now + Duration::SECOND),
            Some(Pause::Throttled { until }),
            "while a delay runs, even the owner waits"
        );
        assert_eq!(policy.pause(&owner, &account, until), None);
        for _ in 0..5 {
            let at = policy.throttled_until(&account, now).unwrap();
            account = policy.failure(LoginState::default(), account, at).account;
            now = at;
        }
        assert_eq!(
            policy.throttled_until(&account, now).unwrap() - now,
            Duration::minutes(5),
            "capped"
        );
        assert_eq!(
            policy.throttled_until(&account, now + ACCOUNT_MEMORY),
            None,
            "forgotten after a quiet day"
        );
    }

    #[test]
    fn one_client_is_locked_and_the_others_are_not() {
        let policy = policy();
        let mut attacker = LoginState::default();
        let mut account = AccountLoginState::default();
        for second in 0..3 {
            let now = T0 + Duration::seconds(second);
            assert_eq!(policy.pause(&attacker, &account, now), None);
            let failure = policy.failure(attacker, account, now);
            (attacker, account) = (failure.client, failure.account);
        }
        let now = T0 + Duration::seconds(3);
        assert_eq!(
            policy.pause(&attacker, &account, now),
            Some(Pause::ClientLocked {
                until: T0 + Duration::seconds(2) + Duration::minutes(30)
            })
        );
        assert_eq!(policy.pause(&LoginState::default(), &account, now), None);
        assert!(
            account.is_locked_at(now),
            "admins see that someone is locked out"
        );
    }

    #[test]
    fn the_owner_is_told_once_per_episode() {
        let policy = policy();
        let mut account = AccountLoginState::default();
        let mut notices = Vec::new();
        let mut now = T0;
        // Three clients lock themselves out, then the throttle starts, then more failures.
        for client in 0..4 {
            let mut state = LoginState::default();
            for _ in 0..3 {
                now = policy.throttled_until(&account, now).unwrap_or(now) + Duration::SECOND;
                let failure = policy.failure(state, account, now);
                (state, account) = (failure.client, failure.account);
                if failure.notify_owner {
                    notices.push((client, account.failed_attempts));
                }
            }
        }
        assert_eq!(notices, vec![(0, 3)], "at the first lock, once");
        // A quiet day later, a new episode is told again.
        now += ACCOUNT_MEMORY;
        let mut state = LoginState::default();
        let mut told = 0;
        for _ in 0..3 {
            let failure = policy.failure(state, account, now);
            (state, account) = (failure.client, failure.account);
            told += u32::from(failure.notify_owner);
        }
        assert_eq!(told, 1);
        assert_eq!(account.failed_attempts, 3, "the count started again");
    }

    #[test]
    fn the_throttle_alone_tells_the_owner() {
        let policy = policy();
        let mut account = AccountLoginState::default();
        let mut told_at = Vec::new();
        for second in 0..8 {
            let failure = policy.failure(
                LoginState::default(),
                account,
                T0 + Duration::minutes(second),
            );
            account = failure.account;
            if failure.notify_owner {
                told_at.push(account.failed_attempts);
            }
        }
        assert_eq!(told_at, vec![6]);
    }

    #[test]
    fn spent_client_records_can_be_forgotten() {
        let policy = policy();
        let fresh = policy.after_failure(LoginState::default(), T0);
        assert!(!policy.is_spent(&fresh, T0 + Duration::minutes(9)));
        assert!(policy.is_spent(&fresh, T0 + Duration::minutes(10)));
        let locked = LoginState {
            locked_until: Some(T0 + Duration::minutes(30)),
            ..LoginState::default()
        };
        assert!(!policy.is_spent(&locked, T0 + Duration::minutes(29)));
        assert!(policy.is_spent(&locked, T0 + Duration::minutes(30)));
    }

    #[test]
    fn client_keys_group_ipv6_networks_and_read_back() {
        let key = |text: &str| ClientKey::of(text.parse().unwrap());
        assert_eq!(key("203.0.113.7").to_string(), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), key("203.0.113.7"));
        assert_eq!(key("2001:db8:1:2:aaaa::1").to_string(), "2001:db8:1:2::/64");
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        for text in ["203.0.113.7", "2001:db8:1:2::/64", "::1"] {
            let parsed: ClientKey = text.parse().unwrap();
            assert_eq!(parsed.to_string().parse::<ClientKey>().unwrap(), parsed);
        }
        assert!("nonsense".parse::<ClientKey>().is_err());
    }

    #[test]
    fn bounds_are_enforced() {
        assert!(LockoutPolicy::new(2, Duration::minutes(5), Duration::minutes(5)).is_err());
        assert!(LockoutPolicy::new(5, Duration::seconds(5), Duration::minutes(5)).is_err());
        assert!(LockoutPolicy::new(5, Duration::minutes(5), Duration::hours(25)).is_err());
        let policy = LockoutPolicy::new(5, Duration::minutes(5), Duration::minutes(5)).unwrap();
        assert_eq!(
            policy.with_throttle(4, Duration::minutes(1)),
            Err(LockoutPolicyError::ThrottleAfter {
                attempts: 5,
                got: 4
            })
        );
        assert!(policy.with_throttle(1001, Duration::minutes(1)).is_err());
        assert!(policy.with_throttle(5, Duration::ZERO).is_err());
        assert!(policy.with_throttle(5, Duration::hours(2)).is_err());
        assert_eq!(
            LockoutPolicy::new(20, Duration::minutes(5), Duration::minutes(5))
                .unwrap()
                .throttle_after(),
            20,
            "the default throttle never starts before a client is locked"
        );
    }

    proptest! {
        /// However failures are spread over clients and time, the waits never shrink while the
        /// count grows, never exceed the maximum, and no attempt is paused once its wait ran.
        #[test]
        fn waits_grow_and_are_capped(gaps in proptest::collection::vec(0i64..400, 1..60)) {
            let policy = policy();
            let mut account = AccountLoginState::default();
            let mut now = T0;
            let mut last_wait = Duration::ZERO;
            for gap in gaps {
                now += Duration::seconds(gap);
                if let Some(until) = policy.throttled_until(&account, now) {
                    now = until;
                }
                prop_assert_eq!(policy.pause(&LoginState::default(), &account, now), None);
                account = policy.failure(LoginState::default(), account, now).account;
                if let Some(until) = policy.throttled_until(&account, now) {
                    let wait = until - now;
                    prop_assert!(wait <= policy.max_delay());
                    prop_assert!(wait >= last_wait);
                    last_wait = wait;
                }
            }
        }
    }
}
