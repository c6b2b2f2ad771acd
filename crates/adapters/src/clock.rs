//! The real clock and timer.

#[cfg(feature = "services")]
use std::time::Duration;

#[cfg(feature = "services")]
use async_trait::async_trait;
use quickscale_domain_kernel::Clock;
#[cfg(feature = "services")]
use quickscale_service_sdk::Timer;
use time::OffsetDateTime;

/// The system clock, truncated to microseconds (what PostgreSQL stores), so that a value
/// read back equals the value written.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> OffsetDateTime {
        let now = OffsetDateTime::now_utc();
        now.replace_nanosecond(now.nanosecond() / 1_000 * 1_000)
            .unwrap_or(now)
    }
}

/// Sleeps on the tokio runtime.
#[cfg(feature = "services")]
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioTimer;

#[cfg(feature = "services")]
#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
