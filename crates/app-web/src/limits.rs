//! The client's address, per-client rate limits on the endpoints attackers hammer (sign-in,
//! registration, and the ones that send email: verification, password reset), the JSON API's
//! budget per key, and the largest request body.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, Request, Response};
use axum::response::IntoResponse;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;
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
fn peer<T>(request: &Request<T>) -> Option<IpAddr> {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
}

/// The rate limiters' key: the client's address (see [`client_address`]).
#[derive(Clone, Debug, Default)]
pub struct ClientIp {
    pub trust: ProxyTrust,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        Ok(client_address(
            request.headers(),
            peer(request),
            &self.trust,
        ))
    }
}

/// The JSON API's budget per key: this many requests at once, then this many a minute.
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

/// One budget per key: `burst` requests at once, then `per_minute` a minute.
#[derive(Debug, Clone)]
pub struct ApiLimiter(Arc<DefaultKeyedRateLimiter<Uuid>>);

impl ApiLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("at least one"))
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("at least one"));
        ApiLimiter(Arc::new(RateLimiter::keyed(quota)))
    }

    /// Spends one request of `key`'s budget, or says how many seconds to wait.
    pub fn check(&self, key: Uuid) -> Result<(), u64> {
        self.0.check_key(&key).map_err(|not_until| {
            let now = DefaultClock::default().now();
            not_until.wait_time_from(now).as_secs() + 1
        })
    }

    /// Forgets keys that have been idle (housekeeping).
    pub fn forget_idle(&self) {
        self.0.retain_recent();
    }
}

/// The budget per client address for API keys that do not authenticate (see
/// [`UNKNOWN_KEY_BURST`]): the clients that spent it and until when, and the hashes of the keys
/// that authenticated recently.
#[derive(Debug, Clone)]
pub struct UnknownKeyLimiter {
    budget: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    state: Arc<Mutex<UnknownKeys>>,
}

#[derive(Debug, Default)]
struct UnknownKeys {
    /// Clients whose budget is spent, until when.
    blocked: HashMap<IpAddr, Instant>,
    /// Hashes of keys that authenticated, when last.
    known: HashMap<String, Instant>,
}

impl UnknownKeyLimiter {
    pub fn new(per_minute: u32, burst: u32) -> Self {
        let quota = Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("at least one"))
            .allow_burst(NonZeroU32::new(burst.max(1)).expect("at least one"));
        UnknownKeyLimiter {
            budget: Arc::new(RateLimiter::keyed(quota)),
            state: Arc::default(),
        }
    }

    /// Before the lookup of the key with this hash from `client`: refused (with the seconds to
    /// wait) while the client's budget is spent, unless the key authenticated recently.
    pub fn check(&self, client: IpAddr, key_hash: &str) -> Result<(), u64> {
        let state = self.state();
        if state.known.contains_key(key_hash) {
            return Ok(());
        }
        match state.blocked.get(&client) {
            Some(until) if *until > Instant::now() => {
                Err(until.saturating_duration_since(Instant::now()).as_secs() + 1)
            }
            _ => Ok(()),
        }
    }

    /// After the lookup: a key that authenticated is known from now on; one that did not spends
    /// one request of the client's budget, and the one that spends the last is refused too.
    pub fn record(&self, client: IpAddr, key_hash: &str, authenticated: bool) -> Result<(), u64> {
        let mut state = self.state();
        if authenticated {
            state.known.insert(key_hash.to_owned(), Instant::now());
            return Ok(());
        }
        state.known.remove(key_hash);
        self.budget.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            state.blocked.insert(client, Instant::now() + wait);
            wait.as_secs() + 1
        })
    }

    fn state(&self) -> MutexGuard<'_, UnknownKeys> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Forgets idle clients, ended blocks and keys not used for an hour (housekeeping).
    pub fn forget_idle(&self) {
        self.budget.retain_recent();
        let now = Instant::now();
        let mut state = self.state();
        state.blocked.retain(|_, until| *until > now);
        state
            .known
            .retain(|_, seen| now.saturating_duration_since(*seen) < KNOWN_KEY_IDLE);
    }
}

type Config = GovernorConfig<ClientIp, governor::middleware::NoOpMiddleware>;

/// The limiters, kept so housekeeping can forget idle clients.
#[derive(Clone, Debug)]
pub struct RateLimits {
    pub sign_in: Arc<Config>,
    pub register: Arc<Config>,
    pub email: Arc<Config>,
    /// How clients are told apart.
    pub clients: ClientIp,
    /// The JSON API: per key, not per client.
    pub api: ApiLimiter,
    /// The JSON API's keys not known to be valid: per client.
    pub unknown_keys: UnknownKeyLimiter,
}

fn config(key: ClientIp, period_ms: u64, burst: u32) -> Arc<Config> {
    Arc::new(
        GovernorConfigBuilder::default()
            .per_millisecond(period_ms)
            .burst_size(burst)
            .key_extractor(key)
            .finish()
            .expect("non-zero limits"),
    )
}

impl RateLimits {
    /// Sign-in: 10 at once, then one every 6 s. Registration: 5, then one a minute. Requests that
    /// send email (verification resend, password reset, email change, contact form) share one
    /// budget per client: 5, then one a minute.
    pub fn new(trust: ProxyTrust) -> Self {
        let key = ClientIp { trust };
        RateLimits {
            sign_in: config(key.clone(), 6_000, 10),
            register: config(key.clone(), 60_000, 5),
            email: config(key.clone(), 60_000, 5),
            clients: key,
            api: ApiLimiter::new(API_PER_MINUTE, API_BURST),
            unknown_keys: UnknownKeyLimiter::new(UNKNOWN_KEY_PER_MINUTE, UNKNOWN_KEY_BURST),
        }
    }

    pub fn layer(
        config: &Arc<Config>,
    ) -> GovernorLayer<ClientIp, governor::middleware::NoOpMiddleware, Body> {
        GovernorLayer::new(Arc::clone(config)).error_handler(too_many)
    }

    /// Forgets clients that have not been seen for a while.
    pub fn forget_idle(&self) {
        for config in [&self.sign_in, &self.register, &self.email] {
            config.limiter().retain_recent();
        }
        self.api.forget_idle();
        self.unknown_keys.forget_idle();
    }
}

fn too_many(error: GovernorError) -> Response<Body> {
    match error {
        GovernorError::TooManyRequests { wait_time, .. } => {
            let mut response = AppError::TooManyRequests {
                wait_seconds: wait_time,
            }
            .into_response();
            if let Ok(value) = wait_time.to_string().parse() {
                response.headers_mut().insert("retry-after", value);
            }
            response
        }
        other => {
            tracing::warn!(error = %other, "rate limiter could not identify the client");
            AppError::BadRequest(
                "Your request could not be processed: reload the page and try again.".into(),
            )
            .into_response()
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

    #[test]
    fn only_keys_that_fail_spend_a_clients_budget_and_known_keys_pass_a_spent_one() {
        let limiter = UnknownKeyLimiter::new(1, 3);
        let (guesser, other) = (ip("203.0.113.7"), ip("198.51.100.9"));
        // Valid keys, however many, spend nothing.
        for n in 0..10 {
            let hash = format!("valid-{n}");
            assert_eq!(limiter.check(guesser, &hash), Ok(()));
            assert_eq!(limiter.record(guesser, &hash, true), Ok(()));
        }
        for n in 0..3 {
            let hash = format!("wrong-{n}");
            assert_eq!(limiter.check(guesser, &hash), Ok(()));
            assert_eq!(limiter.record(guesser, &hash, false), Ok(()));
        }
        assert!(limiter.record(guesser, "wrong-3", false).is_err());
        let wait = limiter.check(guesser, "wrong-4").unwrap_err();
        assert!((1..=61).contains(&wait), "{wait}");
        assert!(limiter.check(guesser, "never-seen").is_err());
        assert_eq!(limiter.check(guesser, "valid-0"), Ok(()));
        assert_eq!(limiter.check(other, "wrong-4"), Ok(()));
        // A key that stops authenticating is no longer let through.
        assert!(limiter.record(guesser, "valid-0", false).is_err());
        assert!(limiter.check(guesser, "valid-0").is_err());
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
