#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! # The QuickScale credit ledger
//!
//! Every rule about credits lives here, with no I/O:
//!
//! - An account's balance is made of **grants** (lots): welcome bonus, pay-as-you-go
//!   purchases, subscription-period credits and admin grants. Each has an amount, what is left,
//!   an optional expiry and a source reference ([`Grant`]).
//! - Debits follow one pure **consumption order** ([`plan::consumption_order`]): grants that
//!   expire go first, soonest expiry first; then the rest, oldest first. A debit is all or
//!   nothing: when credits are short, [`InsufficientCredits`] names both amounts and nothing
//!   is debited.
//! - Every change appends immutable [`LedgerEntry`] rows with the balance after, the actor and a
//!   reason. Corrections are new entries, never edits.
//! - Every operation carries an [`IdempotencyKey`]; a replay returns the first [`Receipt`] and
//!   changes nothing.
//! - Expired credits are never spent: each operation first writes an `Expire` entry for every
//!   grant that reached its expiry, so the ledger always sums to the usable balance.
//! - A run that takes a while **holds** credits ([`CreditCommand::Hold`]) from the grants a
//!   consumption would take; the hold is settled (charged at most its amount, the rest comes
//!   back) or released (all comes back) exactly once. Held credits are not spendable: the
//!   balance is what the grants have left, so available = granted - consumed - held.
//! - [`verify`] checks all invariants over a stored account; any store can run it.
//!
//! Stores implement [`LedgerTransaction`] (the reads and writes of one transaction that holds
//! the account) and [`CreditStore`]; the rules run in [`run_operation`] and [`decide`].

mod amount;
mod error;
mod grant;
mod ids;
mod ledger;
pub mod memory;
mod operation;
pub mod plan;
mod store;
mod verify;

pub use amount::{AmountError, Credits};
pub use error::{CreditError, StorageError, StorageFailure};
pub use grant::{Grant, GrantKind};
pub use ids::{
    AccountId, Actor, EntryId, GrantId, IdempotencyKey, KeyError, Reason, ReasonError, SourceRef,
};
pub use ledger::{Allocation, Direction, EntryKind, LedgerEntry};
pub use operation::{
    Consumption, Context, CreditCommand, Decision, Effect, GrantLink, NewEntry, NewGrant,
    Operation, Receipt, decide,
};
pub use plan::InsufficientCredits;
pub use store::{
    AccountSnapshot, Balance, CreditStore, FirstRead, HistoryPage, HistoryQuery, LedgerTransaction,
    OpenHold, RecordedOperation, created_grant, run_operation,
};
pub use verify::{Violation, verify};
