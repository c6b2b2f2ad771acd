//! Errors of the credit ledger.

pub use quickscale_domain_kernel::{StorageError, StorageFailure};

use crate::{
    AccountId, AmountError, EntryId, EntryKind, IdempotencyKey, InsufficientCredits, SourceRef,
};

/// Why a credit operation did not happen. Whenever one of these is returned, nothing changed.
#[derive(Debug, thiserror::Error)]
pub enum CreditError {
    #[error(transparent)]
    Insufficient(#[from] InsufficientCredits),
    #[error("no credit account exists for {0}")]
    AccountNotFound(AccountId),
    #[error("the idempotency key {0} was already used for a different operation")]
    IdempotencyConflict(IdempotencyKey),
    #[error("ledger entry {0} does not exist on this account")]
    EntryNotFound(EntryId),
    #[error("ledger entry {entry} records a {kind} and cannot be reversed")]
    NotReversible { entry: EntryId, kind: EntryKind },
    #[error("ledger entry {entry} was already reversed by entry {by}")]
    AlreadyReversed { entry: EntryId, by: EntryId },
    #[error("no grant on this account comes from {0}")]
    UnknownSource(SourceRef),
    #[error("credits from {0} were already granted to this account")]
    DuplicateSource(SourceRef),
    #[error("the expiry must be in the future")]
    ExpiryInPast,
    #[error("invalid amount: {0}")]
    Amount(#[from] AmountError),
    #[error(transparent)]
    Storage(#[from] StorageError),
}
