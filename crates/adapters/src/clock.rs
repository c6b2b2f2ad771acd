//! The real clock and timer.

use std::time::Duration;

use async_trait::async_trait;
use quickscale_domain_kernel::Clock;
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
#[derive(Debug, Default, Clone, Copy)]
pub struct TokioTimer;

#[async_trait]
impl Timer for TokioTimer {
    async fn sleep(&self, duration: Duration) {
        tokio::time::sleep(duration).await;
    }
}
