#![forbid(unsafe_code)]
//! Vocabulary every QuickScale domain crate shares: storage failures, the clock and mailer
//! ports, and the public contact form.

pub mod audit;
mod clock;
pub mod contact;
mod mail;
pub mod outbox;
mod storage;

pub use audit::{AuditEntry, AuditLog, AuditQuery};
pub use clock::{Clock, FixedClock};
pub use contact::{ContactErrors, ContactMessage, ContactRepository};
pub use mail::{EmailMessage, MailError, Mailer};
pub use outbox::{OutboxMessage, OutboxQuery, OutboxStatus, OutboxStore};
pub use storage::{StorageError, StorageFailure};
