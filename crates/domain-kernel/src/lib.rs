#![forbid(unsafe_code)]
//! Vocabulary every QuickScale domain crate shares: storage failures and the clock port.

mod clock;
mod storage;

pub use clock::{Clock, FixedClock};
pub use storage::{StorageError, StorageFailure};
