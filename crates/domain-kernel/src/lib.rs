#![forbid(unsafe_code)]
//! Vocabulary every QuickScale domain crate shares: storage failures, the clock and mailer
//! ports, and the public contact form.

mod clock;
pub mod contact;
mod mail;
mod storage;

pub use clock::{Clock, FixedClock};
pub use contact::{ContactErrors, ContactMessage, ContactRepository};
pub use mail::{EmailMessage, MailError, Mailer};
pub use storage::{StorageError, StorageFailure};
