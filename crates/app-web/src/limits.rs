//! Per-client rate limits on the endpoints attackers hammer: sign-in, registration, and the
//! ones that send email (verification, password reset).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response};
use axum::response::IntoResponse;
use tower_governor::GovernorLayer;
use tower_governor::errors::GovernorError;
use tower_governor::governor::{GovernorConfig, GovernorConfigBuilder};
use tower_governor::key_extractor::KeyExtractor;

use crate::error::AppError;

/// The client's address: the peer, or (behind a proxy you run) the first `X-Forwarded-For`.
#[derive(Clone, Copy, Debug)]
pub struct ClientIp {
    pub trust_proxy: bool,
}

impl KeyExtractor for ClientIp {
    type Key = IpAddr;

    fn extract<T>(&self, request: &Request<T>) -> Result<Self::Key, GovernorError> {
        if self.trust_proxy
            && let Some(ip) = request
                .headers()
                .get("x-forwarded-for")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.split(',').next())
                .and_then(|v| v.trim().parse().ok())
        {
            return Ok(ip);
        }
        Ok(request
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip()))
    }
}

/// The JSON API's budget per key: this many requests at once, then this many a minute.
pub const API_BURST: u32 = 60;
pub const API_PER_MINUTE: u32 = 120;

type Config = GovernorConfig<ClientIp, governor::middleware::NoOpMiddleware>;

/// The limiters, kept so housekeeping can forget idle clients.
#[derive(Clone, Debug)]
pub struct RateLimits {
    pub sign_in: Arc<Config>,
    pub register: Arc<Config>,
    pub email: Arc<Config>,
    /// The JSON API: per key, not per client.
    pub api: crate::api::ApiLimiter,
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
    pub fn new(trust_proxy: bool) -> Self {
        let key = ClientIp { trust_proxy };
        RateLimits {
            sign_in: config(key, 6_000, 10),
            register: config(key, 60_000, 5),
            email: config(key, 60_000, 5),
            api: crate::api::ApiLimiter::new(API_PER_MINUTE, API_BURST),
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
            AppError::BadRequest("Your request could not be processed.".into()).into_response()
        }
    }
}
