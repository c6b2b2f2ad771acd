//! Errors of the credit ledger.

pub use quickscale_domain_kernel::{StorageError, StorageFailure};

use crate::{
    AccountId, AmountError, Credits, EntryId, EntryKind, IdempotencyKey, InsufficientCredits,
    SourceRef,
};

/// Why a credit operation did not happen. Whenever one of these is returned, nothing changed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CreditError {
    /// A debit larger than the usable balance; it names both amounts.
    #[error(transparent)]
    Insufficient(#[from] InsufficientCredits),
    /// The account was never opened.
    #[error("no credit account exists for {0}")]
    AccountNotFound(AccountId),
    /// The key was used before for another operation (another command, amount or actor): a
    /// replay must repeat the first request exactly, or it would hide a bug in the caller.
    #[error("the idempotency key {0} was already used for a different operation")]
    IdempotencyConflict(IdempotencyKey),
    /// A reversal named an entry this account does not have.
    #[error("ledger entry {0} does not exist on this account")]
    EntryNotFound(EntryId),
    /// Only consumptions can be reversed (a failed service run gives its charge back); other
    /// entries have their own corrections (a clawback undoes a grant, an admin adds back).
    #[error("ledger entry {entry} records a {kind} and cannot be reversed")]
    NotReversible {
        /// The entry named.
        entry: EntryId,
        /// What it records.
        kind: EntryKind,
    },
    /// An entry is reversed at most once, so a refund cannot be paid twice.
    #[error("ledger entry {entry} was already reversed by entry {by}")]
    AlreadyReversed {
        /// The entry named.
        entry: EntryId,
        /// The entry that reversed it.
        by: EntryId,
    },
    /// A settle or release named an entry that is not a hold.
    #[error("ledger entry {entry} records a {kind}, not a hold")]
    NotAHold {
        /// The entry named.
        entry: EntryId,
        /// What it records.
        kind: EntryKind,
    },
    /// A hold is settled for at most what it holds: a run never costs more than was held.
    #[error("a charge of {} is more than the {} held", .charge.with_unit(), .held.with_unit())]
    ChargeAboveHold {
        /// The charge asked for.
        charge: Credits,
        /// What the hold holds.
        held: Credits,
    },
    /// A clawback named a source no grant of the account came from.
    #[error("no grant on this account comes from {0}")]
    UnknownSource(SourceRef),
    /// A source grants at most once per account (a payment is not credited twice), whatever
    /// idempotency key the second attempt carries.
    #[error("credits from {0} were already granted to this account")]
    DuplicateSource(SourceRef),
    /// A grant would expire at or before the operation's time: it could never be spent.
    #[error("the expiry must be in the future")]
    ExpiryInPast,
    /// An amount was refused (zero where something must move, or out of range).
    #[error("invalid amount: {0}")]
    Amount(#[from] AmountError),
    /// The store failed; the operation's transaction was rolled back.
    #[error(transparent)]
    Storage(#[from] StorageError),
}
