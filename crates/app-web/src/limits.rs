//! The client's address, per-client rate limits on the endpoints attackers hammer (sign-in,
//! registration, and the ones that send email: verification, password reset), the JSON API's
//! budget per key, and the largest request body.
//!
//! Every budget is spent through one [`RateLimitStore`]: in this process (one instance), or
//! shared by every instance (the database, or Redis): see `RATE_LIMITS` and docs/scaling.md.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::HeaderMap;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use quickscale_domain_kernel::Clock;
use quickscale_domain_kernel::rate_limit::{Decision, Quota, RateLimitStore, micros};
use uuid::Uuid;

pub use crate::config::ProxyTrust;
use crate::error::AppError;

/// The client's address: the address the nearest trusted proxy saw, or the peer's.
///
/// The peer is the client unless it is a trusted proxy. Each proxy appends the address it
/// received the request from to `X-Forwarded-For`, so the entries right of the first untrusted
/// one were written by trusted proxies and the ones left of it by anyone: walking from the
/// right, skip trusted addresses; the first other one is the client. An entry that is not an
/// address ends the walk at the trusted hop that wrote it (so garbage never earns a bucket of
/// its own), and a chain of trusted proxies only gives its leftmost entry. `Forwarded`
/// (RFC 7239) is not read: a proxy that sets only that would leave the client's own
/// `X-Forwarded-For` in place. Every per-client limit and anything that records the client's
/// address goes through here.
pub fn client_address(headers: &HeaderMap, peer: Option<IpAddr>, trust: &ProxyTrust) -> IpAddr {
    let mut client = peer.map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |ip| ip.to_canonical());
    if !trust.trusts(client) {
        return client;
    }
    let entries: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .collect();
    for (hop, entry) in entries.iter().rev().enumerate() {
        let Some(address) = forwarded_address(entry) else {
            return client;
        };
        client = address;
        // One hop: the peer's word is all that counts.
        if *trust == ProxyTrust::OneHop && hop == 0 {
            return client;
        }
        if !trust.trusts(client) {
            return client;
        }
    }
    client
}

/// An `X-Forwarded-For` entry: an address, optionally with a port (`203.0.113.9:41234`,
/// `[2001:db8::1]:443`), as proxies write them.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(address.to_canonical());
    }
    if let Ok(socket) = entry.parse::<SocketAddr>() {
        return Some(socket.ip().to_canonical());
    }
    entry
        .strip_prefix('[')
        .and_then(|rest| rest.strip_suffix(']'))
        .and_then(|inner| inner.parse::<std::net::Ipv6Addr>().ok())
        .map(|address| IpAddr::V6(address).to_canonical())
}

/// The peer recorded by the server (`serve_router`), if any.
fn peer(request: &Request) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// The JSON API's budget per key, by default (`API_RATE_BURST`, `API_RATE_PER_MINUTE`): this
/// many requests at once, then this many a minute.
pub const API_BURST: u32 = 60;
pub const API_PER_MINUTE: u32 = 120;

/// The JSON API's budget per client address for keys that do not authenticate (unknown,
/// revoked, malformed): this many at once, then this many a minute. Once a client has spent it,
/// its requests are refused before the key is looked up (so guessing keys costs no lookups),
/// except with keys that authenticated in the last hour.
pub const UNKNOWN_KEY_BURST: u32 = 20;
pub const UNKNOWN_KEY_PER_MINUTE: u32 = 20;

/// How long a key that authenticated stays known without being used.
const KNOWN_KEY_IDLE: Duration = Duration::from_secs(60 * 60);

/// The largest request body the app reads (uploads included).
pub const MAX_BODY_BYTES: usize = 25 * 1024 * 1024;

/// The budgets, each spent per client address except the API's per key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Budget {
    /// Sign-in: 10 at once, then one every 6 s.
    SignIn,
    /// Registration: 5, then one a minute.
    Register,
    /// Requests that send email (verification resend, password reset, email change, contact
    /// form), one budget for all: 5, then one a minute.
    Email,
    /// The JSON API, per key (see [`API_BURST`]; a key's plan and its own rate may set
    /// another, [`RateLimits::api_key`]).
    ApiKey,
    /// The JSON API's keys that do not authenticate, per client (see [`UNKNOWN_KEY_BURST`]).
    UnknownKey,
}

impl Budget {
    /// Its name in the store (a key's prefix in Redis, the `scope` column in the database).
    pub fn scope(self) -> &'static str {
        match self {
            Budget::SignIn => "sign_in",
            Budget::Register => "register",
            Budget::Email => "email",
            Budget::ApiKey => "api_key",
            Budget::UnknownKey => "unknown_key",
        }
    }
}

/// Where the budgets are kept (`RATE_LIMITS`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sharing {
    /// In this process: each instance has budgets of its own.
    Process,
    /// In the database, shared by every instance on it.
    Database,
    /// In Redis, shared by every instance on the same server.
    Redis,
}

impl Sharing {
    /// How the banner and the logs name it.
    pub fn describe(self) -> &'static str {
        match self {
            Sharing::Process => "in this process",
            Sharing::Database => "in the database (shared by every instance)",
            Sharing::Redis => "in Redis (shared by every instance)",
        }
    }
}

/// The rate limits: the budgets' quotas, where they are kept, and the API keys known to be
/// valid (per process: an exemption from a spent per-client budget, never a budget itself).
#[derive(Clone, Debug)]
pub struct RateLimits {
    store: Arc<dyn RateLimitStore>,
    clock: Arc<dyn Clock>,
    /// Where `store` keeps them.
    pub sharing: Sharing,
    /// How clients are told apart.
    pub trust: ProxyTrust,
    api: Quota,
    /// Hashes of keys that authenticated, when last.
    known_keys: Arc<Mutex<HashMap<String, Instant>>>,
}

impl RateLimits {
    /// Budgets kept in `store`, with the API's budget per key `api` (see [`API_BURST`]).
    pub fn new(
        store: Arc<dyn RateLimitStore>,
        sharing: Sharing,
        clock: Arc<dyn Clock>,
        trust: ProxyTrust,
        api: Quota,
    ) -> Self {
        RateLimits {
            store,
            clock,
            sharing,
            trust,
            api,
            known_keys: Arc::default(),
        }
    }

    /// The quota of a budget.
    pub fn quota(&self, budget: Budget) -> Quota {
        match budget {
            Budget::SignIn => Quota::every(Duration::from_secs(6), 10),
            Budget::Register | Budget::Email => Quota::every(Duration::from_secs(60), 5),
            Budget::ApiKey => self.api,
            Budget::UnknownKey => Quota::per_minute(UNKNOWN_KEY_PER_MINUTE, UNKNOWN_KEY_BURST),
        }
    }

    /// Spends one request of `key`'s `budget`, or says how many seconds to wait. A store that
    /// fails lets the request through (logged): an outage of Redis must not take the site down,
    /// and the sign-in lockout, kept with the accounts, still holds.
    pub async fn spend(&self, budget: Budget, key: &str) -> Result<(), u64> {
        let now = micros(self.clock.now());
        let decision = self
            .store
            .spend(budget.scope(), key, self.quota(budget), now)
            .await;
        self.answer(budget, decision)
    }

    /// Whether `key`'s `budget` has a request left, spending nothing.
    async fn peek(&self, budget: Budget, key: &str) -> Result<(), u64> {
        let now = micros(self.clock.now());
        let decision = self
            .store
            .peek(budget.scope(), key, self.quota(budget), now)
            .await;
        self.answer(budget, decision)
    }

    fn answer(
        &self,
        budget: Budget,
        decision: Result<Decision, quickscale_domain_kernel::StorageError>,
    ) -> Result<(), u64> {
        match decision {
            Ok(decision) => decision.retry_after_seconds().map_or(Ok(()), Err),
            Err(error) => {
                tracing::warn!(%error, scope = budget.scope(), "rate limit store failed; request let through");
                Ok(())
            }
        }
    }

    /// Spends one request of an API key's budget, at the key's own `quota` (its rate within its
    /// plan's bounds, `api::key_bounds`), or says how many seconds to wait.
    pub async fn api_key(&self, key: Uuid, quota: Quota) -> Result<(), u64> {
        let now = micros(self.clock.now());
        let decision = self
            .store
            .spend(
                Budget::ApiKey.scope(),
                &key.simple().to_string(),
                quota,
                now,
            )
            .await;
        self.answer(Budget::ApiKey, decision)
    }

    /// Before the lookup of the key with this hash from `client`: refused (with the seconds to
    /// wait) while the client's budget for keys that fail is spent, unless the key
    /// authenticated recently (on this instance).
    pub async fn check_unknown_key(&self, client: IpAddr, key_hash: &str) -> Result<(), u64> {
        if self.known_keys().contains_key(key_hash) {
            return Ok(());
        }
        self.peek(Budget::UnknownKey, &client.to_string()).await
    }

    /// After the lookup: a key that authenticated is known from now on; one that did not spends
    /// one request of the client's budget, and the one that finds it spent is refused too.
    pub async fn record_key(
        &self,
        client: IpAddr,
        key_hash: &str,
        authenticated: bool,
    ) -> Result<(), u64> {
        if authenticated {
            self.known_keys()
                .insert(key_hash.to_owned(), Instant::now());
            return Ok(());
        }
        self.known_keys().remove(key_hash);
        self.spend(Budget::UnknownKey, &client.to_string()).await
    }

    fn known_keys(&self) -> MutexGuard<'_, HashMap<String, Instant>> {
        self.known_keys.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state of a route's limit, for [`enforce`].
    pub fn route(&self, budget: Budget) -> RouteLimit {
        RouteLimit {
            limits: self.clone(),
            budget,
        }
    }

    /// Forgets the budgets that are whole again (the same as no budget; running it twice does
    /// no harm). With a shared store this is the queue's chore, run once per tick whichever
    /// instance takes it; with budgets kept in the process, each process's own.
    pub async fn forget_idle_budgets(&self) {
        let now = micros(self.clock.now());
        match self.store.forget_idle(now).await {
            Ok(0) => {}
            Ok(n) => tracing::debug!(forgotten = n, "idle rate-limit budgets forgotten"),
            Err(error) => tracing::warn!(%error, "forgetting idle rate-limit budgets failed"),
        }
    }

    /// This process's own housekeeping: the API keys not used for an hour, and the budgets
    /// when they are kept in this process (a shared store's are the queue's chore).
    pub async fn forget_idle_here(&self) {
        if self.sharing == Sharing::Process {
            self.forget_idle_budgets().await;
        }
        let now = Instant::now();
        self.known_keys()
            .retain(|_, seen| now.saturating_duration_since(*seen) < KNOWN_KEY_IDLE);
    }
}

/// A route's budget: the state of [`enforce`].
#[derive(Clone, Debug)]
pub struct RouteLimit {
    limits: RateLimits,
    budget: Budget,
}

/// Middleware: spends one request of the client's budget, or answers 429 with `Retry-After`
/// (a page, like every error page).
pub async fn enforce(State(limit): State<RouteLimit>, request: Request, next: Next) -> Response {
    let client = client_address(request.headers(), peer(&request), &limit.limits.trust);
    match limit.limits.spend(limit.budget, &client.to_string()).await {
        Ok(()) => next.run(request).await,
        Err(wait_seconds) => {
            let mut response = AppError::TooManyRequests { wait_seconds }.into_response();
            response
                .headers_mut()
                .insert("retry-after", axum::http::HeaderValue::from(wait_seconds));
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(forwarded: &[&str]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for value in forwarded {
            headers.append("x-forwarded-for", value.parse().unwrap());
        }
        headers
    }

    fn listed(proxies: &[&str]) -> ProxyTrust {
        ProxyTrust::Listed(
            proxies
                .iter()
                .map(|p| p.parse::<ipnet::IpNet>().unwrap())
                .collect(),
        )
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    const PEER: &str = "10.0.0.2";

    fn client(forwarded: &[&str], trust: &ProxyTrust) -> IpAddr {
        client_address(&headers(forwarded), Some(ip(PEER)), trust)
    }

    fn limits() -> (RateLimits, Arc<quickscale_domain_kernel::FixedClock>) {
        let clock = Arc::new(quickscale_domain_kernel::FixedClock::at(
            time::OffsetDateTime::now_utc(),
        ));
        let limits = RateLimits::new(
            Arc::new(quickscale_adapters::memory::MemoryRateLimits::default()),
            Sharing::Process,
            clock.clone(),
            ProxyTrust::None,
            Quota::per_minute(API_PER_MINUTE, API_BURST),
        );
        (limits, clock)
    }

    #[tokio::test]
    async fn only_keys_that_fail_spend_a_clients_budget_and_known_keys_pass_a_spent_one() {
        let (limits, clock) = limits();
        let (guesser, other) = (ip("203.0.113.7"), ip("198.51.100.9"));
        // Valid keys, however many, spend nothing.
        for n in 0..30 {
            let hash = format!("valid-{n}");
            assert_eq!(limits.check_unknown_key(guesser, &hash).await, Ok(()));
            assert_eq!(limits.record_key(guesser, &hash, true).await, Ok(()));
        }
        for n in 0..UNKNOWN_KEY_BURST {
            let hash = format!("wrong-{n}");
            assert_eq!(limits.check_unknown_key(guesser, &hash).await, Ok(()));
            assert_eq!(limits.record_key(guesser, &hash, false).await, Ok(()));
        }
        // Spent: refused before the lookup, and a lookup that fails anyway is refused too.
        let wait = limits
            .check_unknown_key(guesser, "wrong-x")
            .await
            .unwrap_err();
        assert_eq!(wait, 3, "one request every 3 s");
        assert!(limits.record_key(guesser, "wrong-x", false).await.is_err());
        assert!(
            limits
                .check_unknown_key(guesser, "never-seen")
                .await
                .is_err()
        );
        assert_eq!(limits.check_unknown_key(guesser, "valid-0").await, Ok(()));
        assert_eq!(limits.check_unknown_key(other, "wrong-x").await, Ok(()));
        // A key that stops authenticating is no longer let through.
        assert!(limits.record_key(guesser, "valid-0", false).await.is_err());
        assert!(limits.check_unknown_key(guesser, "valid-0").await.is_err());
        // Time refills the budget: one more every 3 s.
        clock.advance(time::Duration::seconds(3));
        assert_eq!(limits.check_unknown_key(guesser, "wrong-y").await, Ok(()));
    }

    #[tokio::test]
    async fn each_budget_has_its_documented_burst() {
        let (limits, _clock) = limits();
        for (budget, burst) in [
            (Budget::SignIn, 10),
            (Budget::Register, 5),
            (Budget::Email, 5),
            (Budget::ApiKey, API_BURST),
            (Budget::UnknownKey, UNKNOWN_KEY_BURST),
        ] {
            for _ in 0..burst {
                assert_eq!(limits.spend(budget, "client").await, Ok(()), "{budget:?}");
            }
            assert!(limits.spend(budget, "client").await.is_err(), "{budget:?}");
        }
    }

    #[test]
    fn without_a_proxy_the_peer_is_the_client() {
        assert_eq!(client(&["203.0.113.9"], &ProxyTrust::None), ip(PEER));
        assert_eq!(
            client_address(&headers(&[]), None, &ProxyTrust::None),
            ip("0.0.0.0")
        );
        // An IPv4 peer on a dual-stack socket is the IPv4 address.
        assert_eq!(
            client_address(
                &headers(&[]),
                Some(ip("::ffff:198.51.100.4")),
                &ProxyTrust::None
            ),
            ip("198.51.100.4")
        );
    }

    #[test]
    fn one_hop_takes_the_entry_the_proxy_appended() {
        let trust = ProxyTrust::OneHop;
        assert_eq!(client(&["198.51.100.7"], &trust), ip("198.51.100.7"));
        // Whatever the client wrote comes first; the proxy's entry is last.
        for spoofed in ["1.2.3.4", "127.0.0.1", "10.0.0.1", "garbage", ""] {
            assert_eq!(
                client(&[&format!("{spoofed}, 198.51.100.7")], &trust),
                ip("198.51.100.7")
            );
        }
        // Several header lines are one list, in order.
        assert_eq!(
            client(&["1.2.3.4", "198.51.100.7"], &trust),
            ip("198.51.100.7")
        );
        // No header: the peer itself.
        assert_eq!(client(&[], &trust), ip(PEER));
    }

    #[test]
    fn a_chain_of_trusted_proxies_is_walked_from_the_right() {
        let trust = listed(&["10.0.0.0/8", "192.168.1.1/32"]);
        assert_eq!(
            client(&["6.6.6.6, 203.0.113.5, 192.168.1.1, 10.1.2.3"], &trust),
            ip("203.0.113.5")
        );
        // The client's own entries (left of its address) never count.
        assert_eq!(
            client(&["10.9.9.9, 203.0.113.5, 10.1.2.3"], &trust),
            ip("203.0.113.5")
        );
        // Every hop a proxy: the furthest one.
        assert_eq!(client(&["10.7.7.7, 10.1.2.3"], &trust), ip("10.7.7.7"));
        // A peer that is not a listed proxy is the client, whatever it forwards.
        assert_eq!(
            client_address(&headers(&["203.0.113.5"]), Some(ip("198.51.100.1")), &trust),
            ip("198.51.100.1")
        );
        // IPv6 proxies and clients.
        let trust = listed(&["2001:db8:1::/48"]);
        assert_eq!(
            client_address(
                &headers(&["2001:db8:9::5, 2001:db8:1::7"]),
                Some(ip("2001:db8:1::1")),
                &trust
            ),
            ip("2001:db8:9::5")
        );
    }

    #[test]
    fn malformed_entries_end_at_the_proxy_that_wrote_them() {
        let trust = listed(&["10.0.0.0/8"]);
        for garbage in [
            "unknown",
            "",
            "not-an-ip",
            "1.2.3.4.5",
            "fe80::1%eth0",
            "[::1",
        ] {
            assert_eq!(
                client(&[&format!("203.0.113.5, {garbage}, 10.1.2.3")], &trust),
                ip("10.1.2.3"),
                "{garbage:?}"
            );
            assert_eq!(client(&[garbage], &ProxyTrust::OneHop), ip(PEER));
        }
        // Ports, as some proxies write them, are addresses still.
        for (entry, address) in [
            ("203.0.113.5:41234", "203.0.113.5"),
            ("[2001:db8::5]:443", "2001:db8::5"),
            ("[2001:db8::5]", "2001:db8::5"),
            (" 203.0.113.5 ", "203.0.113.5"),
            ("::ffff:203.0.113.5", "203.0.113.5"),
        ] {
            assert_eq!(client(&[entry], &ProxyTrust::OneHop), ip(address));
        }
    }
}
