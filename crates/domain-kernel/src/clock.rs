//! The clock port: use cases ask it for the time instead of reading the system clock.

use std::sync::Mutex;

use time::{Duration, OffsetDateTime};

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant. Use cases read it once per operation, so every rule in one operation
    /// sees the same "now".
    fn now(&self) -> OffsetDateTime;
}

/// A clock that stands still until moved: for tests and simulations.
#[derive(Debug)]
pub struct FixedClock(Mutex<OffsetDateTime>);

impl FixedClock {
    /// A clock that reads `now` until it is moved.
    pub fn at(now: OffsetDateTime) -> Self {
        FixedClock(Mutex::new(now))
    }

    /// Moves the clock forward (or back, with a negative duration), as time passing would.
    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }

    /// Jumps the clock to an instant, for a test that needs a given date.
    pub fn set(&self, to: OffsetDateTime) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = to;
    }
}

impl Clock for FixedClock {
    fn now(&self) -> OffsetDateTime {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}
