#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! Vocabulary every QuickScale domain crate shares: storage failures, the clock and mailer
//! ports, the public contact form, rate limits ([`rate_limit`]), and the two parsers of request
//! details every surface shares: where a browser may be sent back to ([`LocalPath`]) and a
//! place in a list ([`paging::Paging`]).

pub mod audit;
mod clock;
pub mod contact;
pub mod local_path;
mod mail;
pub mod outbox;
pub mod paging;
pub mod rate_limit;
mod storage;

pub use audit::{AuditEntry, AuditLog, AuditQuery};
pub use clock::{Clock, FixedClock};
pub use contact::{ContactErrors, ContactMessage, ContactRepository};
pub use local_path::LocalPath;
pub use mail::{EmailMessage, MailError, Mailer};
pub use outbox::{OutboxCounts, OutboxMessage, OutboxQuery, OutboxStatus, OutboxStore};
pub use rate_limit::{Decision, Quota, RateLimitStore};
pub use storage::{StorageError, StorageFailure};
